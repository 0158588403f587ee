//! Signals (Linux: kernel/signal.c, arch/arm64/kernel/signal.c).
//!
//! - Per task: a private pending set (`tkill`/`tgkill`, faults), the blocked
//!   mask, and the siginfo of each pending signal.
//! - Per thread group ([`SignalStruct`], shared by CLONE_THREAD): the shared
//!   pending set (`kill`), job-control state, process group and session,
//!   resource limits and the group exit.
//! - Per handler table ([`SigHand`], shared by CLONE_SIGHAND): the 64
//!   `sigaction`s.
//!
//! Sending sets a pending bit and wakes a thread that does not block the
//! signal. Delivery happens on the way back to user mode
//! ([`do_notify_resume`]): the default action (ignore, stop, continue,
//! terminate), or a user handler on an `rt_sigframe` laid out as Linux's
//! arm64 frame (siginfo, ucontext with the sigcontext and an
//! `fpsimd_context` record), returning through `rt_sigreturn`: the
//! handler's `sa_restorer`, or the kernel's trampoline page.
//!
//! Real-time signals (SIGRTMIN and up) are queued once per send with their
//! siginfo ([`SigPending`]), standard ones once; every queued instance
//! counts against the receiver's RLIMIT_SIGPENDING. A handler with
//! SA_ONSTACK runs on the thread's alternate stack ([`SigAltStack`]).
//!
//! Departures from Linux: a stop (SIGSTOP, SIGTSTP...) stops the thread that
//! takes it at once and the group's other threads when they next return to
//! user mode; SIGKILL is taken before other pending signals (Linux takes
//! the synchronous faults first); a siginfo from `rt_sigqueueinfo` keeps
//! its first 32 bytes (code, pid, uid, value).
//!
//! Lock order: a `SigPending`'s queue lock nests inside TASKLIST (a child's
//! exit signal) and takes only the heap's lock.

use crate::arch::exception::TrapFrame;
use crate::arch::fpsimd::{self, FpState};
use crate::errno::Errno;
use crate::mm::uaccess;
use crate::pid::Pid;
use crate::sched::task::{current, for_each_process, pf, state, tif, TaskRef, TASKLIST};
use crate::sync::IrqSpinLock;
use crate::wstatus;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, AtomicUsize, Ordering};

pub const SIGHUP: i32 = 1;
pub const SIGINT: i32 = 2;
pub const SIGQUIT: i32 = 3;
pub const SIGILL: i32 = 4;
pub const SIGTRAP: i32 = 5;
pub const SIGABRT: i32 = 6;
pub const SIGBUS: i32 = 7;
pub const SIGFPE: i32 = 8;
pub const SIGKILL: i32 = 9;
pub const SIGUSR1: i32 = 10;
pub const SIGSEGV: i32 = 11;
pub const SIGUSR2: i32 = 12;
pub const SIGPIPE: i32 = 13;
pub const SIGALRM: i32 = 14;
pub const SIGTERM: i32 = 15;
pub const SIGCHLD: i32 = 17;
pub const SIGCONT: i32 = 18;
pub const SIGSTOP: i32 = 19;
pub const SIGTSTP: i32 = 20;
pub const SIGTTIN: i32 = 21;
pub const SIGTTOU: i32 = 22;
pub const SIGURG: i32 = 23;
pub const SIGXCPU: i32 = 24;
pub const SIGXFSZ: i32 = 25;
pub const SIGWINCH: i32 = 28;
pub const SIGSYS: i32 = 31;
/// The first real-time signal (the C libraries keep 32 and 33 for
/// themselves, so their SIGRTMIN is 34).
pub const SIGRTMIN: i32 = 32;
/// Highest signal number.
pub const NSIG: i32 = 64;

/// `sa_handler` values.
pub const SIG_DFL: u64 = 0;
pub const SIG_IGN: u64 = 1;

/// `sa_flags`.
pub const SA_NOCLDSTOP: u64 = 0x0000_0001;
pub const SA_NOCLDWAIT: u64 = 0x0000_0002;
pub const SA_SIGINFO: u64 = 0x0000_0004;
pub const SA_RESTORER: u64 = 0x0400_0000;
pub const SA_ONSTACK: u64 = 0x0800_0000;
pub const SA_RESTART: u64 = 0x1000_0000;
pub const SA_NODEFER: u64 = 0x4000_0000;
pub const SA_RESETHAND: u64 = 0x8000_0000;

/// `si_code` values.
pub const SI_USER: i32 = 0;
/// Sent by `sigqueue` (`rt_sigqueueinfo`).
pub const SI_QUEUE: i32 = -1;
pub const SI_KERNEL: i32 = 0x80;
pub const SI_TKILL: i32 = -6;
pub use crate::wstatus::{CLD_CONTINUED, CLD_DUMPED, CLD_EXITED, CLD_KILLED, CLD_STOPPED};
pub const SEGV_MAPERR: i32 = 1;
pub const SEGV_ACCERR: i32 = 2;
/// `si_code` of SIGBUS: invalid address alignment.
pub const BUS_ADRALN: i32 = 1;
/// `si_code` of SIGBUS: hardware error on the object.
pub const BUS_OBJERR: i32 = 3;

/// The bit of `sig` in a signal set.
pub const fn sigmask(sig: i32) -> u64 {
    1 << (sig - 1)
}

/// Signals that can be neither caught, blocked nor ignored.
pub const UNBLOCKABLE: u64 = sigmask(SIGKILL) | sigmask(SIGSTOP);
const STOP_SIGNALS: u64 = sigmask(SIGSTOP) | sigmask(SIGTSTP) | sigmask(SIGTTIN) | sigmask(SIGTTOU);

/// What a signal does when its handler is SIG_DFL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultAction {
    Terminate,
    /// Terminate with a core dump (the status says so; no core is written).
    Core,
    Ignore,
    Stop,
    Continue,
}

/// Linux's default action for `sig`.
pub const fn default_action(sig: i32) -> DefaultAction {
    match sig {
        SIGCHLD | SIGURG | SIGWINCH => DefaultAction::Ignore,
        SIGCONT => DefaultAction::Continue,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => DefaultAction::Stop,
        SIGQUIT | SIGILL | SIGTRAP | SIGABRT | SIGBUS | SIGFPE | SIGSEGV | SIGXCPU | SIGXFSZ | SIGSYS => {
            DefaultAction::Core
        }
        _ => DefaultAction::Terminate,
    }
}

/// One `struct sigaction` (the kernel's arm64 layout).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigAction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

/// What the receiver learns about a signal (a subset of `siginfo_t`).
#[derive(Clone, Copy, Debug, Default)]
pub struct SigInfo {
    pub signo: i32,
    pub code: i32,
    pub pid: i32,
    pub uid: u32,
    /// SIGCHLD: exit status or signal.
    pub status: i32,
    /// Faults: the address.
    pub addr: u64,
    /// `si_value` (POSIX timers: the timer's `sigev_value`); for SI_TIMER
    /// `pid` is the timer ID and `uid` the overrun count, as `siginfo_t`'s
    /// `_timer` member overlays them.
    pub value: u64,
}

impl SigInfo {
    /// A signal sent by a process (`kill`), from the current task.
    pub fn from_user(sig: i32, code: i32) -> Self {
        SigInfo { signo: sig, code, pid: current().tgid() as i32, ..Default::default() }
    }
    /// A signal the kernel sends.
    pub fn kernel(sig: i32) -> Self {
        SigInfo { signo: sig, code: SI_KERNEL, ..Default::default() }
    }
}

