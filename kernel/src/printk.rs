//! The kernel log buffer (Linux: kernel/printk/printk.c, `log_buf`) and the
//! `syslog` system call that reads it (`dmesg`, `klogd`).
//!
//! Every line the logger prints (logger.rs) is also kept here, as text with
//! its syslog level in front (`<6>[    1.234567] I core0: message`), so the
//! boot log can be read long after it scrolled off the console. The buffer
//! is a fixed ring in the kernel image: it never allocates, so logging works
//! from any context, including out of memory. When it is full the oldest
//! whole lines are dropped.
//!
//! The console shows only lines at or below the console log level (Linux:
//! `console_loglevel`, set by `dmesg -n` through SYSLOG_ACTION_CONSOLE_LEVEL);
//! the buffer keeps every line the logger emits.
//!
//! Locks: `LOG_BUF` is taken alone (never with the console output lock held,
//! or the other way round); readers copy out under it and write to user
//! memory after dropping it.

use crate::errno::Errno;
use crate::sched::wait::WaitQueueHead;
use crate::sync::IrqSpinLock;
use crate::util::logring::LogRing;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// Size of the log buffer (Linux: `CONFIG_LOG_BUF_SHIFT`, 2^16 here).
pub const LOG_BUF_LEN: usize = 1 << 16;

/// Syslog levels (Linux: `KERN_ERR` ... `KERN_DEBUG`).
pub const LOGLEVEL_ERR: u32 = 3;
pub const LOGLEVEL_WARNING: u32 = 4;
pub const LOGLEVEL_INFO: u32 = 6;
pub const LOGLEVEL_DEBUG: u32 = 7;

static LOG_BUF: IrqSpinLock<LogRing<LOG_BUF_LEN>> = IrqSpinLock::new(LogRing::new());
/// Destructive readers (`SYSLOG_ACTION_READ`) sleep here for new lines.
static LOG_WAIT: WaitQueueHead = WaitQueueHead::new();
/// Lines at a level above this one are kept but not printed (Linux:
/// `console_loglevel`; 7 prints everything up to debug).
static CONSOLE_LOGLEVEL: AtomicU32 = AtomicU32::new(LOGLEVEL_DEBUG);
/// Set when something may sleep on `LOG_WAIT`, so the common case of
/// logging skips the wake-up.
static READER_WAITING: AtomicBool = AtomicBool::new(false);

/// Whether a line at `level` goes to the console.
pub fn console_shows(level: u32) -> bool {
    level <= CONSOLE_LOGLEVEL.load(Ordering::Relaxed)
}

/// Sets the console log level (1..=8, Linux's range; 8 shows debug too).
pub fn set_console_loglevel(level: u32) -> Result<(), Errno> {
    if !(1..=8).contains(&level) {
        return Err(Errno::EINVAL);
    }
    // Linux's levels count from 0 (emergency): level N shows 0..N-1.
    CONSOLE_LOGLEVEL.store(level - 1, Ordering::Relaxed);
    Ok(())
}

/// A writer that appends the formatted text of one line to the log buffer
/// under its lock (Linux: `vprintk_store`); dropping it ends the line.
pub struct LogLine {
    ring: crate::sync::IrqSpinLockGuard<'static, LogRing<LOG_BUF_LEN>>,
}

impl core::fmt::Write for LogLine {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.ring.push(s.as_bytes());
        Ok(())
    }
}

impl Drop for LogLine {
    fn drop(&mut self) {
        self.ring.push(b"\n");
        if READER_WAITING.load(Ordering::Acquire) {
            WAKEUP_PENDING.store(true, Ordering::Release);
        }
    }
}

/// Starts a line at syslog `level`: the `<level>` prefix is written here.
pub fn log_line(level: u32) -> LogLine {
    let mut ring = LOG_BUF.lock();
    ring.push(&[b'<', b'0' + level.min(7) as u8, b'>']);
    LogLine { ring }
}

/// A rate limit for a kind of message (Linux: `struct ratelimit_state`):
/// at most `burst` messages in each `interval_ns` window; the rest are
/// counted and reported as suppressed when the next window opens.
pub struct RateLimit {
    interval_ns: u64,
    burst: u32,
    /// (window start, messages let through in it, messages suppressed).
    state: IrqSpinLock<(u64, u32, u32)>,
}

/// What [`RateLimit::check`] decided.
pub struct RateVerdict {
    /// Print this message.
    pub allowed: bool,
    /// Messages suppressed in the window that just closed (to report).
    pub suppressed: u32,
}

impl RateLimit {
    /// Linux's defaults: 10 messages per 5 seconds
    /// (`DEFAULT_RATELIMIT_BURST`, `DEFAULT_RATELIMIT_INTERVAL`).
    pub const fn new() -> Self {
        RateLimit { interval_ns: 5_000_000_000, burst: 10, state: IrqSpinLock::new((0, 0, 0)) }
    }

