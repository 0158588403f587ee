//! The process descriptor (Linux: `struct task_struct`, include/linux/sched.h),
//! process states, `current`, and the global task list.
//!
//! A task lives in memory from the `task_struct` slab cache (fork.rs), or in
//! a static for the per-CPU idle tasks (`init_task` is core 0's). Tasks are
//! reached through raw pointers ([`TaskRef`]), kept alive by a reference count
//! (`usage`, Linux: `get_task_struct`/`put_task_struct`).
//!
//! Locks (outer first): `TASKLIST` (the task list and the parent/children
//! tree) < wait-queue locks < a task's `pi_lock` (wake-ups) < run-queue locks
//! (core.rs; two at once in index order). Fields are documented with the lock
//! or rule that protects them.

use super::fair::SchedEntity;
use super::wait::{Completion, WaitQueueHead};
use crate::arch::fpsimd::FpState;
use crate::fs::file::{FilesStruct, FsStruct};
use crate::mm::mm_struct::{Mm, MmStruct};
use crate::mm::vmstack::KernelStack;
use crate::pid::Pid;
use crate::signal::{SigHand, SigPending, SignalStruct};
use crate::sync::IrqSpinLock;
use crate::util::list::ListHead;
use alloc::sync::Arc;
use core::cell::UnsafeCell;
use core::ptr::NonNull;
use core::sync::atomic::{fence, AtomicBool, AtomicI32, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};

/// Task states (`task_struct::state`), Linux's values.
pub mod state {
    pub const TASK_RUNNING: u32 = 0x0000;
    pub const TASK_INTERRUPTIBLE: u32 = 0x0001;
    pub const TASK_UNINTERRUPTIBLE: u32 = 0x0002;
    pub const __TASK_STOPPED: u32 = 0x0004;
    pub const __TASK_TRACED: u32 = 0x0008;
    /// Set for the last schedule() of an exiting task.
    pub const TASK_DEAD: u32 = 0x0080;
    /// With TASK_UNINTERRUPTIBLE: a fatal signal still wakes the sleeper.
    pub const TASK_WAKEKILL: u32 = 0x0100;
    /// Sleeps that only a kill cuts short (Linux: `TASK_KILLABLE`).
    pub const TASK_KILLABLE: u32 = TASK_WAKEKILL | TASK_UNINTERRUPTIBLE;
    /// Being created: not yet runnable.
    pub const TASK_NEW: u32 = 0x0800;
    /// What `wake_up_process` wakes.
    pub const TASK_NORMAL: u32 = TASK_INTERRUPTIBLE | TASK_UNINTERRUPTIBLE;
}

/// Exit states (`task_struct::exit_state`).
pub mod exit_state {
    pub const EXIT_DEAD: u32 = 0x0010;
    pub const EXIT_ZOMBIE: u32 = 0x0020;
}

/// Task flags (`task_struct::flags`), Linux's values.
/// Work flags checked on every return to user mode (Linux: `thread_info`'s
/// `TIF_*` bits and `_TIF_WORK_MASK`): while a task's word is zero, a
/// system call or interrupt returns with one load and a test
/// (arch exit_to_user_mode). A flag may be set when nothing turns out to
/// be due; the return path's slow path then clears it. Rescheduling is the
/// run queue's `need_resched`, per CPU here.
pub mod tif {
    /// A signal may be pending for the task or its group, the group may be
    /// stopping, or a sigsuspend mask waits to be put back: the slow path
    /// looks (Linux: TIF_SIGPENDING and TIF_NOTIFY_SIGNAL together).
    pub const SIGPENDING: u32 = 1 << 0;
    /// The bits that send the return to user mode down the slow path.
    pub const WORK_MASK: u32 = SIGPENDING;
}

pub mod pf {
    pub const PF_IDLE: u32 = 0x0000_0002;
    pub const PF_EXITING: u32 = 0x0000_0004;
    /// Forked and not yet exec'd (setpgid refuses such a child with EACCES
    /// only once this is clear).
    pub const PF_FORKNOEXEC: u32 = 0x0000_0040;
    pub const PF_KTHREAD: u32 = 0x0020_0000;
    /// Chosen by the OOM killer: its allocations may use the memory reserve
    /// so that it can exit (Linux: TIF_MEMDIE; mm/oom_kill.rs).
    pub const PF_MEMALLOC: u32 = 0x0000_0800;
    /// This kernel's own: signals from `kill` are refused (idle, init,
    /// kthreadd and the console shell, which the system cannot lose).
    pub const PF_NOKILL: u32 = 0x8000_0000;
}

