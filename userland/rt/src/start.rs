//! Process entry. Linux (and this project's kernel) starts a program with `sp` pointing at
//! `argc, argv[0..argc], NULL, envp[..], NULL, auxv...`; `_start` hands that pointer to [`rt_start`],
//! which records argv/envp, calls the program's `__rt_main` (see [`crate::entry!`]) and passes its
//! return value to `exit_group`.

use crate::cstr::c_len;
use core::sync::atomic::{AtomicPtr, Ordering};

core::arch::global_asm!(
    ".section .text._start, \"ax\", %progbits",
    ".globl _start",
    ".type _start, %function",
    "_start:",
    // Outermost frame: no caller frame record, no return address.
    "mov x29, #0",
    "mov x30, #0",
    "mov x0, sp",
    "and x1, x0, #-16",
    "mov sp, x1",
    "bl {entry}",
    "brk #0x1",
    ".size _start, . - _start",
    entry = sym rt_start,
);

extern "Rust" {
    fn __rt_main(args: Args, env: Env) -> i32;
}

static ENVP: AtomicPtr<*const u8> = AtomicPtr::new(core::ptr::null_mut());

/// Called by `_start` with the initial stack pointer.
///
/// # Safety
/// `sp` must be the stack pointer the kernel started the process with.
unsafe extern "C" fn rt_start(sp: *const usize) -> ! {
    // SAFETY: the kernel's initial stack holds argc followed by argc argv pointers, a NULL, then envp.
    let (argc, argv, envp) = unsafe {
        let argc = *sp;
        let argv = sp.add(1) as *const *const u8;
        (argc, argv, argv.add(argc + 1))
    };
    ENVP.store(envp as *mut *const u8, Ordering::Relaxed);
    // SAFETY: `__rt_main` is defined by the program through `rt::entry!` with exactly this signature.
    let code = unsafe { __rt_main(Args { argc, argv }, Env { envp }) };
    crate::process::exit(code)
}

/// Reads NUL-terminated string `p` from the initial stack.
fn static_str(p: *const u8) -> &'static [u8] {
    // SAFETY: argv/envp strings are NUL-terminated, live for the whole process, and nothing writes them.
    unsafe { core::slice::from_raw_parts(p, c_len(p)) }
}

/// The command-line arguments (`argv`), as byte strings.
#[derive(Clone, Copy)]
pub struct Args {
    argc: usize,
    argv: *const *const u8,
}

impl Args {
    /// Number of arguments including the program name.
    pub fn len(&self) -> usize {
        self.argc
    }

    /// True when even the program name is missing (execve with an empty argv).
    pub fn is_empty(&self) -> bool {
        self.argc == 0
    }

    /// Argument `i` (0 is the program name).
    pub fn get(&self, i: usize) -> Option<&'static [u8]> {
        if i < self.argc {
            // SAFETY: i < argc, so argv[i] is one of the argument pointers on the initial stack.
            Some(static_str(unsafe { *self.argv.add(i) }))
        } else {
            None
        }
    }

    /// All arguments in order.
    pub fn iter(&self) -> impl Iterator<Item = &'static [u8]> + '_ {
        (0..self.argc).filter_map(|i| self.get(i))
    }

    /// All arguments, collected.
    pub fn to_vec(&self) -> alloc::vec::Vec<&'static [u8]> {
        self.iter().collect()
    }

    /// The program name for messages: argv[0] without its directory, or `default`.
    pub fn program_name(&self, default: &'static str) -> &'static [u8] {
        match self.get(0) {
            Some(p) if !p.is_empty() => p.rsplit(|&b| b == b'/').next().unwrap_or(p),
            _ => default.as_bytes(),
        }
    }
}

/// The environment (`envp`): `NAME=value` byte strings.
#[derive(Clone, Copy)]
pub struct Env {
    envp: *const *const u8,
}

impl Env {
    /// The environment the process started with.
    pub fn initial() -> Env {
        Env { envp: ENVP.load(Ordering::Relaxed) }
    }

    /// Every `NAME=value` entry.
    pub fn iter(&self) -> impl Iterator<Item = &'static [u8]> {
        let mut p = self.envp;
        core::iter::from_fn(move || {
            if p.is_null() {
                return None;
            }
            // SAFETY: envp is a NULL-terminated array on the initial stack; we stop at the NULL.
            let s = unsafe { *p };
            if s.is_null() {
                return None;
            }
            // SAFETY: not yet past the terminating NULL, so the next slot exists.
            p = unsafe { p.add(1) };
            Some(static_str(s))
        })
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &[u8]) -> Option<&'static [u8]> {
        self.iter().find_map(|e| e.strip_prefix(name).and_then(|rest| rest.strip_prefix(b"=")))
    }
}
