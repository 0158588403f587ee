//! The core scheduler (Linux: kernel/sched/core.c): per-CPU run queues,
//! `schedule()`, wake-ups, the scheduler tick, load balancing, CPU affinity,
//! nice, yield and timed sleeps.
//!
//! Each CPU has a run queue with its own lock. `schedule()` takes the local
//! queue's lock with IRQs masked and keeps it across the context switch; the
//! task switched to releases it in [`finish_task_switch`]. Until then
//! `prev.on_cpu` stays set, so no other CPU runs `prev` (or frees it) while
//! its registers are still being saved on its stack. Wake-ups serialise on the
//! woken task's `pi_lock`, wait for `on_cpu` to clear, and pick a CPU.
//!
//! Lock order: a task's `pi_lock` < run-queue locks (two at once in CPU
//! index order); `TIMERS` < `pi_lock`.
//!
//! How `state`, `on_rq`, `on_cpu` and `pi_lock` order `try_to_wake_up`,
//! `__schedule` and `do_exit` (checked against the comments in Linux's
//! kernel/sched/core.c, "Notes on Program-Order guarantees on SMP systems"
//! and `try_to_wake_up`):
//! - `state`: a task writes its own sleeping state without a lock
//!   (`set_current_state`, a full barrier after it); a waker writes
//!   TASK_RUNNING only under the task's `pi_lock`, after testing the state
//!   under that same lock. A state a wake-up must never undo (TASK_DEAD) is
//!   written under `pi_lock` too (`set_special_state`, Linux's
//!   `do_task_dead`): the waker's test and write are then atomic with respect
//!   to it. Without that, a waker that tested an earlier interruptible sleep
//!   of a still-queued task would write TASK_RUNNING over TASK_DEAD, and the
//!   dead task would be picked again.
//! - `on_rq`: set (0 -> 1) only under `pi_lock` and the rq lock (wake-up, new
//!   task, affinity move); cleared by `__schedule` of the task itself under
//!   its rq lock, after reading `state` under that lock. The waker reads
//!   `on_rq` after `state` (an acquire load of `state`: Linux's smp_rmb
//!   "load p->on_rq after p->state"), so it cannot pair a new sleeping state
//!   with a stale `on_rq == 0` and wait for a task that is not leaving.
//! - `on_cpu`: set by the CPU that switches to the task, cleared with release
//!   order in `finish_task_switch` once its registers are saved; a waker that
//!   saw `on_rq == 0` waits (acquire) for it to clear before it queues the
//!   task elsewhere (Linux: smp_cond_load_acquire(&p->on_cpu, !VAL)).
//! - a still-queued task (`on_rq`) is woken by writing TASK_RUNNING under
//!   its rq lock, which `__schedule` holds while it decides to dequeue: the
//!   task either sees TASK_RUNNING and stays, or is dequeued first and the
//!   waker falls through to the `on_cpu` wait and queues it again.
//!
//! Policy: one fair class (fair.rs). The tick preempts a task that used its
//! slice; a wake-up preempts when the woken task is far enough behind in
//! vruntime; a CPU with nothing to run pulls work from the busiest CPU before
//! it sleeps in WFI, and every CPU balances periodically from its tick.

use super::fair::{nice_to_weight, CfsRq};
use super::task::{current, idle_task, init_task, pf, set_current, state, TaskRef, TaskStruct};
use crate::arch::cpu;
use crate::config::NR_CPUS;
use crate::irq::{self, Ipi};
use crate::sync::{IrqSpinLock, RawSpinLock};
use alloc::collections::BTreeMap;
use core::cell::UnsafeCell;
use core::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// Ticks between periodic load-balancing passes (Linux: the sched domain's
/// balance interval).
const BALANCE_INTERVAL_TICKS: u64 = 4;

/// What only the run queue's lock holder touches.
struct RqInner {
    cfs: CfsRq<TaskRef>,
    /// The running task (the idle task when nothing else runs).
    curr: Option<TaskRef>,
    idle: Option<TaskRef>,
}

/// A CPU's run queue (Linux: `struct rq`).
pub struct Rq {
    lock: RawSpinLock,
    inner: UnsafeCell<RqInner>,
    /// Set when the running task should give up the CPU (Linux:
    /// TIF_NEED_RESCHED; per CPU here, since only the running task has it).
    pub need_resched: AtomicBool,
    /// Mirrors of queue state for lock-free reading by other CPUs.
    pub nr_running: AtomicUsize,
    pub load_weight: AtomicU64,
    /// The queue's min_vruntime, for placing a task that wakes up elsewhere.
    min_vruntime: AtomicU64,
    /// Context switches on this CPU.
    pub nr_switches: AtomicU64,
    /// Tasks pulled to this CPU by load balancing or affinity changes.
    pub nr_migrations: AtomicU64,
    /// Time spent running tasks other than the idle task, ns.
    pub busy_ns: AtomicU64,
    ready: AtomicBool,
}

