//! Signal system calls (Linux: kernel/signal.c): kill, tkill, tgkill,
//! rt_sigaction, rt_sigprocmask, rt_sigpending, rt_sigsuspend,
//! rt_sigtimedwait, rt_sigqueueinfo, rt_tgsigqueueinfo, sigaltstack.
//! rt_sigreturn is dispatched before these (it rewrites the whole frame).

use super::{nr, SysResult};
use crate::errno::Errno;
use crate::mm::uaccess::{copy_from_user, copy_to_user, put_user_u64};
use crate::pid::Pid;
use crate::sched::task::{current, find_task_by_pid};
use crate::signal::*;
use core::sync::atomic::Ordering;

syscalls! {
    a;
    nr::KILL => sys_kill(a[0] as i32, a[1] as i32),
    nr::TKILL => sys_tgkill(None, a[0] as i32, a[1] as i32),
    nr::TGKILL => sys_tgkill(Some(a[0] as i32), a[1] as i32, a[2] as i32),
    nr::RT_SIGACTION => sys_rt_sigaction(a[0] as i32, a[1], a[2], a[3]),
    nr::RT_SIGPROCMASK => sys_rt_sigprocmask(a[0], a[1], a[2], a[3]),
    nr::RT_SIGPENDING => sys_rt_sigpending(a[0], a[1]),
    nr::RT_SIGSUSPEND => sys_rt_sigsuspend(a[0], a[1]),
    nr::SIGALTSTACK => sys_sigaltstack(a[0], a[1], current_user_stack_pointer()),
    nr::RT_SIGQUEUEINFO => sys_rt_sigqueueinfo(a[0] as i32, a[1] as i32, a[2]),
    nr::SIGNALFD4 => sys_signalfd4(a[0] as i32, a[1], a[2], a[3] as u32),
    nr::PIDFD_SEND_SIGNAL => sys_pidfd_send_signal(a[0] as i32, a[1] as i32, a[2], a[3] as u32),
    nr::RT_TGSIGQUEUEINFO => sys_rt_tgsigqueueinfo(a[0] as i32, a[1] as i32, a[2] as i32, a[3]),
    nr::RT_SIGTIMEDWAIT => sys_rt_sigtimedwait(a[0], a[1], a[2], a[3]),
}

/// The stack pointer the caller had in user mode (Linux:
/// `current_user_stack_pointer`).
fn current_user_stack_pointer() -> u64 {
    // SAFETY: the current task reading its own trap frame.
    unsafe { crate::fork::task_pt_regs(current()).sp_el0 }
}

fn check_sig(sig: i32) -> Result<(), Errno> {
    if (0..=NSIG).contains(&sig) {
        Ok(())
    } else {
        Err(Errno::EINVAL)
    }
}

/// `kill` (Linux: `kill_something_info`): pid > 0 a process, 0 the
/// caller's group, -1 everyone else, < -1 group -pid.
fn sys_kill(pid: i32, sig: i32) -> SysResult {
    check_sig(sig)?;
    let info = SigInfo::from_user(sig, SI_USER);
    match pid {
        p if p > 0 => kill_proc(p as Pid, info),
        0 => kill_pgrp(current().pgrp(), info),
        -1 => kill_all(info),
        p => kill_pgrp(p.unsigned_abs(), info),
    }
    .map(|_| 0)
}

/// `tgkill`/`tkill`: one thread.
fn sys_tgkill(tgid: Option<i32>, tid: i32, sig: i32) -> SysResult {
    check_sig(sig)?;
    if tid <= 0 || tgid.is_some_and(|t| t <= 0) {
        return Err(Errno::EINVAL);
    }
    let t = find_task_by_pid(tid as Pid).ok_or(Errno::ESRCH)?;
    let result = if tgid.is_some_and(|g| g as Pid != t.tgid()) || !t.is_user() {
        Err(Errno::ESRCH)
    } else {
        send_signal(t, SigInfo::from_user(sig, SI_TKILL), false)
    };
    t.put();
    result.map(|_| 0)
}

