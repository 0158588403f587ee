//! Priorities, identities, groups, execution domains, scheduling policy,
//! I/O priorities and the kernel log (Linux: kernel/sys.c, kernel/groups.c,
//! kernel/exec_domain.c, kernel/sched/core.c, block/ioprio.c,
//! kernel/printk/printk.c).
//!
//! Every process is root (cred.rs): identity calls report 0 and no call
//! here refuses for want of privilege. The scheduler has one class, the
//! fair one (sched/fair.rs): SCHED_OTHER is the only policy a task can be
//! given; the real-time, batch and idle policies are refused with EINVAL,
//! where Linux would switch class.

use super::{nr, SysResult};
use crate::cred::{GroupInfo, NGROUPS_MAX};
use crate::errno::Errno;
use crate::mm::uaccess::{copy_from_user, copy_to_user, put_user_u32};
use crate::pid::Pid;
use crate::sched::task::{current, for_each_process, TaskRef};
use core::sync::atomic::Ordering;

syscalls! {
    a;
    nr::GETPRIORITY => sys_getpriority(a[0] as i32, a[1] as i32),
    nr::SETPRIORITY => sys_setpriority(a[0] as i32, a[1] as i32, a[2] as i32),
    nr::GETRESUID | nr::GETRESGID => sys_getresid(a[0], a[1], a[2]),
    nr::GETGROUPS => sys_getgroups(a[0] as i32, a[1]),
    nr::SETGROUPS => sys_setgroups(a[0] as i32, a[1]),
    nr::PERSONALITY => sys_personality(a[0] as u32),
    nr::SCHED_SETSCHEDULER => sys_sched_setscheduler(a[0] as i32, a[1] as i32, a[2]),
    nr::SCHED_SETPARAM => sys_sched_setscheduler(a[0] as i32, SCHED_NORMAL, a[1]),
    nr::SCHED_GETSCHEDULER => with_task(a[0] as i32, |_| Ok(SCHED_NORMAL as u64)),
    nr::SCHED_GETPARAM => sys_sched_getparam(a[0] as i32, a[1]),
    nr::SCHED_GET_PRIORITY_MAX => sched_priority_range(a[0] as i32).map(|(_, max)| max),
    nr::SCHED_GET_PRIORITY_MIN => sched_priority_range(a[0] as i32).map(|(min, _)| min),
    nr::IOPRIO_SET => sys_ioprio_set(a[0] as i32, a[1] as i32, a[2] as i32),
    nr::IOPRIO_GET => sys_ioprio_get(a[0] as i32, a[1] as i32),
    nr::SYSLOG => crate::printk::do_syslog(a[0] as u32, a[1], a[2] as i32),
}

/// Runs `f` on the task `pid` names (0: the caller), as Linux's
/// `find_task_by_vpid`: any thread, by its TID.
fn with_task(pid: i32, f: impl FnOnce(TaskRef) -> SysResult) -> SysResult {
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    if pid == 0 {
        return f(current());
    }
    let t = crate::sched::task::find_task_by_pid(pid as Pid).ok_or(Errno::ESRCH)?;
    let result = f(t);
    t.put();
    result
}

// --- getpriority / setpriority (kernel/sys.c) ---

const PRIO_PROCESS: i32 = 0;
const PRIO_PGRP: i32 = 1;
const PRIO_USER: i32 = 2;

/// Calls `f` on every task `which`/`who` selects (Linux: the three loops of
/// `sys_setpriority`); returns whether any was found. Runs under TASKLIST.
fn for_each_prio_target(which: i32, who: i32, mut f: impl FnMut(TaskRef)) -> Result<bool, Errno> {
    if who < 0 && which != PRIO_USER {
        return Ok(false);
    }
    let me = current();
    let mut found = false;
    match which {
        PRIO_PROCESS => {
            let pid = if who == 0 { me.pid() } else { who as Pid };
            for_each_process(|t| {
                if t.pid() == pid && t.pid() != 0 && t.exit_state.load(Ordering::Relaxed) == 0 {
                    found = true;
                    f(t);
                }
            });
        }
        PRIO_PGRP => {
            let pgrp = if who == 0 { me.pgrp() } else { who as Pid };
            for_each_process(|t| {
                if t.is_user() && t.pgrp() == pgrp && t.exit_state.load(Ordering::Relaxed) == 0 {
                    found = true;
                    f(t);
                }
            });
        }
        PRIO_USER => {
            // Every task is root's: uid 0 selects them all, any other none.
            if who == 0 {
                for_each_process(|t| {
                    if t.pid() != 0 && t.exit_state.load(Ordering::Relaxed) == 0 {
                        found = true;
                        f(t);
                    }
                });
            }
        }
        _ => return Err(Errno::EINVAL),
    }
    Ok(found)
}

