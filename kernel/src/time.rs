//! Kernel time: uptime from the system counter and the per-core periodic tick
//! (Linux: `jiffies`, `tick_periodic`), driven by each core's EL1 physical timer.

use crate::config::HZ;
use bsp::timer;
use core::sync::atomic::{AtomicU64, Ordering};

static BOOT_COUNTER: AtomicU64 = AtomicU64::new(0);
static FREQUENCY: AtomicU64 = AtomicU64::new(0);

/// Reads the counter frequency and marks the start of uptime. Core 0, once.
pub fn init() {
    FREQUENCY.store(timer::frequency(), Ordering::Relaxed);
    BOOT_COUNTER.store(timer::counter(), Ordering::Relaxed);
}

/// Counter frequency in Hz (0 before [`init`]).
pub fn frequency() -> u64 {
    FREQUENCY.load(Ordering::Relaxed)
}

/// Nanoseconds since [`init`] (0 before it).
pub fn uptime_ns() -> u64 {
    let freq = frequency();
    if freq == 0 {
        return 0;
    }
    let ticks = timer::counter().saturating_sub(BOOT_COUNTER.load(Ordering::Relaxed));
    timer::ticks_to_ns(ticks, freq)
}

fn tick_period() -> u64 {
    frequency() / HZ as u64
}

/// Starts this core's periodic tick.
pub fn start_tick() {
    crate::irq::enable(bsp::memory_map::irq::TIMER_EL1_PHYS);
    timer::arm_after(tick_period());
}

/// Timer interrupt handler: count the tick and re-arm.
pub fn tick_irq(_intid: u32) {
    timer::arm_after(tick_period());
    let ticks = crate::smp::this_cpu().ticks.fetch_add(1, Ordering::Relaxed) + 1;
    if crate::arch::cpu::core_id() == 0 {
        crate::heartbeat::tick(ticks);
        crate::printk::wake_up_klogd_work();
    }
    crate::sched::core::scheduler_tick(ticks);
}

/// Busy-waits until `deadline_ns` of uptime has passed or `done` returns true;
/// returns whether `done` did.
pub fn wait_until(deadline_ns: u64, mut done: impl FnMut() -> bool) -> bool {
    while uptime_ns() < deadline_ns {
        if done() {
            return true;
        }
        crate::arch::cpu::cpu_relax();
    }
    done()
}
