//! `/proc/sys` (Linux: kernel/sysctl.c, fs/proc/proc_sysctl.c): kernel
//! settings as files. Reading gives the value and a newline; writing sets
//! it, with the same range checks as Linux (EINVAL outside them, and the
//! value unchanged).

use crate::errno::Errno;
use crate::fork::PIDS;
use crate::mm::overcommit;
use alloc::format;
use alloc::string::String;
use core::sync::atomic::Ordering;

/// One setting.
pub struct Sysctl {
    /// Its path below `/proc/sys`.
    pub path: &'static str,
    /// Its value as text; none: write-only (mode 0200, EACCES to a reader).
    pub read: Option<fn() -> String>,
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
        read: Some(|| format!("{}\n", PIDS.lock().pid_max())),
        write: Some(|t| {
            let n = u32::try_from(parse_int(t)?).map_err(|_| Errno::EINVAL)?;
            PIDS.lock().set_pid_max(n)
        }),
    },
    Sysctl {
        path: "kernel/sched_child_runs_first",
        read: Some(|| format!("{}\n", crate::sched::core::SCHED_CHILD_RUNS_FIRST.load(Ordering::Relaxed) as u32)),
        write: Some(|t| {
            // Linux took any integer, non-zero meaning on.
            let n = parse_int(t)?;
            crate::sched::core::SCHED_CHILD_RUNS_FIRST.store(n != 0, Ordering::Relaxed);
            Ok(())
        }),
    },
    Sysctl {
        path: "kernel/hostname",
        read: Some(|| format!("{}\n", hostname())),
        // Linux takes the text up to a newline, at most 64 bytes.
        write: Some(|t| set_hostname(t.strip_suffix('\n').unwrap_or(t).as_bytes())),
    },
    Sysctl {
        path: "kernel/threads-max",
        read: Some(|| format!("{}\n", crate::fork::max_threads())),
        // Linux: `sysctl_max_threads`, a `proc_dointvec_minmax` within
        // MIN_THREADS..MAX_THREADS.
        write: Some(|t| {
            let (low, high) = crate::fork::THREADS_MAX_RANGE;
            let n = usize::try_from(parse_int(t)?).map_err(|_| Errno::EINVAL)?;
            if !(low..=high).contains(&n) {
                return Err(Errno::EINVAL);
            }
            crate::fork::MAX_THREADS.store(n, Ordering::Relaxed);
            Ok(())
        }),
    },
    Sysctl { path: "kernel/ostype", read: Some(|| String::from("Linux\n")), write: None },
    Sysctl { path: "kernel/osrelease", read: Some(|| String::from("6.1.0-rpi4-rust\n")), write: None },
    // Overcommit (mm/overcommit.rs); EINVAL and the value unchanged
    // outside the ranges.
    Sysctl {
        path: "vm/overcommit_memory",
        read: Some(|| format!("{}\n", overcommit::mode())),
        write: Some(|t| overcommit::set_mode(parse_int(t)?)),
    },
    Sysctl {
        path: "vm/overcommit_ratio",
        read: Some(|| format!("{}\n", overcommit::ratio())),
        write: Some(|t| overcommit::set_ratio(parse_int(t)?)),
    },
    Sysctl {
        path: "vm/overcommit_kbytes",
        read: Some(|| format!("{}\n", overcommit::kbytes())),
        write: Some(|t| overcommit::set_kbytes(parse_int(t)?)),
    },
    // Linux: `drop_caches_sysctl_handler`, 1 to 4 (4 only silences its
    // message); 1 and 3 drop the clean buffers of the disks (the page cache
    // here is tmpfs, which is never clean), 2 and 3 the slab caches.
    Sysctl {
        path: "vm/drop_caches",
        read: None,
        write: Some(|t| {
            let n = parse_int(t)?;
            if !(1..=4).contains(&n) {
                return Err(Errno::EINVAL);
            }
            if n & 1 != 0 {
                crate::block::bdev::shrink_buffers();
            }
            if n & 2 != 0 {
                crate::fork::shrink_caches();
            }
            Ok(())
        }),
    },
    Sysctl {
        path: "vm/user_reserve_kbytes",
        read: Some(|| format!("{}\n", overcommit::user_reserve_kbytes())),
        write: Some(|t| overcommit::set_user_reserve_kbytes(parse_int(t)?)),
    },
];

/// The directories: `sys`, `sys/kernel` and `sys/vm`.
pub const DIRS: [&str; 3] = ["", "kernel", "vm"];

/// The setting at `path` (below /proc/sys).
pub fn find(path: &str) -> Option<&'static Sysctl> {
    SYSCTLS.iter().find(|s| s.path == path)
}

/// Longest host name (Linux: __NEW_UTS_LEN).
pub const HOST_NAME_MAX: usize = 64;

/// The host name (`uname`'s nodename) and its length.
static HOSTNAME: crate::sync::IrqSpinLock<([u8; HOST_NAME_MAX], usize)> =
    crate::sync::IrqSpinLock::new((initial_hostname(), 4));

const fn initial_hostname() -> [u8; HOST_NAME_MAX] {
    let mut name = [0; HOST_NAME_MAX];
    name[0] = b'r';
    name[1] = b'p';
    name[2] = b'i';
    name[3] = b'4';
    name
}

/// The host name now.
pub fn hostname() -> String {
    let h = HOSTNAME.lock();
    String::from_utf8_lossy(&h.0[..h.1]).into_owned()
}

/// Sets the host name (Linux: `sethostname`, `proc_do_uts_string`):
/// EINVAL past 64 bytes.
pub fn set_hostname(name: &[u8]) -> Result<(), Errno> {
    if name.len() > HOST_NAME_MAX {
        return Err(Errno::EINVAL);
    }
    let mut h = HOSTNAME.lock();
    h.0 = [0; HOST_NAME_MAX];
    h.0[..name.len()].copy_from_slice(name);
    h.1 = name.len();
    Ok(())
}
