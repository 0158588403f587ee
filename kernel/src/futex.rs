//! Fast user-space mutexes (Linux: kernel/futex/): FUTEX_WAIT and
//! FUTEX_WAIT_BITSET sleep while a user word holds an expected value,
//! FUTEX_WAKE and FUTEX_WAKE_BITSET wake sleepers on a word,
//! FUTEX_REQUEUE and FUTEX_CMP_REQUEUE move sleepers from one word to
//! another (condition variables), FUTEX_WAKE_OP changes a second word
//! atomically and wakes on both, FUTEX_LOCK_PI/LOCK_PI2/TRYLOCK_PI/
//! UNLOCK_PI make the word a lock that names its owner's TID and hand it
//! from the unlocker to the oldest waiter, and a thread's exit clears and
//! wakes its CLONE_CHILD_CLEARTID word (thread join).
//!
//! Departures for priority-inheritance futexes: this kernel has no
//! real-time priorities, so there is nothing to inherit and no owner is
//! boosted; a signal restarts the wait only under SA_RESTART (Linux always
//! restarts it); and an owner that exits holding the lock leaves it held
//! (Linux hands it on with FUTEX_OWNER_DIED, which needs robust lists).
//!
//! Waiters are keyed by their address space and the word's address (private
//! futexes: this kernel has no memory shared between address spaces) and
//! kept on one of 64 hash buckets. A waiter reads the word and queues itself
//! under the bucket's lock, and a waker takes the same lock, so a wake-up
//! between the read and the sleep is never lost (Linux: `futex_wait_setup`,
//! `futex_wake`).
//!
//! A requeue moves a waiter to another bucket and changes its key under
//! both buckets' locks; a waiter that leaves on its own therefore finds its
//! bucket from its key and checks, with that bucket locked, that the key
//! did not change meanwhile (Linux: `futex_unqueue` and `q->lock_ptr`).
//!
//! Lock order: bucket locks (two at once in index order) < a waiter's key
//! lock; the user word is read or changed under bucket locks.

use crate::errno::Errno;
use crate::mm::mm_struct::Access;
use crate::mm::uaccess;
use crate::sched::task::{current, state, TaskRef};
use crate::sync::{IrqSpinLock, IrqSpinLockGuard};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

pub const FUTEX_WAIT: u32 = 0;
pub const FUTEX_WAKE: u32 = 1;
pub const FUTEX_REQUEUE: u32 = 3;
pub const FUTEX_CMP_REQUEUE: u32 = 4;
pub const FUTEX_WAKE_OP: u32 = 5;
pub const FUTEX_LOCK_PI: u32 = 6;
pub const FUTEX_UNLOCK_PI: u32 = 7;
pub const FUTEX_TRYLOCK_PI: u32 = 8;
pub const FUTEX_WAIT_BITSET: u32 = 9;
pub const FUTEX_LOCK_PI2: u32 = 13;
/// The PI word: the owner's TID, and flags above it.
pub const FUTEX_WAITERS: u32 = 0x8000_0000;
pub const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
pub const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
pub const FUTEX_WAKE_BITSET: u32 = 10;
pub const FUTEX_PRIVATE_FLAG: u32 = 128;
pub const FUTEX_CLOCK_REALTIME: u32 = 256;
/// What FUTEX_WAIT and FUTEX_WAKE match (Linux: FUTEX_BITSET_MATCH_ANY).
pub const FUTEX_BITSET_MATCH_ANY: u32 = u32::MAX;

/// Address space and word address.
type Key = (usize, u64);

/// A sleeper, on its own stack while it waits.
struct Waiter {
    /// Changed only by a requeue, which holds both buckets' locks.
    key: IrqSpinLock<Key>,
    /// 0 for a PI waiter, which only FUTEX_UNLOCK_PI wakes.
    bitset: u32,
    task: TaskRef,
    woken: AtomicBool,
}

