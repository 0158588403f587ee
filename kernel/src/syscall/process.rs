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
            // clone() returns the pidfd where the parent's TID would go.
            clone_with_pidfd(args, a[2], frame)
        }
        nr::EXECVE => sys_execve(a[0], a[1], a[2], frame),
        nr::CLONE3 => sys_clone3(a[0], a[1], frame),
        _ => Err(Errno::ENOSYS),
    }
}

syscalls! {
    a;
    nr::EXIT => crate::exit::do_exit(wstatus::exited((a[0] & 0xff) as i32)),
    nr::EXIT_GROUP => crate::signal::do_group_exit(wstatus::exited((a[0] & 0xff) as i32)),
    nr::WAIT4 => sys_wait4(a[0] as i32, a[1], a[2] as u32, a[3]),
    nr::WAITID => sys_waitid(a[0] as u32, a[1] as i32, a[2], a[3] as u32, a[4]),
    nr::GETPID => Ok(current().tgid() as u64),
    nr::GETTID => Ok(current().pid() as u64),
    nr::GETPPID => Ok(getppid(current()) as u64),
    nr::GETUID | nr::GETEUID | nr::GETGID | nr::GETEGID => Ok(0),
    // No credentials: every task is root and stays root. Becoming root
    // is a no-op; becoming anyone else is refused.
    nr::SETUID | nr::SETGID => {
        if a[0] == 0 {
            Ok(0)
        } else {
            Err(Errno::EPERM)
        }
    },
    nr::SETREUID | nr::SETREGID | nr::SETRESUID | nr::SETRESGID => {
        if a[..3].iter().all(|&id| id == 0 || id as u32 == u32::MAX) {
            Ok(0)
        } else {
            Err(Errno::EPERM)
        }
    },
    nr::SET_TID_ADDRESS => {
        let me = current();
        me.clear_child_tid.store(a[0], Ordering::Relaxed);
        Ok(me.pid() as u64)
    },
    nr::SET_ROBUST_LIST => Ok(0),
    nr::UNSHARE => crate::fork::ksys_unshare(a[0]),
    nr::SETPGID => sys_setpgid(a[0] as i32, a[1] as i32),
    nr::GETPGID => with_process(a[0] as i32, |t| Ok(t.pgrp() as u64)),
    nr::GETSID => with_process(a[0] as i32, |t| Ok(t.session() as u64)),
    nr::SETSID => sys_setsid(),
    nr::PRLIMIT64 => sys_prlimit64(a[0] as i32, a[1] as usize, a[2], a[3]),
    nr::GETRLIMIT => sys_prlimit64(0, a[0] as usize, 0, a[1]),
    nr::SETRLIMIT => sys_prlimit64(0, a[0] as usize, a[1], 0),
    nr::GETRUSAGE => sys_getrusage(a[0] as i64, a[1]),
    nr::PRCTL => super::prctl::sys_prctl(a[0], [a[1], a[2], a[3], a[4]]),
    nr::CAPGET => super::prctl::sys_capget(a[0], a[1]),
    nr::CAPSET => super::prctl::sys_capset(a[0], a[1]),
    nr::PIDFD_OPEN => sys_pidfd_open(a[0] as i32, a[1] as u32),
}

/// `pidfd_open(pid, flags)`.
fn sys_pidfd_open(pid: i32, flags: u32) -> SysResult {
    let file = crate::pidfd::pidfd_open(pid, flags)?;
    Ok(super::fs::files()?.install(file, true, 0, super::fs::nofile_limit())? as u64)
}