/// Callee-saved registers of a task that is not running (Linux:
/// `struct cpu_context`); switch.S's layout.
#[repr(C)]
#[derive(Debug, Default)]
pub struct CpuContext {
    /// x19..x28.
    pub regs: [u64; 10],
    pub fp: u64,
    pub sp: u64,
    /// Where the task resumes (x30 at the switch).
    pub pc: u64,
    /// The user thread pointer (TLS), saved and restored on every switch.
    pub tpidr_el0: u64,
}

/// How to resume an interrupted sleep through `restart_syscall` (Linux:
/// `struct restart_block`, its `nanosleep` member).
#[derive(Debug, Default, Clone, Copy)]
pub struct RestartBlock {
    /// When the sleep ends (uptime, ns).
    pub deadline: u64,
    /// Where to store the time left if interrupted again (0: nowhere).
    pub rmtp: u64,
}

/// The system call a user task is in, for restarts (Linux: `orig_x0`,
/// `syscallno` in `pt_regs`).
#[derive(Debug, Default, Clone, Copy)]
pub struct UserRegs {
    pub orig_x0: u64,
    pub syscallno: u64,
    pub restart_block: RestartBlock,
}

/// Per-task state of a kernel thread (Linux: `struct kthread`).
pub struct KthreadInfo {
    pub should_stop: AtomicBool,
    /// Signalled when the thread exits (kthread_stop waits on it).
    pub exited: Completion,
    pub result: AtomicI32,
}

/// The process descriptor.
#[repr(C)]
pub struct TaskStruct {
    /// Saved registers; first, for switch.S. Written only by the task's own
    /// context switch.
    pub thread: UnsafeCell<CpuContext>,
    /// `state::*`, written by the task itself or a waker holding `pi_lock`.
    pub state: AtomicU32,
    /// `exit_state::*`, under TASKLIST.
    pub exit_state: AtomicU32,
    /// Exit code in the wait-status encoding (exit.rs).
    pub exit_code: AtomicI32,
    /// `pf::*`.
    pub flags: AtomicU32,
    /// Set at creation, then constant.
    pub pid: UnsafeCell<Pid>,
    pub tgid: UnsafeCell<Pid>,
    /// The command name, NUL-padded.
    pub comm: IrqSpinLock<[u8; 16]>,

    /// Process tree and task list: under TASKLIST.
    pub real_parent: UnsafeCell<*mut TaskStruct>,
    pub parent: UnsafeCell<*mut TaskStruct>,
    pub children: UnsafeCell<ListHead>,
    pub sibling: UnsafeCell<ListHead>,
    pub tasks: UnsafeCell<ListHead>,
    /// Signal sent to the parent at exit; -1: none, reap at once (kthreadd's
    /// children, as Linux's kthreadd ignores SIGCHLD).
    pub exit_signal: AtomicI32,

    /// The CPU whose run queue holds the task (written under that rq's lock
    /// or, for a sleeping task, under `pi_lock`).
    pub cpu: AtomicUsize,
    /// Running on a CPU now (cleared only once its context is saved).
    pub on_cpu: AtomicBool,
    /// Counted in a run queue (under that rq's lock).
    pub on_rq: AtomicBool,
    pub nice: AtomicI32,
    /// CPUs the task may run on, bit n = core n.
    pub cpus_allowed: AtomicU8,
    /// CFS state: under the lock of the rq the task is on.
    pub se: UnsafeCell<SchedEntity>,
    /// Serialises wake-ups of this task (Linux: `pi_lock`).
    pub pi_lock: IrqSpinLock<()>,
    /// Taken off a CPU its mask no longer allows by `schedule()`;
    /// finish_task_switch queues it on an allowed one.
    pub migrate_pending: AtomicBool,
    /// `se.sum_exec_runtime`, readable without the run-queue lock.
    pub sum_exec_runtime: AtomicU64,

