//! AArch64 (ARMv8-A, Cortex-A72): boot, exception vectors, the MMU switch,
//! cache maintenance, backtraces and per-core primitives.

pub mod backtrace;
pub mod cache;
pub mod cpu;
pub mod esr;

#[cfg(target_os = "none")]
pub mod debug;
#[cfg(target_os = "none")]
pub mod exception;
#[cfg(target_os = "none")]
pub mod fpsimd;
#[cfg(target_os = "none")]
pub mod mmu;
#[cfg(target_os = "none")]
pub mod page;
#[cfg(target_os = "none")]
pub mod uaccess;

#[cfg(target_os = "none")]
core::arch::global_asm!(include_str!("boot.S"));
#[cfg(target_os = "none")]
core::arch::global_asm!(include_str!("switch.S"));
#[cfg(target_os = "none")]
core::arch::global_asm!(include_str!("string.S"));
#[cfg(target_os = "none")]
core::arch::global_asm!(include_str!("uaccess.S"));
