//! Signals read from a file descriptor (Linux: fs/signalfd.c): `signalfd4`
//! makes a descriptor whose reads take the reader's pending signals of a
//! mask, each as a 128-byte `struct signalfd_siginfo`, and which polls
//! readable while one of them is pending.
//!
//! As in Linux, the descriptor has no task of its own: a read or poll
//! looks at the signals of whoever reads or polls. Readers and pollers
//! sleep on one queue that every signal sent wakes (Linux: the
//! `signalfd_wqh` of the receiver's `sighand`, woken by `signalfd_notify`).

use super::file::{poll, FileOps, Stat};
use crate::errno::Errno;
use crate::sched::task::{current, state, TaskRef};
use crate::sched::wait::{WaitQueueEntry, WaitQueueHead};
use crate::signal::{dequeue_signal_masked, SigInfo};
use alloc::string::String;
use core::sync::atomic::{AtomicU64, Ordering};

/// Size of a `struct signalfd_siginfo`.
pub const SIGINFO_SIZE: usize = 128;

/// Woken whenever a signal is sent.
static SIGNALFD_WAIT: WaitQueueHead = WaitQueueHead::new();

/// A signal was queued: readers and pollers of signalfds look again
/// (Linux: `signalfd_notify`).
pub fn signalfd_notify() {
    SIGNALFD_WAIT.wake_up();
}

/// A signalfd (Linux: `struct signalfd_ctx`): the signals it reports.
pub struct SignalFd {
    pub mask: AtomicU64,
}

/// The pending signals of `t` (its own and its process's).
fn pending(t: TaskRef) -> u64 {
    let shared = t.signal_struct().map_or(0, |s| s.shared_pending.signal.load(Ordering::Relaxed));
    t.pending.signal.load(Ordering::Relaxed) | shared
}

/// `info` as a `struct signalfd_siginfo` (Linux: `signalfd_copyinfo`).
fn signalfd_siginfo(info: &SigInfo, out: &mut [u8]) {
    out[..SIGINFO_SIZE].fill(0);
    let mut put32 = |o: usize, v: u32| out[o..o + 4].copy_from_slice(&v.to_le_bytes());
    put32(0, info.signo as u32);
    put32(8, info.code as u32);
    if info.code == crate::posix_timers::SI_TIMER {
        put32(24, info.pid as u32); // the timer ID
        put32(32, info.uid); // the overrun count
    } else {
        put32(12, info.pid as u32);
        put32(16, info.uid);
    }
    put32(40, info.status as u32);
    put32(44, info.value as u32);
    out[48..56].copy_from_slice(&info.value.to_le_bytes());
    out[72..80].copy_from_slice(&info.addr.to_le_bytes());
}

impl SignalFd {
    /// Takes pending signals of the mask into `buf`, as many as fit;
    /// returns the bytes filled (0: none pending).
    fn dequeue(&self, buf: &mut [u8]) -> usize {
        let me = current();
        let mut done = 0;
        while buf.len() - done >= SIGINFO_SIZE {
            let Some(info) = dequeue_signal_masked(me, self.mask.load(Ordering::Relaxed)) else { break };
            signalfd_siginfo(&info, &mut buf[done..]);
            done += SIGINFO_SIZE;
        }
        done
    }
}

impl FileOps for SignalFd {
    /// Reads pending signals of the mask (Linux: `signalfd_read`): EINVAL
    /// for room for less than one; without one pending, EAGAIN if
    /// nonblocking, else sleeps until one comes (ERESTARTSYS on another
    /// signal).
    fn read(&self, buf: &mut [u8], _pos: u64, nonblock: bool) -> Result<usize, Errno> {
        if buf.len() < SIGINFO_SIZE {
            return Err(Errno::EINVAL);
        }
        let n = self.dequeue(buf);
        if n > 0 {
            return Ok(n);
        }
        if nonblock {
            return Err(Errno::EAGAIN);
        }
        let _wchan = crate::wchan!("signalfd_dequeue");
        let mut entry = WaitQueueEntry::new();
        let result = loop {
            SIGNALFD_WAIT.prepare_to_wait(&mut entry, state::TASK_INTERRUPTIBLE);
            let n = self.dequeue(buf);
            if n > 0 {
                break Ok(n);
            }
            if crate::sched::task::signal_pending() {
                break Err(Errno::ERESTARTSYS);
            }
            crate::sched::core::schedule();
        };
        SIGNALFD_WAIT.finish_wait(&mut entry);
        result
    }

    fn stat(&self) -> Stat {
        Stat { dev: super::inode::anon_dev(), mode: 0o600, nlink: 1, ..Stat::default() }
    }

    fn poll(&self) -> u16 {
        if pending(current()) & self.mask.load(Ordering::Relaxed) != 0 {
            poll::POLLIN | poll::POLLRDNORM
        } else {
            0
        }
    }

    fn poll_wait(&self, register: &mut dyn FnMut(&WaitQueueHead)) {
        register(&SIGNALFD_WAIT);
    }

    fn path(&self) -> Option<String> {
        Some(String::from("anon_inode:[signalfd]"))
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }
}