    /// The user address space (Linux: `mm`); kernel threads have none. The
    /// lock (Linux: `task_lock`) guards the pointer, not the space.
    pub mm: IrqSpinLock<Option<Mm>>,
    /// TTBR0 this task runs with: its mm's table and ASID, or the reserved
    /// empty table (Linux keeps `active_mm`; kernel threads here borrow
    /// nothing). Written by the task itself.
    pub ttbr0: AtomicU64,
    /// User FP/SIMD registers while the task is switched out.
    pub fpsimd: UnsafeCell<FpState>,
    /// Written by the task itself on system-call entry.
    pub user_regs: UnsafeCell<UserRegs>,
    /// Open files, shared under CLONE_FILES (Linux: `files`). Replaced
    /// only by the task itself (and by fork, in a child that has not run
    /// yet), under the lock: the task reads its own without it
    /// ([`TaskStruct::own_files`]).
    pub files: IrqSpinLock<Option<Arc<FilesStruct>>>,
    /// Current directory, shared under CLONE_FS (Linux: `fs`).
    pub fs: IrqSpinLock<Option<Arc<FsStruct>>>,
    /// Signal handlers, shared under CLONE_SIGHAND (Linux: `sighand`).
    pub sighand_ptr: IrqSpinLock<Option<Arc<SigHand>>>,
    /// Thread-group state, shared under CLONE_THREAD (Linux: `signal`).
    pub signal: IrqSpinLock<Option<Arc<SignalStruct>>>,
    /// Signals sent to this thread only.
    pub pending: SigPending,
    pub blocked: AtomicU64,
    /// While `rt_sigtimedwait` sleeps with the signals it waits for
    /// unblocked: the mask it will restore, whose signals are never ignored
    /// at send time (Linux: `real_blocked`). 0 otherwise.
    pub real_blocked: AtomicU64,
    /// The mask `rt_sigsuspend` replaced, restored after the handler.
    pub saved_sigmask: AtomicU64,
    pub restore_sigmask: AtomicBool,
    /// The alternate signal stack (`sigaltstack`).
    pub sas: crate::signal::SigAltStack,
    /// [`tif`] bits: work for the way back to user mode.
    pub thread_flags: AtomicU32,
    /// CLONE_CHILD_CLEARTID: zeroed and futex-woken at exit (Linux:
    /// `clear_child_tid`).
    pub clear_child_tid: AtomicU64,
    /// Completed when a vfork child releases the parent's memory.
    pub vfork_done: core::sync::atomic::AtomicPtr<Completion>,
    /// The thread-group leader (itself for a process).
    pub group_leader: core::sync::atomic::AtomicPtr<TaskStruct>,
    /// Time spent in user mode, ns (charged by the tick).
    pub utime: AtomicU64,
    /// Kernel stack (None: the idle tasks, which run on boot stacks).
    pub stack: UnsafeCell<Option<KernelStack>>,
    pub usage: AtomicUsize,
    /// Voluntary and involuntary context switches.
    pub nvcsw: AtomicU64,
    pub nivcsw: AtomicU64,
    /// Uptime at creation, ns.
    pub start_time: AtomicU64,
    /// Where the task waits for its children (Linux: `signal->wait_chldexit`).
    pub wait_chldexit: WaitQueueHead,
    /// Kernel threads made by kthread_create: set at creation, then constant.
    pub kthread: UnsafeCell<Option<alloc::boxed::Box<KthreadInfo>>>,
    /// What `prctl` sets per task (parent-death signal, timer slack, ...).
    pub prctl: crate::prctl::TaskPrctl,
    /// System V semaphore undo list, shared under CLONE_SYSVSEM.
    pub sysvsem: crate::ipc::sem::SysvSem,
    /// Execution domain flags (Linux: `personality`), inherited at fork.
    pub personality: AtomicU32,
    /// I/O priority, class << 13 | data (Linux: `io_context->ioprio`); 0:
    /// none set, which Linux derives from the nice value.
    pub ioprio: AtomicU32,
    /// Supplementary groups (Linux: `cred->group_info`), shared with the
    /// parent until either side calls `setgroups`; None: no groups.
    pub group_info: IrqSpinLock<Option<Arc<crate::cred::GroupInfo>>>,
    /// Tracing state (ptrace.rs); the tracer is `parent`.
    pub ptrace: crate::ptrace::PtraceState,
    /// Where the task sleeps, for `/proc/<pid>/wchan`: the Linux function
    /// name of the wait it is in, set by [`Wchan::set`] around the waits
    /// (Linux finds it by walking the sleeping task's stack instead).
    pub wchan: core::sync::atomic::AtomicPtr<&'static str>,
}

