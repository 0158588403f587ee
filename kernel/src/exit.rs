//! Ending tasks (Linux: kernel/exit.c): `do_exit`, `exit_notify` with the
//! reparenting of orphans, zombies, `release_task`, and waiting for children.
//!
//! The order follows the book: mark the task PF_EXITING, release its
//! resources (kernel threads have no address space or files yet), store the
//! exit code, notify the parent and hand the children to the child reaper
//! (init), become a zombie (or, for a child nobody waits for, be released at
//! once), and schedule away for good. The task's descriptor and stack outlive
//! that last `schedule()`: the task switched to drops the final reference.

use crate::errno::Errno;
use crate::fork::PIDS;
use crate::pid::Pid;
use crate::sched::core::schedule;
use crate::sched::task::{current, exit_state, pf, state, TaskRef, TaskStruct, TASKLIST};
use crate::sched::wait::WaitQueueEntry;
use crate::util::list::ListHead;
use crate::wstatus;
use core::sync::atomic::Ordering;

/// PID of the child reaper.
pub const INIT_PID: Pid = 1;

static CHILD_REAPER: spin::Once<TaskRef> = spin::Once::new();

/// Makes `task` the reaper of orphans (init, PID 1).
pub fn set_child_reaper(task: TaskRef) {
    CHILD_REAPER.call_once(|| task);
}

/// Ends the current task with wait status `code` (Linux: `do_exit`).
pub fn do_exit(code: i32) -> ! {
    let tsk = current();
    if tsk.has_flag(pf::PF_IDLE) {
        panic!("attempted to kill the idle task");
    }
    if Some(&tsk) == CHILD_REAPER.get() {
        panic!("attempted to kill init! exit code {code:#x}");
    }
    tsk.flags.fetch_or(pf::PF_EXITING, Ordering::SeqCst);
    tsk.exit_code.store(code, Ordering::Relaxed);
    if let Some(kthread) = tsk.kthread_info() {
        kthread.exited.complete();
    }
    let autoreap = exit_notify(tsk);
    if autoreap {
        release_task(tsk);
    }
    // No preemption from here: a preempted TASK_DEAD task would stay queued,
    // yet lose the reference finish_task_switch drops for the dead (Linux:
    // do_task_dead disables preemption).
    crate::arch::cpu::local_irq_disable();
    tsk.state.store(state::TASK_DEAD, Ordering::SeqCst);
    schedule();
    unreachable!("a dead task was scheduled");
}

/// Where kernel threads go when their function returns (switch.S).
#[no_mangle]
extern "C" fn kthread_exit_from_fn(ret: i32) -> ! {
    do_exit(wstatus::exited(ret))
}

/// Hands `tsk`'s children to the child reaper and tells the parent (Linux:
/// `exit_notify`, `forget_original_parent`). Returns whether nobody will wait
/// for `tsk`, so it must be released now.
fn exit_notify(tsk: TaskRef) -> bool {
    let reaper = *CHILD_REAPER.get().expect("init exists before any task exits");
    // The wake-ups happen under TASKLIST (TASKLIST < wait-queue locks): the
    // parent cannot exit and be freed before we are done with it.
    let _guard = TASKLIST.lock();
    let (parent, autoreap, reaper_has_zombie) = {
        let mut zombie_moved = false;
        // SAFETY: the tree is only changed under TASKLIST, which we hold; all
        // linked tasks are alive while they are linked.
        unsafe {
            for link in ListHead::iter(tsk.children.get()) {
                let child = TaskRef::from_ptr(crate::container_of!(link, TaskStruct, sibling));
                ListHead::del(link);
                *child.real_parent.get() = reaper.as_ptr();
                *child.parent.get() = reaper.as_ptr();
                ListHead::add_tail(link, reaper.children.get());
                zombie_moved |= child.exit_state.load(Ordering::Relaxed) == exit_state::EXIT_ZOMBIE;
            }
            let parent = TaskRef::from_ptr(*tsk.real_parent.get());
            let autoreap = tsk.exit_signal.load(Ordering::Relaxed) < 0;
            let new_state = if autoreap { exit_state::EXIT_DEAD } else { exit_state::EXIT_ZOMBIE };
            tsk.exit_state.store(new_state, Ordering::Release);
            (parent, autoreap, zombie_moved)
        }
    };
    // The reaper may already sleep in wait4 with no zombie to see: wake it.
    if reaper_has_zombie {
        reaper.wait_chldexit.wake_up();
    }
    if !autoreap {
        parent.wait_chldexit.wake_up();
    }
    autoreap
}

