//! A reference count per physical page of user memory (Linux: `struct page`'s
//! `_refcount`, `get_page`/`put_page`).
//!
//! User pages are shared after `fork` until a write copies them
//! (copy-on-write): the count says how many page-table entries map a frame.
//! The counts live in one array indexed by frame number, sized to the
//! highest RAM address at boot and carved from the frame allocator.

use super::frame::PAGE_SIZE;
use super::{phys, phys_to_virt};
use core::sync::atomic::{AtomicU32, Ordering};
use spin::Once;

static REFS: Once<&'static [AtomicU32]> = Once::new();

/// Sets up the counts for RAM below `max_pa`. Runs once, on the boot CPU,
/// after the frame allocator and the linear map exist.
pub fn init(max_pa: u64) {
    REFS.call_once(|| {
        let frames = (max_pa as usize).div_ceil(PAGE_SIZE);
        let bytes = frames * core::mem::size_of::<AtomicU32>();
        let pages = bytes.div_ceil(PAGE_SIZE);
        let pa = phys::alloc_frames(pages, 1).expect("no memory for the page reference counts");
        let va = phys_to_virt(pa);
        // SAFETY: fresh frames, mapped by the linear map, owned by this array
        // forever; zero bytes are valid AtomicU32s.
        unsafe {
            core::ptr::write_bytes(va as *mut u8, 0, pages * PAGE_SIZE);
            core::slice::from_raw_parts(va as *const AtomicU32, frames)
        }
    });
}

/// Cannot fail after boot: `init` runs before the first user task, and
/// every `pa` given here is a frame of RAM below the highest address the
/// array was sized for (the allocator hands out nothing above it).
fn count(pa: u64) -> &'static AtomicU32 {
    let refs = REFS.get().expect("page counts used before mm::page::init");
    &refs[pa as usize / PAGE_SIZE]
}

/// A zeroed frame for user memory, with a count of 1 (Linux:
/// `alloc_zeroed_user_highpage`). It leaves the reserve free (mm/phys.rs);
/// where the caller may sleep, the OOM killer makes room first, else the
/// caller gets `None` and handles it (a fault calls the killer after
/// dropping its lock).
pub fn alloc_user_page() -> Option<u64> {
    let pa = super::oom_kill::retry_on_oom(|| phys::alloc_frame_gfp(phys::Gfp::User))?;
    // SAFETY: a fresh frame from the allocator, mapped by the linear map.
    unsafe { crate::arch::page::clear_page(phys_to_virt(pa)) };
    count(pa).store(1, Ordering::Relaxed);
    // The zeros must be visible before the entry that maps the page: another
    // core's table walk or load may follow that entry at once (Linux:
    // __SetPageUptodate's smp_wmb).
    core::sync::atomic::fence(Ordering::Release);
    Some(pa)
}

/// A frame for user memory holding a copy of the page at `src_pa`, with a
/// count of 1 (Linux: `wp_page_copy`'s `alloc_page_vma` + `copy_user_highpage`):
/// not zeroed first, since the copy overwrites every byte. The caller keeps
/// `src_pa` alive for the copy.
pub fn copy_user_page(src_pa: u64) -> Option<u64> {
    let pa = super::oom_kill::retry_on_oom(|| phys::alloc_frame_gfp(phys::Gfp::User))?;
    // SAFETY: a fresh frame from the allocator and a live one, both in the
    // linear map, distinct.
    unsafe { crate::arch::page::copy_page(phys_to_virt(pa), phys_to_virt(src_pa)) };
    count(pa).store(1, Ordering::Relaxed);
    // As in alloc_user_page: the data before the entry that maps it.
    core::sync::atomic::fence(Ordering::Release);
    Some(pa)
}

/// One more mapping of the frame (Linux: `get_page`).
pub fn get_page(pa: u64) {
    count(pa).fetch_add(1, Ordering::Relaxed);
}

/// One mapping fewer; the last one frees the frame (Linux: `put_page`).
pub fn put_page(pa: u64) {
    let old = count(pa).fetch_sub(1, Ordering::AcqRel);
    // Every put matches a get or an allocation on a mapping the kernel
    // owns: an underflow is a kernel bug (memory corruption), never input.
    assert!(old != 0, "put_page on a free page {pa:#x}");
    if old == 1 {
        let _ = phys::free_frame(pa);
    }
}

/// The mappings of the frame now (Linux: `page_count`).
pub fn page_count(pa: u64) -> u32 {
    count(pa).load(Ordering::Acquire)
}

/// The page-table pages of a user address space are chained through their
/// count slots (a table page is never mapped as a user page, so its count
/// is otherwise unused), so that tearing the address space down frees every
/// table without scanning a table for the ones below it. The slot holds the
/// next table's frame number plus one; 0 ends the chain.
pub fn set_table_link(pa: u64, next: Option<u64>) {
    let link = next.map_or(0, |n| (n as usize / PAGE_SIZE) as u32 + 1);
    count(pa).store(link, Ordering::Relaxed);
}

/// The table after `pa` in its address space's chain; clears the link, so
/// the frame goes back to the allocator with a count of 0.
pub fn take_table_link(pa: u64) -> Option<u64> {
    match count(pa).swap(0, Ordering::Relaxed) {
        0 => None,
        n => Some((n as u64 - 1) * PAGE_SIZE as u64),
    }
}