// SAFETY: `inner` is only touched with `lock` held (and IRQs masked).
unsafe impl Sync for Rq {}

impl Rq {
    const fn new() -> Self {
        Rq {
            lock: RawSpinLock::new(),
            inner: UnsafeCell::new(RqInner { cfs: CfsRq::new(), curr: None, idle: None }),
            need_resched: AtomicBool::new(false),
            nr_running: AtomicUsize::new(0),
            load_weight: AtomicU64::new(0),
            min_vruntime: AtomicU64::new(0),
            nr_switches: AtomicU64::new(0),
            nr_migrations: AtomicU64::new(0),
            busy_ns: AtomicU64::new(0),
            ready: AtomicBool::new(false),
        }
    }

    /// The locked state.
    ///
    /// # Safety
    /// `self.lock` must be held by the caller.
    #[allow(clippy::mut_from_ref)]
    unsafe fn inner(&self) -> &mut RqInner {
        // SAFETY: caller holds the lock, which makes the access exclusive.
        unsafe { &mut *self.inner.get() }
    }

    fn sync_mirrors(&self, inner: &RqInner) {
        self.nr_running.store(inner.cfs.nr_running as usize, Ordering::Relaxed);
        self.load_weight.store(inner.cfs.load_weight, Ordering::Relaxed);
        self.min_vruntime.store(inner.cfs.min_vruntime, Ordering::Relaxed);
    }
}

static RUNQUEUES: [Rq; NR_CPUS] = [const { Rq::new() }; NR_CPUS];

/// The run queue of `cpu`.
#[inline]
pub fn cpu_rq(cpu: usize) -> &'static Rq {
    &RUNQUEUES[cpu]
}

#[inline]
fn this_rq() -> &'static Rq {
    cpu_rq(cpu::core_id())
}

fn now() -> u64 {
    crate::time::uptime_ns()
}

/// A queued task is known to its queue's tree by its descriptor's address.
impl super::fair::EntityKey for TaskRef {
    fn to_raw(self) -> usize {
        self.as_ptr() as usize
    }

    unsafe fn from_raw(raw: usize) -> Self {
        // SAFETY: the caller's contract: `raw` is the address of a task that
        // is still queued, hence alive.
        unsafe { TaskRef::from_ptr(raw as *mut TaskStruct) }
    }
}

/// # Safety (for all helpers taking `&mut RqInner`)
/// They run with the run queue's lock held.
fn se(task: TaskRef) -> &'static mut super::fair::SchedEntity {
    // SAFETY: callers hold the lock of the rq the task is on (or own the task
    // exclusively while it is on none); see TaskStruct::se.
    unsafe { &mut *task.se.get() }
}

/// Charges the running task for the time since it was last charged (Linux:
/// `update_curr`).
fn update_curr(rq: &Rq, inner: &mut RqInner) {
    update_curr_at(rq, inner, now());
}

/// [`update_curr`] up to `clock`, a reading of [`now`] that the caller
/// uses again (Linux: `rq_clock`, read once per `__schedule`).
fn update_curr_at(rq: &Rq, inner: &mut RqInner, clock: u64) {
    let Some(curr) = inner.curr else { return };
    if Some(curr) == inner.idle {
        return;
    }
    let delta = se(curr).account(clock);
    curr.sum_exec_runtime.store(se(curr).sum_exec_runtime, Ordering::Relaxed);
    rq.busy_ns.fetch_add(delta, Ordering::Relaxed);
    inner.cfs.update_min_vruntime(Some(se(curr)));
    rq.min_vruntime.store(inner.cfs.min_vruntime, Ordering::Relaxed);
}

fn enqueue_task(rq: &Rq, inner: &mut RqInner, p: TaskRef, new: bool) {
    inner.cfs.place_entity(se(p), new);
    inner.cfs.enqueue(p, se(p));
    p.on_rq.store(true, Ordering::Release);
    rq.sync_mirrors(inner);
}

fn dequeue_task(rq: &Rq, inner: &mut RqInner, p: TaskRef) {
    let running = inner.curr == Some(p);
    inner.cfs.dequeue(se(p), !running);
    p.on_rq.store(false, Ordering::Release);
    rq.sync_mirrors(inner);
}

/// Asks the task running on `cpu` to reschedule; another CPU is told with a
/// reschedule IPI (Linux: `resched_curr`).
fn resched_cpu(cpu_nr: usize) {
    cpu_rq(cpu_nr).need_resched.store(true, Ordering::Release);
    if cpu_nr != cpu::core_id() {
        irq::send_ipi(Ipi::Reschedule, 1 << cpu_nr);
    }
}

/// Whether the current task should call `schedule()`.
#[inline]
pub fn need_resched() -> bool {
    this_rq().need_resched.load(Ordering::Acquire)
}

