//! The console as a terminal (Linux: drivers/tty/tty_io.c, tty_jobctrl.c):
//! the PL011 under the n_tty line discipline, opened as fds 0-2 of init.
//!
//! Input arrives from the UART interrupt ([`receive`]), which edits the line
//! and echoes at once, so Ctrl-C reaches the foreground process group even
//! while no one reads. The terminal remembers its session and foreground
//! process group (`TIOCSPGRP`). Job control as Linux's (tty_jobctrl.c,
//! [`tty_check_change`]): a process of a background group of the console's
//! session that reads the console is sent SIGTTIN, one that writes to it
//! while `tostop` is set, or changes its modes or foreground group, SIGTTOU;
//! the call restarts once the group is continued. The window size
//! (`TIOCSWINSZ`) is stored and read back; a change sends SIGWINCH to the
//! foreground group.

use super::file::{mode, poll, FileOps, Stat};
use super::n_tty::{NTty, Termios, TERMIOS_SIZE};
use crate::errno::Errno;
use crate::mm::uaccess;
use crate::sched::task::{current, state};
use crate::sched::wait::WaitQueueHead;
use crate::sync::IrqSpinLock;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;

static LDISC: IrqSpinLock<NTty> = IrqSpinLock::new(NTty::new());
static READ_WAIT: WaitQueueHead = WaitQueueHead::new();
/// The session the console is the controlling terminal of, and its
/// foreground process group (0: none). One lock for both, so a hang-up and
/// a new session taking the console cannot interleave. A leaf lock: nothing
/// is taken under it (Linux: the tty's ctrl lock).
static CTTY: IrqSpinLock<Ctty> = IrqSpinLock::new(Ctty { session: 0, pgrp: 0 });

/// The console's window size (struct winsize: rows, columns, x and y
/// pixels), set by `TIOCSWINSZ`; 24 x 80 until then.
static WINSIZE: IrqSpinLock<[u16; 4]> = IrqSpinLock::new([24, 80, 0, 0]);

#[derive(Clone, Copy)]
struct Ctty {
    session: crate::pid::Pid,
    pgrp: crate::pid::Pid,
}

/// Held across one `write` to the terminal, so writes from different
/// processes never interleave (Linux: the tty's `atomic_write_lock`, a
/// mutex: a writer that finds it taken sleeps on [`WRITE_WAIT`]). Kernel
/// log lines do not take it and may still land between two pieces.
static WRITE_LOCKED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
static WRITE_WAIT: WaitQueueHead = WaitQueueHead::new();

/// The terminal's write lock, released when dropped.
struct TtyWriteLock;

impl TtyWriteLock {
    /// Takes the lock, sleeping while another writer has it; a signal ends
    /// the wait (ERESTARTSYS, as Linux's `tty_write_lock`).
    fn lock() -> Result<TtyWriteLock, Errno> {
        let take = || WRITE_LOCKED.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok();
        if !take() {
            WRITE_WAIT.wait_event(state::TASK_INTERRUPTIBLE, take).map_err(|_| Errno::ERESTARTSYS)?;
        }
        Ok(TtyWriteLock)
    }
}

impl Drop for TtyWriteLock {
    fn drop(&mut self) {
        WRITE_LOCKED.store(false, Ordering::Release);
        WRITE_WAIT.wake_up();
    }
}

/// ioctl requests (asm-generic/ioctls.h).
pub mod ioctl {
    pub const TCGETS: u32 = 0x5401;
    pub const TCSETS: u32 = 0x5402;
    pub const TCSETSW: u32 = 0x5403;
    pub const TCSETSF: u32 = 0x5404;
    pub const TIOCSCTTY: u32 = 0x540e;
    pub const TIOCGPGRP: u32 = 0x540f;
    pub const TIOCSPGRP: u32 = 0x5410;
    pub const TIOCGWINSZ: u32 = 0x5413;
    pub const TIOCSWINSZ: u32 = 0x5414;
    pub const FIONREAD: u32 = 0x541b;
    pub const TIOCNOTTY: u32 = 0x5422;
    pub const TIOCGSID: u32 = 0x5429;
}

/// The console's device number, 5:1 (`/dev/console`).
pub const CONSOLE_RDEV: u64 = (5 << 8) | 1;

/// How many bytes the line discipline takes now (the console stops
/// reading the UART at 0 and waits for a reader: Linux's throttling).
pub fn receive_room() -> usize {
    LDISC.lock().receive_room()
}