/// The root user's count of queued signals (Linux: the `ucounts`
/// UCOUNT_RLIMIT_SIGPENDING of a user). Every process here runs as root
/// (cred.rs), so there is one user and one count, compared with the
/// receiver's RLIMIT_SIGPENDING as Linux's `__sigqueue_alloc` does.
static QUEUED_SIGNALS: AtomicUsize = AtomicUsize::new(0);

/// How many signals are queued (`/proc/<pid>/status` `SigQ`).
pub fn queued_signals() -> usize {
    QUEUED_SIGNALS.load(Ordering::Relaxed)
}

/// One queued signal instance (Linux: `struct sigqueue`), counted in
/// [`QUEUED_SIGNALS`] while it exists.
#[derive(Clone, Copy, Debug)]
struct SigQueueEntry {
    info: SigInfo,
}

/// Pending signals (Linux: `struct sigpending`): the set, and the queue of
/// instances with their information in arrival order. A standard signal
/// (below SIGRTMIN) is queued at most once; a real-time signal once per
/// send. A signal whose instance could not be queued (over
/// RLIMIT_SIGPENDING, or out of memory) is pending in the set alone and
/// arrives with a zeroed SI_USER siginfo, as on Linux.
pub struct SigPending {
    pub signal: AtomicU64,
    queue: IrqSpinLock<Vec<SigQueueEntry>>,
}

impl SigPending {
    pub const fn new() -> Self {
        SigPending { signal: AtomicU64::new(0), queue: IrqSpinLock::new(Vec::new()) }
    }

    /// Queues `info` (Linux: `__send_signal_locked`, `__sigqueue_alloc`).
    /// `limit` is the receiver's RLIMIT_SIGPENDING. A standard signal
    /// already pending is merged into the pending one. Signals the kernel
    /// sends (si_code >= 0) below SIGRTMIN and POSIX timer expiries (Linux
    /// preallocates their instance at `timer_create`) are queued over the
    /// limit; a real-time signal with another si_code than SI_USER that
    /// cannot be queued fails with EAGAIN; anything else is then pending
    /// without its information.
    pub fn add(&self, info: SigInfo, limit: u64) -> Result<(), Errno> {
        let sig = info.signo;
        let mut queue = self.queue.lock();
        if sig < SIGRTMIN && self.signal.load(Ordering::Relaxed) & sigmask(sig) != 0 {
            return Ok(()); // Linux: legacy_queue
        }
        let override_rlimit = (sig < SIGRTMIN && info.code >= 0) || info.code == crate::posix_timers::SI_TIMER;
        let count = QUEUED_SIGNALS.fetch_add(1, Ordering::Relaxed) + 1;
        if (override_rlimit || count as u64 <= limit) && queue.try_reserve(1).is_ok() {
            queue.push(SigQueueEntry { info });
        } else {
            QUEUED_SIGNALS.fetch_sub(1, Ordering::Relaxed);
            if sig >= SIGRTMIN && info.code != SI_USER {
                return Err(Errno::EAGAIN);
            }
        }
        self.signal.fetch_or(sigmask(sig), Ordering::SeqCst);
        Ok(())
    }

    /// Queues a signal the kernel sends, which no limit refuses.
    pub fn add_kernel(&self, info: SigInfo) {
        let _ = self.add(info, RLIM_INFINITY);
    }

    /// Drops every pending signal of `mask`, queued instances included
    /// (Linux: `flush_sigqueue_mask`).
    pub fn remove(&self, mask: u64) {
        let mut queue = self.queue.lock();
        let before = queue.len();
        queue.retain(|e| sigmask(e.info.signo) & mask == 0);
        QUEUED_SIGNALS.fetch_sub(before - queue.len(), Ordering::Relaxed);
        self.signal.fetch_and(!mask, Ordering::SeqCst);
    }

    /// Takes the lowest pending signal of `allowed` (SIGKILL first): its
    /// oldest instance; the signal stays pending while more are queued
    /// (Linux: `next_signal`, `collect_signal`).
    fn dequeue(&self, allowed: u64) -> Option<SigInfo> {
        let mut queue = self.queue.lock();
        let ready = self.signal.load(Ordering::Relaxed) & allowed;
        if ready == 0 {
            return None;
        }
        let sig = if ready & sigmask(SIGKILL) != 0 { SIGKILL } else { ready.trailing_zeros() as i32 + 1 };
        let mut taken = None;
        let mut more = false;
        let mut i = 0;
        while i < queue.len() {
            if queue[i].info.signo == sig {
                if taken.is_some() {
                    more = true;
                    break;
                }
                taken = Some(queue.remove(i).info);
                QUEUED_SIGNALS.fetch_sub(1, Ordering::Relaxed);
                continue;
            }
            i += 1;
        }
        if !more {
            self.signal.fetch_and(!sigmask(sig), Ordering::SeqCst);
        }
        Some(taken.unwrap_or(SigInfo { signo: sig, code: SI_USER, ..Default::default() }))
    }

    /// Calls `f` on each queued instance of `sig` until it returns true;
    /// returns whether it did (a POSIX timer counting an overrun on its
    /// pending instance).
    pub fn with_queued(&self, sig: i32, mut f: impl FnMut(&mut SigInfo) -> bool) -> bool {
        let mut queue = self.queue.lock();
        if self.signal.load(Ordering::SeqCst) & sigmask(sig) == 0 {
            return false;
        }
        queue.iter_mut().filter(|e| e.info.signo == sig).any(|e| f(&mut e.info))
    }

    /// How many instances are queued.
    pub fn queued(&self) -> usize {
        self.queue.lock().len()
    }
}

impl Drop for SigPending {
    fn drop(&mut self) {
        QUEUED_SIGNALS.fetch_sub(self.queue.lock().len(), Ordering::Relaxed);
    }
}

impl Default for SigPending {
    fn default() -> Self {
        Self::new()
    }
}

/// `ss_flags` of `stack_t`.
pub const SS_ONSTACK: u32 = 1;
pub const SS_DISABLE: u32 = 2;
/// Disarm the alternate stack while a handler runs on it.
pub const SS_AUTODISARM: u32 = 1 << 31;
/// The smallest alternate stack arm64 accepts (Linux: MINSIGSTKSZ).
pub const MINSIGSTKSZ: u64 = 5120;

/// A thread's alternate signal stack (Linux: `sas_ss_sp`, `sas_ss_size`,
/// `sas_ss_flags` of `task_struct`). Written by the thread itself
/// (`sigaltstack`, signal delivery, `rt_sigreturn`), by `copy_process`
/// before the child runs and by exec.
pub struct SigAltStack {
    sp: AtomicU64,
    size: AtomicU64,
    /// SS_AUTODISARM, or SS_DISABLE once disarmed.
    flags: AtomicU32,
}

impl SigAltStack {
    pub const fn new() -> Self {
        SigAltStack { sp: AtomicU64::new(0), size: AtomicU64::new(0), flags: AtomicU32::new(SS_DISABLE) }
    }

    /// (ss_sp, ss_size, the flags as set).
    pub fn get(&self) -> (u64, u64, u32) {
        (self.sp.load(Ordering::Relaxed), self.size.load(Ordering::Relaxed), self.flags.load(Ordering::Relaxed))
    }

    fn set(&self, sp: u64, size: u64, flags: u32) {
        self.sp.store(sp, Ordering::Relaxed);
        self.size.store(size, Ordering::Relaxed);
        self.flags.store(flags, Ordering::Relaxed);
    }

    /// No alternate stack (exec; a thread created with CLONE_VM; Linux:
    /// `sas_ss_reset`).
    pub fn reset(&self) {
        self.set(0, 0, SS_DISABLE);
    }

    /// A copy of `other`'s settings (fork).
    pub fn inherit(&self, other: &SigAltStack) {
        let (sp, size, flags) = other.get();
        self.set(sp, size, flags);
    }

