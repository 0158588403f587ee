//! POSIX per-process timers (Linux: kernel/time/posix-timers.c):
//! `timer_create`, `timer_settime`, `timer_gettime`, `timer_getoverrun`,
//! `timer_delete`, with SIGEV_SIGNAL, SIGEV_THREAD_ID and SIGEV_NONE
//! notification (SIGEV_THREAD is the C library's business: the kernel
//! treats it as SIGEV_SIGNAL, as Linux does).
//!
//! Each process's timers are numbered from 0 (Linux: `signal->next_posix_timer_id`)
//! and live in one table keyed by the process's `signal_struct` address and
//! the timer's ID; a process's timers go at its exit and at exec (Linux:
//! `exit_itimers`), so a key is never reused while a timer with it exists.
//! The timers are checked on CPU 0's tick, beside the interval timers: their
//! resolution is the tick (Linux uses high-resolution timers).
//!
//! Overruns: a timer whose signal is still pending when it expires again
//! sends no second signal; the pending one's `si_overrun` counts the
//! expiries it stands for, as do periods missed between two checks. When
//! the signal is taken, that count becomes what `timer_getoverrun` reports
//! (Linux: `posixtimer_rearm` at dequeue).
//!
//! Locks: `TIMERS` is taken alone. Expiries are collected under it and
//! signalled after it is dropped; the in-place overrun update takes only
//! the pending set's info lock; the dequeue hook takes `TIMERS` from the
//! signal code with no lock held.
//!
//! Departures from Linux: CPU-time clocks (CLOCK_PROCESS_CPUTIME_ID,
//! CLOCK_THREAD_CPUTIME_ID) and the alarm clocks are refused with EINVAL;
//! a process may have at most [`MAX_TIMERS`] timers (EAGAIN beyond).

use crate::errno::Errno;
use crate::pid::Pid;
use crate::sched::task::{current, TaskRef};
use crate::signal::{SigInfo, SignalStruct};
use crate::sync::IrqSpinLock;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;

pub const SIGEV_SIGNAL: i32 = 0;
pub const SIGEV_NONE: i32 = 1;
pub const SIGEV_THREAD: i32 = 2;
pub const SIGEV_THREAD_ID: i32 = 4;
/// `si_code` of a timer's signal.
pub const SI_TIMER: i32 = -2;
pub const TIMER_ABSTIME: u32 = 1;
/// Timers one process may hold (this kernel's bound on kernel memory).
pub const MAX_TIMERS: usize = 1024;
/// The largest overrun count reported (Linux: DELAYTIMER_MAX = INT_MAX).
const DELAYTIMER_MAX: u32 = i32::MAX as u32;

/// The clocks a timer can count on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerClock {
    /// CLOCK_REALTIME: absolute times are wall-clock times.
    Realtime,
    /// CLOCK_MONOTONIC and CLOCK_BOOTTIME (the same here: no suspend).
    Monotonic,
}

impl TimerClock {
    /// The clock of a `clockid_t`, EINVAL for one timers cannot use.
    pub fn from_id(clock: i32) -> Result<TimerClock, Errno> {
        match clock {
            0 => Ok(TimerClock::Realtime),
            1 | 7 => Ok(TimerClock::Monotonic),
            _ => Err(Errno::EINVAL),
        }
    }
}

/// How a timer tells its process (a decoded `struct sigevent`).
#[derive(Clone, Copy, Debug)]
pub struct SigEvent {
    pub notify: i32,
    pub signo: i32,
    /// SIGEV_THREAD_ID: the thread.
    pub tid: Pid,
    /// `sigev_value`, handed back in `si_value`.
    pub value: u64,
}

/// One timer (Linux: `struct k_itimer`).
#[derive(Clone, Copy, Debug)]
struct KTimer {
    clock: TimerClock,
    event: SigEvent,
    /// The process (its leader's PID).
    tgid: Pid,
    /// Next expiry, uptime ns; 0: disarmed.
    deadline: u64,
    interval: u64,
    /// `si_overrun` of the signal last taken (Linux: `it_overrun_last`).
    overrun_last: u32,
}

struct Timers {
    map: BTreeMap<(usize, i32), KTimer>,
    /// The next ID per process.
    next_id: BTreeMap<usize, i32>,
}

static TIMERS: IrqSpinLock<Timers> = IrqSpinLock::new(Timers { map: BTreeMap::new(), next_id: BTreeMap::new() });

