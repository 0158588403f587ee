//! Ending tasks (Linux: kernel/exit.c): `do_exit`, `exit_notify` with the
//! reparenting of orphans, zombies, `release_task`, and waiting for children.
//!
//! The order follows the book: mark the task PF_EXITING, store the exit
//! code, release its resources (address space, files, fs), hand the
//! children to a new reaper (another thread of the group, else the nearest
//! ancestor that is a child subreaper, else init), send the children's
//! parent-death signals, and notify the parent (SIGCHLD), become a zombie (or, for a child nobody
//! waits for, be released at once), and schedule away for good. The task's descriptor and stack outlive
//! that last `schedule()`: the task switched to drops the final reference.

use crate::errno::Errno;
use crate::fork::PIDS;
use crate::pid::Pid;
use crate::sched::core::schedule;
use crate::sched::task::{current, exit_state, for_each_process_locked, pf, state, TaskRef, TaskStruct, TASKLIST};
use crate::sched::wait::WaitQueueEntry;
use crate::util::list::ListHead;
use crate::wstatus;
use core::sync::atomic::Ordering;

const SIGCHLD_SIG: i32 = crate::signal::SIGCHLD;

/// A zombie the tracer let go is its real parent's now: SIGCHLD (its
/// exit signal) and a wake-up, or, if that parent ignores SIGCHLD, nobody
/// waits for it: returns true, and the caller releases it once TASKLIST
/// is dropped (Linux: `do_notify_parent` from `__ptrace_detach`). Under
/// TASKLIST, after the ptrace link is gone.
pub fn notify_real_parent_locked(t: TaskRef) -> bool {
    if t.group_leader() != t || t.signal_struct().is_some_and(|s| s.live.load(Ordering::Relaxed) != 0) {
        return false;
    }
    if parent_ignores_sigchld(t) || t.exit_signal.load(Ordering::Relaxed) < 0 {
        t.exit_state.store(exit_state::EXIT_DEAD, Ordering::Release);
        return true;
    }
    // SAFETY: under TASKLIST (caller); the parent outlives the link.
    let parent = unsafe { TaskRef::from_ptr(*t.real_parent.get()) };
    let sig = t.exit_signal.load(Ordering::Relaxed);
    if sig > 0 {
        let _ = crate::signal::send_signal_tasklist_held(parent, sigchld_info(sig, t.tgid(), process_status(t)));
    }
    // Every thread of the parent may wait (wake_waiters, with TASKLIST held).
    let tgid = parent.tgid();
    // SAFETY: under TASKLIST (caller).
    unsafe {
        for_each_process_locked(|p| {
            if p == parent || (parent.is_user() && p.tgid() == tgid && !p.has_flag(pf::PF_IDLE)) {
                p.wait_chldexit.wake_up();
            }
        })
    };
    false
}

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
    // init's death, or the death of its last thread, is fatal, as in Linux.
    let init_group_dies = tsk.tgid() == INIT_PID
        && tsk.is_user()
        && tsk.signal_struct().is_some_and(|s| s.live.load(Ordering::Relaxed) <= 1);
    if (Some(&tsk) == CHILD_REAPER.get() && !tsk.is_user()) || init_group_dies {
        panic!("attempted to kill init! exit code {code:#x}");
    }
    // PTRACE_EVENT_EXIT: the tracer sees the task before it lets go of
    // anything (Linux: ptrace_event in do_exit).
    crate::ptrace::ptrace_event(crate::ptrace::event::EXIT, code as u64);
    tsk.flags.fetch_or(pf::PF_EXITING, Ordering::SeqCst);
    tsk.exit_code.store(code, Ordering::Relaxed);
    crate::trace::sched_process_exit(tsk);
    if let Some(kthread) = tsk.kthread_info() {
        kthread.exited.complete();
    }
    // Release the resources (Linux: exit_mm, exit_sem, exit_files,
    // exit_fs). The semaphore adjustments are undone before the parent can
    // hear of the death.
    exit_mm(tsk);
    crate::ipc::sem::exit_sem(tsk);
    let files = tsk.files.lock().take();
    drop(files);
    let fs = tsk.fs.lock().take();
    drop(fs);
    let tgid = tsk.tgid();
    // A session leader's death hangs up its terminal, before its parent can
    // hear of it and start the next session (Linux: disassociate_ctty in
    // do_exit). Two last threads dying at once may both skip it: the
    // terminal then treats a session with no live task as gone.
    let last_thread = tsk.signal_struct().is_some_and(|s| s.live.load(Ordering::SeqCst) == 1);
    if tsk.is_user() && last_thread && tsk.session() == tgid {
        crate::fs::tty::disassociate_ctty(tgid);
    }
    let (autoreap, group_dead) = exit_notify(tsk);
    if group_dead {
        // The process has exited: its pidfds become readable.
        crate::pidfd::do_notify_pidfd();
    }
    if group_dead && tsk.is_user() {
        crate::itimer::exit_itimers(tgid);
        if let Some(s) = tsk.signal_struct() {
            crate::posix_timers::exit_itimers(&s);
        }
    }
    if autoreap {
        release_task(tsk);
    }
    do_task_dead()
}

