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
//!
//! Single frames come from per-CPU lists (Linux: `per_cpu_pages`): a CPU
//! allocates from and frees to its own list, under that list's own lock
//! (taken by another CPU only to drain it when memory runs short), and
//! reaches the global bitmap allocator once per [`PCP_BATCH`] frames. The
//! frames on the lists count as free in [`stats`]. Contiguous allocations
//! go to the bitmap allocator directly; when it fails, and when a single
//! frame cannot be had, every list is drained back first.
//!
//! Each CPU also keeps a few frames known to hold only zeros, for page
//! tables: a user address space torn down clears every entry it set (see
//! mm_struct.rs), so its table pages come back zeroed and the next table
//! allocated needs no `clear_page`. They count as free too.
//!
//! Lock order: a per-CPU list < the global allocator; two lists are never
//! held at once.

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

/// Frames taken out of RAM at boot: page 0, the kernel image, the device
/// tree and the ranges it reserves (Linux's memblock reservations).
static BOOT_RESERVED: AtomicUsize = AtomicUsize::new(0);

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
        Gfp::Kernel if crate::sched::task::can_sleep() => reserve / 2,
        Gfp::Kernel => 0,
    }
}

/// Highest physical address the allocator can manage: 8 GiB, the largest Pi 4.
pub const MAX_PHYS: u64 = 8 << 30;
const MAX_FRAMES: usize = (MAX_PHYS as usize) / PAGE_SIZE;

/// One bit per frame up to [`MAX_PHYS`] (256 KiB, in .bss).
static mut BITMAP: [u64; MAX_FRAMES / 64] = [0; MAX_FRAMES / 64];

static FRAMES: IrqSpinLock<Option<FrameAllocator<'static>>> = IrqSpinLock::new(None);

/// Free frames, the global allocator's and the per-CPU lists' (Linux:
/// `NR_FREE_PAGES`): the watermark check reads this instead of taking the
/// global lock on every allocation.
static NR_FREE: AtomicUsize = AtomicUsize::new(0);

/// Frames a per-CPU list holds at most; a free beyond it gives back a batch.
const PCP_HIGH: usize = 32;
/// Frames moved between a per-CPU list and the global allocator at a time.
const PCP_BATCH: usize = 16;

/// Zeroed frames a per-CPU list keeps at most: the tables of two small
/// address spaces (fork, then exec, needs 14).
const PCP_ZEROED: usize = 16;

/// One CPU's free frames (Linux: `struct per_cpu_pages`).
struct PerCpuPages {
    count: usize,
    frames: [u64; PCP_HIGH],
    /// Of the frames below, `zeroed` hold only zeros.
    zeroed: usize,
    zero_frames: [u64; PCP_ZEROED],
}

static PCP: [IrqSpinLock<PerCpuPages>; crate::config::NR_CPUS] = [const {
    IrqSpinLock::new(PerCpuPages { count: 0, frames: [0; PCP_HIGH], zeroed: 0, zero_frames: [0; PCP_ZEROED] })
}; crate::config::NR_CPUS];

/// This CPU's list. A task moved to another CPU between the look-up and
/// the lock uses the old CPU's list, which its lock keeps correct.
fn this_cpu_pages() -> &'static IrqSpinLock<PerCpuPages> {
    &PCP[crate::arch::cpu::core_id()]
}

/// Gives every per-CPU list's frames back to the global allocator (Linux:
/// `drain_all_pages`), so that they can serve a contiguous allocation or
/// another CPU.
fn drain_all_pages() {
    for pcp in &PCP {
        let mut pcp = pcp.lock();
        if pcp.count > 0 || pcp.zeroed > 0 {
            with(|f| {
                for &pa in pcp.frames[..pcp.count].iter().chain(&pcp.zero_frames[..pcp.zeroed]) {
                    let _ = f.free(pa);
                }
            });
            pcp.count = 0;
            pcp.zeroed = 0;
        }
    }
}
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
        let taken: usize = reserved.iter().map(|&(start, end)| frames.reserve_range(start, end)).sum();
        BOOT_RESERVED.store(taken, Ordering::Relaxed);
        RESERVE.store(default_reserve(frames.total_frames()), Ordering::Relaxed);
        NR_FREE.store(frames.free_frames(), Ordering::Relaxed);
        super::overcommit::init(frames.free_frames());
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

/// One free frame for `gfp`, if that leaves its watermark free: from this
/// CPU's list (refilled a batch at a time, lowest frames first, from the
/// global allocator).
pub fn alloc_frame_gfp(gfp: Gfp) -> Option<u64> {
    if NR_FREE.load(Ordering::Relaxed) <= watermark(gfp) {
        return None;
    }
    let pa = alloc_frame_pcp()?;
    NR_FREE.fetch_sub(1, Ordering::Relaxed);
    Some(pa)
}