/// Pointers to waiters, oldest first; each is removed from its bucket
/// before its frame ends (by a waker, or by the waiter itself).
struct Bucket(Vec<*const Waiter>);

// SAFETY: the pointers are only dereferenced under the bucket's lock, while
// the waiter they point to is still queued (so still alive).
unsafe impl Send for Bucket {}

const BUCKETS: usize = 64;
static QUEUES: [IrqSpinLock<Bucket>; BUCKETS] = [const { IrqSpinLock::new(Bucket(Vec::new())) }; BUCKETS];

/// The key of `uaddr` in the current address space (Linux:
/// `get_futex_key`): EINVAL for a misaligned word, EFAULT for one outside
/// the user half (Linux's `access_ok`). As in Linux, a private futex needs
/// no mapping behind a user address to be woken: FUTEX_WAKE on an unmapped
/// user word finds no waiter and returns 0.
fn key(uaddr: u64) -> Result<Key, Errno> {
    if !uaddr.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    if uaddr > crate::mm::mm_struct::TASK_SIZE - 4 {
        return Err(Errno::EFAULT);
    }
    let mm = uaccess::current_mm()?;
    Ok((alloc::sync::Arc::as_ptr(&mm) as usize, uaddr))
}

fn bucket_index(key: Key) -> usize {
    let h = (key.1 ^ (key.0 as u64).rotate_left(17)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (h >> 58) as usize % BUCKETS
}

fn bucket(key: Key) -> &'static IrqSpinLock<Bucket> {
    &QUEUES[bucket_index(key)]
}

/// Two keys' buckets locked in index order (one guard if they share one).
struct DoubleLock {
    first: IrqSpinLockGuard<'static, Bucket>,
    second: Option<IrqSpinLockGuard<'static, Bucket>>,
    /// Whether `first` is key 1's bucket.
    first_is_1: bool,
}

impl DoubleLock {
    fn new(k1: Key, k2: Key) -> DoubleLock {
        let (i1, i2) = (bucket_index(k1), bucket_index(k2));
        if i1 == i2 {
            return DoubleLock { first: QUEUES[i1].lock(), second: None, first_is_1: true };
        }
        let (lo, hi) = (i1.min(i2), i1.max(i2));
        let first = QUEUES[lo].lock();
        let second = Some(QUEUES[hi].lock());
        DoubleLock { first, second, first_is_1: lo == i1 }
    }

    /// Key 1's and key 2's buckets (the same one twice is not possible:
    /// the caller handles a shared bucket through `shared`).
    fn split(&mut self) -> (&mut Bucket, Option<&mut Bucket>) {
        match (&mut self.second, self.first_is_1) {
            (None, _) => (&mut *self.first, None),
            (Some(s), true) => (&mut *self.first, Some(&mut **s)),
            (Some(s), false) => (&mut **s, Some(&mut *self.first)),
        }
    }
}

/// Wakes up to `nr` waiters on `key` whose bitset meets `bitset`, oldest
/// first, removing them from `b`. Returns how many.
fn wake_in(b: &mut Bucket, key: Key, nr: u64, bitset: u32) -> u64 {
    let mut woken = 0u64;
    b.0.retain(|&w| {
        // SAFETY: a queued waiter is alive (see `Bucket`).
        let waiter = unsafe { &*w };
        if woken >= nr || *waiter.key.lock() != key || waiter.bitset & bitset == 0 {
            return true;
        }
        waiter.woken.store(true, Ordering::Release);
        crate::sched::core::wake_up_process(waiter.task);
        woken += 1;
        false
    });
    woken
}

/// Faults the user word in with the access a later look under a bucket
/// lock needs, so that look does not fault (Linux retries after
/// `fault_in_user_writeable` instead).
fn prefault(uaddr: u64, access: Access) -> Result<(), Errno> {
    uaccess::current_mm()?.access(uaddr, 4, access, |_, _| ())
}

