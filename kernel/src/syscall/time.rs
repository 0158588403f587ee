//! Setting and reading clocks, process times and POSIX timers (Linux:
//! kernel/time/time.c, kernel/time/posix-timers.c, kernel/sys.c `times`):
//! times, clock_settime, settimeofday, clock_adjtime, adjtimex, and
//! timer_create/settime/gettime/getoverrun/delete (posix_timers.rs).
//!
//! `clock_adjtime` and `adjtimex` report the clock as Linux does with no
//! NTP daemon (STA_UNSYNC, TIME_ERROR) and apply ADJ_SETOFFSET and the
//! ADJ_NANO/ADJ_MICRO choice of units; the other
//! NTP adjustments (frequency, PLL, leap seconds) are not modelled and are
//! refused with EINVAL.

use super::misc::{timespec_bytes, timespec_ns};
use super::{nr, SysResult};
use crate::errno::Errno;
use crate::mm::uaccess::{copy_from_user, copy_to_user, put_user_u32};
use crate::posix_timers::{self as timers, SigEvent, TimerClock};
use crate::sched::task::current;
use crate::timekeeping;
use core::sync::atomic::Ordering;

const CLOCK_REALTIME: u64 = 0;
const NSEC_PER_SEC: u64 = 1_000_000_000;
/// Clock ticks per second as user space counts them (Linux: USER_HZ).
const USER_HZ: u64 = crate::fs::procfs::USER_HZ;

syscalls! {
    a;
    nr::TIMES => sys_times(a[0]),
    nr::CLOCK_SETTIME => sys_clock_settime(a[0], a[1]),
    nr::SETTIMEOFDAY => sys_settimeofday(a[0], a[1]),
    nr::ADJTIMEX => sys_clock_adjtime(CLOCK_REALTIME, a[0]),
    nr::CLOCK_ADJTIME => sys_clock_adjtime(a[0], a[1]),
    nr::TIMER_CREATE => sys_timer_create(a[0] as i32, a[1], a[2]),
    nr::TIMER_SETTIME => sys_timer_settime(a[0] as i32, a[1] as u32, a[2], a[3]),
    nr::TIMER_GETTIME => sys_timer_gettime(a[0] as i32, a[1]),
    nr::TIMER_GETOVERRUN => timers::timer_getoverrun(a[0] as i32),
    nr::TIMER_DELETE => timers::timer_delete(a[0] as i32).map(|_| 0),
}

fn clock_t(ns: u64) -> u64 {
    ns / (NSEC_PER_SEC / USER_HZ)
}

/// `times`: the process's and its reaped children's CPU time in clock
/// ticks; returns the ticks since boot (Linux counts from an arbitrary
/// point in the past; only differences mean anything).
fn sys_times(tbuf: u64) -> SysResult {
    if tbuf != 0 {
        let me = current();
        let (u, s, cu, cs) = match me.signal_struct() {
            Some(sig) => {
                let (u, s) = sig.group_times(me);
                (u, s, sig.cutime.load(Ordering::Relaxed), sig.cstime.load(Ordering::Relaxed))
            }
            None => (me.utime_ns(), me.stime_ns(), 0, 0),
        };
        let mut b = [0u8; 32];
        for (i, ns) in [u, s, cu, cs].iter().enumerate() {
            b[8 * i..8 * i + 8].copy_from_slice(&clock_t(*ns).to_le_bytes());
        }
        copy_to_user(tbuf, &b)?;
    }
    Ok(clock_t(crate::time::uptime_ns()))
}

/// Checks a time the wall clock may be set to (Linux:
/// `timespec64_valid_settod`).
fn valid_settod(ns: u64) -> Result<u64, Errno> {
    if ns > timekeeping::MAX_SETTABLE_NS {
        return Err(Errno::EINVAL);
    }
    Ok(ns)
}

/// `clock_settime`: only CLOCK_REALTIME can be set.
fn sys_clock_settime(clock: u64, tp: u64) -> SysResult {
    if clock != CLOCK_REALTIME {
        return Err(Errno::EINVAL);
    }
    let mut b = [0u8; 16];
    copy_from_user(&mut b, tp)?;
    timekeeping::do_settimeofday64(valid_settod(timespec_ns(&b)?)?);
    Ok(0)
}

