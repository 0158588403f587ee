//! Reading and writing user memory from the kernel (Linux:
//! `copy_from_user`, `copy_to_user`, `strncpy_from_user`).
//!
//! The kernel never dereferences a user pointer with an ordinary load or
//! store: the copies use the unprivileged LDTR/STTR instructions
//! (arch/aarch64/uaccess.S), which the MMU checks with the program's own
//! permissions, in the live address space. A fault on one is resolved like
//! the program's fault (a page comes in, a copy-on-write page is copied),
//! or, where the program would get SIGSEGV, ends the copy through the
//! exception table: the call returns `EFAULT` and the kernel carries on.
//! No lock is held during a copy, so a fault may take the address space's.

use super::frame::PAGE_SIZE;
use super::mm_struct::Mm;
use crate::arch::uaccess::{raw_copy_from_user, raw_copy_to_user};
use crate::errno::Errno;
use crate::sched::task::current;
use crate::util::string::find_nul;
use alloc::vec::Vec;

/// The current task's address space (`EFAULT` for kernel threads).
pub fn current_mm() -> Result<Mm, Errno> {
    current().mm().ok_or(Errno::EFAULT)
}

/// Copies `dst.len()` bytes from user address `src`.
pub fn copy_from_user(dst: &mut [u8], src: u64) -> Result<(), Errno> {
    match raw_copy_from_user(dst, src) {
        0 => Ok(()),
        _ => Err(Errno::EFAULT),
    }
}

/// Copies `src` to user address `dst`.
pub fn copy_to_user(dst: u64, src: &[u8]) -> Result<(), Errno> {
    match raw_copy_to_user(dst, src) {
        0 => Ok(()),
        _ => Err(Errno::EFAULT),
    }
}

/// Reads a little-endian u64 from user memory.
pub fn get_user_u64(addr: u64) -> Result<u64, Errno> {
    let mut b = [0u8; 8];
    copy_from_user(&mut b, addr)?;
    Ok(u64::from_le_bytes(b))
}

/// Reads a little-endian u32 from user memory.
pub fn get_user_u32(addr: u64) -> Result<u32, Errno> {
    let mut b = [0u8; 4];
    copy_from_user(&mut b, addr)?;
    Ok(u32::from_le_bytes(b))
}

/// Writes a little-endian u64 to user memory.
pub fn put_user_u64(addr: u64, v: u64) -> Result<(), Errno> {
    copy_to_user(addr, &v.to_le_bytes())
}

/// Writes a little-endian i32/u32 to user memory.
pub fn put_user_u32(addr: u64, v: u32) -> Result<(), Errno> {
    copy_to_user(addr, &v.to_le_bytes())
}

/// Bytes from `addr` to the end of its page: how far a string copy may
/// read without touching the next page, which the string may not reach.
pub fn to_page_end(addr: u64) -> usize {
    (PAGE_SIZE as u64 - addr % PAGE_SIZE as u64) as usize
}

/// The length of the NUL-terminated user string at `addr`, its NUL
/// included; `too_long` when there is no NUL in its first `max` bytes
/// (Linux: `strnlen_user`, which returns 0 for the error instead). No
/// page past the one holding the NUL is touched.
pub fn strnlen_user(addr: u64, max: usize, too_long: Errno) -> Result<usize, Errno> {
    let mut chunk = [0u8; 64];
    let mut len = 0usize;
    while len < max {
        let at = addr.checked_add(len as u64).ok_or(Errno::EFAULT)?;
        let n = to_page_end(at).min(chunk.len()).min(max - len);
        copy_from_user(&mut chunk[..n], at)?;
        if let Some(z) = find_nul(&chunk[..n]) {
            return Ok(len + z + 1);
        }
        len += n;
    }
    Err(too_long)
}

/// A NUL-terminated string from user memory, without the NUL; `too_long`
/// when it has `max` bytes or more (Linux: `strncpy_from_user`).
pub fn strndup_user(addr: u64, max: usize, too_long: Errno) -> Result<Vec<u8>, Errno> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 256];
    let mut at = addr;
    loop {
        // Up to the end of the page at most: never touch the next one
        // needlessly (the string may end just before it).
        let n = to_page_end(at).min(chunk.len());
        copy_from_user(&mut chunk[..n], at)?;
        let (bytes, found) = match find_nul(&chunk[..n]) {
            Some(i) => (&chunk[..i], true),
            None => (&chunk[..n], false),
        };
        out.try_reserve(bytes.len()).map_err(|_| Errno::ENOMEM)?;
        out.extend_from_slice(bytes);
        if out.len() >= max {
            return Err(too_long);
        }
        if found {
            return Ok(out);
        }
        at += n as u64;
    }
}

/// A path argument (`ENAMETOOLONG` past PATH_MAX).
pub fn get_path(addr: u64) -> Result<alloc::string::String, Errno> {
    let bytes = strndup_user(addr, crate::fs::path::PATH_MAX, Errno::ENAMETOOLONG)?;
    alloc::string::String::from_utf8(bytes).map_err(|_| Errno::ENOENT)
}
