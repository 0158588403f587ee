//! Kernel locks.
//!
//! [`IrqSpinLock`] is the kernel's basic lock: a spinlock that masks IRQs on the
//! local core while held, so an interrupt handler on the same core can never
//! spin on a lock its own core holds. It must not be taken before the MMU and
//! caches are on (exclusive accesses need them on real hardware); boot code
//! before `kernel_entry` takes no locks.
//!
//! Lock order (outer first): the scheduler's (sched/task.rs: TASKLIST < wait
//! queues < pi_lock < run queues) < console output < mailbox < kernel page
//! tables < a pipe's ring (fs/pipe.rs: its user copies may fault) < an
//! address space's lock (mm/mm_struct.rs; a parent's before its fresh
//! child's in fork; taken by any user copy that faults, arch uaccess.rs) <
//! heap < slab caches < a per-CPU frame list < frame allocator
//! (mm/phys.rs). The trace rings' locks (trace/) and the dentry cache's
//! slots (fs/dcache.rs) are leaves, taken inside any of these. Interrupt handlers take the scheduler's wake-up locks, the
//! console output lock and the UART ring (lock-free).

use crate::arch::cpu::{local_irq_restore, local_irq_save, IrqFlags};
use core::mem::ManuallyDrop;
use core::ops::{Deref, DerefMut};

/// A spinlock that masks IRQs on this core while held.
pub struct IrqSpinLock<T: ?Sized> {
    inner: spin::mutex::SpinMutex<T>,
}

/// Holds an [`IrqSpinLock`]; dropping it unlocks and restores the IRQ mask.
pub struct IrqSpinLockGuard<'a, T: ?Sized> {
    guard: ManuallyDrop<spin::mutex::SpinMutexGuard<'a, T>>,
    flags: IrqFlags,
}

impl<T> IrqSpinLock<T> {
    /// A new unlocked lock around `value`.
    pub const fn new(value: T) -> Self {
        IrqSpinLock { inner: spin::mutex::SpinMutex::new(value) }
    }

    /// The data, read without the lock, for data with one writer that reads
    /// it without the lock while others read it under the lock (a task's own
    /// `files`, which only the task replaces: Linux's `current->files`).
    ///
    /// # Safety
    /// Nothing may change the data while the reference lives: the caller is
    /// its only writer (and writes it under the lock).
    pub unsafe fn get_unlocked(&self) -> &T {
        // SAFETY: the caller's contract: no write while the reference
        // lives, and reads under the lock are only reads.
        unsafe { &*self.inner.as_mut_ptr() }
    }
}

impl<T: ?Sized> IrqSpinLock<T> {
    /// Masks IRQs, then spins until the lock is free.
    #[inline]
    pub fn lock(&self) -> IrqSpinLockGuard<'_, T> {
        let flags = local_irq_save();
        let guard = self.inner.lock();
        IrqSpinLockGuard { guard: ManuallyDrop::new(guard), flags }
    }

    /// Takes the lock if it is free.
    pub fn try_lock(&self) -> Option<IrqSpinLockGuard<'_, T>> {
        let flags = local_irq_save();
        match self.inner.try_lock() {
            Some(guard) => Some(IrqSpinLockGuard { guard: ManuallyDrop::new(guard), flags }),
            None => {
                local_irq_restore(flags);
                None
            }
        }
    }

    /// Whether some core holds the lock (a hint: it may change at once).
    pub fn is_locked(&self) -> bool {
        self.inner.is_locked()
    }

    /// Releases the lock whoever holds it.
    ///
    /// # Safety
    /// Only for the panic path, after every other core has been stopped: the
    /// holder will never run again, so nothing else uses the data.
    pub unsafe fn force_unlock(&self) {
        // SAFETY: forwarded contract.
        unsafe { self.inner.force_unlock() }
    }
}

impl<T: ?Sized> Deref for IrqSpinLockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: ?Sized> DerefMut for IrqSpinLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

impl<T: ?Sized> Drop for IrqSpinLockGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the guard is dropped exactly once, here, before the IRQ mask is
        // restored, so no interrupt on this core can find the lock held by us.
        unsafe { ManuallyDrop::drop(&mut self.guard) };
        local_irq_restore(self.flags);
    }
}

/// A bare spinlock without a guard, for locks that one context takes and
/// another releases: a run queue's lock is taken by the task that calls
/// `schedule()` and released by the task it switches to. The caller masks
/// IRQs around it.
pub struct RawSpinLock {
    locked: core::sync::atomic::AtomicBool,
}

impl Default for RawSpinLock {
    fn default() -> Self {
        Self::new()
    }
}

impl RawSpinLock {
    /// Unlocked.
    pub const fn new() -> Self {
        RawSpinLock { locked: core::sync::atomic::AtomicBool::new(false) }
    }

    /// Spins until the lock is taken.
    pub fn lock(&self) {
        use core::sync::atomic::Ordering;
        while self.locked.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
            while self.locked.load(Ordering::Relaxed) {
                crate::arch::cpu::cpu_relax();
            }
        }
    }

    /// Takes the lock if it is free; whether it did.
    pub fn try_lock(&self) -> bool {
        use core::sync::atomic::Ordering;
        self.locked.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok()
    }

    /// Releases the lock.
    pub fn unlock(&self) {
        self.locked.store(false, core::sync::atomic::Ordering::Release);
    }

    /// Whether it is held (a hint).
    pub fn is_locked(&self) -> bool {
        self.locked.load(core::sync::atomic::Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_excludes_and_releases() {
        let lock = IrqSpinLock::new(5);
        {
            let mut g = lock.lock();
            *g += 1;
            assert!(lock.try_lock().is_none());
            assert!(lock.is_locked());
        }
        assert_eq!(*lock.try_lock().unwrap(), 6);
    }
}
