//! The kernel heap (`alloc`), which grows and shrinks with the frame
//! allocator:
//!
//! - small blocks (up to 4 KiB) come from power-of-two slab caches with
//!   per-CPU magazines (Linux: the `kmalloc-32` ... `kmalloc-4k` caches),
//!   whose empty slabs go back to the frame allocator when memory runs
//!   short (`shrink`, called by the OOM path). The slab path keeps fork and
//!   exit, which allocate a handful of small structures each, off any
//!   free-list search;
//! - larger blocks are whole frames, taken from the frame allocator and
//!   given back when freed (Linux: `kmalloc_large`, straight from the page
//!   allocator);
//! - what is left, small blocks aligned beyond 16 bytes and small blocks
//!   whose slab could not get contiguous pages, comes from a buddy allocator
//!   (buddy_system_allocator's `Heap`) under the kernel's IRQ-safe lock, fed
//!   from the frame allocator a few pages at a time; it never gives its
//!   frames back, which is why nothing large goes there.

use super::frame::PAGE_SIZE;
use super::slab::KmemCache;
use super::{phys, phys_to_virt};
use crate::sync::IrqSpinLock;
use buddy_system_allocator::Heap;
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{null_mut, NonNull};
use core::sync::atomic::{AtomicUsize, Ordering};

/// Smallest growth step of the buddy heap.
const GROW_BYTES: usize = 16 * PAGE_SIZE;

/// Blocks larger than this are whole frames ([`alloc_large`]).
const KMALLOC_MAX: usize = 4096;

/// Frames held by large blocks, for `stats`.
static LARGE_PAGES: AtomicUsize = AtomicUsize::new(0);

/// Largest request the OOM killer is woken for (Linux:
/// PAGE_ALLOC_COSTLY_ORDER, 8 pages): a larger one fails at once, so that a
/// system call asking for a huge buffer (`read` of a gigabyte) gets ENOMEM
/// instead of costing other processes their lives.
const COSTLY_BYTES: usize = 8 * PAGE_SIZE;

/// The global allocator.
pub struct KernelHeap {
    heap: IrqSpinLock<Heap<32>>,
}

#[global_allocator]
static HEAP: KernelHeap = KernelHeap { heap: IrqSpinLock::new(Heap::new()) };

impl KernelHeap {
    /// Adds `bytes` (rounded up to pages) of contiguous frames to `heap`.
    fn grow(heap: &mut Heap<32>, bytes: usize) -> bool {
        let frames = bytes.div_ceil(PAGE_SIZE);
        let Some(pa) = phys::alloc_frames(frames, 1) else { return false };
        let va = phys_to_virt(pa);
        // SAFETY: fresh frames, mapped by the linear map, owned by the heap from now on.
        unsafe { heap.add_to_heap(va, va + frames * PAGE_SIZE) };
        true
    }
}

/// The kmalloc caches: 32 bytes to 4 KiB, doubling.
pub static KMALLOC: [KmemCache; 8] = [
    KmemCache::new("kmalloc-32", 32, KMALLOC_ALIGN, &phys::FRAME_PAGES),
    KmemCache::new("kmalloc-64", 64, KMALLOC_ALIGN, &phys::FRAME_PAGES),
    KmemCache::new("kmalloc-128", 128, KMALLOC_ALIGN, &phys::FRAME_PAGES),
    KmemCache::new("kmalloc-256", 256, KMALLOC_ALIGN, &phys::FRAME_PAGES),
    KmemCache::new("kmalloc-512", 512, KMALLOC_ALIGN, &phys::FRAME_PAGES),
    KmemCache::new("kmalloc-1k", 1024, KMALLOC_ALIGN, &phys::FRAME_PAGES),
    KmemCache::new("kmalloc-2k", 2048, KMALLOC_ALIGN, &phys::FRAME_PAGES),
    KmemCache::new("kmalloc-4k", 4096, KMALLOC_ALIGN, &phys::FRAME_PAGES),
];

/// Alignment the kmalloc caches guarantee; stricter requests use the buddy
/// allocator.
const KMALLOC_ALIGN: usize = 16;

/// The kmalloc cache for `layout`, if it is small enough.
fn kmalloc_cache(layout: Layout) -> Option<&'static KmemCache> {
    if layout.align() > KMALLOC_ALIGN || layout.size() > KMALLOC_MAX {
        return None;
    }
    let class = layout.size().max(32).next_power_of_two();
    KMALLOC.get(class.trailing_zeros() as usize - 5)
}

/// Empties this CPU's kmalloc magazines (with the other caches'; fork.rs).
pub fn drain_local() {
    for c in &KMALLOC {
        c.drain_local();
    }
}

/// Returns the kmalloc caches' empty slabs to the frame allocator.
pub fn shrink() {
    for c in &KMALLOC {
        c.shrink();
    }
}

/// Pages the kmalloc caches hold.
pub fn slab_pages() -> usize {
    KMALLOC.iter().map(|c| c.stats()).map(|s| s.num_slabs * s.pages_per_slab).sum()
}

/// Frames for a large block of `layout` (Linux: `kmalloc_large`),
/// aligned as it asks (frames are page-aligned; a stricter alignment is a
/// power of two, so a whole number of frames).
fn alloc_large(layout: Layout) -> Option<NonNull<u8>> {
    let frames = layout.size().div_ceil(PAGE_SIZE);
    let align = (layout.align() / PAGE_SIZE).max(1);
    let pa = phys::alloc_frames(frames, align)?;
    LARGE_PAGES.fetch_add(frames, Ordering::Relaxed);
    NonNull::new(phys_to_virt(pa) as *mut u8)
}

