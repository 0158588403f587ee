//! Memory management: physical frames, translation tables, the kernel's own
//! address space and heap.
//!
//! The kernel lives in the upper half: RAM is linearly mapped at
//! `KERNEL_VA_BASE + physical address` (Linux: the linear map, `__va`/`__pa`),
//! and the kernel image is part of that map.

pub mod frame;
pub mod pgtable;
pub mod slab;
pub mod vma;

#[cfg(target_os = "none")]
pub mod filemap;
#[cfg(target_os = "none")]
pub mod heap;
#[cfg(target_os = "none")]
pub mod kmap;
#[cfg(target_os = "none")]
pub mod layout;
#[cfg(target_os = "none")]
pub mod mm_struct;
#[cfg(target_os = "none")]
pub mod oom_kill;
#[cfg(target_os = "none")]
pub mod overcommit;
#[cfg(target_os = "none")]
pub mod page;
#[cfg(target_os = "none")]
pub mod phys;
#[cfg(target_os = "none")]
pub mod uaccess;
#[cfg(target_os = "none")]
pub mod vmstack;

/// Base of the linear map of physical memory (TTBR1, 48-bit).
pub const KERNEL_VA_BASE: usize = 0xFFFF_0000_0000_0000;

/// Kernel virtual address of physical address `pa` (Linux: `__va`).
pub const fn phys_to_virt(pa: u64) -> usize {
    pa as usize + KERNEL_VA_BASE
}

/// Physical address of a linear-map virtual address (Linux: `__pa`).
pub const fn virt_to_phys(va: usize) -> u64 {
    (va - KERNEL_VA_BASE) as u64
}