/// The last `schedule()` of an exiting task (Linux: `do_task_dead`).
///
/// No preemption from here: a preempted TASK_DEAD task would stay queued,
/// yet lose the reference finish_task_switch drops for the dead (Linux
/// disables preemption). TASK_DEAD is written under `pi_lock`
/// ([`set_special_state`](crate::sched::task::set_special_state)): a waker
/// that found this task in an earlier interruptible sleep, still on its run
/// queue, writes TASK_RUNNING under that lock after its test; written
/// without the lock, TASK_DEAD could land between the waker's test and its
/// write, and the dead task would be scheduled again.
fn do_task_dead() -> ! {
    crate::arch::cpu::local_irq_disable();
    crate::sched::task::set_special_state(state::TASK_DEAD);
    schedule();
    unreachable!("a dead task was scheduled");
}

/// Lets go of the address space (Linux: `exit_mm` with `mm_release`): the
/// CLONE_CHILD_CLEARTID word is zeroed and its waiters woken (thread join),
/// a vfork parent is released, and the task moves to the reserved table
/// before its reference goes, so the tables are never freed under it.
pub fn exit_mm(tsk: TaskRef) {
    mm_release(tsk);
    if tsk.mm.lock().is_none() {
        return;
    }
    tsk.ttbr0.store(0, Ordering::Relaxed);
    crate::arch::mmu::set_ttbr0(crate::mm::mm_struct::reserved_ttbr0());
    let mm = tsk.mm.lock().take();
    drop(mm);
}

/// The parts of giving up an address space that exec shares with exit
/// (Linux: `mm_release`).
pub fn mm_release(tsk: TaskRef) {
    let tid_addr = tsk.clear_child_tid.swap(0, Ordering::Relaxed);
    if tid_addr != 0 {
        if let Some(mm) = tsk.mm() {
            // Shared with another task (ours plus the one just cloned: 2)?
            if alloc::sync::Arc::strong_count(&mm) > 2 && mm.write_user(tid_addr, &0u32.to_le_bytes()).is_ok() {
                let _ = crate::futex::futex_wake(tid_addr, 1);
            }
        }
    }
    let vfork = tsk.vfork_done.swap(core::ptr::null_mut(), Ordering::AcqRel);
    if !vfork.is_null() {
        // SAFETY: the pointer is the reference kernel_clone gave the child
        // with Arc::into_raw; the swap made it ours alone.
        let done = unsafe { alloc::sync::Arc::from_raw(vfork as *const crate::sched::wait::Completion) };
        done.complete();
    }
}

