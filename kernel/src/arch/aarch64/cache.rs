//! Data-cache maintenance by virtual address, for memory that an observer
//! outside the coherent caches reads or writes: the VideoCore (mailbox buffers)
//! and cores that still run with their MMU off (the spin table, boot parameters).

/// Size of a data-cache line on the Cortex-A72.
pub const CACHE_LINE: usize = 64;

/// Cleans and invalidates `[va, va + len)` to the point of coherency, so memory
/// holds what the caches held and the next read comes from memory.
#[cfg(target_os = "none")]
pub fn clean_invalidate_range(va: usize, len: usize) {
    let mut line = va & !(CACHE_LINE - 1);
    while line < va + len {
        // SAFETY: DC CIVAC on a mapped address only writes back/discards cache lines.
        unsafe { core::arch::asm!("dc civac, {}", in(reg) line, options(nostack, preserves_flags)) };
        line += CACHE_LINE;
    }
    // SAFETY: a barrier has no memory-safety effect.
    unsafe { core::arch::asm!("dsb sy", options(nostack, preserves_flags)) };
}

/// Invalidates `[va, va + len)`: the next read comes from memory. Whatever
/// the caches held for the range is discarded, so the range must not share a
/// cache line with data the CPU has written and not cleaned.
#[cfg(target_os = "none")]
pub fn invalidate_range(va: usize, len: usize) {
    let mut line = va & !(CACHE_LINE - 1);
    while line < va + len {
        // SAFETY: DC IVAC discards cache lines of a buffer the caller owns whole
        // lines of (see above); no memory outside it changes.
        unsafe { core::arch::asm!("dc ivac, {}", in(reg) line, options(nostack, preserves_flags)) };
        line += CACHE_LINE;
    }
    // SAFETY: a barrier has no memory-safety effect.
    unsafe { core::arch::asm!("dsb sy", options(nostack, preserves_flags)) };
}

/// The mailbox's view of cache maintenance (see `bsp::mailbox`).
pub struct PointOfCoherency;

#[cfg(target_os = "none")]
impl bsp::mailbox::DmaCoherence for PointOfCoherency {
    fn before_device(&self, va: usize, len: usize) {
        clean_invalidate_range(va, len);
    }
    fn after_device(&self, va: usize, len: usize) {
        invalidate_range(va, len);
    }
}
