//! Demo workloads of kernel threads for the `kthread` command: CPU spinners,
//! interruptible and uninterruptible sleepers, a parent that orphans its
//! children, and a create/run/stop churn that checks for leaks.

use crate::errno::Errno;
use crate::fork::{kernel_thread, CloneArgs};
use crate::kthread::{kthread_bind, kthread_create, kthread_should_stop, kthread_stop};
use crate::sched::core::{msleep, msleep_interruptible, schedule, set_user_nice, wake_up_process};
use crate::sched::task::{set_current_state, signal_pending, state, TaskRef};
use crate::sync::IrqSpinLock;
use alloc::vec::Vec;

/// Demo threads started and not yet stopped (with a reference each).
static DEMO: IrqSpinLock<Vec<TaskRef>> = IrqSpinLock::new(Vec::new());

/// The kinds of demo thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Burns CPU until stopped.
    Spin,
    /// Sleeps interruptibly; a kill ends it.
    Sleep,
    /// Sleeps uninterruptibly; a kill is ignored until it is stopped.
    DSleep,
    /// Starts three children that live 500 ms, then exits at once: the
    /// children are reparented to init, which reaps them.
    Orphan,
    /// Yields the CPU in a loop (sched_yield).
    Yield,
}

impl Kind {
    /// Parses a kind name.
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "spin" => Some(Kind::Spin),
            "sleep" => Some(Kind::Sleep),
            "dsleep" => Some(Kind::DSleep),
            "orphan" => Some(Kind::Orphan),
            "yield" => Some(Kind::Yield),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Spin => "spin",
            Kind::Sleep => "sleep",
            Kind::DSleep => "dsleep",
            Kind::Orphan => "orphan",
            Kind::Yield => "yield",
        }
    }

    fn threadfn(self) -> fn(usize) -> i32 {
        match self {
            Kind::Spin => spin,
            Kind::Sleep => sleeper,
            Kind::DSleep => dsleeper,
            Kind::Orphan => orphaner,
            Kind::Yield => yielder,
        }
    }
}

fn spin(_: usize) -> i32 {
    let mut n: u64 = 0;
    while !kthread_should_stop() {
        for _ in 0..10_000 {
            n = core::hint::black_box(n.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
    0
}

fn sleeper(_: usize) -> i32 {
    while !kthread_should_stop() {
        msleep_interruptible(50);
        if signal_pending() {
            return -(Errno::EINTR as i32);
        }
    }
    0
}

fn dsleeper(_: usize) -> i32 {
    while !kthread_should_stop() {
        msleep(50);
    }
    0
}

fn yielder(_: usize) -> i32 {
    while !kthread_should_stop() {
        crate::sched::core::yield_now();
    }
    0
}

extern "C" fn orphan_child(_: usize) -> i32 {
    msleep(500);
    0
}

fn orphaner(_: usize) -> i32 {
    let args = CloneArgs { clone_parent: false, exit_signal: crate::wstatus::SIGCHLD, nokill: false };
    for _ in 0..3 {
        if kernel_thread(orphan_child, 0, "orphan-child", args).is_err() {
            return -(Errno::EAGAIN as i32);
        }
    }
    0 // exits at once: the children are orphans now
}

/// Starts `count` threads of `kind` at `nice`, bound to `cpu` if given;
/// returns their PIDs.
pub fn start(kind: Kind, count: usize, nice: i32, cpu: Option<usize>) -> Result<Vec<u32>, Errno> {
    let mut pids = Vec::new();
    for i in 0..count {
        let name = alloc::format!("{}/{}", kind.name(), i);
        let task = kthread_create(kind.threadfn(), 0, &name)?;
        if let Some(cpu) = cpu {
            kthread_bind(task, cpu);
        }
        set_user_nice(task, nice);
        wake_up_process(task);
        pids.push(task.pid());
        DEMO.lock().push(task);
    }
    Ok(pids)
}

/// Stops demo threads: all, or the one with `pid`. Returns how many stopped.
pub fn stop(pid: Option<u32>) -> usize {
    let victims: Vec<TaskRef> = {
        let mut demo = DEMO.lock();
        let (stop, keep): (Vec<TaskRef>, Vec<TaskRef>) = demo.drain(..).partition(|t| pid.is_none_or(|p| t.pid() == p));
        *demo = keep;
        stop
    };
    let n = victims.len();
    for task in victims {
        kthread_stop(task);
    }
    n
}

fn wait_for_stop(_: usize) -> i32 {
    loop {
        set_current_state(state::TASK_INTERRUPTIBLE);
        if kthread_should_stop() || signal_pending() {
            break;
        }
        schedule();
    }
    crate::sched::task::__set_current_state(state::TASK_RUNNING);
    0
}

/// Creates, runs and stops `total` kernel threads in batches of `batch`;
/// returns the elapsed time in ns.
pub fn churn(total: usize, batch: usize) -> Result<u64, Errno> {
    let start = crate::time::uptime_ns();
    let mut done = 0;
    while done < total {
        let n = batch.min(total - done);
        let mut tasks = Vec::with_capacity(n);
        for _ in 0..n {
            match kthread_create(wait_for_stop, 0, "churn") {
                Ok(t) => {
                    wake_up_process(t);
                    tasks.push(t);
                }
                Err(e) => {
                    for t in tasks {
                        kthread_stop(t);
                    }
                    return Err(e);
                }
            }
        }
        for t in tasks {
            kthread_stop(t);
        }
        done += n;
    }
    Ok(crate::time::uptime_ns() - start)
}