// SAFETY: every field is either atomic, behind a lock, or documented as
// written only at creation or by the owning task / under a named lock.
unsafe impl Sync for TaskStruct {}
// SAFETY: as above.
unsafe impl Send for TaskStruct {}

impl TaskStruct {
    /// A task with every field at its initial value.
    pub const fn new() -> Self {
        TaskStruct {
            thread: UnsafeCell::new(CpuContext { regs: [0; 10], fp: 0, sp: 0, pc: 0, tpidr_el0: 0 }),
            state: AtomicU32::new(state::TASK_RUNNING),
            exit_state: AtomicU32::new(0),
            exit_code: AtomicI32::new(0),
            flags: AtomicU32::new(0),
            pid: UnsafeCell::new(0),
            tgid: UnsafeCell::new(0),
            comm: IrqSpinLock::new([0; 16]),
            real_parent: UnsafeCell::new(core::ptr::null_mut()),
            parent: UnsafeCell::new(core::ptr::null_mut()),
            children: UnsafeCell::new(ListHead::new()),
            sibling: UnsafeCell::new(ListHead::new()),
            tasks: UnsafeCell::new(ListHead::new()),
            exit_signal: AtomicI32::new(-1),
            cpu: AtomicUsize::new(0),
            on_cpu: AtomicBool::new(false),
            on_rq: AtomicBool::new(false),
            nice: AtomicI32::new(0),
            cpus_allowed: AtomicU8::new(0xf),
            se: UnsafeCell::new(SchedEntity::new(0)),
            pi_lock: IrqSpinLock::new(()),
            migrate_pending: AtomicBool::new(false),
            sum_exec_runtime: AtomicU64::new(0),
            mm: IrqSpinLock::new(None),
            ttbr0: AtomicU64::new(0),
            fpsimd: UnsafeCell::new(FpState::zeroed()),
            user_regs: UnsafeCell::new(UserRegs {
                orig_x0: 0,
                syscallno: 0,
                restart_block: RestartBlock { deadline: 0, rmtp: 0 },
            }),
            files: IrqSpinLock::new(None),
            fs: IrqSpinLock::new(None),
            sighand_ptr: IrqSpinLock::new(None),
            signal: IrqSpinLock::new(None),
            pending: SigPending::new(),
            blocked: AtomicU64::new(0),
            real_blocked: AtomicU64::new(0),
            saved_sigmask: AtomicU64::new(0),
            restore_sigmask: AtomicBool::new(false),
            sas: crate::signal::SigAltStack::new(),
            // A new task looks once: its group may have signals pending.
            thread_flags: AtomicU32::new(tif::SIGPENDING),
            clear_child_tid: AtomicU64::new(0),
            vfork_done: core::sync::atomic::AtomicPtr::new(core::ptr::null_mut()),
            group_leader: core::sync::atomic::AtomicPtr::new(core::ptr::null_mut()),
            utime: AtomicU64::new(0),
            stack: UnsafeCell::new(None),
            usage: AtomicUsize::new(1),
            nvcsw: AtomicU64::new(0),
            nivcsw: AtomicU64::new(0),
            start_time: AtomicU64::new(0),
            wait_chldexit: WaitQueueHead::new(),
            kthread: UnsafeCell::new(None),
            prctl: crate::prctl::TaskPrctl::new(),
            sysvsem: crate::ipc::sem::SysvSem::new(),
            personality: AtomicU32::new(0),
            ioprio: AtomicU32::new(0),
            group_info: IrqSpinLock::new(None),
            ptrace: crate::ptrace::PtraceState::new(),
            wchan: core::sync::atomic::AtomicPtr::new(core::ptr::null_mut()),
        }
    }

    /// The PID.
    pub fn pid(&self) -> Pid {
        // SAFETY: written once before the task is published.
        unsafe { *self.pid.get() }
    }

