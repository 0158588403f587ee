//! Byte-string helpers for the kernel's C-string work (Linux: lib/string.c,
//! include/asm-generic/word-at-a-time.h).

/// Where the first NUL of `bytes` is, looking at a word at a time (Linux:
/// include/asm-generic/word-at-a-time.h).
pub fn find_nul(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for w in &mut words {
        let v = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        // The lowest byte that is zero sets its high bit here (bytes above
        // it may be marked wrongly, below it never).
        let zero = v.wrapping_sub(ONES) & !v & HIGHS;
        if zero != 0 {
            return Some(at + zero.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    words.remainder().iter().position(|&b| b == 0).map(|i| at + i)
}

#[cfg(test)]
mod tests {
    use super::find_nul;

    #[test]
    fn the_first_nul_is_found_wherever_it_is() {
        for len in 0..40 {
            for z in 0..len {
                let mut b = [b'x'; 40];
                b[z] = 0;
                if z + 3 < len {
                    b[z + 3] = 0;
                }
                assert_eq!(find_nul(&b[..len]), Some(z), "len {len}, NUL at {z}");
            }
            assert_eq!(find_nul(&[b'x'; 40][..len]), None);
        }
        // Bytes with the high bit set and 0x01 next to a NUL do not confuse it.
        assert_eq!(find_nul(&[0x80, 0x01, 0xff, 0x81, 0, 0x01, 0x80, 0xfe, 7]), Some(4));
        assert_eq!(find_nul(&[0x01, 0x80, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0]), Some(8));
    }
}
