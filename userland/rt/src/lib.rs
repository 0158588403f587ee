//! `rt`: the runtime every user program links. It owns the process entry point (`_start`, which
//! reads argc/argv/envp from the initial stack and calls the program's `main` through [`entry!`]),
//! the raw `svc #0` system calls ([`sys`]) and safe wrappers over them that return
//! `Result<_, Errno>` ([`fs`], [`io`], [`process`], [`signal`], [`time`], [`tty`]), `print!`-style
//! macros on fds 1 and 2, a global allocator on `brk` with an `mmap` fallback ([`heap`]), and a panic
//! handler that prints the message and exits with status 101.
//!
//! Only the generic aarch64 Linux system-call numbers listed in `userland/README.md` are used, so a
//! program behaves the same on this project's kernel and under `qemu-aarch64` on Linux.
#![no_std]

extern crate alloc;

pub mod cstr;
pub mod fs;
#[cfg(not(test))]
pub mod heap;
pub mod io;
pub mod process;
pub mod signal;
pub mod start;
pub mod sys;
pub mod time;
pub mod tty;

pub use cstr::Bytes;
pub use start::{Args, Env};
pub use uparse::errno::Errno;

/// Result of a system call wrapper.
pub type Result<T> = core::result::Result<T, Errno>;

/// Declares the program's entry function, `fn main(args: rt::Args, env: rt::Env) -> i32`; its return
/// value becomes the exit status.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        /// Called by the runtime's `_start` once the arguments are known.
        #[no_mangle]
        pub fn __rt_main(args: $crate::Args, env: $crate::Env) -> i32 {
            let main: fn($crate::Args, $crate::Env) -> i32 = $main;
            main(args, env)
        }
    };
}

/// Prints to standard output (fd 1), ignoring errors such as a closed pipe.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {{ let _ = $crate::io::print_to(1, format_args!($($arg)*)); }};
}

/// Prints a line to standard output (fd 1).
#[macro_export]
macro_rules! println {
    () => {{ let _ = $crate::io::write_all(1, b"\n"); }};
    ($($arg:tt)*) => {{ let _ = $crate::io::print_to(1, format_args!("{}\n", format_args!($($arg)*))); }};
}

/// Prints to standard error (fd 2).
#[macro_export]
macro_rules! eprint {
    ($($arg:tt)*) => {{ let _ = $crate::io::print_to(2, format_args!($($arg)*)); }};
}

/// Prints a line to standard error (fd 2).
#[macro_export]
macro_rules! eprintln {
    () => {{ let _ = $crate::io::write_all(2, b"\n"); }};
    ($($arg:tt)*) => {{ let _ = $crate::io::print_to(2, format_args!("{}\n", format_args!($($arg)*))); }};
}

#[cfg(not(test))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    io::print_to(2, format_args!("panic: {}\n", info));
    process::exit(101)
}