/// Runs `f` on the user word as an atomic, returning what `f` returns
/// (Linux: `futex_atomic_op_inuser`, `futex_atomic_cmpxchg_inatomic`): user
/// threads on other cores use the same physical word with their own
/// atomics, so the word is changed through the linear map with real atomic
/// instructions.
fn with_user_atomic<R>(uaddr: u64, f: impl FnOnce(&AtomicU32) -> R) -> Result<R, Errno> {
    let mm = uaccess::current_mm()?;
    let mut f = Some(f);
    let mut out = None;
    mm.access(uaddr, 4, Access::Write, |p, _| {
        // SAFETY: `p` is the kernel's view of a writable, 4-byte aligned
        // user word (key() checks alignment, so it lies within one page),
        // kept mapped by the address-space lock while this runs.
        let word = unsafe { AtomicU32::from_ptr(p as *mut u32) };
        if let Some(f) = f.take() {
            out = Some(f(word));
        }
    })?;
    out.ok_or(Errno::EFAULT)
}

/// Sleeps, queued as `waiter` and already TASK_INTERRUPTIBLE, until a
/// waker marks it woken (Ok), a signal comes (ERESTARTSYS) or `deadline`
/// (uptime, ns) passes (ETIMEDOUT); returns TASK_RUNNING.
fn sleep_until_woken(waiter: &Waiter, deadline: Option<u64>) -> Result<u64, Errno> {
    sleep_until_any_woken(core::slice::from_ref(waiter), deadline).map(|_| 0)
}

/// Sleeps while `*uaddr == val`, until woken by a waker whose bitset meets
/// `bitset` (FUTEX_WAIT_BITSET; FUTEX_WAIT uses every bit), until
/// `deadline` (uptime ns; None: forever) or a signal. EAGAIN if the value
/// differs, ETIMEDOUT, ERESTARTSYS on a signal.
pub fn futex_wait_bitset(uaddr: u64, val: u32, deadline: Option<u64>, bitset: u32) -> Result<u64, Errno> {
    let _wchan = crate::wchan!("futex_wait_queue");
    if bitset == 0 {
        return Err(Errno::EINVAL);
    }
    let k = key(uaddr)?;
    let waiter = Waiter { key: IrqSpinLock::new(k), bitset, task: current(), woken: AtomicBool::new(false) };
    // Fault the word in (and check it) before the bucket's spinlock is held.
    uaccess::get_user_u32(uaddr)?;
    {
        let mut b = bucket(k).lock();
        if uaccess::get_user_u32(uaddr)? != val {
            return Err(Errno::EAGAIN);
        }
        b.0.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        b.0.push(&waiter);
        crate::sched::task::set_current_state(state::TASK_INTERRUPTIBLE);
    }
    let result = sleep_until_woken(&waiter, deadline);
    // Off the queue before the waiter goes out of scope; a waker that got
    // there first has removed it already.
    unqueue(&waiter);
    if waiter.woken.load(Ordering::Acquire) {
        return Ok(0); // woken, whatever else happened meanwhile
    }
    result
}

/// The most words one `futex_waitv` waits on (Linux: FUTEX_WAITV_MAX).
pub const FUTEX_WAITV_MAX: usize = 128;