/// The identity of a process in the table: its `signal_struct`'s address.
fn group_key(s: &Arc<SignalStruct>) -> usize {
    Arc::as_ptr(s) as usize
}

fn current_group() -> Result<(usize, Pid), Errno> {
    let me = current();
    let s = me.signal_struct().ok_or(Errno::EINVAL)?;
    Ok((group_key(&s), me.tgid()))
}

/// Creates a timer (Linux: `do_timer_create`); `event` None is Linux's
/// default, SIGALRM to the process with the timer's ID as its value.
/// Returns the ID.
pub fn timer_create(clock: TimerClock, event: Option<SigEvent>) -> Result<i32, Errno> {
    let (group, tgid) = current_group()?;
    if let Some(e) = &event {
        good_sigevent(e)?;
    }
    let mut timers = TIMERS.lock();
    let count = timers.map.range((group, i32::MIN)..=(group, i32::MAX)).count();
    if count >= MAX_TIMERS {
        return Err(Errno::EAGAIN);
    }
    // The next free ID from the process's counter, wrapping at INT_MAX.
    let mut id = *timers.next_id.get(&group).unwrap_or(&0);
    while timers.map.contains_key(&(group, id)) {
        id = if id == i32::MAX { 0 } else { id + 1 };
    }
    timers.next_id.insert(group, if id == i32::MAX { 0 } else { id + 1 });
    let event =
        event.unwrap_or(SigEvent { notify: SIGEV_SIGNAL, signo: crate::signal::SIGALRM, tid: 0, value: id as u64 });
    timers.map.insert((group, id), KTimer { clock, event, tgid, deadline: 0, interval: 0, overrun_last: 0 });
    Ok(id)
}

