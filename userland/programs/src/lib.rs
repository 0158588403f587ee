//! Helpers shared by the programs: error messages in the `prog: what: strerror` form.
#![no_std]

use rt::{eprintln, Bytes, Errno};

/// Prints `prog: what: error` to stderr.
pub fn complain(prog: &[u8], what: &[u8], err: Errno) {
    eprintln!("{}: {}: {}", Bytes(prog), Bytes(what), err);
}

/// Prints `prog: message` to stderr.
pub fn complain_msg(prog: &[u8], msg: core::fmt::Arguments) {
    eprintln!("{}: {}", Bytes(prog), msg);
}

extern crate alloc;
use alloc::vec::Vec;

/// Splits `args` (without the program name) into single-letter options
/// (`-rf` gives `r`, `f`) and operands; `--` ends the options.
pub fn options<'a>(args: impl Iterator<Item = &'a [u8]>) -> (Vec<u8>, Vec<&'a [u8]>) {
    let mut opts = Vec::new();
    let mut operands = Vec::new();
    let mut more = true;
    for a in args {
        if more && a == b"--" {
            more = false;
        } else if more && a.len() > 1 && a[0] == b'-' && operands.is_empty() {
            opts.extend_from_slice(&a[1..]);
        } else {
            operands.push(a);
        }
    }
    (opts, operands)
}

/// `dir/name`.
pub fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = Vec::from(dir);
    if !p.ends_with(b"/") {
        p.push(b'/');
    }
    p.extend_from_slice(name);
    p
}

/// The last component of a path (trailing slashes ignored).
pub fn basename(path: &[u8]) -> &[u8] {
    let trimmed = match path.iter().rposition(|&b| b != b'/') {
        Some(end) => &path[..=end],
        None => return b"/",
    };
    match trimmed.iter().rposition(|&b| b == b'/') {
        Some(i) => &trimmed[i + 1..],
        None => trimmed,
    }
}

/// The target path for `cp`/`mv` of `src` to `dst`: inside `dst` when it is
/// a directory.
pub fn target_in(src: &[u8], dst: &[u8]) -> Vec<u8> {
    match rt::fs::stat(dst) {
        Ok(st) if st.is_dir() => join(dst, basename(src)),
        _ => Vec::from(dst),
    }
}

/// Copies the regular file `src` to `dst` (made or truncated, with `src`'s
/// permission bits).
pub fn copy_file(src: &[u8], dst: &[u8]) -> Result<(), (bool, Errno)> {
    use rt::fs::{open, O_CLOEXEC, O_CREAT, O_RDONLY, O_TRUNC, O_WRONLY};
    let input = open(src, O_RDONLY | O_CLOEXEC, 0).map_err(|e| (true, e))?;
    let mode = rt::fs::fstat(input).map(|s| s.mode & 0o7777).unwrap_or(0o644);
    let output = match open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = rt::io::close(input);
            return Err((false, e));
        }
    };
    let mut buf = alloc::vec![0u8; 64 * 1024];
    let result = loop {
        match rt::io::read(input, &mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => {
                if let Err(e) = rt::io::write_all(output, &buf[..n]) {
                    break Err((false, e));
                }
            }
            Err(Errno::EINTR) => {}
            Err(e) => break Err((true, e)),
        }
    };
    let _ = rt::io::close(input);
    let _ = rt::io::close(output);
    result
}

/// Removes `path`, and with `recursive` a directory with everything in it.
pub fn remove(path: &[u8], recursive: bool) -> Result<(), Errno> {
    let st = rt::fs::lstat(path)?;
    if st.is_dir() {
        if !recursive {
            return Err(Errno::EISDIR);
        }
        for e in rt::fs::read_dir(path)? {
            if e.name != b"." && e.name != b".." {
                remove(&join(path, &e.name), true)?;
            }
        }
        rt::fs::unlink_at(path, rt::fs::AT_REMOVEDIR)
    } else {
        rt::fs::unlink_at(path, 0)
    }
}