/// `futex_waitv`: sleeps while every `(uaddr, val)` of `words` holds its
/// value, until a wake on any of them, `deadline` (uptime ns; None:
/// forever) or a signal (Linux: `futex_wait_multiple`). Returns the index
/// of a word woken; EAGAIN if a value differs when looked at (unless a
/// word queued before it was woken meanwhile), ETIMEDOUT, ERESTARTSYS.
pub fn futex_wait_multiple(words: &[(u64, u32)], deadline: Option<u64>) -> Result<u64, Errno> {
    let _wchan = crate::wchan!("futex_wait_queue");
    let mut waiters: Vec<Waiter> = Vec::new();
    waiters.try_reserve_exact(words.len()).map_err(|_| Errno::ENOMEM)?;
    for &(uaddr, _) in words {
        let k = key(uaddr)?;
        // Faulted in (and checked) before any bucket's spinlock is held.
        uaccess::get_user_u32(uaddr)?;
        waiters.push(Waiter {
            key: IrqSpinLock::new(k),
            bitset: FUTEX_BITSET_MATCH_ANY,
            task: current(),
            woken: AtomicBool::new(false),
        });
    }
    // `waiters` never grows again: the queued pointers stay valid.
    let mut queued = 0;
    let mut setup = Ok(());
    for (w, &(uaddr, val)) in waiters.iter().zip(words) {
        let mut b = bucket(*w.key.lock()).lock();
        match uaccess::get_user_u32(uaddr) {
            Ok(v) if v == val => {}
            Ok(_) => setup = Err(Errno::EAGAIN),
            Err(e) => setup = Err(e),
        }
        if setup.is_ok() {
            setup = b.0.try_reserve(1).map_err(|_| Errno::ENOMEM);
        }
        if setup.is_err() {
            break;
        }
        b.0.push(w);
        queued += 1;
    }
    let result = match setup {
        Ok(()) => {
            crate::sched::task::set_current_state(state::TASK_INTERRUPTIBLE);
            sleep_until_any_woken(&waiters, deadline)
        }
        Err(e) => Err(e),
    };
    // Every queued waiter off its queue before `waiters` goes; the last
    // one found woken is the answer (Linux: futex_unqueue_multiple).
    let mut woken = None;
    for (i, w) in waiters[..queued].iter().enumerate() {
        unqueue(w);
        if w.woken.load(Ordering::Acquire) {
            woken = Some(i as u64);
        }
    }
    match woken {
        Some(i) => Ok(i),
        None => result,
    }
}

/// [`sleep_until_woken`] for several waiters of one task: until any of
/// them is woken (its index), a signal or the deadline.
fn sleep_until_any_woken(waiters: &[Waiter], deadline: Option<u64>) -> Result<u64, Errno> {
    let result = loop {
        if let Some(i) = waiters.iter().position(|w| w.woken.load(Ordering::Acquire)) {
            break Ok(i as u64);
        }
        if crate::sched::task::signal_pending() {
            break Err(Errno::ERESTARTSYS);
        }
        match deadline {
            Some(d) => {
                let now = crate::time::uptime_ns();
                if now >= d {
                    break Err(Errno::ETIMEDOUT);
                }
                crate::sched::core::schedule_timeout_prepared(d - now);
            }
            None => crate::sched::core::schedule(),
        }
        crate::sched::task::set_current_state(state::TASK_INTERRUPTIBLE);
    };
    crate::sched::task::__set_current_state(state::TASK_RUNNING);
    result
}

/// Takes `waiter` off its queue if a waker has not already (Linux:
/// `futex_unqueue`). A requeue may have moved it: its bucket is found from
/// its key, and the key checked again once that bucket is held.
fn unqueue(waiter: &Waiter) {
    loop {
        let k = *waiter.key.lock();
        let mut b = bucket(k).lock();
        if *waiter.key.lock() == k {
            b.0.retain(|&w| !core::ptr::eq(w, waiter));
            return;
        }
    }
}

/// FUTEX_WAIT with a relative timeout (None: forever).
pub fn futex_wait(uaddr: u64, val: u32, timeout_ns: Option<u64>) -> Result<u64, Errno> {
    let deadline = timeout_ns.map(|t| crate::time::uptime_ns().saturating_add(t));
    futex_wait_bitset(uaddr, val, deadline, FUTEX_BITSET_MATCH_ANY)
}

/// FUTEX_WAKE_BITSET: wakes up to `nr` sleepers on `uaddr` whose bitset
/// meets `bitset` (at least one, as Linux's loop does for 0); returns how
/// many.
pub fn futex_wake_bitset(uaddr: u64, nr: u32, bitset: u32) -> Result<u64, Errno> {
    if bitset == 0 {
        return Err(Errno::EINVAL);
    }
    let k = key(uaddr)?;
    let mut b = bucket(k).lock();
    Ok(wake_in(&mut b, k, nr.max(1) as u64, bitset))
}

