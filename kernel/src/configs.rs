//! The kernel's configuration in Linux's `.config` form, served gzipped as
//! `/proc/config.gz` (Linux: kernel/configs.c with CONFIG_IKCONFIG_PROC),
//! which test suites and `zcat /proc/config.gz | grep ...` read to learn
//! what the running kernel offers.
//!
//! Each line says truthfully whether this kernel has what the Linux option
//! stands for: `CONFIG_X=y` where the facility is here with Linux's ABI,
//! `# CONFIG_X is not set` where its system calls give ENOSYS or EINVAL as
//! they do on a Linux built without it. Keep it in step with the code.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Options with a fixed answer, grouped as Linux's menus group them.
const OPTIONS: &[(&str, Option<&str>)] = &[
    ("# General setup", None),
    ("SYSVIPC", Some("y")),
    ("SYSVIPC_SYSCTL", Some("y")),
    ("# CONFIG_POSIX_MQUEUE", None),
    ("POSIX_TIMERS", Some("y")),
    ("FUTEX", Some("y")),
    ("FUTEX_PI", Some("y")),
    ("# CONFIG_EPOLL", None),
    ("# CONFIG_SIGNALFD", None),
    ("# CONFIG_TIMERFD", None),
    ("# CONFIG_EVENTFD", None),
    ("SHMEM", Some("y")),
    ("ADVISE_SYSCALLS", Some("y")),
    ("# CONFIG_MEMBARRIER", None),
    ("# CONFIG_IO_URING", None),
    ("# CONFIG_BPF_SYSCALL", None),
    ("# CONFIG_USERFAULTFD", None),
    ("# CONFIG_PERF_EVENTS", None),
    ("PRINTK", Some("y")),
    ("IKCONFIG", Some("y")),
    ("IKCONFIG_PROC", Some("y")),
    ("BLK_DEV_INITRD", Some("y")),
    ("# CONFIG_NAMESPACES", None),
    ("# CONFIG_UTS_NS", None),
    ("# CONFIG_IPC_NS", None),
    ("# CONFIG_USER_NS", None),
    ("# CONFIG_PID_NS", None),
    ("# CONFIG_NET_NS", None),
    ("# CONFIG_CGROUPS", None),
    ("# CONFIG_MODULES", None),
    ("# CONFIG_SWAP", None),
    ("# CONFIG_SECCOMP", None),
    ("# Platform and processor", None),
    ("ARM64", Some("y")),
    ("64BIT", Some("y")),
    ("MMU", Some("y")),
    ("ARCH_BCM2835", Some("y")),
    ("ARM64_4K_PAGES", Some("y")),
    ("ARM64_VA_BITS_48", Some("y")),
    ("SMP", Some("y")),
    ("PREEMPT", Some("y")),
    ("# CONFIG_KEXEC", None),
    ("# Executable file formats", None),
    ("BINFMT_ELF", Some("y")),
    ("BINFMT_SCRIPT", Some("y")),
    ("# CONFIG_BINFMT_MISC", None),
    ("# CONFIG_COREDUMP", None),
    ("# Networking", None),
    ("NET", Some("y")),
    ("UNIX", Some("y")),
    ("# CONFIG_INET", None),
    ("# Device drivers", None),
    ("TTY", Some("y")),
    ("SERIAL_AMBA_PL011", Some("y")),
    ("SERIAL_AMBA_PL011_CONSOLE", Some("y")),
    ("MMC", Some("y")),
    ("MMC_BLOCK", Some("y")),
    ("MSDOS_PARTITION", Some("y")),
    ("# File systems", None),
    ("FILE_LOCKING", Some("y")),
    ("FAT_FS", Some("y")),
    ("VFAT_FS", Some("y")),
    ("PROC_FS", Some("y")),
    ("PROC_SYSCTL", Some("y")),
    ("TMPFS", Some("y")),
    ("DEVTMPFS", Some("y")),
    ("# CONFIG_EXT4_FS", None),
    ("# CONFIG_INOTIFY_USER", None),
    ("# CONFIG_FANOTIFY", None),
    ("# Kernel hacking", None),
    ("FTRACE", Some("y")),
];

/// The configuration as text: a header, then each option as Linux writes
/// it (`CONFIG_X=y` or `CONFIG_X=<number>`, `# CONFIG_X is not set`, menu
/// comments between `#` lines).
pub fn config_text() -> String {
    let mut out =
        format!("#\n# Linux/arm64 6.1.0 Kernel Configuration (rpi4-kernel {})\n#\n", env!("CARGO_PKG_VERSION"));
    out.push_str(&format!("CONFIG_NR_CPUS={}\n", crate::config::NR_CPUS));
    out.push_str(&format!("CONFIG_HZ={}\n", crate::config::HZ));
    for &(name, value) in OPTIONS {
        match (name.strip_prefix("# CONFIG_"), value) {
            (Some(off), _) => out.push_str(&format!("# CONFIG_{off} is not set\n")),
            (None, Some(v)) => out.push_str(&format!("CONFIG_{name}={v}\n")),
            (None, None) => out.push_str(&format!("\n#\n{name}\n#\n")),
        }
    }
    out
}

/// `/proc/config.gz`'s bytes; None when memory runs out.
pub fn config_gz() -> Option<Vec<u8>> {
    crate::util::gzip::gzip_stored(config_text().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_in_linux_config_form() {
        let text = config_text();
        for want in ["CONFIG_SYSVIPC=y\n", "CONFIG_TMPFS=y\n", "# CONFIG_NET_NS is not set\n", "CONFIG_HZ="] {
            assert!(text.contains(want), "{want:?} missing");
        }
        for line in text.lines().filter(|l| !l.is_empty()) {
            let ok = line == "#"
                || (line.starts_with("# ") && !line.starts_with("# CONFIG_"))
                || (line.starts_with("# CONFIG_") && line.ends_with(" is not set"))
                || (line.starts_with("CONFIG_") && line.contains('='));
            assert!(ok, "{line:?} is not in .config form");
        }
    }
}