/// `getpriority`: the highest priority among the targets as the kernel ABI
/// gives it, 20 - nice (1..40; the C library turns it back into a nice).
fn sys_getpriority(which: i32, who: i32) -> SysResult {
    let mut best = 0i64;
    let found = for_each_prio_target(which, who, |t| {
        best = best.max(20 - t.nice.load(Ordering::Relaxed) as i64);
    })?;
    if found {
        Ok(best as u64)
    } else {
        Err(Errno::ESRCH)
    }
}

/// `setpriority`: every target gets `niceval`, clamped to -20..19.
fn sys_setpriority(which: i32, who: i32, niceval: i32) -> SysResult {
    let nice = niceval.clamp(-20, 19);
    let mut targets = alloc::vec::Vec::new();
    let mut oom = false;
    // set_user_nice takes run-queue locks, which may be taken under
    // TASKLIST; the references keep the targets alive after the walk.
    let found = for_each_prio_target(which, who, |t| {
        if targets.try_reserve(1).is_ok() {
            targets.push(t.get());
        } else {
            oom = true;
        }
    })?;
    for t in targets {
        if !oom {
            crate::sched::core::set_user_nice(t, nice);
        }
        t.put();
    }
    match (found, oom) {
        (_, true) => Err(Errno::ENOMEM),
        (true, false) => Ok(0),
        (false, false) => Err(Errno::ESRCH),
    }
}

// --- identities and groups (kernel/sys.c, kernel/groups.c) ---

/// `getresuid`/`getresgid`: real, effective and saved IDs, all root's.
fn sys_getresid(real: u64, effective: u64, saved: u64) -> SysResult {
    put_user_u32(real, 0)?;
    put_user_u32(effective, 0)?;
    put_user_u32(saved, 0)?;
    Ok(0)
}

/// `getgroups(size, list)`: the count with size 0, EINVAL if `size` is
/// smaller than the list.
fn sys_getgroups(size: i32, list: u64) -> SysResult {
    if size < 0 {
        return Err(Errno::EINVAL);
    }
    let info = current().group_info.lock().clone();
    let gids = info.as_ref().map_or(&[][..], |g| g.gids());
    if size == 0 {
        return Ok(gids.len() as u64);
    }
    if (size as usize) < gids.len() {
        return Err(Errno::EINVAL);
    }
    for (i, gid) in gids.iter().enumerate() {
        put_user_u32(list + 4 * i as u64, *gid)?;
    }
    Ok(gids.len() as u64)
}

/// `setgroups(size, list)`: replaces the caller's supplementary groups.
fn sys_setgroups(size: i32, list: u64) -> SysResult {
    if size < 0 || size as usize > NGROUPS_MAX {
        return Err(Errno::EINVAL);
    }
    let n = size as usize;
    let mut raw = alloc::vec::Vec::new();
    raw.try_reserve_exact(n * 4).map_err(|_| Errno::ENOMEM)?;
    raw.resize(n * 4, 0);
    copy_from_user(&mut raw, list)?;
    let mut gids = alloc::vec::Vec::new();
    gids.try_reserve_exact(n).map_err(|_| Errno::ENOMEM)?;
    gids.extend(raw.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])));
    let info = GroupInfo::new(&gids)?;
    *current().group_info.lock() = Some(info);
    Ok(0)
}

// --- personality (kernel/exec_domain.c) ---

/// `personality(persona)`: returns the old value; 0xffffffff only asks.
/// The flags are kept and inherited; the only domain is Linux's, and no
/// flag changes what this kernel does (ADDR_NO_RANDOMIZE: nothing is
/// randomised here anyway).
fn sys_personality(persona: u32) -> SysResult {
    let me = current();
    let old = me.personality.load(Ordering::Relaxed);
    if persona != 0xffff_ffff {
        me.personality.store(persona, Ordering::Relaxed);
    }
    Ok(old as u64)
}

// --- scheduling policy (kernel/sched/core.c) ---

const SCHED_NORMAL: i32 = 0;
const SCHED_FIFO: i32 = 1;
const SCHED_RR: i32 = 2;
const SCHED_BATCH: i32 = 3;
const SCHED_IDLE: i32 = 5;
const SCHED_DEADLINE: i32 = 6;
/// Or-ed into the policy: children go back to SCHED_NORMAL at fork.
const SCHED_RESET_ON_FORK: i32 = 0x4000_0000;

/// `sched_get_priority_min`/`max`: Linux's ranges, whatever this kernel
/// implements (they describe the ABI).
fn sched_priority_range(policy: i32) -> Result<(u64, u64), Errno> {
    match policy {
        SCHED_FIFO | SCHED_RR => Ok((1, 99)),
        SCHED_NORMAL | SCHED_BATCH | SCHED_IDLE | SCHED_DEADLINE => Ok((0, 0)),
        _ => Err(Errno::EINVAL),
    }
}

