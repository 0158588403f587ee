//! The kernel's physical-frame allocator instance and its set-up from the
//! memory map the firmware reports.
//!
//! A reserve of free frames (Linux: the `min` watermark, `min_free_kbytes`)
//! keeps the kernel going when user memory runs out: user pages and user
//! page tables ([`Gfp::User`]) stop at the whole reserve, kernel allocations
//! ([`Gfp::Kernel`]) from a context that may sleep at half of it, so that the
//! OOM killer (mm/oom_kill.rs) runs while the kernel can still work; the
//! allocations that cannot wait (IRQs masked), kernel threads, exiting tasks
//! and the OOM killer's victims take what is left (Linux: ALLOC_HARDER,
//! ALLOC_OOM, PF_MEMALLOC).

use super::frame::{FrameAllocator, FrameError, PAGE_SIZE};
use crate::sync::IrqSpinLock;
use core::sync::atomic::{AtomicUsize, Ordering};
use spin::Once;

/// Who an allocation is for, which says how deep into the reserve it may
/// go (Linux: the GFP flags' watermark choice).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gfp {
    /// User pages and the page tables that map them (GFP_HIGHUSER).
    User,
    /// The kernel's own memory: heap, slabs, stacks (GFP_KERNEL).
    Kernel,
}

/// Frames kept free for the kernel and the OOM killer's victims (Linux:
/// `min_free_kbytes`, in pages).
static RESERVE: AtomicUsize = AtomicUsize::new(0);

/// Linux's default `min_free_kbytes` for `ram_pages` of RAM: the square root
/// of 16 times the RAM in KiB, between 128 KiB and 256 MiB; in pages.
pub fn default_reserve(ram_pages: usize) -> usize {
    let kb = (ram_pages * (PAGE_SIZE / 1024)) as u64 * 16;
    let kbytes = kb.isqrt().clamp(128, 256 * 1024) as usize;
    kbytes / (PAGE_SIZE / 1024)
}

/// The reserve in pages.
pub fn reserve_pages() -> usize {
    RESERVE.load(Ordering::Relaxed)
}

/// Free frames an allocation of kind `gfp` must leave behind.
fn watermark(gfp: Gfp) -> usize {
    let reserve = reserve_pages();
    if super::oom_kill::may_use_reserves() {
        return 0;
    }
    match gfp {
        Gfp::User => reserve,
        Gfp::Kernel if super::oom_kill::can_sleep() => reserve / 2,
        Gfp::Kernel => 0,
    }
}

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
        RESERVE.store(default_reserve(frames.total_frames()), Ordering::Relaxed);
        *FRAMES.lock() = Some(frames);
    });
}

/// Runs `f` on the allocator. The `expect` is a boot-order invariant:
/// `init` runs before the heap, the page tables and any task exist, and the
/// command line is parsed without allocating (cmdline.rs), so nothing a
/// user or a boot argument does reaches this before `init`.
fn with<R>(f: impl FnOnce(&mut FrameAllocator<'static>) -> R) -> R {
    f(FRAMES.lock().as_mut().expect("frame allocator used before mm::phys::init"))
}

/// One free frame's physical address, for the kernel.
pub fn alloc_frame() -> Option<u64> {
    alloc_frame_gfp(Gfp::Kernel)
}

/// One free frame for `gfp`, if that leaves its watermark free.
pub fn alloc_frame_gfp(gfp: Gfp) -> Option<u64> {
    let keep = watermark(gfp);
    with(|f| if f.free_frames() > keep { f.alloc() } else { None })
}

/// `count` contiguous frames aligned to `align` frames, for the kernel.
pub fn alloc_frames(count: usize, align: usize) -> Option<u64> {
    let keep = watermark(Gfp::Kernel);
    with(|f| if f.free_frames() >= keep + count { f.alloc_contiguous(count, align) } else { None })
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
