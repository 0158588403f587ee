//! The events, their records and their text (Linux: the `TRACE_EVENT`s of
//! include/trace/events/{sched,signal,task}.h and their `TP_printk`s).

use super::ring::Ring;
use crate::config::NR_CPUS;
use crate::sched::task::{current, TaskRef};
use crate::sync::IrqSpinLock;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, Ordering};

/// The events: (group, name), indexed by [`Event`].
pub const EVENTS: [(&str, &str); 13] = [
    ("sched", "sched_process_fork"),
    ("sched", "sched_process_exec"),
    ("sched", "sched_process_exit"),
    ("sched", "sched_process_wait"),
    ("sched", "sched_process_free"),
    ("sched", "sched_switch"),
    ("sched", "sched_wakeup"),
    ("sched", "sched_wakeup_new"),
    ("sched", "sched_migrate_task"),
    ("signal", "signal_generate"),
    ("signal", "signal_deliver"),
    ("task", "task_newtask"),
    ("task", "task_rename"),
];

/// An event's index in [`EVENTS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Event {
    ProcessFork,
    ProcessExec,
    ProcessExit,
    ProcessWait,
    ProcessFree,
    Switch,
    Wakeup,
    WakeupNew,
    MigrateTask,
    SignalGenerate,
    SignalDeliver,
    TaskNewtask,
    TaskRename,
}

const ALL: [Event; 13] = [
    Event::ProcessFork,
    Event::ProcessExec,
    Event::ProcessExit,
    Event::ProcessWait,
    Event::ProcessFree,
    Event::Switch,
    Event::Wakeup,
    Event::WakeupNew,
    Event::MigrateTask,
    Event::SignalGenerate,
    Event::SignalDeliver,
    Event::TaskNewtask,
    Event::TaskRename,
];

/// Entries per CPU ring.
pub const RING_ENTRIES: usize = 2048;

/// One record: who, where, when, and the event's fields.
#[derive(Clone, Copy)]
pub struct Entry {
    pub ts_ns: u64,
    pub pid: u32,
    pub cpu: u8,
    pub event: u8,
    pub irqs_off: bool,
    pub need_resched: bool,
    pub comm: [u8; 16],
    /// Second and third names (child_comm, next_comm, filename...).
    pub s1: [u8; 16],
    pub s2: [u8; 32],
    pub n: [i64; 5],
}

const EMPTY: Entry = Entry {
    ts_ns: 0,
    pid: 0,
    cpu: 0,
    event: 0,
    irqs_off: false,
    need_resched: false,
    comm: [0; 16],
    s1: [0; 16],
    s2: [0; 32],
    n: [0; 5],
};

/// Enabled by the user, per event.
static ENABLED: [AtomicBool; 13] = [const { AtomicBool::new(false) }; 13];
/// `tracing_on`.
static TRACING_ON: AtomicBool = AtomicBool::new(true);
/// What the tracepoints test: enabled and tracing on.
static EFFECTIVE: [AtomicBool; 13] = [const { AtomicBool::new(false) }; 13];

/// The per-CPU rings.
static RINGS: [IrqSpinLock<Ring<Entry>>; NR_CPUS] = [const { IrqSpinLock::new(Ring::new()) }; NR_CPUS];

