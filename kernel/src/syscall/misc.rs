//! Time, sleeping, scheduling and system information (Linux:
//! kernel/time/, kernel/sched/core.c, kernel/sys.c, drivers/char/random.c,
//! kernel/futex/syscalls.c).

use super::{nr, SysResult};
use crate::errno::Errno;
use crate::mm::uaccess::{copy_from_user, copy_to_user};
use crate::pid::Pid;
use crate::sched::task::{current, state};

const NSEC_PER_SEC: u64 = 1_000_000_000;
const CLOCK_REALTIME: u64 = 0;
const CLOCK_MONOTONIC: u64 = 1;
const CLOCK_PROCESS_CPUTIME_ID: u64 = 2;
const CLOCK_THREAD_CPUTIME_ID: u64 = 3;
const CLOCK_REALTIME_COARSE: u64 = 5;
const CLOCK_BOOTTIME: u64 = 7;
const CLOCK_TAI: u64 = 11;
const TIMER_ABSTIME: u64 = 1;

syscalls! {
    a;
    nr::CLOCK_GETTIME => sys_clock_gettime(a[0], a[1]),
    nr::CLOCK_GETRES => sys_clock_getres(a[0], a[1]),
    nr::GETTIMEOFDAY => sys_gettimeofday(a[0], a[1]),
    nr::NANOSLEEP => sys_clock_nanosleep(CLOCK_MONOTONIC, 0, a[0], a[1]),
    nr::RESTART_SYSCALL => sys_restart_syscall(),
    nr::CLOCK_NANOSLEEP => sys_clock_nanosleep(a[0], a[1], a[2], a[3]),
    nr::SCHED_YIELD => {
        crate::sched::core::yield_now();
        Ok(0)
    },
    nr::SCHED_SETAFFINITY => sys_sched_setaffinity(a[0] as i32, a[1] as usize, a[2]),
    nr::SCHED_GETAFFINITY => sys_sched_getaffinity(a[0] as i32, a[1] as usize, a[2]),
    nr::UNAME => sys_uname(a[0]),
    nr::SETHOSTNAME => sys_sethostname(a[0], a[1] as usize),
    nr::GETRANDOM => sys_getrandom(a[0], a[1] as usize, a[2]),
    nr::FUTEX => sys_futex(a[0], a[1] as u32, a[2] as u32, a[3], a[4], a[5] as u32),
    nr::FUTEX_WAITV => sys_futex_waitv(a[0], a[1], a[2] as u32, a[3], a[4] as i32),
    nr::SYSINFO => sys_sysinfo(a[0]),
    nr::REBOOT => sys_reboot(a[0] as u32, a[1] as u32, a[2] as u32),
    nr::SETITIMER => sys_setitimer(a[0], a[1], a[2]),
    nr::GETITIMER => sys_getitimer(a[0], a[1]),
}

/// A `struct timespec` in ns; EINVAL if malformed.
pub fn timespec_ns(b: &[u8; 16]) -> Result<u64, Errno> {
    let sec = i64::from_le_bytes(b[..8].try_into().unwrap());
    let nsec = i64::from_le_bytes(b[8..].try_into().unwrap());
    if sec < 0 || !(0..NSEC_PER_SEC as i64).contains(&nsec) {
        return Err(Errno::EINVAL);
    }
    Ok((sec as u64).saturating_mul(NSEC_PER_SEC).saturating_add(nsec as u64))
}

/// A `struct timespec` of `ns`.
pub fn timespec_bytes(ns: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&((ns / NSEC_PER_SEC) as i64).to_le_bytes());
    b[8..].copy_from_slice(&((ns % NSEC_PER_SEC) as i64).to_le_bytes());
    b
}

/// The clock's time now, ns. CLOCK_REALTIME (and its coarse twin, and
/// CLOCK_TAI with a TAI offset of 0) is the wall clock of timekeeping.rs,
/// which starts at the Epoch at boot (no RTC) until someone sets it.
fn clock_now(clock: u64) -> Result<u64, Errno> {
    Ok(match clock {
        CLOCK_REALTIME | CLOCK_REALTIME_COARSE | CLOCK_TAI => crate::timekeeping::ktime_get_real_ns(),
        CLOCK_MONOTONIC | 4 | 6 | CLOCK_BOOTTIME => crate::time::uptime_ns(),
        CLOCK_PROCESS_CPUTIME_ID | CLOCK_THREAD_CPUTIME_ID => current().runtime_ns(),
        _ => return Err(Errno::EINVAL),
    })
}