/// An exec by a thread other than the leader, once the other threads are
/// gone (de_thread): the thread takes the leader's place (Linux: the leader
/// switch in `de_thread`). It gets the process's PID and the leader's place
/// among the parent's children; the old leader, a zombie nobody can reap
/// yet (this thread is live), gets the thread's old TID and is released.
/// PIDs change only here, under TASKLIST.
pub fn exec_take_leadership(me: TaskRef) {
    let leader = me.group_leader();
    if leader == me {
        return;
    }
    let guard = TASKLIST.lock();
    if leader.exit_state.load(Ordering::Acquire) != exit_state::EXIT_ZOMBIE {
        return; // not yet through exit_notify: leave things as they are
    }
    // SAFETY: under TASKLIST, which every reader of the tree holds; the PID
    // fields are read without it only by the tasks themselves (the leader is
    // dead) and by holders of references, who see one value or the other.
    unsafe {
        core::ptr::swap(me.pid.get(), leader.pid.get());
        *me.real_parent.get() = *leader.real_parent.get();
        *me.parent.get() = *leader.parent.get();
        ListHead::del(leader.sibling.get());
        ListHead::add_tail(me.sibling.get(), (**me.real_parent.get()).children.get());
    }
    me.exit_signal.store(leader.exit_signal.swap(-1, Ordering::Relaxed), Ordering::Relaxed);
    me.start_time.store(leader.start_time.load(Ordering::Relaxed), Ordering::Relaxed);
    me.group_leader.store(me.as_ptr(), Ordering::Release);
    leader.exit_state.store(exit_state::EXIT_DEAD, Ordering::Release);
    drop(guard);
    release_task(leader);
}

/// Where kernel threads go when their function returns (switch.S).
#[no_mangle]
extern "C" fn kthread_exit_from_fn(ret: i32) -> ! {
    do_exit(wstatus::exited(ret))
}

/// A live thread of `p`'s process other than `not`: one not yet in
/// do_exit (Linux: `find_alive_thread`). Under TASKLIST.
fn find_alive_thread(p: TaskRef, not: TaskRef) -> Option<TaskRef> {
    let mut found = None;
    // SAFETY: under TASKLIST (caller).
    unsafe {
        for_each_process_locked(|t| {
            if found.is_none() && t != not && t.tgid() == p.tgid() && !t.has_flag(pf::PF_EXITING) {
                found = Some(t);
            }
        })
    };
    found
}

/// The task that inherits `tsk`'s children (Linux: `find_new_reaper`):
/// another live thread of its process; else, when some ancestor said
/// PR_SET_CHILD_SUBREAPER, a live thread of the nearest such ancestor
/// below init; else `reaper` (init). Under TASKLIST.
fn find_new_reaper(tsk: TaskRef, reaper: TaskRef) -> TaskRef {
    if !tsk.is_user() {
        return reaper;
    }
    if let Some(t) = find_alive_thread(tsk, tsk) {
        return t;
    }
    if tsk.signal_struct().is_some_and(|s| s.prctl.has_child_subreaper.load(Ordering::Relaxed)) {
        // SAFETY: under TASKLIST; a parent outlives its link to a child, and
        // every ancestor chain ends at init (PID 1) or a kernel thread.
        let mut up = unsafe { *tsk.real_parent.get() };
        while !up.is_null() {
            // SAFETY: as above.
            let ancestor = unsafe { TaskRef::from_ptr(up) };
            if ancestor == reaper || !ancestor.is_user() || ancestor.tgid() == INIT_PID {
                break;
            }
            let subreaper =
                ancestor.signal_struct().is_some_and(|s| s.prctl.is_child_subreaper.load(Ordering::Relaxed));
            if subreaper {
                if let Some(t) = find_alive_thread(ancestor, tsk) {
                    return t;
                }
            }
            // SAFETY: as above.
            up = unsafe { *ancestor.real_parent.get() };
        }
    }
    reaper
}

