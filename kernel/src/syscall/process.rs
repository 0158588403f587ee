//! Process system calls (Linux: kernel/fork.c, fs/exec.c, kernel/exit.c,
//! kernel/sys.c): clone, execve, exit, wait4, identities, process groups
//! and sessions, resource limits.

use super::{nr, SysResult};
use crate::arch::exception::TrapFrame;
use crate::errno::Errno;
use crate::exit::{kernel_wait4, WaitFor};
use crate::fork::{kernel_clone, UserCloneArgs};
use crate::mm::uaccess::{self, copy_from_user, copy_to_user};
use crate::pid::Pid;
use crate::sched::task::{current, for_each_process, TaskRef, TASKLIST};
use crate::signal::{Rlimit, RLIM_NLIMITS};
use crate::wstatus;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

/// Calls that need the trap frame.
pub fn dispatch(number: u64, a: &[u64; 6], frame: &mut TrapFrame) -> SysResult {
    match number {
        // clone(flags, stack, parent_tid, tls, child_tid): arm64's order.
        nr::CLONE => {
            let args = UserCloneArgs {
                flags: a[0] & !crate::fork::clone_flags::CSIGNAL,
                exit_signal: (a[0] & crate::fork::clone_flags::CSIGNAL) as i32,
                stack: a[1],
                parent_tid: a[2],
                tls: a[3],
                child_tid: a[4],
            };
            if args.exit_signal > crate::signal::NSIG {
                return Err(Errno::EINVAL);
            }
            kernel_clone(args, frame).map(|pid| pid as u64)
        }
        nr::EXECVE => sys_execve(a[0], a[1], a[2], frame),
        _ => Err(Errno::ENOSYS),
    }
}

pub fn dispatch_simple(number: u64, a: &[u64; 6]) -> Option<SysResult> {
    let me = current();
    Some(match number {
        nr::EXIT => crate::exit::do_exit(wstatus::exited((a[0] & 0xff) as i32)),
        nr::EXIT_GROUP => crate::signal::do_group_exit(wstatus::exited((a[0] & 0xff) as i32)),
        nr::WAIT4 => sys_wait4(a[0] as i32, a[1], a[2] as u32, a[3]),
        nr::GETPID => Ok(me.tgid() as u64),
        nr::GETTID => Ok(me.pid() as u64),
        nr::GETPPID => Ok(getppid(me) as u64),
        nr::GETUID | nr::GETEUID | nr::GETGID | nr::GETEGID => Ok(0),
        // No credentials: every task is root and stays root. Becoming root
        // is a no-op; becoming anyone else is refused.
        nr::SETUID | nr::SETGID => {
            if a[0] == 0 {
                Ok(0)
            } else {
                Err(Errno::EPERM)
            }
        }
        nr::SETREUID | nr::SETREGID | nr::SETRESUID | nr::SETRESGID => {
            if a[..3].iter().all(|&id| id == 0 || id as u32 == u32::MAX) {
                Ok(0)
            } else {
                Err(Errno::EPERM)
            }
        }
        nr::SET_TID_ADDRESS => {
            me.clear_child_tid.store(a[0], Ordering::Relaxed);
            Ok(me.pid() as u64)
        }
        nr::SET_ROBUST_LIST => Ok(0),
        nr::SETPGID => sys_setpgid(a[0] as i32, a[1] as i32),
        nr::GETPGID => with_process(a[0] as i32, |t| Ok(t.pgrp() as u64)),
        nr::GETSID => with_process(a[0] as i32, |t| Ok(t.session() as u64)),
        nr::SETSID => sys_setsid(),
        nr::PRLIMIT64 => sys_prlimit64(a[0] as i32, a[1] as usize, a[2], a[3]),
        nr::GETRLIMIT => sys_prlimit64(0, a[0] as usize, 0, a[1]),
        nr::SETRLIMIT => sys_prlimit64(0, a[0] as usize, a[1], 0),
        nr::GETRUSAGE => sys_getrusage(a[0] as i64, a[1]),
        nr::PRCTL => sys_prctl(a[0], a[1]),
        _ => return None,
    })
}

/// The parent's process ID.
fn getppid(me: TaskRef) -> Pid {
    let _guard = TASKLIST.lock();
    let leader = me.group_leader();
    // SAFETY: under TASKLIST; parents outlive the links to their children.
    unsafe {
        let parent = *leader.real_parent.get();
        if parent.is_null() {
            0
        } else {
            (*parent).tgid()
        }
    }
}