fn sys_clock_gettime(clock: u64, tp: u64) -> SysResult {
    let now = clock_now(clock)?;
    copy_to_user(tp, &timespec_bytes(now))?;
    Ok(0)
}

fn sys_clock_getres(clock: u64, tp: u64) -> SysResult {
    clock_now(clock)?;
    if tp != 0 {
        copy_to_user(tp, &timespec_bytes(1))?;
    }
    Ok(0)
}

fn sys_gettimeofday(tv: u64, tz: u64) -> SysResult {
    if tz != 0 {
        let (west, dst) = crate::timekeeping::timezone();
        let mut b = [0u8; 8];
        b[..4].copy_from_slice(&west.to_le_bytes());
        b[4..].copy_from_slice(&dst.to_le_bytes());
        copy_to_user(tz, &b)?;
    }
    if tv != 0 {
        let ns = crate::timekeeping::ktime_get_real_ns();
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&((ns / NSEC_PER_SEC) as i64).to_le_bytes());
        b[8..].copy_from_slice(&((ns % NSEC_PER_SEC / 1000) as i64).to_le_bytes());
        copy_to_user(tv, &b)?;
    }
    Ok(0)
}

/// `clock_nanosleep` (and `nanosleep`): sleeps interruptibly. Interrupted,
/// an absolute sleep is simply restarted; a relative one stores the time left
/// and resumes through `restart_syscall` when no handler ran (a stop and
/// continue, an ignored signal), or fails with EINTR when one did (Linux:
/// `hrtimer_nanosleep` with its restart block).
fn sys_clock_nanosleep(clock: u64, flags: u64, req: u64, rem: u64) -> SysResult {
    let _wchan = crate::wchan!("hrtimer_nanosleep");
    let mut b = [0u8; 16];
    copy_from_user(&mut b, req)?;
    let ns = timespec_ns(&b)?;
    clock_now(clock)?; // a known clock
    if clock == CLOCK_THREAD_CPUTIME_ID {
        return Err(Errno::EINVAL);
    }
    if flags & TIMER_ABSTIME != 0 {
        // The monotonic clocks count from boot, so the deadline is `ns`; a
        // wall-clock one is converted (timekeeping.rs). Interrupted, it
        // starts over only if no handler ran (Linux: ERESTARTNOHAND for
        // absolute sleeps; POSIX: EINTR after a handler).
        let deadline = match clock {
            CLOCK_REALTIME | CLOCK_REALTIME_COARSE | CLOCK_TAI => crate::timekeeping::realtime_to_uptime(ns),
            _ => ns,
        };
        return sleep_until(deadline, 0).map_err(|_| Errno::ERESTARTNOHAND);
    }
    sleep_until(crate::time::uptime_ns().saturating_add(ns), rem)
}

/// Sleeps until `deadline` (uptime, ns); interrupted, records the restart
/// block, stores the time left at `rmtp` (if not 0) and returns
/// ERESTART_RESTARTBLOCK.
fn sleep_until(deadline: u64, rmtp: u64) -> SysResult {
    loop {
        let left = deadline.saturating_sub(crate::time::uptime_ns());
        if left == 0 {
            return Ok(0);
        }
        if crate::sched::task::signal_pending() {
            // SAFETY: only the task itself touches its syscall registers.
            unsafe { (*current().user_regs.get()).restart_block = crate::sched::task::RestartBlock { deadline, rmtp } };
            if rmtp != 0 {
                copy_to_user(rmtp, &timespec_bytes(left))?;
            }
            return Err(Errno::ERESTART_RESTARTBLOCK);
        }
        crate::sched::core::schedule_timeout(left, state::TASK_INTERRUPTIBLE);
    }
}

/// `restart_syscall`: resumes the interrupted sleep (Linux:
/// `sys_restart_syscall`, for the nanosleep restart block).
fn sys_restart_syscall() -> SysResult {
    let _wchan = crate::wchan!("hrtimer_nanosleep");
    // SAFETY: only the task itself touches its syscall registers.
    let block = unsafe {
        let regs = &mut *current().user_regs.get();
        core::mem::take(&mut regs.restart_block)
    };
    if block.deadline == 0 {
        return Err(Errno::EINTR); // nothing to resume
    }
    sleep_until(block.deadline, block.rmtp)
}