/// Input bytes the line discipline dropped (an overlong canonical line).
pub fn input_dropped() -> u64 {
    LDISC.lock().dropped()
}

/// One byte from the UART (interrupt context, or a reader making room).
pub fn receive(byte: u8) {
    let mut echo = [0u8; 64];
    let mut n = 0;
    let signal = LDISC.lock().receive_byte(byte, &mut |b| {
        if n < echo.len() {
            echo[n] = b;
            n += 1;
        }
    });
    if n > 0 {
        crate::console::writer().write_raw(&echo[..n]);
    }
    if let Some(sig) = signal {
        let pgrp = CTTY.lock().pgrp;
        if pgrp > 0 {
            let info = crate::signal::SigInfo::kernel(sig.number() as i32);
            let _ = crate::signal::kill_pgrp(pgrp, info);
        }
    }
    READ_WAIT.wake_up();
}

/// The session's controlling terminal's foreground group, for /proc.
pub fn foreground_pgrp() -> crate::pid::Pid {
    CTTY.lock().pgrp
}

/// The session the console controls.
pub fn session() -> crate::pid::Pid {
    CTTY.lock().session
}

/// The console stops being the controlling terminal of `session`, whose
/// leader is exiting: its foreground group gets SIGHUP and SIGCONT, and the
/// next session leader to ask for the console gets it (Linux:
/// `disassociate_ctty`, called by `do_exit` for a session leader).
pub fn disassociate_ctty(session: crate::pid::Pid) {
    let pgrp = {
        let mut c = CTTY.lock();
        if c.session != session {
            return;
        }
        let pgrp = c.pgrp;
        *c = Ctty { session: 0, pgrp: 0 };
        pgrp
    };
    if pgrp > 0 {
        for sig in [crate::signal::SIGHUP, crate::signal::SIGCONT] {
            let _ = crate::signal::kill_pgrp(pgrp, crate::signal::SigInfo::kernel(sig));
        }
    }
}

/// Whether `pgrp` is a process group of `session` (Linux: TIOCSPGRP's
/// `session_of_pgrp` check): ESRCH if no such group, EPERM if it is
/// another session's.
fn check_pgrp(pgrp: crate::pid::Pid, session: crate::pid::Pid) -> Result<(), Errno> {
    let mut found = false;
    let mut same_session = false;
    // Any task still linked counts, zombies and the threads of a process
    // whose leader has exited included: the group exists until released.
    crate::sched::task::for_each_process(|p| {
        if p.is_user() && p.pgrp() == pgrp {
            found = true;
            same_session |= p.session() == session;
        }
    });
    match (found, same_session) {
        (false, _) => Err(Errno::ESRCH),
        (true, false) => Err(Errno::EPERM),
        (true, true) => Ok(()),
    }
}

/// Whether a live task of `session` is left: a console still held by a
/// session whose leader and members are all gone (its hang-up raced with
/// the next session) is free to take.
fn session_alive(session: crate::pid::Pid) -> bool {
    let mut alive = false;
    crate::sched::task::for_each_process(|p| {
        alive |= p.is_user() && p.session() == session && p.exit_state.load(Ordering::Relaxed) == 0;
    });
    alive
}

/// Whether the caller's process group is orphaned (Linux:
/// `is_current_pgrp_orphaned`): no member has a parent in another group of
/// the same session, so no shell is there to continue it if it stops.
fn is_current_pgrp_orphaned() -> bool {
    let me = current();
    let (pgrp, session) = (me.pgrp(), me.session());
    let mut orphaned = true;
    crate::sched::task::for_each_process(|p| {
        if !p.is_user() || p.pgrp() != pgrp || p.exit_state.load(Ordering::Relaxed) != 0 {
            return;
        }
        // SAFETY: for_each_process holds TASKLIST, under which the parent
        // link is stable and the parent alive.
        let parent = unsafe { *p.real_parent.get() };
        if parent.is_null() {
            return;
        }
        // SAFETY: as above.
        let parent = unsafe { crate::sched::task::TaskRef::from_ptr(parent) };
        if parent.is_user() && parent.pgrp() != pgrp && parent.session() == session {
            orphaned = false;
        }
    });
    orphaned
}

