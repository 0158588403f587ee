//! A Raspberry Pi 4 kernel with the Linux process model.
//!
//! Layers: `arch` (AArch64: boot, vectors, MMU, caches, FP/SIMD), the board
//! support crate `bsp` (PL011, GIC-400, timer, mailbox, GPIO, watchdog), and
//! the generic kernel here (memory and address spaces, interrupts, time, SMP,
//! tasks and scheduling, signals, files, system calls, the console and its
//! debug monitor).
//!
//! Modules that touch hardware exist only on the bare-metal target
//! (`target_os = "none"`); the rest is plain logic that the host's
//! `cargo test` checks.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod arch;
pub mod block;
pub mod cmdline;
pub mod config;
pub mod configs;
pub mod errno;
pub mod fdt;
pub mod fs;
pub mod ipc;
pub mod mm;
pub mod pid;
pub mod prctl;
pub mod sched;
pub mod shell;
pub mod sync;
pub mod trace;
pub mod util;
pub mod wstatus;

#[cfg(target_os = "none")]
pub mod board;
#[cfg(target_os = "none")]
pub mod bootinfo;
#[cfg(target_os = "none")]
pub mod console;
#[cfg(target_os = "none")]
pub mod cred;
#[cfg(target_os = "none")]
pub mod exit;
#[cfg(target_os = "none")]
pub mod fork;
#[cfg(target_os = "none")]
pub mod futex;
#[cfg(target_os = "none")]
pub mod heartbeat;
#[cfg(target_os = "none")]
pub mod init;
#[cfg(target_os = "none")]
pub mod initproc;
#[cfg(target_os = "none")]
pub mod irq;
#[cfg(target_os = "none")]
pub mod itimer;
#[cfg(target_os = "none")]
pub mod kthread;
#[cfg(target_os = "none")]
pub mod logger;
#[cfg(target_os = "none")]
pub mod net;
#[cfg(target_os = "none")]
mod panic;
#[cfg(target_os = "none")]
pub mod pidfd;
#[cfg(target_os = "none")]
pub mod posix_timers;
#[cfg(target_os = "none")]
pub mod printk;
#[cfg(target_os = "none")]
pub mod ptrace;
#[cfg(target_os = "none")]
pub mod random;
#[cfg(target_os = "none")]
pub mod signal;
#[cfg(target_os = "none")]
pub mod smp;
#[cfg(target_os = "none")]
pub mod syscall;
#[cfg(target_os = "none")]
pub mod time;
#[cfg(target_os = "none")]
pub mod timekeeping;
