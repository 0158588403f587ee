//! Hardware single-step for ptrace (Linux: arch/arm64/kernel/debug-monitors.c).
//!
//! Software step needs MDSCR_EL1.SS on the core and SPSR_EL1.SS in the frame
//! the task returns with: the task then runs one instruction and takes a
//! software-step exception (ESR class 0x32). With MDSCR_EL1.SS set, a return
//! to EL0 with SPSR.SS clear would take the exception before running any
//! instruction, so the bit is set only for a return of a task being
//! stepped, and cleared on the next return of any other: a per-core flag
//! says whether it is set, so an untraced return costs one load and one
//! branch. The OS lock (set at reset on the board) is released when
//! stepping is first armed on a core.

use super::exception::TrapFrame;
use core::sync::atomic::{AtomicBool, Ordering};

/// MDSCR_EL1.SS.
const MDSCR_SS: u64 = 1 << 0;
/// SPSR_EL1.SS.
const SPSR_SS: u64 = 1 << 21;

/// Per core: MDSCR_EL1.SS is set.
static STEP_ARMED: [AtomicBool; crate::config::NR_CPUS] = [const { AtomicBool::new(false) }; crate::config::NR_CPUS];

/// Arms (`step`) or disarms single-stepping for the return to EL0 through
/// `frame`. Called with IRQs masked, right before the return.
#[inline]
pub fn single_step_on_return(frame: &mut TrapFrame, step: bool) {
    let core = super::cpu::core_id();
    let armed = STEP_ARMED[core].load(Ordering::Relaxed);
    if !step && !armed {
        return;
    }
    if step {
        frame.spsr |= SPSR_SS;
        if !armed {
            // SAFETY: clearing the OS lock and setting MDSCR_EL1.SS only
            // affect debug exceptions from EL0, which el0_sync handles.
            unsafe {
                core::arch::asm!(
                    "msr oslar_el1, xzr",
                    "mrs {t}, mdscr_el1",
                    "orr {t}, {t}, {ss}",
                    "msr mdscr_el1, {t}",
                    "isb",
                    t = out(reg) _,
                    ss = const MDSCR_SS,
                    options(nostack, preserves_flags)
                )
            };
            STEP_ARMED[core].store(true, Ordering::Relaxed);
        }
    } else {
        frame.spsr &= !SPSR_SS;
        // SAFETY: as above: clears the step enable.
        unsafe {
            core::arch::asm!(
                "mrs {t}, mdscr_el1",
                "bic {t}, {t}, {ss}",
                "msr mdscr_el1, {t}",
                "isb",
                t = out(reg) _,
                ss = const MDSCR_SS,
                options(nostack, preserves_flags)
            )
        };
        STEP_ARMED[core].store(false, Ordering::Relaxed);
    }
}