    /// Whether the user stack pointer `sp` lies on the alternate stack
    /// (Linux: `on_sig_stack`; never, when it disarms itself).
    pub fn on_stack(&self, sp: u64) -> bool {
        let (base, size, flags) = self.get();
        flags & SS_AUTODISARM == 0 && sp > base && sp - base <= size
    }

    /// SS_DISABLE, SS_ONSTACK or 0 for a thread whose stack pointer is `sp`
    /// (Linux: `sas_ss_flags`).
    pub fn state(&self, sp: u64) -> u32 {
        if self.size.load(Ordering::Relaxed) == 0 {
            SS_DISABLE
        } else if self.on_stack(sp) {
            SS_ONSTACK
        } else {
            0
        }
    }

    /// `sigaltstack`'s change (Linux: `do_sigaltstack`): EPERM while `sp`
    /// is on the current alternate stack, EINVAL for an unknown mode,
    /// ENOMEM below MINSIGSTKSZ.
    pub fn change(&self, sp: u64, ss_sp: u64, ss_size: u64, ss_flags: u32) -> Result<(), Errno> {
        if self.on_stack(sp) {
            return Err(Errno::EPERM);
        }
        let mode = ss_flags & !SS_AUTODISARM;
        if mode != SS_DISABLE && mode != SS_ONSTACK && mode != 0 {
            return Err(Errno::EINVAL);
        }
        if mode == SS_DISABLE {
            self.set(0, 0, ss_flags);
        } else if ss_size < MINSIGSTKSZ {
            return Err(Errno::ENOMEM);
        } else {
            self.set(ss_sp, ss_size, ss_flags);
        }
        Ok(())
    }
}

impl Default for SigAltStack {
    fn default() -> Self {
        Self::new()
    }
}

/// The handler table (Linux: `struct sighand_struct`): the actions of the
/// 64 signals under one lock (the table apart from its lock, so that fork
/// can copy it straight into the new one, [`SigHand::copy`]).
pub struct SigHand {
    lock: IrqSpinLock<()>,
    table: UnsafeCell<[SigAction; NSIG as usize]>,
    /// Bit `sig - 1`: the action of `sig` was set ([`SigHand::set`]) and may
    /// differ from the default, so exec's [`SigHand::flush_handlers`] looks
    /// at those only. Changed under `lock`.
    set: AtomicU64,
}

// SAFETY: `table` is reached only under `lock` (`action`, `set`, `copy`,
// `flush_handlers`).
unsafe impl Sync for SigHand {}

/// The locked table of a [`SigHand`], to read; dropping it unlocks.
pub struct SigActions<'a> {
    _lock: crate::sync::IrqSpinLockGuard<'a, ()>,
    table: &'a [SigAction; NSIG as usize],
}

impl core::ops::Deref for SigActions<'_> {
    type Target = [SigAction; NSIG as usize];
    fn deref(&self) -> &Self::Target {
        self.table
    }
}

impl SigHand {
    /// Every handler SIG_DFL.
    pub fn new() -> Arc<SigHand> {
        Arc::new(SigHand {
            lock: IrqSpinLock::new(()),
            table: UnsafeCell::new([SigAction::default(); NSIG as usize]),
            set: AtomicU64::new(0),
        })
    }

    /// The table, locked, to read.
    pub fn action(&self) -> SigActions<'_> {
        let lock = self.lock.lock();
        // SAFETY: the lock is held for as long as the reference lives (both
        // live in the returned guard); writers take the lock too.
        let table = unsafe { &*self.table.get() };
        SigActions { _lock: lock, table }
    }

    /// Changes the action of `sig` with `f`; returns the one before.
    pub fn set(&self, sig: i32, f: impl FnOnce(&mut SigAction)) -> SigAction {
        let _lock = self.lock.lock();
        // SAFETY: under the lock, the only reference to the table.
        let action = unsafe { &mut (*self.table.get())[sig as usize - 1] };
        let old = *action;
        f(action);
        self.set.fetch_or(sigmask(sig), Ordering::Relaxed);
        old
    }

    /// A copy (fork without CLONE_SIGHAND): the 2 KiB table is copied once,
    /// from under this table's lock into the new allocation.
    pub fn copy(&self) -> Arc<SigHand> {
        let mut new = Arc::<SigHand>::new_uninit();
        let dst = Arc::get_mut(&mut new).expect("a new Arc has no other owner").as_mut_ptr();
        let src = self.action();
        // SAFETY: `dst` points to the new allocation, which no one else
        // sees; every field is written before `assume_init`. `UnsafeCell`
        // has its content's layout, so the table is written through a
        // pointer to its content.
        unsafe {
            core::ptr::addr_of_mut!((*dst).lock).write(IrqSpinLock::new(()));
            core::ptr::addr_of_mut!((*dst).table)
                .cast::<[SigAction; NSIG as usize]>()
                .copy_from_nonoverlapping(&*src, 1);
            core::ptr::addr_of_mut!((*dst).set).write(AtomicU64::new(self.set.load(Ordering::Relaxed)));
            drop(src);
            new.assume_init()
        }
    }

    /// The action for `sig`.
    pub fn get(&self, sig: i32) -> SigAction {
        self.action()[sig as usize - 1]
    }

    /// Resets caught signals to SIG_DFL, keeping ignored ones ignored, and
    /// every action's flags and mask to none (execve, Linux:
    /// `flush_signal_handlers`).
    pub fn flush_handlers(&self) {
        let _lock = self.lock.lock();
        // SAFETY: under the lock, the only reference to the table.
        let table = unsafe { &mut *self.table.get() };
        // Only the actions ever set can differ from the default; the
        // ignored ones stay set.
        let mut set = self.set.load(Ordering::Relaxed);
        let mut ignored = 0;
        while set != 0 {
            let i = set.trailing_zeros() as usize;
            set &= set - 1;
            if table[i].handler == SIG_IGN {
                table[i] = SigAction { handler: SIG_IGN, ..SigAction::default() };
                ignored |= 1 << i;
            } else {
                table[i] = SigAction::default();
            }
        }
        self.set.store(ignored, Ordering::Relaxed);
    }
}

/// One resource limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rlimit {
    pub cur: u64,
    pub max: u64,
}

/// `RLIM_INFINITY`.
pub const RLIM_INFINITY: u64 = u64::MAX;
pub const RLIMIT_DATA: usize = 2;
pub const RLIMIT_STACK: usize = 3;
pub const RLIMIT_NPROC: usize = 6;
pub const RLIMIT_NOFILE: usize = 7;
pub const RLIMIT_AS: usize = 9;
pub const RLIMIT_SIGPENDING: usize = 11;
pub const RLIM_NLIMITS: usize = 16;

/// Job-control notices for the parent's `wait4` (Linux: SIGNAL_CLD_*).
pub mod notify {
    pub const STOPPED: u32 = 1;
    pub const CONTINUED: u32 = 2;
}

