//! Kernel threads (Linux: kernel/kthread.c): `kthreadd` (PID 2) creates every
//! kernel thread on request; `kthread_create` returns a thread that has not
//! run its function yet, `kthread_run` also wakes it, `kthread_bind` pins it
//! to a CPU before it runs, `kthread_should_stop` / `kthread_stop` end it and
//! collect its result.
//!
//! Children of kthreadd are released as soon as they exit (kthreadd, like
//! Linux's, ignores SIGCHLD); `kthread_stop` keeps its own reference so it can
//! read the result after that.

use crate::errno::Errno;
use crate::fork::{copy_process, CloneArgs};
use crate::sched::core::{bind_new_task, schedule, wake_up_new_task, wake_up_process};
use crate::sched::task::{current, set_current_state, state, KthreadInfo, TaskRef};
use crate::sched::wait::{Completion, WaitQueueHead};
use crate::sync::IrqSpinLock;
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::String;
use core::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// A request to kthreadd, on the requester's stack while it waits.
struct CreateRequest {
    threadfn: fn(usize) -> i32,
    data: usize,
    name: String,
    result: IrqSpinLock<Option<Result<TaskRef, Errno>>>,
    done: Completion,
}

/// Requests waiting for kthreadd (Linux: `kthread_create_list`).
static CREATE_LIST: IrqSpinLock<VecDeque<usize>> = IrqSpinLock::new(VecDeque::new());
static KTHREADD_WAIT: WaitQueueHead = WaitQueueHead::new();

/// kthreadd's main loop (PID 2): create the threads asked for.
pub extern "C" fn kthreadd(_: usize) -> i32 {
    loop {
        let _ = KTHREADD_WAIT.wait_event(state::TASK_INTERRUPTIBLE, || !CREATE_LIST.lock().is_empty());
        while let Some(addr) = CREATE_LIST.lock().pop_front() {
            // SAFETY: the requester keeps the request alive until `done`.
            let req = unsafe { &*(addr as *const CreateRequest) };
            create_kthread(req);
        }
    }
}

/// kthreadd's half of a creation: fork the thread (as kthreadd's child).
fn create_kthread(req: &CreateRequest) {
    let args = CloneArgs { clone_parent: false, exit_signal: -1, nokill: false };
    let result = copy_process(kthread, req as *const CreateRequest as usize, &req.name, args);
    match result {
        Ok(task) => {
            let info = KthreadInfo {
                should_stop: AtomicBool::new(false),
                exited: Completion::new(),
                result: AtomicI32::new(0),
            };
            // SAFETY: the new task has not run; nothing else reads its kthread field yet.
            unsafe { *task.kthread.get() = Some(Box::new(info)) };
            // Let it run up to its first sleep in `kthread`; it signals `done`.
            wake_up_new_task(task);
        }
        Err(e) => {
            *req.result.lock() = Some(Err(e));
            req.done.complete();
        }
    }
}

/// First code of every kernel thread from kthread_create (Linux: `kthread`).
extern "C" fn kthread(req_addr: usize) -> i32 {
    let (threadfn, data) = {
        // SAFETY: the requester keeps the request alive until `done` is
        // completed, which happens below, after the last access.
        let req = unsafe { &*(req_addr as *const CreateRequest) };
        let me = current();
        // Not running yet, as promised: sleep until kthread_run or
        // kthread_stop wakes us. The state is set before `done`, so a
        // wake-up right after it is not lost.
        set_current_state(state::TASK_UNINTERRUPTIBLE);
        *req.result.lock() = Some(Ok(me.get()));
        let f = (req.threadfn, req.data);
        req.done.complete();
        f
    };
    schedule();
    let me = current();
    let info = me.kthread_info().expect("set by kthreadd before the first run");
    // Stopped before it ever ran: the function is not called (Linux: -EINTR).
    let ret = if info.should_stop.load(Ordering::Acquire) { -(Errno::EINTR as i32) } else { threadfn(data) };
    info.result.store(ret, Ordering::Relaxed);
    ret
}

/// Creates a kernel thread that will run `threadfn(data)` once woken (Linux:
/// `kthread_create`). The returned reference is the caller's: give it back
/// with `put()` (kthread_stop does).
///
/// Requests queue up until kthreadd runs, so this may be called as soon as
/// kthreadd has been created (init waits for that, as in Linux).
pub fn kthread_create(threadfn: fn(usize) -> i32, data: usize, name: &str) -> Result<TaskRef, Errno> {
    let req = CreateRequest {
        threadfn,
        data,
        name: String::from(name),
        result: IrqSpinLock::new(None),
        done: Completion::new(),
    };
    CREATE_LIST.lock().push_back(&req as *const CreateRequest as usize);
    KTHREADD_WAIT.wake_up();
    req.done.wait_for_completion();
    let result = req.result.lock().take();
    result.unwrap_or(Err(Errno::EAGAIN))
}

/// Creates and wakes a kernel thread (Linux: `kthread_run`).
pub fn kthread_run(threadfn: fn(usize) -> i32, data: usize, name: &str) -> Result<TaskRef, Errno> {
    let task = kthread_create(threadfn, data, name)?;
    wake_up_process(task);
    Ok(task)
}

/// Pins a kernel thread that has not run its function yet to `cpu` (Linux:
/// `kthread_bind`).
pub fn kthread_bind(task: TaskRef, cpu: usize) {
    // Wait until it sleeps in `kthread` (off every CPU), as Linux's
    // wait_task_inactive does.
    while task.on_cpu.load(Ordering::Acquire) || task.on_rq.load(Ordering::Acquire) {
        crate::arch::cpu::cpu_relax();
    }
    bind_new_task(task, cpu);
}

/// Whether the current kernel thread has been asked to stop (Linux:
/// `kthread_should_stop`).
pub fn kthread_should_stop() -> bool {
    current().kthread_info().is_some_and(|k| k.should_stop.load(Ordering::Acquire))
}

/// Asks `task` to stop, wakes it, waits for it to exit and returns its exit
/// value; drops the caller's reference (Linux: `kthread_stop`).
pub fn kthread_stop(task: TaskRef) -> i32 {
    let Some(info) = task.kthread_info() else {
        task.put();
        return -(Errno::EINVAL as i32);
    };
    info.should_stop.store(true, Ordering::Release);
    wake_up_process(task);
    info.exited.wait_for_completion();
    let result = info.result.load(Ordering::Relaxed);
    task.put();
    result
}
