//! Architecture-specific code. Only AArch64 exists; generic code reaches it
//! through `crate::arch::*` so it never names a register itself.

pub mod aarch64;
pub use aarch64::*;