/// Hands `tsk`'s children to a new reaper and tells the parent (Linux:
/// `exit_notify`, `forget_original_parent`, `do_notify_parent`). A thread
/// other than the leader is released at once; the leader of a group whose
/// other threads still run becomes a zombie that its parent hears of only
/// when the last thread is gone (Linux: `delay_group_leader`), and that
/// last thread releases it if the parent ignores SIGCHLD. Returns whether
/// nobody will wait for `tsk`, so it must be released now, and whether the
/// group is dead.
///
/// The group's count of live threads drops under TASKLIST, the lock under
/// which `wait4` decides that a zombie leader can be reaped: once the count
/// is 0 the leader may be freed by its parent at any time, so the last
/// thread holds a reference to it for what it still does.
fn exit_notify(tsk: TaskRef) -> (bool, bool) {
    let reaper = *CHILD_REAPER.get().expect("init exists before any task exits");
    let guard = TASKLIST.lock();
    // Its tracees go free (or die, with PTRACE_O_EXITKILL) (Linux: exit_ptrace).
    let released_tracees = crate::ptrace::exit_ptrace(tsk);
    let group_dead = tsk.signal_struct().is_none_or(|s| s.live.fetch_sub(1, Ordering::SeqCst) == 1);
    let new_parent = find_new_reaper(tsk, reaper);
    let mut zombie_moved = false;
    let mut moved_any = false;
    // Children (and their threads) that asked for a signal when this
    // thread, their parent, goes (Linux: pdeath_signal in
    // forget_original_parent); sent once TASKLIST is dropped, since a stop
    // or continue signal takes it again.
    let mut pdeath: alloc::vec::Vec<(TaskRef, i32)> = alloc::vec::Vec::new();
    let mut note_pdeath = |t: TaskRef| {
        let sig = t.prctl.pdeath_signal.load(Ordering::Relaxed);
        if sig > 0 && pdeath.try_reserve(1).is_ok() {
            pdeath.push((t.get(), sig));
        }
    };
    // Children handed to another process (not to a thread of their own
    // parent's group) signal it with SIGCHLD from now on, whatever clone's
    // low byte said ("we don't want people slaying init"), and a zombie
    // among them is announced to it (Linux: reparent_leader).
    let other_process = new_parent.tgid() != tsk.tgid();
    // SAFETY: the tree is only changed under TASKLIST, which we hold; all
    // linked tasks are alive while they are linked.
    unsafe {
        for link in ListHead::iter(tsk.children.get()) {
            let child = TaskRef::from_ptr(crate::container_of!(link, TaskStruct, sibling));
            ListHead::del(link);
            *child.real_parent.get() = new_parent.as_ptr();
            // A child traced by someone else keeps its tracer.
            if *child.parent.get() == tsk.as_ptr() {
                *child.parent.get() = new_parent.as_ptr();
            }
            ListHead::add_tail(link, new_parent.children.get());
            moved_any = true;
            note_pdeath(child);
            let zombie = child.exit_state.load(Ordering::Relaxed) == exit_state::EXIT_ZOMBIE;
            zombie_moved |= zombie;
            if other_process {
                child.exit_signal.store(crate::signal::SIGCHLD, Ordering::Relaxed);
                let group_empty = child.signal_struct().is_none_or(|s| s.live.load(Ordering::SeqCst) == 0);
                if zombie && group_empty {
                    let info = sigchld_info(crate::signal::SIGCHLD, child.tgid(), process_status(child));
                    let _ = crate::signal::send_signal_tasklist_held(new_parent, info);
                }
            }
        }
        // The children's other threads name the same parent (a thread takes
        // its creator's): they move too, so none keeps a pointer to a task
        // that may be freed once it is reaped (Linux: for_each_thread in
        // forget_original_parent).
        if moved_any {
            let me = tsk.as_ptr();
            for_each_process_locked(|t| {
                if *t.real_parent.get() == me {
                    *t.real_parent.get() = new_parent.as_ptr();
                    if *t.parent.get() == me {
                        *t.parent.get() = new_parent.as_ptr();
                    }
                    if t.group_leader() != t {
                        note_pdeath(t);
                    }
                }
            });
        }
    }
    let leader = tsk.group_leader();
    let is_leader = leader == tsk;
    // Whom to tell: the process's parent, once the whole group is gone.
    let notify = if is_leader {
        group_dead.then_some(tsk)
    } else if group_dead && leader.exit_state.load(Ordering::Relaxed) == exit_state::EXIT_ZOMBIE {
        Some(leader.get()) // the last thread: the zombie leader can be reaped now
    } else {
        None
    };
    // The last thread of a group whose parent ignores SIGCHLD releases the
    // zombie leader itself (Linux: release_task's zap_leader).
    let zap_leader =
        !is_leader && notify.is_some() && !crate::ptrace::is_traced(leader) && parent_ignores_sigchld(leader);
    if zap_leader {
        leader.exit_state.store(exit_state::EXIT_DEAD, Ordering::Release);
    }
    let autoreap = if is_leader {
        // A tracee's tracer must see it exit (Linux: do_notify_parent).
        let parent_ignores = notify.is_some() && !crate::ptrace::is_traced(tsk) && parent_ignores_sigchld(tsk);
        let autoreap = tsk.exit_signal.load(Ordering::Relaxed) < 0 || parent_ignores;
        tsk.exit_state.store(if autoreap { exit_state::EXIT_DEAD } else { exit_state::EXIT_ZOMBIE }, Ordering::Release);
        autoreap
    } else {
        // Its CPU time stays the group's (Linux: __exit_signal).
        if let Some(s) = tsk.signal_struct() {
            s.dead_utime.fetch_add(tsk.utime_ns(), Ordering::Relaxed);
            s.dead_stime.fetch_add(tsk.stime_ns(), Ordering::Relaxed);
        }
        tsk.exit_state.store(exit_state::EXIT_DEAD, Ordering::Release);
        true
    };
    // Told: the tracer if there is one (`parent`), else the real parent.
    // SAFETY: under TASKLIST; the parent is alive while linked to a child.
    let parent = notify.map(|n| unsafe { TaskRef::from_ptr(*n.parent.get()).get() });
    // SIGCHLD goes out before TASKLIST is dropped, so the parent's wait4,
    // which looks under it, cannot reap the zombie first and then take this
    // signal for a later child's. Another exit signal (clone's low byte may
    // name any) may have job-control side effects that take TASKLIST
    // themselves: it goes out after.
    let mut late_signal = None;
    if let (Some(n), Some(parent)) = (notify, parent) {
        // A tracer that is not the parent hears SIGCHLD.
        let sig = if crate::ptrace::ptrace_reparented(n) { SIGCHLD_SIG } else { n.exit_signal.load(Ordering::Relaxed) };
        if sig > 0 && !zap_leader {
            let info = sigchld_info(sig, n.tgid(), process_status(n));
            if sig == crate::signal::SIGCHLD {
                let _ = crate::signal::send_signal_tasklist_held(parent, info);
            } else {
                late_signal = Some(info);
            }
        }
    }
    // The new parent may be a thread that exits and is freed as soon as
    // TASKLIST is dropped: hold it for the wake-up.
    let woken_reaper = zombie_moved.then(|| new_parent.get());
    drop(guard);
    for (t, sig) in pdeath {
        let info = crate::signal::SigInfo::from_user(sig, crate::signal::SI_USER);
        let _ = crate::signal::send_signal(t, info, true);
        t.put();
    }
    for t in released_tracees {
        release_task(t);
    }
    if let Some(reaper) = woken_reaper {
        wake_waiters(reaper);
        reaper.put();
    }
    if let Some(parent) = parent {
        if let Some(info) = late_signal {
            let _ = crate::signal::send_signal(parent, info, true);
        }
        wake_waiters(parent);
        parent.put();
    }
    if let Some(n) = notify.filter(|&n| n != tsk) {
        if zap_leader {
            release_task(n);
        }
        n.put(); // the reference taken above
    }
    (autoreap, group_dead)
}

