//! Process scheduling (Linux: kernel/sched/).
//!
//! - `fair`: the CFS arithmetic and run queue (pure, host-tested).

pub mod fair;
pub mod loadavg;

#[cfg(target_os = "none")]
pub mod core;
#[cfg(target_os = "none")]
pub mod cputime;
#[cfg(target_os = "none")]
pub mod mutex;
#[cfg(target_os = "none")]
pub mod task;
#[cfg(target_os = "none")]
pub mod wait;