/// Checks a `sigevent` (Linux: `good_sigevent`).
fn good_sigevent(e: &SigEvent) -> Result<(), Errno> {
    match e.notify {
        SIGEV_NONE => return Ok(()),
        SIGEV_SIGNAL | SIGEV_THREAD => {}
        SIGEV_THREAD_ID => {
            let t = crate::sched::task::find_task_by_pid(e.tid).ok_or(Errno::EINVAL)?;
            let same = t.tgid() == current().tgid() && t.is_user();
            t.put();
            if !same {
                return Err(Errno::EINVAL);
            }
        }
        _ => return Err(Errno::EINVAL),
    }
    if !(1..=crate::signal::NSIG).contains(&e.signo) {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// (time left, interval) of a timer, ns: an armed timer never reads 0 left
/// (Linux reports 1 ns for one whose signal is still pending).
fn time_left(t: &KTimer, now: u64) -> (u64, u64) {
    if t.deadline == 0 {
        (0, t.interval)
    } else {
        (t.deadline.saturating_sub(now).max(1), t.interval)
    }
}

/// `timer_gettime`: (time left, interval), ns; EINVAL for an unknown ID.
pub fn timer_gettime(id: i32) -> Result<(u64, u64), Errno> {
    let (group, _) = current_group()?;
    let now = crate::time::uptime_ns();
    TIMERS.lock().map.get(&(group, id)).map(|t| time_left(t, now)).ok_or(Errno::EINVAL)
}

/// `timer_settime`: arms (value > 0) or disarms the timer; `value` is
/// relative, or with TIMER_ABSTIME a time on the timer's clock. Returns the
/// previous (time left, interval).
/// Flags other than TIMER_ABSTIME are ignored, as Linux ignores them.
pub fn timer_settime(id: i32, flags: u32, value: u64, interval: u64) -> Result<(u64, u64), Errno> {
    let (group, _) = current_group()?;
    let now = crate::time::uptime_ns();
    let mut timers = TIMERS.lock();
    let t = timers.map.get_mut(&(group, id)).ok_or(Errno::EINVAL)?;
    let old = time_left(t, now);
    const KTIME_MAX: u64 = i64::MAX as u64;
    let (value, interval) = (value.min(KTIME_MAX), interval.min(KTIME_MAX));
    t.interval = interval;
    t.overrun_last = 0;
    t.deadline = if value == 0 {
        0
    } else if flags & TIMER_ABSTIME != 0 {
        let at = match t.clock {
            TimerClock::Realtime => crate::timekeeping::realtime_to_uptime(value),
            TimerClock::Monotonic => value,
        };
        // Already past: due at the next check (never 0, "disarmed").
        at.max(1)
    } else {
        now.saturating_add(value)
    };
    Ok(old)
}

/// `timer_getoverrun`: the overrun count of the timer's last signal taken.
pub fn timer_getoverrun(id: i32) -> Result<u64, Errno> {
    let (group, _) = current_group()?;
    TIMERS.lock().map.get(&(group, id)).map(|t| t.overrun_last as u64).ok_or(Errno::EINVAL)
}

/// `timer_delete`.
pub fn timer_delete(id: i32) -> Result<(), Errno> {
    let (group, _) = current_group()?;
    TIMERS.lock().map.remove(&(group, id)).map(|_| ()).ok_or(Errno::EINVAL)
}

/// Deletes every timer of the process whose `signal_struct` is `s` (Linux:
/// `exit_itimers`): at the death of its last thread, and at exec.
pub fn exit_itimers(s: &Arc<SignalStruct>) {
    let group = group_key(s);
    let mut timers = TIMERS.lock();
    timers.map.retain(|&(g, _), _| g != group);
    timers.next_id.remove(&group);
}

/// Notes that the current task took a timer's signal (the signal code
/// calls this at dequeue): its overrun count becomes the timer's
/// `timer_getoverrun` (Linux: `posixtimer_rearm`).
pub fn signal_dequeued(info: &SigInfo) {
    if info.code != SI_TIMER {
        return;
    }
    let Ok((group, _)) = current_group() else { return };
    if let Some(t) = TIMERS.lock().map.get_mut(&(group, info.pid)) {
        t.overrun_last = info.uid.min(DELAYTIMER_MAX);
    }
}

/// One expiry to deliver: timer key, notification, overruns it carries.
struct Expiry {
    id: i32,
    group: usize,
    tgid: Pid,
    event: SigEvent,
    missed: u32,
}

/// Fires the timers that are due (CPU 0's tick).
pub fn run_posix_timers(now: u64) {
    let mut due = alloc::vec::Vec::new();
    {
        let mut timers = TIMERS.lock();
        if timers.map.is_empty() {
            return;
        }
        for (&(group, id), t) in timers.map.iter_mut() {
            if t.deadline == 0 || t.deadline > now {
                continue;
            }
            // Periods that passed unseen count as overruns of this expiry.
            let mut missed = 0u64;
            match (now - t.deadline).checked_div(t.interval) {
                None => t.deadline = 0, // one-shot
                Some(late) => {
                    missed = late;
                    t.deadline = t.deadline.saturating_add((late + 1).saturating_mul(t.interval));
                }
            }
            if t.event.notify != SIGEV_NONE && due.try_reserve(1).is_ok() {
                let missed = missed.min(DELAYTIMER_MAX as u64) as u32;
                due.push(Expiry { id, group, tgid: t.tgid, event: t.event, missed });
            }
        }
    }
    for e in due {
        deliver(e);
    }
}

/// Sends an expiry's signal, or counts it on the one still pending (Linux:
/// `posix_timer_event`, `send_sigqueue`).
fn deliver(e: Expiry) {
    let thread = e.event.notify == SIGEV_THREAD_ID;
    let target = if thread { e.event.tid } else { e.tgid };
    let Some(t) = crate::sched::task::find_task_by_pid(target) else { return };
    let signal = t.signal_struct();
    let mine = signal.as_ref().is_some_and(|s| group_key(s) == e.group);
    if mine && !bump_pending_overrun(t, signal.as_ref(), thread, &e) {
        let info = SigInfo {
            signo: e.event.signo,
            code: SI_TIMER,
            pid: e.id,
            uid: e.missed,
            value: e.event.value,
            ..Default::default()
        };
        let _ = crate::signal::send_signal(t, info, !thread);
    }
    t.put();
}

/// When the timer's previous signal is still pending, adds this expiry (and
/// the periods it missed) to its `si_overrun` and returns true.
fn bump_pending_overrun(t: TaskRef, s: Option<&Arc<SignalStruct>>, thread: bool, e: &Expiry) -> bool {
    let pending = match (thread, s) {
        (false, Some(s)) => &s.shared_pending,
        _ => &t.pending,
    };
    pending.with_queued(e.event.signo, |info| {
        if info.code != SI_TIMER || info.pid != e.id {
            return false;
        }
        info.uid = info.uid.saturating_add(1).saturating_add(e.missed).min(DELAYTIMER_MAX);
        true
    })
}
