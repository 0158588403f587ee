//! The kernel's physical-frame allocator instance and its set-up from the
//! memory map the firmware reports.

use super::frame::{FrameAllocator, FrameError, PAGE_SIZE};
use crate::sync::IrqSpinLock;
use spin::Once;

/// Highest physical address the allocator can manage: 8 GiB, the largest Pi 4.
pub const MAX_PHYS: u64 = 8 << 30;
const MAX_FRAMES: usize = (MAX_PHYS as usize) / PAGE_SIZE;

/// One bit per frame up to [`MAX_PHYS`] (256 KiB, in .bss).
static mut BITMAP: [u64; MAX_FRAMES / 64] = [0; MAX_FRAMES / 64];

static FRAMES: IrqSpinLock<Option<FrameAllocator<'static>>> = IrqSpinLock::new(None);
static INIT: Once<()> = Once::new();

/// A physical address range `[start, end)`.
pub type Range = (u64, u64);

/// Sets up the allocator: `ram` is free, then `reserved` is taken back out.
/// Runs once; later calls do nothing.
pub fn init(ram: &[Range], reserved: &[Range]) {
    INIT.call_once(|| {
        // SAFETY: `call_once` runs this exactly once, so this is the only
        // reference ever made to BITMAP.
        let bitmap = unsafe { core::slice::from_raw_parts_mut((&raw mut BITMAP).cast::<u64>(), MAX_FRAMES / 64) };
        let mut frames = FrameAllocator::new(bitmap, MAX_FRAMES);
        for &(start, end) in ram {
            if end > MAX_PHYS {
                log::warn!("RAM above {MAX_PHYS:#x} ignored");
            }
            frames.add_free_range(start, end.min(MAX_PHYS));
        }
        for &(start, end) in reserved {
            frames.reserve_range(start, end);
        }
        *FRAMES.lock() = Some(frames);
    });
}

fn with<R>(f: impl FnOnce(&mut FrameAllocator<'static>) -> R) -> R {
    f(FRAMES.lock().as_mut().expect("frame allocator used before mm::phys::init"))
}

/// One free frame's physical address.
pub fn alloc_frame() -> Option<u64> {
    with(|f| f.alloc())
}

/// `count` contiguous frames aligned to `align` frames.
pub fn alloc_frames(count: usize, align: usize) -> Option<u64> {
    with(|f| f.alloc_contiguous(count, align))
}

/// Returns a frame.
pub fn free_frame(pa: u64) -> Result<(), FrameError> {
    with(|f| f.free(pa))
}

/// Slab pages from the frame allocator, through the linear map.
pub struct FramePages;

impl super::slab::PageSource for FramePages {
    fn alloc_pages(&self, pages: usize) -> Option<usize> {
        alloc_frames(pages, pages).map(super::phys_to_virt)
    }
    fn free_pages(&self, va: usize, pages: usize) {
        for i in 0..pages {
            let _ = free_frame(super::virt_to_phys(va + i * PAGE_SIZE));
        }
    }
}

/// The page source of the kernel's slab caches.
pub static FRAME_PAGES: FramePages = FramePages;

/// Page counts for `meminfo`.
#[derive(Clone, Copy, Debug)]
pub struct Stats {
    pub total: usize,
    pub free: usize,
    pub used: usize,
}

/// Current page counts.
pub fn stats() -> Stats {
    with(|f| Stats { total: f.total_frames(), free: f.free_frames(), used: f.used_frames() })
}