/// FUTEX_WAKE.
pub fn futex_wake(uaddr: u64, nr: u32) -> Result<u64, Errno> {
    futex_wake_bitset(uaddr, nr, FUTEX_BITSET_MATCH_ANY)
}

/// FUTEX_REQUEUE and FUTEX_CMP_REQUEUE (with `cmpval`): wakes up to
/// `nr_wake` sleepers on `uaddr1` and moves up to `nr_requeue` more to
/// `uaddr2`, oldest first; EAGAIN if `*uaddr1 != cmpval`. Returns how many
/// were woken or moved (Linux: `futex_requeue`).
pub fn futex_requeue(
    uaddr1: u64,
    uaddr2: u64,
    nr_wake: i32,
    nr_requeue: i32,
    cmpval: Option<u32>,
) -> Result<u64, Errno> {
    if nr_wake < 0 || nr_requeue < 0 {
        return Err(Errno::EINVAL);
    }
    let (k1, k2) = (key(uaddr1)?, key(uaddr2)?);
    if cmpval.is_some() {
        prefault(uaddr1, Access::Read)?;
    }
    let mut locks = DoubleLock::new(k1, k2);
    if let Some(expected) = cmpval {
        if uaccess::get_user_u32(uaddr1)? != expected {
            return Err(Errno::EAGAIN);
        }
    }
    let (b1, b2) = locks.split();
    let woken = wake_in(b1, k1, nr_wake as u64, FUTEX_BITSET_MATCH_ANY);
    let mut moved = 0u64;
    if k1 == k2 {
        // The same word: the rest stay where they are (Linux counts them).
        for &w in b1.0.iter() {
            // SAFETY: a queued waiter is alive (see `Bucket`).
            if moved < nr_requeue as u64 && *unsafe { &*w }.key.lock() == k1 {
                moved += 1;
            }
        }
        return Ok(woken + moved);
    }
    let mut taken: Vec<*const Waiter> = Vec::new();
    b1.0.retain(|&w| {
        // SAFETY: a queued waiter is alive (see `Bucket`).
        let waiter = unsafe { &*w };
        if moved >= nr_requeue as u64 || *waiter.key.lock() != k1 || waiter.bitset == 0 || taken.try_reserve(1).is_err()
        {
            return true;
        }
        *waiter.key.lock() = k2;
        taken.push(w);
        moved += 1;
        false
    });
    let target = b2.unwrap_or(b1);
    if target.0.try_reserve(taken.len()).is_err() {
        // Put them back where they were rather than lose them.
        for &w in &taken {
            // SAFETY: as above; still alive, now off every queue but this.
            *unsafe { &*w }.key.lock() = k1;
        }
        b1.0.extend_from_slice(&taken);
        return Err(Errno::ENOMEM);
    }
    target.0.extend_from_slice(&taken);
    Ok(woken + moved)
}

/// FUTEX_WAKE_OP: `encoded` names an operation on `*uaddr2` and a
/// comparison of its old value; the word changes atomically, up to `nr1`
/// sleepers on `uaddr1` wake, and up to `nr2` on `uaddr2` too if the
/// comparison holds (Linux: `futex_wake_op`, `futex_atomic_op_inuser`).
pub fn futex_wake_op(uaddr1: u64, uaddr2: u64, nr1: u32, nr2: u32, encoded: u32) -> Result<u64, Errno> {
    let op = decode_wake_op(encoded)?;
    let (k1, k2) = (key(uaddr1)?, key(uaddr2)?);
    prefault(uaddr2, Access::Write)?;
    let mut locks = DoubleLock::new(k1, k2);
    let old = with_user_atomic(uaddr2, |word| {
        let mut cur = word.load(Ordering::Relaxed);
        loop {
            match word.compare_exchange_weak(cur, op.apply(cur), Ordering::SeqCst, Ordering::Relaxed) {
                Ok(v) => break v,
                Err(v) => cur = v,
            }
        }
    })?;
    let (b1, b2) = locks.split();
    let mut woken = wake_in(b1, k1, nr1.max(1) as u64, FUTEX_BITSET_MATCH_ANY);
    if op.compare(old) {
        let b = b2.unwrap_or(b1);
        woken += wake_in(b, k2, nr2.max(1) as u64, FUTEX_BITSET_MATCH_ANY);
    }
    Ok(woken)
}

