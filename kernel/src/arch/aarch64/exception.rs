//! Exception handling (Linux: arch/arm64/kernel/entry-common.c, traps.c).
//!
//! `exception.S` saves a [`TrapFrame`] and calls [`exception_dispatch`] with the
//! vector slot. IRQs go to the generic IRQ layer; a synchronous exception from
//! the kernel itself is a kernel bug: it is reported with the decoded ESR, the
//! fault address and the registers, and ends in a panic (with a backtrace).

use super::esr::Esr;
use aarch64_cpu::registers::{ESR_EL1, FAR_EL1};
use core::fmt;
use tock_registers::interfaces::Readable;

core::arch::global_asm!(
    include_str!("exception.S"),
    STACK_SHIFT = const crate::smp::STACK_SHIFT,
    STACK_SLOT_SHIFT = const crate::smp::STACK_SLOT.trailing_zeros(),
    OVERFLOW_STACK_SIZE = const crate::smp::OVERFLOW_STACK_SIZE,
    OVERFLOW_SLOT = const OVERFLOW_SLOT,
);

/// The pseudo vector slot `exception.S` reports a kernel stack overflow as.
const OVERFLOW_SLOT: u64 = 16;

/// Registers saved on exception entry; layout shared with `exception.S`.
#[repr(C)]
pub struct TrapFrame {
    /// x0-x30.
    pub regs: [u64; 31],
    pub sp_el0: u64,
    pub elr: u64,
    pub spsr: u64,
}

const _: () = assert!(core::mem::size_of::<TrapFrame>() == 272);

/// The 16 vector slots: (which stack / where from, kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Sync,
    Irq,
    Fiq,
    SError,
}

fn slot_kind(slot: u64) -> Kind {
    match slot % 4 {
        0 => Kind::Sync,
        1 => Kind::Irq,
        2 => Kind::Fiq,
        _ => Kind::SError,
    }
}

fn slot_origin(slot: u64) -> &'static str {
    match slot / 4 {
        0 => "EL1 with SP_EL0",
        1 => "EL1",
        2 => "EL0 (AArch64)",
        _ => "EL0 (AArch32)",
    }
}

impl fmt::Display for TrapFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "  ELR  {:#018x}  SPSR {:#010x}  SP_EL0 {:#018x}", self.elr, self.spsr, self.sp_el0)?;
        for (i, pair) in self.regs.chunks(2).enumerate() {
            write!(f, "  x{:<2} {:#018x}", 2 * i, pair[0])?;
            if let Some(r) = pair.get(1) {
                write!(f, "  x{:<2} {:#018x}", 2 * i + 1, r)?;
            }
            f.write_str("\n")?;
        }
        Ok(())
    }
}

/// Rust entry from the vector table.
#[no_mangle]
extern "C" fn exception_dispatch(frame: &mut TrapFrame, slot: u64) {
    match (slot / 4, slot_kind(slot)) {
        _ if slot == OVERFLOW_SLOT => report_stack_overflow(frame),
        (1 | 2, Kind::Irq) => {
            crate::irq::handle_irq();
            crate::sched::core::preempt_irq_exit();
        }
        (_, Kind::Sync) => {
            let esr = Esr(ESR_EL1.get());
            let far = FAR_EL1.get();
            report_and_panic(frame, slot, Some((esr, far)));
        }
        _ => report_and_panic(frame, slot, None),
    }
}

fn report_stack_overflow(frame: &TrapFrame) -> ! {
    use core::fmt::Write;
    let core = super::cpu::core_id();
    let (low, high) = crate::smp::current_stack_bounds();
    let mut out = crate::console::panic_writer();
    let _ = writeln!(
        out,
        "\nKernel stack overflow on core {core}: stack pointer {:#x} below the stack {low:#x}-{high:#x}",
        frame.regs[0] + FRAME_SIZE
    );
    let _ = writeln!(out, "  (x0 in the registers below is that stack pointer)");
    if let Some(far) = (Esr(ESR_EL1.get()).class().far_valid()).then(|| FAR_EL1.get()) {
        let _ = writeln!(out, "  FAR  {far:#018x}");
    }
    let _ = write!(out, "{frame}");
    drop(out);
    panic!("kernel stack overflow");
}

/// Bytes a trap frame takes on the stack.
const FRAME_SIZE: u64 = core::mem::size_of::<TrapFrame>() as u64;

fn report_and_panic(frame: &TrapFrame, slot: u64, sync: Option<(Esr, u64)>) -> ! {
    let core = super::cpu::core_id();
    let origin = slot_origin(slot);
    let mut out = crate::console::panic_writer();
    use core::fmt::Write;
    let _ = match sync {
        Some((esr, far)) => {
            let _ = writeln!(out, "\nUnhandled synchronous exception from {origin} on core {core}");
            let _ = writeln!(out, "  {esr}");
            if esr.class().far_valid() {
                let _ = writeln!(out, "  FAR  {far:#018x}");
                if crate::smp::in_stack_guard(core, far as usize) || crate::mm::vmstack::in_stack_guard(far as usize) {
                    let _ = writeln!(out, "  (a stack guard: a kernel stack overflow)");
                }
            }
            write!(out, "{frame}")
        }
        None => {
            let kind = slot_kind(slot);
            let _ = writeln!(out, "\nUnexpected {kind:?} exception from {origin} on core {core}");
            write!(out, "{frame}")
        }
    };
    drop(out);
    panic!("fatal exception in kernel mode at {:#x}", frame.elr);
}