/// `sched_setscheduler` and `sched_setparam`: SCHED_OTHER with priority 0
/// is the only setting there is.
fn sys_sched_setscheduler(pid: i32, policy: i32, param: u64) -> SysResult {
    if param == 0 || pid < 0 {
        return Err(Errno::EINVAL);
    }
    let mut b = [0u8; 4];
    copy_from_user(&mut b, param)?;
    let priority = i32::from_le_bytes(b);
    let policy = policy & !SCHED_RESET_ON_FORK;
    with_task(pid, |_| match policy {
        SCHED_NORMAL if priority == 0 => Ok(0),
        SCHED_NORMAL => Err(Errno::EINVAL),
        // Valid on Linux; this kernel has no class to run them in.
        SCHED_FIFO | SCHED_RR | SCHED_BATCH | SCHED_IDLE | SCHED_DEADLINE => Err(Errno::EINVAL),
        _ => Err(Errno::EINVAL),
    })
}

/// `sched_getparam`: priority 0, the fair class's.
fn sys_sched_getparam(pid: i32, param: u64) -> SysResult {
    if param == 0 || pid < 0 {
        return Err(Errno::EINVAL);
    }
    with_task(pid, |_| Ok(0))?;
    copy_to_user(param, &0i32.to_le_bytes())?;
    Ok(0)
}

// --- I/O priorities (block/ioprio.c) ---

const IOPRIO_WHO_PROCESS: i32 = 1;
const IOPRIO_WHO_PGRP: i32 = 2;
const IOPRIO_WHO_USER: i32 = 3;
const IOPRIO_CLASS_SHIFT: u32 = 13;
const IOPRIO_CLASS_NONE: u32 = 0;
const IOPRIO_CLASS_RT: u32 = 1;
const IOPRIO_CLASS_BE: u32 = 2;
const IOPRIO_CLASS_IDLE: u32 = 3;
const IOPRIO_NR_LEVELS: u32 = 8;

/// Linux's `ioprio_check_cap` for root: a known class and level.
fn ioprio_valid(ioprio: i32) -> Result<u32, Errno> {
    let ioprio = ioprio as u32;
    if ioprio > 0xffff {
        return Err(Errno::EINVAL);
    }
    let (class, data) = (ioprio >> IOPRIO_CLASS_SHIFT, ioprio & ((1 << IOPRIO_CLASS_SHIFT) - 1));
    match class {
        IOPRIO_CLASS_RT | IOPRIO_CLASS_BE if data < IOPRIO_NR_LEVELS => Ok(ioprio),
        IOPRIO_CLASS_IDLE => Ok(ioprio),
        IOPRIO_CLASS_NONE if data == 0 => Ok(ioprio),
        _ => Err(Errno::EINVAL),
    }
}

/// The I/O priority a task's requests get: its own, or best effort at a
/// level derived from its nice value (Linux: `__get_task_ioprio`).
fn effective_ioprio(t: TaskRef) -> u32 {
    match t.ioprio.load(Ordering::Relaxed) {
        0 => IOPRIO_CLASS_BE << IOPRIO_CLASS_SHIFT | ((t.nice.load(Ordering::Relaxed) + 20) / 5) as u32,
        p => p,
    }
}

/// Maps `ioprio_*`'s `which` to `setpriority`'s.
fn ioprio_which(which: i32) -> Result<i32, Errno> {
    match which {
        IOPRIO_WHO_PROCESS => Ok(PRIO_PROCESS),
        IOPRIO_WHO_PGRP => Ok(PRIO_PGRP),
        IOPRIO_WHO_USER => Ok(PRIO_USER),
        _ => Err(Errno::EINVAL),
    }
}

/// `ioprio_set`: the value is kept per task and inherited at fork. There
/// is no block device queue yet for it to order.
fn sys_ioprio_set(which: i32, who: i32, ioprio: i32) -> SysResult {
    let ioprio = ioprio_valid(ioprio)?;
    let found = for_each_prio_target(ioprio_which(which)?, who, |t| t.ioprio.store(ioprio, Ordering::Relaxed))?;
    if found {
        Ok(0)
    } else {
        Err(Errno::ESRCH)
    }
}

/// `ioprio_get`: a process's own setting (0, class none, when it has set
/// none); for a group or user, the best effective priority among them.
fn sys_ioprio_get(which: i32, who: i32) -> SysResult {
    let which = ioprio_which(which)?;
    let mut best: Option<u32> = None;
    let found = for_each_prio_target(which, who, |t| {
        let p = if which == PRIO_PROCESS { t.ioprio.load(Ordering::Relaxed) } else { effective_ioprio(t) };
        // Lower class numbers (real time first) and lower levels win.
        best = Some(best.map_or(p, |b| b.min(p)));
    })?;
    match (found, best) {
        (true, Some(p)) => Ok(p as u64),
        _ => Err(Errno::ESRCH),
    }
}
