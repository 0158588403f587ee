//! Parser for one `/proc/<pid>/stat` line in Linux's format:
//! `pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime
//! cutime cstime priority nice num_threads itrealvalue starttime vsize rss ...`.
//! `comm` may itself contain spaces and parentheses, so it runs to the LAST `)` of the line.

use alloc::string::String;

/// The fields of `/proc/<pid>/stat` that `ps` shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcStat {
    pub pid: i32,
    /// Command name (at most 15 bytes on Linux), without the parentheses.
    pub comm: String,
    /// One-letter state: R, S, D, Z, T, t, X, I.
    pub state: u8,
    pub ppid: i32,
    pub pgrp: i32,
    pub session: i32,
    pub tty_nr: i32,
    pub tpgid: i32,
    /// utime + stime in clock ticks, when present.
    pub cpu_ticks: Option<u64>,
    /// Number of threads, when present.
    pub num_threads: Option<i64>,
}

/// Why a stat line was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatError {
    /// No `(comm)` in parentheses.
    NoComm,
    /// A required field is missing or not a number.
    BadField(&'static str),
}

fn signed(word: Option<&[u8]>, what: &'static str) -> Result<i32, StatError> {
    word.and_then(crate::num::parse_i32).ok_or(StatError::BadField(what))
}

/// Parses one stat line. Fields after `tpgid` are optional (a short line is accepted); those before
/// it are required.
pub fn parse(line: &[u8]) -> Result<ProcStat, StatError> {
    let open = line.iter().position(|&b| b == b'(').ok_or(StatError::NoComm)?;
    let close = line.iter().rposition(|&b| b == b')').ok_or(StatError::NoComm)?;
    if close < open {
        return Err(StatError::NoComm);
    }
    let pid = signed(Some(trim(&line[..open])), "pid")?;
    let comm = String::from_utf8_lossy(&line[open + 1..close]).into_owned();
    let mut rest = line[close + 1..].split(|b| b.is_ascii_whitespace()).filter(|w| !w.is_empty());
    let state = match rest.next() {
        Some([s]) => *s,
        _ => return Err(StatError::BadField("state")),
    };
    let ppid = signed(rest.next(), "ppid")?;
    let pgrp = signed(rest.next(), "pgrp")?;
    let session = signed(rest.next(), "session")?;
    let tty_nr = signed(rest.next(), "tty_nr")?;
    let tpgid = signed(rest.next(), "tpgid")?;
    // flags minflt cminflt majflt cmajflt utime stime cutime cstime priority nice num_threads
    let tail: alloc::vec::Vec<&[u8]> = rest.take(12).collect();
    let field = |i: usize| tail.get(i).and_then(|w| crate::num::parse_u64(w));
    let cpu_ticks = field(5).zip(field(6)).map(|(u, s)| u.saturating_add(s));
    let num_threads = tail.get(11).and_then(|w| crate::num::parse_i32(w)).map(i64::from);
    Ok(ProcStat { pid, comm, state, ppid, pgrp, session, tty_nr, tpgid, cpu_ticks, num_threads })
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(s.len());
    let end = s.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(start, |e| e + 1);
    &s[start..end.max(start)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_line() {
        let line = b"1234 (bash) S 1000 1234 1234 34816 5678 4194304 1130 4590 0 3 2 1 7 4 20 0 1 0 \
                     12345 9003008 1297 18446744073709551615 1 1 0 0 0 0 65536 3670020 1266777851 0 0 0 17 \
                     1 0 0 0 0 0\n";
        let s = parse(line).unwrap();
        assert_eq!(s.pid, 1234);
        assert_eq!(s.comm, "bash");
        assert_eq!(s.state, b'S');
        assert_eq!((s.ppid, s.pgrp, s.session, s.tty_nr, s.tpgid), (1000, 1234, 1234, 34816, 5678));
        assert_eq!(s.cpu_ticks, Some(3));
        assert_eq!(s.num_threads, Some(1));
    }

    #[test]
    fn comm_with_parens_and_spaces() {
        let s = parse(b"7 (a) b (c)) R 1 7 7 0 -1 0").unwrap();
        assert_eq!(s.comm, "a) b (c)");
        assert_eq!(s.state, b'R');
        assert_eq!(s.tpgid, -1);
        assert_eq!(s.cpu_ticks, None);
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(parse(b""), Err(StatError::NoComm));
        assert_eq!(parse(b"12 sh S 1 1 1 0 0"), Err(StatError::NoComm));
        assert_eq!(parse(b"x (sh) S 1 1 1 0 0"), Err(StatError::BadField("pid")));
        assert_eq!(parse(b"1 (sh) SS 1 1 1 0 0"), Err(StatError::BadField("state")));
        assert_eq!(parse(b"1 (sh) S 1 1"), Err(StatError::BadField("session")));
        assert_eq!(parse(b")1 (sh"), Err(StatError::NoComm));
    }
}