fn recompute() {
    let on = TRACING_ON.load(Ordering::Relaxed);
    for i in 0..EVENTS.len() {
        EFFECTIVE[i].store(on && ENABLED[i].load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

/// The event called `name` (`sched_switch`), if any.
pub fn event_by_name(name: &str) -> Option<Event> {
    EVENTS.iter().position(|(_, n)| *n == name).map(|i| ALL[i])
}

/// Enables or disables `event`; the rings get their memory on the first
/// enable (ENOMEM if there is none).
pub fn set_enabled(event: Event, on: bool) -> Result<(), crate::errno::Errno> {
    if on {
        for ring in &RINGS {
            if !ring.lock().allocate(RING_ENTRIES, EMPTY) {
                return Err(crate::errno::Errno::ENOMEM);
            }
        }
    }
    ENABLED[event as usize].store(on, Ordering::Relaxed);
    recompute();
    Ok(())
}

/// Whether `event` is enabled.
pub fn is_enabled(event: Event) -> bool {
    ENABLED[event as usize].load(Ordering::Relaxed)
}

/// Every event of `group` (or all, for None).
pub fn events_of(group: Option<&str>) -> impl Iterator<Item = Event> + '_ {
    ALL.iter().copied().filter(move |e| group.is_none_or(|g| EVENTS[*e as usize].0 == g))
}

/// `tracing_on`.
pub fn set_tracing_on(on: bool) {
    TRACING_ON.store(on, Ordering::Relaxed);
    recompute();
}

/// `tracing_on`'s value.
pub fn tracing_on() -> bool {
    TRACING_ON.load(Ordering::Relaxed)
}

/// Empties every ring.
pub fn clear() {
    for ring in &RINGS {
        ring.lock().clear();
    }
}

/// (entries held, entries written) over all rings.
pub fn counts() -> (usize, u64) {
    RINGS.iter().fold((0, 0), |(h, w), r| {
        let r = r.lock();
        (h + r.len(), w + r.written())
    })
}

#[inline(always)]
fn on(event: Event) -> bool {
    EFFECTIVE[event as usize].load(Ordering::Relaxed)
}

fn name16(t: TaskRef) -> [u8; 16] {
    t.comm().0
}

fn bytes<const N: usize>(s: &str) -> [u8; N] {
    let mut b = [0u8; N];
    let n = s.len().min(N);
    b[..n].copy_from_slice(&s.as_bytes()[..n]);
    b
}

/// Records an entry for the current task on this CPU.
#[cold]
#[inline(never)]
fn record(event: Event, s1: [u8; 16], s2: [u8; 32], n: [i64; 5]) {
    let me = current();
    let flags = crate::arch::cpu::local_irq_save();
    let cpu = crate::arch::cpu::core_id();
    let entry = Entry {
        ts_ns: crate::time::uptime_ns(),
        pid: me.pid(),
        cpu: cpu as u8,
        event: event as u8,
        irqs_off: flags.irqs_were_masked(),
        need_resched: crate::sched::core::need_resched(),
        comm: name16(me),
        s1,
        s2,
        n,
    };
    RINGS[cpu].lock().push(entry);
    crate::arch::cpu::local_irq_restore(flags);
}

fn prio(t: TaskRef) -> i64 {
    120 + t.nice.load(Ordering::Relaxed) as i64
}

// The tracepoints (Linux: trace_<event>). Each is one test when disabled.

/// `sched_process_fork`: `parent` forked `child`.
#[inline(always)]
pub fn sched_process_fork(parent: TaskRef, child: TaskRef) {
    if on(Event::ProcessFork) {
        let mut s2 = [0u8; 32];
        s2[..16].copy_from_slice(&name16(child));
        record(Event::ProcessFork, name16(parent), s2, [parent.pid() as i64, child.pid() as i64, 0, 0, 0]);
    }
}

/// `sched_process_exec`: the current task runs `filename` now.
#[inline(always)]
pub fn sched_process_exec(filename: &str, old_pid: u32) {
    if on(Event::ProcessExec) {
        record(Event::ProcessExec, [0; 16], bytes(filename), [current().pid() as i64, old_pid as i64, 0, 0, 0]);
    }
}

/// `sched_process_exit`: the current task exits.
#[inline(always)]
pub fn sched_process_exit(t: TaskRef) {
    if on(Event::ProcessExit) {
        record(Event::ProcessExit, name16(t), [0; 32], [t.pid() as i64, prio(t), 0, 0, 0]);
    }
}

/// `sched_process_wait`: the current task waits for `pid` (0: any).
#[inline(always)]
pub fn sched_process_wait(pid: u32) {
    if on(Event::ProcessWait) {
        let me = current();
        record(Event::ProcessWait, name16(me), [0; 32], [pid as i64, prio(me), 0, 0, 0]);
    }
}

/// `sched_process_free`: `t` is released.
#[inline(always)]
pub fn sched_process_free(t: TaskRef) {
    if on(Event::ProcessFree) {
        record(Event::ProcessFree, name16(t), [0; 32], [t.pid() as i64, prio(t), 0, 0, 0]);
    }
}

/// `sched_switch`: `prev` gives the CPU to `next`.
#[inline(always)]
pub fn sched_switch(prev: TaskRef, next: TaskRef, prev_state: u32) {
    if on(Event::Switch) {
        let mut s2 = [0u8; 32];
        s2[..16].copy_from_slice(&name16(next));
        let n = [prev.pid() as i64, prio(prev), prev_state as i64, next.pid() as i64, prio(next)];
        record(Event::Switch, name16(prev), s2, n);
    }
}

/// `sched_wakeup`: `t` is made runnable on `cpu`.
#[inline(always)]
pub fn sched_wakeup(t: TaskRef, cpu: usize) {
    if on(Event::Wakeup) {
        record(Event::Wakeup, name16(t), [0; 32], [t.pid() as i64, prio(t), cpu as i64, 0, 0]);
    }
}

/// `sched_wakeup_new`: the new task `t` is made runnable on `cpu`.
#[inline(always)]
pub fn sched_wakeup_new(t: TaskRef, cpu: usize) {
    if on(Event::WakeupNew) {
        record(Event::WakeupNew, name16(t), [0; 32], [t.pid() as i64, prio(t), cpu as i64, 0, 0]);
    }
}

/// `sched_migrate_task`: `t` moves from `from` to `to`.
#[inline(always)]
pub fn sched_migrate_task(t: TaskRef, from: usize, to: usize) {
    if on(Event::MigrateTask) {
        record(Event::MigrateTask, name16(t), [0; 32], [t.pid() as i64, prio(t), from as i64, to as i64, 0]);
    }
}

/// `signal_generate`: `sig` sent to `t`; `res` 0 queued, 1 ignored.
#[inline(always)]
pub fn signal_generate(sig: i32, code: i32, t: TaskRef, group: bool, res: i32) {
    if on(Event::SignalGenerate) {
        let n = [sig as i64, code as i64, t.pid() as i64, group as i64, res as i64];
        record(Event::SignalGenerate, name16(t), [0; 32], n);
    }
}

/// `signal_deliver`: the current task takes `sig` with `handler`.
#[inline(always)]
pub fn signal_deliver(sig: i32, code: i32, handler: u64, flags: u64) {
    if on(Event::SignalDeliver) {
        record(Event::SignalDeliver, [0; 16], [0; 32], [sig as i64, code as i64, handler as i64, flags as i64, 0]);
    }
}

/// `task_newtask`: `t` was created with `clone_flags`.
#[inline(always)]
pub fn task_newtask(t: TaskRef, clone_flags: u64) {
    if on(Event::TaskNewtask) {
        record(Event::TaskNewtask, name16(t), [0; 32], [t.pid() as i64, clone_flags as i64, 0, 0, 0]);
    }
}

/// `task_rename`: the current task's name changes from `old`.
#[inline(always)]
pub fn task_rename(old: &str, new: &str) {
    if on(Event::TaskRename) {
        record(Event::TaskRename, bytes(old), bytes(new), [current().pid() as i64, 0, 0, 0, 0]);
    }
}

fn text(b: &[u8]) -> &str {
    let len = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    core::str::from_utf8(&b[..len]).unwrap_or("?")
}

/// The `prev_state` letters of sched_switch.
fn state_letters(state: u32) -> &'static str {
    use crate::sched::task::state::*;
    match state {
        TASK_RUNNING => "R",
        s if s & TASK_INTERRUPTIBLE != 0 => "S",
        s if s & TASK_UNINTERRUPTIBLE != 0 => "D",
        s if s & __TASK_STOPPED != 0 => "T",
        s if s & __TASK_TRACED != 0 => "t",
        s if s & TASK_DEAD != 0 => "X",
        _ => "R+",
    }
}

/// Longest line [`format_entry`] writes.
pub const MAX_LINE: usize = 256;

/// One entry as a line of `trace` (Linux's default output format). The
/// caller reserves [`MAX_LINE`] bytes first, so nothing here allocates.
pub fn format_entry(e: &Entry, out: &mut String) {
    let (group_name, name) = EVENTS[e.event as usize];
    let _ = group_name;
    // TASK-PID right-aligned in 22 columns, without a temporary string.
    let comm = text(&e.comm);
    let digits = e.pid.checked_ilog10().unwrap_or(0) as usize + 1;
    for _ in (comm.len() + 1 + digits)..22 {
        out.push(' ');
    }
    let secs = e.ts_ns / 1_000_000_000;
    let usecs = (e.ts_ns % 1_000_000_000) / 1000;
    let _ = write!(
        out,
        "{comm}-{} [{:03}] {}{}.. {secs:5}.{usecs:06}: {name}: ",
        e.pid,
        e.cpu,
        if e.irqs_off { 'd' } else { '.' },
        if e.need_resched { 'N' } else { '.' },
    );
    let n = &e.n;
    let _ = match ALL[e.event as usize] {
        Event::ProcessFork => {
            write!(out, "comm={} pid={} child_comm={} child_pid={}", text(&e.s1), n[0], text(&e.s2), n[1])
        }
        Event::ProcessExec => write!(out, "filename={} pid={} old_pid={}", text(&e.s2), n[0], n[1]),
        Event::ProcessExit | Event::ProcessFree | Event::ProcessWait => {
            write!(out, "comm={} pid={} prio={}", text(&e.s1), n[0], n[1])
        }
        Event::Switch => write!(
            out,
            "prev_comm={} prev_pid={} prev_prio={} prev_state={} ==> next_comm={} next_pid={} next_prio={}",
            text(&e.s1),
            n[0],
            n[1],
            state_letters(n[2] as u32),
            text(&e.s2),
            n[3],
            n[4]
        ),
        Event::Wakeup | Event::WakeupNew => {
            write!(out, "comm={} pid={} prio={} target_cpu={:03}", text(&e.s1), n[0], n[1], n[2])
        }
        Event::MigrateTask => {
            write!(out, "comm={} pid={} prio={} orig_cpu={} dest_cpu={}", text(&e.s1), n[0], n[1], n[2], n[3])
        }
        Event::SignalGenerate => write!(
            out,
            "sig={} errno=0 code={} comm={} pid={} grp={} res={}",
            n[0],
            n[1],
            text(&e.s1),
            n[2],
            n[3],
            n[4]
        ),
        Event::SignalDeliver => {
            write!(out, "sig={} errno=0 code={} sa_handler={:x} sa_flags={:x}", n[0], n[1], n[2], n[3])
        }
        Event::TaskNewtask => {
            write!(out, "pid={} comm={} clone_flags={:x} oom_score_adj=0", n[0], text(&e.s1), n[1])
        }
        Event::TaskRename => {
            write!(out, "pid={} oldcomm={} newcomm={} oom_score_adj=0", n[0], text(&e.s1), text(&e.s2))
        }
    };
    out.push('\n');
}

/// Every held entry, from all CPUs, in time order (non-consuming), that
/// `keep` accepts; ENOMEM if there is no room for the copy.
pub fn snapshot(mut keep: impl FnMut(&Entry) -> bool) -> Result<Vec<Entry>, crate::errno::Errno> {
    let mut all = Vec::new();
    let total: usize = RINGS.iter().map(|r| r.lock().len()).sum();
    // Entries may arrive meanwhile: room for a full ring more.
    all.try_reserve_exact(total + RING_ENTRIES).map_err(|_| crate::errno::Errno::ENOMEM)?;
    for ring in &RINGS {
        let r = ring.lock();
        let room = all.capacity() - all.len();
        all.extend(r.iter().filter(|e| keep(e)).copied().take(room));
    }
    // A stable sort by time needs no extra memory when already in order per
    // CPU: merge by insertion is quadratic, so sort in place (unstable sort
    // allocates nothing).
    all.sort_unstable_by_key(|e| (e.ts_ns, e.cpu));
    Ok(all)
}

/// Takes the oldest entry of all CPUs (`trace_pipe`).
pub fn consume() -> Option<Entry> {
    let flags = crate::arch::cpu::local_irq_save();
    let mut best: Option<(usize, u64)> = None;
    for (i, ring) in RINGS.iter().enumerate() {
        if let Some(e) = ring.lock().peek() {
            if best.is_none_or(|(_, ts)| e.ts_ns < ts) {
                best = Some((i, e.ts_ns));
            }
        }
    }
    let got = best.and_then(|(i, _)| RINGS[i].lock().pop());
    crate::arch::cpu::local_irq_restore(flags);
    got
}

/// The header of `trace`.
pub fn header(out: &mut String) {
    let (held, written) = counts();
    let _ = write!(
        out,
        "# tracer: nop\n#\n# entries-in-buffer/entries-written: {held}/{written}   #P:{NR_CPUS}\n#\n\
         #                          _----=> irqs-off\n\
         #                         / _---=> need-resched\n\
         #                         | / _--=> hardirq/softirq\n\
         #                         || / _-=> preempt-depth\n\
         #                         ||| /\n\
         #           TASK-PID     CPU#  ||||   TIMESTAMP  FUNCTION\n\
         #              | |         |   ||||      |         |\n"
    );
}
