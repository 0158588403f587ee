//! Reading and writing user memory from the kernel (Linux:
//! `copy_from_user`, `copy_to_user`, `strncpy_from_user`).
//!
//! The kernel never dereferences a user pointer. Each access walks the
//! current task's page tables in software (mm_struct.rs `access`), faulting
//! pages in on the way exactly as the MMU would, and copies through the
//! linear map. A pointer outside the task's VMAs, or to memory without the
//! needed permission, is `EFAULT`: no kernel fault, no fix-up table.

use super::mm_struct::{Access, Mm};
use crate::errno::Errno;
use crate::sched::task::current;
use alloc::vec::Vec;

/// The current task's address space (`EFAULT` for kernel threads).
pub fn current_mm() -> Result<Mm, Errno> {
    current().mm().ok_or(Errno::EFAULT)
}

/// Copies `dst.len()` bytes from user address `src`.
pub fn copy_from_user(dst: &mut [u8], src: u64) -> Result<(), Errno> {
    let mm = current_mm()?;
    let mut done = 0;
    mm.access(src, dst.len(), Access::Read, |p, n| {
        // SAFETY: `p` points to `n` readable bytes of a user page that the
        // address-space lock keeps mapped; `dst` has room for them.
        unsafe { core::ptr::copy_nonoverlapping(p, dst[done..].as_mut_ptr(), n) };
        done += n;
    })
}

/// Copies `src` to user address `dst`.
pub fn copy_to_user(dst: u64, src: &[u8]) -> Result<(), Errno> {
    let mm = current_mm()?;
    let mut done = 0;
    mm.access(dst, src.len(), Access::Write, |p, n| {
        // SAFETY: `p` points to `n` writable bytes of a user page that the
        // address-space lock keeps mapped.
        unsafe { core::ptr::copy_nonoverlapping(src[done..].as_ptr(), p, n) };
        done += n;
    })
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

/// A NUL-terminated string from user memory, without the NUL; `too_long`
/// when it has `max` bytes or more (Linux: `strncpy_from_user`).
pub fn strndup_user(addr: u64, max: usize, too_long: Errno) -> Result<Vec<u8>, Errno> {
    let mm = current_mm()?;
    let mut out = Vec::new();
    let mut at = addr;
    loop {
        // Up to the end of the page: never touch the next one needlessly.
        let chunk = (((at | 0xfff) + 1) - at) as usize;
        let mut found = false;
        mm.access(at, chunk, Access::Read, |p, n| {
            // SAFETY: `p` points to `n` readable bytes of a locked user page.
            let bytes = unsafe { core::slice::from_raw_parts(p, n) };
            match bytes.iter().position(|&b| b == 0) {
                Some(i) => {
                    out.extend_from_slice(&bytes[..i]);
                    found = true;
                }
                None => out.extend_from_slice(bytes),
            }
        })?;
        if out.len() >= max {
            return Err(too_long);
        }
        if found {
            return Ok(out);
        }
        at += chunk as u64;
    }
}

/// A path argument (`ENAMETOOLONG` past PATH_MAX).
pub fn get_path(addr: u64) -> Result<alloc::string::String, Errno> {
    let bytes = strndup_user(addr, crate::fs::path::PATH_MAX, Errno::ENAMETOOLONG)?;
    alloc::string::String::from_utf8(bytes).map_err(|_| Errno::ENOENT)
}
