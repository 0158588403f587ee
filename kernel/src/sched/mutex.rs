//! The sleeping lock (Linux: kernel/locking/mutex.c, `struct mutex`).
//!
//! A spin lock (sync.rs) masks interrupts and must never be held across a
//! sleep; a [`Mutex`] is for the opposite case: a holder that may sleep,
//! such as a reader whose data comes from the SD card and who waits for the
//! controller's interrupt with the file position locked. A task that finds
//! it taken sleeps in TASK_UNINTERRUPTIBLE until the holder lets go.
//!
//! The fast path is one compare-and-swap each way; the unlocker takes the
//! wait queue's lock only when someone is waiting. The protocol that loses
//! no wake-up: a waiter counts itself in `waiters` *before* it tries the
//! lock under `prepare_to_wait`; the unlocker clears `locked` *before* it
//! reads `waiters` (both sequentially consistent). Either the waiter's try
//! sees the lock free, or the unlocker sees the waiter and wakes it.
//!
//! Departures from Linux: no optimistic spinning on a running owner, no
//! hand-off to the first waiter (all waiters wake and race), and a caller
//! that cannot sleep (interrupts masked, or an idle task) spins for the lock instead
//! (Linux forbids the call there and warns "sleeping function called from
//! invalid context").

use super::task::state;
use super::wait::WaitQueueHead;
use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// A lock whose holder may sleep.
pub struct Mutex<T: ?Sized> {
    locked: AtomicBool,
    /// Tasks between their first failed try and their acquisition.
    waiters: AtomicU32,
    wait: WaitQueueHead,
    data: UnsafeCell<T>,
}

// SAFETY: `data` is reached only through a guard, and one guard exists at a
// time (`locked`), so sharing the mutex shares `T` with one user at a time.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}
// SAFETY: moving the mutex moves `T`.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}

/// Holds the lock; lets it go when dropped.
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
}

impl<T> Mutex<T> {
    /// An unlocked mutex holding `data`.
    pub const fn new(data: T) -> Self {
        Mutex {
            locked: AtomicBool::new(false),
            waiters: AtomicU32::new(0),
            wait: WaitQueueHead::new(),
            data: UnsafeCell::new(data),
        }
    }
}

impl<T: ?Sized> Mutex<T> {
    fn try_acquire(&self) -> bool {
        self.locked.compare_exchange(false, true, Ordering::SeqCst, Ordering::Relaxed).is_ok()
    }

    /// Takes the lock, sleeping while another task holds it (Linux:
    /// `mutex_lock`).
    pub fn lock(&self) -> MutexGuard<'_, T> {
        if !self.try_acquire() {
            self.lock_slowpath();
        }
        MutexGuard { mutex: self }
    }

    /// Takes the lock if it is free (Linux: `mutex_trylock`).
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.try_acquire().then_some(MutexGuard { mutex: self })
    }

    #[cold]
    fn lock_slowpath(&self) {
        if !super::task::can_sleep() {
            while !self.try_acquire() {
                crate::arch::cpu::cpu_relax();
            }
            return;
        }
        self.waiters.fetch_add(1, Ordering::SeqCst);
        // An uninterruptible wait ends only when the condition holds.
        let _ = self.wait.wait_event(state::TASK_UNINTERRUPTIBLE, || self.try_acquire());
        self.waiters.fetch_sub(1, Ordering::SeqCst);
    }

    fn unlock(&self) {
        self.locked.store(false, Ordering::SeqCst);
        if self.waiters.load(Ordering::SeqCst) != 0 {
            self.wait.wake_up();
        }
    }

    /// Whether some task holds it (for assertions).
    pub fn is_locked(&self) -> bool {
        self.locked.load(Ordering::Relaxed)
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard is the lock's one holder.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard is the lock's one holder.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.mutex.unlock();
    }
}
