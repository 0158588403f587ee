//! Process tracing (Linux: kernel/ptrace.c, arch/arm64/kernel/ptrace.c, the
//! ptrace parts of kernel/signal.c): the `ptrace` system call, the traced
//! state `__TASK_TRACED`, and the stops a tracee makes for its tracer.
//!
//! A tracee is linked to its tracer by `task_struct::parent` (the tracer)
//! while `real_parent` stays the process that forked it, so `getppid` is
//! unchanged and `wait4` in the tracer sees the tracee's stops. There is no
//! `ptraced` list: the tracer's `wait4` and exit walk the task list for
//! tasks whose `parent` is a thread of theirs and whose [`PtraceState`]
//! says they are traced.
//!
//! A stop ([`ptrace_stop`]) is made by the tracee itself, on its way back to
//! user mode or inside a system call: it records the code the tracer's
//! `wait4` reports (`(code << 8) | 0x7f`, `code` = signal | event << 8),
//! sleeps in `__TASK_TRACED`, and tells the tracer (SIGCHLD with
//! CLD_TRAPPED, a wake-up of its `wait4`). The tracer resumes it by clearing
//! `stopped` and waking it; the signal it passes comes back as the stop's
//! result. Registers are read and written in the tracee's trap frame at the
//! top of its kernel stack (every stop happens on the way from or to user
//! mode); the FP/SIMD registers and TPIDR_EL0 are read once the tracee is
//! off its CPU, where the context switch saved them.
//!
//! Kinds of stops, as Linux reports them: signal-delivery stops
//! ([`ptrace_signal`]), group stops ([`do_group_stop_traced`]; under
//! PTRACE_SEIZE as PTRACE_EVENT_STOP), PTRACE_EVENT_STOP traps for
//! PTRACE_INTERRUPT and for new children of a seized tracee, syscall-enter
//! and syscall-exit stops ([`syscall_trace_enter`], [`syscall_trace_exit`]),
//! and PTRACE_EVENT_FORK/VFORK/CLONE/VFORK_DONE/EXEC/EXIT stops.
//!
//! Locks: the link (`parent`, `flags`, `options`) changes under TASKLIST;
//! `stopped`, `report` and the resume signal are atomics ordered by the
//! tracee's state and `pi_lock` (try_to_wake_up); `siginfo` has its own
//! lock, taken with no other held.
//!
//! Departures from Linux:
//! - root may trace anything but init, kernel threads, its own thread group
//!   and tasks that already have a tracer (this kernel has no credentials);
//! - the exit of a traced thread that is not a group leader is not reported
//!   (it is released at once, as an untraced thread is); a traced leader's
//!   exit is;
//! - PTRACE_POKEDATA writes only where the process itself may write (a
//!   breakpoint in read-only text is EIO; Linux forces a private copy);
//! - PTRACE_KILL sends SIGKILL to the process (Linux: resumes a stopped
//!   tracee with SIGKILL and is documented as unreliable otherwise);
//! - the real parent does not see the group stops of a child traced by
//!   someone else in its `wait4(WUNTRACED)`.

use crate::arch::exception::TrapFrame;
use crate::errno::Errno;
use crate::pid::Pid;
use crate::sched::task::{current, exit_state, for_each_process_locked, pf, state, TaskRef, TASKLIST};
use crate::signal::{SigInfo, SignalStruct, SIGCHLD, SIGKILL, SIGSTOP, SIGTRAP};
use crate::sync::IrqSpinLock;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, Ordering};

/// `ptrace` requests (Linux's values).
pub mod req {
    pub const PTRACE_TRACEME: u64 = 0;
    pub const PTRACE_PEEKTEXT: u64 = 1;
    pub const PTRACE_PEEKDATA: u64 = 2;
    pub const PTRACE_POKETEXT: u64 = 4;
    pub const PTRACE_POKEDATA: u64 = 5;
    pub const PTRACE_CONT: u64 = 7;
    pub const PTRACE_KILL: u64 = 8;
    pub const PTRACE_SINGLESTEP: u64 = 9;
    pub const PTRACE_ATTACH: u64 = 16;
    pub const PTRACE_DETACH: u64 = 17;
    pub const PTRACE_SYSCALL: u64 = 24;
    pub const PTRACE_SETOPTIONS: u64 = 0x4200;
    pub const PTRACE_GETEVENTMSG: u64 = 0x4201;
    pub const PTRACE_GETSIGINFO: u64 = 0x4202;
    pub const PTRACE_SETSIGINFO: u64 = 0x4203;
    pub const PTRACE_GETREGSET: u64 = 0x4204;
    pub const PTRACE_SETREGSET: u64 = 0x4205;
    pub const PTRACE_SEIZE: u64 = 0x4206;
    pub const PTRACE_INTERRUPT: u64 = 0x4207;
    pub const PTRACE_LISTEN: u64 = 0x4208;
}

/// `PTRACE_O_*` options.
pub mod opt {
    pub const TRACESYSGOOD: u32 = 0x01;
    pub const TRACEFORK: u32 = 0x02;
    pub const TRACEVFORK: u32 = 0x04;
    pub const TRACECLONE: u32 = 0x08;
    pub const TRACEEXEC: u32 = 0x10;
    pub const TRACEVFORKDONE: u32 = 0x20;
    pub const TRACEEXIT: u32 = 0x40;
    pub const EXITKILL: u32 = 0x10_0000;
    /// What this kernel accepts (no seccomp).
    pub const SUPPORTED: u32 =
        TRACESYSGOOD | TRACEFORK | TRACEVFORK | TRACECLONE | TRACEEXEC | TRACEVFORKDONE | TRACEEXIT | EXITKILL;
}

/// `PTRACE_EVENT_*`: `status >> 16` of an event stop.
pub mod event {
    pub const FORK: i32 = 1;
    pub const VFORK: i32 = 2;
    pub const CLONE: i32 = 3;
    pub const EXEC: i32 = 4;
    pub const VFORK_DONE: i32 = 5;
    pub const EXIT: i32 = 6;
    pub const STOP: i32 = 128;
}

