//! Small data structures with no hardware dependencies.

pub mod ringbuf;
