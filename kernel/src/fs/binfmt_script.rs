//! Scripts that name their interpreter on a `#!` line (Linux:
//! fs/binfmt_script.c `load_script`).
//!
//! `execve` of a file that starts with `#!interpreter [argument]` runs the
//! interpreter instead, with argv[0] the interpreter's name as written, the
//! optional argument as one string (spaces inside it kept), the script's
//! name, then the caller's argv[1..]. Only the first [`BINPRM_BUF_SIZE`]
//! bytes are looked at: a line longer than that keeps a truncated argument,
//! but an interpreter name that does not end inside them is ENOEXEC, so a
//! truncated name never runs. An interpreter that is itself a script is
//! followed up to [`MAX_DEPTH`] times (ELOOP beyond). This file holds the
//! parsing, which needs no hardware; exec.rs follows the chain.

use crate::errno::Errno;

/// The bytes of a file's head an exec handler looks at (Linux: BINPRM_BUF_SIZE).
pub const BINPRM_BUF_SIZE: usize = 256;

/// How many times one exec may move on to an interpreter (Linux:
/// `exec_binprm` gives up with ELOOP at depth 6).
pub const MAX_DEPTH: usize = 5;

/// A parsed `#!` line: the interpreter's name and its one optional argument.
#[derive(Debug, PartialEq, Eq)]
pub struct Interpreter<'a> {
    pub name: &'a [u8],
    pub arg: Option<&'a [u8]>,
}

fn spacetab(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// The bytes of `s` up to its first NUL (the line is a C string in Linux).
fn until_nul(s: &[u8]) -> &[u8] {
    s.iter().position(|&b| b == 0).map_or(s, |n| &s[..n])
}

/// Parses the head of a file (zero-padded when the file is shorter):
/// `None` when it does not start with `#!` (not a script: the next handler
/// tries), ENOEXEC for a `#!` line with no interpreter or one whose name
/// may be cut off.
pub fn parse(buf: &[u8; BINPRM_BUF_SIZE]) -> Option<Result<Interpreter<'_>, Errno>> {
    if buf[0] != b'#' || buf[1] != b'!' {
        return None;
    }
    Some(parse_line(buf))
}

fn parse_line(buf: &[u8; BINPRM_BUF_SIZE]) -> Result<Interpreter<'_>, Errno> {
    let last = BINPRM_BUF_SIZE - 1;
    let next_non_spacetab = |from: usize, to: usize| (from..=to).find(|&i| !spacetab(buf[i]));
    let next_terminator = |from: usize, to: usize| (from..=to).find(|&i| spacetab(buf[i]) || buf[i] == 0);
    // The line ends at a newline (searched as a C string: up to the first
    // NUL); without one, the name must end inside the buffer.
    let newline = until_nul(buf).iter().position(|&b| b == b'\n');
    let mut end = match newline {
        Some(n) => n,
        None => {
            let first = next_non_spacetab(2, last).ok_or(Errno::ENOEXEC)?;
            next_terminator(first, last).ok_or(Errno::ENOEXEC)?;
            last
        }
    };
    while spacetab(buf[end - 1]) {
        end -= 1;
    }
    let name = next_non_spacetab(2, end).ok_or(Errno::ENOEXEC)?;
    if name == end {
        return Err(Errno::ENOEXEC);
    }
    let sep = next_terminator(name, end);
    let arg = match sep {
        Some(s) if buf[s] != 0 => next_non_spacetab(s, end).map(|a| until_nul(&buf[a..end])),
        _ => None,
    };
    Ok(Interpreter { name: until_nul(&buf[name..sep.unwrap_or(end)]), arg })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(s: &[u8]) -> [u8; BINPRM_BUF_SIZE] {
        let mut b = [0u8; BINPRM_BUF_SIZE];
        let n = s.len().min(BINPRM_BUF_SIZE);
        b[..n].copy_from_slice(&s[..n]);
        b
    }

    /// A parse, owned: not a script, an error, or (name, argument).
    type Parsed = Option<Result<(Vec<u8>, Option<Vec<u8>>), Errno>>;

    fn run(s: &[u8]) -> Parsed {
        let b = head(s);
        parse(&b).map(|r| r.map(|i| (i.name.to_vec(), i.arg.map(|a| a.to_vec()))))
    }

    fn ok(name: &str, arg: Option<&str>) -> Parsed {
        Some(Ok((name.as_bytes().to_vec(), arg.map(|a| a.as_bytes().to_vec()))))
    }

    #[test]
    fn name_and_one_argument_with_its_inner_spaces() {
        assert_eq!(run(b"#!/bin/sh\necho hi\n"), ok("/bin/sh", None));
        assert_eq!(run(b"#! \t/bin/sh  \t\nx"), ok("/bin/sh", None));
        assert_eq!(run(b"#!/bin/awk -f\n"), ok("/bin/awk", Some("-f")));
        assert_eq!(run(b"#!/bin/echo  a  b \t\n"), ok("/bin/echo", Some("a  b")));
        assert_eq!(run(b"#!/bin/sh"), ok("/bin/sh", None), "no newline, but the name ends");
        assert_eq!(run(b"#!/bin/sh -x"), ok("/bin/sh", Some("-x")));
    }

    #[test]
    fn not_a_script_or_no_interpreter() {
        assert_eq!(run(b"\x7fELF"), None);
        assert_eq!(run(b"# !/bin/sh\n"), None);
        assert_eq!(run(b"#!\n/bin/sh\n"), Some(Err(Errno::ENOEXEC)));
        assert_eq!(run(b"#!   \n"), Some(Err(Errno::ENOEXEC)));
        // Without a newline the name is whatever ends first, here empty
        // (exec then refuses it with EACCES, as Linux does).
        assert_eq!(run(b"#!"), ok("", None));
    }

    #[test]
    fn a_name_that_may_be_cut_off_is_refused_a_long_argument_is_cut() {
        let mut long = b"#!/".to_vec();
        long.resize(300, b'a');
        assert_eq!(run(&long), Some(Err(Errno::ENOEXEC)));
        let mut long_arg = b"#!/bin/sh ".to_vec();
        long_arg.resize(300, b'x');
        let b = head(&long_arg);
        let i = parse(&b).unwrap().unwrap();
        assert_eq!(i.name, b"/bin/sh");
        assert_eq!(i.arg.unwrap().len(), BINPRM_BUF_SIZE - 1 - 10);
    }
}