    /// The thread-group ID (the process ID user space sees).
    pub fn tgid(&self) -> Pid {
        // SAFETY: written once before the task is published.
        unsafe { *self.tgid.get() }
    }

    /// The thread-group leader (the task itself for a single-threaded
    /// process and for kernel threads).
    pub fn group_leader(&self) -> TaskRef {
        let p = self.group_leader.load(Ordering::Acquire);
        let p = if p.is_null() { self as *const TaskStruct as *mut TaskStruct } else { p };
        // SAFETY: a leader is released only once no other thread of its
        // group is live (the count drops under TASKLIST in exit_notify, where
        // `wait4` looks), and the last thread holds a reference to it for
        // what it does after that (exit.rs).
        unsafe { TaskRef::from_ptr(p) }
    }

    /// The thread group's shared state, if the task has one (user tasks).
    pub fn signal_struct(&self) -> Option<Arc<SignalStruct>> {
        self.signal.lock().clone()
    }

    /// The handler table, if the task has one (user tasks).
    pub fn sighand(&self) -> Option<Arc<SigHand>> {
        self.sighand_ptr.lock().clone()
    }

    /// [`Self::signal_struct`] for the task itself, read without the lock
    /// and without a reference of its own (Linux: `current->signal`): a
    /// task's `signal` is set by fork before the task first runs and
    /// changed after that only by the task itself (initproc), which does
    /// not while it holds this reference.
    pub fn own_signal(&self) -> Option<&SignalStruct> {
        // SAFETY: as above: no one else writes the field now.
        unsafe { self.own(&self.signal) }
    }

    /// One of the task's own shared structures (`signal`, `mm`, `files`,
    /// `sighand_ptr`), read without its lock or a reference of its own, for
    /// [`Self::own_signal`] and its siblings.
    ///
    /// # Safety
    /// `self` is the current task, and `field` one of its fields that no
    /// other task writes once the task runs, and that the task itself does
    /// not replace while the returned reference lives.
    #[inline(always)]
    unsafe fn own<'a, T>(&'a self, field: &'a IrqSpinLock<Option<Arc<T>>>) -> Option<&'a T> {
        debug_assert!(core::ptr::eq(self, current().as_ptr()), "a task's own structure read by another task");
        // SAFETY: the caller's contract: nothing writes the field while the
        // reference lives.
        unsafe { field.get_unlocked() }.as_deref()
    }

    /// [`Self::mm`] for the task itself, on the same terms as
    /// [`Self::own_signal`]: fork sets `mm`, and only the task itself
    /// replaces it after that (exec, exit_mm).
    pub fn own_mm(&self) -> Option<&MmStruct> {
        // SAFETY: as above.
        unsafe { self.own(&self.mm) }
    }

    /// The task's own fd table (`None` once exit has taken it), on the
    /// same terms as [`Self::own_signal`] (Linux: `current->files` in
    /// `fdget`): fork sets `files`, and only the task itself replaces it
    /// after that (unshare, exec, exit), never while a lookup holds this.
    pub fn own_files(&self) -> Option<&FilesStruct> {
        // SAFETY: as above.
        unsafe { self.own(&self.files) }
    }

    /// [`Self::sighand`] for the task itself, on the same terms as
    /// [`Self::own_signal`]: fork sets `sighand_ptr`, and only the task
    /// itself replaces it after that (exec, initproc).
    pub fn own_sighand(&self) -> Option<&SigHand> {
        // SAFETY: as above.
        unsafe { self.own(&self.sighand_ptr) }
    }

    /// The address space, if any.
    pub fn mm(&self) -> Option<Mm> {
        self.mm.lock().clone()
    }

    /// Whether this is a user task (not a kernel thread or an idle task).
    pub fn is_user(&self) -> bool {
        !self.has_flag(pf::PF_KTHREAD) && !self.has_flag(pf::PF_IDLE)
    }

    /// Process group (0 for kernel threads).
    pub fn pgrp(&self) -> Pid {
        self.signal_struct().map_or(0, |s| s.pgrp.load(Ordering::Relaxed))
    }

