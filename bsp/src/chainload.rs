//! The serial chain-loading protocol, shared by the loader
//! (bsp/chainloader), the host side (scripts/chainboot.sh) and the tests.
//!
//! The loader prints [`READY`] and then scans its input for [`MAGIC`],
//! followed by the kernel's length and Adler-32 checksum (little-endian u32
//! each) and the kernel's bytes. It answers [`OK`] and jumps to the kernel,
//! or names the error and waits for the next attempt.

/// Printed (on a line of its own) when the loader waits for a kernel.
pub const READY: &str = "chainload: ready";
/// Starts a transfer.
pub const MAGIC: [u8; 4] = *b"RPI4";
/// Printed before the jump.
pub const OK: &str = "chainload: ok, starting the kernel";
/// Largest kernel accepted: it must end below the loader's stack (64 KiB
/// under the loader at 32 MiB).
pub const MAX_SIZE: u32 = 0x2000000 - 0x10000 - 0x80000;

/// Adler-32 (RFC 1950) of `data`, continuing from `state` (start with 1).
pub fn adler32(state: u32, data: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    let (mut a, mut b) = (state & 0xffff, state >> 16);
    for &byte in data {
        a = (a + byte as u32) % MOD;
        b = (b + a) % MOD;
    }
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    use super::adler32;

    #[test]
    fn adler32_matches_rfc1950_examples() {
        assert_eq!(adler32(1, b""), 1);
        assert_eq!(adler32(1, b"Wikipedia"), 0x11e6_0398);
        // Streaming gives the same result as one call.
        assert_eq!(adler32(adler32(1, b"Wiki"), b"pedia"), 0x11e6_0398);
    }
}