/// The task `pid` names (0: the caller), with a reference.
fn task_of(pid: i32) -> Result<crate::sched::task::TaskRef, Errno> {
    if pid < 0 {
        return Err(Errno::ESRCH);
    }
    if pid == 0 {
        return Ok(current().get());
    }
    crate::sched::task::find_task_by_pid(pid as Pid).ok_or(Errno::ESRCH)
}

fn sys_sched_setaffinity(pid: i32, len: usize, mask: u64) -> SysResult {
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    let mut b = [0u8; 1];
    copy_from_user(&mut b, mask)?;
    let t = task_of(pid)?;
    let result = crate::sched::core::set_cpus_allowed(t, b[0] & ((1 << crate::config::NR_CPUS) - 1) as u8);
    t.put();
    result.map(|_| 0)
}

fn sys_sched_getaffinity(pid: i32, len: usize, mask: u64) -> SysResult {
    // The kernel's cpumask is one 64-bit word.
    if len < 8 || !len.is_multiple_of(8) {
        return Err(Errno::EINVAL);
    }
    let t = task_of(pid)?;
    let allowed = t.cpus_allowed.load(core::sync::atomic::Ordering::Relaxed) as u64;
    t.put();
    copy_to_user(mask, &allowed.to_le_bytes())?;
    Ok(8)
}

fn sys_sethostname(name: u64, len: usize) -> SysResult {
    if len > crate::fs::proc_sys::HOST_NAME_MAX {
        return Err(Errno::EINVAL);
    }
    let mut buf = [0u8; crate::fs::proc_sys::HOST_NAME_MAX];
    crate::mm::uaccess::copy_from_user(&mut buf[..len], name)?;
    crate::fs::proc_sys::set_hostname(&buf[..len]).map(|_| 0)
}

fn sys_uname(buf: u64) -> SysResult {
    let host = crate::fs::proc_sys::hostname();
    let fields: [&str; 6] = ["Linux", &host, "6.1.0-rpi4-rust", "#1 SMP PREEMPT", "aarch64", "(none)"];
    let mut b = [0u8; 65 * 6];
    for (i, f) in fields.iter().enumerate() {
        b[65 * i..65 * i + f.len()].copy_from_slice(f.as_bytes());
    }
    copy_to_user(buf, &b)?;
    Ok(0)
}

fn sys_getrandom(buf: u64, len: usize, flags: u64) -> SysResult {
    if flags & !7 != 0 {
        return Err(Errno::EINVAL);
    }
    let len = len.min(32 * 1024 * 1024);
    let mut done = 0;
    let mut chunk = [0u8; 256];
    while done < len {
        let n = (len - done).min(chunk.len());
        crate::random::get_random_bytes(&mut chunk[..n]);
        if let Err(e) = copy_to_user(buf + done as u64, &chunk[..n]) {
            return if done > 0 { Ok(done as u64) } else { Err(e) };
        }
        done += n;
    }
    Ok(done as u64)
}