/// One free frame filled with zeros, for `gfp` as [`alloc_frame_gfp`]
/// (Linux: `__GFP_ZERO`): one of this CPU's zeroed frames if it has one,
/// else a frame cleared here.
pub fn alloc_zeroed_frame_gfp(gfp: Gfp) -> Option<u64> {
    if NR_FREE.load(Ordering::Relaxed) <= watermark(gfp) {
        return None;
    }
    let zeroed = {
        let mut pcp = this_cpu_pages().lock();
        (pcp.zeroed > 0).then(|| {
            pcp.zeroed -= 1;
            pcp.zero_frames[pcp.zeroed]
        })
    };
    let pa = match zeroed {
        Some(pa) => pa,
        None => {
            let pa = alloc_frame_pcp()?;
            // SAFETY: a free frame just taken from the allocator, in the
            // linear map.
            unsafe { crate::arch::page::clear_page(super::phys_to_virt(pa)) };
            pa
        }
    };
    NR_FREE.fetch_sub(1, Ordering::Relaxed);
    Some(pa)
}

/// Returns a frame that holds only zeros, to this CPU's zeroed frames
/// while they have room, else as [`free_frame`]. The caller vouches for
/// the zeros: a frame given here is handed out as a fresh page table.
pub fn free_zeroed_frame(pa: u64) -> Result<(), FrameError> {
    if pa >= MAX_PHYS || !pa.is_multiple_of(PAGE_SIZE as u64) {
        return with(|f| f.free(pa)); // the allocator's own verdict
    }
    #[cfg(debug_assertions)]
    {
        // SAFETY: the caller gives up the frame, which is in the linear map.
        let words = unsafe { core::slice::from_raw_parts(super::phys_to_virt(pa) as *const u64, PAGE_SIZE / 8) };
        debug_assert!(words.iter().all(|&w| w == 0), "frame {pa:#x} freed as zeroed holds data");
    }
    {
        let mut pcp = this_cpu_pages().lock();
        if pcp.zeroed < PCP_ZEROED {
            let i = pcp.zeroed;
            pcp.zero_frames[i] = pa;
            pcp.zeroed += 1;
            NR_FREE.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
    }
    free_frame(pa)
}

fn alloc_frame_pcp() -> Option<u64> {
    {
        let mut pcp = this_cpu_pages().lock();
        if pcp.count == 0 {
            with(|f| {
                while pcp.count < PCP_BATCH {
                    let Some(pa) = f.alloc() else { break };
                    // Handed out from the end: the lowest frame first.
                    let at = PCP_BATCH - 1 - pcp.count;
                    pcp.frames[at] = pa;
                    pcp.count += 1;
                }
            });
            if pcp.count < PCP_BATCH && pcp.count > 0 {
                // A short batch: close the gap below its frames.
                let (start, n) = (PCP_BATCH - pcp.count, pcp.count);
                pcp.frames.copy_within(start..start + n, 0);
            }
        }
        if pcp.count > 0 {
            pcp.count -= 1;
            let i = pcp.count;
            return Some(pcp.frames[i]);
        }
    }
    // Nothing left globally: other CPUs' lists may still hold some.
    drain_all_pages();
    with(|f| f.alloc())
}

/// `count` contiguous frames aligned to `align` frames, for the kernel.
pub fn alloc_frames(count: usize, align: usize) -> Option<u64> {
    if NR_FREE.load(Ordering::Relaxed) < watermark(Gfp::Kernel) + count {
        return None;
    }
    let pa = with(|f| f.alloc_contiguous(count, align)).or_else(|| {
        drain_all_pages();
        with(|f| f.alloc_contiguous(count, align))
    })?;
    NR_FREE.fetch_sub(count, Ordering::Relaxed);
    Some(pa)
}

/// Returns a frame, to this CPU's list; a full list gives its oldest batch
/// back to the global allocator. Frames outside RAM are refused here;
/// the global allocator's other checks (a frame freed twice) run when the
/// frame reaches it.
pub fn free_frame(pa: u64) -> Result<(), FrameError> {
    if pa >= MAX_PHYS || !pa.is_multiple_of(PAGE_SIZE as u64) {
        return with(|f| f.free(pa)); // the allocator's own verdict
    }
    let mut pcp = this_cpu_pages().lock();
    if pcp.count == PCP_HIGH {
        with(|f| {
            for &old in &pcp.frames[..PCP_BATCH] {
                let _ = f.free(old);
            }
        });
        pcp.frames.copy_within(PCP_BATCH..PCP_HIGH, 0);
        pcp.count -= PCP_BATCH;
    }
    let i = pcp.count;
    pcp.frames[i] = pa;
    pcp.count += 1;
    NR_FREE.fetch_add(1, Ordering::Relaxed);
    Ok(())
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
    /// Of `used`, the frames reserved at boot.
    pub boot_reserved: usize,
}

/// Current page counts; frames on the per-CPU lists are free.
pub fn stats() -> Stats {
    let cached: usize = PCP
        .iter()
        .map(|p| {
            let p = p.lock();
            p.count + p.zeroed
        })
        .sum();
    with(|f| {
        let free = f.free_frames() + cached;
        Stats {
            total: f.total_frames(),
            free,
            used: f.total_frames() - free,
            boot_reserved: BOOT_RESERVED.load(Ordering::Relaxed),
        }
    })
}
