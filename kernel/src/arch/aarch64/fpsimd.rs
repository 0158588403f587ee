//! User FP/SIMD state (Linux: arch/arm64/kernel/fpsimd.c).
//!
//! The kernel is built soft-float, so it never touches v0-v31, FPSR or FPCR:
//! those registers hold the state of the last user task that ran on this
//! core. The scheduler saves them when a user task is switched out and loads
//! the next user task's, eagerly (sched/core.rs); kernel threads skip both.
//! `fork` copies the live registers, signal delivery saves them in the
//! signal frame, and `execve` clears them.

use aarch64_cpu::registers::CPACR_EL1;
use tock_registers::interfaces::ReadWriteable;

/// The saved registers (Linux: `struct user_fpsimd_state`, the layout of the
/// signal frame's `fpsimd_context` body).
#[repr(C, align(16))]
#[derive(Clone, Copy, Debug)]
pub struct FpState {
    pub vregs: [u128; 32],
    pub fpsr: u32,
    pub fpcr: u32,
}

impl FpState {
    /// All registers zero (the state `execve` starts a program with).
    pub const fn zeroed() -> Self {
        FpState { vregs: [0; 32], fpsr: 0, fpcr: 0 }
    }
}

impl Default for FpState {
    fn default() -> Self {
        Self::zeroed()
    }
}

const _: () = assert!(core::mem::size_of::<FpState>() == 528);

core::arch::global_asm!(
    r#"
.arch_extension fp
.arch_extension simd
.section .text, "ax"
.global fpsimd_save_state
fpsimd_save_state:
    stp     q0, q1, [x0, #(0 * 32)]
    stp     q2, q3, [x0, #(1 * 32)]
    stp     q4, q5, [x0, #(2 * 32)]
    stp     q6, q7, [x0, #(3 * 32)]
    stp     q8, q9, [x0, #(4 * 32)]
    stp     q10, q11, [x0, #(5 * 32)]
    stp     q12, q13, [x0, #(6 * 32)]
    stp     q14, q15, [x0, #(7 * 32)]
    stp     q16, q17, [x0, #(8 * 32)]
    stp     q18, q19, [x0, #(9 * 32)]
    stp     q20, q21, [x0, #(10 * 32)]
    stp     q22, q23, [x0, #(11 * 32)]
    stp     q24, q25, [x0, #(12 * 32)]
    stp     q26, q27, [x0, #(13 * 32)]
    stp     q28, q29, [x0, #(14 * 32)]
    stp     q30, q31, [x0, #(15 * 32)]
    mrs     x1, fpsr
    mrs     x2, fpcr
    str     w1, [x0, #512]
    str     w2, [x0, #516]
    ret

.global fpsimd_load_state
fpsimd_load_state:
    ldp     q0, q1, [x0, #(0 * 32)]
    ldp     q2, q3, [x0, #(1 * 32)]
    ldp     q4, q5, [x0, #(2 * 32)]
    ldp     q6, q7, [x0, #(3 * 32)]
    ldp     q8, q9, [x0, #(4 * 32)]
    ldp     q10, q11, [x0, #(5 * 32)]
    ldp     q12, q13, [x0, #(6 * 32)]
    ldp     q14, q15, [x0, #(7 * 32)]
    ldp     q16, q17, [x0, #(8 * 32)]
    ldp     q18, q19, [x0, #(9 * 32)]
    ldp     q20, q21, [x0, #(10 * 32)]
    ldp     q22, q23, [x0, #(11 * 32)]
    ldp     q24, q25, [x0, #(12 * 32)]
    ldp     q26, q27, [x0, #(13 * 32)]
    ldp     q28, q29, [x0, #(14 * 32)]
    ldp     q30, q31, [x0, #(15 * 32)]
    ldr     w1, [x0, #512]
    ldr     w2, [x0, #516]
    msr     fpsr, x1
    msr     fpcr, x2
    ret
"#
);

extern "C" {
    fn fpsimd_save_state(state: *mut FpState);
    fn fpsimd_load_state(state: *const FpState);
}

/// Lets EL0 and EL1 use FP/SIMD on this core (CPACR_EL1.FPEN = 0b11).
pub fn enable() {
    CPACR_EL1.modify(CPACR_EL1::FPEN::TrapNothing);
    // SAFETY: a barrier has no memory-safety effect.
    unsafe { core::arch::asm!("isb", options(nostack, preserves_flags)) };
}

/// Stores this core's FP/SIMD registers in `state`.
pub fn save(state: &mut FpState) {
    // SAFETY: the routine writes exactly 528 bytes to a valid FpState.
    unsafe { fpsimd_save_state(state) }
}

/// Loads this core's FP/SIMD registers from `state`.
pub fn load(state: &FpState) {
    // SAFETY: the routine reads exactly 528 bytes of a valid FpState.
    unsafe { fpsimd_load_state(state) }
}