fn sys_rt_sigaction(sig: i32, act: u64, oldact: u64, sigsetsize: u64) -> SysResult {
    if sigsetsize != 8 || !(1..=NSIG).contains(&sig) {
        return Err(Errno::EINVAL);
    }
    let mut new = None;
    if act != 0 {
        let mut b = [0u8; 32];
        copy_from_user(&mut b, act)?;
        let word = |i: usize| u64::from_le_bytes(b[8 * i..8 * i + 8].try_into().unwrap());
        new = Some(SigAction { handler: word(0), flags: word(1), restorer: word(2), mask: word(3) & !UNBLOCKABLE });
        if sig == SIGKILL || sig == SIGSTOP {
            return Err(Errno::EINVAL);
        }
    }
    let me = current();
    let hand = me.sighand().ok_or(Errno::EINVAL)?;
    let old = match new {
        Some(n) => hand.set(sig, |a| *a = n),
        None => hand.get(sig),
    };
    // Setting a signal to be ignored drops it where it is pending (Linux:
    // POSIX says so).
    if let Some(n) = new {
        if n.handler == SIG_IGN || (n.handler == SIG_DFL && default_action(sig) == DefaultAction::Ignore) {
            me.pending.remove(sigmask(sig));
            if let Some(s) = me.signal_struct() {
                s.shared_pending.remove(sigmask(sig));
            }
        }
    }
    if oldact != 0 {
        let mut b = [0u8; 32];
        for (i, w) in [old.handler, old.flags, old.restorer, old.mask].iter().enumerate() {
            b[8 * i..8 * i + 8].copy_from_slice(&w.to_le_bytes());
        }
        copy_to_user(oldact, &b)?;
    }
    Ok(0)
}

fn sys_rt_sigprocmask(how: u64, set: u64, oldset: u64, sigsetsize: u64) -> SysResult {
    const SIG_BLOCK: u64 = 0;
    const SIG_UNBLOCK: u64 = 1;
    const SIG_SETMASK: u64 = 2;
    if sigsetsize != 8 {
        return Err(Errno::EINVAL);
    }
    let me = current();
    let old = me.blocked.load(Ordering::Relaxed);
    let new = if set != 0 {
        let mut b = [0u8; 8];
        copy_from_user(&mut b, set)?;
        let s = u64::from_le_bytes(b);
        Some(match how {
            SIG_BLOCK => old | s,
            SIG_UNBLOCK => old & !s,
            SIG_SETMASK => s,
            _ => return Err(Errno::EINVAL),
        })
    } else {
        None
    };
    if oldset != 0 {
        put_user_u64(oldset, old)?;
    }
    if let Some(n) = new {
        me.blocked.store(n & !UNBLOCKABLE, Ordering::SeqCst);
    }
    Ok(0)
}

fn sys_rt_sigpending(set: u64, sigsetsize: u64) -> SysResult {
    if sigsetsize != 8 {
        return Err(Errno::EINVAL);
    }
    let me = current();
    let mut pending = me.pending.signal.load(Ordering::Relaxed);
    if let Some(s) = me.signal_struct() {
        pending |= s.shared_pending.signal.load(Ordering::Relaxed);
    }
    put_user_u64(set, pending & me.blocked.load(Ordering::Relaxed))?;
    Ok(0)
}

/// Makes the signal set at user address `set` the caller's mask for a
/// wait, saving the old one (Linux: `set_user_sigmask`); the caller then
/// calls [`restore_saved_sigmask_unless`].
pub(super) fn set_user_sigmask(set: u64, sigsetsize: u64) -> Result<(), Errno> {
    if sigsetsize != 8 {
        return Err(Errno::EINVAL);
    }
    let mut b = [0u8; 8];
    copy_from_user(&mut b, set)?;
    let me = current();
    me.saved_sigmask.store(me.blocked.load(Ordering::Relaxed), Ordering::Relaxed);
    me.blocked.store(u64::from_le_bytes(b) & !UNBLOCKABLE, Ordering::SeqCst);
    Ok(())
}

/// Ends a wait under [`set_user_sigmask`]: when a signal `interrupted` it,
/// the saved mask comes back after the handler has run (the signal frame
/// records it) or once none runs; otherwise at once (Linux:
/// `restore_saved_sigmask_unless`).
pub(super) fn restore_saved_sigmask_unless(interrupted: bool) {
    let me = current();
    if interrupted {
        me.restore_sigmask.store(true, Ordering::Relaxed);
        me.set_thread_flag(crate::sched::task::tif::SIGPENDING);
    } else {
        me.blocked.store(me.saved_sigmask.load(Ordering::Relaxed), Ordering::SeqCst);
    }
}

/// `rt_sigsuspend`: sleeps with a temporary mask until a signal is
/// delivered; the old mask comes back after the handler (the signal frame
/// records it). Returns EINTR once a handler has run; a signal that runs
/// none sends the caller back to sleep (ERESTARTNOHAND).
fn sys_rt_sigsuspend(set: u64, sigsetsize: u64) -> SysResult {
    let _wchan = crate::wchan!("sigsuspend");
    set_user_sigmask(set, sigsetsize)?;
    restore_saved_sigmask_unless(true);
    loop {
        crate::sched::task::set_current_state(crate::sched::task::state::TASK_INTERRUPTIBLE);
        if crate::sched::task::signal_pending() {
            break;
        }
        crate::sched::core::schedule();
    }
    crate::sched::task::__set_current_state(crate::sched::task::state::TASK_RUNNING);
    Err(Errno::ERESTARTNOHAND)
}

