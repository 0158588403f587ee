//! A ring of text lines for the kernel log (printk.rs): fixed size, no
//! allocation; when full, the oldest whole lines are dropped. Readers keep
//! positions as running byte counts, so a reader the ring has overtaken
//! resumes at the oldest line still held.

/// The ring of text: `len` bytes from `start` (wrapping), and the running
/// byte counts that locate readers in it.
pub struct LogRing<const N: usize> {
    buf: [u8; N],
    start: usize,
    len: usize,
    /// Bytes ever appended (the position just past the newest byte).
    next_seq: u64,
    /// Where `SYSLOG_ACTION_CLEAR` left the readers of `READ_ALL`.
    clear_seq: u64,
    /// Where the destructive reader (`SYSLOG_ACTION_READ`) is.
    read_seq: u64,
}

impl<const N: usize> Default for LogRing<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> LogRing<N> {
    /// An empty ring.
    pub const fn new() -> Self {
        LogRing { buf: [0; N], start: 0, len: 0, next_seq: 0, clear_seq: 0, read_seq: 0 }
    }

    /// Position of the oldest byte still held.
    fn first_seq(&self) -> u64 {
        self.next_seq - self.len as u64
    }

    fn byte_at(&self, seq: u64) -> u8 {
        let off = (seq - self.first_seq()) as usize;
        self.buf[(self.start + off) % N]
    }

    /// Drops the oldest line (up to and including its newline).
    fn drop_oldest_line(&mut self) {
        while self.len > 0 {
            let b = self.buf[self.start];
            self.start = (self.start + 1) % N;
            self.len -= 1;
            if b == b'\n' {
                break;
            }
        }
    }

    /// Appends bytes; a caller appends whole lines ending in `\n`.
    pub fn push(&mut self, bytes: &[u8]) {
        // A line longer than the ring keeps its end.
        let bytes = if bytes.len() > N { &bytes[bytes.len() - N..] } else { bytes };
        while N - self.len < bytes.len() {
            self.drop_oldest_line();
        }
        for &b in bytes {
            self.buf[(self.start + self.len) % N] = b;
            self.len += 1;
        }
        self.next_seq += bytes.len() as u64;
    }

    /// `seq`, or the oldest byte held if the ring has dropped `seq` (a
    /// line start: the ring drops whole lines).
    fn line_start_from(&self, seq: u64) -> u64 {
        seq.max(self.first_seq())
    }

    /// Copies the newest whole lines after the clear mark that fit in
    /// `out` (Linux: `syslog_print_all`); returns the byte count.
    pub fn read_all(&self, out: &mut [u8]) -> usize {
        let mut from = self.line_start_from(self.clear_seq);
        // Skip the oldest lines until the rest fits.
        while (self.next_seq - from) as usize > out.len() {
            while from < self.next_seq && self.byte_at(from) != b'\n' {
                from += 1;
            }
            from = (from + 1).min(self.next_seq);
        }
        let n = (self.next_seq - from) as usize;
        for (i, slot) in out[..n].iter_mut().enumerate() {
            *slot = self.byte_at(from + i as u64);
        }
        n
    }

    /// Moves the `READ_ALL` start past everything held now.
    pub fn clear(&mut self) {
        self.clear_seq = self.next_seq;
    }

    /// Bytes the destructive reader has not consumed.
    pub fn unread(&self) -> usize {
        (self.next_seq - self.line_start_from(self.read_seq)) as usize
    }

    /// Consumes up to `out.len()` unread bytes (Linux: `syslog_print`).
    pub fn read(&mut self, out: &mut [u8]) -> usize {
        let from = self.line_start_from(self.read_seq);
        let n = ((self.next_seq - from) as usize).min(out.len());
        for (i, slot) in out[..n].iter_mut().enumerate() {
            *slot = self.byte_at(from + i as u64);
        }
        self.read_seq = from + n as u64;
        n
    }
}

#[cfg(test)]
mod tests {
    use super::LogRing;

    fn all<const N: usize>(r: &LogRing<N>) -> String {
        let mut out = [0u8; 256];
        let n = r.read_all(&mut out);
        String::from_utf8(out[..n].to_vec()).unwrap()
    }

    #[test]
    fn read_all_returns_lines_in_order() {
        let mut r = LogRing::<64>::new();
        r.push(b"one\n");
        r.push(b"two\n");
        assert_eq!(all(&r), "one\ntwo\n");
    }

    #[test]
    fn a_full_ring_drops_whole_old_lines() {
        let mut r = LogRing::<16>::new();
        r.push(b"aaaaaa\n"); // 7
        r.push(b"bbbbbb\n"); // 14
        r.push(b"cccc\n"); // 19 > 16: the first line goes
        assert_eq!(all(&r), "bbbbbb\ncccc\n");
    }

    #[test]
    fn read_all_into_a_small_buffer_keeps_the_newest_whole_lines() {
        let mut r = LogRing::<64>::new();
        r.push(b"first line\n");
        r.push(b"second\n");
        r.push(b"third\n");
        let mut out = [0u8; 14];
        let n = r.read_all(&mut out);
        assert_eq!(&out[..n], b"second\nthird\n");
    }

    #[test]
    fn clear_hides_what_came_before() {
        let mut r = LogRing::<64>::new();
        r.push(b"old\n");
        r.clear();
        r.push(b"new\n");
        assert_eq!(all(&r), "new\n");
    }

    #[test]
    fn the_destructive_reader_consumes_and_resumes() {
        let mut r = LogRing::<64>::new();
        r.push(b"abc\n");
        let mut out = [0u8; 2];
        assert_eq!(r.read(&mut out), 2);
        assert_eq!(&out, b"ab");
        assert_eq!(r.unread(), 2);
        r.push(b"de\n");
        let mut out = [0u8; 16];
        let n = r.read(&mut out);
        assert_eq!(&out[..n], b"c\nde\n");
        assert_eq!(r.unread(), 0);
    }

    #[test]
    fn a_reader_overtaken_by_the_wrap_resumes_at_the_oldest_line() {
        let mut r = LogRing::<16>::new();
        r.push(b"111111\n");
        let mut out = [0u8; 3];
        r.read(&mut out);
        r.push(b"222222\n");
        r.push(b"333333\n"); // drops line 1 with the reader inside it
        let mut out = [0u8; 32];
        let n = r.read(&mut out);
        assert_eq!(&out[..n], b"222222\n333333\n");
    }
}
