//! Generic interrupt handling: a table of handlers indexed by interrupt ID,
//! dispatch from the IRQ exception, inter-processor interrupts (SGIs), and
//! per-core counts by interrupt for `/proc/interrupts` (Linux:
//! kernel/irq/proc.c, `show_interrupts`).

use crate::board::{GICC, GICD};
use crate::config::NR_CPUS;
use crate::smp::this_cpu;
use alloc::format;
use alloc::string::String;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

/// Interrupt IDs the table covers (the GIC-400 on a Pi 4 implements 256).
pub const NR_IRQS: usize = 256;

/// An interrupt handler; it gets the interrupt ID.
pub type Handler = fn(u32);

static HANDLERS: [AtomicUsize; NR_IRQS] = [const { AtomicUsize::new(0) }; NR_IRQS];
/// Names for `/proc/interrupts`, set once with the handler.
static NAME_OF: [spin::Once<&'static str>; NR_IRQS] = [const { spin::Once::new() }; NR_IRQS];
/// Interrupts handled, by interrupt ID and core (Linux: `kstat_irqs`).
static COUNTS: [[AtomicU32; NR_CPUS]; NR_IRQS] = [const { [const { AtomicU32::new(0) }; NR_CPUS] }; NR_IRQS];

/// Inter-processor interrupts (SGI numbers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Ipi {
    /// Run the scheduler: `need_resched` was set for this core.
    Reschedule = 0,
    /// Stop the core for good (panic).
    Stop = 1,
    /// Empty this core's slab magazines (before a cache shrink).
    SlabDrain = 2,
}

/// Why [`register`] refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrqError {
    OutOfRange,
    Busy,
}

/// Installs `handler` for `intid`; each ID has at most one handler.
pub fn register(intid: u32, handler: Handler) -> Result<(), IrqError> {
    let slot = HANDLERS.get(intid as usize).ok_or(IrqError::OutOfRange)?;
    slot.compare_exchange(0, handler as usize, Ordering::AcqRel, Ordering::Acquire)
        .map(|_| ())
        .map_err(|_| IrqError::Busy)
}

/// Installs `handler` for the shared peripheral interrupt `intid`, named
/// `name` in `/proc/interrupts`, routes it to core 0 and enables it
/// (Linux: `request_irq`).
pub fn request_irq(intid: u32, handler: Handler, name: &'static str) -> Result<(), IrqError> {
    register(intid, handler)?;
    NAME_OF[intid as usize].call_once(|| name);
    GICD.set_targets(intid, 1 << 0);
    enable(intid);
    Ok(())
}

/// Enables `intid` in the distributor (for SGIs/PPIs: on this core).
pub fn enable(intid: u32) {
    GICD.enable(intid);
}

/// Sends `ipi` to the cores in `core_mask`.
pub fn send_ipi(ipi: Ipi, core_mask: u8) {
    GICD.send_sgi(ipi as u32, core_mask);
}

/// Called from the IRQ exception: handles every pending interrupt.
pub fn handle_irq() {
    loop {
        let iar = GICC.acknowledge();
        let intid = iar & 0x3ff;
        if intid >= 1020 {
            break;
        }
        this_cpu().irqs.fetch_add(1, Ordering::Relaxed);
        if let Some(per_cpu) = COUNTS.get(intid as usize) {
            per_cpu[crate::arch::cpu::core_id()].fetch_add(1, Ordering::Relaxed);
        }
        let handler = HANDLERS.get(intid as usize).map_or(0, |h| h.load(Ordering::Acquire));
        if handler == 0 {
            log::warn!("unexpected interrupt {intid}; disabling it");
            GICD.disable(intid);
        } else {
            // SAFETY: non-zero entries are only ever written by `register`, from a `Handler`.
            let handler: Handler = unsafe { core::mem::transmute::<usize, Handler>(handler) };
            handler(intid);
        }
        GICC.end_of_interrupt(iar);
    }
}

/// Per-core interrupt setup: banked distributor registers, CPU interface, IPIs.
pub fn init_this_cpu() {
    GICD.init_banked();
    GICC.init();
    enable(Ipi::Stop as u32);
    enable(Ipi::Reschedule as u32);
    enable(Ipi::SlabDrain as u32);
}

/// Boot-time setup on core 0: distributor, handlers for the IPIs, the timer and the UART.
pub fn init() {
    GICD.init();
    let handlers: [(u32, Handler, &str); 4] = [
        (Ipi::Stop as u32, ipi_stop, "CPU stop interrupts"),
        (Ipi::SlabDrain as u32, |_| crate::fork::drain_caches_local(), "Slab cache drain interrupts"),
        (Ipi::Reschedule as u32, ipi_reschedule, "Rescheduling interrupts"),
        (bsp::memory_map::irq::TIMER_EL1_PHYS, crate::time::tick_irq, "arch_timer"),
    ];
    for (intid, handler, name) in handlers {
        register(intid, handler).expect("boot-time interrupt handlers are registered once");
        NAME_OF[intid as usize].call_once(|| name);
    }
    request_irq(bsp::memory_map::irq::PL011_UART0, crate::console::uart_irq, "uart-pl011")
        .expect("boot-time interrupt handlers are registered once");
}

/// `/proc/interrupts` (Linux: `show_interrupts`): a column per online
/// core, a row per interrupt with a handler (IPIs as `IPIn`, the others by
/// interrupt ID with the controller, the ID and the trigger), then `Err`.
pub fn proc_interrupts() -> String {
    let cpus: alloc::vec::Vec<usize> =
        (0..NR_CPUS).filter(|&c| crate::smp::CPUS[c].online.load(Ordering::Acquire)).collect();
    let mut out = String::from("     ");
    for c in &cpus {
        out.push_str(&format!(" {:>10}", format!("CPU{c}")));
    }
    out.push('\n');
    for (intid, name) in NAME_OF.iter().enumerate() {
        let Some(name) = name.get() else { continue };
        let label = if intid < 16 { format!("IPI{intid}") } else { format!("{intid}") };
        out.push_str(&format!("{label:>4}:"));
        for &c in &cpus {
            out.push_str(&format!(" {:>10}", COUNTS[intid][c].load(Ordering::Relaxed)));
        }
        if intid < 16 {
            out.push_str(&format!("       {name}\n"));
        } else {
            out.push_str(&format!("     GICv2 {intid:>3} Level     {name}\n"));
        }
    }
    out.push_str(&format!("{:>4}:{:>11}\n", "Err", 0));
    out
}

/// Reschedule IPI: nothing to do here; the IRQ exit path sees `need_resched`.
fn ipi_reschedule(_intid: u32) {}

/// Stop IPI: the core leaves the online set and halts with IRQs masked.
fn ipi_stop(_intid: u32) {
    this_cpu().online.store(false, Ordering::Release);
    crate::arch::cpu::halt();
}