/// `clone3(args, size)` (Linux: `copy_clone_args_from_user`,
/// `clone3_args_valid`): `struct clone_args` of 64 bytes or more (later
/// versions' fields must be zero if this kernel does not know them). The
/// stack is given as its lowest address and size. Refused with EINVAL:
/// a `set_tid` array and CLONE_INTO_CGROUP (no PID namespaces or cgroups),
/// CLONE_CLEAR_SIGHAND.
fn sys_clone3(uargs: u64, size: u64, frame: &mut TrapFrame) -> SysResult {
    use crate::fork::clone_flags::*;
    const CLONE_ARGS_SIZE_VER0: u64 = 64;
    const CLONE_CLEAR_SIGHAND: u64 = 0x1_0000_0000;
    const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
    const CLONE_NEWTIME: u64 = 0x80;
    const PAGE_SIZE: u64 = 4096;
    if size > PAGE_SIZE {
        return Err(Errno::E2BIG);
    }
    if size < CLONE_ARGS_SIZE_VER0 {
        return Err(Errno::EINVAL);
    }
    let mut b = super::kbuf(size as usize)?;
    copy_from_user(&mut b, uargs)?;
    // Fields past the 88 bytes of Linux 6.1's version 2 must be zero.
    if b.len() > 88 && b[88..].iter().any(|&x| x != 0) {
        return Err(Errno::E2BIG);
    }
    let field =
        |i: usize| if 8 * i + 8 <= b.len() { u64::from_le_bytes(b[8 * i..8 * i + 8].try_into().unwrap()) } else { 0 };
    let (flags, pidfd, child_tid, parent_tid, exit_signal) = (field(0), field(1), field(2), field(3), field(4));
    let (stack, stack_size, tls, set_tid, set_tid_size) = (field(5), field(6), field(7), field(8), field(9));
    if exit_signal & !CSIGNAL != 0 || exit_signal > crate::signal::NSIG as u64 {
        return Err(Errno::EINVAL);
    }
    if set_tid_size > 32 || (set_tid == 0) != (set_tid_size == 0) {
        return Err(Errno::EINVAL);
    }
    if flags & !(0xffff_ffff | CLONE_CLEAR_SIGHAND | CLONE_INTO_CGROUP) != 0
        || flags & (CLONE_DETACHED | (CSIGNAL & !CLONE_NEWTIME)) != 0
        || flags & (CLONE_SIGHAND | CLONE_CLEAR_SIGHAND) == CLONE_SIGHAND | CLONE_CLEAR_SIGHAND
        || (flags & (CLONE_THREAD | CLONE_PARENT) != 0 && exit_signal != 0)
    {
        return Err(Errno::EINVAL);
    }
    // A stack is an address and a size, both or neither (Linux:
    // clone3_stack_valid); the child starts at its top.
    let sp = match (stack, stack_size) {
        (0, 0) => 0,
        (0, _) | (_, 0) => return Err(Errno::EINVAL),
        (s, n) => s.checked_add(n).filter(|&top| top <= crate::mm::mm_struct::TASK_SIZE).ok_or(Errno::EINVAL)?,
    };
    // What this kernel cannot do yet.
    if flags & (CLONE_CLEAR_SIGHAND | CLONE_INTO_CGROUP) != 0 || set_tid_size != 0 {
        return Err(Errno::EINVAL);
    }
    let args = UserCloneArgs { flags, exit_signal: exit_signal as i32, stack: sp, parent_tid, tls, child_tid };
    clone_with_pidfd(args, pidfd, frame)
}