/// A `struct timeval` in ns; EINVAL if malformed.
fn timeval_ns(b: &[u8; 16]) -> Result<u64, Errno> {
    let sec = i64::from_le_bytes(b[..8].try_into().unwrap());
    let usec = i64::from_le_bytes(b[8..].try_into().unwrap());
    if sec < 0 || !(0..1_000_000).contains(&usec) {
        return Err(Errno::EINVAL);
    }
    Ok((sec as u64).saturating_mul(NSEC_PER_SEC).saturating_add(usec as u64 * 1000))
}

/// `settimeofday(tv, tz)`: sets the wall clock; the time zone is kept for
/// `gettimeofday` (Linux: `sys_tz`) and changes nothing else.
fn sys_settimeofday(tv: u64, tz: u64) -> SysResult {
    let mut time = None;
    if tv != 0 {
        let mut b = [0u8; 16];
        copy_from_user(&mut b, tv)?;
        time = Some(valid_settod(timeval_ns(&b)?)?);
    }
    if tz != 0 {
        let mut b = [0u8; 8];
        copy_from_user(&mut b, tz)?;
        let minuteswest = i32::from_le_bytes(b[..4].try_into().unwrap());
        if !(-15 * 60..=15 * 60).contains(&minuteswest) {
            return Err(Errno::EINVAL);
        }
        timekeeping::set_timezone(minuteswest, i32::from_le_bytes(b[4..].try_into().unwrap()));
    }
    if let Some(ns) = time {
        timekeeping::do_settimeofday64(ns);
    }
    Ok(0)
}

/// `struct timex` (64-bit layout): offsets of the fields used here.
mod timex {
    pub const SIZE: usize = 208;
    pub const MODES: usize = 0;
    pub const MAXERROR: usize = 24;
    pub const ESTERROR: usize = 32;
    pub const STATUS: usize = 40;
    pub const CONSTANT: usize = 48;
    pub const PRECISION: usize = 56;
    pub const TOLERANCE: usize = 64;
    pub const TIME_SEC: usize = 72;
    pub const TIME_USEC: usize = 80;
    pub const TICK: usize = 88;
    pub const ADJ_SETOFFSET: u32 = 0x0100;
    pub const ADJ_MICRO: u32 = 0x1000;
    pub const ADJ_NANO: u32 = 0x2000;
    pub const ADJ_OFFSET_SS_READ: u32 = 0xa001;
    pub const STA_UNSYNC: i32 = 0x0040;
    pub const STA_NANO: i32 = 0x2000;
    /// The clock is not synchronised (Linux's return value with STA_UNSYNC).
    pub const TIME_ERROR: u64 = 5;
    /// Linux's values with no NTP daemon: NTP_PHASE_LIMIT (us), a time
    /// constant of 2, 1 us precision, 500 ppm tolerance (scaled by 2^16).
    pub const NTP_PHASE_LIMIT: i64 = 16_000_000;
    pub const TOLERANCE_500PPM: i64 = 500 << 16;
}

