//! Linux error numbers (asm-generic/errno-base.h, errno.h). Kernel functions
//! that can fail return `Result<T, Errno>`; system calls hand `-errno` to user
//! space.

use core::fmt;

/// A Linux errno value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Errno {
    EPERM = 1,
    ENOENT = 2,
    ESRCH = 3,
    EINTR = 4,
    EIO = 5,
    ENXIO = 6,
    E2BIG = 7,
    ENOEXEC = 8,
    EBADF = 9,
    ECHILD = 10,
    EAGAIN = 11,
    ENOMEM = 12,
    EACCES = 13,
    EFAULT = 14,
    ENOTBLK = 15,
    EBUSY = 16,
    EEXIST = 17,
    EXDEV = 18,
    ENODEV = 19,
    ENOTDIR = 20,
    EISDIR = 21,
    EINVAL = 22,
    EMFILE = 24,
    ENOTTY = 25,
    ETXTBSY = 26,
    EFBIG = 27,
    ENOSPC = 28,
    ESPIPE = 29,
    EROFS = 30,
    EMLINK = 31,
    EPIPE = 32,
    ERANGE = 34,
    EDEADLK = 35,
    ENAMETOOLONG = 36,
    ENOLCK = 37,
    ENOSYS = 38,
    ENOTEMPTY = 39,
    ELOOP = 40,
    ENOMSG = 42,
    EIDRM = 43,
    EOVERFLOW = 75,
    ENOTSOCK = 88,
    EDESTADDRREQ = 89,
    EMSGSIZE = 90,
    EPROTOTYPE = 91,
    ENOPROTOOPT = 92,
    EPROTONOSUPPORT = 93,
    ESOCKTNOSUPPORT = 94,
    EOPNOTSUPP = 95,
    EAFNOSUPPORT = 97,
    EADDRINUSE = 98,
    EADDRNOTAVAIL = 99,
    ECONNRESET = 104,
    ENOBUFS = 105,
    EISCONN = 106,
    ENOTCONN = 107,
    ETOOMANYREFS = 109,
    ETIMEDOUT = 110,
    ECONNREFUSED = 111,
    EALREADY = 114,
    /// Kernel-internal: the system call is restarted unless a handler without
    /// SA_RESTART runs, when user space sees EINTR (never reaches user space).
    ERESTARTSYS = 512,
    /// Kernel-internal: restarted when no handler runs; after a handler,
    /// EINTR whatever SA_RESTART says (sigsuspend, absolute sleeps).
    ERESTARTNOHAND = 514,
    /// Kernel-internal: restart through `restart_syscall` (the task's
    /// restart block) unless a handler runs, when user space sees EINTR.
    #[allow(non_camel_case_types)]
    ERESTART_RESTARTBLOCK = 516,
}

impl Errno {
    /// The kernel-internal restart request a system call's raw result `ret`
    /// (x0) carries, if any: ERESTARTSYS, ERESTARTNOHAND or
    /// ERESTART_RESTARTBLOCK, which the way back to user mode resolves.
    pub fn restart_request(ret: i64) -> Option<Errno> {
        [Errno::ERESTARTSYS, Errno::ERESTARTNOHAND, Errno::ERESTART_RESTARTBLOCK]
            .into_iter()
            .find(|&e| ret == -(e as i64))
    }

    /// The symbolic name, as `strerror`-less tools print it.
    pub fn name(self) -> &'static str {
        use Errno::*;
        match self {
            EPERM => "EPERM",
            ENOENT => "ENOENT",
            ESRCH => "ESRCH",
            EINTR => "EINTR",
            EIO => "EIO",
            ENXIO => "ENXIO",
            E2BIG => "E2BIG",
            ENOEXEC => "ENOEXEC",
            EBADF => "EBADF",
            ECHILD => "ECHILD",
            EAGAIN => "EAGAIN",
            ENOMEM => "ENOMEM",
            EACCES => "EACCES",
            EFAULT => "EFAULT",
            ENOTBLK => "ENOTBLK",
            EBUSY => "EBUSY",
            EEXIST => "EEXIST",
            EXDEV => "EXDEV",
            ENODEV => "ENODEV",
            ENOTDIR => "ENOTDIR",
            EISDIR => "EISDIR",
            EINVAL => "EINVAL",
            EMFILE => "EMFILE",
            ENOTTY => "ENOTTY",
            ETXTBSY => "ETXTBSY",
            EFBIG => "EFBIG",
            ENOSPC => "ENOSPC",
            ESPIPE => "ESPIPE",
            EROFS => "EROFS",
            EMLINK => "EMLINK",
            EPIPE => "EPIPE",
            ERANGE => "ERANGE",
            EDEADLK => "EDEADLK",
            ENAMETOOLONG => "ENAMETOOLONG",
            ENOLCK => "ENOLCK",
            ENOSYS => "ENOSYS",
            ENOTEMPTY => "ENOTEMPTY",
            ELOOP => "ELOOP",
            ENOMSG => "ENOMSG",
            EIDRM => "EIDRM",
            EOVERFLOW => "EOVERFLOW",
            EOPNOTSUPP => "EOPNOTSUPP",
            ENOTSOCK => "ENOTSOCK",
            EDESTADDRREQ => "EDESTADDRREQ",
            EMSGSIZE => "EMSGSIZE",
            EPROTOTYPE => "EPROTOTYPE",
            ENOPROTOOPT => "ENOPROTOOPT",
            EPROTONOSUPPORT => "EPROTONOSUPPORT",
            ESOCKTNOSUPPORT => "ESOCKTNOSUPPORT",
            EAFNOSUPPORT => "EAFNOSUPPORT",
            EADDRINUSE => "EADDRINUSE",
            EADDRNOTAVAIL => "EADDRNOTAVAIL",
            ECONNRESET => "ECONNRESET",
            ENOBUFS => "ENOBUFS",
            EISCONN => "EISCONN",
            ENOTCONN => "ENOTCONN",
            ETOOMANYREFS => "ETOOMANYREFS",
            ECONNREFUSED => "ECONNREFUSED",
            EALREADY => "EALREADY",
            ETIMEDOUT => "ETIMEDOUT",
            ERESTARTSYS => "ERESTARTSYS",
            ERESTARTNOHAND => "ERESTARTNOHAND",
            ERESTART_RESTARTBLOCK => "ERESTART_RESTARTBLOCK",
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), *self as i32)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::Errno;
    use std::string::ToString;

    #[test]
    fn numbers_match_linux() {
        assert_eq!(Errno::EAGAIN as i32, 11);
        assert_eq!(Errno::EFAULT as i32, 14);
        assert_eq!(Errno::ENOSYS as i32, 38);
        assert_eq!(Errno::ECHILD.to_string(), "ECHILD (10)");
    }
}
