//! The ARM generic timer: the system counter (CNTPCT_EL0 at CNTFRQ_EL0 Hz:
//! 54 MHz on a Pi 4, 62.5 MHz in QEMU, so always read it) and the per-core EL1
//! physical timer (PPI 30), which the kernel programs for its periodic tick.
//!
//! [`Delay`] implements embedded-hal's `DelayNs` by watching the counter.

use aarch64_cpu::registers::{CNTFRQ_EL0, CNTPCT_EL0, CNTP_CTL_EL0, CNTP_TVAL_EL0};
use tock_registers::interfaces::{Readable, Writeable};

/// Counter frequency in Hz.
pub fn frequency() -> u64 {
    CNTFRQ_EL0.get()
}

/// Current value of the system counter. The ISB keeps the read from being
/// speculated ahead of earlier instructions.
pub fn counter() -> u64 {
    aarch64_cpu::asm::barrier::isb(aarch64_cpu::asm::barrier::SY);
    CNTPCT_EL0.get()
}

/// Number of counter ticks in `ns` nanoseconds at `freq` Hz (rounded up, so a
/// delay is never shorter than asked).
pub const fn ns_to_ticks(ns: u64, freq: u64) -> u64 {
    ((ns as u128 * freq as u128).div_ceil(1_000_000_000)) as u64
}

/// Nanoseconds in `ticks` counter ticks at `freq` Hz (rounded down; past
/// 2^64 ns, some 584 years, the low 64 bits).
///
/// The clock of every scheduler decision, so it avoids a 128-bit division
/// (a library call of some hundred instructions): whole seconds and the
/// remainder are converted apart, with the CPU's 64-bit divide, which gives
/// the same result as `ticks * 10^9 / freq` computed in 128 bits as long as
/// the remainder times 10^9 fits in 64 bits, that is for every counter of
/// up to 18 GHz (the architecture's is 1 GHz at most since Armv8.6).
pub const fn ticks_to_ns(ticks: u64, freq: u64) -> u64 {
    const NS_PER_SEC: u64 = 1_000_000_000;
    if freq > u64::MAX / NS_PER_SEC {
        return (ticks as u128 * NS_PER_SEC as u128 / freq as u128) as u64;
    }
    let (secs, rest) = (ticks / freq, ticks % freq);
    secs.wrapping_mul(NS_PER_SEC).wrapping_add(rest * NS_PER_SEC / freq)
}

/// Arms this core's EL1 physical timer to fire `ticks` counter ticks from now.
/// TVAL is a signed 32-bit count, so longer waits are clamped to `i32::MAX`.
/// The ISB makes the new deadline take effect before the caller goes on (the
/// tick handler then ends the interrupt, which must no longer be asserted).
pub fn arm_after(ticks: u64) {
    CNTP_TVAL_EL0.set(ticks.min(i32::MAX as u64));
    CNTP_CTL_EL0.write(CNTP_CTL_EL0::ENABLE::SET + CNTP_CTL_EL0::IMASK::CLEAR);
    aarch64_cpu::asm::barrier::isb(aarch64_cpu::asm::barrier::SY);
}

/// Stops this core's EL1 physical timer.
pub fn disarm() {
    CNTP_CTL_EL0.write(CNTP_CTL_EL0::ENABLE::CLEAR);
}

/// A busy-waiting delay on the system counter (embedded-hal `DelayNs`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Delay;

impl embedded_hal::delay::DelayNs for Delay {
    fn delay_ns(&mut self, ns: u32) {
        let end = counter() + ns_to_ticks(ns as u64, frequency());
        while counter() < end {
            core::hint::spin_loop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_at_qemu_and_board_frequencies() {
        assert_eq!(ns_to_ticks(1_000_000_000, 62_500_000), 62_500_000);
        assert_eq!(ns_to_ticks(1_000, 54_000_000), 54);
        // 1 ns is less than a tick at 54 MHz: rounds up to one tick.
        assert_eq!(ns_to_ticks(1, 54_000_000), 1);
        assert_eq!(ticks_to_ns(62_500_000, 62_500_000), 1_000_000_000);
        assert_eq!(ticks_to_ns(27, 54_000_000), 500);
    }

    /// The split conversion against the 128-bit one it replaces.
    #[test]
    fn ticks_to_ns_is_the_exact_quotient() {
        let exact = |t: u64, f: u64| (t as u128 * 1_000_000_000 / f as u128) as u64;
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let limit = u64::MAX / 1_000_000_000;
        let freqs = [1, 3, 19_200_000, 54_000_000, 62_500_000, 1_000_000_000, limit - 1, limit, limit + 1, u64::MAX];
        for f in freqs {
            for t in [0, 1, f - 1, f, f.wrapping_add(1), u64::MAX / 2, u64::MAX - 1, u64::MAX] {
                assert_eq!(ticks_to_ns(t, f), exact(t, f), "ticks {t} at {f} Hz");
            }
            for _ in 0..20_000 {
                // Uptimes of every size: the random bits cut to a random width.
                let t = next() >> (next() % 64);
                assert_eq!(ticks_to_ns(t, f), exact(t, f), "ticks {t} at {f} Hz");
            }
        }
        for _ in 0..20_000 {
            let f = (next() >> (next() % 64)).max(1);
            let t = next() >> (next() % 64);
            assert_eq!(ticks_to_ns(t, f), exact(t, f), "ticks {t} at {f} Hz");
        }
    }

    #[test]
    fn no_overflow_for_long_uptimes() {
        let year_ticks = 54_000_000u64 * 3600 * 24 * 365;
        assert_eq!(ticks_to_ns(year_ticks, 54_000_000), 1_000_000_000 * 3600 * 24 * 365);
    }
}
