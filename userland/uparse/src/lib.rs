//! Logic of the user programs that needs neither the kernel nor the hardware, so that it builds and is
//! unit-tested on the host as well as linked into the aarch64 programs: the shell's grammar
//! ([`shell`]), Linux's `/proc/<pid>/stat` line ([`procstat`]), signal names ([`signal`]), errno names
//! and texts ([`errno`]), number parsing ([`num`]) and strace's decoding of system calls ([`strace`]).
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod errno;
pub mod num;
pub mod procstat;
pub mod shell;
pub mod signal;
pub mod strace;
