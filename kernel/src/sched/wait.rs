//! Wait queues and completions (Linux: kernel/sched/wait.c, completion.c).
//!
//! A sleeper links a [`WaitQueueEntry`] on its own stack into the queue and
//! sets its state *before* it tests its condition (`prepare_to_wait`); a waker
//! changes the condition *before* it calls [`WaitQueueHead::wake_up`], which
//! takes the same lock. Either the sleeper sees the new condition, or the
//! waker sees the sleeper on the queue and makes it runnable: no wake-up is
//! lost. `try_to_wake_up` only wakes tasks whose state matches, so a kill
//! (core.rs) wakes TASK_INTERRUPTIBLE sleepers and leaves
//! TASK_UNINTERRUPTIBLE ones asleep.

use super::core::try_to_wake_up;
use super::task::{current, set_current_state, signal_pending, state, TaskRef, TaskStruct};
use crate::errno::Errno;
use crate::sync::IrqSpinLock;
use crate::util::list::ListHead;
use core::cell::UnsafeCell;
use core::sync::atomic::{fence, AtomicU32, AtomicUsize, Ordering};

/// A wait queue (Linux: `wait_queue_head_t`).
pub struct WaitQueueHead {
    lock: IrqSpinLock<()>,
    /// Entries, under `lock`; linked to itself on first use (statics cannot
    /// hold their own address at compile time).
    head: UnsafeCell<ListHead>,
    /// How many entries `head` holds, changed under `lock`, read without it
    /// by [`WaitQueueHead::wake_up`] (Linux: `wq_has_sleeper`).
    waiters: AtomicUsize,
}

// SAFETY: `head` is only touched under `lock`.
unsafe impl Sync for WaitQueueHead {}
// SAFETY: as above.
unsafe impl Send for WaitQueueHead {}

/// One sleeper's place on a wait queue (Linux: `wait_queue_entry`); lives on
/// the sleeper's stack between `prepare_to_wait` and `finish_wait`.
pub struct WaitQueueEntry {
    task: *mut TaskStruct,
    link: ListHead,
}

impl Default for WaitQueueEntry {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitQueueEntry {
    /// An entry for the current task.
    pub fn new() -> Self {
        WaitQueueEntry { task: current().as_ptr(), link: ListHead::new() }
    }
}

impl Default for WaitQueueHead {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitQueueHead {
    /// An empty queue.
    pub const fn new() -> Self {
        WaitQueueHead {
            lock: IrqSpinLock::new(()),
            head: UnsafeCell::new(ListHead::new()),
            waiters: AtomicUsize::new(0),
        }
    }

    /// The list head, initialised on first use. Call with `lock` held.
    fn head(&self) -> *mut ListHead {
        let head = self.head.get();
        // SAFETY: under `lock` (callers' contract); a null `next` means never used.
        unsafe {
            if (*head).next.is_null() {
                ListHead::init(head);
            }
        }
        head
    }

    /// Queues `entry` (if it is not queued) and sets the current task's state
    /// to `new_state` (Linux: `prepare_to_wait`). Test the condition after this.
    pub fn prepare_to_wait(&self, entry: &mut WaitQueueEntry, new_state: u32) {
        let _guard = self.lock.lock();
        let link = &mut entry.link as *mut ListHead;
        // SAFETY: under the lock; the entry outlives its time on the queue
        // (finish_wait removes it before the caller's frame ends).
        unsafe {
            if entry.link.next.is_null() {
                ListHead::init(link);
            }
            if ListHead::is_empty(link) {
                ListHead::add_tail(link, self.head());
                self.waiters.fetch_add(1, Ordering::Relaxed);
            }
        }
        set_current_state(new_state);
    }