/// Runs `f` on process `pid` (0: the caller).
fn with_process(pid: i32, f: impl FnOnce(TaskRef) -> SysResult) -> SysResult {
    if pid < 0 {
        return Err(Errno::ESRCH);
    }
    if pid == 0 {
        return f(current());
    }
    let t = crate::sched::task::find_task_by_pid(pid as Pid).ok_or(Errno::ESRCH)?;
    let result = if t.is_user() { f(t) } else { Err(Errno::ESRCH) };
    t.put();
    result
}

/// A NULL-terminated array of strings from user memory (argv, envp).
fn copy_strings(mut addr: u64) -> Result<Vec<Vec<u8>>, Errno> {
    let mut out = Vec::new();
    let mut total = 0;
    if addr == 0 {
        return Ok(out);
    }
    loop {
        let p = uaccess::get_user_u64(addr)?;
        if p == 0 {
            return Ok(out);
        }
        let s = uaccess::strndup_user(p, crate::fs::binfmt_elf::MAX_ARG_BYTES, Errno::E2BIG)?;
        total += s.len() + 1;
        if total > crate::fs::binfmt_elf::MAX_ARG_BYTES || out.len() >= crate::fs::exec::MAX_ARG_STRINGS {
            return Err(Errno::E2BIG);
        }
        out.push(s);
        addr += 8;
    }
}

fn sys_execve(pathname: u64, argv: u64, envp: u64, frame: &mut TrapFrame) -> SysResult {
    let name = uaccess::get_path(pathname)?;
    let path = super::fs::resolve_at(crate::fs::vfs::AT_FDCWD, &name)?;
    let argv = copy_strings(argv)?;
    let envp = copy_strings(envp)?;
    let old_tid = current().pid();
    let old_comm = current().comm();
    crate::fs::exec::do_execve(&path, argv, envp, frame)?;
    if old_comm.as_str() != current().comm().as_str() {
        crate::trace::task_rename(old_comm.as_str(), current().comm().as_str());
    }
    crate::trace::sched_process_exec(&path, old_tid);
    // PTRACE_EVENT_EXEC with the TID before the exec, or SIGTRAP.
    crate::ptrace::ptrace_event(crate::ptrace::event::EXEC, old_tid as u64);
    Ok(0)
}

/// The rusage struct: utime and stime (timevals), the rest zero.
fn rusage_bytes(utime_ns: u64, stime_ns: u64) -> [u8; 144] {
    let mut b = [0u8; 144];
    let tv = |ns: u64| ((ns / 1_000_000_000) as i64, ((ns % 1_000_000_000) / 1000) as i64);
    let (us, uu) = tv(utime_ns);
    let (ss, su) = tv(stime_ns);
    b[0..8].copy_from_slice(&us.to_le_bytes());
    b[8..16].copy_from_slice(&uu.to_le_bytes());
    b[16..24].copy_from_slice(&ss.to_le_bytes());
    b[24..32].copy_from_slice(&su.to_le_bytes());
    b
}

fn sys_wait4(pid: i32, wstatus_addr: u64, options: u32, rusage: u64) -> SysResult {
    let which = match pid {
        -1 => WaitFor::Any,
        0 => WaitFor::Pgrp(current().pgrp()),
        p if p < -1 => WaitFor::Pgrp(p.unsigned_abs()),
        p => WaitFor::Pid(p as Pid),
    };
    // Refuse bad pointers before a child is reaped (Linux checks them too
    // late to keep the child; this is friendlier and equally conforming).
    let mm = uaccess::current_mm()?;
    if wstatus_addr != 0 && !mm.access_ok(wstatus_addr, 4, crate::mm::mm_struct::Access::Write) {
        return Err(Errno::EFAULT);
    }
    if rusage != 0 && !mm.access_ok(rusage, 144, crate::mm::mm_struct::Access::Write) {
        return Err(Errno::EFAULT);
    }
    match kernel_wait4(which, options) {
        Ok(Some(r)) => {
            if wstatus_addr != 0 {
                uaccess::put_user_u32(wstatus_addr, r.status as u32)?;
            }
            if rusage != 0 {
                copy_to_user(rusage, &rusage_bytes(r.utime, r.stime))?;
            }
            Ok(r.pid as u64)
        }
        Ok(None) => Ok(0),
        Err(Errno::EINTR) => Err(Errno::ERESTARTSYS),
        Err(e) => Err(e),
    }
}

fn sys_getrusage(who: i64, addr: u64) -> SysResult {
    const RUSAGE_SELF: i64 = 0;
    const RUSAGE_CHILDREN: i64 = -1;
    const RUSAGE_THREAD: i64 = 1;
    let me = current();
    let (u, s) = match who {
        RUSAGE_SELF => me.signal_struct().map_or((me.utime_ns(), me.stime_ns()), |s| s.group_times(me)),
        RUSAGE_THREAD => (me.utime_ns(), me.stime_ns()),
        RUSAGE_CHILDREN => {
            me.signal_struct().map_or((0, 0), |s| (s.cutime.load(Ordering::Relaxed), s.cstime.load(Ordering::Relaxed)))
        }
        _ => return Err(Errno::EINVAL),
    };
    copy_to_user(addr, &rusage_bytes(u, s))?;
    Ok(0)
}