/// Takes the PI lock at `uaddr` if it is free (no owner TID), keeping
/// FUTEX_OWNER_DIED, under the bucket lock. Ok(true): taken; Ok(false):
/// owned by another task, FUTEX_WAITERS set when `announce`; EDEADLK if
/// the caller owns it; ESRCH if its owner does not exist.
fn lock_pi_atomic(uaddr: u64, tid: u32, announce: bool) -> Result<bool, Errno> {
    loop {
        let cur = with_user_atomic(uaddr, |w| w.load(Ordering::SeqCst))?;
        let owner = cur & FUTEX_TID_MASK;
        let new = if owner == 0 {
            tid | (cur & FUTEX_OWNER_DIED) | (cur & FUTEX_WAITERS)
        } else if owner == tid {
            return Err(Errno::EDEADLK);
        } else {
            let alive = crate::sched::task::find_task_by_pid(owner).map(|t| {
                let user = t.is_user();
                t.put();
                user
            });
            if alive != Some(true) {
                return Err(Errno::ESRCH);
            }
            if !announce || cur & FUTEX_WAITERS != 0 {
                return Ok(false);
            }
            cur | FUTEX_WAITERS
        };
        let swapped = with_user_atomic(uaddr, |w| w.compare_exchange(cur, new, Ordering::SeqCst, Ordering::SeqCst))?;
        if swapped.is_ok() {
            return Ok(owner == 0);
        }
    }
}

/// FUTEX_LOCK_PI and FUTEX_LOCK_PI2: takes the lock, or sleeps until its
/// owner's FUTEX_UNLOCK_PI hands it over, until `deadline` (uptime ns;
/// ETIMEDOUT) or a signal (Linux: `futex_lock_pi`).
pub fn futex_lock_pi(uaddr: u64, deadline: Option<u64>) -> Result<u64, Errno> {
    let k = key(uaddr)?;
    let me = current();
    let tid = me.pid();
    let waiter = Waiter { key: IrqSpinLock::new(k), bitset: 0, task: me, woken: AtomicBool::new(false) };
    prefault(uaddr, Access::Write)?;
    {
        let mut b = bucket(k).lock();
        b.0.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        if lock_pi_atomic(uaddr, tid, true)? {
            return Ok(0);
        }
        b.0.push(&waiter);
        crate::sched::task::set_current_state(state::TASK_INTERRUPTIBLE);
    }
    let result = sleep_until_woken(&waiter, deadline);
    let mut b = bucket(k).lock();
    b.0.retain(|&w| !core::ptr::eq(w, &waiter));
    if waiter.woken.load(Ordering::Acquire) {
        return Ok(0); // handed the lock, whatever else happened meanwhile
    }
    result
}

/// FUTEX_TRYLOCK_PI: takes the lock if it is free, else EAGAIN.
pub fn futex_trylock_pi(uaddr: u64) -> Result<u64, Errno> {
    let k = key(uaddr)?;
    prefault(uaddr, Access::Write)?;
    let _b = bucket(k).lock();
    match lock_pi_atomic(uaddr, current().pid(), false) {
        Ok(true) => Ok(0),
        Ok(false) => Err(Errno::EAGAIN),
        Err(e) => Err(e),
    }
}

