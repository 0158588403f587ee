//! A register block at a fixed MMIO address.

use core::ops::Deref;

/// A typed view of a memory-mapped register block. Drivers hold one per
/// block and reach the registers through `Deref`.
pub struct Mmio<T> {
    ptr: *const T,
}

// SAFETY: the registers are only ever accessed through tock-registers' volatile
// cells, and the address is the device's, valid for the kernel's lifetime.
// Whether two cores may touch a block at once is a question of the device's
// protocol, which each driver documents, not of memory safety.
unsafe impl<T> Send for Mmio<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for Mmio<T> {}

impl<T> Mmio<T> {
    /// # Safety
    /// `base` must be the mapped virtual address of a `T` register block, mapped
    /// as device memory for as long as the value is used.
    pub const unsafe fn new(base: usize) -> Self {
        Mmio { ptr: base as *const T }
    }
}

impl<T> Deref for Mmio<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: `new`'s contract: ptr points to a mapped register block.
        unsafe { &*self.ptr }
    }
}