    /// Whether a message may go out at uptime `now_ns` (Linux:
    /// `___ratelimit`).
    pub fn check(&self, now_ns: u64) -> RateVerdict {
        let mut st = self.state.lock();
        let mut suppressed = 0;
        if st.1 == 0 || now_ns.saturating_sub(st.0) >= self.interval_ns {
            suppressed = st.2;
            *st = (now_ns, 0, 0);
        }
        if st.1 < self.burst {
            st.1 += 1;
            RateVerdict { allowed: true, suppressed }
        } else {
            st.2 += 1;
            RateVerdict { allowed: false, suppressed }
        }
    }
}

impl Default for RateLimit {
    fn default() -> Self {
        Self::new()
    }
}

/// Set when a line came in while a reader may sleep: the wake-up is left to
/// the timer tick, since a line may be logged with scheduler locks held,
/// which waking would take again (Linux defers it to irq_work too:
/// `wake_up_klogd`).
static WAKEUP_PENDING: AtomicBool = AtomicBool::new(false);

/// Wakes sleeping log readers if lines came in; called from the timer
/// interrupt, where this core holds no lock.
pub fn wake_up_klogd_work() {
    if WAKEUP_PENDING.load(Ordering::Relaxed) && WAKEUP_PENDING.swap(false, Ordering::Acquire) {
        LOG_WAIT.wake_up();
    }
}

/// `syslog(2)` actions (Linux: include/linux/syslog.h).
mod action {
    pub const CLOSE: u32 = 0;
    pub const OPEN: u32 = 1;
    pub const READ: u32 = 2;
    pub const READ_ALL: u32 = 3;
    pub const READ_CLEAR: u32 = 4;
    pub const CLEAR: u32 = 5;
    pub const CONSOLE_OFF: u32 = 6;
    pub const CONSOLE_ON: u32 = 7;
    pub const CONSOLE_LEVEL: u32 = 8;
    pub const SIZE_UNREAD: u32 = 9;
    pub const SIZE_BUFFER: u32 = 10;
}

/// The console level before `CONSOLE_OFF`, for `CONSOLE_ON`.
static SAVED_CONSOLE_LOGLEVEL: AtomicU32 = AtomicU32::new(u32::MAX);

/// Copies bytes of the log to user memory through a bounce buffer of
/// `LOG_BUF_LEN` bytes on the heap, taken outside the lock.
fn copy_log_out(buf: u64, len: usize, take: impl FnOnce(&mut [u8]) -> usize) -> Result<u64, Errno> {
    let len = len.min(LOG_BUF_LEN);
    let mut bounce = alloc::vec::Vec::new();
    bounce.try_reserve_exact(len).map_err(|_| Errno::ENOMEM)?;
    bounce.resize(len, 0);
    let n = take(&mut bounce);
    crate::mm::uaccess::copy_to_user(buf, &bounce[..n])?;
    Ok(n as u64)
}

/// `syslog(type, buf, len)` (Linux: `do_syslog`). Every caller is root here,
/// so there is no permission check.
pub fn do_syslog(kind: u32, buf: u64, len: i32) -> Result<u64, Errno> {
    match kind {
        action::CLOSE | action::OPEN => Ok(0),
        action::READ => {
            if buf == 0 || len < 0 {
                return Err(Errno::EINVAL);
            }
            if len == 0 {
                return Ok(0);
            }
            READER_WAITING.store(true, Ordering::Release);
            LOG_WAIT
                .wait_event(crate::sched::task::state::TASK_INTERRUPTIBLE, || LOG_BUF.lock().unread() > 0)
                .map_err(|_| Errno::ERESTARTSYS)?;
            copy_log_out(buf, len as usize, |out| LOG_BUF.lock().read(out))
        }
        action::READ_ALL | action::READ_CLEAR => {
            if buf == 0 || len < 0 {
                return Err(Errno::EINVAL);
            }
            if len == 0 {
                return Ok(0);
            }
            copy_log_out(buf, len as usize, |out| {
                let mut ring = LOG_BUF.lock();
                let n = ring.read_all(out);
                if kind == action::READ_CLEAR {
                    ring.clear();
                }
                n
            })
        }
        action::CLEAR => {
            LOG_BUF.lock().clear();
            Ok(0)
        }
        action::CONSOLE_OFF => {
            let old = CONSOLE_LOGLEVEL.swap(0, Ordering::Relaxed);
            let _ = SAVED_CONSOLE_LOGLEVEL.compare_exchange(u32::MAX, old, Ordering::Relaxed, Ordering::Relaxed);
            Ok(0)
        }
        action::CONSOLE_ON => {
            let saved = SAVED_CONSOLE_LOGLEVEL.swap(u32::MAX, Ordering::Relaxed);
            if saved != u32::MAX {
                CONSOLE_LOGLEVEL.store(saved, Ordering::Relaxed);
            }
            Ok(0)
        }
        action::CONSOLE_LEVEL => {
            set_console_loglevel(len as u32)?;
            SAVED_CONSOLE_LOGLEVEL.store(u32::MAX, Ordering::Relaxed);
            Ok(0)
        }
        action::SIZE_UNREAD => Ok(LOG_BUF.lock().unread() as u64),
        action::SIZE_BUFFER => Ok(LOG_BUF_LEN as u64),
        _ => Err(Errno::EINVAL),
    }
}