/// Wakes every thread of `parent`'s process that may sleep in wait4: any
/// of them may wait for any thread's children (Linux keeps one queue per
/// process, `signal->wait_chldexit`).
pub fn wake_waiters(parent: TaskRef) {
    if parent.is_user() {
        crate::signal::for_each_thread(parent, |t| {
            t.wait_chldexit.wake_up();
        });
    } else {
        parent.wait_chldexit.wake_up();
    }
}

/// The wait status of a dead process: the group's exit code when the group
/// ended together (exit_group, a fatal signal), else the leader's own.
fn process_status(leader: TaskRef) -> i32 {
    match leader.signal_struct() {
        Some(s) if s.group_exit.load(Ordering::Relaxed) => s.group_exit_code.load(Ordering::Relaxed),
        _ => leader.exit_code.load(Ordering::Relaxed),
    }
}

/// Whether `tsk`'s parent lets its children be reaped at once (SIGCHLD
/// ignored, or SA_NOCLDWAIT). Under TASKLIST.
fn parent_ignores_sigchld(tsk: TaskRef) -> bool {
    use crate::signal::{SA_NOCLDWAIT, SIGCHLD, SIG_IGN};
    if tsk.exit_signal.load(Ordering::Relaxed) != SIGCHLD {
        return false;
    }
    // SAFETY: under TASKLIST (caller).
    let parent = unsafe { TaskRef::from_ptr(*tsk.real_parent.get()) };
    parent.sighand().is_some_and(|h| {
        let a = h.get(SIGCHLD);
        a.handler == SIG_IGN || a.flags & SA_NOCLDWAIT != 0
    })
}

