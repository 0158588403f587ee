//! Data-cache maintenance by virtual address, for memory that an observer
//! outside the coherent caches reads or writes: the VideoCore (mailbox buffers)
//! and cores that still run with their MMU off (the spin table, boot parameters).

/// Size of a data-cache line on the Cortex-A72.
pub const CACHE_LINE: usize = 64;

/// Runs the data-cache operation `$op` on every line of `[va, va + len)`,
/// then waits for completion.
#[cfg(target_os = "none")]
macro_rules! for_each_line {
    ($op:literal, $va:expr, $len:expr) => {{
        let (va, len): (usize, usize) = ($va, $len);
        let mut line = va & !(CACHE_LINE - 1);
        while line < va + len {
            // SAFETY: cache maintenance by VA on mapped memory changes no memory
            // contents beyond what the caller's function documents.
            unsafe { core::arch::asm!(concat!("dc ", $op, ", {}"), in(reg) line, options(nostack, preserves_flags)) };
            line += CACHE_LINE;
        }
        // SAFETY: a barrier has no memory-safety effect.
        unsafe { core::arch::asm!("dsb sy", options(nostack, preserves_flags)) };
    }};
}

/// Cleans and invalidates `[va, va + len)` to the point of coherency, so memory
/// holds what the caches held and the next read comes from memory.
#[cfg(target_os = "none")]
pub fn clean_invalidate_range(va: usize, len: usize) {
    for_each_line!("civac", va, len);
}

/// Invalidates `[va, va + len)`: the next read comes from memory. Whatever
/// the caches held for the range is discarded, so the range must not share a
/// cache line with data the CPU has written and not cleaned.
#[cfg(target_os = "none")]
pub fn invalidate_range(va: usize, len: usize) {
    for_each_line!("ivac", va, len);
}

/// Makes instructions written as data to `[va, va + len)` visible to
/// instruction fetch on every core: clean to the point of unification, then
/// invalidate the instruction caches (Linux: `flush_icache_range`).
#[cfg(target_os = "none")]
pub fn sync_icache_range(va: usize, len: usize) {
    for_each_line!("cvau", va, len);
    // SAFETY: instruction-cache invalidation and barriers change no memory.
    unsafe { core::arch::asm!("ic ialluis", "dsb ish", "isb", options(nostack, preserves_flags)) };
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
