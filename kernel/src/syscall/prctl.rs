//! `prctl`, `capget` and `capset` (Linux: kernel/sys.c `SYSCALL_DEFINE5(prctl)`,
//! kernel/capability.c).
//!
//! Capabilities: every task is root and holds every capability Linux 6.1
//! knows (0 ..= CAP_LAST_CAP) in its effective and permitted sets, with an
//! empty inheritable set, as root's processes start on Linux. There are no
//! credentials to change, so `capset` accepts only the sets a task already
//! has and refuses any change with EPERM (Linux would let a task drop
//! capabilities; this kernel cannot honour a drop, so it does not pretend).

use super::SysResult;
use crate::errno::Errno;
use crate::mm::uaccess::{copy_from_user, copy_to_user, get_user_u32, put_user_u32, put_user_u64};
use crate::prctl::{SUID_DUMP_DISABLE, SUID_DUMP_USER};
use crate::sched::task::{current, for_each_process_locked, TaskRef, TASKLIST};
use core::sync::atomic::Ordering;

const PR_SET_PDEATHSIG: u64 = 1;
const PR_GET_PDEATHSIG: u64 = 2;
const PR_GET_DUMPABLE: u64 = 3;
const PR_SET_DUMPABLE: u64 = 4;
const PR_SET_NAME: u64 = 15;
const PR_GET_NAME: u64 = 16;
const PR_GET_TIMERSLACK: u64 = 30;
const PR_SET_TIMERSLACK: u64 = 29;
const PR_SET_CHILD_SUBREAPER: u64 = 36;
const PR_GET_CHILD_SUBREAPER: u64 = 37;
const PR_SET_NO_NEW_PRIVS: u64 = 38;
const PR_GET_NO_NEW_PRIVS: u64 = 39;
const PR_GET_TID_ADDRESS: u64 = 40;

