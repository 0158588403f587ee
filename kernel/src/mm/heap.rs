//! The kernel heap (`alloc`): a buddy allocator (buddy_system_allocator's
//! `Heap`) under the kernel's IRQ-safe lock, fed with frames from the frame
//! allocator and grown from it when an allocation does not fit.

use super::frame::PAGE_SIZE;
use super::{phys, phys_to_virt};
use crate::sync::IrqSpinLock;
use buddy_system_allocator::Heap;
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{null_mut, NonNull};

/// Smallest growth step.
const GROW_BYTES: usize = 1 << 20;

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

// SAFETY: all heap state is behind the lock; memory handed out comes from
// frames the heap owns exclusively.
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let mut heap = self.heap.lock();
        if let Ok(p) = heap.alloc(layout) {
            return p.as_ptr();
        }
        let want = (layout.size() + layout.align()).max(GROW_BYTES);
        if Self::grow(&mut heap, want) {
            if let Ok(p) = heap.alloc(layout) {
                return p.as_ptr();
            }
        }
        null_mut()
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(p) = NonNull::new(ptr) {
            // SAFETY: the caller passes a pointer this allocator returned for `layout`.
            unsafe { self.heap.lock().dealloc(p, layout) };
        }
    }
}

/// Gives the heap its initial memory.
pub fn init(bytes: usize) -> bool {
    KernelHeap::grow(&mut HEAP.heap.lock(), bytes)
}

/// (bytes managed, bytes allocated) for `meminfo`.
pub fn stats() -> (usize, usize) {
    let heap = HEAP.heap.lock();
    (heap.stats_total_bytes(), heap.stats_alloc_actual())
}