    /// Session (0 for kernel threads).
    pub fn session(&self) -> Pid {
        self.signal_struct().map_or(0, |s| s.session.load(Ordering::Relaxed))
    }
    /// Sets the command name (truncated to 15 bytes, Linux's TASK_COMM_LEN - 1).
    pub fn set_comm(&self, name: &str) {
        let mut comm = self.comm.lock();
        *comm = [0; 16];
        let n = name.len().min(15);
        comm[..n].copy_from_slice(&name.as_bytes()[..n]);
    }

    /// The command name.
    pub fn comm(&self) -> heapless_comm::Comm {
        heapless_comm::Comm(*self.comm.lock())
    }

    /// Whether `flag` (`pf::*`) is set.
    /// Sets [`tif`] bits (Linux: `set_tsk_thread_flag`). Whoever makes work
    /// for the task (queues a signal, stops its group) sets the bit after
    /// making the work visible, so the return path, which clears the bit
    /// before it looks, never misses the work.
    /// The wait channel `/proc/<pid>/wchan` shows: the name of the wait
    /// the task is asleep in, "0" while it runs or sleeps elsewhere (a
    /// departure: Linux names every sleep).
    pub fn wchan(&self) -> &'static str {
        if matches!(self.state_letter(), 'R' | 'Z' | 'X') {
            return "0";
        }
        let name = self.wchan.load(Ordering::Acquire);
        if name.is_null() {
            "0"
        } else {
            // SAFETY: only `Wchan::set` stores here, and it stores the
            // address of a `&'static str` in a static.
            unsafe { *name }
        }
    }

    pub fn set_thread_flag(&self, flag: u32) {
        self.thread_flags.fetch_or(flag, Ordering::SeqCst);
    }

    pub fn has_flag(&self, flag: u32) -> bool {
        self.flags.load(Ordering::Relaxed) & flag != 0
    }

    /// The state letter `ps` shows (R S D T t Z X, I for an idle task).
    pub fn state_letter(&self) -> char {
        let exit = self.exit_state.load(Ordering::Relaxed);
        if exit & exit_state::EXIT_ZOMBIE != 0 {
            return 'Z';
        }
        if exit & exit_state::EXIT_DEAD != 0 {
            return 'X';
        }
        match self.state.load(Ordering::Relaxed) {
            state::TASK_RUNNING if self.has_flag(pf::PF_IDLE) => 'I',
            state::TASK_RUNNING => 'R',
            s if s & state::TASK_INTERRUPTIBLE != 0 => 'S',
            s if s & state::TASK_UNINTERRUPTIBLE != 0 => 'D',
            s if s & state::__TASK_STOPPED != 0 => 'T',
            s if s & state::__TASK_TRACED != 0 => 't',
            s if s & state::TASK_DEAD != 0 => 'X',
            _ => 'D', // TASK_NEW: not yet runnable
        }
    }

    /// The kthread part, for kernel threads from kthread_create.
    pub fn kthread_info(&self) -> Option<&KthreadInfo> {
        // SAFETY: set before the task is published, never changed afterwards.
        unsafe { (*self.kthread.get()).as_deref() }
    }

    /// CPU time in user mode, ns (Linux: `utime`), sampled by the tick.
    pub fn utime_ns(&self) -> u64 {
        self.utime.load(Ordering::Relaxed).min(self.runtime_ns())
    }

    /// CPU time in kernel mode, ns (Linux: `stime`).
    pub fn stime_ns(&self) -> u64 {
        self.runtime_ns() - self.utime_ns()
    }

    /// CPU time used, ns (as of the last accounting on its CPU).
    pub fn runtime_ns(&self) -> u64 {
        self.sum_exec_runtime.load(Ordering::Relaxed)
    }
}

impl Default for TaskStruct {
    fn default() -> Self {
        Self::new()
    }
}

/// A command name for printing (no allocation).
pub mod heapless_comm {
    use core::fmt;

    /// The 16-byte, NUL-padded name.
    #[derive(Clone, Copy)]
    pub struct Comm(pub [u8; 16]);

    impl Comm {
        /// The name as text.
        pub fn as_str(&self) -> &str {
            let len = self.0.iter().position(|&b| b == 0).unwrap_or(16);
            core::str::from_utf8(&self.0[..len]).unwrap_or("?")
        }
    }