/// Unlinks a dead task and frees its PID; its memory goes with the last
/// reference (Linux: `release_task`).
pub fn release_task(p: TaskRef) {
    {
        let _guard = TASKLIST.lock();
        // SAFETY: under TASKLIST.
        unsafe {
            ListHead::del(p.tasks.get());
            ListHead::del(p.sibling.get());
        }
        p.exit_state.store(exit_state::EXIT_DEAD, Ordering::Release);
    }
    let _ = PIDS.lock().free(p.pid());
    p.put();
}

/// Which children a wait accepts (wait4's `pid` argument).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitFor {
    /// pid == -1: any child.
    Any,
    /// pid > 0: that child.
    Pid(Pid),
}

/// Options of [`kernel_wait4`].
pub const WNOHANG: u32 = 1;

/// Waits for a child of the current task to become a zombie, reaps it, and
/// returns its PID and wait status; `Ok(None)` with WNOHANG when none is
/// ready (Linux: `kernel_wait4`, `do_wait`). `ECHILD` when no child matches;
/// `EINTR` when a kill arrives while waiting.
pub fn kernel_wait4(which: WaitFor, options: u32) -> Result<Option<(Pid, i32)>, Errno> {
    let me = current();
    let mut entry = WaitQueueEntry::new();
    let result = loop {
        // Queue first, then look: a child exiting after the look wakes us.
        me.wait_chldexit.prepare_to_wait(&mut entry, state::TASK_INTERRUPTIBLE);
        let (found, zombie) = find_child(me, which);
        if let Some(child) = zombie {
            let status = child.exit_code.load(Ordering::Relaxed);
            let pid = child.pid();
            release_task(child);
            break Ok(Some((pid, status)));
        }
        if !found {
            break Err(Errno::ECHILD);
        }
        if options & WNOHANG != 0 {
            break Ok(None);
        }
        if crate::sched::task::signal_pending() {
            break Err(Errno::EINTR);
        }
        schedule();
    };
    me.wait_chldexit.finish_wait(&mut entry);
    result
}

/// (any child matches, a matching zombie).
fn find_child(me: TaskRef, which: WaitFor) -> (bool, Option<TaskRef>) {
    let _guard = TASKLIST.lock();
    let mut found = false;
    // SAFETY: under TASKLIST.
    unsafe {
        for link in ListHead::iter(me.children.get()) {
            let child = TaskRef::from_ptr(crate::container_of!(link, TaskStruct, sibling));
            if which != WaitFor::Any && which != WaitFor::Pid(child.pid()) {
                continue;
            }
            found = true;
            if child.exit_state.load(Ordering::Acquire) == exit_state::EXIT_ZOMBIE {
                return (true, Some(child));
            }
        }
    }
    (found, None)
}

/// Whether the current task has children (for init's idle wait).
pub fn has_children() -> bool {
    let _guard = TASKLIST.lock();
    // SAFETY: under TASKLIST.
    unsafe { !ListHead::is_empty(current().children.get()) }
}

/// Sends this kernel's stand-in for SIGKILL (Linux: `kill_pid_info`): sets
/// the task's pending kill and wakes it from an interruptible sleep only.
/// EPERM for tasks the system cannot lose, ESRCH for unknown or dead PIDs.
pub fn kill_pid(pid: Pid) -> Result<(), Errno> {
    let p = crate::sched::task::find_task_by_pid(pid).ok_or(Errno::ESRCH)?;
    let result = if p.has_flag(pf::PF_NOKILL) {
        Err(Errno::EPERM)
    } else if p.exit_state.load(Ordering::Relaxed) != 0 {
        Err(Errno::ESRCH)
    } else {
        p.sigkill.store(true, Ordering::Release);
        crate::sched::core::try_to_wake_up(p, state::TASK_INTERRUPTIBLE);
        Ok(())
    };
    p.put();
    result
}