/// Sets up the boot CPU's scheduler: `init_task` (PID 0) becomes the idle
/// task and `current`, and heads the task list.
pub fn sched_init() {
    let idle = init_task();
    // SAFETY: the task list head is initialised once, before any other task exists.
    unsafe {
        crate::util::list::ListHead::init(idle.tasks.get());
        crate::util::list::ListHead::init(idle.children.get());
        crate::util::list::ListHead::init(idle.sibling.get());
    }
    init_idle(0);
}

/// Makes `idle_task(cpu)` the running idle task of `cpu`, on that CPU.
pub fn init_idle(cpu_nr: usize) {
    let idle = idle_task(cpu_nr);
    idle.flags.store(pf::PF_IDLE | pf::PF_KTHREAD | pf::PF_NOKILL, Ordering::Relaxed);
    let mut name = *b"swapper/0";
    name[8] = b'0' + cpu_nr as u8;
    idle.set_comm(core::str::from_utf8(&name).unwrap_or("swapper"));
    idle.cpu.store(cpu_nr, Ordering::Relaxed);
    // An idle task never leaves its CPU (it is on no run queue to move it
    // from); its mask is what the tasks it creates inherit: every CPU.
    idle.cpus_allowed.store(((1u32 << NR_CPUS) - 1) as u8, Ordering::Relaxed);
    idle.on_cpu.store(true, Ordering::Relaxed);
    idle.usage.store(usize::MAX / 2, Ordering::Relaxed); // never freed
    if cpu_nr != 0 {
        // SAFETY: secondary idle tasks are on no list; their own links are empty.
        unsafe {
            crate::util::list::ListHead::init(idle.tasks.get());
            crate::util::list::ListHead::init(idle.children.get());
            crate::util::list::ListHead::init(idle.sibling.get());
        }
    }
    // SAFETY: this code runs as the idle task of this CPU (its boot context).
    unsafe { set_current(idle) };
    let rq = cpu_rq(cpu_nr);
    rq.lock.lock();
    // SAFETY: lock held.
    let inner = unsafe { rq.inner() };
    inner.idle = Some(idle);
    inner.curr = Some(idle);
    rq.lock.unlock();
    rq.ready.store(true, Ordering::Release);
}

/// Gives up the CPU (Linux: `schedule`): a task that set a sleeping state
/// leaves the run queue; the task with the smallest vruntime runs next.
pub fn schedule() {
    __schedule(false);
}

/// The scheduler proper (Linux: `__schedule`). `preempt`: the task is being
/// preempted, not going to sleep. It may have set a sleeping state already,
/// on its way to a wait (say, between `set_current_state` and queueing a
/// timer or signalling a completion): it must stay on the run queue, or
/// nobody would ever wake it. It sleeps when it calls `schedule()` itself.
fn __schedule(preempt: bool) {
    let flags = cpu::local_irq_save();
    let rq = this_rq();
    rq.lock.lock();
    // SAFETY: lock held.
    let inner = unsafe { rq.inner() };
    let prev = current();
    let is_idle = prev.has_flag(pf::PF_IDLE);
    let prev_state = prev.state.load(Ordering::Relaxed);
    // One clock reading: prev's runtime ends where next's begins.
    let clock = now();
    update_curr_at(rq, inner, clock);

    let mut voluntary = false;
    if !is_idle {
        if prev_state != state::TASK_RUNNING && !preempt {
            // `prev` is the current task: signal_pending's flag test first.
            let cut_short = (prev_state & state::TASK_INTERRUPTIBLE != 0 && super::task::signal_pending())
                || (prev_state & state::TASK_WAKEKILL != 0 && crate::signal::fatal_signal_pending(prev));
            if cut_short {
                // A signal is pending that ends this sleep: it is cut short
                // (Linux: signal_pending_state), the task stays runnable.
                prev.state.store(state::TASK_RUNNING, Ordering::Relaxed);
            } else {
                dequeue_task(rq, inner, prev);
                voluntary = true;
            }
        }
        if prev.on_rq.load(Ordering::Relaxed) {
            let this_cpu = prev.cpu.load(Ordering::Relaxed);
            if prev.cpus_allowed.load(Ordering::Relaxed) & (1 << this_cpu) == 0 {
                // Its CPU mask no longer allows this CPU: finish_task_switch
                // queues it on an allowed one once its context is saved.
                dequeue_task(rq, inner, prev);
                prev.migrate_pending.store(true, Ordering::Relaxed);
            } else {
                inner.cfs.put_prev(prev, se(prev));
            }
        }
    }

    rq.need_resched.store(false, Ordering::Relaxed);
    let next = inner.cfs.pick_next().or(inner.idle).expect("run queue has an idle task");
    if next != prev {
        crate::trace::sched_switch(prev, next, prev_state);
        let next_se = se(next);
        next_se.exec_start = clock;
        next_se.prev_sum_exec_runtime = next_se.sum_exec_runtime;
        inner.curr = Some(next);
        rq.nr_switches.fetch_add(1, Ordering::Relaxed);
        if voluntary {
            prev.nvcsw.fetch_add(1, Ordering::Relaxed);
        } else {
            prev.nivcsw.fetch_add(1, Ordering::Relaxed);
        }
        next.on_cpu.store(true, Ordering::Relaxed);
        // SAFETY: both tasks are live (prev is current; next is on this rq or
        // the idle task), the rq lock is held and IRQs are masked, as
        // cpu_switch_to and finish_task_switch require.
        let prev = unsafe { context_switch(prev, next) };
        finish_task_switch(prev);
    } else {
        if is_idle || prev.on_rq.load(Ordering::Relaxed) {
            se(prev).exec_start = clock;
        }
        rq.lock.unlock();
    }
    cpu::local_irq_restore(flags);
}