/// Whether the caller blocks or ignores `sig` (Linux: `is_ignored` in
/// tty_jobctrl.c, which looks at the handler, not at the default action).
fn is_ignored(sig: i32) -> bool {
    let me = current();
    let blocked = me.blocked.load(Ordering::Relaxed) & (1u64 << (sig - 1)) != 0;
    blocked || me.sighand().is_some_and(|h| h.get(sig).handler == crate::signal::SIG_IGN)
}

/// May the caller use the console as `sig` says, SIGTTIN for a read and
/// SIGTTOU for output and mode changes (Linux: `__tty_check_change`)? Yes
/// unless the console is its session's terminal and its group is not the
/// foreground group. Then: EIO for a read whose SIGTTIN is blocked or
/// ignored, or for a group that is orphaned; a write whose SIGTTOU is
/// blocked or ignored goes ahead; otherwise the whole group gets `sig` and
/// the call is restarted after it (ERESTARTSYS): when the shell continues
/// the job in the foreground, the call finds the terminal its own.
pub fn tty_check_change(sig: i32) -> Result<(), Errno> {
    let me = current();
    let Ctty { session, pgrp: tty_pgrp } = *CTTY.lock();
    if session == 0 || session != me.session() {
        return Ok(());
    }
    let pgrp = me.pgrp();
    if tty_pgrp == 0 || pgrp == tty_pgrp {
        return Ok(());
    }
    if is_ignored(sig) {
        return if sig == crate::signal::SIGTTIN { Err(Errno::EIO) } else { Ok(()) };
    }
    if is_current_pgrp_orphaned() {
        return Err(Errno::EIO);
    }
    let _ = crate::signal::kill_pgrp(pgrp, crate::signal::SigInfo::kernel(sig));
    Err(Errno::ERESTARTSYS)
}

/// Sets the console's session and foreground group to `new` if `owner`,
/// which the caller checked, still holds it; EPERM if it was taken
/// meanwhile.
fn take_console(owner: crate::pid::Pid, new: Ctty) -> Result<u64, Errno> {
    let mut c = CTTY.lock();
    if c.session != owner {
        return Err(Errno::EPERM);
    }
    *c = new;
    Ok(0)
}

/// An open console.
pub struct Console;

/// Opens the console.
pub fn open() -> Arc<Console> {
    Arc::new(Console)
}

impl FileOps for Console {
    fn read(&self, buf: &mut [u8], _pos: u64, nonblock: bool) -> Result<usize, Errno> {
        loop {
            // Checked on every pass (Linux: `job_control` in n_tty_read):
            // the group may have been moved to the background meanwhile.
            tty_check_change(crate::signal::SIGTTIN)?;
            let read = LDISC.lock().try_read(buf);
            // Room again for input held back in the UART (also before a
            // sleep: the input may have been held back for another owner).
            crate::console::unthrottle();
            if let Some(n) = read {
                return Ok(n);
            }
            if buf.is_empty() {
                return Ok(0);
            }
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            let len = buf.len();
            let _wchan = crate::wchan!("wait_woken");
            READ_WAIT
                .wait_event(state::TASK_INTERRUPTIBLE, || LDISC.lock().read_ready_for(len))
                .map_err(|_| Errno::ERESTARTSYS)?;
        }
    }

    fn write(&self, buf: &[u8], _nonblock: bool) -> Result<usize, Errno> {
        if LDISC.lock().termios().c_lflag & super::n_tty::TOSTOP != 0 {
            tty_check_change(crate::signal::SIGTTOU)?;
        }
        // One write at a time, whole (Linux: `tty_write_lock`): no other
        // process's output lands inside it.
        let _atomic = TtyWriteLock::lock()?;
        // In pieces, so interrupts are not masked for a whole long write;
        // lock order: the write lock, the line discipline, then the
        // console output.
        for piece in buf.chunks(256) {
            let ldisc = LDISC.lock();
            let mut out = crate::console::writer();
            let mut chunk = [0u8; 512];
            let mut n = 0;
            ldisc.write_output(piece, &mut |b| {
                if n == chunk.len() {
                    out.write_raw(&chunk);
                    n = 0;
                }
                chunk[n] = b;
                n += 1;
            });
            out.write_raw(&chunk[..n]);
        }
        Ok(buf.len())
    }