/// `prctl(option, arg2, arg3, arg4, arg5)`.
pub fn sys_prctl(option: u64, a: [u64; 4]) -> SysResult {
    let me = current();
    let arg2 = a[0];
    match option {
        PR_SET_PDEATHSIG => {
            if arg2 > crate::signal::NSIG as u64 {
                return Err(Errno::EINVAL);
            }
            me.prctl.pdeath_signal.store(arg2 as i32, Ordering::Relaxed);
            Ok(0)
        }
        PR_GET_PDEATHSIG => {
            put_user_u32(arg2, me.prctl.pdeath_signal.load(Ordering::Relaxed) as u32)?;
            Ok(0)
        }
        PR_GET_DUMPABLE => Ok(process(me)?.prctl.dumpable.load(Ordering::Relaxed) as u64),
        PR_SET_DUMPABLE => {
            // 2 (SUID_DUMP_ROOT) is for the kernel's own use only.
            if arg2 != SUID_DUMP_DISABLE as u64 && arg2 != SUID_DUMP_USER as u64 {
                return Err(Errno::EINVAL);
            }
            process(me)?.prctl.dumpable.store(arg2 as u32, Ordering::Relaxed);
            Ok(0)
        }
        PR_SET_NAME => {
            let mut name = [0u8; 16];
            copy_from_user(&mut name, arg2)?;
            let len = name.iter().position(|&b| b == 0).unwrap_or(15).min(15);
            me.set_comm(core::str::from_utf8(&name[..len]).unwrap_or("?"));
            Ok(0)
        }
        PR_GET_NAME => {
            copy_to_user(arg2, &me.comm().0)?;
            Ok(0)
        }
        PR_GET_TIMERSLACK => Ok(me.prctl.timer_slack_ns.load(Ordering::Relaxed)),
        PR_SET_TIMERSLACK => {
            // 0 goes back to the default: the slack the parent had at fork.
            let slack = if arg2 == 0 { me.prctl.default_timer_slack_ns.load(Ordering::Relaxed) } else { arg2 };
            me.prctl.timer_slack_ns.store(slack, Ordering::Relaxed);
            Ok(0)
        }
        PR_SET_CHILD_SUBREAPER => {
            let s = process(me)?;
            s.prctl.is_child_subreaper.store(arg2 != 0, Ordering::Relaxed);
            if arg2 != 0 {
                propagate_has_child_subreaper(me);
            }
            Ok(0)
        }
        PR_GET_CHILD_SUBREAPER => {
            let on = process(me)?.prctl.is_child_subreaper.load(Ordering::Relaxed);
            put_user_u32(arg2, on as u32)?;
            Ok(0)
        }
        PR_SET_NO_NEW_PRIVS => {
            if arg2 != 1 || a[1..].iter().any(|&x| x != 0) {
                return Err(Errno::EINVAL);
            }
            me.prctl.no_new_privs.store(true, Ordering::Relaxed);
            Ok(0)
        }
        PR_GET_NO_NEW_PRIVS => {
            if a.iter().any(|&x| x != 0) {
                return Err(Errno::EINVAL);
            }
            Ok(me.prctl.no_new_privs.load(Ordering::Relaxed) as u64)
        }
        PR_GET_TID_ADDRESS => {
            put_user_u64(arg2, me.clear_child_tid.load(Ordering::Relaxed))?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

fn process(t: TaskRef) -> Result<alloc::sync::Arc<crate::signal::SignalStruct>, Errno> {
    t.signal_struct().ok_or(Errno::EINVAL)
}

/// Tells every process below `me` that a subreaper is above it (Linux:
/// `walk_process_tree` with `propagate_has_child_subreaper`); processes
/// forked later learn it at fork.
fn propagate_has_child_subreaper(me: TaskRef) {
    let _guard = TASKLIST.lock();
    // SAFETY: under TASKLIST; parents outlive their links to their children.
    unsafe {
        for_each_process_locked(|t| {
            if !t.is_user() || t.tgid() == me.tgid() {
                return;
            }
            let mut up = *t.real_parent.get();
            while !up.is_null() {
                let ancestor = TaskRef::from_ptr(up);
                if ancestor.tgid() == me.tgid() && ancestor.is_user() {
                    if let Some(s) = t.signal_struct() {
                        s.prctl.has_child_subreaper.store(true, Ordering::Relaxed);
                    }
                    return;
                }
                if !ancestor.is_user() || ancestor.tgid() == crate::exit::INIT_PID {
                    return;
                }
                up = *ancestor.real_parent.get();
            }
        })
    };
}

/// `_LINUX_CAPABILITY_VERSION_1` (one 32-bit word per set) and `_2`/`_3`
/// (two words); `_3` is what the kernel prefers.
const CAP_V1: u32 = 0x1998_0330;
const CAP_V2: u32 = 0x2007_1026;
const CAP_V3: u32 = 0x2008_0522;
/// Linux 6.1's highest capability (CAP_CHECKPOINT_RESTORE).
const CAP_LAST_CAP: u32 = 40;
/// Every capability.
const CAP_FULL_SET: u64 = (1u64 << (CAP_LAST_CAP + 1)) - 1;

/// Checks the header's version (Linux: `cap_validate_magic`): an unknown one
/// is answered with the preferred version written back and EINVAL. Returns
/// the number of 32-bit words per set.
fn cap_validate_magic(header: u64) -> Result<usize, Errno> {
    match get_user_u32(header)? {
        CAP_V1 => Ok(1),
        CAP_V2 | CAP_V3 => Ok(2),
        _ => {
            put_user_u32(header, CAP_V3)?;
            Err(Errno::EINVAL)
        }
    }
}

/// The task the header's pid names (0: the caller); ESRCH if none.
fn cap_target(header: u64) -> Result<(), Errno> {
    let pid = get_user_u32(header + 4)? as i32;
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    if pid != 0 && pid as u32 != current().pid() {
        let t = crate::sched::task::find_task_by_pid(pid as crate::pid::Pid).ok_or(Errno::ESRCH)?;
        t.put();
    }
    Ok(())
}

/// The `__user_cap_data_struct` array of root: effective, permitted,
/// inheritable, one entry per 32-bit word.
fn root_caps(words: usize) -> [u8; 24] {
    let mut b = [0u8; 24];
    for w in 0..words {
        let word = (CAP_FULL_SET >> (32 * w)) as u32;
        b[12 * w..12 * w + 4].copy_from_slice(&word.to_le_bytes());
        b[12 * w + 4..12 * w + 8].copy_from_slice(&word.to_le_bytes());
    }
    b
}

/// `capget(header, data)`: root's full set for any task; a NULL `data`
/// only asks for the version, and succeeds even when the one given was
/// unknown (how libcap probes for it).
pub fn sys_capget(header: u64, data: u64) -> SysResult {
    let words = match cap_validate_magic(header) {
        Err(Errno::EINVAL) if data == 0 => return Ok(0),
        Err(e) => return Err(e),
        Ok(_) if data == 0 => return Ok(0),
        Ok(w) => w,
    };
    cap_target(header)?;
    copy_to_user(data, &root_caps(words)[..12 * words])?;
    Ok(0)
}

/// `capset(header, data)`: only the caller's own sets (EPERM for another
/// task, as Linux), and only unchanged (see the module docs).
pub fn sys_capset(header: u64, data: u64) -> SysResult {
    let words = cap_validate_magic(header)?;
    let pid = get_user_u32(header + 4)?;
    if pid != 0 && pid != current().pid() {
        return Err(Errno::EPERM);
    }
    let mut b = [0u8; 24];
    copy_from_user(&mut b[..12 * words], data)?;
    if b[..12 * words] != root_caps(words)[..12 * words] {
        return Err(Errno::EPERM);
    }
    Ok(0)
}
