//! NUL-terminated strings for system calls and a `Display` wrapper for byte strings.

use crate::{Errno, Result};
use alloc::vec::Vec;
use core::fmt;

/// Copies `s` into a new buffer with a trailing NUL, for passing as a `const char *`.
/// Fails with `EINVAL` if `s` contains a NUL (Linux would read a shorter name).
pub fn to_c(s: &[u8]) -> Result<Vec<u8>> {
    if s.contains(&0) {
        return Err(Errno::EINVAL);
    }
    let mut v = Vec::with_capacity(s.len() + 1);
    v.extend_from_slice(s);
    v.push(0);
    Ok(v)
}

/// Length of the NUL-terminated string at `p`.
///
/// # Safety
/// `p` must point to readable memory containing a NUL.
pub unsafe fn c_len(p: *const u8) -> usize {
    let mut n = 0;
    // SAFETY: the caller guarantees a NUL before the memory ends, so every byte up to it is readable.
    while unsafe { *p.add(n) } != 0 {
        n += 1;
    }
    n
}

/// Displays bytes as text: valid UTF-8 as is, invalid sequences as U+FFFD.
#[derive(Clone, Copy)]
pub struct Bytes<'a>(pub &'a [u8]);

impl fmt::Display for Bytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            f.write_str(chunk.valid())?;
            if !chunk.invalid().is_empty() {
                f.write_str("\u{fffd}")?;
            }
        }
        Ok(())
    }
}
