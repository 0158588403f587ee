//! Signal dispositions and masks: `rt_sigaction` with the Linux aarch64 `struct sigaction`
//! `{handler, flags, restorer, mask}` and `SA_RESTORER` pointing at this crate's `rt_sigreturn` stub,
//! `rt_sigprocmask`, `rt_sigsuspend`.

use crate::sys::{self, check, syscall4};
use crate::Result;

pub use uparse::signal::*;

/// `sa_flags` bits.
pub const SA_NOCLDSTOP: u64 = 1;
pub const SA_SIGINFO: u64 = 4;
pub const SA_RESTORER: u64 = 0x0400_0000;
pub const SA_ONSTACK: u64 = 0x0800_0000;
pub const SA_RESTART: u64 = 0x1000_0000;
pub const SA_NODEFER: u64 = 0x4000_0000;
pub const SA_RESETHAND: u64 = 0x8000_0000;

/// `how` values for [`sigprocmask`].
pub const SIG_BLOCK: i32 = 0;
pub const SIG_UNBLOCK: i32 = 1;
pub const SIG_SETMASK: i32 = 2;

/// A set of signals 1..=64, bit `n - 1` for signal `n`.
pub type SigSet = u64;

/// The bit of `sig` in a [`SigSet`].
pub const fn bit(sig: i32) -> SigSet {
    1 << (sig - 1)
}

core::arch::global_asm!(
    ".section .text.__rt_sigreturn, \"ax\", %progbits",
    ".globl __rt_sigreturn",
    ".type __rt_sigreturn, %function",
    "__rt_sigreturn:",
    "mov x8, #139",
    "svc #0",
    "brk #0x1",
);

extern "C" {
    fn __rt_sigreturn();
}

/// What happens when a signal arrives.
#[derive(Clone, Copy, Debug)]
pub enum Disposition {
    Default,
    Ignore,
    /// Run this function (with the signal number) and return to the interrupted code.
    Handler(extern "C" fn(i32)),
}

#[repr(C)]
#[derive(Default)]
struct KernelSigaction {
    handler: usize,
    flags: u64,
    restorer: usize,
    mask: SigSet,
}

/// Sets the disposition of `sig`; handlers run with `SA_RESTART` and `mask` additionally blocked.
/// Returns the previous disposition (a previous `SA_SIGINFO` handler is reported as `Default`).
pub fn sigaction(sig: i32, disposition: Disposition, mask: SigSet) -> Result<Disposition> {
    sigaction_flags(sig, disposition, mask, SA_RESTART)
}

/// [`sigaction`] with explicit `sa_flags` (`SA_RESTORER` is always added).
pub fn sigaction_flags(sig: i32, disposition: Disposition, mask: SigSet, flags: u64) -> Result<Disposition> {
    let handler = match disposition {
        Disposition::Default => 0,
        Disposition::Ignore => 1,
        Disposition::Handler(f) => f as *const () as usize,
    };
    let new =
        KernelSigaction { handler, flags: SA_RESTORER | flags, restorer: __rt_sigreturn as *const () as usize, mask };
    let mut old = KernelSigaction::default();
    // SAFETY: both structs have the kernel's layout and live across the call; the handler (if any)
    // is an `extern "C" fn(i32)`, and the restorer performs rt_sigreturn as the kernel expects.
    check(unsafe {
        syscall4(
            sys::RT_SIGACTION,
            sig as usize,
            &new as *const KernelSigaction as usize,
            &mut old as *mut KernelSigaction as usize,
            8,
        )
    })?;
    Ok(match old.handler {
        0 => Disposition::Default,
        1 => Disposition::Ignore,
        _ if old.flags & SA_SIGINFO != 0 => Disposition::Default,
        // SAFETY: a non-SIGINFO handler address other than SIG_DFL/SIG_IGN was installed as such a fn.
        h => Disposition::Handler(unsafe { core::mem::transmute::<usize, extern "C" fn(i32)>(h) }),
    })
}

/// Changes the blocked-signal mask; returns the previous mask.
pub fn sigprocmask(how: i32, set: SigSet) -> Result<SigSet> {
    let mut old: SigSet = 0;
    // SAFETY: `set` and `old` are live 8-byte sigsets; sigsetsize is 8.
    check(unsafe {
        syscall4(sys::RT_SIGPROCMASK, how as usize, &set as *const SigSet as usize, &mut old as *mut SigSet as usize, 8)
    })?;
    Ok(old)
}

/// Waits for a signal with `mask` temporarily blocked; always returns `EINTR` after a handler ran.
pub fn sigsuspend(mask: SigSet) -> crate::Errno {
    // SAFETY: `mask` is a live 8-byte sigset.
    match check(unsafe { syscall4(sys::RT_SIGSUSPEND, &mask as *const SigSet as usize, 8, 0, 0) }) {
        Err(e) => e,
        Ok(_) => crate::Errno::EINTR,
    }
}
