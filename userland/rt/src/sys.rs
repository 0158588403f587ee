//! Raw Linux aarch64 system calls: number in `x8`, arguments in `x0`-`x5`, `svc #0`, result in `x0`
//! with errors returned as `-errno` (-4095..=-1). The numbers are the generic table's.

use crate::{Errno, Result};
use core::arch::asm;

pub const GETCWD: usize = 17;
pub const DUP: usize = 23;
pub const DUP3: usize = 24;
pub const FCNTL: usize = 25;
pub const IOCTL: usize = 29;
pub const MKDIRAT: usize = 34;
pub const UNLINKAT: usize = 35;
pub const SYMLINKAT: usize = 36;
pub const LINKAT: usize = 37;
pub const UMOUNT2: usize = 39;
pub const MOUNT: usize = 40;
pub const STATFS: usize = 43;
pub const CHDIR: usize = 49;
pub const FCHMODAT: usize = 53;
pub const READLINKAT: usize = 78;
pub const UTIMENSAT: usize = 88;
pub const RENAMEAT2: usize = 276;
pub const OPENAT: usize = 56;
pub const CLOSE: usize = 57;
pub const PIPE2: usize = 59;
pub const GETDENTS64: usize = 61;
pub const LSEEK: usize = 62;
pub const READ: usize = 63;
pub const WRITE: usize = 64;
pub const WRITEV: usize = 66;
pub const NEWFSTATAT: usize = 79;
pub const FSTAT: usize = 80;
pub const EXIT: usize = 93;
pub const EXIT_GROUP: usize = 94;
pub const SET_TID_ADDRESS: usize = 96;
pub const FUTEX: usize = 98;
pub const NANOSLEEP: usize = 101;
pub const CLOCK_GETTIME: usize = 113;
pub const CLOCK_NANOSLEEP: usize = 115;
pub const SCHED_YIELD: usize = 124;
pub const KILL: usize = 129;
pub const REBOOT: usize = 142;
pub const TGKILL: usize = 131;
pub const RT_SIGSUSPEND: usize = 133;
pub const RT_SIGACTION: usize = 134;
pub const RT_SIGPROCMASK: usize = 135;
pub const RT_SIGRETURN: usize = 139;
pub const SETPGID: usize = 154;
pub const GETPGID: usize = 155;
pub const SETSID: usize = 157;
pub const UNAME: usize = 160;
pub const GETPID: usize = 172;
pub const GETPPID: usize = 173;
pub const GETUID: usize = 174;
pub const GETEUID: usize = 175;
pub const GETGID: usize = 176;
pub const GETEGID: usize = 177;
pub const GETTID: usize = 178;
pub const BRK: usize = 214;
pub const MUNMAP: usize = 215;
pub const CLONE: usize = 220;
pub const EXECVE: usize = 221;
pub const MMAP: usize = 222;
pub const MPROTECT: usize = 226;
pub const WAIT4: usize = 260;
pub const PRLIMIT64: usize = 261;
pub const GETRANDOM: usize = 278;

/// Turns a raw return value into `Ok(value)` or `Err(errno)`.
pub fn check(ret: isize) -> Result<usize> {
    if (-4095..0).contains(&ret) {
        Err(Errno(-ret as i32))
    } else {
        Ok(ret as usize)
    }
}

/// Issues system call `nr` with six arguments (unused ones are ignored by the kernel).
///
/// # Safety
/// The arguments must be valid for that system call: pointers must point to memory of the size and
/// mutability the call expects, and calls that change the address space or the process (`munmap`,
/// `execve`, `exit`, `clone`) must not invalidate anything Rust still relies on.
#[inline(always)]
pub unsafe fn syscall6(nr: usize, a0: usize, a1: usize, a2: usize, a3: usize, a4: usize, a5: usize) -> isize {
    let ret: isize;
    // SAFETY: `svc #0` enters the kernel, which only reads/writes memory through the pointer
    // arguments the caller vouches for, and preserves every register except x0 (the result).
    unsafe {
        asm!("svc #0", in("x8") nr, inlateout("x0") a0 => ret, in("x1") a1, in("x2") a2, in("x3") a3,
             in("x4") a4, in("x5") a5, options(nostack));
    }
    ret
}

/// Three-argument form of [`syscall6`].
///
/// # Safety
/// As for [`syscall6`].
#[inline(always)]
pub unsafe fn syscall3(nr: usize, a0: usize, a1: usize, a2: usize) -> isize {
    // SAFETY: forwarded to the caller's contract.
    unsafe { syscall6(nr, a0, a1, a2, 0, 0, 0) }
}

/// Four-argument form of [`syscall6`].
///
/// # Safety
/// As for [`syscall6`].
#[inline(always)]
pub unsafe fn syscall4(nr: usize, a0: usize, a1: usize, a2: usize, a3: usize) -> isize {
    // SAFETY: forwarded to the caller's contract.
    unsafe { syscall6(nr, a0, a1, a2, a3, 0, 0) }
}

/// A system call that takes no pointers and cannot fail in a way that harms memory safety
/// (getpid, setpgid, kill, sched_yield, ...).
pub fn plain(nr: usize, a0: usize, a1: usize, a2: usize) -> Result<usize> {
    // SAFETY: callers in this crate only pass numbers whose arguments are all plain integers.
    check(unsafe { syscall3(nr, a0, a1, a2) })
}