extern "C" {
    /// switch.S: saves callee-saved registers and SP of `prev`, loads `next`'s,
    /// makes `next` current and returns `prev` on `next`'s stack.
    fn cpu_switch_to(prev: *mut u8, next: *mut u8) -> *mut u8;
}

/// # Safety
/// See the call in [`schedule`].
unsafe fn context_switch(prev: TaskRef, next: TaskRef) -> TaskRef {
    // User FP/SIMD state: the kernel never touches those registers, so the
    // next task's can be loaded before the switch (fpsimd.rs).
    if prev.is_user() {
        // SAFETY: only the task's own switch-out writes its saved state.
        crate::arch::fpsimd::save(unsafe { &mut *prev.fpsimd.get() });
    }
    if next.is_user() {
        // SAFETY: `next` is not running, so its saved state is stable.
        crate::arch::fpsimd::load(unsafe { &*next.fpsimd.get() });
    }
    // The user address space (Linux: `switch_mm`); kernel threads run on the
    // reserved empty table.
    let ttbr0 = match next.ttbr0.load(Ordering::Relaxed) {
        0 => crate::mm::mm_struct::reserved_ttbr0(),
        t => t,
    };
    if crate::arch::mmu::ttbr0() != ttbr0 {
        crate::arch::mmu::set_ttbr0(ttbr0);
    }
    // SAFETY: caller's contract.
    unsafe { TaskRef::from_ptr(cpu_switch_to(prev.as_ptr().cast(), next.as_ptr().cast()).cast()) }
}

/// The second half of a context switch, run by the task switched to (Linux:
/// `finish_task_switch`): `prev` is off the CPU now, the run-queue lock is
/// released, and a dead `prev` loses the reference that kept its stack alive.
fn finish_task_switch(prev: TaskRef) {
    let rq = this_rq();
    // Read before on_cpu clears: after that, prev may run (and change) elsewhere.
    let dead = prev.state.load(Ordering::Relaxed) == state::TASK_DEAD && !prev.on_rq.load(Ordering::Relaxed);
    let migrate = prev.migrate_pending.swap(false, Ordering::Relaxed);
    // Release: its saved context is complete before another CPU may run it.
    prev.on_cpu.store(false, Ordering::Release);
    rq.lock.unlock();
    if migrate {
        // Under pi_lock, like a wake-up, so the two cannot both queue it.
        let _pi = prev.pi_lock.lock();
        if !prev.on_rq.load(Ordering::Acquire) && prev.state.load(Ordering::Relaxed) == state::TASK_RUNNING {
            activate_task_anywhere(prev, false);
        }
    }
    if dead {
        prev.put();
    }
}

/// First code of a new task, from switch.S's `ret_from_kernel_thread`.
#[no_mangle]
extern "C" fn schedule_tail(prev: *mut TaskStruct) {
    // SAFETY: cpu_switch_to hands over the live task it switched away from.
    finish_task_switch(unsafe { TaskRef::from_ptr(prev) });
    cpu::local_irq_enable();
}

/// The allowed CPU a task should run on (Linux: `select_task_rq_fair`, much
/// simplified): its previous CPU if that is idle, else the least loaded.
fn select_task_rq(p: TaskRef) -> usize {
    let allowed = p.cpus_allowed.load(Ordering::Relaxed);
    let online = |c: usize| allowed & (1 << c) != 0 && cpu_rq(c).ready.load(Ordering::Acquire);
    let prev = p.cpu.load(Ordering::Relaxed);
    if online(prev) && (allowed.is_power_of_two() || cpu_rq(prev).nr_running.load(Ordering::Relaxed) == 0) {
        // Its previous CPU, idle or the only one it may use (Linux: a
        // task with one allowed CPU skips select_task_rq).
        return prev;
    }
    // The least loaded, ties to the previous CPU, then the lowest.
    let mut best = None;
    for c in (0..NR_CPUS).filter(|&c| online(c)) {
        let key = (cpu_rq(c).nr_running.load(Ordering::Relaxed), c != prev);
        if best.is_none_or(|(_, k)| key < k) {
            best = Some((c, key));
        }
    }
    best.map_or_else(|| allowed.trailing_zeros() as usize % NR_CPUS, |(c, _)| c)
}

