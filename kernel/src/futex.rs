//! Fast user-space mutexes, the minimum threads need (Linux:
//! kernel/futex/): FUTEX_WAIT sleeps while a user word holds an expected
//! value, FUTEX_WAKE wakes sleepers on a word, and a thread's exit clears
//! and wakes its CLONE_CHILD_CLEARTID word (thread join).
//!
//! Waiters hang on one of 64 wait queues chosen by hashing the address
//! space and the address. A waiter queues itself before it reads the word,
//! so a wake-up after the read is never lost. A wake-up wakes the whole
//! queue: waiters of other words sharing it see a spurious wake-up, which
//! FUTEX_WAIT allows; the count returned is of the tasks woken.

use crate::errno::Errno;
use crate::mm::uaccess;
use crate::sched::task::{current, state};
use crate::sched::wait::{WaitQueueEntry, WaitQueueHead};

pub const FUTEX_WAIT: u32 = 0;
pub const FUTEX_WAKE: u32 = 1;
pub const FUTEX_WAIT_BITSET: u32 = 9;
pub const FUTEX_WAKE_BITSET: u32 = 10;
pub const FUTEX_PRIVATE_FLAG: u32 = 128;
pub const FUTEX_CLOCK_REALTIME: u32 = 256;

const BUCKETS: usize = 64;
static QUEUES: [WaitQueueHead; BUCKETS] = [const { WaitQueueHead::new() }; BUCKETS];

fn bucket(uaddr: u64) -> &'static WaitQueueHead {
    let mm = current().ttbr0.load(core::sync::atomic::Ordering::Relaxed);
    let h = (uaddr ^ mm.rotate_left(17)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    &QUEUES[(h >> 58) as usize % BUCKETS]
}

/// FUTEX_WAIT: sleeps while `*uaddr == val`, up to `timeout_ns` (None:
/// forever). EAGAIN if the value differs, ETIMEDOUT, or ERESTARTSYS on a
/// signal.
pub fn futex_wait(uaddr: u64, val: u32, timeout_ns: Option<u64>) -> Result<u64, Errno> {
    if !uaddr.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    let q = bucket(uaddr);
    let deadline = timeout_ns.map(|t| crate::time::uptime_ns().saturating_add(t));
    let mut entry = WaitQueueEntry::new();
    q.prepare_to_wait(&mut entry, state::TASK_INTERRUPTIBLE);
    let result = match uaccess::get_user_u32(uaddr) {
        Err(e) => Err(e),
        Ok(v) if v != val => Err(Errno::EAGAIN),
        Ok(_) if crate::sched::task::signal_pending() => Err(Errno::ERESTARTSYS),
        Ok(_) => {
            match deadline {
                Some(d) => {
                    let now = crate::time::uptime_ns();
                    if now >= d {
                        crate::sched::task::__set_current_state(state::TASK_RUNNING);
                    } else {
                        crate::sched::core::schedule_timeout(d - now, state::TASK_INTERRUPTIBLE);
                    }
                }
                None => crate::sched::core::schedule(),
            }
            if crate::sched::task::signal_pending() {
                Err(Errno::ERESTARTSYS)
            } else if deadline.is_some_and(|d| crate::time::uptime_ns() >= d) {
                Err(Errno::ETIMEDOUT)
            } else {
                Ok(0)
            }
        }
    };
    q.finish_wait(&mut entry);
    result
}

/// FUTEX_WAKE: wakes sleepers on `uaddr`; returns how many tasks woke
/// (at most `nr`, as reported).
pub fn futex_wake(uaddr: u64, nr: u32) -> Result<u64, Errno> {
    if !uaddr.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    let woken = bucket(uaddr).wake_up();
    Ok(woken.min(nr as usize) as u64)
}