    impl fmt::Display for Comm {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.pad(self.as_str())
        }
    }
}

/// A pointer to a live task. Copying it takes no reference: holders either
/// own a count ([`TaskRef::get`]/[`TaskRef::put`]) or rely on a lock or rule
/// that keeps the task alive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskRef(pub NonNull<TaskStruct>);

// SAFETY: TaskStruct is Sync; the pointer is only dereferenced while the task
// is alive (see the type's docs).
unsafe impl Send for TaskRef {}
// SAFETY: as above.
unsafe impl Sync for TaskRef {}

impl TaskRef {
    /// From a raw task pointer.
    ///
    /// # Safety
    /// `p` must point to a live task.
    pub unsafe fn from_ptr(p: *mut TaskStruct) -> TaskRef {
        // SAFETY: caller's contract.
        TaskRef(unsafe { NonNull::new_unchecked(p) })
    }

    /// The raw pointer.
    pub fn as_ptr(self) -> *mut TaskStruct {
        self.0.as_ptr()
    }

    /// Takes a reference (Linux: `get_task_struct`).
    pub fn get(self) -> TaskRef {
        self.usage.fetch_add(1, Ordering::Relaxed);
        self
    }

    /// Drops a reference; the last one frees the task (Linux:
    /// `put_task_struct`).
    pub fn put(self) {
        if self.usage.fetch_sub(1, Ordering::Release) == 1 {
            fence(Ordering::Acquire);
            crate::fork::free_task(self);
        }
    }
}

impl core::ops::Deref for TaskRef {
    type Target = TaskStruct;
    fn deref(&self) -> &TaskStruct {
        // SAFETY: a TaskRef points to a live task (type invariant).
        unsafe { self.0.as_ref() }
    }
}

/// Whether the current context may sleep: IRQs on (no `IrqSpinLock` held,
/// not an interrupt) and not an idle task.
pub fn can_sleep() -> bool {
    !crate::arch::cpu::irqs_disabled() && !current().has_flag(pf::PF_IDLE)
}

/// The running task on this CPU (Linux: `current`), kept in TPIDR_EL1.
#[inline(always)]
pub fn current() -> TaskRef {
    let p: *mut TaskStruct;
    // SAFETY: reading TPIDR_EL1 has no side effect; init.rs sets it to the idle
    // task before anything asks, and the context switch keeps it current.
    unsafe { core::arch::asm!("mrs {}, tpidr_el1", out(reg) p, options(nomem, nostack, preserves_flags)) };
    // SAFETY: TPIDR_EL1 always holds a live task (see above).
    unsafe { TaskRef::from_ptr(p) }
}

/// Makes `task` this CPU's `current`.
///
/// # Safety
/// `task` must be the task now running on this CPU.
pub unsafe fn set_current(task: TaskRef) {
    // SAFETY: caller's contract.
    unsafe { core::arch::asm!("msr tpidr_el1, {}", in(reg) task.as_ptr(), options(nostack, preserves_flags)) };
}

/// Sets the current task's state with a full barrier after it, so the state
/// is visible before the caller tests its wait condition; with the waker
/// setting the condition before it reads the state, no wake-up is lost
/// (Linux: `set_current_state`).
pub fn set_current_state(new: u32) {
    current().state.store(new, Ordering::SeqCst);
    fence(Ordering::SeqCst);
}

/// Sets the current task's state without the barrier (Linux:
/// `__set_current_state`), for going back to running.
pub fn __set_current_state(new: u32) {
    current().state.store(new, Ordering::Relaxed);
}

/// Sets a state that a wake-up must not overwrite (Linux: `set_special_state`):
/// under `pi_lock`, which `try_to_wake_up` holds from its state test to its
/// write of TASK_RUNNING, so a waker that tested an earlier sleeping state
/// cannot turn this one back into TASK_RUNNING. Used for TASK_DEAD; sleeps in
/// a loop that retests its condition (the group stop) can do without.
pub fn set_special_state(new: u32) {
    let me = current();
    let _pi = me.pi_lock.lock();
    me.state.store(new, Ordering::SeqCst);
}

