//! A gzip writer with stored (uncompressed) deflate blocks (RFC 1952 around
//! RFC 1951 block type 00), for files the kernel hands out in gzip form
//! (`/proc/config.gz`). Nothing is compressed: the point is the format any
//! `zcat` reads, not the size.

use alloc::vec::Vec;

/// The most bytes one stored block holds (its LEN field is 16 bits).
const MAX_STORED: usize = 65_535;

/// CRC-32 as gzip uses it (IEEE 802.3, reflected, polynomial 0xEDB88320).
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// `data` as a gzip member; None when memory runs out.
pub fn gzip_stored(data: &[u8]) -> Option<Vec<u8>> {
    let blocks = data.len().div_ceil(MAX_STORED).max(1);
    let mut out = Vec::new();
    out.try_reserve_exact(10 + blocks * 5 + data.len() + 8).ok()?;
    // ID1 ID2, CM = deflate, no flags, no time, no extra flags, OS = Unix.
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
    let mut chunks = data.chunks(MAX_STORED).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]); // one empty final block
    }
    while let Some(chunk) = chunks.next() {
        // BFINAL on the last block, BTYPE 00; the bits are padded to a byte.
        out.push(chunks.peek().is_none() as u8);
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    /// gzip(1) on the host reads what this writes, across block borders.
    #[test]
    fn host_gzip_reads_it_back() {
        for len in [0usize, 5, MAX_STORED, MAX_STORED + 1, 3 * MAX_STORED + 17] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let gz = gzip_stored(&data).unwrap();
            let mut child = std::process::Command::new("gzip")
                .arg("-dc")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("gzip on the host");
            let mut stdin = child.stdin.take().unwrap();
            let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &gz));
            let out = child.wait_with_output().unwrap();
            writer.join().unwrap().unwrap();
            assert!(out.status.success(), "gzip -dc failed for {len} bytes");
            assert_eq!(out.stdout, data, "{len} bytes");
        }
    }
}
