//! Trace events (Linux: kernel/trace/, include/trace/events/sched.h,
//! signal.h, task.h; reduced): the process lifecycle as it happens.
//!
//! Each tracepoint is a function that tests one flag (`EFFECTIVE[event]`,
//! set when the event is enabled and tracing is on) and, only if set, calls
//! the cold recording path: a disabled event costs one load and one
//! predictable branch. A record goes into the ring of the CPU it happens
//! on ([`ring::Ring`], fixed-size entries, the oldest overwritten when
//! full), with the uptime in ns, the current task, and the flags column
//! (`d` IRQs off, `N` reschedule pending). The rings get their memory the
//! first time an event is enabled.
//!
//! Readers: `/sys/kernel/tracing` ([`tracefs`]: `trace`, `trace_pipe`,
//! `tracing_on`, `events/.../enable`) and the debug monitor's `trace`
//! command. Lines are Linux's text format:
//! `      sh-4       [001] d...    12.345678: sched_process_fork: comm=sh pid=4 child_comm=sh child_pid=9`.
//!
//! Locks: each CPU's ring has its own IRQ-safe lock, a leaf: a tracepoint
//! takes it inside any other lock (run queues, TASKLIST), and nothing is
//! taken while it is held but a task's `comm` lock, also a leaf. Readers
//! of `trace_pipe` poll (every 10 ms) instead of being woken, so a
//! tracepoint never wakes anyone.

#[cfg(target_os = "none")]
mod events;
pub mod ring;
#[cfg(target_os = "none")]
pub mod tracefs;

#[cfg(target_os = "none")]
pub use events::*;
