//! Strict number parsing for command-line arguments: no signs where none belong, no overflow, no
//! trailing garbage.

/// Parses a non-empty string of ASCII decimal digits into a `u64`, or `None` on anything else or overflow.
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(value)
}

/// Parses an optionally `-`-signed decimal integer that fits an `i32`.
pub fn parse_i32(s: &[u8]) -> Option<i32> {
    match s.split_first() {
        Some((b'-', rest)) => {
            let v = parse_u64(rest)?;
            if v > 1 << 31 {
                None
            } else {
                Some((-(v as i64)) as i32)
            }
        }
        _ => i32::try_from(parse_u64(s)?).ok(),
    }
}

/// Parses a duration such as `2`, `0.25`, `.5`, `1.5s`, `2m`, `1h`, `1d` into (seconds, nanoseconds).
/// Digits after the ninth decimal place are ignored. Returns `None` for malformed input or overflow.
pub fn parse_duration(s: &[u8]) -> Option<(u64, u32)> {
    let (number, multiplier) = match s.last() {
        Some(b's') => (&s[..s.len() - 1], 1),
        Some(b'm') => (&s[..s.len() - 1], 60),
        Some(b'h') => (&s[..s.len() - 1], 3600),
        Some(b'd') => (&s[..s.len() - 1], 86400),
        _ => (s, 1),
    };
    let (int_part, frac_part) = match number.iter().position(|&b| b == b'.') {
        Some(dot) => (&number[..dot], &number[dot + 1..]),
        None => (number, &[][..]),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let whole = if int_part.is_empty() { 0 } else { parse_u64(int_part)? };
    if !frac_part.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut nanos: u64 = 0;
    for i in 0..9 {
        nanos = nanos * 10 + frac_part.get(i).map_or(0, |&b| u64::from(b - b'0'));
    }
    // Scale (whole + nanos/1e9) by the multiplier without losing the fraction.
    let total_nanos = u128::from(whole) * 1_000_000_000 * multiplier as u128 + u128::from(nanos) * multiplier as u128;
    let secs = u64::try_from(total_nanos / 1_000_000_000).ok()?;
    Some((secs, (total_nanos % 1_000_000_000) as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned() {
        assert_eq!(parse_u64(b"0"), Some(0));
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_u64(b"1x"), None);
        assert_eq!(parse_u64(b"-1"), None);
    }

    #[test]
    fn signed() {
        assert_eq!(parse_i32(b"-5"), Some(-5));
        assert_eq!(parse_i32(b"2147483647"), Some(i32::MAX));
        assert_eq!(parse_i32(b"2147483648"), None);
        assert_eq!(parse_i32(b"-2147483648"), Some(i32::MIN));
        assert_eq!(parse_i32(b"-"), None);
        assert_eq!(parse_i32(b"--1"), None);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration(b"2"), Some((2, 0)));
        assert_eq!(parse_duration(b"0.1"), Some((0, 100_000_000)));
        assert_eq!(parse_duration(b".5"), Some((0, 500_000_000)));
        assert_eq!(parse_duration(b"1.5s"), Some((1, 500_000_000)));
        assert_eq!(parse_duration(b"1.5m"), Some((90, 0)));
        assert_eq!(parse_duration(b"2h"), Some((7200, 0)));
        assert_eq!(parse_duration(b"0.0000000019"), Some((0, 1)));
        assert_eq!(parse_duration(b"3."), Some((3, 0)));
        assert_eq!(parse_duration(b"."), None);
        assert_eq!(parse_duration(b""), None);
        assert_eq!(parse_duration(b"abc"), None);
        assert_eq!(parse_duration(b"1.2.3"), None);
        assert_eq!(parse_duration(b"-1"), None);
    }
}
