//! The kernel's own address space (TTBR1): the final page tables that replace
//! boot.S's 1 GiB blocks.
//!
//! - the kernel image at page granularity: text R-X, rodata R--, data/bss RW-,
//!   each core's boot stack and overflow stack RW-, with the 24 KiB between
//!   them unmapped (the guard a stack overflow runs into, see smp.rs);
//! - the rest of RAM, linearly, RW- with the largest blocks that fit;
//! - the peripheral window as device memory, RW-, never executable.

use super::pgtable::{Attributes, MapError, PageTable, Table, TableMemory};
use super::{phys, phys_to_virt, virt_to_phys, KERNEL_VA_BASE};
use crate::config::NR_CPUS;
use crate::smp;
use crate::sync::IrqSpinLock;
use bsp::memory_map::{PERIPHERAL_BASE, PERIPHERAL_END};

/// Table memory from the frame allocator, reached through the linear map.
///
/// At boot, until the new tables are live, only the boot map's first GiB is
/// reachable, so every table must come from there: the allocator hands out the
/// lowest free frames first, which lie just above the kernel image.
pub struct LinearMapTables {
    boot: bool,
    /// Whose memory the tables are: user tables stop at the reserve
    /// (mm/phys.rs).
    gfp: phys::Gfp,
}

impl LinearMapTables {
    /// Table memory for the kernel's tables built after boot.
    pub const fn new() -> Self {
        LinearMapTables { boot: false, gfp: phys::Gfp::Kernel }
    }

    /// Table memory for a user address space's tables.
    pub const fn user() -> Self {
        LinearMapTables { boot: false, gfp: phys::Gfp::User }
    }
}

impl Default for LinearMapTables {
    fn default() -> Self {
        Self::new()
    }
}

impl TableMemory for LinearMapTables {
    fn alloc_table(&mut self) -> Option<u64> {
        let pa = phys::alloc_frame_gfp(self.gfp)?;
        assert!(!self.boot || pa < 1 << 30, "boot page-table frame outside the boot map");
        // SAFETY: a fresh frame from the allocator, mapped by the linear map
        // (Normal memory, which DC ZVA needs: the boot map's too).
        unsafe { crate::arch::page::clear_page(phys_to_virt(pa)) };
        // The empty table must be visible before the entry that links it:
        // another core's table walker may follow that entry at once and
        // would take stale bytes for entries (Linux: __pte_alloc's smp_wmb).
        core::sync::atomic::fence(core::sync::atomic::Ordering::Release);
        Some(pa)
    }

    fn table(&mut self, pa: u64) -> &mut Table {
        // SAFETY: `pa` is a table frame this builder allocated; nothing else
        // references it while the tables are being built.
        unsafe { &mut *(phys_to_virt(pa) as *mut Table) }
    }

    fn free_table(&mut self, pa: u64) {
        let _ = phys::free_frame(pa);
    }
}

/// Builds the kernel tables, switches this core to them and returns the
/// physical address of the L0 table (for the other cores).
pub fn init(ram: &[phys::Range]) -> Result<u64, MapError> {
    let image = super::layout::image();
    let mut memory = LinearMapTables { boot: true, gfp: phys::Gfp::Kernel };
    let mut pt = PageTable::new(&mut memory)?;
    let map_kernel = |pt: &mut PageTable<'_, LinearMapTables>, start: usize, end: usize, attrs| {
        pt.map(start as u64, virt_to_phys(start), (end - start) as u64, attrs, false)
    };
    map_kernel(&mut pt, image.start, image.text_end, Attributes::KERNEL_TEXT)?;
    map_kernel(&mut pt, image.text_end, image.rodata_end, Attributes::KERNEL_RODATA)?;
    map_kernel(&mut pt, image.rodata_end, image.stacks_start, Attributes::KERNEL_DATA)?;
    for core in 0..NR_CPUS {
        for (low, high) in [smp::overflow_stack_bounds(core), smp::boot_stack_bounds(core)] {
            map_kernel(&mut pt, low, high, Attributes::KERNEL_DATA)?;
        }
    }

    let (image_start, image_end) = (virt_to_phys(image.start), virt_to_phys(image.end));
    for &(start, end) in ram {
        // RAM below and above the image; the image itself is mapped above.
        for (s, e) in [(start, end.min(image_start)), (start.max(image_end), end)] {
            if s < e {
                pt.map(s + KERNEL_VA_BASE as u64, s, e - s, Attributes::KERNEL_DATA, true)?;
            }
        }
    }
    let (dev_start, dev_end) = (PERIPHERAL_BASE as u64, PERIPHERAL_END as u64);
    pt.map(dev_start + KERNEL_VA_BASE as u64, dev_start, dev_end - dev_start, Attributes::DEVICE, true)?;

    let root = pt.root();
    // SAFETY: the new tables map the image, the stacks in use, all RAM and the
    // devices at the same addresses as the boot tables did.
    unsafe { crate::arch::mmu::switch_kernel_table(root) };
    *KERNEL_TABLE.lock() = root;
    Ok(root)
}

/// Physical address of the kernel's L0 table once [`init`] has run; the lock
/// serialises changes to the kernel address space after boot.
static KERNEL_TABLE: IrqSpinLock<u64> = IrqSpinLock::new(0);

/// Runs `f` on the live kernel page tables, under their lock. Mapping into
/// unused addresses needs no TLB maintenance; after unmapping, the caller
/// invalidates the TLBs of every core ([`crate::arch::mmu::flush_kernel_page`]).
pub fn with_kernel_table<R>(f: impl FnOnce(&mut PageTable<'_, LinearMapTables>) -> R) -> R {
    let root = KERNEL_TABLE.lock();
    assert_ne!(*root, 0, "kernel page tables used before mm::kmap::init");
    let mut memory = LinearMapTables::new();
    let mut pt = PageTable::from_root(*root, &mut memory);
    let result = f(&mut pt);
    crate::arch::mmu::publish_table_updates();
    result
}
