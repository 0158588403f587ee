//! CPU time per CPU (Linux: kernel/sched/cputime.c with tick-based
//! accounting, `account_process_tick` into `kernel_cpustat`): every timer
//! tick charges one tick period to the CPU's user, nice, system or idle
//! time, by what the tick interrupted. `/proc/stat` prints these.
//!
//! Departures from Linux: time spent handling interrupts is charged to
//! what they interrupted (Linux does the same without
//! CONFIG_IRQ_TIME_ACCOUNTING), and no time is iowait or steal.

use crate::config::{HZ, NR_CPUS};
use core::sync::atomic::{AtomicU64, Ordering};

/// The fields of one CPU's times (Linux: `enum cpu_usage_stat`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuTimes {
    /// Nanoseconds in user mode at nice 0 or below.
    pub user: u64,
    /// Nanoseconds in user mode at a positive nice.
    pub nice: u64,
    /// Nanoseconds in the kernel, idle task aside.
    pub system: u64,
    /// Nanoseconds in the idle task.
    pub idle: u64,
}

/// Which field a tick is charged to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TickKind {
    User { niced: bool },
    System,
    Idle,
}

struct KernelCpustat {
    user: AtomicU64,
    nice: AtomicU64,
    system: AtomicU64,
    idle: AtomicU64,
}

static KCPUSTAT: [KernelCpustat; NR_CPUS] = [const {
    KernelCpustat {
        user: AtomicU64::new(0),
        nice: AtomicU64::new(0),
        system: AtomicU64::new(0),
        idle: AtomicU64::new(0),
    }
}; NR_CPUS];

/// Charges one tick on `cpu` (Linux: `account_process_tick`).
pub fn account_process_tick(cpu: usize, kind: TickKind) {
    let Some(stat) = KCPUSTAT.get(cpu) else { return };
    let field = match kind {
        TickKind::User { niced: false } => &stat.user,
        TickKind::User { niced: true } => &stat.nice,
        TickKind::System => &stat.system,
        TickKind::Idle => &stat.idle,
    };
    field.fetch_add(1_000_000_000 / HZ as u64, Ordering::Relaxed);
}

/// The times of `cpu` so far (Linux: `kcpustat_cpu`).
pub fn kcpustat_cpu(cpu: usize) -> CpuTimes {
    KCPUSTAT.get(cpu).map_or(CpuTimes::default(), |s| CpuTimes {
        user: s.user.load(Ordering::Relaxed),
        nice: s.nice.load(Ordering::Relaxed),
        system: s.system.load(Ordering::Relaxed),
        idle: s.idle.load(Ordering::Relaxed),
    })
}