/// State shared by a thread group (Linux: `struct signal_struct`).
pub struct SignalStruct {
    pub shared_pending: SigPending,
    pub pgrp: AtomicU32,
    pub session: AtomicU32,
    /// Threads not yet exited.
    pub live: AtomicUsize,
    /// A group exit is under way (`exit_group`, a fatal signal).
    pub group_exit: AtomicBool,
    pub group_exit_code: AtomicI32,
    /// A thread is in exec, killing the others (Linux: `group_exec_task`):
    /// they die without taking the group with them.
    pub group_exec: AtomicBool,
    /// Stopped by a stop signal (until SIGCONT).
    pub stopped: AtomicBool,
    pub stop_signal: AtomicI32,
    /// `notify::*` not yet reported to `wait4`.
    pub notify: AtomicU32,
    pub rlim: IrqSpinLock<[Rlimit; RLIM_NLIMITS]>,
    /// CPU time of reaped children, ns (Linux: `cutime`, `cstime`).
    pub cutime: AtomicU64,
    pub cstime: AtomicU64,
    /// CPU time of this group's threads that have exited, ns (Linux: the
    /// signal struct's `utime`, `stime`): the group's total is this plus
    /// the live threads'.
    pub dead_utime: AtomicU64,
    pub dead_stime: AtomicU64,
    /// SIGCONTs sent to the group so far: a stop whose signal was dequeued
    /// before the latest one does not happen.
    pub cont_seq: AtomicU64,
    /// `/proc/<pid>/oom_score_adj`, -1000 to 1000; inherited at fork
    /// (Linux: `signal->oom_score_adj`; mm/oom_kill.rs reads it).
    pub oom_score_adj: AtomicI32,
    /// What `prctl` sets per process (subreaper, dumpable).
    pub prctl: crate::prctl::ProcessPrctl,
}

impl SignalStruct {
    /// A new group with the limits `rlim`, in process group `pgrp` of `session`.
    pub fn new(pgrp: Pid, session: Pid, rlim: [Rlimit; RLIM_NLIMITS]) -> Arc<SignalStruct> {
        Arc::new(SignalStruct {
            shared_pending: SigPending::new(),
            pgrp: AtomicU32::new(pgrp),
            session: AtomicU32::new(session),
            live: AtomicUsize::new(1),
            group_exit: AtomicBool::new(false),
            group_exit_code: AtomicI32::new(0),
            group_exec: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
            stop_signal: AtomicI32::new(0),
            notify: AtomicU32::new(0),
            rlim: IrqSpinLock::new(rlim),
            cutime: AtomicU64::new(0),
            cstime: AtomicU64::new(0),
            dead_utime: AtomicU64::new(0),
            dead_stime: AtomicU64::new(0),
            cont_seq: AtomicU64::new(0),
            oom_score_adj: AtomicI32::new(0),
            prctl: crate::prctl::ProcessPrctl::new(),
        })
    }

    /// The group's CPU time (user, system), ns: the exited threads' and the
    /// live ones' (Linux: `thread_group_cputime`). `t` is any thread of it.
    pub fn group_times(&self, t: TaskRef) -> (u64, u64) {
        let (mut u, mut s) = (self.dead_utime.load(Ordering::Relaxed), self.dead_stime.load(Ordering::Relaxed));
        for_each_thread(t, |th| {
            // An EXIT_DEAD thread has added its time to the dead totals.
            if th.exit_state.load(Ordering::Relaxed) != crate::sched::task::exit_state::EXIT_DEAD {
                u += th.utime_ns();
                s += th.stime_ns();
            }
        });
        (u, s)
    }

    /// init's limits, as on Linux: the stack 8 MiB, open files 1024, and
    /// processes and queued signals half of what memory holds kernel stacks
    /// for (Linux: `set_max_threads`, `init_task` gets max_threads / 2); the
    /// rest unlimited.
    pub fn default_rlimits() -> [Rlimit; RLIM_NLIMITS] {
        let mut r = [Rlimit { cur: RLIM_INFINITY, max: RLIM_INFINITY }; RLIM_NLIMITS];
        r[RLIMIT_STACK] = Rlimit { cur: 8 << 20, max: RLIM_INFINITY };
        r[RLIMIT_NOFILE] = Rlimit { cur: 1024, max: 4096 };
        let stack_pages = crate::smp::STACK_SIZE / crate::mm::frame::PAGE_SIZE;
        let max_threads =
            (crate::mm::phys::stats().total / (8 * stack_pages)).clamp(20, crate::mm::vmstack::MAX_STACKS);
        let nproc = (max_threads / 2) as u64;
        r[RLIMIT_NPROC] = Rlimit { cur: nproc, max: nproc };
        r[RLIMIT_SIGPENDING] = Rlimit { cur: nproc, max: nproc };
        r
    }

    /// The soft limit `resource`.
    pub fn rlimit(&self, resource: usize) -> u64 {
        self.rlim.lock()[resource].cur
    }
}

/// Whether a signal is pending for `t` that it does not block (Linux:
/// `signal_pending`).
pub fn task_signal_pending(t: TaskRef) -> bool {
    let blocked = t.blocked.load(Ordering::Relaxed);
    let mut pending = t.pending.signal.load(Ordering::Acquire);
    if let Some(sig) = t.signal_struct() {
        pending |= sig.shared_pending.signal.load(Ordering::Acquire);
    }
    pending & (!blocked | UNBLOCKABLE) != 0 || crate::ptrace::trap_pending(t)
}

/// Whether the current task has a fatal signal pending (SIGKILL).
pub fn fatal_signal_pending(t: TaskRef) -> bool {
    let mut pending = t.pending.signal.load(Ordering::Acquire);
    if let Some(sig) = t.signal_struct() {
        pending |= sig.shared_pending.signal.load(Ordering::Acquire);
    }
    pending & sigmask(SIGKILL) != 0
}

/// Whether `sig` would be ignored by `t` (handler SIG_IGN, or SIG_DFL with
/// an ignoring default) (Linux: `sig_ignored`).
fn sig_ignored(t: TaskRef, sig: i32) -> bool {
    if sigmask(sig) & UNBLOCKABLE != 0 {
        return false;
    }
    if (t.blocked.load(Ordering::Relaxed) | t.real_blocked.load(Ordering::Relaxed)) & sigmask(sig) != 0 {
        return false; // a blocked signal stays pending: it may be unignored
    }
    if crate::ptrace::is_traced(t) {
        return false; // the tracer sees every signal
    }
    match t.sighand() {
        Some(h) => {
            let a = h.get(sig);
            a.handler == SIG_IGN || (a.handler == SIG_DFL && default_action(sig) == DefaultAction::Ignore)
        }
        None => false,
    }
}

/// Calls `f` for every thread of `t`'s group, under TASKLIST.
pub fn for_each_thread(t: TaskRef, f: impl FnMut(TaskRef)) {
    let _guard = TASKLIST.lock();
    for_each_thread_locked(t, f)
}

/// [`for_each_thread`] for a caller that holds TASKLIST already.
fn for_each_thread_locked(t: TaskRef, mut f: impl FnMut(TaskRef)) {
    let tgid = t.tgid();
    // SAFETY: the caller holds TASKLIST.
    unsafe {
        crate::sched::task::for_each_process_locked(|p| {
            if p.tgid() == tgid && !p.has_flag(pf::PF_IDLE) && p.pid() != 0 {
                f(p)
            }
        })
    }
}

/// Sends `info.signo` to task `t`; `group`: to its whole thread group
/// (`kill`), else to that thread (`tgkill`, faults) (Linux: `send_signal`,
/// `complete_signal`). Signal 0 only checks.
pub fn send_signal(t: TaskRef, info: SigInfo, group: bool) -> Result<(), Errno> {
    send_signal_inner(t, info, group, false)
}

/// [`send_signal`] under TASKLIST, which the caller holds: a parent is told
/// of its child's death before `wait4` can see the zombie (Linux: exit_notify
/// calls do_notify_parent under tasklist_lock).
pub fn send_signal_tasklist_held(t: TaskRef, info: SigInfo) -> Result<(), Errno> {
    send_signal_inner(t, info, true, true)
}

