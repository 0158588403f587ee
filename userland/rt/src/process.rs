//! Processes: exit, fork (as `clone(SIGCHLD, 0)`), execve, wait4, kill, process groups and sessions,
//! identity, uname, resource limits, random bytes.

use crate::cstr::to_c;
use crate::sys::{self, check, syscall3, syscall4, syscall6};
use crate::{Errno, Result};
use alloc::vec::Vec;

/// Ends the whole process (`exit_group`).
pub fn exit(code: i32) -> ! {
    loop {
        // SAFETY: exit_group takes only an integer and never returns.
        unsafe { sys::syscall3(sys::EXIT_GROUP, code as usize, 0, 0) };
    }
}

/// Ends only the calling thread (`exit`).
pub fn exit_thread(code: i32) -> ! {
    loop {
        // SAFETY: exit takes only an integer and never returns.
        unsafe { sys::syscall3(sys::EXIT, code as usize, 0, 0) };
    }
}

/// Which side of a fork the caller is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fork {
    Child,
    Parent(i32),
}

/// `fork()` as musl does it on aarch64: `clone(SIGCHLD, 0, 0, 0, 0)`.
pub fn fork() -> Result<Fork> {
    const SIGCHLD: usize = 17;
    // SAFETY: without CLONE_VM the child gets a copy of the address space and continues on its own
    // copy of this stack (stack argument 0), so no memory is shared.
    let pid = check(unsafe { syscall6(sys::CLONE, SIGCHLD, 0, 0, 0, 0, 0) })?;
    Ok(if pid == 0 { Fork::Child } else { Fork::Parent(pid as i32) })
}

/// Replaces the program. Returns only on failure, with the error.
pub fn execve(path: &[u8], argv: &[&[u8]], envp: &[&[u8]]) -> Errno {
    fn c_array(items: &[&[u8]]) -> Result<(Vec<Vec<u8>>, Vec<*const u8>)> {
        let owned = items.iter().map(|s| to_c(s)).collect::<Result<Vec<_>>>()?;
        let mut ptrs: Vec<*const u8> = owned.iter().map(|s| s.as_ptr()).collect();
        ptrs.push(core::ptr::null());
        Ok((owned, ptrs))
    }
    let prepared = (|| Ok((to_c(path)?, c_array(argv)?, c_array(envp)?)))();
    let (cpath, (_argv_owned, argv_ptrs), (_envp_owned, envp_ptrs)) = match prepared {
        Ok(p) => p,
        Err(e) => return e,
    };
    // SAFETY: path and every argv/envp string are NUL-terminated and the pointer arrays NULL-terminated;
    // all of them stay alive for the duration of the call.
    let ret = unsafe {
        syscall3(sys::EXECVE, cpath.as_ptr() as usize, argv_ptrs.as_ptr() as usize, envp_ptrs.as_ptr() as usize)
    };
    match check(ret) {
        Err(e) => e,
        Ok(_) => Errno::EINVAL,
    }
}

/// `wait4` options.
pub const WNOHANG: i32 = 1;
pub const WUNTRACED: i32 = 2;
pub const WCONTINUED: i32 = 8;

/// A wait status as `wait4` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitStatus(pub i32);

impl WaitStatus {
    /// `WIFEXITED` → the exit code.
    pub fn exit_code(self) -> Option<i32> {
        if self.0 & 0x7f == 0 {
            Some((self.0 >> 8) & 0xff)
        } else {
            None
        }
    }

    /// `WIFSIGNALED` → the signal that killed it.
    pub fn term_signal(self) -> Option<i32> {
        let sig = self.0 & 0x7f;
        if sig != 0 && sig != 0x7f {
            Some(sig)
        } else {
            None
        }
    }

    /// `WCOREDUMP`.
    pub fn core_dumped(self) -> bool {
        self.term_signal().is_some() && self.0 & 0x80 != 0
    }

    /// `WIFSTOPPED` → the signal that stopped it.
    pub fn stop_signal(self) -> Option<i32> {
        if self.0 & 0xff == 0x7f {
            Some((self.0 >> 8) & 0xff)
        } else {
            None
        }
    }

    /// `WIFCONTINUED`.
    pub fn continued(self) -> bool {
        self.0 == 0xffff
    }

    /// The shell's `$?` for this status: the exit code, or 128 + signal.
    pub fn shell_status(self) -> i32 {
        match (self.exit_code(), self.term_signal(), self.stop_signal()) {
            (Some(code), _, _) => code,
            (_, Some(sig), _) | (_, _, Some(sig)) => 128 + sig,
            _ => 0,
        }
    }
}

/// Waits for a child (`pid` > 0), any child (-1), any in our group (0) or in group -`pid`.
/// Returns `Ok(None)` with `WNOHANG` when no child has changed state yet.
pub fn wait4(pid: i32, options: i32) -> Result<Option<(i32, WaitStatus)>> {
    let mut status: i32 = 0;
    // SAFETY: the kernel writes one int to `status`; the rusage pointer is NULL.
    let ret =
        check(unsafe { syscall4(sys::WAIT4, pid as usize, &mut status as *mut i32 as usize, options as usize, 0) })?;
    Ok(if ret == 0 { None } else { Some((ret as i32, WaitStatus(status))) })
}

