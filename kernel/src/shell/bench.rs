//! Scheduler micro-benchmarks for the `bench` command (`make bench` runs
//! them under QEMU with `-icount`, where time is instructions executed):
//!
//! - `kthread`: kthread_create + wake + kthread_stop of a thread that waits
//!   for the stop, per thread;
//! - `pingpong`: two threads bound to one CPU hand a token back and forth
//!   through completions: the cost of a wake-up plus a context switch;
//! - `wakeup`: a thread on CPU 1 completes, a thread sleeping on CPU 2 notes
//!   when it runs: cross-CPU wake-up latency (IPI included).
//!
//! Each reports the median of its samples.

use crate::kthread::{kthread_bind, kthread_create, kthread_should_stop, kthread_stop};
use crate::sched::core::{schedule, wake_up_process};
use crate::sched::task::{__set_current_state, set_current_state, state};
use crate::sched::wait::Completion;
use crate::time::uptime_ns;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

fn median(mut samples: Vec<u64>) -> u64 {
    samples.sort_unstable();
    samples.get(samples.len() / 2).copied().unwrap_or(0)
}

fn wait_for_stop(_: usize) -> i32 {
    loop {
        set_current_state(state::TASK_INTERRUPTIBLE);
        if kthread_should_stop() || crate::sched::task::signal_pending() {
            break;
        }
        schedule();
    }
    __set_current_state(state::TASK_RUNNING);
    0
}

/// Median ns to create, start and stop one kernel thread.
pub fn kthread_lifecycle(n: usize) -> Result<u64, crate::errno::Errno> {
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = uptime_ns();
        let t = kthread_create(wait_for_stop, 0, "bench")?;
        wake_up_process(t);
        kthread_stop(t);
        samples.push(uptime_ns() - t0);
    }
    Ok(median(samples))
}

/// Shared state of a ping-pong or wake-up run (on the caller's stack).
struct Pair {
    ping: Completion,
    pong: Completion,
    rounds: usize,
    stamp: AtomicU64,
    samples: crate::sync::IrqSpinLock<Vec<u64>>,
    quit: AtomicBool,
}

fn ponger(arg: usize) -> i32 {
    // SAFETY: the bench keeps the Pair alive until this thread is stopped.
    let pair = unsafe { &*(arg as *const Pair) };
    for _ in 0..pair.rounds {
        pair.ping.wait_for_completion();
        pair.pong.complete();
    }
    wait_for_stop(0)
}

fn pinger(arg: usize) -> i32 {
    // SAFETY: as for `ponger`.
    let pair = unsafe { &*(arg as *const Pair) };
    let t0 = uptime_ns();
    for _ in 0..pair.rounds {
        pair.ping.complete();
        pair.pong.wait_for_completion();
    }
    // Two switches per round.
    pair.stamp.store((uptime_ns() - t0) / (2 * pair.rounds as u64), Ordering::Release);
    pair.quit.store(true, Ordering::Release);
    wait_for_stop(0)
}

fn new_pair(rounds: usize) -> Pair {
    Pair {
        ping: Completion::new(),
        pong: Completion::new(),
        rounds,
        stamp: AtomicU64::new(0),
        samples: crate::sync::IrqSpinLock::new(Vec::new()),
        quit: AtomicBool::new(false),
    }
}

fn run_pair(
    pair: &Pair,
    a: (fn(usize) -> i32, usize),
    b: (fn(usize) -> i32, usize),
) -> Result<(), crate::errno::Errno> {
    let arg = pair as *const Pair as usize;
    let tb = kthread_create(b.0, arg, "bench-b")?;
    let ta = match kthread_create(a.0, arg, "bench-a") {
        Ok(t) => t,
        Err(e) => {
            kthread_stop(tb);
            return Err(e);
        }
    };
    kthread_bind(tb, b.1);
    kthread_bind(ta, a.1);
    wake_up_process(tb);
    wake_up_process(ta);
    while !pair.quit.load(Ordering::Acquire) {
        crate::sched::core::msleep(10);
    }
    kthread_stop(ta);
    kthread_stop(tb);
    Ok(())
}

/// Median ns per context switch between two threads on one CPU.
pub fn pingpong(rounds: usize, repeats: usize) -> Result<u64, crate::errno::Errno> {
    let mut samples = Vec::new();
    for _ in 0..repeats {
        let pair = new_pair(rounds);
        run_pair(&pair, (pinger, 1), (ponger, 1))?;
        samples.push(pair.stamp.load(Ordering::Acquire));
    }
    Ok(median(samples))
}

fn waker(arg: usize) -> i32 {
    // SAFETY: as for `ponger`.
    let pair = unsafe { &*(arg as *const Pair) };
    for _ in 0..pair.rounds {
        pair.stamp.store(uptime_ns(), Ordering::Release);
        pair.ping.complete();
        pair.pong.wait_for_completion();
    }
    pair.quit.store(true, Ordering::Release);
    wait_for_stop(0)
}

fn sleeper(arg: usize) -> i32 {
    // SAFETY: as for `ponger`.
    let pair = unsafe { &*(arg as *const Pair) };
    for _ in 0..pair.rounds {
        pair.ping.wait_for_completion();
        let latency = uptime_ns() - pair.stamp.load(Ordering::Acquire);
        pair.samples.lock().push(latency);
        pair.pong.complete();
    }
    wait_for_stop(0)
}

/// Median ns from a completion on CPU 1 to the woken thread running on CPU 2.
pub fn cross_cpu_wakeup(rounds: usize) -> Result<u64, crate::errno::Errno> {
    let pair = new_pair(rounds);
    run_pair(&pair, (waker, 1), (sleeper, 2))?;
    let samples = core::mem::take(&mut *pair.samples.lock());
    Ok(median(samples))
}