fn send_signal_inner(t: TaskRef, info: SigInfo, group: bool, locked: bool) -> Result<(), Errno> {
    let threads = |f: &mut dyn FnMut(TaskRef)| {
        if locked {
            for_each_thread_locked(t, f)
        } else {
            for_each_thread(t, f)
        }
    };
    let sig = info.signo;
    if !(0..=NSIG).contains(&sig) {
        return Err(Errno::EINVAL);
    }
    // A dead task takes nothing, but a process whose leader has exited
    // while other threads run still does (through those threads).
    let zombie = t.exit_state.load(Ordering::Relaxed) != 0;
    if zombie && !(group && process_alive(t)) {
        return Ok(());
    }
    if sig == 0 {
        return Ok(());
    }
    if t.has_flag(pf::PF_KTHREAD) {
        if t.has_flag(pf::PF_NOKILL) {
            return Err(Errno::EPERM);
        }
        if sig != SIGKILL {
            return Ok(()); // kernel threads ignore signals but kill
        }
    }
    // init takes no signal it has no handler for, SIGKILL and SIGSTOP
    // included (Linux: SIGNAL_UNKILLABLE): dropped here, before SIGKILL
    // could mark its group as exiting. Its own faults still reach it. A
    // signal it blocks stays pending, as Linux's `sig_ignored` keeps it: init
    // may install a handler or wait for it (BusyBox init blocks SIGCHLD,
    // SIGHUP, SIGUSR1, ... and takes them with rt_sigtimedwait); delivery
    // drops it then if it still has no handler.
    if t.tgid() == crate::exit::INIT_PID && !is_fault(&info) {
        let blocked = (t.blocked.load(Ordering::Relaxed) | t.real_blocked.load(Ordering::Relaxed)) & sigmask(sig) != 0;
        let handled =
            sigmask(sig) & UNBLOCKABLE == 0 && (blocked || t.sighand().is_some_and(|h| h.get(sig).handler != SIG_DFL));
        if !handled {
            return Ok(());
        }
    }
    let signal = t.signal_struct();
    // Job control side effects, at send time (Linux: `prepare_signal`).
    if let Some(s) = &signal {
        if sigmask(sig) & STOP_SIGNALS != 0 {
            s.shared_pending.remove(sigmask(SIGCONT));
            threads(&mut |th| th.pending.remove(sigmask(SIGCONT)));
        } else if sig == SIGCONT {
            s.shared_pending.remove(STOP_SIGNALS);
            threads(&mut |th| th.pending.remove(STOP_SIGNALS));
            s.cont_seq.fetch_add(1, Ordering::SeqCst);
            if s.stopped.swap(false, Ordering::SeqCst) {
                s.notify.store(notify::CONTINUED, Ordering::SeqCst);
                let mut stopped = alloc::vec::Vec::new();
                threads(&mut |th| stopped.push(th.get()));
                for th in stopped {
                    crate::sched::core::try_to_wake_up(th, state::__TASK_STOPPED);
                    th.put();
                }
                notify_parent_cldstop(t, CLD_CONTINUED, SIGCONT);
            }
        }
    }
    if sig_ignored(t, sig) {
        crate::trace::signal_generate(sig, info.code, t, group, 1);
        return Ok(());
    }
    crate::trace::signal_generate(sig, info.code, t, group, 0);
    // Queued, then flagged (tif::SIGPENDING): for a group signal every
    // thread, since any of them may be the one to take it.
    let limit = signal.as_ref().map_or(RLIM_INFINITY, |s| s.rlimit(RLIMIT_SIGPENDING));
    match (&signal, group) {
        (Some(s), true) => {
            s.shared_pending.add(info, limit)?;
            if s.live.load(Ordering::SeqCst) == 1 && !zombie {
                t.set_thread_flag(tif::SIGPENDING); // `t` is the only thread
            } else {
                threads(&mut |th| th.set_thread_flag(tif::SIGPENDING));
            }
        }
        _ => {
            t.pending.add(info, limit)?;
            t.set_thread_flag(tif::SIGPENDING);
        }
    }
    // Readers of signalfds look again (Linux: signalfd_notify).
    crate::fs::signalfd::signalfd_notify();
    // Wake someone to take it (Linux: `complete_signal`, `signal_wake_up`).
    if sig == SIGKILL {
        if let Some(s) = &signal {
            // A group exit already under way keeps its own status.
            if !s.group_exit.swap(true, Ordering::SeqCst) {
                s.group_exit_code.store(wstatus::signaled(SIGKILL, false), Ordering::SeqCst);
            }
            let mut all = alloc::vec::Vec::new();
            threads(&mut |th| all.push(th.get()));
            for th in all {
                th.pending.add_kernel(SigInfo::kernel(SIGKILL));
                signal_wake_up(th, true);
                th.put();
            }
        } else {
            signal_wake_up(t, true);
        }
    } else if !zombie && (!group || t.blocked.load(Ordering::Relaxed) & sigmask(sig) == 0) {
        signal_wake_up(t, false);
    } else {
        // The target blocks it or is gone: another thread may take it.
        let mut chosen = None;
        threads(&mut |th| {
            if chosen.is_none()
                && th.exit_state.load(Ordering::Relaxed) == 0
                && th.blocked.load(Ordering::Relaxed) & sigmask(sig) == 0
            {
                chosen = Some(th.get());
            }
        });
        if let Some(th) = chosen {
            signal_wake_up(th, false);
            th.put();
        }
    }
    Ok(())
}

/// Interrupts `t`'s interruptible sleep (and a stop, for SIGKILL) so it
/// sees its signals (Linux: `signal_wake_up`).
fn signal_wake_up(t: TaskRef, fatal: bool) {
    t.set_thread_flag(tif::SIGPENDING);
    let mask = if fatal {
        state::TASK_INTERRUPTIBLE | state::__TASK_STOPPED | state::__TASK_TRACED | state::TASK_WAKEKILL
    } else {
        crate::ptrace::signal_wake_listener(t);
        state::TASK_INTERRUPTIBLE
    };
    if !crate::sched::core::try_to_wake_up(t, mask) {
        // Running on another CPU, perhaps in user mode: make it pass through
        // the kernel soon, where it looks at its signals.
        crate::sched::core::kick_process(t);
    }
}

/// Tells `t`'s parent that `t`'s group stopped or continued: SIGCHLD
/// (unless SA_NOCLDSTOP) and a wake-up of its `wait4` (Linux:
/// `do_notify_parent_cldstop`).
fn notify_parent_cldstop(t: TaskRef, why: i32, sig: i32) {
    let _guard = TASKLIST.lock();
    let leader = t.group_leader();
    // SAFETY: under TASKLIST; parents outlive links to their children.
    let parent = unsafe { TaskRef::from_ptr(*leader.real_parent.get()) };
    let parent = parent.get();
    drop(_guard);
    let nocldstop = parent.sighand().is_some_and(|h| h.get(SIGCHLD).flags & SA_NOCLDSTOP != 0);
    if !nocldstop {
        let info =
            SigInfo { signo: SIGCHLD, code: why, pid: leader.tgid() as i32, uid: 0, status: sig, ..Default::default() };
        let _ = send_signal(parent, info, true);
    }
    crate::exit::wake_waiters(parent);
    parent.put();
}

/// Whether `t`'s thread group still has a live thread.
fn process_alive(t: TaskRef) -> bool {
    t.signal_struct().is_some_and(|s| s.live.load(Ordering::Relaxed) > 0)
}

/// Sends `sig` from the current task to process `pid` (its thread group).
pub fn kill_proc(pid: Pid, info: SigInfo) -> Result<(), Errno> {
    let t = crate::sched::task::find_task_by_pid(pid).ok_or(Errno::ESRCH)?;
    let leader = t.group_leader().get();
    t.put();
    let result = send_signal(leader, info, true);
    leader.put();
    result
}

