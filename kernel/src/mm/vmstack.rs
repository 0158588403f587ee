//! Kernel stacks for tasks, mapped in their own virtual area with unmapped
//! guards (Linux: `CONFIG_VMAP_STACK`, kernel/fork.c `alloc_thread_stack_node`).
//!
//! The area starts at [`STACK_AREA`]; slot `i` is the 64 KiB from
//! `STACK_AREA + i * 64 KiB`. The stack is the slot's upper 32 KiB, backed by eight frames that
//! need not be contiguous; the lower half stays unmapped. So a stack pointer
//! inside a stack has bit 15 set, a runaway one faults in the guard, and the
//! exception vectors (exception.S) recognise the overflow: the same layout as
//! the boot stacks (smp.rs).
//!
//! Freed stacks stay mapped in a small cache for the next task (Linux:
//! `cached_stacks`), which spares a fork and an exit eight page mappings,
//! eight unmappings and their TLB invalidations; [`drain_cache`] empties it.

use super::frame::PAGE_SIZE;
use super::pgtable::Attributes;
use super::{kmap, phys};
use crate::arch::mmu::flush_kernel_page;
use crate::errno::Errno;
use crate::smp::{STACK_SIZE, STACK_SLOT};
use crate::sync::IrqSpinLock;
use alloc::vec::Vec;

/// Start of the stack area: the upper half of TTBR1's range, far from the
/// linear map of RAM at 0xffff_0000_0000_0000.
pub const STACK_AREA: usize = 0xffff_8000_0000_0000;
/// Slots in the area (512 MiB of virtual addresses).
pub const MAX_STACKS: usize = 8192;
const PAGES: usize = STACK_SIZE / PAGE_SIZE;

/// Free slot numbers (a stack; never-used slots are handed out from `next`).
struct Slots {
    free: Vec<u32>,
    next: u32,
    in_use: usize,
}

static SLOTS: IrqSpinLock<Slots> = IrqSpinLock::new(Slots { free: Vec::new(), next: 0, in_use: 0 });

/// Stacks kept mapped for reuse.
const NR_CACHED_STACKS: usize = 16;
static CACHE: IrqSpinLock<[Option<KernelStack>; NR_CACHED_STACKS]> = IrqSpinLock::new([None; NR_CACHED_STACKS]);

/// A task's kernel stack: `[low, high)`, mapped read-write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelStack {
    pub low: usize,
    pub high: usize,
}

fn slot_base(slot: u32) -> usize {
    STACK_AREA + slot as usize * STACK_SLOT
}

/// Allocates and maps a kernel stack.
pub fn alloc_stack() -> Result<KernelStack, Errno> {
    if let Some(stack) = CACHE.lock().iter_mut().find_map(|s| s.take()) {
        SLOTS.lock().in_use += 1;
        return Ok(stack);
    }
    let slot = {
        let mut s = SLOTS.lock();
        let slot = match s.free.pop() {
            Some(slot) => slot,
            None if (s.next as usize) < MAX_STACKS => {
                s.next += 1;
                s.next - 1
            }
            None => return Err(Errno::ENOMEM),
        };
        s.in_use += 1;
        slot
    };
    let high = slot_base(slot) + STACK_SLOT;
    let low = high - STACK_SIZE;
    let mut mapped = 0;
    let result = kmap::with_kernel_table(|pt| {
        for page in 0..PAGES {
            let pa = phys::alloc_frame().ok_or(Errno::ENOMEM)?;
            let va = low + page * PAGE_SIZE;
            if pt.map(va as u64, pa, PAGE_SIZE as u64, Attributes::KERNEL_DATA, false).is_err() {
                let _ = phys::free_frame(pa);
                return Err(Errno::ENOMEM);
            }
            mapped += 1;
        }
        Ok(())
    });
    let stack = KernelStack { low, high };
    if let Err(e) = result {
        unmap(stack, mapped);
        release_slot(slot);
        return Err(e);
    }
    Ok(stack)
}

fn unmap(stack: KernelStack, pages: usize) {
    kmap::with_kernel_table(|pt| {
        for page in 0..pages {
            let va = stack.low + page * PAGE_SIZE;
            if let Some(pa) = pt.unmap_page(va as u64) {
                // No core may reach the frame through a stale TLB entry once
                // it is back in the allocator.
                flush_kernel_page(va);
                let _ = phys::free_frame(pa);
            }
        }
    });
}

fn release_slot(slot: u32) {
    let mut s = SLOTS.lock();
    s.free.push(slot);
    s.in_use -= 1;
}

/// Unmaps a stack from [`alloc_stack`] and returns its frames. No core may
/// still run on it (the scheduler frees a dead task's stack only after the
/// task has been switched away from for good).
pub fn free_stack(stack: KernelStack) {
    if let Some(free) = CACHE.lock().iter_mut().find(|s| s.is_none()) {
        *free = Some(stack);
        SLOTS.lock().in_use -= 1;
        return;
    }
    unmap(stack, PAGES);
    release_slot(((stack.low - STACK_AREA) / STACK_SLOT) as u32);
}

/// Unmaps the cached stacks and returns their frames (memory pressure,
/// `slabinfo shrink`); returns the stacks released.
pub fn drain_cache() -> usize {
    let stacks: Vec<KernelStack> = CACHE.lock().iter_mut().filter_map(|s| s.take()).collect();
    for &stack in &stacks {
        SLOTS.lock().in_use += 1; // free_stack's bookkeeping, without the cache
        unmap(stack, PAGES);
        release_slot(((stack.low - STACK_AREA) / STACK_SLOT) as u32);
    }
    stacks.len()
}

/// Stacks currently allocated.
pub fn stacks_in_use() -> usize {
    SLOTS.lock().in_use
}

/// Whether `addr` lies in the unmapped guard half of a stack slot.
pub fn in_stack_guard(addr: usize) -> bool {
    (STACK_AREA..STACK_AREA + MAX_STACKS * STACK_SLOT).contains(&addr) && (addr - STACK_AREA) % STACK_SLOT < STACK_SIZE
}