/// The siginfo of a child's exit.
fn sigchld_info(sig: i32, pid: Pid, status: i32) -> crate::signal::SigInfo {
    use crate::signal::SigInfo;
    let (code, st) = wstatus::to_siginfo(status);
    SigInfo { signo: sig, code, pid: pid as i32, uid: 0, status: st, ..Default::default() }
}

/// Unlinks a dead task and frees its PID; its memory goes with the last
/// reference (Linux: `release_task`).
pub fn release_task(p: TaskRef) {
    crate::trace::sched_process_free(p);
    {
        let _guard = TASKLIST.lock();
        // SAFETY: under TASKLIST.
        unsafe {
            ListHead::del(p.tasks.get());
            ListHead::del(p.sibling.get());
        }
        p.exit_state.store(exit_state::EXIT_DEAD, Ordering::Release);
    }
    if p.is_user() {
        crate::fork::NR_USER_TASKS.fetch_sub(1, Ordering::Relaxed);
    }
    let _ = PIDS.lock().free(p.pid());
    // Its queued signals stop counting against RLIMIT_SIGPENDING now, not
    // when the last reference goes (Linux: `flush_sigqueue` in
    // `__exit_signal`); the process's, once its last thread is gone.
    p.pending.remove(!0);
    if let Some(s) = p.signal_struct() {
        if s.live.load(Ordering::SeqCst) == 0 {
            s.shared_pending.remove(!0);
        }
    }
    // Reaped: its pidfds hang up.
    crate::pidfd::do_notify_pidfd();
    p.put();
}

/// Which children a wait accepts (wait4's `pid` argument).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitFor {
    /// pid == -1: any child.
    Any,
    /// pid > 0: that child.
    Pid(Pid),
    /// pid == 0 (the caller's group) or pid < -1: children in that group.
    Pgrp(Pid),
}

/// Options of [`kernel_wait4`] (Linux's values).
pub const WNOHANG: u32 = 1;
pub const WUNTRACED: u32 = 2;
/// waitid's name for WUNTRACED.
pub const WSTOPPED: u32 = 2;
/// Report exited children (implied by wait4; waitid must ask).
pub const WEXITED: u32 = 4;
pub const WCONTINUED: u32 = 8;
/// Report without reaping or consuming the event (waitid only).
pub const WNOWAIT: u32 = 0x0100_0000;
pub const __WNOTHREAD: u32 = 0x2000_0000;
pub const __WALL: u32 = 0x4000_0000;
pub const __WCLONE: u32 = 0x8000_0000;

/// What a wait returns: the child's PID, its wait status, and its CPU time
/// (user, system) in ns.
#[derive(Clone, Copy, Debug)]
pub struct WaitResult {
    pub pid: Pid,
    pub status: i32,
    pub utime: u64,
    pub stime: u64,
}

/// Waits for a child of the current task to exit (or, with WUNTRACED /
/// WCONTINUED, to stop or continue), reaps an exited one, and returns what
/// happened; `Ok(None)` with WNOHANG when nothing is ready (Linux:
/// `kernel_wait4`). `ECHILD` when no child matches; `EINTR`
/// (ERESTARTSYS for system calls) when a signal arrives while waiting.
pub fn kernel_wait4(which: WaitFor, options: u32) -> Result<Option<WaitResult>, Errno> {
    if options & !(WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WALL | __WCLONE) != 0 {
        return Err(Errno::EINVAL);
    }
    do_wait(which, options | WEXITED)
}

