//! Advisory file locks (Linux: fs/locks.c): `flock` locks, owned by an
//! open file (all its dups share them; the last close drops them), and
//! POSIX record locks of `fcntl` (F_GETLK, F_SETLK, F_SETLKW), owned by a
//! descriptor table (Linux: `fl_owner = current->files`), dropped when that
//! table closes any descriptor of the file and when the table goes.
//!
//! One table for the system, keyed by inode, holds each locked inode's
//! locks; an inode with no lock left has no entry. Waiters sleep on one
//! queue, woken by every unlock. Departure from Linux: F_SETLKW does not
//! detect deadlocks (no EDEADLK).
//!
//! Lock: `LOCKS` is a leaf (taken with nothing else held).

use super::inode::InodeRef;
use crate::errno::Errno;
use crate::sched::wait::WaitQueueHead;
use crate::sync::IrqSpinLock;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;

pub const F_RDLCK: u16 = 0;
pub const F_WRLCK: u16 = 1;
pub const F_UNLCK: u16 = 2;
pub const LOCK_SH: u32 = 1;
pub const LOCK_EX: u32 = 2;
pub const LOCK_NB: u32 = 4;
pub const LOCK_UN: u32 = 8;

/// A POSIX lock on bytes `start..=end` (`end` u64::MAX: to the end of any
/// size).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PosixLock {
    pub owner: usize,
    pub pid: i32,
    pub write: bool,
    pub start: u64,
    pub end: u64,
}

impl PosixLock {
    fn overlaps(&self, start: u64, end: u64) -> bool {
        self.start <= end && start <= self.end
    }
}

#[derive(Default)]
struct InodeLocks {
    /// flock locks: owner (open file) and whether exclusive.
    flocks: Vec<(usize, bool)>,
    posix: Vec<PosixLock>,
}

static LOCKS: IrqSpinLock<BTreeMap<usize, InodeLocks>> = IrqSpinLock::new(BTreeMap::new());
static LOCK_WAIT: WaitQueueHead = WaitQueueHead::new();

fn key(inode: &InodeRef) -> usize {
    Arc::as_ptr(inode) as *const () as usize
}

/// Runs `f` on the inode's locks, dropping the entry if it is left empty.
fn with_locks<R>(inode: &InodeRef, f: impl FnOnce(&mut InodeLocks) -> R) -> Result<R, Errno> {
    let mut table = LOCKS.lock();
    let k = key(inode);
    let entry = table.entry(k).or_default();
    let r = f(entry);
    if entry.flocks.is_empty() && entry.posix.is_empty() {
        table.remove(&k);
    }
    Ok(r)
}

/// `flock` (Linux: `flock_lock_inode`): converting a lock drops the old one
/// first, as Linux does.
pub fn flock(inode: &InodeRef, owner: usize, op: u32) -> Result<(), Errno> {
    let nonblock = op & LOCK_NB != 0;
    let exclusive = match op & !LOCK_NB {
        LOCK_SH => false,
        LOCK_EX => true,
        LOCK_UN => {
            flock_release(inode, owner);
            return Ok(());
        }
        _ => return Err(Errno::EINVAL),
    };
    let try_take = || {
        with_locks(inode, |l| {
            if let Some(i) = l.flocks.iter().position(|&(o, _)| o == owner) {
                if l.flocks[i].1 == exclusive {
                    return true;
                }
                l.flocks.remove(i);
            }
            if l.flocks.iter().any(|&(o, ex)| o != owner && (ex || exclusive)) {
                return false;
            }
            l.flocks.push((owner, exclusive));
            true
        })
    };
    let got = try_take()?;
    // A conversion dropped the old lock first: others may go on.
    LOCK_WAIT.wake_up();
    if got {
        return Ok(());
    }
    if nonblock {
        return Err(Errno::EAGAIN);
    }
    let mut error = None;
    let r = LOCK_WAIT.wait_event(crate::sched::task::state::TASK_INTERRUPTIBLE, || match try_take() {
        Ok(got) => got,
        Err(e) => {
            error = Some(e);
            true
        }
    });
    if let Some(e) = error {
        return Err(e);
    }
    r.map_err(|_| Errno::ERESTARTSYS)
}

/// Drops the flock lock of `owner` (the open file's last close).
pub fn flock_release(inode: &InodeRef, owner: usize) {
    let mut table = LOCKS.lock();
    let k = key(inode);
    let Some(entry) = table.get_mut(&k) else { return };
    let before = entry.flocks.len();
    entry.flocks.retain(|&(o, _)| o != owner);
    let changed = entry.flocks.len() != before;
    if entry.flocks.is_empty() && entry.posix.is_empty() {
        table.remove(&k);
    }
    drop(table);
    if changed {
        LOCK_WAIT.wake_up();
    }
}

/// The first lock of another owner that conflicts with `want` (F_GETLK).
pub fn posix_test(inode: &InodeRef, want: &PosixLock) -> Option<PosixLock> {
    let table = LOCKS.lock();
    let entry = table.get(&key(inode))?;
    entry
        .posix
        .iter()
        .find(|l| l.owner != want.owner && l.overlaps(want.start, want.end) && (l.write || want.write))
        .copied()
}

/// Takes, changes or (with `unlock`) drops the owner's lock over the range
/// (Linux: `posix_lock_inode`); `wait`: F_SETLKW.
pub fn posix_lock(inode: &InodeRef, want: PosixLock, unlock: bool, wait: bool) -> Result<(), Errno> {
    let try_set = || {
        with_locks(inode, |l| {
            if !unlock
                && l.posix
                    .iter()
                    .any(|o| o.owner != want.owner && o.overlaps(want.start, want.end) && (o.write || want.write))
            {
                return Ok(false);
            }
            // The owner's locks lose the range, split where they cross it.
            let mut kept: Vec<PosixLock> = Vec::new();
            kept.try_reserve(l.posix.len() + 2).map_err(|_| Errno::ENOLCK)?;
            for o in &l.posix {
                if o.owner != want.owner || !o.overlaps(want.start, want.end) {
                    kept.push(*o);
                    continue;
                }
                if o.start < want.start {
                    kept.push(PosixLock { end: want.start - 1, ..*o });
                }
                if o.end > want.end {
                    kept.push(PosixLock { start: want.end + 1, ..*o });
                }
            }
            if !unlock {
                kept.push(want);
            }
            l.posix = kept;
            Ok(true)
        })?
    };
    let done = try_set()?;
    // Every change may free a range someone waits for.
    if done {
        LOCK_WAIT.wake_up();
        return Ok(());
    }
    if !wait {
        return Err(Errno::EAGAIN);
    }
    let mut error = None;
    let r = LOCK_WAIT.wait_event(crate::sched::task::state::TASK_INTERRUPTIBLE, || match try_set() {
        Ok(done) => done,
        Err(e) => {
            error = Some(e);
            true
        }
    });
    if let Some(e) = error {
        return Err(e);
    }
    r.map_err(|_| Errno::ERESTARTSYS)?;
    LOCK_WAIT.wake_up();
    Ok(())
}

/// Drops every POSIX lock `owner` holds on `inode` (a close).
pub fn posix_release(inode: &InodeRef, owner: usize) {
    let mut table = LOCKS.lock();
    let k = key(inode);
    let Some(entry) = table.get_mut(&k) else { return };
    let before = entry.posix.len();
    entry.posix.retain(|l| l.owner != owner);
    let changed = entry.posix.len() != before;
    if entry.flocks.is_empty() && entry.posix.is_empty() {
        table.remove(&k);
    }
    drop(table);
    if changed {
        LOCK_WAIT.wake_up();
    }
}