/// Queues a runnable task that is on no run queue on an allowed CPU, and
/// preempts there if it should run first. `new`: a task that never ran.
fn activate_task_anywhere(p: TaskRef, new: bool) {
    let cpu_nr = select_task_rq(p);
    let rq = cpu_rq(cpu_nr);
    let flags = cpu::local_irq_save();
    rq.lock.lock();
    // SAFETY: lock held.
    let inner = unsafe { rq.inner() };
    update_curr(rq, inner);
    let old_cpu = p.cpu.swap(cpu_nr, Ordering::Relaxed);
    if cpu_nr != old_cpu {
        rq.nr_migrations.fetch_add(1, Ordering::Relaxed);
        if !new {
            crate::trace::sched_migrate_task(p, old_cpu, cpu_nr);
            // Each queue's vruntimes count from its own min_vruntime: keep
            // the task's lag, not its absolute value (Linux:
            // migrate_task_rq_fair). The old queue's floor is read without
            // its lock; it only grows, so the lag is at worst understated.
            let s = se(p);
            let lag = s.vruntime.saturating_sub(cpu_rq(old_cpu).min_vruntime.load(Ordering::Relaxed));
            s.vruntime = inner.cfs.min_vruntime + lag;
        }
    }
    enqueue_task(rq, inner, p, new);
    let preempt = match inner.curr {
        Some(curr) if Some(curr) != inner.idle => CfsRq::<TaskRef>::wakeup_preempts(se(curr), se(p)),
        _ => true,
    };
    rq.lock.unlock();
    if preempt {
        resched_cpu(cpu_nr);
    }
    cpu::local_irq_restore(flags);
}

/// Locks the run queue `p` is on, retrying if the load balancer moves `p`
/// meanwhile (it changes `p.cpu` only with both queues locked) (Linux:
/// `task_rq_lock`). The caller holds `p.pi_lock` with IRQs masked.
fn task_rq_lock(p: TaskRef) -> &'static Rq {
    loop {
        let cpu_nr = p.cpu.load(Ordering::Acquire);
        let rq = cpu_rq(cpu_nr);
        rq.lock.lock();
        if p.cpu.load(Ordering::Relaxed) == cpu_nr {
            return rq;
        }
        rq.lock.unlock();
    }
}

/// Wakes `p` if its state is in `state_mask` (Linux: `try_to_wake_up`).
/// Returns whether it was woken.
pub fn try_to_wake_up(p: TaskRef, state_mask: u32) -> bool {
    let _pi = p.pi_lock.lock();
    // Order the waker's condition update before the state read (Linux:
    // smp_mb__after_spinlock), pairing with set_current_state's barrier.
    fence(Ordering::SeqCst);
    // Acquire: `on_rq` below is read after `state` (see the module docs).
    if p.state.load(Ordering::Acquire) & state_mask == 0 {
        return false;
    }
    if p.on_rq.load(Ordering::Acquire) {
        // Still queued: it set its state but has not scheduled out yet (or
        // was preempted). Setting it running under its rq lock is enough.
        let rq = task_rq_lock(p);
        let queued = p.on_rq.load(Ordering::Relaxed);
        if queued {
            p.state.store(state::TASK_RUNNING, Ordering::Relaxed);
        }
        rq.lock.unlock();
        if queued {
            crate::trace::sched_wakeup(p, p.cpu.load(Ordering::Relaxed));
            return true;
        }
    }
    // Off every queue: wait until its context is saved, then queue it.
    while p.on_cpu.load(Ordering::Acquire) {
        crate::arch::cpu::cpu_relax();
    }
    p.state.store(state::TASK_RUNNING, Ordering::Relaxed);
    if !p.on_rq.load(Ordering::Acquire) {
        activate_task_anywhere(p, false);
    }
    crate::trace::sched_wakeup(p, p.cpu.load(Ordering::Relaxed));
    true
}

/// Wakes a sleeping task (Linux: `wake_up_process`).
pub fn wake_up_process(p: TaskRef) -> bool {
    try_to_wake_up(p, state::TASK_NORMAL)
}

/// Makes a newly created task runnable for the first time (Linux:
/// `wake_up_new_task`).
pub fn wake_up_new_task(p: TaskRef) {
    let _pi = p.pi_lock.lock();
    p.state.store(state::TASK_RUNNING, Ordering::Relaxed);
    activate_task_anywhere(p, true);
    crate::trace::sched_wakeup_new(p, p.cpu.load(Ordering::Relaxed));
}

/// `sysctl kernel.sched_child_runs_first` (Linux had it until 6.6): a forked
/// user child is queued on its parent's CPU ahead of the parent, which
/// reschedules on its way back to user mode, so the child runs first (an
/// exec in the child then copies no page the parent would have written).
pub static SCHED_CHILD_RUNS_FIRST: AtomicBool = AtomicBool::new(true);