    /// Back to running and off the queue (Linux: `finish_wait`).
    pub fn finish_wait(&self, entry: &mut WaitQueueEntry) {
        current().state.store(state::TASK_RUNNING, Ordering::Relaxed);
        if entry.link.next.is_null() {
            return;
        }
        let _guard = self.lock.lock();
        // SAFETY: under the lock; the entry is either queued here or
        // self-linked.
        unsafe {
            if !ListHead::is_empty(&entry.link) {
                ListHead::del(&mut entry.link);
                self.waiters.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    /// Wakes every sleeper on the queue (Linux: `wake_up_all`; this kernel has
    /// no exclusive waits yet). Returns how many were woken.
    ///
    /// An empty queue is seen without the lock (Linux: `wq_has_sleeper`):
    /// the full barrier orders the caller's change of the condition before
    /// the look, as `prepare_to_wait`'s (in `set_current_state`) orders a
    /// sleeper's queueing before its test of the condition; so either the
    /// look sees the sleeper, or the sleeper sees the new condition.
    pub fn wake_up(&self) -> usize {
        fence(Ordering::SeqCst);
        if self.waiters.load(Ordering::Relaxed) == 0 {
            return 0;
        }
        let _guard = self.lock.lock();
        self.wake_locked()
    }

    fn wake_locked(&self) -> usize {
        let mut woken = 0;
        // SAFETY: under the lock; entries are live until finish_wait, which
        // needs this lock to remove them.
        unsafe {
            for link in ListHead::iter(self.head()) {
                let entry = crate::container_of!(link, WaitQueueEntry, link);
                if try_to_wake_up(TaskRef::from_ptr((*entry).task), state::TASK_NORMAL) {
                    woken += 1;
                }
            }
        }
        woken
    }

    /// Sleeps in `sleep_state` until `condition()` holds (Linux: `wait_event`,
    /// `wait_event_interruptible`). An interruptible wait returns `EINTR`
    /// when a kill is pending.
    pub fn wait_event(&self, sleep_state: u32, mut condition: impl FnMut() -> bool) -> Result<(), Errno> {
        let mut entry = WaitQueueEntry::new();
        let result = loop {
            self.prepare_to_wait(&mut entry, sleep_state);
            if condition() {
                break Ok(());
            }
            if sleep_state & state::TASK_INTERRUPTIBLE != 0 && signal_pending() {
                break Err(Errno::EINTR);
            }
            if sleep_state & state::TASK_WAKEKILL != 0 && crate::signal::fatal_signal_pending(current()) {
                break Err(Errno::EINTR);
            }
            super::core::schedule();
            // Woken, most often because the condition holds now: a look
            // before queueing again (still queued: nothing is lost while
            // running; the loop prepares and looks again if not).
            if condition() {
                break Ok(());
            }
        };
        self.finish_wait(&mut entry);
        result
    }
}

/// A one-shot or counting event (Linux: `struct completion`).
pub struct Completion {
    done: AtomicU32,
    wait: WaitQueueHead,
}

impl Default for Completion {
    fn default() -> Self {
        Self::new()
    }
}

impl Completion {
    /// Not yet completed.
    pub const fn new() -> Self {
        Completion { done: AtomicU32::new(0), wait: WaitQueueHead::new() }
    }

    /// Signals one completion and wakes the waiters (Linux: `complete`).
    pub fn complete(&self) {
        let _guard = self.wait.lock.lock();
        self.done.fetch_add(1, Ordering::Release);
        self.wait.wake_locked();
    }

    /// Waits, uninterruptibly, for a completion and consumes it (Linux:
    /// `wait_for_completion`).
    pub fn wait_for_completion(&self) {
        let consumed = || self.done.fetch_update(Ordering::AcqRel, Ordering::Acquire, |d| d.checked_sub(1)).is_ok();
        let _ = self.wait.wait_event(state::TASK_UNINTERRUPTIBLE, consumed);
    }

    /// [`Completion::wait_for_completion`] that a kill cuts short, with
    /// EINTR (Linux: `wait_for_completion_killable`).
    pub fn wait_for_completion_killable(&self) -> Result<(), Errno> {
        let consumed = || self.done.fetch_update(Ordering::AcqRel, Ordering::Acquire, |d| d.checked_sub(1)).is_ok();
        self.wait.wait_event(state::TASK_KILLABLE, consumed)
    }

    /// Whether a completion is available (without consuming it).
    pub fn is_done(&self) -> bool {
        self.done.load(Ordering::Acquire) > 0
    }
}
