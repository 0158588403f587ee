//! Clocks and sleeping: clock_gettime, nanosleep, clock_nanosleep.

use crate::sys::{self, check, syscall4};
use crate::{Errno, Result};

pub const CLOCK_REALTIME: i32 = 0;
pub const CLOCK_MONOTONIC: i32 = 1;

/// `struct timespec`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timespec {
    pub sec: i64,
    pub nsec: i64,
}

/// Reads clock `clock`.
pub fn clock_gettime(clock: i32) -> Result<Timespec> {
    let mut ts = Timespec::default();
    // SAFETY: the kernel writes one timespec into `ts`.
    check(unsafe { syscall4(sys::CLOCK_GETTIME, clock as usize, &mut ts as *mut Timespec as usize, 0, 0) })?;
    Ok(ts)
}

/// Sleeps for `duration`, resuming with the remaining time after signals that return (EINTR).
pub fn sleep(duration: Timespec) -> Result<()> {
    let mut req = duration;
    loop {
        let mut rem = Timespec::default();
        // SAFETY: `req` is read and `rem` written by the kernel; both live across the call.
        let r = check(unsafe {
            syscall4(sys::NANOSLEEP, &req as *const Timespec as usize, &mut rem as *mut Timespec as usize, 0, 0)
        });
        match r {
            Ok(_) => return Ok(()),
            Err(Errno::EINTR) => req = rem,
            Err(e) => return Err(e),
        }
    }
}

/// `clock_nanosleep(clock, 0, duration)`: one relative sleep on `clock`, not restarted.
pub fn clock_nanosleep(clock: i32, duration: Timespec) -> Result<()> {
    // SAFETY: `duration` lives across the call; the remaining-time pointer is NULL.
    check(unsafe { syscall4(sys::CLOCK_NANOSLEEP, clock as usize, 0, &duration as *const Timespec as usize, 0) })
        .map(drop)
}