/// [`wake_up_new_task`] for a fork child: with child-runs-first on, the
/// child goes on this CPU with the smaller of the two vruntimes (Linux:
/// `task_fork_fair`'s swap), and the parent is asked to reschedule.
pub fn wake_up_new_user_task(p: TaskRef) {
    if !SCHED_CHILD_RUNS_FIRST.load(Ordering::Relaxed) {
        return wake_up_new_task(p);
    }
    let _pi = p.pi_lock.lock();
    p.state.store(state::TASK_RUNNING, Ordering::Relaxed);
    let flags = cpu::local_irq_save();
    let this = cpu::core_id();
    if p.cpus_allowed.load(Ordering::Relaxed) & (1 << this) == 0 {
        cpu::local_irq_restore(flags);
        return activate_task_anywhere(p, true);
    }
    let rq = cpu_rq(this);
    rq.lock.lock();
    // SAFETY: lock held.
    let inner = unsafe { rq.inner() };
    update_curr(rq, inner);
    p.cpu.store(this, Ordering::Relaxed);
    inner.cfs.place_entity(se(p), true);
    if let Some(curr) = inner.curr.filter(|&c| Some(c) != inner.idle) {
        // The running task is out of the tree: its vruntime may change.
        let (child, parent) = (se(p), se(curr));
        if parent.vruntime < child.vruntime {
            core::mem::swap(&mut parent.vruntime, &mut child.vruntime);
        }
    }
    inner.cfs.enqueue(p, se(p));
    p.on_rq.store(true, Ordering::Release);
    rq.sync_mirrors(inner);
    rq.lock.unlock();
    crate::trace::sched_wakeup_new(p, this);
    resched_cpu(this);
    cpu::local_irq_restore(flags);
}

/// Makes a task running on another CPU enter the kernel soon (a reschedule
/// IPI), so it notices a signal (Linux: `kick_process`).
pub fn kick_process(p: TaskRef) {
    let cpu_nr = p.cpu.load(Ordering::Relaxed);
    if p.on_cpu.load(Ordering::Acquire) && cpu_nr != cpu::core_id() {
        irq::send_ipi(Ipi::Reschedule, 1 << cpu_nr);
    }
}

/// Timer-tick work (Linux: `scheduler_tick`): charge the running task,
/// preempt it if its slice is used up, run expired sleep timers, and balance
/// the load now and then. Called from the timer interrupt.
pub fn scheduler_tick(ticks: u64) {
    let cpu_nr = cpu::core_id();
    let rq = cpu_rq(cpu_nr);
    if !rq.ready.load(Ordering::Acquire) {
        return;
    }
    rq.lock.lock();
    // SAFETY: lock held (IRQs are masked in the interrupt handler).
    let inner = unsafe { rq.inner() };
    update_curr(rq, inner);
    let idle = inner.curr.is_none() || inner.curr == inner.idle;
    if let Some(curr) = inner.curr {
        if Some(curr) != inner.idle && inner.cfs.should_preempt(se(curr)) {
            rq.need_resched.store(true, Ordering::Release);
        }
    }
    rq.lock.unlock();
    let kind = if crate::arch::exception::irq_from_user() {
        // Sampled user time (Linux: `account_process_tick`).
        current().utime.fetch_add(1_000_000_000 / crate::config::HZ as u64, Ordering::Relaxed);
        super::cputime::TickKind::User { niced: current().nice.load(Ordering::Relaxed) > 0 }
    } else if idle {
        super::cputime::TickKind::Idle
    } else {
        super::cputime::TickKind::System
    };
    super::cputime::account_process_tick(cpu_nr, kind);
    if cpu_nr == 0 {
        run_timers();
        let active: usize = (0..NR_CPUS).map(|c| cpu_rq(c).nr_running.load(Ordering::Relaxed)).sum();
        super::loadavg::sample(crate::time::uptime_ns(), active as u64);
        crate::itimer::run_itimers(crate::time::uptime_ns());
        crate::posix_timers::run_posix_timers(crate::time::uptime_ns());
    }
    if ticks % BALANCE_INTERVAL_TICKS == cpu_nr as u64 % BALANCE_INTERVAL_TICKS {
        load_balance(cpu_nr);
    }
}

/// Called when an IRQ handler returns to kernel code: switch if asked to
/// (kernel preemption; every context with IRQs enabled may be preempted).
pub fn preempt_irq_exit() {
    let rq = this_rq();
    if rq.ready.load(Ordering::Acquire) && rq.need_resched.load(Ordering::Acquire) {
        __schedule(true);
    }
}

