//! `pselect6` (Linux: fs/select.c `core_sys_select`, `poll_select_finish`).
//!
//! The three descriptor sets become one `struct pollfd` array in kernel
//! memory, waited on by the same loop as `ppoll` (fs.rs `do_poll`), and the
//! results go back into the sets. A descriptor in the read set is ready on
//! POLLIN, POLLHUP or POLLERR, in the write set on POLLOUT or POLLERR, in
//! the exception set on POLLPRI (Linux's POLLIN_SET, POLLOUT_SET,
//! POLLEX_SET). With no descriptors at all the call is a pure interruptible
//! sleep, which is how `select(0, NULL, NULL, NULL, &tv)` and `pause()`
//! implementations use it.

use super::SysResult;
use crate::errno::Errno;
use crate::fs::file::poll;
use crate::mm::uaccess::{copy_from_user, copy_to_user, get_user_u64};
use alloc::vec::Vec;

const POLLIN_SET: u16 = poll::POLLIN | poll::POLLRDNORM | poll::POLLHUP | poll::POLLERR;
const POLLOUT_SET: u16 = poll::POLLOUT | poll::POLLWRNORM | poll::POLLERR;
const POLLEX_SET: u16 = poll::POLLPRI;
/// Which set asks which events (read, write, exception).
const SET_EVENTS: [u16; 3] = [POLLIN_SET, POLLOUT_SET, POLLEX_SET];

/// Reads the `n`-bit set at `addr` (0: an empty set) as 64-bit words.
fn read_set(addr: u64, n: usize) -> Result<Vec<u64>, Errno> {
    let words = n.div_ceil(64);
    let mut set = Vec::new();
    set.try_reserve_exact(words).map_err(|_| Errno::ENOMEM)?;
    set.resize(words, 0);
    if addr != 0 && n > 0 {
        let bytes = n.div_ceil(8);
        let mut b = super::kbuf(bytes)?;
        copy_from_user(&mut b, addr)?;
        for (i, byte) in b.iter().enumerate() {
            set[i / 8] |= (*byte as u64) << (8 * (i % 8));
        }
        // Bits past n are not the caller's: Linux ignores them.
        if !n.is_multiple_of(64) {
            set[words - 1] &= (1u64 << (n % 64)) - 1;
        }
    }
    Ok(set)
}

/// Writes `set` back to `addr` (its first `n` bits' bytes).
fn write_set(addr: u64, n: usize, set: &[u64]) -> Result<(), Errno> {
    if addr == 0 || n == 0 {
        return Ok(());
    }
    let bytes: Vec<u8> = (0..n.div_ceil(8)).map(|i| (set[i / 8] >> (8 * (i % 8))) as u8).collect();
    copy_to_user(addr, &bytes)
}

/// `pselect6(n, readfds, writefds, exceptfds, timeout, sigmask)`: `sets`
/// holds the three set pointers; `sigmask` points to `{ sigset_t *, size_t }`.
/// The time left is written back to `timeout` (Linux does, for select and
/// pselect6, unless the personality says otherwise).
pub fn sys_pselect6(n: i32, sets: [u64; 3], tmo: u64, sigmask: u64) -> SysResult {
    let _wchan = crate::wchan!("poll_schedule_timeout");
    if n < 0 {
        return Err(Errno::EINVAL);
    }
    // Descriptors beyond the table cannot be open (Linux caps n at the
    // table's size, which is at most the RLIMIT_NOFILE ceiling).
    let n = (n as usize).min(crate::fs::file::NR_OPEN);
    let deadline = if tmo == 0 {
        None
    } else {
        let mut ts = [0u8; 16];
        copy_from_user(&mut ts, tmo)?;
        Some(crate::time::uptime_ns().saturating_add(super::misc::timespec_ns(&ts)?))
    };
    let mut bits = [read_set(sets[0], n)?, read_set(sets[1], n)?, read_set(sets[2], n)?];
    // One pollfd per descriptor named in any set.
    let mut fds: Vec<i32> = Vec::new();
    let mut raw: Vec<u8> = Vec::new();
    for fd in 0..n {
        let (w, b) = (fd / 64, 1u64 << (fd % 64));
        let events = (0..3).filter(|&s| bits[s][w] & b != 0).fold(0u16, |e, s| e | SET_EVENTS[s]);
        if events != 0 {
            fds.push(fd as i32);
            raw.try_reserve(8).map_err(|_| Errno::ENOMEM)?;
            raw.extend_from_slice(&(fd as i32).to_le_bytes());
            raw.extend_from_slice(&events.to_le_bytes());
            raw.extend_from_slice(&0u16.to_le_bytes());
        }
    }
    let set_ptr = if sigmask == 0 { 0 } else { get_user_u64(sigmask)? };
    if set_ptr != 0 {
        super::signal::set_user_sigmask(set_ptr, get_user_u64(sigmask + 8)?)?;
    }
    let result = super::fs::do_poll(&mut raw, deadline, 0);
    if set_ptr != 0 {
        super::signal::restore_saved_sigmask_unless(result == Err(Errno::ERESTARTNOHAND));
    }
    result?;
    // Each set keeps the bits of its descriptors that are ready for it.
    let mut count = 0u64;
    for (fd, pfd) in fds.iter().zip(raw.chunks(8)) {
        let revents = u16::from_le_bytes(pfd[6..8].try_into().unwrap());
        if revents & poll::POLLNVAL != 0 {
            return Err(Errno::EBADF);
        }
        let (w, b) = (*fd as usize / 64, 1u64 << (*fd % 64));
        for (s, set) in bits.iter_mut().enumerate() {
            if set[w] & b == 0 {
                continue;
            }
            if revents & SET_EVENTS[s] != 0 {
                count += 1;
            } else {
                set[w] &= !b;
            }
        }
    }
    for (s, set) in bits.iter().enumerate() {
        write_set(sets[s], n, set)?;
    }
    if let Some(d) = deadline {
        let left = d.saturating_sub(crate::time::uptime_ns());
        let mut ts = [0u8; 16];
        ts[..8].copy_from_slice(&((left / 1_000_000_000) as i64).to_le_bytes());
        ts[8..].copy_from_slice(&((left % 1_000_000_000) as i64).to_le_bytes());
        copy_to_user(tmo, &ts)?;
    }
    Ok(count)
}