/// ELF note types of the register sets (Linux: include/uapi/linux/elf.h).
pub mod nt {
    pub const NT_PRSTATUS: u64 = 1;
    pub const NT_PRFPREG: u64 = 2;
    pub const NT_ARM_TLS: u64 = 0x401;
    pub const NT_ARM_SYSTEM_CALL: u64 = 0x404;
}

/// `flags` bits (Linux: `task->ptrace`).
const PT_PTRACED: u32 = 0x1;
const PT_SEIZED: u32 = 0x1_0000;

/// `jobctl` bits (Linux: JOBCTL_TRAP_STOP, JOBCTL_LISTENING).
const JOBCTL_TRAP_STOP: u32 = 0x1;
const JOBCTL_LISTENING: u32 = 0x2;

/// `work` bits, looked at on system-call entry and exit and on the way to
/// user mode (Linux: TIF_SYSCALL_TRACE, TIF_SINGLESTEP).
pub const WORK_SYSCALL_TRACE: u32 = 0x1;
pub const WORK_SINGLESTEP: u32 = 0x2;

/// `si_code` of a ptrace trap's SIGCHLD (CLD_TRAPPED) and of a single
/// step's SIGTRAP (TRAP_TRACE).
const CLD_TRAPPED: i32 = 4;
const TRAP_TRACE: i32 = 2;

/// The system-call number that skips the call (Linux: NO_SYSCALL).
pub const NO_SYSCALL: u64 = u64::MAX;

/// A task's tracing state (Linux: `ptrace`, `jobctl`, `ptrace_message`,
/// `last_siginfo` of `task_struct`).
pub struct PtraceState {
    /// PT_PTRACED, PT_SEIZED: under TASKLIST.
    flags: AtomicU32,
    /// PTRACE_O_*: under TASKLIST, or by the tracer while the tracee is stopped.
    options: AtomicU32,
    /// JOBCTL_*.
    jobctl: AtomicU32,
    /// `WORK_*`, written by the tracer while the tracee is stopped, or at attach/detach.
    pub work: AtomicU32,
    /// In a ptrace stop, until the tracer resumes it.
    stopped: AtomicBool,
    /// The stop code not yet reported to the tracer's wait4 (0: none).
    report: AtomicI32,
    /// The signal the tracer resumed the tracee with.
    resume_sig: AtomicI32,
    /// PTRACE_GETEVENTMSG.
    message: AtomicU64,
    /// The siginfo of the stop (None: a group stop or PTRACE_EVENT_STOP, where
    /// PTRACE_GETSIGINFO is EINVAL).
    siginfo: IrqSpinLock<Option<SigInfo>>,
    /// The group stop this task took part in, as `cont_seq + 1` of its
    /// group: a traced task the tracer resumed stays out of that stop.
    stop_seq: AtomicU64,
}

impl PtraceState {
    /// Not traced.
    pub const fn new() -> Self {
        PtraceState {
            flags: AtomicU32::new(0),
            options: AtomicU32::new(0),
            jobctl: AtomicU32::new(0),
            work: AtomicU32::new(0),
            stopped: AtomicBool::new(false),
            report: AtomicI32::new(0),
            resume_sig: AtomicI32::new(0),
            message: AtomicU64::new(0),
            siginfo: IrqSpinLock::new(None),
            stop_seq: AtomicU64::new(0),
        }
    }
}