    fn ioctl(&self, cmd: u32, arg: u64) -> Result<u64, Errno> {
        use ioctl::*;
        match cmd {
            TCGETS => {
                let t = LDISC.lock().termios();
                uaccess::copy_to_user(arg, &t.to_bytes())?;
                Ok(0)
            }
            TCSETS | TCSETSW | TCSETSF => {
                tty_check_change(crate::signal::SIGTTOU)?;
                let mut b = [0u8; TERMIOS_SIZE];
                uaccess::copy_from_user(&mut b, arg)?;
                let t = Termios::from_bytes(&b).ok_or(Errno::EINVAL)?;
                let mut l = LDISC.lock();
                if cmd == TCSETSF {
                    l.flush_input();
                }
                l.set_termios(t);
                drop(l);
                crate::console::unthrottle();
                READ_WAIT.wake_up();
                Ok(0)
            }
            TIOCGPGRP => {
                uaccess::copy_to_user(arg, &foreground_pgrp().to_le_bytes())?;
                Ok(0)
            }
            TIOCSPGRP => {
                let mut b = [0u8; 4];
                uaccess::copy_from_user(&mut b, arg)?;
                let pgrp = i32::from_le_bytes(b);
                if pgrp <= 0 {
                    return Err(Errno::EINVAL);
                }
                let pgrp = pgrp as crate::pid::Pid;
                let me = current();
                let owner = session();
                if owner != 0 && owner != me.session() && session_alive(owner) {
                    return Err(Errno::ENOTTY);
                }
                if owner == me.session() {
                    // Linux's tiocspgrp: EIO from the check becomes ENOTTY.
                    tty_check_change(crate::signal::SIGTTOU).map_err(|e| match e {
                        Errno::EIO => Errno::ENOTTY,
                        e => e,
                    })?;
                }
                check_pgrp(pgrp, me.session())?;
                // A console no session controls goes to the caller's (the
                // console is every process's terminal here; Linux would
                // want TIOCSCTTY first).
                take_console(owner, Ctty { session: me.session(), pgrp }).map_err(|_| Errno::ENOTTY)
            }
            TIOCSCTTY => {
                // Only a session leader takes a terminal; another session's
                // terminal only when it insists (arg 1; everyone is root).
                let me = current();
                if me.session() != me.tgid() {
                    return Err(Errno::EPERM);
                }
                let owner = session();
                if owner == me.session() {
                    return Ok(0); // ours already: the foreground group stays
                }
                if owner != 0 && arg != 1 && session_alive(owner) {
                    return Err(Errno::EPERM);
                }
                take_console(owner, Ctty { session: me.session(), pgrp: me.pgrp() })
            }
            TIOCNOTTY => Ok(0),
            TIOCGSID => {
                uaccess::copy_to_user(arg, &session().to_le_bytes())?;
                Ok(0)
            }
            TIOCGWINSZ => {
                // struct winsize: rows, cols, xpixel, ypixel (u16 each).
                let ws: [u16; 4] = *WINSIZE.lock();
                let mut b = [0u8; 8];
                for (i, v) in ws.iter().enumerate() {
                    b[2 * i..2 * i + 2].copy_from_slice(&v.to_le_bytes());
                }
                uaccess::copy_to_user(arg, &b)?;
                Ok(0)
            }
            TIOCSWINSZ => {
                let mut b = [0u8; 8];
                uaccess::copy_from_user(&mut b, arg)?;
                let ws: [u16; 4] = core::array::from_fn(|i| u16::from_le_bytes([b[2 * i], b[2 * i + 1]]));
                let changed = core::mem::replace(&mut *WINSIZE.lock(), ws) != ws;
                // Linux's tty_do_resize: the foreground group hears of a change.
                let pgrp = foreground_pgrp();
                if changed && pgrp > 0 {
                    let _ = crate::signal::kill_pgrp(pgrp, crate::signal::SigInfo::kernel(crate::signal::SIGWINCH));
                }
                Ok(0)
            }
            FIONREAD => {
                let n = LDISC.lock().queued() as i32;
                uaccess::copy_to_user(arg, &n.to_le_bytes())?;
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn stat(&self) -> Stat {
        Stat { dev: 5, ino: 3, mode: mode::S_IFCHR | 0o620, nlink: 1, rdev: CONSOLE_RDEV, ..Stat::default() }
    }

    fn poll(&self) -> u16 {
        let ready = if LDISC.lock().read_ready() { poll::POLLIN } else { 0 };
        ready | poll::POLLOUT
    }

    fn poll_wait(&self, register: &mut dyn FnMut(&WaitQueueHead)) {
        register(&READ_WAIT);
    }

    fn path(&self) -> Option<alloc::string::String> {
        Some(alloc::string::String::from("/dev/console"))
    }
}
