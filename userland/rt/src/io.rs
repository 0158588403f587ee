//! File-descriptor I/O: read, write, pipes, dup, lseek, fcntl, and the formatted printing behind
//! `print!`/`eprintln!`.

use crate::sys::{self, check, syscall3};
use crate::{Errno, Result};
use alloc::vec::Vec;
use core::fmt;

/// Standard input, output and error.
pub const STDIN: i32 = 0;
pub const STDOUT: i32 = 1;
pub const STDERR: i32 = 2;

/// `fcntl` commands.
pub const F_DUPFD: i32 = 0;
pub const F_GETFD: i32 = 1;
pub const F_SETFD: i32 = 2;
pub const F_GETFL: i32 = 3;
pub const F_DUPFD_CLOEXEC: i32 = 1030;
/// The close-on-exec descriptor flag.
pub const FD_CLOEXEC: i32 = 1;
/// `lseek` whence values.
pub const SEEK_SET: i32 = 0;
pub const SEEK_CUR: i32 = 1;
pub const SEEK_END: i32 = 2;

/// Reads up to `buf.len()` bytes; `Ok(0)` is end of file. `EINTR` is returned to the caller.
pub fn read(fd: i32, buf: &mut [u8]) -> Result<usize> {
    // SAFETY: the kernel writes at most buf.len() bytes into the exclusively borrowed buffer.
    check(unsafe { syscall3(sys::READ, fd as usize, buf.as_mut_ptr() as usize, buf.len()) })
}

/// Writes some of `buf`; returns how many bytes were written.
pub fn write(fd: i32, buf: &[u8]) -> Result<usize> {
    // SAFETY: the kernel reads at most buf.len() bytes from the borrowed buffer.
    check(unsafe { syscall3(sys::WRITE, fd as usize, buf.as_ptr() as usize, buf.len()) })
}

/// Writes all of `buf`, retrying after short writes and `EINTR`.
pub fn write_all(fd: i32, mut buf: &[u8]) -> Result<()> {
    while !buf.is_empty() {
        match write(fd, buf) {
            Ok(0) => return Err(Errno::EIO),
            Ok(n) => buf = &buf[n..],
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Gathers several buffers into one write (`writev`); returns the bytes written.
pub fn writev(fd: i32, bufs: &[&[u8]]) -> Result<usize> {
    #[repr(C)]
    struct IoVec {
        base: *const u8,
        len: usize,
    }
    let iov: Vec<IoVec> = bufs.iter().map(|b| IoVec { base: b.as_ptr(), len: b.len() }).collect();
    // SAFETY: each iovec describes a live borrowed buffer; the kernel only reads them.
    check(unsafe { syscall3(sys::WRITEV, fd as usize, iov.as_ptr() as usize, iov.len()) })
}

/// Reads until end of file, retrying after `EINTR`.
pub fn read_to_end(fd: i32) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match read(fd, &mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
}

/// Closes a descriptor.
pub fn close(fd: i32) -> Result<()> {
    sys::plain(sys::CLOSE, fd as usize, 0, 0).map(drop)
}

/// Duplicates `fd` onto the lowest free descriptor.
pub fn dup(fd: i32) -> Result<i32> {
    sys::plain(sys::DUP, fd as usize, 0, 0).map(|v| v as i32)
}

/// Makes `new` a copy of `old` (closing `new` first); `flags` may be `O_CLOEXEC`.
pub fn dup3(old: i32, new: i32, flags: u32) -> Result<i32> {
    sys::plain(sys::DUP3, old as usize, new as usize, flags as usize).map(|v| v as i32)
}

/// `dup2` semantics on top of dup3: `old == new` is a validity check, not an error.
pub fn dup2(old: i32, new: i32) -> Result<i32> {
    if old == new {
        fcntl(old, F_GETFD, 0).map(|_| new)
    } else {
        dup3(old, new, 0)
    }
}

/// `fcntl` with an integer argument.
pub fn fcntl(fd: i32, cmd: i32, arg: usize) -> Result<usize> {
    sys::plain(sys::FCNTL, fd as usize, cmd as usize, arg)
}

/// Creates a pipe; returns (read end, write end).
pub fn pipe2(flags: u32) -> Result<(i32, i32)> {
    let mut fds = [0i32; 2];
    // SAFETY: the kernel writes two ints into `fds`.
    check(unsafe { syscall3(sys::PIPE2, fds.as_mut_ptr() as usize, flags as usize, 0) })?;
    Ok((fds[0], fds[1]))
}

/// Moves the file offset; returns the new offset.
pub fn lseek(fd: i32, offset: i64, whence: i32) -> Result<u64> {
    sys::plain(sys::LSEEK, fd as usize, offset as usize, whence as usize).map(|v| v as u64)
}

/// A `fmt::Write` sink that buffers on the stack and writes to a descriptor.
struct FdWriter {
    fd: i32,
    buf: [u8; 256],
    len: usize,
    failed: bool,
}

impl FdWriter {
    fn flush(&mut self) {
        if self.len > 0 && !self.failed && write_all(self.fd, &self.buf[..self.len]).is_err() {
            self.failed = true;
        }
        self.len = 0;
    }
}

impl fmt::Write for FdWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let bytes = s.as_bytes();
        if bytes.len() > self.buf.len() - self.len {
            self.flush();
        }
        if bytes.len() > self.buf.len() {
            if !self.failed && write_all(self.fd, bytes).is_err() {
                self.failed = true;
            }
        } else {
            self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
            self.len += bytes.len();
        }
        Ok(())
    }
}

/// Formats `args` and writes the text to `fd`; returns false if the write failed.
pub fn print_to(fd: i32, args: fmt::Arguments) -> bool {
    let mut w = FdWriter { fd, buf: [0; 256], len: 0, failed: false };
    let _ = fmt::write(&mut w, args);
    w.flush();
    !w.failed
}

/// A growable in-memory text buffer implementing `fmt::Write`, for building output to write at once.
#[derive(Default)]
pub struct Buffer(pub Vec<u8>);

impl fmt::Write for Buffer {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}
