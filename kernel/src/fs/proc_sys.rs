//! `/proc/sys` (Linux: kernel/sysctl.c, fs/proc/proc_sysctl.c): kernel
//! settings as files. Reading gives the value and a newline; writing sets
//! it, with the same range checks as Linux (EINVAL outside them, and the
//! value unchanged).

use crate::errno::Errno;
use crate::fork::PIDS;
use alloc::format;
use alloc::string::String;
use core::sync::atomic::Ordering;

/// One setting.
pub struct Sysctl {
    /// Its path below `/proc/sys`.
    pub path: &'static str,
    pub read: fn() -> String,
    /// Sets it from the written text; none: read-only (mode 0444).
    pub write: Option<SysctlWrite>,
}

/// Sets a setting from the text written.
pub type SysctlWrite = fn(&str) -> Result<(), Errno>;

/// The number a write gives, as Linux's `proc_dointvec` reads it: leading
/// and trailing white space allowed.
fn parse_int(text: &str) -> Result<i64, Errno> {
    text.trim().parse::<i64>().map_err(|_| Errno::EINVAL)
}

/// Every setting.
pub const SYSCTLS: &[Sysctl] = &[
    Sysctl {
        path: "kernel/pid_max",
        read: || format!("{}\n", PIDS.lock().pid_max()),
        write: Some(|t| {
            let n = u32::try_from(parse_int(t)?).map_err(|_| Errno::EINVAL)?;
            PIDS.lock().set_pid_max(n)
        }),
    },
    Sysctl {
        path: "kernel/sched_child_runs_first",
        read: || format!("{}\n", crate::sched::core::SCHED_CHILD_RUNS_FIRST.load(Ordering::Relaxed) as u32),
        write: Some(|t| {
            // Linux took any integer, non-zero meaning on.
            let n = parse_int(t)?;
            crate::sched::core::SCHED_CHILD_RUNS_FIRST.store(n != 0, Ordering::Relaxed);
            Ok(())
        }),
    },
    Sysctl { path: "kernel/ostype", read: || String::from("Linux\n"), write: None },
    Sysctl { path: "kernel/osrelease", read: || String::from("6.1.0-rpi4-rust\n"), write: None },
];

/// The directories: `sys` and `sys/kernel`.
pub const DIRS: [&str; 2] = ["", "kernel"];

/// The setting at `path` (below /proc/sys).
pub fn find(path: &str) -> Option<&'static Sysctl> {
    SYSCTLS.iter().find(|s| s.path == path)
}
