//! Small data structures with no hardware dependencies.

pub mod gzip;
pub mod list;
pub mod logring;
pub mod ringbuf;
pub mod string;
