//! Process scheduling (Linux: kernel/sched/).
//!
//! - `fair`: the CFS arithmetic and run queue (pure, host-tested).

pub mod fair;