impl Default for PtraceState {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether `t` has a tracer.
#[inline]
pub fn is_traced(t: TaskRef) -> bool {
    t.ptrace.flags.load(Ordering::Acquire) & PT_PTRACED != 0
}

/// Whether `t`'s tracer is not its real parent (Linux: `ptrace_reparented`).
/// Under TASKLIST.
pub fn ptrace_reparented(t: TaskRef) -> bool {
    // SAFETY: the caller holds TASKLIST.
    is_traced(t) && unsafe { *t.parent.get() != *t.real_parent.get() }
}

/// The TID of `t`'s tracer's thread group, 0 if none (`TracerPid:`).
pub fn tracer_pid(t: TaskRef) -> Pid {
    let _guard = TASKLIST.lock();
    if !is_traced(t) || t.exit_state.load(Ordering::Relaxed) & exit_state::EXIT_DEAD != 0 {
        return 0;
    }
    // SAFETY: under TASKLIST; a tracer unlinks its tracees before it goes.
    unsafe { (**t.parent.get()).tgid() }
}

/// Whether a trap (PTRACE_INTERRUPT, a seized child's first stop) waits for
/// `t`: it counts as a pending signal, so sleeps end and the way to user
/// mode passes through the signal code.
#[inline]
pub fn trap_pending(t: TaskRef) -> bool {
    t.ptrace.jobctl.load(Ordering::Acquire) & JOBCTL_TRAP_STOP != 0
}

/// Whether `t` still has to take part in its group's stop: every untraced
/// thread while the group is stopped; a traced one until it has reported
/// the stop (its tracer may then let it run).
#[inline]
pub fn group_stop_pending(t: TaskRef, s: &SignalStruct) -> bool {
    if !s.stopped.load(Ordering::SeqCst) {
        return false;
    }
    !is_traced(t) || t.ptrace.stop_seq.load(Ordering::Relaxed) != s.cont_seq.load(Ordering::SeqCst) + 1
}

// ---------------------------------------------------------------------------
// The tracee's side.

/// Stops the current task for its tracer with wait code `code` and
/// `info` for PTRACE_GETSIGINFO; returns the signal the tracer resumed it
/// with (Linux: `ptrace_stop`), or `keep` if the tracer went away without
/// resuming it (a signal-delivery stop keeps its signal, as Linux's
/// `exit_code` does). No stop if the task is being killed or has lost its
/// tracer meanwhile.
fn ptrace_stop_keep(code: i32, info: Option<SigInfo>, keep: i32) -> i32 {
    let _wchan = crate::wchan!("ptrace_stop");
    let me = current();
    if crate::signal::fatal_signal_pending(me) {
        return 0;
    }
    *me.ptrace.siginfo.lock() = info;
    me.ptrace.resume_sig.store(keep, Ordering::Relaxed);
    me.ptrace.jobctl.fetch_and(!JOBCTL_TRAP_STOP, Ordering::SeqCst);
    me.ptrace.stopped.store(true, Ordering::SeqCst);
    // The state first: a tracer that sees the report may resume at once.
    crate::sched::task::set_current_state(state::__TASK_TRACED);
    me.ptrace.report.store(code, Ordering::SeqCst);
    let tracer = {
        let _guard = TASKLIST.lock();
        if !is_traced(me) {
            None
        } else {
            // SAFETY: under TASKLIST; a tracer unlinks its tracees before it goes.
            Some(unsafe { TaskRef::from_ptr(*me.parent.get()) }.get())
        }
    };
    let Some(tracer) = tracer else {
        me.ptrace.stopped.store(false, Ordering::SeqCst);
        me.ptrace.report.store(0, Ordering::SeqCst);
        crate::sched::task::__set_current_state(state::TASK_RUNNING);
        return 0;
    };
    notify_tracer(tracer, me, code & 0x7f);
    tracer.put();
    loop {
        if !me.ptrace.stopped.load(Ordering::SeqCst) || crate::signal::fatal_signal_pending(me) {
            break;
        }
        crate::sched::core::schedule();
        crate::sched::task::set_current_state(state::__TASK_TRACED);
    }
    crate::sched::task::__set_current_state(state::TASK_RUNNING);
    me.ptrace.stopped.store(false, Ordering::SeqCst);
    me.ptrace.report.store(0, Ordering::SeqCst);
    me.ptrace.jobctl.fetch_and(!JOBCTL_LISTENING, Ordering::SeqCst);
    me.ptrace.resume_sig.swap(0, Ordering::SeqCst)
}

/// [`ptrace_stop_keep`] for stops that deliver nothing unless the tracer
/// says so.
pub fn ptrace_stop(code: i32, info: Option<SigInfo>) -> i32 {
    ptrace_stop_keep(code, info, 0)
}

/// SIGCHLD (CLD_TRAPPED, unless the tracer asked for SA_NOCLDSTOP) and a
/// wake-up of the tracer's wait4 (Linux: `do_notify_parent_cldstop` with
/// `for_ptracer`).
fn notify_tracer(tracer: TaskRef, tracee: TaskRef, status: i32) {
    let nocldstop = tracer.sighand().is_some_and(|h| h.get(SIGCHLD).flags & crate::signal::SA_NOCLDSTOP != 0);
    if !nocldstop {
        let info = SigInfo {
            signo: SIGCHLD,
            code: CLD_TRAPPED,
            pid: tracee.pid() as i32,
            uid: 0,
            status,
            ..Default::default()
        };
        let _ = crate::signal::send_signal(tracer, info, true);
    }
    crate::exit::wake_waiters(tracer);
}

/// The siginfo of a ptrace trap: SIGTRAP with the stop code as si_code.
fn trap_info(code: i32) -> SigInfo {
    SigInfo { signo: SIGTRAP, code, pid: current().pid() as i32, ..Default::default() }
}

/// Whether the current task's tracer asked for event `ev` (Linux:
/// `ptrace_event_enabled`).
fn event_enabled(t: TaskRef, ev: i32) -> bool {
    let bit = match ev {
        event::FORK => opt::TRACEFORK,
        event::VFORK => opt::TRACEVFORK,
        event::CLONE => opt::TRACECLONE,
        event::EXEC => opt::TRACEEXEC,
        event::VFORK_DONE => opt::TRACEVFORKDONE,
        event::EXIT => opt::TRACEEXIT,
        _ => 0,
    };
    is_traced(t) && t.ptrace.options.load(Ordering::Relaxed) & bit != 0
}

/// A PTRACE_EVENT stop with `message` for PTRACE_GETEVENTMSG, if the
/// tracer asked for it (Linux: `ptrace_event`). An exec without
/// PTRACE_O_TRACEEXEC sends the traditional SIGTRAP instead.
pub fn ptrace_event(ev: i32, message: u64) {
    let me = current();
    if !is_traced(me) {
        return;
    }
    if event_enabled(me, ev) {
        me.ptrace.message.store(message, Ordering::Relaxed);
        let code = SIGTRAP | (ev << 8);
        ptrace_stop(code, Some(trap_info(code)));
    } else if ev == event::EXEC && me.ptrace.flags.load(Ordering::Relaxed) & PT_SEIZED == 0 {
        let _ = crate::signal::send_signal(me, SigInfo::kernel(SIGTRAP), false);
    }
}

/// The event a clone reports (0: none) (Linux: the `trace` choice in
/// `kernel_clone`).
pub fn clone_event(flags: u64, exit_signal: i32) -> i32 {
    use crate::fork::clone_flags::{CLONE_UNTRACED, CLONE_VFORK};
    let me = current();
    if !is_traced(me) || flags & CLONE_UNTRACED != 0 {
        return 0;
    }
    let ev = if flags & CLONE_VFORK != 0 {
        event::VFORK
    } else if exit_signal != SIGCHLD {
        event::CLONE
    } else {
        event::FORK
    };
    if event_enabled(me, ev) {
        ev
    } else {
        0
    }
}

/// A new child of a traced parent whose tracer follows it (`ev` != 0 or
/// CLONE_PTRACE): traced by the same tracer with the same options, and it
/// stops before it first runs: SIGSTOP, or a PTRACE_EVENT_STOP trap when
/// seized (Linux: `ptrace_init_task`). Under TASKLIST, before the child
/// is woken.
pub fn ptrace_init_task(child: TaskRef, parent: TaskRef, ev: i32, clone_flags: u64) {
    if !is_traced(parent) || (ev == 0 && clone_flags & crate::fork::clone_flags::CLONE_PTRACE == 0) {
        return;
    }
    let flags = parent.ptrace.flags.load(Ordering::Relaxed);
    child.ptrace.options.store(parent.ptrace.options.load(Ordering::Relaxed), Ordering::Relaxed);
    // SAFETY: under TASKLIST (caller); the tracer outlives its link.
    unsafe { *child.parent.get() = *parent.parent.get() };
    if flags & PT_SEIZED != 0 {
        child.ptrace.jobctl.store(JOBCTL_TRAP_STOP, Ordering::Relaxed);
        child.set_thread_flag(crate::sched::task::tif::SIGPENDING); // the way to user mode looks
    } else {
        child.pending.add_kernel(SigInfo::kernel(SIGSTOP));
    }
    child.ptrace.flags.store(flags, Ordering::Release);
}

/// A signal about to be delivered to a traced task: stop for the tracer,
/// who may cancel it, change it or its siginfo (Linux: `ptrace_signal`).
/// Returns the signal to deliver, if any.
pub fn ptrace_signal(me: TaskRef, info: SigInfo) -> Option<SigInfo> {
    let sig = ptrace_stop_keep(info.signo, Some(info), info.signo);
    if sig == 0 || !(1..=crate::signal::NSIG).contains(&sig) {
        return None;
    }
    let mut info = me.ptrace.siginfo.lock().take().unwrap_or(info);
    if sig != info.signo {
        // The tracer changed the signal: it is the sender now.
        let tracer = {
            let _guard = TASKLIST.lock();
            if is_traced(me) {
                // SAFETY: under TASKLIST.
                unsafe { (**me.parent.get()).tgid() as i32 }
            } else {
                0
            }
        };
        info = SigInfo { signo: sig, code: crate::signal::SI_USER, pid: tracer, ..Default::default() };
    }
    if me.blocked.load(Ordering::Relaxed) & crate::signal::sigmask(sig) != 0 {
        // Blocked now: queued again, for when it is unblocked.
        let _ = crate::signal::send_signal(me, info, false);
        return None;
    }
    Some(info)
}

/// A PTRACE_INTERRUPT (or a seized child's first stop) taken on the way to
/// user mode: PTRACE_EVENT_STOP, with the group's stop signal if the group
/// is stopped, else SIGTRAP (Linux: `do_jobctl_trap`).
pub fn do_jobctl_trap(me: TaskRef) {
    let sig = me
        .signal_struct()
        .filter(|s| s.stopped.load(Ordering::SeqCst))
        .map_or(SIGTRAP, |s| s.stop_signal.load(Ordering::SeqCst));
    let code = sig | (event::STOP << 8);
    ptrace_stop(code, Some(SigInfo { signo: sig, code, pid: me.pid() as i32, ..Default::default() }));
}

/// A traced task's part in its group's stop: a stop its tracer sees
/// (under PTRACE_SEIZE as PTRACE_EVENT_STOP), after which the tracer
/// decides when it runs (Linux: `do_signal_stop` for a ptraced task).
pub fn do_group_stop_traced(me: TaskRef, s: &SignalStruct) {
    me.ptrace.stop_seq.store(s.cont_seq.load(Ordering::SeqCst) + 1, Ordering::Relaxed);
    let sig = s.stop_signal.load(Ordering::SeqCst);
    if me.ptrace.flags.load(Ordering::Relaxed) & PT_SEIZED != 0 {
        let code = sig | (event::STOP << 8);
        ptrace_stop(code, Some(SigInfo { signo: sig, code, pid: me.pid() as i32, ..Default::default() }));
    } else {
        // No siginfo: PTRACE_GETSIGINFO is EINVAL in a group stop.
        ptrace_stop(sig, None);
    }
}

/// The syscall-enter stop (Linux: `syscall_trace_enter`, arm64's
/// `ptrace_report_syscall` with x7 = 0 during the stop). Returns whether
/// the tracer skipped the call (NT_ARM_SYSTEM_CALL set to -1): x0 then
/// holds the result, -ENOSYS unless the tracer set it.
pub fn syscall_trace_enter(frame: &mut TrapFrame) -> bool {
    let me = current();
    if me.ptrace.work.load(Ordering::Relaxed) & WORK_SYSCALL_TRACE != 0 {
        report_syscall(me, frame, 0);
    }
    // SAFETY: the tracee's own registers; the tracer writes them only while
    // it is stopped, which it no longer is.
    let nr = unsafe { (*me.user_regs.get()).syscallno };
    if nr == NO_SYSCALL {
        return true;
    }
    false
}

/// The syscall-exit stop (Linux: `syscall_trace_exit`, x7 = 1 during it).
pub fn syscall_trace_exit(frame: &mut TrapFrame) {
    let me = current();
    if me.ptrace.work.load(Ordering::Relaxed) & WORK_SYSCALL_TRACE != 0 {
        report_syscall(me, frame, 1);
    }
}

fn report_syscall(me: TaskRef, frame: &mut TrapFrame, dir: u64) {
    let saved = frame.regs[7];
    frame.regs[7] = dir;
    let sysgood = me.ptrace.options.load(Ordering::Relaxed) & opt::TRACESYSGOOD != 0;
    let code = SIGTRAP | if sysgood { 0x80 } else { 0 };
    let sig = ptrace_stop(code, Some(trap_info(code)));
    frame.regs[7] = saved;
    // A signal given at a syscall stop is sent, as Linux does.
    if sig != 0 && (1..=crate::signal::NSIG).contains(&sig) {
        let _ = crate::signal::send_signal(me, SigInfo::kernel(sig), false);
    }
}

/// A software-step exception from user mode: SIGTRAP (TRAP_TRACE) for the
/// tracer to see (Linux: `single_step_handler`). A task that is not being
/// stepped met the step enable a stepped task left on this CPU: it is
/// cleared, and the task goes on (nothing ran yet).
pub fn single_step_trap(pc: u64) -> bool {
    let me = current();
    if me.ptrace.work.load(Ordering::Relaxed) & WORK_SINGLESTEP == 0 {
        crate::arch::debug::disarm_single_step();
        return true;
    }
    let info = SigInfo { signo: SIGTRAP, code: TRAP_TRACE, addr: pc, ..Default::default() };
    let _ = crate::signal::send_signal(me, info, false);
    true
}

/// On the last step to user mode: arms single-stepping for a task being
/// stepped (Linux: `user_enable_single_step` through TIF_SINGLESTEP). For
/// everyone else one load and a branch; the step enable a stepped task
/// leaves on its CPU is cleared by the spurious step exception it causes
/// ([`single_step_trap`]).
#[inline(always)]
pub fn user_return(me: TaskRef, frame: &mut TrapFrame) {
    if me.ptrace.work.load(Ordering::Relaxed) & WORK_SINGLESTEP != 0 {
        crate::arch::debug::arm_single_step(frame);
    }
}

// ---------------------------------------------------------------------------
// The tracer's side.

/// Unlinks `t` from its tracer (Linux: `__ptrace_unlink`). Under TASKLIST.
fn ptrace_unlink(t: TaskRef) {
    t.ptrace.flags.store(0, Ordering::Release);
    t.ptrace.options.store(0, Ordering::Relaxed);
    t.ptrace.work.store(0, Ordering::Relaxed);
    t.ptrace.jobctl.store(0, Ordering::Relaxed);
    // SAFETY: under TASKLIST (caller).
    unsafe { *t.parent.get() = *t.real_parent.get() };
}

/// Lets a stopped tracee run on with signal `sig`.
fn resume(t: TaskRef, sig: i32) {
    t.ptrace.resume_sig.store(sig, Ordering::SeqCst);
    t.ptrace.report.store(0, Ordering::SeqCst);
    t.ptrace.stopped.store(false, Ordering::SeqCst);
    crate::sched::core::try_to_wake_up(t, state::__TASK_TRACED);
}

/// The tracer `tracer` exits: its tracees are let go, or killed with
/// PTRACE_O_EXITKILL (Linux: `exit_ptrace`). A tracee that is a zombie
/// already goes to its real parent. Returns the zombies whose real parent
/// ignores them, to release once TASKLIST is dropped. Under TASKLIST.
pub fn exit_ptrace(tracer: TaskRef) -> alloc::vec::Vec<TaskRef> {
    let mut tracees = alloc::vec::Vec::new();
    let me = tracer.as_ptr();
    // SAFETY: under TASKLIST (caller).
    unsafe {
        for_each_process_locked(|t| {
            if is_traced(t) && *t.parent.get() == me {
                tracees.push(t);
            }
        })
    };
    let mut release = alloc::vec::Vec::new();
    for t in tracees {
        let kill = t.ptrace.options.load(Ordering::Relaxed) & opt::EXITKILL != 0;
        let reparented = ptrace_reparented(t);
        ptrace_unlink(t);
        if t.exit_state.load(Ordering::Relaxed) == exit_state::EXIT_ZOMBIE && reparented {
            if crate::exit::notify_real_parent_locked(t) {
                release.push(t);
            }
            continue;
        }
        if kill {
            let _ = crate::signal::send_signal_tasklist_held(t, SigInfo::kernel(SIGKILL));
        }
        // A stopped tracee runs on with what it was stopped for (the signal
        // of a signal-delivery stop).
        if t.ptrace.stopped.swap(false, Ordering::SeqCst) {
            t.ptrace.report.store(0, Ordering::SeqCst);
            crate::sched::core::try_to_wake_up(t, state::__TASK_TRACED);
        }
    }
    release
}

/// What a tracer's wait4 finds among its tracees.
pub enum Traced {
    /// A stop to report: the tracee's TID and wait status.
    Stop(TaskRef, i32),
    /// A zombie tracee that is not the tracer's child: its exit to report;
    /// the tracer lets it go to its real parent.
    Zombie(TaskRef),
}

/// Looks for a reportable tracee of `parents` (the tracer's threads) that
/// `matches` (Linux: `wait_consider_task` with `ptrace`). Returns the find,
/// and whether any tracee matched at all. Under TASKLIST.
pub fn wait_ptraced(
    parents: &[TaskRef],
    options: u32,
    mut matches: impl FnMut(TaskRef) -> bool,
) -> (Option<Traced>, bool) {
    use crate::exit::{__WALL, __WCLONE};
    let mut found = None;
    let mut any = false;
    // SAFETY: under TASKLIST (caller).
    unsafe {
        for_each_process_locked(|t| {
            if found.is_some() || !is_traced(t) || !parents.contains(&TaskRef::from_ptr(*t.parent.get())) {
                return;
            }
            // A clone child (exit signal not SIGCHLD) needs __WCLONE or __WALL.
            let clone_child = t.exit_signal.load(Ordering::Relaxed) != SIGCHLD;
            if clone_child != (options & __WCLONE != 0) && options & __WALL == 0 {
                return;
            }
            if !matches(t) || t.exit_state.load(Ordering::Acquire) == exit_state::EXIT_DEAD {
                return;
            }
            any = true;
            if t.exit_state.load(Ordering::Acquire) == exit_state::EXIT_ZOMBIE {
                // Its own child: the ordinary reaping does it.
                if ptrace_reparented(t) && t.signal_struct().is_none_or(|s| s.live.load(Ordering::Relaxed) == 0) {
                    found = Some(Traced::Zombie(t));
                }
                return;
            }
            let code = t.ptrace.report.load(Ordering::SeqCst);
            if code != 0 && t.ptrace.stopped.load(Ordering::SeqCst) {
                t.ptrace.report.store(0, Ordering::SeqCst);
                found = Some(Traced::Stop(t, (code << 8) | 0x7f));
            }
        })
    };
    (found, any)
}

/// Lets go of a zombie tracee the tracer has seen exit. Under TASKLIST.
pub fn detach_zombie(t: TaskRef) {
    ptrace_unlink(t);
}

/// `ptrace(request, pid, addr, data)` (Linux: `sys_ptrace`).
pub fn sys_ptrace(request: u64, pid: i64, addr: u64, data: u64) -> Result<u64, Errno> {
    use req::*;
    if request == PTRACE_TRACEME {
        return ptrace_traceme();
    }
    if pid <= 0 || pid > i64::from(i32::MAX) {
        return Err(Errno::ESRCH);
    }
    let child = crate::sched::task::find_task_by_pid(pid as Pid).ok_or(Errno::ESRCH)?;
    let result = match request {
        PTRACE_ATTACH | PTRACE_SEIZE => ptrace_attach(child, request == PTRACE_SEIZE, addr, data),
        _ => {
            let ignore_state = matches!(request, PTRACE_KILL | PTRACE_INTERRUPT);
            ptrace_check_attach(child, ignore_state).and_then(|()| ptrace_request(child, request, addr, data))
        }
    };
    child.put();
    result
}

/// PTRACE_TRACEME: the parent becomes the tracer (Linux: `ptrace_traceme`).
fn ptrace_traceme() -> Result<u64, Errno> {
    let me = current();
    let _guard = TASKLIST.lock();
    if is_traced(me) {
        return Err(Errno::EPERM);
    }
    // SAFETY: under TASKLIST.
    let parent = unsafe { *me.real_parent.get() };
    // SAFETY: under TASKLIST; parents outlive their links.
    if parent.is_null() || unsafe { !TaskRef::from_ptr(parent).is_user() } {
        return Err(Errno::EPERM);
    }
    // SAFETY: under TASKLIST.
    unsafe { *me.parent.get() = parent };
    me.ptrace.flags.store(PT_PTRACED, Ordering::Release);
    Ok(0)
}

/// PTRACE_ATTACH (SIGSTOP to the tracee) and PTRACE_SEIZE (options from
/// `data`, no signal) (Linux: `ptrace_attach`).
fn ptrace_attach(t: TaskRef, seize: bool, addr: u64, data: u64) -> Result<u64, Errno> {
    let me = current();
    let options = if seize {
        if addr != 0 || data & !u64::from(opt::SUPPORTED) != 0 {
            return Err(Errno::EINVAL);
        }
        data as u32
    } else {
        0
    };
    if !t.is_user() || t.has_flag(pf::PF_KTHREAD) || t.tgid() == crate::exit::INIT_PID || t.tgid() == me.tgid() {
        return Err(Errno::EPERM);
    }
    let group_stopped;
    {
        let _guard = TASKLIST.lock();
        if t.has_flag(pf::PF_EXITING) || t.exit_state.load(Ordering::Relaxed) != 0 {
            return Err(Errno::EPERM);
        }
        if is_traced(t) {
            return Err(Errno::EPERM);
        }
        // SAFETY: under TASKLIST.
        unsafe { *t.parent.get() = me.as_ptr() };
        t.ptrace.options.store(options, Ordering::Relaxed);
        t.ptrace.stop_seq.store(0, Ordering::Relaxed);
        group_stopped = t.signal_struct().is_some_and(|s| s.stopped.load(Ordering::SeqCst));
        if seize && group_stopped {
            t.ptrace.jobctl.store(JOBCTL_TRAP_STOP, Ordering::Relaxed);
            t.set_thread_flag(crate::sched::task::tif::SIGPENDING); // the way to user mode looks
        }
        t.ptrace.flags.store(PT_PTRACED | if seize { PT_SEIZED } else { 0 }, Ordering::Release);
    }
    if !seize {
        let info =
            SigInfo { signo: SIGSTOP, code: crate::signal::SI_USER, pid: me.tgid() as i32, ..Default::default() };
        let _ = crate::signal::send_signal(t, info, false);
    }
    if group_stopped {
        // Out of TASK_STOPPED: it reports the stop to the tracer instead.
        crate::sched::core::try_to_wake_up(t, state::__TASK_STOPPED);
    }
    Ok(0)
}

/// The checks every request but ATTACH/SEIZE/TRACEME makes: `t` is traced
/// by the caller and, unless `ignore_state`, stopped for it; ESRCH
/// otherwise (Linux: `ptrace_check_attach`).
fn ptrace_check_attach(t: TaskRef, ignore_state: bool) -> Result<(), Errno> {
    let me = current();
    let _guard = TASKLIST.lock();
    // SAFETY: under TASKLIST.
    if !is_traced(t) || unsafe { *t.parent.get() } != me.as_ptr() {
        return Err(Errno::ESRCH);
    }
    if t.exit_state.load(Ordering::Relaxed) != 0 {
        return Err(Errno::ESRCH);
    }
    if !ignore_state && !t.ptrace.stopped.load(Ordering::SeqCst) {
        return Err(Errno::ESRCH);
    }
    Ok(())
}

/// Waits until a stopped tracee is off its CPU, so the registers its
/// context switch saved (FP/SIMD, TPIDR_EL0) are there to read (Linux:
/// `wait_task_inactive`).
fn wait_task_inactive(t: TaskRef) {
    while t.on_cpu.load(Ordering::Acquire) && t.ptrace.stopped.load(Ordering::SeqCst) {
        crate::arch::cpu::cpu_relax();
    }
}

fn ptrace_request(t: TaskRef, request: u64, addr: u64, data: u64) -> Result<u64, Errno> {
    use req::*;
    match request {
        PTRACE_PEEKTEXT | PTRACE_PEEKDATA => {
            let mut word = [0u8; 8];
            access_remote(t, addr, &mut word, false)?;
            crate::mm::uaccess::copy_to_user(data, &word)?;
            Ok(0)
        }
        PTRACE_POKETEXT | PTRACE_POKEDATA => {
            let mut word = data.to_le_bytes();
            access_remote(t, addr, &mut word, true)?;
            Ok(0)
        }
        PTRACE_CONT | PTRACE_SYSCALL | PTRACE_SINGLESTEP => {
            let sig = valid_signal(data)?;
            let mut work = t.ptrace.work.load(Ordering::Relaxed) & !(WORK_SYSCALL_TRACE | WORK_SINGLESTEP);
            if request == PTRACE_SYSCALL {
                work |= WORK_SYSCALL_TRACE;
            }
            if request == PTRACE_SINGLESTEP {
                work |= WORK_SINGLESTEP;
            }
            t.ptrace.work.store(work, Ordering::SeqCst);
            resume(t, sig);
            Ok(0)
        }
        PTRACE_KILL => {
            crate::signal::send_signal(t, SigInfo::kernel(SIGKILL), true)?;
            Ok(0)
        }
        PTRACE_DETACH => {
            let sig = valid_signal(data)?;
            {
                let _guard = TASKLIST.lock();
                ptrace_unlink(t);
            }
            resume(t, sig);
            Ok(0)
        }
        PTRACE_SETOPTIONS => {
            if data & !u64::from(opt::SUPPORTED) != 0 {
                return Err(Errno::EINVAL);
            }
            t.ptrace.options.store(data as u32, Ordering::Relaxed);
            Ok(0)
        }
        PTRACE_GETEVENTMSG => {
            crate::mm::uaccess::put_user_u64(data, t.ptrace.message.load(Ordering::Relaxed))?;
            Ok(0)
        }
        PTRACE_GETSIGINFO => {
            let info = (*t.ptrace.siginfo.lock()).ok_or(Errno::EINVAL)?;
            crate::mm::uaccess::copy_to_user(data, &crate::signal::siginfo_bytes(&info))?;
            Ok(0)
        }
        PTRACE_SETSIGINFO => {
            let mut b = [0u8; 128];
            crate::mm::uaccess::copy_from_user(&mut b, data)?;
            let info = crate::signal::siginfo_from_bytes(&b);
            let mut slot = t.ptrace.siginfo.lock();
            if slot.is_none() {
                return Err(Errno::EINVAL);
            }
            *slot = Some(info);
            Ok(0)
        }
        PTRACE_GETREGSET | PTRACE_SETREGSET => regset(t, request == PTRACE_SETREGSET, addr, data),
        PTRACE_INTERRUPT => {
            if t.ptrace.flags.load(Ordering::Relaxed) & PT_SEIZED == 0 {
                return Err(Errno::EIO);
            }
            t.ptrace.jobctl.fetch_or(JOBCTL_TRAP_STOP, Ordering::SeqCst);
            t.set_thread_flag(crate::sched::task::tif::SIGPENDING); // the way to user mode looks
            if t.ptrace.jobctl.load(Ordering::SeqCst) & JOBCTL_LISTENING != 0 {
                resume(t, 0); // re-traps at once, reporting the stop again
            } else if !crate::sched::core::try_to_wake_up(t, state::TASK_INTERRUPTIBLE) {
                crate::sched::core::kick_process(t);
            }
            Ok(0)
        }
        PTRACE_LISTEN => {
            let event_stop = (*t.ptrace.siginfo.lock()).is_some_and(|i| i.code >> 8 == event::STOP);
            if t.ptrace.flags.load(Ordering::Relaxed) & PT_SEIZED == 0 || !event_stop {
                return Err(Errno::EIO);
            }
            // Stays stopped; a signal or SIGCONT for it ends the stop, and
            // it reports again (Linux: JOBCTL_LISTENING).
            t.ptrace.jobctl.fetch_or(JOBCTL_LISTENING, Ordering::SeqCst);
            Ok(0)
        }
        _ => Err(Errno::EIO),
    }
}

/// A signal number a tracer passes on resume: 0..=NSIG, EIO otherwise.
fn valid_signal(data: u64) -> Result<i32, Errno> {
    if data > crate::signal::NSIG as u64 {
        return Err(Errno::EIO);
    }
    Ok(data as i32)
}

/// A signal came for `t`: a tracee in PTRACE_LISTEN wakes and reports again
/// (Linux: `ptrace_signal_wake_up` for JOBCTL_LISTENING).
pub fn signal_wake_listener(t: TaskRef) {
    if t.ptrace.jobctl.load(Ordering::Acquire) & JOBCTL_LISTENING != 0 && t.ptrace.stopped.load(Ordering::SeqCst) {
        t.ptrace.jobctl.fetch_or(JOBCTL_TRAP_STOP, Ordering::SeqCst);
        t.set_thread_flag(crate::sched::task::tif::SIGPENDING); // the way to user mode looks
        resume(t, 0);
    }
}

/// Copies between a tracee's memory and `buf` (Linux: `access_process_vm`);
/// EIO where the tracee has no such memory.
fn access_remote(t: TaskRef, addr: u64, buf: &mut [u8], write: bool) -> Result<(), Errno> {
    use crate::mm::mm_struct::Access;
    let mm = t.mm().ok_or(Errno::EIO)?;
    let mut done = 0usize;
    let access = if write { Access::Write } else { Access::Read };
    mm.access(addr, buf.len(), access, |p, n| {
        // SAFETY: `p` points to `n` bytes of a mapped user page of `mm`,
        // held by its lock for the copy.
        unsafe {
            if write {
                core::ptr::copy_nonoverlapping(buf[done..].as_ptr(), p, n);
            } else {
                core::ptr::copy_nonoverlapping(p as *const u8, buf[done..].as_mut_ptr(), n);
            }
        }
        done += n;
    })
    .map_err(|_| Errno::EIO)
}

/// `process_vm_readv` / `process_vm_writev` (Linux: mm/process_vm_access.c):
/// copies between the caller's iovecs and those of process `pid`. Returns
/// the bytes copied; stops at the first piece that fails after some were.
pub fn process_vm_rw(
    pid: i64,
    liov: u64,
    liovcnt: u64,
    riov: u64,
    riovcnt: u64,
    flags: u64,
    write: bool,
) -> Result<u64, Errno> {
    use crate::mm::uaccess::{copy_from_user, copy_to_user, get_user_u64};
    if flags != 0 || liovcnt > 1024 || riovcnt > 1024 {
        return Err(Errno::EINVAL);
    }
    if pid <= 0 || pid > i64::from(i32::MAX) {
        return Err(Errno::ESRCH);
    }
    let t = crate::sched::task::find_task_by_pid(pid as Pid).ok_or(Errno::ESRCH)?;
    let mm = t.mm();
    t.put();
    let mm = mm.ok_or(Errno::ESRCH)?;
    let iov = |base: u64, i: u64| -> Result<(u64, u64), Errno> {
        Ok((get_user_u64(base + 16 * i)?, get_user_u64(base + 16 * i + 8)?))
    };
    let mut total = 0u64;
    let mut buf = crate::syscall::kbuf(4096)?;
    let (mut li, mut loff) = (0u64, 0u64);
    for ri in 0..riovcnt {
        let (rbase, rlen) = iov(riov, ri)?;
        let mut roff = 0u64;
        while roff < rlen {
            while li < liovcnt && loff >= iov(liov, li)?.1 {
                li += 1;
                loff = 0;
            }
            if li >= liovcnt {
                return Ok(total);
            }
            let (lbase, llen) = iov(liov, li)?;
            let n = (rlen - roff).min(llen - loff).min(buf.len() as u64) as usize;
            let remote = rbase.wrapping_add(roff);
            let local = lbase + loff;
            let piece = if write {
                copy_from_user(&mut buf[..n], local).and_then(|()| mm.write_user(remote, &buf[..n]))
            } else {
                let mut done = 0usize;
                mm.access(remote, n, crate::mm::mm_struct::Access::Read, |p, k| {
                    // SAFETY: `p` points to `k` mapped bytes of the remote page.
                    unsafe { core::ptr::copy_nonoverlapping(p as *const u8, buf[done..].as_mut_ptr(), k) };
                    done += k;
                })
                .and_then(|()| copy_to_user(local, &buf[..n]))
            };
            if let Err(e) = piece {
                return if total > 0 { Ok(total) } else { Err(e) };
            }
            total += n as u64;
            roff += n as u64;
            loff += n as u64;
        }
    }
    Ok(total)
}

/// PTRACE_GETREGSET / PTRACE_SETREGSET: `data` points to an iovec, whose
/// length is updated to what was copied (Linux: `ptrace_regset`).
fn regset(t: TaskRef, set: bool, note: u64, data: u64) -> Result<u64, Errno> {
    use crate::mm::uaccess::{copy_from_user, copy_to_user, get_user_u64, put_user_u64};
    let base = get_user_u64(data)?;
    let len = get_user_u64(data + 8)?;
    wait_task_inactive(t);
    let mut buf = [0u8; 528];
    let size = match note {
        nt::NT_PRSTATUS => 272,
        nt::NT_PRFPREG => 528,
        nt::NT_ARM_TLS => 8,
        nt::NT_ARM_SYSTEM_CALL => 4,
        _ => return Err(Errno::EINVAL),
    };
    // SAFETY: `t` is stopped for us (ptrace_check_attach) and off its CPU:
    // its trap frame, saved registers and syscall number stay put until we
    // resume it.
    let frame = unsafe { crate::fork::task_pt_regs(t) };
    let n = (len as usize).min(size);
    if !set {
        match note {
            nt::NT_PRSTATUS => {
                for (i, r) in frame.regs.iter().enumerate() {
                    buf[8 * i..8 * i + 8].copy_from_slice(&r.to_le_bytes());
                }
                buf[248..256].copy_from_slice(&frame.sp_el0.to_le_bytes());
                buf[256..264].copy_from_slice(&frame.elr.to_le_bytes());
                buf[264..272].copy_from_slice(&frame.spsr.to_le_bytes());
            }
            nt::NT_PRFPREG => {
                // SAFETY: saved by the context switch, which is done.
                let fp = unsafe { &*t.fpsimd.get() };
                for (i, v) in fp.vregs.iter().enumerate() {
                    buf[16 * i..16 * i + 16].copy_from_slice(&v.to_le_bytes());
                }
                buf[512..516].copy_from_slice(&fp.fpsr.to_le_bytes());
                buf[516..520].copy_from_slice(&fp.fpcr.to_le_bytes());
            }
            nt::NT_ARM_TLS => {
                // SAFETY: as above.
                let tls = unsafe { (*t.thread.get()).tpidr_el0 };
                buf[..8].copy_from_slice(&tls.to_le_bytes());
            }
            _ => {
                // SAFETY: as above.
                let nr = unsafe { (*t.user_regs.get()).syscallno } as i32;
                buf[..4].copy_from_slice(&nr.to_le_bytes());
            }
        }
        copy_to_user(base, &buf[..n])?;
        put_user_u64(data + 8, n as u64)?;
        return Ok(0);
    }
    // Writes take whole registers only, as Linux's regset `set` handlers do.
    copy_from_user(&mut buf[..n], base)?;
    let get = |off: usize| u64::from_le_bytes(buf[off..off + 8].try_into().unwrap());
    match note {
        nt::NT_PRSTATUS => {
            for i in 0..31 {
                if 8 * i + 8 <= n {
                    frame.regs[i] = get(8 * i);
                }
            }
            if n >= 256 {
                frame.sp_el0 = get(248);
            }
            if n >= 264 {
                frame.elr = get(256);
            }
            if n >= 272 {
                // Only the condition flags: the tracee returns to EL0 in
                // AArch64 with interrupts unmasked, whatever is asked.
                frame.spsr = (frame.spsr & !0xf000_0000) | (get(264) & 0xf000_0000);
            }
        }
        nt::NT_PRFPREG => {
            if n < 528 {
                return Err(Errno::EINVAL);
            }
            // SAFETY: off its CPU; loaded at its next switch in.
            let fp = unsafe { &mut *t.fpsimd.get() };
            for (i, v) in fp.vregs.iter_mut().enumerate() {
                *v = u128::from_le_bytes(buf[16 * i..16 * i + 16].try_into().unwrap());
            }
            fp.fpsr = u32::from_le_bytes(buf[512..516].try_into().unwrap());
            fp.fpcr = u32::from_le_bytes(buf[516..520].try_into().unwrap());
        }
        nt::NT_ARM_TLS => {
            if n < 8 {
                return Err(Errno::EINVAL);
            }
            // SAFETY: as above.
            unsafe { (*t.thread.get()).tpidr_el0 = get(0) };
        }
        _ => {
            if n < 4 {
                return Err(Errno::EINVAL);
            }
            let nr = i32::from_le_bytes(buf[..4].try_into().unwrap());
            // -1 skips the call (NO_SYSCALL); others run instead.
            // SAFETY: as above.
            unsafe { (*t.user_regs.get()).syscallno = nr as i64 as u64 };
        }
    }
    put_user_u64(data + 8, n as u64)?;
    Ok(0)
}
