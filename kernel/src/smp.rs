//! Per-core data and bringing up the secondary cores through the firmware's
//! spin table (Linux: arch/arm64/kernel/smp_spin_table.c).

use crate::arch::{cache, cpu};
use crate::config::NR_CPUS;
use crate::mm::{phys_to_virt, virt_to_phys};
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};

/// What each core records about itself.
pub struct PerCpu {
    /// The core has finished its bring-up and takes interrupts.
    pub online: AtomicBool,
    /// Timer ticks taken.
    pub ticks: AtomicU64,
    /// Interrupts taken.
    pub irqs: AtomicU64,
    /// Exception level the core runs the kernel at.
    pub el: AtomicU8,
}

impl PerCpu {
    const fn new() -> Self {
        PerCpu {
            online: AtomicBool::new(false),
            ticks: AtomicU64::new(0),
            irqs: AtomicU64::new(0),
            el: AtomicU8::new(0),
        }
    }
}

/// Per-core data, indexed by core number.
pub static CPUS: [PerCpu; NR_CPUS] = [const { PerCpu::new() }; NR_CPUS];

/// This core's data.
pub fn this_cpu() -> &'static PerCpu {
    &CPUS[cpu::core_id()]
}

/// The exception level `core` entered the kernel at (boot.S records it before
/// dropping to EL1): 2 from the Pi firmware or QEMU's raw-image boot, 3 from a
/// loader that starts at EL3.
pub fn entry_el(core: usize) -> u8 {
    // SAFETY: each byte is written once by its core before it turns its MMU on
    // (and its line invalidated); read only after that core is online.
    unsafe { (&raw const boot_entry_el).cast::<u8>().add(core).read_volatile() }
}

/// Number of cores online.
pub fn online_count() -> usize {
    CPUS.iter().filter(|c| c.online.load(Ordering::Acquire)).count()
}

extern "C" {
    static mut secondary_boot_ttbr1: u64;
    static boot_entry_el: [u8; NR_CPUS];
    fn _secondary_start();
}

/// log2 of a kernel stack's size. Every kernel stack lies in the upper half
/// of a slot of twice its size, aligned to that, so a stack pointer inside a
/// stack has this bit set and one that ran off its bottom has it clear; the
/// exception vectors test it (Linux: the VMAP_STACK overflow check).
pub const STACK_SHIFT: u32 = 15;
/// Size of a kernel stack (32 KiB); link.ld's BOOT_STACK_SIZE must match.
pub const STACK_SIZE: usize = 1 << STACK_SHIFT;
/// A stack's slot: the stack in the upper half, below it the unmapped guard
/// and, at the bottom, the core's overflow stack.
pub const STACK_SLOT: usize = 2 * STACK_SIZE;
/// The per-core stack the vectors switch to when a kernel stack overflows.
pub const OVERFLOW_STACK_SIZE: usize = 8 * 1024;

fn stack_slot(core: usize) -> usize {
    let image = crate::mm::layout::image();
    let start = image.stacks_start;
    assert!(
        image.stacks_end - start == NR_CPUS * STACK_SLOT && start.is_multiple_of(STACK_SLOT),
        "link.ld's boot stack layout disagrees with smp.rs"
    );
    start + core * STACK_SLOT
}

/// The boot stack of `core` as `[low, high)` virtual addresses.
pub fn boot_stack_bounds(core: usize) -> (usize, usize) {
    let slot = stack_slot(core);
    (slot + STACK_SLOT - STACK_SIZE, slot + STACK_SLOT)
}

/// The overflow stack of `core` as `[low, high)` virtual addresses.
pub fn overflow_stack_bounds(core: usize) -> (usize, usize) {
    let slot = stack_slot(core);
    (slot, slot + OVERFLOW_STACK_SIZE)
}

/// The stack the current code runs on: the current task's kernel stack, or
/// this core's boot stack for the idle tasks (and before the scheduler).
pub fn current_stack_bounds() -> (usize, usize) {
    let task = crate::sched::task::current();
    // SAFETY: the current task's stack is set at creation and freed only after
    // the task has stopped running.
    match unsafe { *task.stack.get() } {
        Some(stack) => (stack.low, stack.high),
        None => boot_stack_bounds(cpu::core_id()),
    }
}

/// Whether `addr` lies in the unmapped gap between `core`'s overflow stack and
/// its boot stack, where a stack overflow faults.
pub fn in_stack_guard(core: usize, addr: usize) -> bool {
    (overflow_stack_bounds(core).1..boot_stack_bounds(core).0).contains(&addr)
}

/// Releases cores 1.. from the spin table and waits up to a second for each to
/// come online. `kernel_table_pa` is the TTBR1 table they switch to.
pub fn start_secondaries(kernel_table_pa: u64) {
    // SAFETY: the boot parameter is written before any secondary runs, and read
    // by them only after the release below; cleaning it to the point of
    // coherency makes it visible to cores whose MMU and caches are still off.
    unsafe {
        let param = &raw mut secondary_boot_ttbr1;
        param.write_volatile(kernel_table_pa);
        cache::clean_invalidate_range(param as usize, 8);
    }
    let entry = virt_to_phys(_secondary_start as *const () as usize);
    for (core, cpu) in CPUS.iter().enumerate().skip(1) {
        let slot = phys_to_virt(bsp::memory_map::spin_table_slot(core) as u64) as *mut u64;
        // SAFETY: the spin table page is mapped and reserved from the frame
        // allocator; the firmware stub of `core` polls this slot with its MMU off.
        unsafe {
            slot.write_volatile(entry);
            cache::clean_invalidate_range(slot as usize, 8);
            core::arch::asm!("dsb sy", "sev", options(nostack, preserves_flags));
        }
        let deadline = crate::time::uptime_ns() + 1_000_000_000;
        if !crate::time::wait_until(deadline, || cpu.online.load(Ordering::Acquire)) {
            log::error!("core {core} did not come online");
        }
    }
}

/// Stops every other online core (panic path) and waits up to 100 ms for them
/// to acknowledge; returns (cores asked to stop, cores still running) as masks.
pub fn stop_other_cpus() -> (u8, u8) {
    let me = cpu::core_id();
    let running =
        || (0..NR_CPUS).filter(|&c| c != me && CPUS[c].online.load(Ordering::Acquire)).fold(0u8, |m, c| m | (1 << c));
    let asked = running();
    if asked != 0 {
        crate::irq::send_ipi(crate::irq::Ipi::Stop, asked);
        let deadline = crate::time::uptime_ns() + 100_000_000;
        crate::time::wait_until(deadline, || running() == 0);
    }
    (asked, running())
}