/// Sends `sig` to a process (`pid` > 0), a process group (`pid` < -1 → group -pid) or more.
pub fn kill(pid: i32, sig: i32) -> Result<()> {
    sys::plain(sys::KILL, pid as usize, sig as usize, 0).map(drop)
}

/// `reboot(2)` commands (Linux's `LINUX_REBOOT_CMD_*`).
pub mod reboot_cmd {
    pub const RESTART: usize = 0x0123_4567;
    pub const HALT: usize = 0xcdef_0123;
    pub const POWER_OFF: usize = 0x4321_fedc;
}

/// Restarts, halts or powers off the machine (`reboot(2)` with Linux's magic numbers); returns
/// only on failure.
pub fn reboot(cmd: usize) -> crate::Errno {
    const MAGIC1: usize = 0xfee1_dead;
    const MAGIC2: usize = 672_274_793;
    match sys::plain(sys::REBOOT, MAGIC1, MAGIC2, cmd) {
        Ok(_) => crate::Errno(0),
        Err(e) => e,
    }
}

/// Sends `sig` to one thread.
pub fn tgkill(tgid: i32, tid: i32, sig: i32) -> Result<()> {
    sys::plain(sys::TGKILL, tgid as usize, tid as usize, sig as usize).map(drop)
}

/// The caller's PID.
pub fn getpid() -> i32 {
    sys::plain(sys::GETPID, 0, 0, 0).unwrap_or(0) as i32
}

/// The parent's PID.
pub fn getppid() -> i32 {
    sys::plain(sys::GETPPID, 0, 0, 0).unwrap_or(0) as i32
}

/// The caller's thread ID.
pub fn gettid() -> i32 {
    sys::plain(sys::GETTID, 0, 0, 0).unwrap_or(0) as i32
}

/// Real and effective user and group IDs: (uid, euid, gid, egid).
pub fn ids() -> (u32, u32, u32, u32) {
    let get = |nr| sys::plain(nr, 0, 0, 0).unwrap_or(0) as u32;
    (get(sys::GETUID), get(sys::GETEUID), get(sys::GETGID), get(sys::GETEGID))
}

/// Moves process `pid` (0 = caller) into group `pgid` (0 = a group named after `pid`).
pub fn setpgid(pid: i32, pgid: i32) -> Result<()> {
    sys::plain(sys::SETPGID, pid as usize, pgid as usize, 0).map(drop)
}

/// The process group of `pid` (0 = caller).
pub fn getpgid(pid: i32) -> Result<i32> {
    sys::plain(sys::GETPGID, pid as usize, 0, 0).map(|v| v as i32)
}

/// Starts a new session (and process group) led by the caller; returns its ID.
pub fn setsid() -> Result<i32> {
    sys::plain(sys::SETSID, 0, 0, 0).map(|v| v as i32)
}

/// Gives up the processor.
pub fn sched_yield() {
    let _ = sys::plain(sys::SCHED_YIELD, 0, 0, 0);
}

/// Sets the clear-child-tid address (here: 0, nothing to clear); returns the caller's TID.
pub fn set_tid_address_null() -> i32 {
    sys::plain(sys::SET_TID_ADDRESS, 0, 0, 0).unwrap_or(0) as i32
}

/// `struct utsname`: six 65-byte NUL-padded fields.
#[repr(C)]
pub struct Utsname {
    pub sysname: [u8; 65],
    pub nodename: [u8; 65],
    pub release: [u8; 65],
    pub version: [u8; 65],
    pub machine: [u8; 65],
    pub domainname: [u8; 65],
}

/// The bytes of a NUL-padded field.
pub fn field(f: &[u8]) -> &[u8] {
    &f[..f.iter().position(|&b| b == 0).unwrap_or(f.len())]
}

/// System identification.
pub fn uname() -> Result<Utsname> {
    let mut u = Utsname {
        sysname: [0; 65],
        nodename: [0; 65],
        release: [0; 65],
        version: [0; 65],
        machine: [0; 65],
        domainname: [0; 65],
    };
    // SAFETY: the kernel writes one `struct utsname` (6 * 65 bytes) into `u`.
    check(unsafe { syscall3(sys::UNAME, &mut u as *mut Utsname as usize, 0, 0) })?;
    Ok(u)
}

/// A resource limit pair (current, maximum); `u64::MAX` is "unlimited".
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Rlimit {
    pub cur: u64,
    pub max: u64,
}

/// Reads (and with `new`, sets) resource `resource` of process `pid` (0 = caller).
pub fn prlimit(pid: i32, resource: u32, new: Option<Rlimit>) -> Result<Rlimit> {
    let mut old = Rlimit::default();
    let new_ptr = new.as_ref().map_or(0, |r| r as *const Rlimit as usize);
    // SAFETY: `new_ptr` is NULL or points to a live Rlimit; the kernel writes one Rlimit into `old`.
    check(unsafe {
        syscall4(sys::PRLIMIT64, pid as usize, resource as usize, new_ptr, &mut old as *mut Rlimit as usize)
    })?;
    Ok(old)
}

/// Fills `buf` with random bytes (may return fewer than requested).
pub fn getrandom(buf: &mut [u8]) -> Result<usize> {
    // SAFETY: the kernel writes at most buf.len() bytes into the exclusively borrowed buffer.
    check(unsafe { syscall3(sys::GETRANDOM, buf.as_mut_ptr() as usize, buf.len(), 0) })
}
