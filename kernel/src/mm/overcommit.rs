//! Overcommit accounting (Linux: mm/util.c `__vm_enough_memory`,
//! `vm_committed_as`, the `vm.overcommit_*` sysctls).
//!
//! Every private writable area of every address space is *committed*
//! memory: the pages it may need once it is touched. Their sum is
//! `Committed_AS` in `/proc/meminfo`. A request that adds to it (mmap, brk,
//! mprotect to writable, mremap growing, fork copying an address space,
//! execve's data and stack) asks [`vm_enough_memory`] first, which answers
//! by `vm.overcommit_memory`:
//!
//! - 0, the heuristic (Linux's OVERCOMMIT_GUESS, the default): a single
//!   request larger than all RAM fails, anything else goes;
//! - 1, always: nothing fails;
//! - 2, never: the committed total may not pass `CommitLimit`, which is
//!   `overcommit_kbytes`, or `overcommit_ratio` percent of RAM (there is no
//!   swap), less a reserve for the caller's own recovery
//!   (`user_reserve_kbytes`; every process is root here, so the admin
//!   reserve is never held back).
//!
//! Departures from Linux: an area counts while it is private and writable
//! (Linux's VM_ACCOUNT sticks to an area that mprotect later makes
//! read-only, and is never set for MAP_NORESERVE in modes 0 and 1, which
//! here only skip the check); shared anonymous memory and tmpfs files,
//! which Linux charges to shmem, are not committed.

use super::frame::PAGE_SIZE;
use crate::errno::Errno;
use core::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};

/// `vm.overcommit_memory` values.
pub const OVERCOMMIT_GUESS: u32 = 0;
pub const OVERCOMMIT_ALWAYS: u32 = 1;
pub const OVERCOMMIT_NEVER: u32 = 2;

/// `vm.overcommit_memory`.
static MODE: AtomicU32 = AtomicU32::new(OVERCOMMIT_GUESS);
/// `vm.overcommit_ratio`, percent of RAM (Linux's default 50).
static RATIO: AtomicU64 = AtomicU64::new(50);
/// `vm.overcommit_kbytes`; 0: the ratio decides.
static KBYTES: AtomicU64 = AtomicU64::new(0);
/// `vm.user_reserve_kbytes`; set at boot (Linux: `init_user_reserve`).
static USER_RESERVE_KBYTES: AtomicU64 = AtomicU64::new(128 * 1024);

/// Pages committed by every address space (Linux: `vm_committed_as`).
static COMMITTED: AtomicI64 = AtomicI64::new(0);

const PAGE: u64 = PAGE_SIZE as u64;

/// Sets the boot-time defaults that depend on free memory (Linux:
/// `init_user_reserve`: the smaller of 3% of free memory and 128 MiB).
pub fn init(free_pages: usize) {
    let kb = (free_pages as u64 * (PAGE / 1024)) / 32;
    USER_RESERVE_KBYTES.store(kb.min(128 * 1024), Ordering::Relaxed);
}

/// Pages for `bytes`, rounded up.
pub const fn pages(bytes: u64) -> u64 {
    bytes.div_ceil(PAGE)
}

/// Pages committed now.
pub fn committed_pages() -> u64 {
    COMMITTED.load(Ordering::Relaxed).max(0) as u64
}

/// The most pages mode 2 lets be committed (Linux: `vm_commit_limit`).
pub fn commit_limit_pages() -> u64 {
    let kbytes = KBYTES.load(Ordering::Relaxed);
    if kbytes != 0 {
        return kbytes / (PAGE / 1024);
    }
    let ram = super::phys::stats().total as u64;
    ram * RATIO.load(Ordering::Relaxed) / 100
}

/// Adds `pages` (may be negative) to the committed total without asking
/// (Linux: `vm_acct_memory`, `vm_unacct_memory`).
pub fn vm_acct_memory(pages: i64) {
    COMMITTED.fetch_add(pages, Ordering::Relaxed);
}

/// Whether `pages` more may be committed for an address space of
/// `total_vm` pages; on success they are (Linux: `__vm_enough_memory`):
/// ENOMEM, and nothing charged, if not.
pub fn vm_enough_memory(pages: u64, total_vm: u64) -> Result<(), Errno> {
    if pages == 0 {
        return Ok(()); // nothing new is committed (a read-only mapping, munmap)
    }
    let signed = i64::try_from(pages).map_err(|_| Errno::ENOMEM)?;
    match MODE.load(Ordering::Relaxed) {
        OVERCOMMIT_ALWAYS => {}
        OVERCOMMIT_GUESS => {
            if pages > super::phys::stats().total as u64 {
                return Err(Errno::ENOMEM);
            }
        }
        _ => {
            // Charged first, then compared, so that two racing requests
            // cannot both slip under the limit (as Linux does).
            let now = COMMITTED.fetch_add(signed, Ordering::Relaxed).saturating_add(signed);
            let reserve = (total_vm / 32).min(USER_RESERVE_KBYTES.load(Ordering::Relaxed) / (PAGE / 1024));
            let allowed = commit_limit_pages().saturating_sub(reserve);
            if now.max(0) as u64 > allowed {
                COMMITTED.fetch_sub(signed, Ordering::Relaxed);
                return Err(Errno::ENOMEM);
            }
            return Ok(());
        }
    }
    COMMITTED.fetch_add(signed, Ordering::Relaxed);
    Ok(())
}

/// `vm.overcommit_memory` now.
pub fn mode() -> u32 {
    MODE.load(Ordering::Relaxed)
}

/// Sets `vm.overcommit_memory`: 0, 1 or 2, else EINVAL.
pub fn set_mode(mode: i64) -> Result<(), Errno> {
    let mode = u32::try_from(mode).ok().filter(|&m| m <= OVERCOMMIT_NEVER).ok_or(Errno::EINVAL)?;
    MODE.store(mode, Ordering::Relaxed);
    Ok(())
}

/// `vm.overcommit_ratio` now.
pub fn ratio() -> u64 {
    RATIO.load(Ordering::Relaxed)
}

/// Sets `vm.overcommit_ratio` (percent, not negative); like Linux, this
/// makes `overcommit_kbytes` 0.
pub fn set_ratio(ratio: i64) -> Result<(), Errno> {
    let ratio = u64::try_from(ratio).map_err(|_| Errno::EINVAL)?;
    RATIO.store(ratio, Ordering::Relaxed);
    KBYTES.store(0, Ordering::Relaxed);
    Ok(())
}

/// `vm.overcommit_kbytes` now.
pub fn kbytes() -> u64 {
    KBYTES.load(Ordering::Relaxed)
}

/// Sets `vm.overcommit_kbytes`; like Linux, a non-zero value makes
/// `overcommit_ratio` 0.
pub fn set_kbytes(kbytes: i64) -> Result<(), Errno> {
    let kbytes = u64::try_from(kbytes).map_err(|_| Errno::EINVAL)?;
    KBYTES.store(kbytes, Ordering::Relaxed);
    if kbytes != 0 {
        RATIO.store(0, Ordering::Relaxed);
    }
    Ok(())
}

/// `vm.user_reserve_kbytes` now.
pub fn user_reserve_kbytes() -> u64 {
    USER_RESERVE_KBYTES.load(Ordering::Relaxed)
}

/// Sets `vm.user_reserve_kbytes` (not negative).
pub fn set_user_reserve_kbytes(kbytes: i64) -> Result<(), Errno> {
    USER_RESERVE_KBYTES.store(u64::try_from(kbytes).map_err(|_| Errno::EINVAL)?, Ordering::Relaxed);
    Ok(())
}