/// `setpgid` (Linux: kernel/sys.c): the caller or one of its children, into
/// an existing group of the same session or a new group named after it.
fn sys_setpgid(pid: i32, pgid: i32) -> SysResult {
    let me = current();
    if pid < 0 || pgid < 0 {
        return Err(Errno::EINVAL);
    }
    let pid = if pid == 0 { me.tgid() } else { pid as Pid };
    let pgid = if pgid == 0 { pid } else { pgid as Pid };
    let target = crate::sched::task::find_task_by_pid(pid).ok_or(Errno::ESRCH)?;
    let result = (|| {
        if target.tgid() != pid || !target.is_user() {
            return Err(Errno::ESRCH);
        }
        if target.tgid() != me.tgid() {
            let _guard = TASKLIST.lock();
            // SAFETY: under TASKLIST.
            // (A child of any thread of ours counts: Linux's same_thread_group.)
            let parent = unsafe { crate::sched::task::TaskRef::from_ptr(*target.group_leader().real_parent.get()) };
            if parent.tgid() != me.tgid() {
                return Err(Errno::ESRCH);
            }
        }
        let ts = target.signal_struct().ok_or(Errno::ESRCH)?;
        let session = ts.session.load(Ordering::Relaxed);
        if target.tgid() != me.tgid() && session != me.session() {
            return Err(Errno::EPERM);
        }
        if session == target.tgid() {
            return Err(Errno::EPERM); // a session leader stays put
        }
        if pgid != pid {
            let mut exists = false;
            for_each_process(|p| {
                exists |= p.pid() == p.tgid() && p.pgrp() == pgid && p.session() == session;
            });
            if !exists {
                return Err(Errno::EPERM);
            }
        }
        ts.pgrp.store(pgid, Ordering::Relaxed);
        Ok(0)
    })();
    target.put();
    result
}

fn sys_setsid() -> SysResult {
    let me = current();
    let pid = me.tgid();
    let mut in_use = false;
    for_each_process(|p| in_use |= p.pid() == p.tgid() && p.pgrp() == pid);
    if in_use {
        return Err(Errno::EPERM);
    }
    let s = me.signal_struct().ok_or(Errno::EPERM)?;
    s.pgrp.store(pid, Ordering::Relaxed);
    s.session.store(pid, Ordering::Relaxed);
    Ok(pid as u64)
}

fn sys_prlimit64(pid: i32, resource: usize, new: u64, old: u64) -> SysResult {
    if resource >= RLIM_NLIMITS {
        return Err(Errno::EINVAL);
    }
    let mut new_limit = None;
    if new != 0 {
        let mut b = [0u8; 16];
        copy_from_user(&mut b, new)?;
        let cur = u64::from_le_bytes(b[..8].try_into().unwrap());
        let max = u64::from_le_bytes(b[8..].try_into().unwrap());
        if cur > max {
            return Err(Errno::EINVAL);
        }
        new_limit = Some(Rlimit { cur, max });
    }
    with_process(pid, |t| {
        let s = t.signal_struct().ok_or(Errno::ESRCH)?;
        let mut rlim = s.rlim.lock();
        let previous = rlim[resource];
        if old != 0 {
            let mut b = [0u8; 16];
            b[..8].copy_from_slice(&previous.cur.to_le_bytes());
            b[8..].copy_from_slice(&previous.max.to_le_bytes());
            drop(rlim);
            copy_to_user(old, &b)?;
            rlim = s.rlim.lock();
        }
        if let Some(l) = new_limit {
            // Root may raise hard limits (CAP_SYS_RESOURCE); everyone is root.
            if resource == crate::signal::RLIMIT_NOFILE && l.max > crate::fs::file::NR_OPEN as u64 {
                return Err(Errno::EPERM);
            }
            rlim[resource] = l;
        }
        Ok(0)
    })
}

fn sys_prctl(option: u64, arg: u64) -> SysResult {
    const PR_SET_NAME: u64 = 15;
    const PR_GET_NAME: u64 = 16;
    match option {
        PR_SET_NAME => {
            let mut name = [0u8; 16];
            copy_from_user(&mut name, arg)?;
            let len = name.iter().position(|&b| b == 0).unwrap_or(15).min(15);
            current().set_comm(core::str::from_utf8(&name[..len]).unwrap_or("?"));
            Ok(0)
        }
        PR_GET_NAME => {
            let comm = current().comm();
            copy_to_user(arg, &comm.0)?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}