/// Sets another task's state (Linux: `set_task_state`, since removed there);
/// same ordering as [`set_current_state`].
pub fn set_task_state(task: TaskRef, new: u32) {
    task.state.store(new, Ordering::SeqCst);
    fence(Ordering::SeqCst);
}

/// Whether a signal the current task does not block is pending (Linux:
/// `signal_pending`).
///
/// The task's `tif::SIGPENDING` flag answers "no" alone, as Linux's flag
/// does: whoever queues a signal for a task or its group, or a trap, sets
/// the flag after queueing, and only the task itself clears it, on its way
/// to user mode, where it sets it again if anything at all is still queued.
/// So while the task is in the kernel a clear flag means nothing is
/// pending; a set one may be stale (a blocked signal, one another thread
/// took), and the queues decide.
pub fn signal_pending() -> bool {
    let me = current();
    me.thread_flags.load(Ordering::SeqCst) & tif::SIGPENDING != 0 && crate::signal::task_signal_pending(me)
}

/// Protects the task list and the process tree (Linux: `tasklist_lock`).
pub static TASKLIST: IrqSpinLock<()> = IrqSpinLock::new(());

/// The idle tasks, one per CPU; `IDLE_TASKS[0]` is `init_task` (PID 0, the
/// first task, whose `tasks` link heads the global task list).
pub static IDLE_TASKS: [TaskStruct; crate::config::NR_CPUS] = [const { TaskStruct::new() }; crate::config::NR_CPUS];

/// `init_task` (Linux: init/init_task.c).
pub fn init_task() -> TaskRef {
    idle_task(0)
}

/// The idle task of `cpu`.
pub fn idle_task(cpu: usize) -> TaskRef {
    // SAFETY: statics live forever.
    unsafe { TaskRef::from_ptr(&IDLE_TASKS[cpu] as *const TaskStruct as *mut TaskStruct) }
}

/// Calls `f` for every task on the task list, from `init_task`, under
/// TASKLIST (Linux: `for_each_process`). Idle tasks other than `init_task` are
/// not on the list, as in Linux.
pub fn for_each_process(f: impl FnMut(TaskRef)) {
    let _guard = TASKLIST.lock();
    // SAFETY: we hold TASKLIST.
    unsafe { for_each_process_locked(f) }
}

/// [`for_each_process`] for a caller that holds TASKLIST already.
///
/// # Safety
/// The caller must hold TASKLIST.
pub unsafe fn for_each_process_locked(mut f: impl FnMut(TaskRef)) {
    let head = init_task().tasks.get();
    f(init_task());
    // SAFETY: the list is only changed under TASKLIST, which the caller
    // holds; every entry is the `tasks` link of a live task.
    unsafe {
        for link in ListHead::iter(head) {
            f(TaskRef::from_ptr(crate::container_of!(link, TaskStruct, tasks)));
        }
    }
}

/// The task with `pid` on the task list, with a reference taken.
pub fn find_task_by_pid(pid: Pid) -> Option<TaskRef> {
    let mut found = None;
    for_each_process(|t| {
        if found.is_none() && t.pid() == pid && t.exit_state.load(Ordering::Relaxed) & exit_state::EXIT_DEAD == 0 {
            found = Some(t.get());
        }
    });
    found
}

/// Names the current task's wait for `/proc/<pid>/wchan` while it lives
/// (Linux: the function `get_wchan` finds on the sleeping task's stack);
/// the name it replaced comes back when it goes, so a stop inside a wait
/// shows the stop. Made with [`wchan!`].
pub struct Wchan(*mut &'static str);

impl Wchan {
    /// Sets the current task's wait channel to `*name` until the guard
    /// goes.
    pub fn set(name: &'static &'static str) -> Wchan {
        let new = name as *const &'static str as *mut &'static str;
        Wchan(current().wchan.swap(new, Ordering::AcqRel))
    }
}

impl Drop for Wchan {
    fn drop(&mut self) {
        current().wchan.store(self.0, Ordering::Release);
    }
}

/// `let _wchan = wchan!("pipe_read");`: the current task's waits until the
/// end of the scope show as `pipe_read` in `/proc/<pid>/wchan`.
#[macro_export]
macro_rules! wchan {
    ($name:literal) => {{
        static NAME: &str = $name;
        $crate::sched::task::Wchan::set(&NAME)
    }};
}