/// Sends `info` to every process of group `pgrp` (Linux: `kill_pgrp`).
pub fn kill_pgrp(pgrp: Pid, info: SigInfo) -> Result<(), Errno> {
    let (found, error) =
        signal_processes(info, |p| p.signal_struct().is_some_and(|s| s.pgrp.load(Ordering::Relaxed) == pgrp));
    match (found, error) {
        (false, _) => Err(Errno::ESRCH),
        (true, Some(e)) => Err(e),
        (true, None) => Ok(()),
    }
}

/// `kill(-1, sig)`: every process but init and the caller's group.
pub fn kill_all(info: SigInfo) -> Result<(), Errno> {
    let me = current().tgid();
    let (found, _) = signal_processes(info, |p| p.pid() > 1 && p.tgid() != me && !p.has_flag(pf::PF_KTHREAD));
    if found {
        Ok(())
    } else {
        Err(Errno::ESRCH)
    }
}

/// Sends `info` to every live process (thread-group leader) that `select`
/// picks; returns whether there was any, and the last error of a send.
fn signal_processes(info: SigInfo, mut select: impl FnMut(TaskRef) -> bool) -> (bool, Option<Errno>) {
    let mut targets = alloc::vec::Vec::new();
    for_each_process(|p| {
        if p.pid() == p.tgid() && process_alive(p) && select(p) {
            targets.push(p.get());
        }
    });
    let mut error = None;
    let found = !targets.is_empty();
    for t in targets {
        if let Err(e) = send_signal(t, info, true) {
            error = Some(e);
        }
        t.put();
    }
    (found, error)
}

/// Takes the next deliverable signal of the current task.
fn dequeue_signal(t: TaskRef) -> Option<SigInfo> {
    dequeue_signal_masked(t, !t.blocked.load(Ordering::Relaxed) | UNBLOCKABLE)
}

/// Takes the lowest pending signal in `mask` of `t`, the current task, from
/// its own queue first, then its process's (Linux: `dequeue_signal` with a
/// mask).
pub fn dequeue_signal_masked(t: TaskRef, mask: u64) -> Option<SigInfo> {
    let info = t.pending.dequeue(mask).or_else(|| t.own_signal()?.shared_pending.dequeue(mask));
    if let Some(info) = &info {
        crate::posix_timers::signal_dequeued(info);
    }
    info
}

/// Kills every other thread of the current task's group and waits until
/// they are gone, for exec (Linux: `de_thread`, `zap_other_threads`).
/// EINTR, with the threads dying anyway, if the caller is killed meanwhile.
pub fn de_thread() -> Result<(), Errno> {
    let me = current();
    let Some(s) = me.signal_struct() else { return Ok(()) };
    if s.live.load(Ordering::SeqCst) <= 1 {
        return Ok(());
    }
    if s.group_exit.load(Ordering::SeqCst) || s.group_exec.swap(true, Ordering::SeqCst) {
        return Err(Errno::EAGAIN); // the group is already dying or execing
    }
    let mut others = alloc::vec::Vec::new();
    for_each_thread(me, |t| {
        if t != me {
            others.push(t.get())
        }
    });
    for t in others {
        t.pending.add_kernel(SigInfo::kernel(SIGKILL));
        signal_wake_up(t, true);
        t.put();
    }
    let result = loop {
        if s.live.load(Ordering::SeqCst) <= 1 {
            break Ok(());
        }
        if fatal_signal_pending(me) {
            break Err(Errno::EINTR);
        }
        crate::sched::core::msleep(1);
    };
    s.group_exec.store(false, Ordering::SeqCst);
    result
}

/// Stops the current task for `sig` (Linux: `do_signal_stop`).
/// `cont_seq` is the group's SIGCONT count read before the stop signal was
/// dequeued: if a SIGCONT has come since, the stop is void.
fn do_signal_stop(t: TaskRef, sig: i32, cont_seq: u64) {
    let Some(s) = t.signal_struct() else { return };
    if !s.stopped.swap(true, Ordering::SeqCst) {
        // Either the SIGCONT's count is seen here, or it sees `stopped`
        // (both SeqCst) and continues the group itself.
        if s.cont_seq.load(Ordering::SeqCst) != cont_seq {
            s.stopped.store(false, Ordering::SeqCst);
            return;
        }
        s.stop_signal.store(sig, Ordering::SeqCst);
        s.notify.store(notify::STOPPED, Ordering::SeqCst);
        // The other threads stop on their way back to user mode.
        for_each_thread(t, |th| th.set_thread_flag(tif::SIGPENDING));
        if !crate::ptrace::is_traced(t) {
            // Stopped before the parent hears of it, so that a parent that
            // looks (/proc/<pid>/stat) right after its wait4 sees T (Linux:
            // set_special_state(TASK_STOPPED) before the notification). A
            // wake-up meanwhile makes it running again, and stop_current
            // looks at the group before it sleeps.
            crate::sched::task::set_current_state(state::__TASK_STOPPED);
        }
        notify_parent_cldstop(t, CLD_STOPPED, sig);
    }
    if crate::ptrace::is_traced(t) {
        crate::ptrace::do_group_stop_traced(t, &s);
    } else {
        stop_current(&s);
    }
}

/// Sleeps in TASK_STOPPED while the group is stopped.
fn stop_current(s: &SignalStruct) {
    let _wchan = crate::wchan!("do_signal_stop");
    loop {
        crate::sched::task::set_current_state(state::__TASK_STOPPED);
        // A tracer attaching takes the stop over (ptrace.rs).
        if !s.stopped.load(Ordering::SeqCst) || fatal_signal_pending(current()) || crate::ptrace::is_traced(current()) {
            break;
        }
        crate::sched::core::schedule();
    }
    crate::sched::task::__set_current_state(state::TASK_RUNNING);
}

/// Ends the whole thread group with `code` (Linux: `do_group_exit`).
pub fn do_group_exit(code: i32) -> ! {
    let me = current();
    let code = match me.signal_struct() {
        // Killed by an exec in another thread: only this thread goes.
        Some(s) if s.group_exec.load(Ordering::SeqCst) => code,
        Some(s) => {
            if !s.group_exit.swap(true, Ordering::SeqCst) {
                s.group_exit_code.store(code, Ordering::SeqCst);
                let mut threads = alloc::vec::Vec::new();
                for_each_thread(me, |th| {
                    if th != me {
                        threads.push(th.get())
                    }
                });
                for th in threads {
                    th.pending.add_kernel(SigInfo::kernel(SIGKILL));
                    signal_wake_up(th, true);
                    th.put();
                }
            }
            // If someone else started the group exit, their code wins.
            s.group_exit_code.load(Ordering::SeqCst)
        }
        None => code,
    };
    // Nothing owned may live on this frame: do_exit never returns, so it
    // would never be dropped.
    crate::exit::do_exit(code)
}

