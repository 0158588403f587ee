//! Attributes of a task and of a process that `prctl` sets and the process
//! tree reads (Linux: the `task_struct` fields `pdeath_signal`,
//! `timer_slack_ns`, `default_timer_slack_ns`, the `no_new_privs` atomic
//! flag, and the `signal_struct` fields `is_child_subreaper`,
//! `has_child_subreaper`; the dumpable bits of `mm->flags`).
//!
//! Kept apart from task.rs and signal.rs so each is one field there. All
//! fields are atomics: each is written by its own task (or at fork, before
//! the new task is visible) and read by anyone.
//!
//! Departure from Linux: the dumpable mode lives with the process's
//! `signal_struct`, not its `mm`. Both are per process and both are reset
//! by exec; this kernel writes no core dumps, so only `PR_GET_DUMPABLE` and
//! `/proc` reads see it.

use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, Ordering};

/// Linux's default timer slack, ns (`init_task.timer_slack_ns`).
pub const DEFAULT_TIMER_SLACK_NS: u64 = 50_000;

/// `PR_SET_DUMPABLE` values (Linux: `SUID_DUMP_DISABLE`, `SUID_DUMP_USER`).
pub const SUID_DUMP_DISABLE: u32 = 0;
pub const SUID_DUMP_USER: u32 = 1;

/// Per-task attributes.
pub struct TaskPrctl {
    /// Sent to this task when its parent thread exits (0: none).
    pub pdeath_signal: AtomicI32,
    /// Set once, never cleared; inherited by fork and kept by exec.
    pub no_new_privs: AtomicBool,
    /// The slack timers of this task may take, ns.
    pub timer_slack_ns: AtomicU64,
    /// What `PR_SET_TIMERSLACK` with 0 goes back to: the parent's slack at fork.
    pub default_timer_slack_ns: AtomicU64,
}

impl TaskPrctl {
    /// The values of `init_task`.
    pub const fn new() -> Self {
        TaskPrctl {
            pdeath_signal: AtomicI32::new(0),
            no_new_privs: AtomicBool::new(false),
            timer_slack_ns: AtomicU64::new(DEFAULT_TIMER_SLACK_NS),
            default_timer_slack_ns: AtomicU64::new(DEFAULT_TIMER_SLACK_NS),
        }
    }

    /// A new task's values, from its creator's (Linux: `dup_task_struct`
    /// copies, `copy_process` resets `pdeath_signal` and takes the creator's
    /// current slack as the child's default).
    pub fn inherit(&self, parent: &TaskPrctl) {
        self.pdeath_signal.store(0, Ordering::Relaxed);
        self.no_new_privs.store(parent.no_new_privs.load(Ordering::Relaxed), Ordering::Relaxed);
        let slack = parent.timer_slack_ns.load(Ordering::Relaxed);
        self.timer_slack_ns.store(slack, Ordering::Relaxed);
        self.default_timer_slack_ns.store(slack, Ordering::Relaxed);
    }
}

impl Default for TaskPrctl {
    fn default() -> Self {
        Self::new()
    }
}

/// Per-process attributes (shared by the threads of a group).
pub struct ProcessPrctl {
    /// `PR_SET_CHILD_SUBREAPER`: orphaned descendants come here, not to init.
    pub is_child_subreaper: AtomicBool,
    /// Some ancestor is a subreaper (Linux uses it to skip the search).
    pub has_child_subreaper: AtomicBool,
    /// `SUID_DUMP_*`.
    pub dumpable: AtomicU32,
}

impl ProcessPrctl {
    /// A first process's values.
    pub const fn new() -> Self {
        ProcessPrctl {
            is_child_subreaper: AtomicBool::new(false),
            has_child_subreaper: AtomicBool::new(false),
            dumpable: AtomicU32::new(SUID_DUMP_USER),
        }
    }

    /// A forked process's values (Linux: `copy_signal` and `dup_mm`): the
    /// subreaper role is not inherited, knowing of one above is.
    pub fn inherit(&self, parent: &ProcessPrctl) {
        let above =
            parent.has_child_subreaper.load(Ordering::Relaxed) || parent.is_child_subreaper.load(Ordering::Relaxed);
        self.has_child_subreaper.store(above, Ordering::Relaxed);
        self.dumpable.store(parent.dumpable.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    /// What exec resets (Linux: `begin_new_exec` makes an ordinary
    /// program dumpable again).
    pub fn exec(&self) {
        self.dumpable.store(SUID_DUMP_USER, Ordering::Relaxed);
    }
}

impl Default for ProcessPrctl {
    fn default() -> Self {
        Self::new()
    }
}