/// Gives a large block's frames back.
fn free_large(ptr: NonNull<u8>, layout: Layout) {
    let frames = layout.size().div_ceil(PAGE_SIZE);
    let pa = super::virt_to_phys(ptr.as_ptr() as usize);
    for i in 0..frames {
        let _ = phys::free_frame(pa + (i * PAGE_SIZE) as u64);
    }
    LARGE_PAGES.fetch_sub(frames, Ordering::Relaxed);
}

impl KernelHeap {
    /// One attempt at `layout`, without the OOM killer.
    fn try_alloc(&self, layout: Layout) -> Option<NonNull<u8>> {
        if layout.size() > KMALLOC_MAX {
            return alloc_large(layout);
        }
        if let Some(cache) = kmalloc_cache(layout) {
            if let Some(p) = cache.alloc() {
                return Some(p);
            }
            // A new slab needs contiguous pages, which fragmented memory
            // may not have: the buddy heap takes the block instead, from
            // as few frames as it needs (Linux's SLUB falls back to its
            // smallest slab order the same way). `dealloc` tells the two
            // apart by the slab header.
        }
        let mut heap = self.heap.lock();
        if let Ok(p) = heap.alloc(layout) {
            return Some(p);
        }
        let want = (layout.size() + layout.align()).max(GROW_BYTES);
        if Self::grow(&mut heap, want) {
            if let Ok(p) = heap.alloc(layout) {
                return Some(p);
            }
        }
        // A large block may fit in fewer frames than the growth step.
        let exact = layout.size() + layout.align();
        if exact < want && Self::grow(&mut heap, exact) {
            return heap.alloc(layout).ok();
        }
        None
    }

    /// One attempt at `layout`, then, for a small block, attempts after
    /// each OOM kill.
    #[inline(never)]
    fn alloc_or_oom(&self, layout: Layout) -> Option<NonNull<u8>> {
        if layout.size() > COSTLY_BYTES {
            return self.try_alloc(layout);
        }
        super::oom_kill::retry_on_oom(|| self.try_alloc(layout))
    }
}

// SAFETY: all heap state is behind the lock; memory handed out comes from
// frames the heap owns exclusively.
unsafe impl GlobalAlloc for KernelHeap {
    /// Tries the caches and the buddy heap; when memory is short, the
    /// caller may sleep and the block is small ([`COSTLY_BYTES`]), the OOM
    /// killer makes room and the allocation is tried again (Linux's slow
    /// path for small allocations, which do not fail), so an infallible
    /// allocation on a system-call path ends in an OOM kill, not an abort. A caller that may not sleep (IRQs masked)
    /// takes the reserve instead (mm/phys.rs) and gets null only when that
    /// is gone.
    ///
    /// A kmalloc-sized block comes from its cache's magazine right here (the
    /// cache's fast path is inlined); the rest is out of line. A cache that
    /// fails here found no slab to refill from; `alloc_or_oom` asks it once
    /// more before the buddy heap and the OOM killer.
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if let Some(p) = kmalloc_cache(layout).and_then(KmemCache::alloc) {
            return p.as_ptr();
        }
        self.alloc_or_oom(layout).map_or(null_mut(), |p| p.as_ptr())
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.size() > KMALLOC_MAX {
            if let Some(p) = NonNull::new(ptr) {
                free_large(p, layout);
            }
            return;
        }
        if let (Some(cache), Some(p)) = (kmalloc_cache(layout), NonNull::new(ptr)) {
            // SAFETY: the caller passes a pointer alloc returned for `layout`:
            // an object of this cache, or a buddy block (the fallback in
            // `try_alloc`) in the linear map, where the would-be slab header
            // is readable RAM; a live slab's header never lies in a buddy
            // block and a released slab's magic is cleared, so the check
            // tells them apart.
            match unsafe { cache.free(p) } {
                Ok(()) => return,
                Err(super::slab::SlabError::ForeignObject) => {}
                // Cannot happen but for a kernel bug: GlobalAlloc's
                // contract rules out other pointers.
                Err(e) => bad_kfree(ptr, e),
            }
        }
        if let Some(p) = NonNull::new(ptr) {
            // SAFETY: the caller passes a pointer this allocator returned for `layout`.
            unsafe { self.heap.lock().dealloc(p, layout) };
        }
    }
}

/// A kmalloc cache refused a free for a reason GlobalAlloc's contract rules
/// out: a kernel bug. Out of line: the panic's formatting stays out of
/// `dealloc`'s frame.
#[cold]
#[inline(never)]
fn bad_kfree(ptr: *mut u8, e: super::slab::SlabError) -> ! {
    panic!("kmalloc: freeing {ptr:p}: {e}")
}

/// Gives the heap its initial memory.
pub fn init(bytes: usize) -> bool {
    KernelHeap::grow(&mut HEAP.heap.lock(), bytes)
}

/// (bytes managed, bytes allocated) for `meminfo`: the buddy heap's and
/// the large blocks' (the slab caches count their own pages).
pub fn stats() -> (usize, usize) {
    let large = LARGE_PAGES.load(Ordering::Relaxed) * PAGE_SIZE;
    let heap = HEAP.heap.lock();
    (heap.stats_total_bytes() + large, heap.stats_alloc_actual() + large)
}