/// Work on the way back to user mode (Linux: `do_notify_resume`,
/// `do_signal`): reschedule if asked, stop while the group is stopped, and
/// deliver pending signals. `syscall`: the frame is a system call's, whose
/// result may ask for a restart.
pub fn do_notify_resume(frame: &mut TrapFrame, syscall: bool) {
    let me = current();
    let restart_checked = !syscall;
    loop {
        if crate::sched::core::need_resched() {
            crate::sched::core::schedule();
        }
        // A clear tif::SIGPENDING: nothing queued, no group stop, no trap
        // (sched::task::signal_pending says why the flag is sure), so the
        // look below would find nothing. The common way here, a
        // preemption, then costs one load.
        if me.thread_flags.load(Ordering::SeqCst) & tif::WORK_MASK == 0 {
            break;
        }
        if let Some(s) = me.own_signal() {
            if crate::ptrace::group_stop_pending(me, s) && !fatal_signal_pending(me) {
                if crate::ptrace::is_traced(me) {
                    crate::ptrace::do_group_stop_traced(me, s);
                } else {
                    stop_current(s);
                }
                continue;
            }
        }
        if crate::ptrace::trap_pending(me) && !fatal_signal_pending(me) {
            crate::ptrace::do_jobctl_trap(me);
            continue;
        }
        // Read before the dequeue: a SIGCONT that comes after it, when the
        // stop signal is no longer pending for it to cancel, still cancels
        // the stop (Linux: JOBCTL_STOP_DEQUEUED).
        let cont_seq = me.own_signal().map_or(0, |s| s.cont_seq.load(Ordering::SeqCst));
        let Some(mut info) = dequeue_signal(me) else { break };
        // A traced task stops for its tracer first (signal-delivery stop).
        if info.signo != SIGKILL && crate::ptrace::is_traced(me) {
            match crate::ptrace::ptrace_signal(me, info) {
                Some(changed) => info = changed,
                None => continue,
            }
        }
        let sig = info.signo;
        let action = me.own_sighand().map(|h| h.get(sig)).unwrap_or_default();
        crate::trace::signal_deliver(sig, info.code, action.handler, action.flags);
        if action.handler == SIG_IGN && sig != SIGKILL {
            continue;
        }
        if action.handler == SIG_DFL || sig == SIGKILL || sig == SIGSTOP {
            let is_init = me.tgid() == crate::exit::INIT_PID;
            match default_action(sig) {
                DefaultAction::Ignore | DefaultAction::Continue => continue,
                // init gets no signal it has no handler for (Linux:
                // SIGNAL_UNKILLABLE), SIGKILL included; but a fault of its
                // own kills it, and the kernel panics, as in Linux.
                _ if is_init && !is_fault(&info) => continue,
                DefaultAction::Stop => {
                    do_signal_stop(me, sig, cont_seq);
                    continue;
                }
                DefaultAction::Terminate => do_group_exit(wstatus::signaled(sig, false)),
                DefaultAction::Core => do_group_exit(wstatus::signaled(sig, true)),
            }
        }
        // A user handler.
        if !restart_checked {
            syscall_restart(frame, Some(action.flags));
        }
        if setup_rt_frame(me, frame, sig, &action, &info).is_err() {
            // No room for the frame: the process dies (Linux: force_sigsegv).
            do_group_exit(wstatus::signaled(SIGSEGV, true));
        }
        let mut block = action.mask;
        if action.flags & SA_NODEFER == 0 {
            block |= sigmask(sig);
        }
        me.blocked.fetch_or(block & !UNBLOCKABLE, Ordering::SeqCst);
        // SA_RESETHAND: the handler becomes SIG_DFL once it is taken; the
        // flags and mask stay as they were set (Linux: SA_ONESHOT in
        // `get_signal`).
        if action.flags & SA_RESETHAND != 0 {
            if let Some(h) = me.sighand() {
                h.set(sig, |a| a.handler = SIG_DFL);
            }
        }
        // A self-disarming alternate stack is given up while the handler
        // runs; rt_sigreturn sets it back from the frame (Linux:
        // `signal_delivered`).
        if me.sas.get().2 & SS_AUTODISARM != 0 {
            me.sas.reset();
        }
        me.restore_sigmask.store(false, Ordering::Relaxed);
        return;
    }
    // No handler ran: an interrupted call starts over, and sigsuspend's
    // temporary mask goes back.
    if !restart_checked {
        syscall_restart(frame, None);
    }
    if me.restore_sigmask.swap(false, Ordering::Relaxed) {
        me.blocked.store(me.saved_sigmask.load(Ordering::Relaxed), Ordering::SeqCst);
    }
}

/// Whether `info` is a synchronous fault the task caused (force_sig_fault).
fn is_fault(info: &SigInfo) -> bool {
    matches!(info.signo, SIGSEGV | SIGBUS | SIGILL | SIGTRAP | SIGFPE) && (1..SI_KERNEL).contains(&info.code)
}

/// What becomes of a system call a signal interrupted (Linux: the restart
/// cases of `do_signal` and `handle_signal`): with a handler (`Some(its
/// sa_flags)`), EINTR unless it asked for SA_RESTART on a restartable call;
/// ERESTARTNOHAND is EINTR after any handler; without one, the call runs
/// again: the same `svc` for ERESTARTSYS and ERESTARTNOHAND, or
/// `restart_syscall` resuming from the task's restart block.
fn syscall_restart(frame: &mut TrapFrame, handler: Option<u64>) {
    let Some(request) = Errno::restart_request(frame.regs[0] as i64) else { return };
    let restartblock = request == Errno::ERESTART_RESTARTBLOCK;
    let restartnohand = request == Errno::ERESTARTNOHAND;
    match handler {
        Some(flags) if restartblock || restartnohand || flags & SA_RESTART == 0 => {
            frame.regs[0] = (-(Errno::EINTR as i64)) as u64;
        }
        _ if restartblock => {
            frame.regs[8] = crate::syscall::nr::RESTART_SYSCALL;
            frame.elr -= 4;
        }
        _ => {
            // SAFETY: only the task itself touches its syscall registers.
            frame.regs[0] = unsafe { (*current().user_regs.get()).orig_x0 };
            frame.elr -= 4;
        }
    }
}

// The arm64 rt_sigframe: siginfo (128 bytes), then the ucontext.
const SIGINFO_SIZE: u64 = 128;
const UC_FLAGS: u64 = SIGINFO_SIZE;
const UC_STACK: u64 = UC_FLAGS + 16;
const UC_SIGMASK: u64 = UC_STACK + 24;
/// `uc_mcontext` (struct sigcontext), 16-byte aligned after 128 bytes of mask.
const UC_MCONTEXT: u64 = (UC_SIGMASK + 128 + 15) & !15;
const SC_FAULT_ADDRESS: u64 = UC_MCONTEXT;
const SC_REGS: u64 = SC_FAULT_ADDRESS + 8;
const SC_SP: u64 = SC_REGS + 31 * 8;
const SC_PC: u64 = SC_SP + 8;
const SC_PSTATE: u64 = SC_PC + 8;
/// `__reserved[4096]`, 16-byte aligned: the FP record and a terminator.
const SC_RESERVED: u64 = (SC_PSTATE + 8 + 15) & !15;
const FRAME_SIZE: u64 = SC_RESERVED + 4096;
/// The frame record (fp, lr) placed after the frame.
const FRAME_RECORD: u64 = FRAME_SIZE;
const FPSIMD_MAGIC: u32 = 0x4650_8001;
const FPSIMD_CONTEXT_SIZE: u32 = 16 + 512;

const _: () = assert!(UC_MCONTEXT == 304 && SC_RESERVED == 592);

/// The bytes of a `siginfo_t`.
pub fn siginfo_bytes(info: &SigInfo) -> [u8; SIGINFO_SIZE as usize] {
    let mut b = [0u8; SIGINFO_SIZE as usize];
    b[0..4].copy_from_slice(&info.signo.to_le_bytes());
    b[8..12].copy_from_slice(&info.code.to_le_bytes());
    if info.addr != 0 && matches!(info.signo, SIGSEGV | SIGBUS | SIGILL | SIGFPE | SIGTRAP) {
        b[16..24].copy_from_slice(&info.addr.to_le_bytes());
    } else {
        b[16..20].copy_from_slice(&info.pid.to_le_bytes());
        b[20..24].copy_from_slice(&info.uid.to_le_bytes());
        // `si_status` of a child's signal, or where no child sent it the
        // `si_value` of SI_QUEUE, SI_TIMER and rt_sigqueueinfo (the two
        // overlay each other in `siginfo_t`).
        if info.value != 0 {
            b[24..32].copy_from_slice(&info.value.to_le_bytes());
        } else {
            b[24..28].copy_from_slice(&info.status.to_le_bytes());
        }
    }
    b
}

