//! The wall clock (Linux: kernel/time/timekeeping.c): CLOCK_REALTIME is the
//! monotonic uptime plus an offset that `clock_settime`, `settimeofday` and
//! `clock_adjtime(ADJ_SETOFFSET)` move (Linux: `tk->offs_real`).
//!
//! The Pi has no battery-backed clock, so the offset starts at 0: the wall
//! clock reads the Epoch at boot until someone sets it (`date -s`), as on a
//! Linux board without an RTC or network time.
//!
//! Departure from Linux: sleeps and timers with an absolute CLOCK_REALTIME
//! deadline convert it to uptime when they start, so a clock set while
//! they wait does not move them (Linux re-evaluates them: `clock_was_set`).

use core::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, Ordering};

/// Wall-clock time minus uptime, ns.
static REALTIME_OFFSET_NS: AtomicI64 = AtomicI64::new(0);

/// The latest time the wall clock can be set to, ns (Linux:
/// `timespec64_valid_settod` keeps it below KTIME_SEC_MAX minus a margin).
pub const MAX_SETTABLE_NS: u64 = (i64::MAX as u64 / 1_000_000_000 - 30 * 365 * 86_400) * 1_000_000_000;

/// The wall-clock time for an uptime, ns since the Epoch (never before it).
pub fn realtime_at(uptime_ns: u64) -> u64 {
    let t = uptime_ns as i128 + REALTIME_OFFSET_NS.load(Ordering::Relaxed) as i128;
    t.clamp(0, u64::MAX as i128) as u64
}

/// The wall-clock time now, ns since the Epoch (Linux: `ktime_get_real_ns`).
pub fn ktime_get_real_ns() -> u64 {
    realtime_at(crate::time::uptime_ns())
}

/// The uptime at which the wall clock reads `real_ns` (0 if that was
/// before boot).
pub fn realtime_to_uptime(real_ns: u64) -> u64 {
    let t = real_ns as i128 - REALTIME_OFFSET_NS.load(Ordering::Relaxed) as i128;
    t.clamp(0, u64::MAX as i128) as u64
}

/// Sets the wall clock to `real_ns` (Linux: `do_settimeofday64`).
pub fn do_settimeofday64(real_ns: u64) {
    let offset = real_ns as i128 - crate::time::uptime_ns() as i128;
    REALTIME_OFFSET_NS.store(offset.clamp(i64::MIN as i128, i64::MAX as i128) as i64, Ordering::Relaxed);
}

/// Moves the wall clock by `delta_ns` (Linux: `timekeeping_inject_offset`);
/// EINVAL if it would go before the Epoch or past [`MAX_SETTABLE_NS`].
pub fn timekeeping_inject_offset(delta_ns: i64) -> Result<(), crate::errno::Errno> {
    let now = ktime_get_real_ns() as i128 + delta_ns as i128;
    if now < 0 || now > MAX_SETTABLE_NS as i128 {
        return Err(crate::errno::Errno::EINVAL);
    }
    REALTIME_OFFSET_NS.fetch_add(delta_ns, Ordering::Relaxed);
    Ok(())
}

/// `settimeofday`'s time zone (Linux: `sys_tz`): minutes west of Greenwich
/// and the DST type, reported back by `gettimeofday` and used for nothing.
static TZ_MINUTESWEST: AtomicI32 = AtomicI32::new(0);
static TZ_DSTTIME: AtomicI32 = AtomicI32::new(0);

/// Records the time zone.
pub fn set_timezone(minuteswest: i32, dsttime: i32) {
    TZ_MINUTESWEST.store(minuteswest, Ordering::Relaxed);
    TZ_DSTTIME.store(dsttime, Ordering::Relaxed);
}

/// The time zone last set: (minutes west, DST type).
pub fn timezone() -> (i32, i32) {
    (TZ_MINUTESWEST.load(Ordering::Relaxed), TZ_DSTTIME.load(Ordering::Relaxed))
}

/// Whether `adjtimex` reports in ns (Linux: STA_NANO, set by ADJ_NANO and
/// cleared by ADJ_MICRO).
static NTP_NANO: AtomicBool = AtomicBool::new(false);

/// Sets or clears STA_NANO.
pub fn set_ntp_nano(nano: bool) {
    NTP_NANO.store(nano, Ordering::Relaxed);
}

/// Whether STA_NANO is set.
pub fn ntp_nano() -> bool {
    NTP_NANO.load(Ordering::Relaxed)
}