/// Pulls one task from the busiest CPU to `this` if the imbalance is at least
/// two tasks, or if `this` is idle and the busiest has a task waiting (Linux:
/// `load_balance`, `idle_balance`). Returns whether a task moved.
pub fn load_balance(this: usize) -> bool {
    let this_rq = cpu_rq(this);
    let mine = this_rq.nr_running.load(Ordering::Relaxed);
    let Some(busiest) = (0..NR_CPUS)
        .filter(|&c| c != this && cpu_rq(c).ready.load(Ordering::Acquire))
        .max_by_key(|&c| cpu_rq(c).nr_running.load(Ordering::Relaxed))
    else {
        return false;
    };
    let theirs = cpu_rq(busiest).nr_running.load(Ordering::Relaxed);
    // The busiest CPU's running task is not movable: something must wait.
    if theirs < 2 || theirs < mine + 2 {
        return false;
    }
    let flags = cpu::local_irq_save();
    // The busy CPU's lock only if it is free: waiting for it would hold up
    // that CPU, which takes its lock on every switch and wake-up, and the
    // next idle pass tries again. (Tried, never waited for, the second lock
    // needs no lock order.)
    this_rq.lock.lock();
    let src_rq = cpu_rq(busiest);
    if !src_rq.lock.try_lock() {
        this_rq.lock.unlock();
        cpu::local_irq_restore(flags);
        return false;
    }
    // SAFETY: both locks held.
    let (src, dst) = unsafe { (src_rq.inner(), this_rq.inner()) };
    let candidate = src.cfs.queued_from_right().find(|p| p.cpus_allowed.load(Ordering::Relaxed) & (1 << this) != 0);
    if let Some(p) = candidate {
        // Keep its vruntime relative to the queue it leaves (Linux: the
        // min_vruntime adjustment in migrate_task_rq_fair).
        src.cfs.dequeue(se(p), true);
        let lag = se(p).vruntime.saturating_sub(src.cfs.min_vruntime);
        se(p).vruntime = dst.cfs.min_vruntime + lag;
        p.cpu.store(this, Ordering::Relaxed);
        crate::trace::sched_migrate_task(p, busiest, this);
        dst.cfs.enqueue(p, se(p));
        src_rq.sync_mirrors(src);
        this_rq.sync_mirrors(dst);
        this_rq.nr_migrations.fetch_add(1, Ordering::Relaxed);
        if dst.curr == dst.idle {
            this_rq.need_resched.store(true, Ordering::Release);
        }
    }
    src_rq.lock.unlock();
    this_rq.lock.unlock();
    cpu::local_irq_restore(flags);
    candidate.is_some()
}

/// The idle loop of every CPU (Linux: `do_idle`): run anything runnable, pull
/// work from a busy CPU, else wait for an interrupt.
pub fn cpu_idle() -> ! {
    let this = cpu::core_id();
    loop {
        cpu::local_irq_disable();
        if !need_resched() && !load_balance(this) {
            // WFI wakes on a pending interrupt even with IRQs masked, so a
            // wake-up IPI between the test and the WFI is not lost.
            cpu::wait_for_interrupt();
        }
        cpu::local_irq_enable();
        if need_resched() {
            schedule();
        }
    }
}

/// Lets other runnable tasks on this CPU go first (Linux: `sched_yield`).
pub fn yield_now() {
    let flags = cpu::local_irq_save();
    let rq = this_rq();
    rq.lock.lock();
    // SAFETY: lock held.
    let inner = unsafe { rq.inner() };
    update_curr(rq, inner);
    let me = current();
    if let Some(leftmost) = inner.cfs.leftmost_vruntime() {
        let s = se(me);
        s.vruntime = s.vruntime.max(leftmost + 1);
    }
    rq.need_resched.store(true, Ordering::Relaxed);
    rq.lock.unlock();
    cpu::local_irq_restore(flags);
    schedule();
}

/// Runs `f` with `p.pi_lock` and the lock of the run queue `p` is on.
fn with_task_rq<R>(p: TaskRef, f: impl FnOnce(&Rq, &mut RqInner) -> R) -> R {
    let _pi = p.pi_lock.lock();
    let rq = task_rq_lock(p);
    // SAFETY: lock held.
    let result = f(rq, unsafe { rq.inner() });
    rq.lock.unlock();
    result
}

/// Changes `p`'s nice value (Linux: `set_user_nice`).
pub fn set_user_nice(p: TaskRef, nice: i32) {
    let nice = super::fair::clamp_nice(nice);
    with_task_rq(p, |rq, inner| {
        p.nice.store(nice, Ordering::Relaxed);
        let s = se(p);
        let new_weight = nice_to_weight(nice);
        if p.on_rq.load(Ordering::Relaxed) {
            update_curr(rq, inner);
            inner.cfs.load_weight = inner.cfs.load_weight - s.weight + new_weight;
            rq.sync_mirrors(inner);
        }
        s.weight = new_weight;
    });
}