/// `rt_sigtimedwait(set, info, timeout, sigsetsize)`: takes a pending
/// signal of `set` without running its handler, waiting for one up to
/// `timeout` (none: forever; zero: just look). While it waits the signals
/// of `set` are unblocked, so one sent to the process picks this thread;
/// the mask comes back before it returns (Linux: `do_sigtimedwait`).
/// EAGAIN when the time runs out, EINTR when another signal interrupts.
fn sys_rt_sigtimedwait(set: u64, info: u64, timeout: u64, sigsetsize: u64) -> SysResult {
    let _wchan = crate::wchan!("do_sigtimedwait");
    use crate::sched::task::{set_current_state, signal_pending, state};
    if sigsetsize != 8 {
        return Err(Errno::EINVAL);
    }
    let mut b = [0u8; 8];
    copy_from_user(&mut b, set)?;
    // SIGKILL and SIGSTOP cannot be waited for.
    let mask = u64::from_le_bytes(b) & !UNBLOCKABLE;
    let mut left = None;
    if timeout != 0 {
        let mut ts = [0u8; 16];
        copy_from_user(&mut ts, timeout)?;
        left = Some(super::misc::timespec_ns(&ts)?);
    }
    let me = current();
    let mut got = dequeue_signal_masked(me, mask);
    // Whether the wait ended before its time (Linux returns EINTR then,
    // whatever woke it, and EAGAIN when the time ran out).
    let mut woken_early = false;
    if got.is_none() && left != Some(0) {
        let blocked = me.blocked.load(Ordering::Relaxed);
        me.real_blocked.store(blocked, Ordering::SeqCst);
        me.blocked.store(blocked & !mask, Ordering::SeqCst);
        set_current_state(state::TASK_INTERRUPTIBLE);
        woken_early = true;
        if !signal_pending() {
            match left {
                Some(ns) => woken_early = crate::sched::core::schedule_timeout_prepared(ns) > 0,
                None => crate::sched::core::schedule(),
            }
        }
        crate::sched::task::__set_current_state(state::TASK_RUNNING);
        me.blocked.store(blocked, Ordering::SeqCst);
        me.real_blocked.store(0, Ordering::SeqCst);
        got = dequeue_signal_masked(me, mask);
    }
    let Some(got) = got else {
        return Err(if woken_early { Errno::EINTR } else { Errno::EAGAIN });
    };
    if info != 0 {
        copy_to_user(info, &siginfo_bytes(&got))?;
    }
    Ok(got.signo as u64)
}

/// `sigaltstack(ss, old)` for a thread whose stack pointer is `sp` (Linux:
/// `do_sigaltstack`): `old` gets the stack, SS_DISABLE when none is set and
/// SS_ONSTACK while running on it; `ss` sets a new one (EPERM while on the
/// current one).
fn sys_sigaltstack(ss: u64, old: u64, sp: u64) -> SysResult {
    let me = current();
    let (old_sp, old_size, old_flags) = me.sas.get();
    let old_state = me.sas.state(sp) | (old_flags & SS_AUTODISARM);
    if ss != 0 {
        let mut b = [0u8; 24];
        copy_from_user(&mut b, ss)?;
        let ss_sp = u64::from_le_bytes(b[0..8].try_into().unwrap());
        let ss_flags = u32::from_le_bytes(b[8..12].try_into().unwrap());
        let ss_size = u64::from_le_bytes(b[16..24].try_into().unwrap());
        me.sas.change(sp, ss_sp, ss_size, ss_flags)?;
    }
    if old != 0 {
        let mut b = [0u8; 24];
        b[0..8].copy_from_slice(&old_sp.to_le_bytes());
        b[8..12].copy_from_slice(&old_state.to_le_bytes());
        b[16..24].copy_from_slice(&old_size.to_le_bytes());
        copy_to_user(old, &b)?;
    }
    Ok(0)
}

/// A `siginfo_t` a process passes to `rt_sigqueueinfo` for signal `sig`
/// (Linux: `__copy_siginfo_from_user`): its si_code, si_pid, si_uid and
/// si_value, which is what the `_rt` layout holds. Departure: bytes past
/// si_value are not kept. EPERM when it claims to come from the kernel or
/// from `kill`/`tgkill` (si_code >= 0 or SI_TKILL) and the target is not
/// the caller itself.
fn siginfo_from_user(sig: i32, uinfo: u64, target_is_self: bool) -> Result<SigInfo, Errno> {
    let mut b = [0u8; 32];
    copy_from_user(&mut b, uinfo)?;
    let i32_at = |o: usize| i32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    let code = i32_at(8);
    if (code >= 0 || code == SI_TKILL) && !target_is_self {
        return Err(Errno::EPERM);
    }
    Ok(SigInfo {
        signo: sig,
        code,
        pid: i32_at(16),
        uid: i32_at(20) as u32,
        value: u64::from_le_bytes(b[24..32].try_into().unwrap()),
        ..Default::default()
    })
}