/// `clock_adjtime(clock, buf)` and `adjtimex(buf)` (Linux:
/// `do_adjtimex`): reads the clock's discipline state; ADJ_SETOFFSET moves
/// the wall clock.
fn sys_clock_adjtime(clock: u64, buf: u64) -> SysResult {
    use timex::*;
    match clock {
        CLOCK_REALTIME => {}
        // Known clocks that cannot be adjusted (Linux: no clock_adj).
        1..=7 => return Err(Errno::EOPNOTSUPP),
        _ => return Err(Errno::EINVAL),
    }
    let mut b = [0u8; SIZE];
    copy_from_user(&mut b, buf)?;
    let word = |o: usize| i64::from_le_bytes(b[o..o + 8].try_into().unwrap());
    let modes = u32::from_le_bytes(b[MODES..MODES + 4].try_into().unwrap());
    if modes & ADJ_NANO != 0 {
        timekeeping::set_ntp_nano(true);
    } else if modes & ADJ_MICRO != 0 {
        timekeeping::set_ntp_nano(false);
    }
    let nano = modes & ADJ_NANO != 0;
    match modes & !(ADJ_NANO | ADJ_MICRO) {
        0 => {}
        m if m == ADJ_OFFSET_SS_READ => {}
        ADJ_SETOFFSET => {
            let (sec, frac) = (word(TIME_SEC), word(TIME_USEC));
            let limit = if nano { NSEC_PER_SEC as i64 } else { 1_000_000 };
            if !(0..limit).contains(&frac) {
                return Err(Errno::EINVAL);
            }
            let frac_ns = if nano { frac } else { frac * 1000 };
            let delta = sec.checked_mul(NSEC_PER_SEC as i64).and_then(|s| s.checked_add(frac_ns));
            timekeeping::timekeeping_inject_offset(delta.ok_or(Errno::EINVAL)?)?;
        }
        _ => return Err(Errno::EINVAL),
    }
    let now = timekeeping::ktime_get_real_ns();
    let mut out = [0u8; SIZE];
    out[..4].copy_from_slice(&modes.to_le_bytes());
    let mut put = |o: usize, v: i64| out[o..o + 8].copy_from_slice(&v.to_le_bytes());
    put(MAXERROR, NTP_PHASE_LIMIT);
    put(ESTERROR, NTP_PHASE_LIMIT);
    put(CONSTANT, 2);
    put(PRECISION, 1);
    put(TOLERANCE, TOLERANCE_500PPM);
    put(TIME_SEC, (now / NSEC_PER_SEC) as i64);
    // In ns once ADJ_NANO has been asked for (STA_NANO), else in us.
    let in_ns = timekeeping::ntp_nano();
    put(TIME_USEC, (now % NSEC_PER_SEC / if in_ns { 1 } else { 1000 }) as i64);
    put(TICK, (1_000_000 / USER_HZ) as i64);
    let status = STA_UNSYNC | if in_ns { STA_NANO } else { 0 };
    out[STATUS..STATUS + 4].copy_from_slice(&status.to_le_bytes());
    copy_to_user(buf, &out)?;
    Ok(TIME_ERROR)
}

/// `timer_create(clock, sevp, timerid)`.
fn sys_timer_create(clock: i32, sevp: u64, timerid: u64) -> SysResult {
    let clock = TimerClock::from_id(clock)?;
    let event = if sevp == 0 {
        None
    } else {
        let mut b = [0u8; 64];
        copy_from_user(&mut b, sevp)?;
        let int = |o: usize| i32::from_le_bytes(b[o..o + 4].try_into().unwrap());
        Some(SigEvent {
            value: u64::from_le_bytes(b[..8].try_into().unwrap()),
            signo: int(8),
            notify: int(12),
            tid: int(16) as u32,
        })
    };
    let id = timers::timer_create(clock, event)?;
    if let Err(e) = put_user_u32(timerid, id as u32) {
        let _ = timers::timer_delete(id);
        return Err(e);
    }
    Ok(0)
}

/// A `struct itimerspec` (interval, value) from its bytes.
fn itimerspec_bytes(left: u64, interval: u64) -> [u8; 32] {
    let mut b = [0u8; 32];
    b[..16].copy_from_slice(&timespec_bytes(interval));
    b[16..].copy_from_slice(&timespec_bytes(left));
    b
}

/// `timer_settime(id, flags, new, old)`.
fn sys_timer_settime(id: i32, flags: u32, new: u64, old: u64) -> SysResult {
    if new == 0 {
        return Err(Errno::EINVAL);
    }
    let mut b = [0u8; 32];
    copy_from_user(&mut b, new)?;
    let interval = timespec_ns(b[..16].try_into().unwrap())?;
    let value = timespec_ns(b[16..].try_into().unwrap())?;
    let (left, int) = timers::timer_settime(id, flags, value, interval)?;
    if old != 0 {
        copy_to_user(old, &itimerspec_bytes(left, int))?;
    }
    Ok(0)
}

/// `timer_gettime(id, cur)`.
fn sys_timer_gettime(id: i32, cur: u64) -> SysResult {
    let (left, int) = timers::timer_gettime(id)?;
    copy_to_user(cur, &itimerspec_bytes(left, int))?;
    Ok(0)
}
