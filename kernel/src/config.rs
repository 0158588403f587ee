//! Build-time configuration.

/// Cores the kernel brings up (a Pi 4 has four Cortex-A72 cores).
pub const NR_CPUS: usize = 4;

/// Timer ticks per second on every core. Set at build time with `make HZ=<n>`
/// (environment variable `HZ`); 250 when unset or empty, Linux's arm64
/// default: a CPU-bound task is preempted for a woken or new one within 4 ms.
pub const HZ: u32 = parse_hz(option_env!("HZ"));

const fn parse_hz(value: Option<&str>) -> u32 {
    let bytes = match value {
        Some(s) if !s.is_empty() => s.as_bytes(),
        _ => return 250,
    };
    let mut n: u32 = 0;
    let mut i = 0;
    while i < bytes.len() {
        let d = bytes[i];
        assert!(d.is_ascii_digit(), "HZ must be a number");
        n = n * 10 + (d - b'0') as u32;
        i += 1;
    }
    assert!(n >= 10 && n <= 10_000, "HZ must be between 10 and 10000");
    n
}

/// Baud rate of the serial console.
pub const CONSOLE_BAUD: u32 = 115_200;

/// UART reference clock assumed when the firmware cannot be asked (Pi 4: 48 MHz).
pub const DEFAULT_UART_CLOCK: u32 = 48_000_000;

/// Initial kernel heap; it grows from the frame allocator on demand.
pub const INITIAL_HEAP_BYTES: usize = 4 << 20;

#[cfg(test)]
mod tests {
    use super::parse_hz;

    #[test]
    fn hz_parses_and_defaults() {
        assert_eq!(parse_hz(None), 250);
        assert_eq!(parse_hz(Some("")), 250);
        assert_eq!(parse_hz(Some("250")), 250);
    }

    #[test]
    #[should_panic(expected = "HZ must be a number")]
    fn hz_rejects_garbage() {
        parse_hz(Some("fast"));
    }
}