/// Restricts `p` to the CPUs in `mask` (Linux: `set_cpus_allowed_ptr`). A
/// waiting task on a CPU now excluded moves at once; a running one moves at
/// its next schedule (its CPU is told to reschedule); a sleeping one wakes
/// up on an allowed CPU.
pub fn set_cpus_allowed(p: TaskRef, mask: u8) -> Result<(), crate::errno::Errno> {
    let online = (0..NR_CPUS).filter(|&c| cpu_rq(c).ready.load(Ordering::Acquire)).fold(0u8, |m, c| m | 1 << c);
    if mask & online == 0 {
        return Err(crate::errno::Errno::EINVAL);
    }
    let _pi = p.pi_lock.lock();
    let rq = task_rq_lock(p);
    // SAFETY: the rq lock is held.
    let inner = unsafe { rq.inner() };
    p.cpus_allowed.store(mask, Ordering::Relaxed);
    let cpu_nr = p.cpu.load(Ordering::Relaxed);
    let excluded = mask & (1 << cpu_nr) == 0 && p.on_rq.load(Ordering::Relaxed);
    let running = inner.curr == Some(p);
    if excluded && !running {
        update_curr(rq, inner);
        dequeue_task(rq, inner, p);
    }
    rq.lock.unlock();
    if excluded {
        if running {
            resched_cpu(cpu_nr);
        } else {
            // Still under pi_lock: no wake-up can queue it meanwhile.
            activate_task_anywhere(p, false);
        }
    }
    Ok(())
}

/// Binds a task that has not run yet to `cpu` (Linux: `kthread_bind`).
pub fn bind_new_task(p: TaskRef, cpu_nr: usize) {
    let _pi = p.pi_lock.lock();
    p.cpus_allowed.store(1 << cpu_nr, Ordering::Relaxed);
    p.cpu.store(cpu_nr, Ordering::Relaxed);
}

/// Pending timed sleeps, earliest deadline first.
struct SleepTimers {
    /// (deadline, sequence) -> sleeper.
    queue: BTreeMap<(u64, u64), TaskRef>,
    seq: u64,
}

static TIMERS: IrqSpinLock<SleepTimers> = IrqSpinLock::new(SleepTimers { queue: BTreeMap::new(), seq: 0 });

/// Wakes the sleepers whose deadline has passed. The wake-up happens under
/// the TIMERS lock: a sleeper removes its own entry under that lock before it
/// returns, so a task on the list is alive (lock order: TIMERS < pi_lock <
/// run queues; schedule_timeout takes TIMERS with nothing else held).
fn run_timers() {
    let t = now();
    let mut timers = TIMERS.lock();
    while let Some((&(deadline, _), _)) = timers.queue.first_key_value() {
        if deadline > t {
            break;
        }
        if let Some((_, p)) = timers.queue.pop_first() {
            try_to_wake_up(p, state::TASK_NORMAL);
        }
    }
}

/// Sleeps in `sleep_state` until `ns` have passed or, for an interruptible
/// sleep, a kill arrives (Linux: `schedule_timeout`). Returns the time left.
/// Resolution: one tick.
pub fn schedule_timeout(ns: u64, sleep_state: u32) -> u64 {
    super::task::set_current_state(sleep_state);
    schedule_timeout_prepared(ns)
}

/// [`schedule_timeout`] for a caller that has set its sleeping state
/// already and tested its wake-up condition after that (Linux's own
/// `schedule_timeout` contract): a wake-up since then has made the task
/// runnable, and the state is left as it is so that wake-up is not lost.
pub fn schedule_timeout_prepared(ns: u64) -> u64 {
    let deadline = now() + ns;
    let key = {
        let mut timers = TIMERS.lock();
        timers.seq += 1;
        let key = (deadline, timers.seq);
        timers.queue.insert(key, current());
        key
    };
    schedule();
    TIMERS.lock().queue.remove(&key);
    super::task::__set_current_state(state::TASK_RUNNING);
    deadline.saturating_sub(now())
}

/// Sleeps at least `ms` milliseconds, ignoring kills (Linux: `msleep`).
pub fn msleep(ms: u64) {
    let mut left = ms * 1_000_000;
    while left > 0 {
        left = schedule_timeout(left, state::TASK_UNINTERRUPTIBLE);
    }
}

/// Sleeps up to `ms` milliseconds; a kill ends it early (Linux:
/// `msleep_interruptible`). Returns the milliseconds left.
pub fn msleep_interruptible(ms: u64) -> u64 {
    let mut left = ms * 1_000_000;
    while left > 0 && !super::task::signal_pending() {
        left = schedule_timeout(left, state::TASK_INTERRUPTIBLE);
    }
    left / 1_000_000
}

/// Per-CPU figures for the `runqueues` command.
#[derive(Clone, Copy, Debug)]
pub struct RqStats {
    pub nr_running: usize,
    pub load_weight: u64,
    pub nr_switches: u64,
    pub nr_migrations: u64,
    pub busy_ns: u64,
}

/// The figures of `cpu`'s run queue.
pub fn rq_stats(cpu_nr: usize) -> RqStats {
    let rq = cpu_rq(cpu_nr);
    RqStats {
        nr_running: rq.nr_running.load(Ordering::Relaxed),
        load_weight: rq.load_weight.load(Ordering::Relaxed),
        nr_switches: rq.nr_switches.load(Ordering::Relaxed),
        nr_migrations: rq.nr_migrations.load(Ordering::Relaxed),
        busy_ns: rq.busy_ns.load(Ordering::Relaxed),
    }
}
