//! The out-of-memory killer (Linux: mm/oom_kill.c).
//!
//! When a page fault or an allocation that may sleep finds no free frame
//! above its watermark (mm/phys.rs), the kernel first gives back what it
//! caches (empty slabs, the magazines, cached kernel stacks: fork.rs
//! `shrink_caches`), then picks the process whose death frees the most
//! memory ([`oom_badness`]: resident pages plus page-table pages, moved by
//! `/proc/<pid>/oom_score_adj`), sends it SIGKILL, lets its threads use the
//! reserve so that nothing stops them from exiting, and waits a little for
//! its memory before the caller tries again. While a victim is still alive
//! no second one is chosen (Linux: `oom_evaluate_task` aborting on a
//! victim), unless it has not gone within [`VICTIM_GRACE_NS`].
//!
//! init, kernel threads and processes with `oom_score_adj` -1000 are never
//! chosen. Where Linux panics because nothing is left to kill, this kernel
//! reports the failure to the caller (ENOMEM, or a fault retried later).
//!
//! Departures from Linux: no oom_reaper (the victim frees its own memory as
//! it exits, helped by the reserve), no memory cgroups or cpusets, and
//! other processes sharing the victim's address space (a vfork child) are
//! not killed with it. Swap does not exist, so badness has no swap term.
//!
//! Locking: the killer runs only in a context that may sleep (IRQs on, no
//! spinlock held); one caller at a time chooses (`OOM_LOCK`, a try-lock: the
//! others sleep a tick and retry, as Linux's `oom_lock` users do). The scan
//! takes TASKLIST, then each task's `mm` pointer lock inside it.

use crate::sched::task::{can_sleep, current, exit_state, find_task_by_pid, for_each_process, pf, TaskRef};
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};

/// `oom_score_adj` bounds (Linux: OOM_SCORE_ADJ_MIN/MAX); MIN exempts.
pub const OOM_SCORE_ADJ_MIN: i32 = -1000;
pub const OOM_SCORE_ADJ_MAX: i32 = 1000;

/// How long a victim may take to exit before another one is chosen.
pub const VICTIM_GRACE_NS: u64 = 2_000_000_000;

/// One chooser at a time (Linux: `oom_lock`).
static OOM_LOCK: AtomicBool = AtomicBool::new(false);
/// The last victim: its TGID, start time and when it was killed.
static VICTIM_TGID: AtomicI32 = AtomicI32::new(0);
static VICTIM_START: AtomicU64 = AtomicU64::new(0);
static VICTIM_KILLED_AT: AtomicU64 = AtomicU64::new(0);
/// Processes killed so far (`/proc/vmstat`'s `oom_kill`).
pub static OOM_KILLS: AtomicU64 = AtomicU64::new(0);

/// Whether the current task may take frames from the reserve: it is exiting
/// or the OOM killer's victim (Linux: `oom_reserves_allowed`), or a kernel
/// thread, which the kernel's own progress depends on.
pub fn may_use_reserves() -> bool {
    let t = current();
    t.has_flag(pf::PF_EXITING) || t.has_flag(pf::PF_MEMALLOC) || t.has_flag(pf::PF_KTHREAD)
}

/// The memory a process holds, in pages: (resident, page tables).
fn footprint(t: TaskRef) -> Option<(u64, u64)> {
    let guard = t.mm.lock();
    let mm = guard.as_ref()?;
    Some((mm.rss.load(Ordering::Relaxed), mm.pgtables.load(Ordering::Relaxed)))
}

/// Pages of RAM the badness is measured against (Linux: `totalpages`).
fn total_pages() -> i64 {
    crate::mm::phys::stats().total.max(1) as i64
}

/// How much killing `t` would free, or `None` when it must not be killed
/// (Linux: `oom_badness`): resident pages plus page-table pages, plus
/// `oom_score_adj` thousandths of RAM. `t` is a thread-group leader.
pub fn oom_badness(t: TaskRef, total: i64) -> Option<i64> {
    if t.tgid() == crate::exit::INIT_PID || t.has_flag(pf::PF_KTHREAD) || !t.is_user() {
        return None;
    }
    let adj = t.signal_struct().map_or(0, |s| s.oom_score_adj.load(Ordering::Relaxed));
    if adj == OOM_SCORE_ADJ_MIN {
        return None;
    }
    let (rss, pgtables) = footprint(t)?;
    Some(rss as i64 + pgtables as i64 + adj as i64 * (total / 1000))
}

/// `/proc/<pid>/oom_score`: the badness scaled to 0..2000 as Linux reports
/// it (`proc_oom_score`); 0 for a process that is never chosen.
pub fn oom_score(t: TaskRef) -> u64 {
    let total = total_pages();
    match oom_badness(t, total) {
        Some(points) => ((1000 + points * 1000 / total) * 2 / 3).max(0) as u64,
        None => 0,
    }
}

/// Whether the last victim is still alive and within its grace time.
fn victim_pending() -> bool {
    let tgid = VICTIM_TGID.load(Ordering::Acquire);
    if tgid == 0 {
        return false;
    }
    if crate::time::uptime_ns() > VICTIM_KILLED_AT.load(Ordering::Relaxed) + VICTIM_GRACE_NS {
        return false;
    }
    let Some(t) = find_task_by_pid(tgid as u32) else { return false };
    let alive = t.start_time.load(Ordering::Relaxed) == VICTIM_START.load(Ordering::Relaxed)
        && t.exit_state.load(Ordering::Relaxed) & (exit_state::EXIT_ZOMBIE | exit_state::EXIT_DEAD) == 0
        && t.mm.lock().is_some();
    t.put();
    alive
}