/// `rt_sigqueueinfo(tgid, sig, info)` (`sigqueue`): `sig` with the caller's
/// siginfo to a process (Linux: `do_rt_sigqueueinfo`, `kill_proc_info`).
/// EAGAIN when a real-time signal cannot be queued (RLIMIT_SIGPENDING).
fn sys_rt_sigqueueinfo(tgid: i32, sig: i32, uinfo: u64) -> SysResult {
    let me = current();
    let info = siginfo_from_user(sig, uinfo, tgid as Pid == me.pid())?;
    check_sig(sig)?;
    if tgid <= 0 {
        return Err(Errno::ESRCH);
    }
    kill_proc(tgid as Pid, info).map(|_| 0)
}

/// `rt_tgsigqueueinfo(tgid, tid, sig, info)`: the same to one thread
/// (Linux: `do_rt_tgsigqueueinfo`, `do_send_specific`).
fn sys_rt_tgsigqueueinfo(tgid: i32, tid: i32, sig: i32, uinfo: u64) -> SysResult {
    if tid <= 0 || tgid <= 0 {
        return Err(Errno::EINVAL);
    }
    let info = siginfo_from_user(sig, uinfo, tid as Pid == current().pid())?;
    check_sig(sig)?;
    let t = find_task_by_pid(tid as Pid).ok_or(Errno::ESRCH)?;
    let result = if t.tgid() != tgid as Pid || !t.is_user() { Err(Errno::ESRCH) } else { send_signal(t, info, false) };
    t.put();
    result.map(|_| 0)
}

/// `pidfd_send_signal(pidfd, sig, info, flags)`: `kill` (or, with `info`,
/// `rt_sigqueueinfo`) to the process a pidfd names (Linux: kernel/signal.c).
/// EINVAL for flags or an `info` whose si_signo is not `sig`; EBADF for a
/// descriptor that is no pidfd; ESRCH once the process has been reaped.
fn sys_pidfd_send_signal(pidfd: i32, sig: i32, uinfo: u64, flags: u32) -> SysResult {
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    if pidfd < 0 {
        return Err(Errno::EBADF);
    }
    let file = super::fdget(pidfd as u64)?;
    let target = crate::pidfd::pidfd_of(&file)?;
    let info = if uinfo != 0 {
        let signo = crate::mm::uaccess::get_user_u32(uinfo)? as i32;
        let info = siginfo_from_user(sig, uinfo, target.pid() == current().tgid())?;
        if signo != sig {
            return Err(Errno::EINVAL);
        }
        info
    } else {
        SigInfo::from_user(sig, SI_USER)
    };
    let t = target.task().ok_or(Errno::ESRCH)?;
    let result = check_sig(sig).and_then(|_| send_signal(t, info, true));
    t.put();
    result.map(|_| 0)
}

/// `signalfd4(fd, mask, sizemask, flags)` (Linux: fs/signalfd.c): with fd
/// -1 a new signalfd reporting `mask` (SIGKILL and SIGSTOP left out),
/// close-on-exec and nonblocking as SFD_CLOEXEC and SFD_NONBLOCK say;
/// else the signalfd `fd` reports `mask` from now on. EINVAL for unknown
/// flags, a mask size other than 8 or an `fd` that is no signalfd.
fn sys_signalfd4(fd: i32, umask: u64, sizemask: u64, flags: u32) -> SysResult {
    use crate::fs::file::{flags::O_CLOEXEC, flags::O_NONBLOCK, flags::O_RDWR, File};
    use crate::fs::signalfd::SignalFd;
    if flags & !(O_CLOEXEC | O_NONBLOCK) != 0 || sizemask != 8 {
        return Err(Errno::EINVAL);
    }
    let mask = crate::mm::uaccess::get_user_u64(umask)? & !UNBLOCKABLE;
    if fd == -1 {
        let ops = alloc::sync::Arc::new(SignalFd { mask: core::sync::atomic::AtomicU64::new(mask) });
        let file = File::new(ops, O_RDWR | (flags & O_NONBLOCK));
        return Ok(super::fs::files()?.install(file, flags & O_CLOEXEC != 0, 0, super::fs::nofile_limit())? as u64);
    }
    let file = super::fdget(u64::try_from(fd).map_err(|_| Errno::EBADF)?)?;
    let sfd = file.ops.as_any().and_then(|a| a.downcast_ref::<SignalFd>()).ok_or(Errno::EINVAL)?;
    sfd.mask.store(mask, Ordering::Relaxed);
    crate::fs::signalfd::signalfd_notify();
    Ok(fd as u64)
}
