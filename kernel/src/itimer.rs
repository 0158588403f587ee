//! Interval timers (Linux: kernel/time/itimer.c), ITIMER_REAL only: a
//! process asks for SIGALRM after a time, and again at an interval. The
//! timers are checked on CPU 0's tick, so they have the tick's resolution
//! (4 ms at HZ=250; Linux uses high-resolution timers). ITIMER_VIRTUAL and
//! ITIMER_PROF are refused with EINVAL.

use crate::errno::Errno;
use crate::pid::Pid;
use crate::sync::IrqSpinLock;
use alloc::collections::BTreeMap;

pub const ITIMER_REAL: u64 = 0;

/// One armed timer: when it fires next, its interval, and the thread
/// group it belongs to (its `signal_struct`, so a reused PID is not hit).
#[derive(Clone, Copy, Debug)]
struct Timer {
    deadline: u64,
    interval: u64,
    group: usize,
}

static TIMERS: IrqSpinLock<BTreeMap<Pid, Timer>> = IrqSpinLock::new(BTreeMap::new());

/// The identity of the current process's thread group.
fn group_of(t: crate::sched::task::TaskRef) -> usize {
    t.signal_struct().map_or(0, |s| alloc::sync::Arc::as_ptr(&s) as usize)
}

/// Arms (`value` > 0) or disarms the current process's ITIMER_REAL; returns
/// the previous (time left, interval), ns.
/// Times are clamped to Linux's `KTIME_MAX` (about 292 years), so no sum
/// of them can wrap.
pub fn set_real(value: u64, interval: u64) -> (u64, u64) {
    let (value, interval) = (value.min(KTIME_MAX), interval.min(KTIME_MAX));
    let me = crate::sched::task::current();
    let now = crate::time::uptime_ns();
    let mut timers = TIMERS.lock();
    let old = timers.get(&me.tgid()).map_or((0, 0), |t| time_left(t, now));
    if value == 0 {
        timers.remove(&me.tgid());
    } else {
        timers.insert(me.tgid(), Timer { deadline: now.saturating_add(value), interval, group: group_of(me) });
    }
    old
}

/// The longest time a timer holds, ns (Linux: `KTIME_MAX`).
const KTIME_MAX: u64 = i64::MAX as u64;

/// (time left, interval) of an armed timer. An armed timer never reports
/// less than 1 us left: getitimer's timeval would show 0, "disarmed".
fn time_left(t: &Timer, now: u64) -> (u64, u64) {
    (t.deadline.saturating_sub(now).max(1000), t.interval)
}

/// The current process's ITIMER_REAL: (time left, interval), ns.
pub fn get_real() -> (u64, u64) {
    let me = crate::sched::task::current();
    let now = crate::time::uptime_ns();
    TIMERS.lock().get(&me.tgid()).map_or((0, 0), |t| time_left(t, now))
}

/// Drops the timer of a process that is gone.
pub fn exit_itimers(tgid: Pid) {
    TIMERS.lock().remove(&tgid);
}

/// Fires the expired timers (CPU 0's tick).
pub fn run_itimers(now: u64) {
    let mut due = alloc::vec::Vec::new();
    {
        let mut timers = TIMERS.lock();
        if timers.is_empty() {
            return;
        }
        timers.retain(|&pid, t| {
            if t.deadline > now {
                return true;
            }
            due.push((pid, t.group));
            if t.interval == 0 {
                return false;
            }
            // Overruns collapse into one signal, as Linux's do; the next
            // deadline is the first period boundary after now (computed,
            // not stepped to: a 1 ns interval would loop for the uptime).
            let periods = (now - t.deadline) / t.interval + 1;
            t.deadline = t.deadline.saturating_add(periods.saturating_mul(t.interval));
            true
        });
    }
    for (pid, group) in due {
        if let Some(t) = crate::sched::task::find_task_by_pid(pid) {
            if group_of(t) == group {
                let info = crate::signal::SigInfo::kernel(crate::signal::SIGALRM);
                let _ = crate::signal::send_signal(t, info, true);
            }
            t.put();
        }
    }
}

/// Checks an `which` argument.
pub fn check_which(which: u64) -> Result<(), Errno> {
    if which == ITIMER_REAL {
        Ok(())
    } else {
        Err(Errno::EINVAL)
    }
}