/// Chooses the process with the highest badness, with a reference taken
/// (Linux: `select_bad_process`). Exiting processes are passed over: their
/// memory is on its way back.
fn select_bad_process() -> Option<(TaskRef, i64)> {
    let total = total_pages();
    let mut chosen: Option<(TaskRef, i64)> = None;
    for_each_process(|t| {
        if t.pid() != t.tgid() || t.has_flag(pf::PF_EXITING) || t.exit_state.load(Ordering::Relaxed) != 0 {
            return;
        }
        if let Some(points) = oom_badness(t, total) {
            if chosen.as_ref().is_none_or(|&(_, best)| points > best) {
                if let Some((old, _)) = chosen.take() {
                    old.put();
                }
                chosen = Some((t.get(), points));
            }
        }
    });
    chosen
}

/// Kills `victim`'s thread group and lets its threads use the reserve
/// (Linux: `oom_kill_process`, `__oom_kill_process`, `mark_oom_victim`).
fn oom_kill_process(victim: TaskRef) {
    let (rss, pgtables) = footprint(victim).unwrap_or((0, 0));
    let total_vm = victim.mm().map_or(0, |mm| mm.total_vm());
    let adj = victim.signal_struct().map_or(0, |s| s.oom_score_adj.load(Ordering::Relaxed));
    let kb = (crate::mm::frame::PAGE_SIZE / 1024) as u64;
    log::error!(
        "Out of memory: Killed process {} ({}) total-vm:{}kB, anon-rss:{}kB, file-rss:0kB, shmem-rss:0kB, \
         UID:0 pgtables:{}kB oom_score_adj:{}",
        victim.tgid(),
        victim.comm().as_str(),
        total_vm / 1024,
        rss * kb,
        pgtables * kb,
        adj
    );
    VICTIM_START.store(victim.start_time.load(Ordering::Relaxed), Ordering::Relaxed);
    VICTIM_KILLED_AT.store(crate::time::uptime_ns(), Ordering::Relaxed);
    VICTIM_TGID.store(victim.tgid() as i32, Ordering::Release);
    crate::signal::for_each_thread(victim, |th| {
        th.flags.fetch_or(pf::PF_MEMALLOC, Ordering::SeqCst);
    });
    let _ = crate::signal::send_signal(victim, crate::signal::SigInfo::kernel(crate::signal::SIGKILL), true);
    OOM_KILLS.fetch_add(1, Ordering::Relaxed);
}

/// Makes room after an allocation failed (Linux: `out_of_memory`): gives
/// back the kernel's caches, else kills the worst process, then waits a
/// little for memory to come back. Returns whether the caller should try
/// again (false: nothing is left to kill). Must be called where sleeping
/// is allowed; does not allocate.
pub fn out_of_memory() -> bool {
    if !can_sleep() {
        return false;
    }
    let me = current();
    if me.has_flag(pf::PF_MEMALLOC) || crate::signal::fatal_signal_pending(me) {
        // Already dying: the caller fails, and the task exits with what
        // the reserve gives it.
        return false;
    }
    if OOM_LOCK.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
        // Someone else is choosing: wait for the outcome.
        crate::sched::core::msleep(10);
        return true;
    }
    let progress = if victim_pending() {
        true
    } else {
        let before = crate::mm::phys::stats().free;
        let freed = crate::fork::shrink_caches();
        if freed > 0 && before + freed > crate::mm::phys::reserve_pages() + 64 {
            true
        } else if let Some((victim, _)) = select_bad_process() {
            oom_kill_process(victim);
            victim.put();
            true
        } else {
            // Linux panics here; this kernel fails the allocation instead.
            // Said once a second at most: a faulting task retries.
            static LAST_SAID: AtomicU64 = AtomicU64::new(0);
            let now = crate::time::uptime_ns();
            let last = LAST_SAID.load(Ordering::Relaxed);
            if last == 0 || now > last + 1_000_000_000 {
                LAST_SAID.store(now, Ordering::Relaxed);
                log::error!("Out of memory and no killable processes...");
            }
            false
        }
    };
    OOM_LOCK.store(false, Ordering::Release);
    if progress {
        // Let the victim run to its exit (Linux: schedule_timeout_killable(1)).
        crate::sched::core::msleep(10);
    }
    progress
}

/// Retries `attempt` after each OOM kill until it succeeds, the killer has
/// nothing left to kill, the caller is itself killed, or the context may
/// not sleep (Linux's allocator slow path for orders too small to fail).
pub fn retry_on_oom<T>(mut attempt: impl FnMut() -> Option<T>) -> Option<T> {
    // Bounded: a victim that cannot exit must not hold a caller forever.
    for _ in 0..1000 {
        if let Some(v) = attempt() {
            return Some(v);
        }
        if !out_of_memory() {
            return None;
        }
    }
    attempt()
}

/// A user page fault found no memory (Linux: `pagefault_out_of_memory`):
/// the OOM killer makes room and the faulting instruction runs again. The
/// faulting task itself may be the victim; then its SIGKILL ends it on the
/// way back to user mode.
pub fn pagefault_out_of_memory() {
    let me = current();
    if !out_of_memory() && !me.has_flag(pf::PF_MEMALLOC) && !crate::signal::fatal_signal_pending(me) {
        // Nothing to kill but the faulting task (init, or everything left
        // is exempt): give the others time, then fault again.
        crate::sched::core::msleep(10);
    }
}
