//! Hardware single-step for ptrace (Linux: arch/arm64/kernel/debug-monitors.c).
//!
//! Software step needs MDSCR_EL1.SS on the core and SPSR_EL1.SS in the frame
//! the task returns with: the task then runs one instruction and takes a
//! software-step exception (ESR class 0x32). Returning a stepped task sets
//! both ([`arm_single_step`]). MDSCR_EL1.SS stays set afterwards: another
//! task returning to EL0 on that core with SPSR.SS clear takes a step
//! exception before running any instruction, which clears the bit
//! ([`disarm_single_step`]) and returns to the same place, so an untraced
//! return to user mode costs nothing here. The OS lock (set at reset on the
//! board) is released when stepping is armed.

use super::exception::TrapFrame;

/// MDSCR_EL1.SS.
const MDSCR_SS: u64 = 1 << 0;
/// SPSR_EL1.SS.
const SPSR_SS: u64 = 1 << 21;

/// Makes the return through `frame` run one instruction and trap.
pub fn arm_single_step(frame: &mut TrapFrame) {
    frame.spsr |= SPSR_SS;
    // SAFETY: clearing the OS lock and setting MDSCR_EL1.SS only affect
    // debug exceptions from EL0, which el0_sync handles.
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
}

/// Clears this core's step enable.
pub fn disarm_single_step() {
    // SAFETY: clears the step enable; nothing else changes.
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
}
