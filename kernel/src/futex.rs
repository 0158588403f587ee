//! Fast user-space mutexes, the part threads need (Linux: kernel/futex/):
//! FUTEX_WAIT sleeps while a user word holds an expected value, FUTEX_WAKE
//! wakes up to N sleepers on a word, and a thread's exit clears and wakes
//! its CLONE_CHILD_CLEARTID word (thread join).
//!
//! Waiters are keyed by their address space and the word's address (private
//! futexes: this kernel has no memory shared between address spaces) and
//! kept on one of 64 hash buckets. A waiter reads the word and queues itself
//! under the bucket's lock, and a waker takes the same lock, so a wake-up
//! between the read and the sleep is never lost (Linux: `futex_wait_setup`,
//! `futex_wake`).

use crate::errno::Errno;
use crate::mm::uaccess;
use crate::sched::task::{current, state, TaskRef};
use crate::sync::IrqSpinLock;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

pub const FUTEX_WAIT: u32 = 0;
pub const FUTEX_WAKE: u32 = 1;
pub const FUTEX_WAIT_BITSET: u32 = 9;
pub const FUTEX_WAKE_BITSET: u32 = 10;
pub const FUTEX_PRIVATE_FLAG: u32 = 128;
pub const FUTEX_CLOCK_REALTIME: u32 = 256;

/// A sleeper, on its own stack while it waits.
struct Waiter {
    key: (usize, u64),
    task: TaskRef,
    woken: AtomicBool,
}

/// Pointers to waiters; each is removed from its bucket before its frame
/// ends (by a waker, or by the waiter itself).
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
fn key(uaddr: u64) -> Result<(usize, u64), Errno> {
    if !uaddr.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    if uaddr > crate::mm::mm_struct::TASK_SIZE - 4 {
        return Err(Errno::EFAULT);
    }
    let mm = uaccess::current_mm()?;
    Ok((alloc::sync::Arc::as_ptr(&mm) as usize, uaddr))
}

fn bucket(key: (usize, u64)) -> &'static IrqSpinLock<Bucket> {
    let h = (key.1 ^ (key.0 as u64).rotate_left(17)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    &QUEUES[(h >> 58) as usize % BUCKETS]
}

/// FUTEX_WAIT: sleeps while `*uaddr == val`, up to `timeout_ns` (None:
/// forever). EAGAIN if the value differs, ETIMEDOUT, or ERESTARTSYS on a
/// signal.
pub fn futex_wait(uaddr: u64, val: u32, timeout_ns: Option<u64>) -> Result<u64, Errno> {
    let key = key(uaddr)?;
    let deadline = timeout_ns.map(|t| crate::time::uptime_ns().saturating_add(t));
    let waiter = Waiter { key, task: current(), woken: AtomicBool::new(false) };
    let queue = bucket(key);
    // Fault the word in (and check it) before the bucket's spinlock is held.
    uaccess::get_user_u32(uaddr)?;
    {
        let mut b = queue.lock();
        if uaccess::get_user_u32(uaddr)? != val {
            return Err(Errno::EAGAIN);
        }
        b.0.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        b.0.push(&waiter);
        crate::sched::task::set_current_state(state::TASK_INTERRUPTIBLE);
    }
    let result = loop {
        if waiter.woken.load(Ordering::Acquire) {
            break Ok(0);
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
    // Off the queue before the waiter goes out of scope; a waker that got
    // there first has removed it already.
    queue.lock().0.retain(|&w| !core::ptr::eq(w, &waiter));
    if waiter.woken.load(Ordering::Acquire) {
        return Ok(0); // woken, whatever else happened meanwhile
    }
    result
}

/// FUTEX_WAKE: wakes up to `nr` sleepers on `uaddr` (at least one, as
/// Linux's loop does for 0); returns how many.
pub fn futex_wake(uaddr: u64, nr: u32) -> Result<u64, Errno> {
    let nr = nr.max(1);
    let key = key(uaddr)?;
    let mut b = bucket(key).lock();
    let mut woken = 0u64;
    b.0.retain(|&w| {
        // SAFETY: a queued waiter is alive (see `Bucket`).
        let waiter = unsafe { &*w };
        if woken >= nr as u64 || waiter.key != key {
            return true;
        }
        waiter.woken.store(true, Ordering::Release);
        crate::sched::core::wake_up_process(waiter.task);
        woken += 1;
        false
    });
    Ok(woken)
}