/// `futex(uaddr, op, val, timeout_or_val2, uaddr2, val3)` (Linux:
/// `do_futex`): the timeout is relative for FUTEX_WAIT and absolute for
/// FUTEX_WAIT_BITSET, on CLOCK_MONOTONIC or, with FUTEX_CLOCK_REALTIME, on
/// the wall clock; the requeue and wake-op calls take a count in its place.
fn sys_futex(uaddr: u64, op: u32, val: u32, timeout: u64, uaddr2: u64, val3: u32) -> SysResult {
    use crate::futex::*;
    let cmd = op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    let realtime = op & FUTEX_CLOCK_REALTIME != 0;
    if realtime && cmd != FUTEX_WAIT && cmd != FUTEX_WAIT_BITSET && cmd != FUTEX_LOCK_PI2 {
        return Err(Errno::ENOSYS);
    }
    match cmd {
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            let deadline = if timeout == 0 {
                None
            } else {
                let mut b = [0u8; 16];
                copy_from_user(&mut b, timeout)?;
                let ns = timespec_ns(&b)?;
                Some(match (cmd, realtime) {
                    (FUTEX_WAIT, _) => crate::time::uptime_ns().saturating_add(ns),
                    (_, true) => crate::timekeeping::realtime_to_uptime(ns),
                    _ => ns,
                })
            };
            let bitset = if cmd == FUTEX_WAIT { FUTEX_BITSET_MATCH_ANY } else { val3 };
            futex_wait_bitset(uaddr, val, deadline, bitset)
        }
        FUTEX_WAKE => futex_wake(uaddr, val),
        FUTEX_WAKE_BITSET => futex_wake_bitset(uaddr, val, val3),
        FUTEX_REQUEUE => futex_requeue(uaddr, uaddr2, val as i32, timeout as i32, None),
        FUTEX_CMP_REQUEUE => futex_requeue(uaddr, uaddr2, val as i32, timeout as i32, Some(val3)),
        FUTEX_WAKE_OP => futex_wake_op(uaddr, uaddr2, val, timeout as u32, val3),
        FUTEX_LOCK_PI | FUTEX_LOCK_PI2 => {
            // An absolute time: on the wall clock for LOCK_PI, on
            // CLOCK_MONOTONIC for LOCK_PI2 unless FUTEX_CLOCK_REALTIME.
            let deadline = if timeout == 0 {
                None
            } else {
                let mut b = [0u8; 16];
                copy_from_user(&mut b, timeout)?;
                let ns = timespec_ns(&b)?;
                Some(if cmd == FUTEX_LOCK_PI || realtime { crate::timekeeping::realtime_to_uptime(ns) } else { ns })
            };
            futex_lock_pi(uaddr, deadline)
        }
        FUTEX_UNLOCK_PI => futex_unlock_pi(uaddr),
        FUTEX_TRYLOCK_PI => futex_trylock_pi(uaddr),
        _ => Err(Errno::ENOSYS),
    }
}

/// `futex_waitv(waiters, nr_futexes, flags, timeout, clockid)` (Linux:
/// kernel/futex/syscalls.c): waits on up to 128 `struct futex_waitv`
/// (value, address, flags FUTEX2_SIZE_U32 with FUTEX2_PRIVATE allowed, a
/// reserved word of 0) until any is woken, and returns its index. The
/// timeout is absolute, on CLOCK_MONOTONIC or CLOCK_REALTIME.
fn sys_futex_waitv(uwaitv: u64, nr_futexes: u64, flags: u32, timeout: u64, clockid: i32) -> SysResult {
    use crate::futex::{futex_wait_multiple, FUTEX_PRIVATE_FLAG, FUTEX_WAITV_MAX};
    const FUTEX2_SIZE_U32: u32 = 0x02;
    const FUTEX2_SIZE_MASK: u32 = 0x03;
    const CLOCK_REALTIME: i32 = 0;
    const CLOCK_MONOTONIC: i32 = 1;
    if flags != 0 || nr_futexes == 0 || nr_futexes > FUTEX_WAITV_MAX as u64 || uwaitv == 0 {
        return Err(Errno::EINVAL);
    }
    let deadline = if timeout == 0 {
        None
    } else {
        if clockid != CLOCK_REALTIME && clockid != CLOCK_MONOTONIC {
            return Err(Errno::EINVAL);
        }
        let mut b = [0u8; 16];
        copy_from_user(&mut b, timeout)?;
        let ns = timespec_ns(&b)?;
        Some(if clockid == CLOCK_REALTIME { crate::timekeeping::realtime_to_uptime(ns) } else { ns })
    };
    let mut raw = super::kbuf(24 * nr_futexes as usize)?;
    copy_from_user(&mut raw, uwaitv)?;
    let mut words = alloc::vec::Vec::new();
    words.try_reserve_exact(nr_futexes as usize).map_err(|_| Errno::ENOMEM)?;
    for w in raw.chunks(24) {
        let val = u64::from_le_bytes(w[0..8].try_into().unwrap());
        let uaddr = u64::from_le_bytes(w[8..16].try_into().unwrap());
        let wflags = u32::from_le_bytes(w[16..20].try_into().unwrap());
        let reserved = u32::from_le_bytes(w[20..24].try_into().unwrap());
        if wflags & !(FUTEX2_SIZE_MASK | FUTEX_PRIVATE_FLAG) != 0
            || reserved != 0
            || wflags & FUTEX2_SIZE_MASK != FUTEX2_SIZE_U32
        {
            return Err(Errno::EINVAL);
        }
        words.push((uaddr, val as u32));
    }
    futex_wait_multiple(&words, deadline)
}