/// `kernel_clone`, and with CLONE_PIDFD a pidfd of the child, installed
/// close-on-exec and its number stored at `pidfd_addr` before the child
/// runs (Linux: copy_process's `pidfd_prepare` and `put_user`). EINVAL for
/// CLONE_PIDFD with CLONE_THREAD or CLONE_DETACHED, or with
/// CLONE_PARENT_SETTID at the same address; EFAULT if the number cannot
/// be stored (and no child is made).
fn clone_with_pidfd(args: UserCloneArgs, pidfd_addr: u64, frame: &mut TrapFrame) -> SysResult {
    use crate::fork::clone_flags::*;
    if args.flags & CLONE_PIDFD == 0 {
        return kernel_clone(args, frame).map(|pid| pid as u64);
    }
    if args.flags & (CLONE_THREAD | CLONE_DETACHED) != 0
        || args.flags & CLONE_PARENT_SETTID != 0 && pidfd_addr == args.parent_tid
    {
        return Err(Errno::EINVAL);
    }
    let pidfd = crate::pidfd::PidFd::unset();
    let files = super::fs::files()?;
    let fd = files.install(crate::pidfd::pidfd_file(pidfd.clone(), false), true, 0, super::fs::nofile_limit())?;
    let result = uaccess::put_user_u32(pidfd_addr, fd as u32).and_then(|_| kernel_clone(args, frame));
    match result {
        Ok(pid) => {
            // Named by the child's PID and start time; a child already
            // reaped (SIGCHLD ignored) leaves it naming nothing, which is
            // what it would show by now anyway.
            if let Some(t) = crate::sched::task::find_task_by_pid(pid) {
                if t.tgid() == pid {
                    pidfd.set(t);
                }
                t.put();
            }
            Ok(pid as u64)
        }
        Err(e) => {
            let _ = files.close(fd);
            Err(e)
        }
    }
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

fn sys_execve(pathname: u64, argv: u64, envp: u64, frame: &mut TrapFrame) -> SysResult {
    let name = uaccess::get_path(pathname)?;
    // A name that is already absolute and normal is the path itself.
    let resolved = match crate::fs::path::is_normal_absolute(&name) {
        true => None,
        false => Some(super::fs::resolve_at(crate::fs::vfs::AT_FDCWD, &name)?),
    };
    let path = resolved.as_deref().unwrap_or(&name);
    let argv = crate::fs::exec::UserArgs::new(argv);
    let envp = crate::fs::exec::UserArgs::new(envp);
    let old_tid = current().pid();
    let old_comm = current().comm();
    crate::fs::exec::do_execve(path, &name, &argv, &envp, frame)?;
    // The names compared as bytes: made text only for the event.
    let new_comm = current().comm();
    if old_comm.0 != new_comm.0 {
        crate::trace::task_rename(old_comm.as_str(), new_comm.as_str());
    }
    crate::trace::sched_process_exec(path, old_tid);
    // Exec'd: a parent's setpgid on it now fails with EACCES (Linux clears
    // PF_FORKNOEXEC in begin_new_exec), and it is dumpable again.
    let me = current();
    me.flags.fetch_and(!crate::sched::task::pf::PF_FORKNOEXEC, Ordering::SeqCst);
    if let Some(s) = me.signal_struct() {
        s.prctl.exec();
        // POSIX timers do not survive exec (Linux: exit_itimers in
        // begin_new_exec).
        crate::posix_timers::exit_itimers(&s);
    }
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
        // -INT_MIN has no group to name (Linux: ESRCH before anything else).
        i32::MIN => return Err(Errno::ESRCH),
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

/// `waitid(idtype, id, infop, options, rusage)`: the wait family's most
/// general member (Linux: kernel/exit.c `sys_waitid`). Exits, stops and
/// continues are each reported only when asked for; WNOWAIT leaves what it
/// reports in place. The result goes into a `siginfo_t` (signo, errno,
/// code, pid, uid, status, as Linux fills them), zeroed when WNOHANG finds
/// nothing.
fn sys_waitid(idtype: u32, id: i32, infop: u64, options: u32, rusage: u64) -> SysResult {
    use crate::exit::{do_wait, __WALL, __WCLONE, __WNOTHREAD, WCONTINUED, WEXITED, WNOHANG, WNOWAIT, WSTOPPED};
    const P_ALL: u32 = 0;
    const P_PID: u32 = 1;
    const P_PGID: u32 = 2;
    const P_PIDFD: u32 = 3;
    let known = WNOHANG | WNOWAIT | WEXITED | WSTOPPED | WCONTINUED | __WNOTHREAD | __WCLONE | __WALL;
    if options & !known != 0 || options & (WEXITED | WSTOPPED | WCONTINUED) == 0 {
        return Err(Errno::EINVAL);
    }
    let mut wait_options = options;
    let which = match idtype {
        P_ALL => WaitFor::Any,
        P_PID if id > 0 => WaitFor::Pid(id as Pid),
        P_PGID if id == 0 => WaitFor::Pgrp(current().pgrp()),
        P_PGID if id > 0 => WaitFor::Pgrp(id as Pid),
        P_PIDFD => {
            if id < 0 {
                return Err(Errno::EINVAL);
            }
            let file = super::fdget(id as u64)?;
            let pidfd = crate::pidfd::pidfd_of(&file)?;
            // A nonblocking pidfd waits as with WNOHANG, and says EAGAIN
            // instead of 0 (Linux: kernel_waitid).
            if file.flags.load(Ordering::Relaxed) & crate::pidfd::PIDFD_NONBLOCK != 0 {
                wait_options |= WNOHANG;
            }
            // A process already reaped is nobody's child.
            let t = pidfd.task().ok_or(Errno::ECHILD)?;
            let pid = t.tgid();
            t.put();
            WaitFor::Pid(pid)
        }
        _ => return Err(Errno::EINVAL),
    };
    let mm = uaccess::current_mm()?;
    if infop != 0 && !mm.access_ok(infop, 128, crate::mm::mm_struct::Access::Write) {
        return Err(Errno::EFAULT);
    }
    if rusage != 0 && !mm.access_ok(rusage, 144, crate::mm::mm_struct::Access::Write) {
        return Err(Errno::EFAULT);
    }
    let found = match do_wait(which, wait_options) {
        Ok(None) if wait_options & WNOHANG != 0 && options & WNOHANG == 0 => return Err(Errno::EAGAIN),
        Ok(found) => found,
        Err(Errno::EINTR) => return Err(Errno::ERESTARTSYS),
        Err(e) => return Err(e),
    };
    if infop != 0 {
        // signo, errno, code, then the SIGCHLD member: pid, uid, status.
        let mut info = [0u8; 28];
        if let Some(r) = found {
            let (code, status) = crate::wstatus::to_siginfo(r.status);
            info[0..4].copy_from_slice(&crate::wstatus::SIGCHLD.to_le_bytes());
            info[8..12].copy_from_slice(&code.to_le_bytes());
            info[16..20].copy_from_slice(&(r.pid as i32).to_le_bytes());
            info[24..28].copy_from_slice(&status.to_le_bytes());
        }
        copy_to_user(infop, &info)?;
    }
    if let (Some(r), true) = (found, rusage != 0) {
        copy_to_user(rusage, &rusage_bytes(r.utime, r.stime))?;
    }
    Ok(0)
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
        // A child that has exec'd is its own program now (Linux: EACCES
        // when PF_FORKNOEXEC is clear).
        if target.tgid() != me.tgid() && !target.group_leader().has_flag(crate::sched::task::pf::PF_FORKNOEXEC) {
            return Err(Errno::EACCES);
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
