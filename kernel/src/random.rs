//! Random bytes for `getrandom` and AT_RANDOM (Linux: drivers/char/random.c,
//! reduced): a xorshift generator stirred with the counter on every call.
//! Not cryptographic: the Pi's hardware RNG (iproc-rng200) is not driven
//! yet, and QEMU does not model it.

use crate::sync::IrqSpinLock;

static STATE: IrqSpinLock<u64> = IrqSpinLock::new(0x9e37_79b9_7f4a_7c15);

fn counter() -> u64 {
    let c: u64;
    // SAFETY: reading the virtual counter has no side effect.
    unsafe { core::arch::asm!("mrs {}, cntvct_el0", out(reg) c, options(nomem, nostack, preserves_flags)) };
    c
}

/// Fills `buf` with random bytes (Linux: `get_random_bytes`).
pub fn get_random_bytes(buf: &mut [u8]) {
    let mut s = STATE.lock();
    *s ^= counter().wrapping_mul(0xbf58_476d_1ce4_e5b9);
    for chunk in buf.chunks_mut(8) {
        // xorshift64*
        *s ^= *s >> 12;
        *s ^= *s << 25;
        *s ^= *s >> 27;
        let v = s.wrapping_mul(0x2545_f491_4f6c_dd1d);
        chunk.copy_from_slice(&v.to_le_bytes()[..chunk.len()]);
    }
}