/// FUTEX_UNLOCK_PI: the owner lets go; the oldest waiter becomes the owner
/// (FUTEX_WAITERS kept if others wait) and wakes, or the word becomes 0.
/// EPERM for a caller that does not own it (Linux: `futex_unlock_pi`).
pub fn futex_unlock_pi(uaddr: u64) -> Result<u64, Errno> {
    let k = key(uaddr)?;
    let tid = current().pid();
    prefault(uaddr, Access::Write)?;
    let mut b = bucket(k).lock();
    loop {
        let cur = with_user_atomic(uaddr, |w| w.load(Ordering::SeqCst))?;
        if cur & FUTEX_TID_MASK != tid {
            return Err(Errno::EPERM);
        }
        let pi_waiter = |w: &&*const Waiter| {
            // SAFETY: a queued waiter is alive (see `Bucket`).
            let waiter = unsafe { &***w };
            waiter.bitset == 0 && *waiter.key.lock() == k
        };
        let mut waiters = b.0.iter().filter(pi_waiter);
        let next = waiters.next().copied();
        let more = waiters.next().is_some();
        let new = match next {
            // SAFETY: as above.
            Some(w) => unsafe { (*w).task.pid() | if more { FUTEX_WAITERS } else { 0 } },
            None => 0,
        };
        let swapped = with_user_atomic(uaddr, |w| w.compare_exchange(cur, new, Ordering::SeqCst, Ordering::SeqCst))?;
        if swapped.is_err() {
            continue; // a flag changed under us (user space): look again
        }
        if let Some(w) = next {
            b.0.retain(|&x| !core::ptr::eq(x, w));
            // SAFETY: as above; removed under the lock, so alive until the
            // waiter sees `woken` and leaves.
            let waiter = unsafe { &*w };
            waiter.woken.store(true, Ordering::Release);
            crate::sched::core::wake_up_process(waiter.task);
        }
        return Ok(0);
    }
}

/// A decoded FUTEX_WAKE_OP operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WakeOp {
    op: u32,
    oparg: u32,
    cmp: u32,
    cmparg: i32,
}

/// Splits FUTEX_WAKE_OP's `val3`: op (bits 28-30, bit 31 = "1 << oparg"),
/// cmp (24-27), oparg (12-23) and cmparg (0-11), both signed 12-bit.
/// ENOSYS for an unknown operation or comparison, as Linux.
pub fn decode_wake_op(encoded: u32) -> Result<WakeOp, Errno> {
    let sext12 = |v: u32| ((v << 20) as i32) >> 20;
    let op = (encoded >> 28) & 7;
    let cmp = (encoded >> 24) & 15;
    let mut oparg = sext12((encoded >> 12) & 0xfff) as u32;
    if encoded & (8 << 28) != 0 {
        // FUTEX_OP_OPARG_SHIFT: Linux masks an out-of-range shift.
        oparg = 1u32 << (oparg & 31);
    }
    if op > 4 || cmp > 5 {
        return Err(Errno::ENOSYS);
    }
    Ok(WakeOp { op, oparg, cmp, cmparg: sext12(encoded & 0xfff) })
}

impl WakeOp {
    /// The new value of the word (SET, ADD, OR, ANDN, XOR).
    pub fn apply(&self, old: u32) -> u32 {
        match self.op {
            0 => self.oparg,
            1 => old.wrapping_add(self.oparg),
            2 => old | self.oparg,
            3 => old & !self.oparg,
            _ => old ^ self.oparg,
        }
    }

    /// Whether the old value passes the comparison (EQ, NE, LT, LE, GT,
    /// GE, on signed values).
    pub fn compare(&self, old: u32) -> bool {
        let (a, b) = (old as i32, self.cmparg);
        match self.cmp {
            0 => a == b,
            1 => a != b,
            2 => a < b,
            3 => a <= b,
            4 => a > b,
            _ => a >= b,
        }
    }
}
