//! The load average (Linux: kernel/sched/loadavg.c): every 5 seconds the
//! number of runnable and uninterruptible tasks is folded into three
//! exponentially decaying averages (1, 5 and 15 minutes), in 11-bit fixed
//! point.

use core::sync::atomic::{AtomicU64, Ordering};

/// Fixed-point shift and one (Linux: FSHIFT, FIXED_1).
pub const FSHIFT: u32 = 11;
pub const FIXED_1: u64 = 1 << FSHIFT;
/// 1/exp(5s/1min), 1/exp(5s/5min), 1/exp(5s/15min) in fixed point.
const EXP: [u64; 3] = [1884, 2014, 2037];
/// Sampling period, ns.
pub const LOAD_FREQ_NS: u64 = 5_000_000_000;

static AVENRUN: [AtomicU64; 3] = [const { AtomicU64::new(0) }; 3];
static NEXT_SAMPLE: AtomicU64 = AtomicU64::new(LOAD_FREQ_NS);

/// One step of the average (Linux: `calc_load`).
pub const fn calc_load(load: u64, exp: u64, active: u64) -> u64 {
    let newload = load * exp + active * (FIXED_1 - exp);
    let newload = if active >= load { newload + FIXED_1 - 1 } else { newload };
    newload / FIXED_1
}

/// Folds `active` tasks in if a period has passed (called on CPU 0's tick).
pub fn sample(now_ns: u64, active: u64) {
    let next = NEXT_SAMPLE.load(Ordering::Relaxed);
    if now_ns < next {
        return;
    }
    NEXT_SAMPLE.store(next + LOAD_FREQ_NS, Ordering::Relaxed);
    for (avg, exp) in AVENRUN.iter().zip(EXP) {
        avg.store(calc_load(avg.load(Ordering::Relaxed), exp, active * FIXED_1), Ordering::Relaxed);
    }
}

/// The three averages, fixed point.
pub fn get() -> (u64, u64, u64) {
    (AVENRUN[0].load(Ordering::Relaxed), AVENRUN[1].load(Ordering::Relaxed), AVENRUN[2].load(Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converges_towards_the_active_count() {
        let mut load = 0;
        for _ in 0..12 * 15 {
            load = calc_load(load, EXP[0], 2 * FIXED_1);
        }
        assert!((2 * FIXED_1 - 8..=2 * FIXED_1).contains(&load), "{load}");
        for _ in 0..12 * 15 {
            load = calc_load(load, EXP[0], 0);
        }
        assert!(load < 8, "{load}");
    }

    #[test]
    fn one_minute_decay_matches_linux() {
        // After one minute (12 samples) of a single runnable task, Linux
        // shows 0.63 (1 - 1/e).
        let mut load = 0;
        for _ in 0..12 {
            load = calc_load(load, EXP[0], FIXED_1);
        }
        assert_eq!(load * 100 / FIXED_1, 63);
    }
}