/// A `struct itimerval` (interval, value; timevals) in ns.
fn itimerval_ns(b: &[u8; 32]) -> Result<(u64, u64), Errno> {
    let tv = |o: usize| -> Result<u64, Errno> {
        let sec = i64::from_le_bytes(b[o..o + 8].try_into().unwrap());
        let usec = i64::from_le_bytes(b[o + 8..o + 16].try_into().unwrap());
        if sec < 0 || !(0..1_000_000).contains(&usec) {
            return Err(Errno::EINVAL);
        }
        Ok((sec as u64).saturating_mul(NSEC_PER_SEC).saturating_add(usec as u64 * 1000))
    };
    Ok((tv(0)?, tv(16)?))
}

fn itimerval_bytes(left: u64, interval: u64) -> [u8; 32] {
    let mut b = [0u8; 32];
    for (o, ns) in [(0, interval), (16, left)] {
        b[o..o + 8].copy_from_slice(&((ns / NSEC_PER_SEC) as i64).to_le_bytes());
        b[o + 8..o + 16].copy_from_slice(&((ns % NSEC_PER_SEC / 1000) as i64).to_le_bytes());
    }
    b
}

fn sys_setitimer(which: u64, new: u64, old: u64) -> SysResult {
    crate::itimer::check_which(which)?;
    let (interval, value) = if new == 0 {
        (0, 0)
    } else {
        let mut b = [0u8; 32];
        copy_from_user(&mut b, new)?;
        itimerval_ns(&b)?
    };
    if old != 0 {
        let (left, int) = crate::itimer::get_real();
        copy_to_user(old, &itimerval_bytes(left, int))?;
    }
    crate::itimer::set_real(value, interval);
    Ok(0)
}

fn sys_getitimer(which: u64, cur: u64) -> SysResult {
    crate::itimer::check_which(which)?;
    let (left, int) = crate::itimer::get_real();
    copy_to_user(cur, &itimerval_bytes(left, int))?;
    Ok(0)
}

/// `reboot(2)` (Linux: kernel/reboot.c): power off or restart the board,
/// with Linux's magic numbers. Everyone is root, so anyone may.
fn sys_reboot(magic1: u32, magic2: u32, cmd: u32) -> SysResult {
    const MAGIC1: u32 = 0xfee1_dead;
    const MAGIC2: [u32; 4] = [672_274_793, 85_072_278, 369_367_448, 537_993_216];
    const CMD_RESTART: u32 = 0x0123_4567;
    const CMD_HALT: u32 = 0xcdef_0123;
    const CMD_POWER_OFF: u32 = 0x4321_fedc;
    const CMD_CAD_ON: u32 = 0x89ab_cdef;
    const CMD_CAD_OFF: u32 = 0;
    if magic1 != MAGIC1 || !MAGIC2.contains(&magic2) {
        return Err(Errno::EINVAL);
    }
    match cmd {
        CMD_RESTART => crate::board::restart(),
        CMD_HALT | CMD_POWER_OFF => crate::board::power_off(),
        CMD_CAD_ON | CMD_CAD_OFF => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

fn sys_sysinfo(info: u64) -> SysResult {
    let st = crate::mm::phys::stats();
    let mut procs = 0u16;
    crate::sched::task::for_each_process(|t| {
        if t.pid() == t.tgid() && t.pid() != 0 {
            procs = procs.saturating_add(1);
        }
    });
    let (a, b1, c) = crate::sched::loadavg::get();
    let mut b = [0u8; 112];
    b[0..8].copy_from_slice(&(crate::time::uptime_ns() / NSEC_PER_SEC).to_le_bytes());
    // Loads in 16-bit fixed point (SI_LOAD_SHIFT), from 11-bit.
    for (i, l) in [a, b1, c].iter().enumerate() {
        b[8 + 8 * i..16 + 8 * i].copy_from_slice(&(l << 5).to_le_bytes());
    }
    b[32..40].copy_from_slice(&(st.total as u64).to_le_bytes());
    b[40..48].copy_from_slice(&(st.free as u64).to_le_bytes());
    b[80..82].copy_from_slice(&procs.to_le_bytes());
    b[104..108].copy_from_slice(&4096u32.to_le_bytes()); // mem_unit
    copy_to_user(info, &b)?;
    Ok(0)
}