/// The wait both `wait4` and `waitid` make (Linux: `do_wait`): exits are
/// reported with WEXITED, stops with WSTOPPED, continues with WCONTINUED;
/// WNOWAIT reports without reaping the child or consuming the event.
pub fn do_wait(which: WaitFor, options: u32) -> Result<Option<WaitResult>, Errno> {
    let _wchan = crate::wchan!("do_wait");
    let me = current();
    crate::trace::sched_process_wait(if let WaitFor::Pid(pid) = which { pid } else { 0 });
    let mut entry = WaitQueueEntry::new();
    let result = loop {
        // Queue first, then look: a child exiting after the look wakes us.
        me.wait_chldexit.prepare_to_wait(&mut entry, state::TASK_INTERRUPTIBLE);
        match find_child(me, which, options) {
            Found::Zombie(child) => {
                let status = process_status(child);
                // The whole group's time: its other threads have all
                // exited and added theirs to the dead totals.
                let (utime, stime) = group_times(child);
                if let (Some(mine), Some(theirs)) = (me.signal_struct(), child.signal_struct()) {
                    mine.cutime.fetch_add(utime + theirs.cutime.load(Ordering::Relaxed), Ordering::Relaxed);
                    mine.cstime.fetch_add(stime + theirs.cstime.load(Ordering::Relaxed), Ordering::Relaxed);
                }
                let pid = child.tgid();
                release_task(child);
                break Ok(Some(WaitResult { pid, status, utime, stime }));
            }
            Found::Event(result) => break Ok(Some(result)),
            Found::TracedZombie(result, release) => {
                if let Some(child) = release {
                    release_task(child);
                }
                break Ok(Some(result));
            }
            Found::Waiting => {}
            Found::None => break Err(Errno::ECHILD),
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

/// A process's CPU time (user, system) in ns: its leader's, and that of
/// its threads that have exited, which they added to the dead totals.
fn group_times(leader: TaskRef) -> (u64, u64) {
    let (mut utime, mut stime) = (leader.utime_ns(), leader.stime_ns());
    if let Some(theirs) = leader.signal_struct() {
        utime += theirs.dead_utime.load(Ordering::Relaxed);
        stime += theirs.dead_stime.load(Ordering::Relaxed);
    }
    (utime, stime)
}

enum Found {
    /// No child matches.
    None,
    /// Children match, none ready.
    Waiting,
    /// A zombie to reap.
    Zombie(TaskRef),
    /// A stop or continue to report.
    Event(WaitResult),
    /// A tracee's exit seen by its tracer, which is not its parent; to
    /// release if its parent does not wait for it.
    TracedZombie(WaitResult, Option<TaskRef>),
}

fn find_child(me: TaskRef, which: WaitFor, options: u32) -> Found {
    let _guard = TASKLIST.lock();
    let mut found = Found::None;
    // The children of every thread of the caller's group are its children
    // (Linux: do_wait walks the thread group unless __WNOTHREAD).
    let mut parents = alloc::vec![me];
    if options & __WNOTHREAD == 0 && me.is_user() {
        // SAFETY: under TASKLIST.
        unsafe {
            for_each_process_locked(|t| {
                if t != me && t.tgid() == me.tgid() {
                    parents.push(t);
                }
            })
        };
    }
    // Tracees first (Linux: ptrace_do_wait): their stops are reported
    // whatever the options, with the TID.
    let (traced, any) = crate::ptrace::wait_ptraced(&parents, options, |t| match which {
        WaitFor::Any => true,
        WaitFor::Pid(pid) => t.pid() == pid,
        WaitFor::Pgrp(pgrp) => t.pgrp() == pgrp,
    });
    match traced {
        Some(crate::ptrace::Traced::Stop(t, status)) => {
            return Found::Event(WaitResult { pid: t.pid(), status, utime: t.utime_ns(), stime: t.stime_ns() })
        }
        Some(crate::ptrace::Traced::Zombie(t)) => {
            let result =
                WaitResult { pid: t.pid(), status: process_status(t), utime: t.utime_ns(), stime: t.stime_ns() };
            crate::ptrace::detach_zombie(t);
            let release = notify_real_parent_locked(t).then_some(t);
            return Found::TracedZombie(result, release);
        }
        None if any => found = Found::Waiting,
        None => {}
    }
    for parent in parents.iter().copied() {
        // SAFETY: under TASKLIST.
        unsafe {
            for link in ListHead::iter(parent.children.get()) {
                let child = TaskRef::from_ptr(crate::container_of!(link, TaskStruct, sibling));
                let matches = match which {
                    WaitFor::Any => true,
                    WaitFor::Pid(pid) => child.pid() == pid,
                    WaitFor::Pgrp(pgrp) => child.pgrp() == pgrp,
                };
                if !matches {
                    continue;
                }
                // Claimed by another waiter or being released: not a child
                // to wait for any more (Linux: wait_consider_task).
                if child.exit_state.load(Ordering::Acquire) == exit_state::EXIT_DEAD {
                    continue;
                }
                found = Found::Waiting;
                // Traced by another: its tracer sees it first.
                let traced_by_other = crate::ptrace::ptrace_reparented(child)
                    && !parents.iter().any(|p| p.as_ptr() == *child.parent.get());
                if traced_by_other {
                    continue;
                }
                if child.exit_state.load(Ordering::Acquire) == exit_state::EXIT_ZOMBIE {
                    // A leader whose threads still run is not reapable yet;
                    // `live` only drops under TASKLIST (exit_notify).
                    if options & WEXITED == 0 {
                        continue;
                    }
                    if child.signal_struct().is_none_or(|s| s.live.load(Ordering::Relaxed) == 0) {
                        if options & WNOWAIT != 0 {
                            // Reported and left a zombie, read under
                            // TASKLIST, which its reaper needs to release it.
                            let (utime, stime) = group_times(child);
                            let status = process_status(child);
                            return Found::Event(WaitResult { pid: child.tgid(), status, utime, stime });
                        }
                        // Claimed: no other waiter can take it now (Linux:
                        // wait_task_zombie's exit_state exchange).
                        child.exit_state.store(exit_state::EXIT_DEAD, Ordering::Release);
                        return Found::Zombie(child);
                    }
                    continue;
                }
                let Some(s) = child.signal_struct() else { continue };
                // Its tracer is told of its stops (above).
                if crate::ptrace::is_traced(child) {
                    continue;
                }
                let event = s.notify.load(Ordering::Relaxed);
                let report = |status| {
                    Found::Event(WaitResult {
                        pid: child.tgid(),
                        status,
                        utime: child.utime_ns(),
                        stime: child.stime_ns(),
                    })
                };
                let consume = || {
                    if options & WNOWAIT == 0 {
                        s.notify.store(0, Ordering::Relaxed);
                    }
                };
                if options & WSTOPPED != 0
                    && event == crate::signal::notify::STOPPED
                    && s.stopped.load(Ordering::Relaxed)
                {
                    consume();
                    return report(wstatus::stopped(s.stop_signal.load(Ordering::Relaxed)));
                }
                if options & WCONTINUED != 0 && event == crate::signal::notify::CONTINUED {
                    consume();
                    return report(wstatus::CONTINUED);
                }
            }
        }
    }
    found
}

/// Whether the current task has children (for init's idle wait).
pub fn has_children() -> bool {
    let _guard = TASKLIST.lock();
    // SAFETY: under TASKLIST.
    unsafe { !ListHead::is_empty(current().children.get()) }
}

/// Sends SIGKILL to a task from the kernel console (Linux:
/// `kill_pid_info`): EPERM for tasks the system cannot lose, ESRCH for
/// unknown or dead PIDs.
pub fn kill_pid(pid: Pid) -> Result<(), Errno> {
    let p = crate::sched::task::find_task_by_pid(pid).ok_or(Errno::ESRCH)?;
    let result = if p.has_flag(pf::PF_NOKILL) || (p.tgid() == INIT_PID && p.is_user()) {
        Err(Errno::EPERM)
    } else if p.exit_state.load(Ordering::Relaxed) != 0 {
        Err(Errno::ESRCH)
    } else {
        crate::signal::send_signal(p, crate::signal::SigInfo::kernel(crate::signal::SIGKILL), p.is_user())
    };
    p.put();
    result
}