/// A `siginfo_t` from its bytes (PTRACE_SETSIGINFO): the fields
/// [`siginfo_bytes`] writes.
pub fn siginfo_from_bytes(b: &[u8; SIGINFO_SIZE as usize]) -> SigInfo {
    let i32_at = |o: usize| i32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    let signo = i32_at(0);
    let code = i32_at(8);
    let mut info = SigInfo { signo, code, ..Default::default() };
    if matches!(signo, SIGSEGV | SIGBUS | SIGILL | SIGFPE | SIGTRAP) && (1..SI_KERNEL).contains(&code) {
        info.addr = u64::from_le_bytes(b[16..24].try_into().unwrap());
    } else {
        info.pid = i32_at(16);
        info.uid = i32_at(20) as u32;
        if signo == SIGCHLD && code > 0 {
            info.status = i32_at(24);
        } else {
            info.value = u64::from_le_bytes(b[24..32].try_into().unwrap());
        }
    }
    info
}

/// Builds the signal frame on the user stack and points the registers at
/// the handler (Linux: `setup_rt_frame`).
fn setup_rt_frame(
    me: TaskRef,
    frame: &mut TrapFrame,
    sig: i32,
    action: &SigAction,
    info: &SigInfo,
) -> Result<(), Errno> {
    // SA_ONSTACK moves to the alternate stack unless already on it (Linux:
    // `sigsp`).
    let user_sp = frame.sp_el0;
    let (ss_sp, ss_size, ss_flags) = me.sas.get();
    let top = if action.flags & SA_ONSTACK != 0 && me.sas.state(user_sp) == 0 { ss_sp + ss_size } else { user_sp };
    let sp = (top.wrapping_sub(FRAME_SIZE + 16)) & !15;
    let mut buf = crate::syscall::kbuf((FRAME_SIZE + 16) as usize)?;
    buf[..SIGINFO_SIZE as usize].copy_from_slice(&siginfo_bytes(info));
    let put = |buf: &mut [u8], off: u64, v: u64| buf[off as usize..off as usize + 8].copy_from_slice(&v.to_le_bytes());
    // During sigsuspend the mask to restore is the one from before it.
    let old_mask = if me.restore_sigmask.load(Ordering::Relaxed) {
        me.saved_sigmask.load(Ordering::Relaxed)
    } else {
        me.blocked.load(Ordering::Relaxed)
    };
    put(&mut buf, UC_SIGMASK, old_mask);
    // uc_stack: the alternate stack as it is set (Linux: `__save_altstack`);
    // rt_sigreturn sets it back from here.
    put(&mut buf, UC_STACK, ss_sp);
    put(&mut buf, UC_STACK + 8, ss_flags as u64);
    put(&mut buf, UC_STACK + 16, ss_size);
    put(&mut buf, SC_FAULT_ADDRESS, info.addr);
    for (i, r) in frame.regs.iter().enumerate() {
        put(&mut buf, SC_REGS + 8 * i as u64, *r);
    }
    put(&mut buf, SC_SP, frame.sp_el0);
    put(&mut buf, SC_PC, frame.elr);
    put(&mut buf, SC_PSTATE, frame.spsr);
    let mut fp = FpState::zeroed();
    fpsimd::save(&mut fp);
    let r = SC_RESERVED as usize;
    buf[r..r + 4].copy_from_slice(&FPSIMD_MAGIC.to_le_bytes());
    buf[r + 4..r + 8].copy_from_slice(&FPSIMD_CONTEXT_SIZE.to_le_bytes());
    buf[r + 8..r + 12].copy_from_slice(&fp.fpsr.to_le_bytes());
    buf[r + 12..r + 16].copy_from_slice(&fp.fpcr.to_le_bytes());
    for (i, v) in fp.vregs.iter().enumerate() {
        buf[r + 16 + 16 * i..r + 32 + 16 * i].copy_from_slice(&v.to_le_bytes());
    }
    // The terminator record (magic 0, size 0) follows: already zero.
    put(&mut buf, FRAME_RECORD, frame.regs[29]);
    put(&mut buf, FRAME_RECORD + 8, frame.elr);
    uaccess::copy_to_user(sp, &buf)?;
    frame.regs[0] = sig as u64;
    frame.regs[1] = sp;
    frame.regs[2] = sp + UC_FLAGS;
    frame.regs[29] = sp + FRAME_RECORD;
    frame.regs[30] = if action.flags & SA_RESTORER != 0 { action.restorer } else { crate::mm::mm_struct::SIGPAGE };
    frame.sp_el0 = sp;
    frame.elr = action.handler;
    Ok(())
}

/// `rt_sigreturn`: restores the registers, the mask and the FP state saved
/// by [`setup_rt_frame`]; returns the restored x0 (Linux:
/// `sys_rt_sigreturn`). A damaged frame kills the process with SIGSEGV.
pub fn sys_rt_sigreturn(frame: &mut TrapFrame) -> u64 {
    let sp = frame.sp_el0;
    let Ok(mut buf) = crate::syscall::kbuf(FRAME_SIZE as usize) else {
        do_group_exit(wstatus::signaled(SIGSEGV, true));
    };
    if !sp.is_multiple_of(16) || uaccess::copy_from_user(&mut buf, sp).is_err() {
        drop(buf);
        do_group_exit(wstatus::signaled(SIGSEGV, true));
    }
    let get = |off: u64| u64::from_le_bytes(buf[off as usize..off as usize + 8].try_into().unwrap());
    for i in 0..31 {
        frame.regs[i] = get(SC_REGS + 8 * i as u64);
    }
    frame.sp_el0 = get(SC_SP);
    frame.elr = get(SC_PC);
    // Only the condition flags come from user memory: the frame returns to
    // EL0 in AArch64 with interrupts unmasked, whatever it says.
    frame.spsr = get(SC_PSTATE) & 0xf000_0000;
    current().blocked.store(get(UC_SIGMASK) & !UNBLOCKABLE, Ordering::SeqCst);
    // The alternate stack as the frame says, judged from the stack pointer
    // just restored; refusals are ignored (Linux: `restore_altstack`).
    let _ = current().sas.change(frame.sp_el0, get(UC_STACK), get(UC_STACK + 16), get(UC_STACK + 8) as u32);
    let r = SC_RESERVED as usize;
    if u32::from_le_bytes(buf[r..r + 4].try_into().unwrap()) == FPSIMD_MAGIC {
        let mut fp = FpState::zeroed();
        fp.fpsr = u32::from_le_bytes(buf[r + 8..r + 12].try_into().unwrap());
        fp.fpcr = u32::from_le_bytes(buf[r + 12..r + 16].try_into().unwrap());
        for (i, v) in fp.vregs.iter_mut().enumerate() {
            *v = u128::from_le_bytes(buf[r + 16 + 16 * i..r + 32 + 16 * i].try_into().unwrap());
        }
        fpsimd::load(&fp);
    }
    frame.regs[0]
}

/// A synchronous fault the process caused: `sig` to the faulting thread;
/// blocked or ignored, it kills the process anyway (Linux: `force_sig_fault`).
pub fn force_sig_fault(sig: i32, code: i32, addr: u64) {
    let me = current();
    let action = me.sighand().map(|h| h.get(sig)).unwrap_or_default();
    if me.blocked.load(Ordering::Relaxed) & sigmask(sig) != 0 || action.handler == SIG_IGN {
        if let Some(h) = me.sighand() {
            h.set(sig, |a| *a = SigAction::default());
        }
        me.blocked.fetch_and(!sigmask(sig), Ordering::SeqCst);
    }
    me.pending.add_kernel(SigInfo { signo: sig, code, addr, ..Default::default() });
    me.set_thread_flag(tif::SIGPENDING);
}
