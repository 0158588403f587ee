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

core::arch::global_asm!(include_str!("exception.S"));

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
        (1 | 2, Kind::Irq) => crate::irq::handle_irq(),
        (_, Kind::Sync) => {
            let esr = Esr(ESR_EL1.get());
            let far = FAR_EL1.get();
            report_and_panic(frame, slot, Some((esr, far)));
        }
        _ => report_and_panic(frame, slot, None),
    }
}

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
