//! Exception handling (Linux: arch/arm64/kernel/entry-common.c, traps.c,
//! arch/arm64/mm/fault.c).
//!
//! `exception.S` saves a [`TrapFrame`] and calls [`el0_sync`] for a
//! synchronous exception from user mode (system calls, user faults), or
//! [`exception_dispatch`] with the vector slot for anything else. IRQs go to
//! the generic IRQ layer. From user mode (EL0), `svc`
//! is a system call, an abort is a page fault for the task's address space
//! (SIGSEGV when it cannot be resolved), and anything else becomes the
//! signal Linux sends for it; on the way back, pending work (rescheduling,
//! signals) is done. A synchronous exception from the kernel itself is a
//! kernel bug: it is reported with the decoded ESR, the fault address and
//! the registers, and ends in a panic (with a backtrace).

use super::esr::Esr;
use aarch64_cpu::registers::{ESR_EL1, FAR_EL1};
use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};
use tock_registers::interfaces::Readable;

core::arch::global_asm!(
    include_str!("exception.S"),
    STACK_SHIFT = const crate::smp::STACK_SHIFT,
    STACK_SLOT_SHIFT = const crate::smp::STACK_SLOT.trailing_zeros(),
    OVERFLOW_STACK_SIZE = const crate::smp::OVERFLOW_STACK_SIZE,
    OVERFLOW_SLOT = const OVERFLOW_SLOT,
);

/// The pseudo vector slot `exception.S` reports a kernel stack overflow as.
const OVERFLOW_SLOT: u64 = 16;

/// Registers saved on exception entry; layout shared with `exception.S`.
#[repr(C)]
pub struct TrapFrame {
    /// x0-x30.
    pub regs: [u64; 31],
    pub sp_el0: u64,
    pub elr: u64,
    pub spsr: u64,
}

const _: () = assert!(core::mem::size_of::<TrapFrame>() == 272);

/// The 16 vector slots: (which stack / where from, kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Sync,
    Irq,
    Fiq,
    SError,
}

fn slot_kind(slot: u64) -> Kind {
    match slot % 4 {
        0 => Kind::Sync,
        1 => Kind::Irq,
        2 => Kind::Fiq,
        _ => Kind::SError,
    }
}

fn slot_origin(slot: u64) -> &'static str {
    match slot / 4 {
        0 => "EL1 with SP_EL0",
        1 => "EL1",
        2 => "EL0 (AArch64)",
        _ => "EL0 (AArch32)",
    }
}

impl fmt::Display for TrapFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "  ELR  {:#018x}  SPSR {:#010x}  SP_EL0 {:#018x}", self.elr, self.spsr, self.sp_el0)?;
        for (i, pair) in self.regs.chunks(2).enumerate() {
            write!(f, "  x{:<2} {:#018x}", 2 * i, pair[0])?;
            if let Some(r) = pair.get(1) {
                write!(f, "  x{:<2} {:#018x}", 2 * i + 1, r)?;
            }
            f.write_str("\n")?;
        }
        Ok(())
    }
}

/// Rust entry from the vector table.
#[no_mangle]
extern "C" fn exception_dispatch(frame: &mut TrapFrame, slot: u64) {
    match (slot / 4, slot_kind(slot)) {
        _ if slot == OVERFLOW_SLOT => report_stack_overflow(frame),
        (1, Kind::Irq) => {
            crate::irq::handle_irq();
            crate::sched::core::preempt_irq_exit();
        }
        (2, Kind::Irq) => {
            let core = super::cpu::core_id();
            IRQ_FROM_USER[core].store(true, Ordering::Relaxed);
            crate::irq::handle_irq();
            IRQ_FROM_USER[core].store(false, Ordering::Relaxed);
            exit_to_user_mode(frame, false);
        }
        // (exception.S calls el0_sync itself; this arm is never taken.)
        (2, Kind::Sync) => el0_sync(frame),
        (1, Kind::Sync) if user_access_fault(frame) => {}
        (_, Kind::Sync) => {
            let esr = Esr(ESR_EL1.get());
            let far = FAR_EL1.get();
            report_and_panic(frame, slot, Some((esr, far)));
        }
        _ => report_and_panic(frame, slot, None),
    }
}

/// SPSR's IRQ mask bit.
const SPSR_I: u64 = 1 << 7;

/// A data abort in the kernel on a user access of uaccess.S: faulted in and
/// retried, or sent to the access's fixup (the copy returns what it did
/// not copy). False for any other exception, a kernel bug.
fn user_access_fault(frame: &mut TrapFrame) -> bool {
    use super::esr::{ExceptionClass, FaultStatus};
    let esr = Esr(ESR_EL1.get());
    if esr.class() != ExceptionClass::DataAbortCurrentEl {
        return false;
    }
    let resolvable = matches!(
        esr.fault_status(),
        Some(FaultStatus::Translation { .. } | FaultStatus::AccessFlag { .. } | FaultStatus::Permission { .. })
    );
    let write = esr.is_write() == Some(true);
    let far = FAR_EL1.get();
    // The fault may sleep (a page to allocate, the OOM killer) if the code
    // that faulted could (Linux's do_page_fault: local_irq_enable when the
    // interrupted context had IRQs on); the exception return masks them
    // again from SPSR.
    if frame.spsr & SPSR_I == 0 {
        super::cpu::local_irq_enable();
    }
    let fixed = super::uaccess::fixup_user_access(frame.elr, far, write, resolvable);
    super::cpu::local_irq_disable();
    match fixed {
        Some(pc) => {
            frame.elr = pc;
            true
        }
        None => false,
    }
}

/// Per core: the IRQ being handled interrupted user mode (for user-time
/// accounting on the tick).
static IRQ_FROM_USER: [AtomicBool; crate::config::NR_CPUS] = [const { AtomicBool::new(false) }; crate::config::NR_CPUS];

/// Whether the interrupt being handled on this core came from user mode.
pub fn irq_from_user() -> bool {
    IRQ_FROM_USER[super::cpu::core_id()].load(Ordering::Relaxed)
}

/// A synchronous exception from EL0 (Linux: `el0t_64_sync_handler`),
/// called by `exception.S` directly.
#[no_mangle]
extern "C" fn el0_sync(frame: &mut TrapFrame) {
    use super::esr::ExceptionClass::*;
    let esr = Esr(ESR_EL1.get());
    // A system call, the common case, before decoding anything else.
    if esr.is_svc64() {
        // System calls may sleep.
        super::cpu::local_irq_enable();
        // rt_sigreturn's x0 is the interrupted code's, not a result.
        let restartable = crate::syscall::invoke(frame);
        return exit_to_user_mode(frame, restartable);
    }
    // Read before anything can take another exception.
    let far = FAR_EL1.get();
    // The handlers may sleep (page allocation).
    super::cpu::local_irq_enable();
    match esr.class() {
        DataAbortLowerEl | InstructionAbortLowerEl => do_page_fault(frame, esr, far),
        PcAlignment | SpAlignment => user_fault(frame, esr, crate::signal::SIGBUS, 1, far),
        SoftwareStepLowerEl if crate::ptrace::single_step_trap(frame.elr) => {}
        BreakpointLowerEl | SoftwareStepLowerEl | WatchpointLowerEl | Brk => {
            user_fault(frame, esr, crate::signal::SIGTRAP, 1, frame.elr)
        }
        _ => user_fault(frame, esr, crate::signal::SIGILL, 1, frame.elr),
    }
    exit_to_user_mode(frame, false);
}

/// A user page fault (Linux: `do_page_fault`): resolved by the address
/// space, or SIGSEGV.
fn do_page_fault(frame: &mut TrapFrame, esr: Esr, far: u64) {
    use crate::mm::mm_struct::Access;
    let access = if esr.class() == super::esr::ExceptionClass::InstructionAbortLowerEl {
        Access::Exec
    } else if esr.is_write() == Some(true) && esr.iss() & (1 << 8) == 0 {
        Access::Write // (cache maintenance reports WnR = 1 but only reads)
    } else {
        Access::Read
    };
    // Only translation, access-flag and permission faults are the address
    // space's to resolve; retrying any other abort would fault forever
    // (Linux: the fault_info table of arch/arm64/mm/fault.c).
    use super::esr::FaultStatus;
    match esr.fault_status() {
        Some(FaultStatus::Translation { .. } | FaultStatus::AccessFlag { .. } | FaultStatus::Permission { .. }) => {}
        Some(FaultStatus::Alignment) => {
            return user_fault(frame, esr, crate::signal::SIGBUS, crate::signal::BUS_ADRALN, far)
        }
        Some(FaultStatus::SynchronousExternal) => {
            return user_fault(frame, esr, crate::signal::SIGBUS, crate::signal::BUS_OBJERR, far)
        }
        _ => return user_fault(frame, esr, crate::signal::SIGSEGV, crate::signal::SEGV_MAPERR, far),
    }
    let me = crate::sched::task::current();
    let Some(mm) = me.own_mm() else {
        return user_fault(frame, esr, crate::signal::SIGSEGV, crate::signal::SEGV_MAPERR, far);
    };
    match mm.handle_mm_fault(far, access) {
        Ok(()) => {}
        Err(crate::errno::Errno::ENOMEM) => {
            // No page: the OOM killer makes room (possibly by killing this
            // task) and the instruction faults again (Linux:
            // VM_FAULT_OOM -> pagefault_out_of_memory).
            crate::mm::oom_kill::pagefault_out_of_memory();
        }
        Err(_) => {
            let code = if mm.lock().vmas.find(far).is_some() {
                crate::signal::SEGV_ACCERR
            } else {
                crate::signal::SEGV_MAPERR
            };
            user_fault(frame, esr, crate::signal::SIGSEGV, code, far)
        }
    }
}

/// Fault reports let through (Linux: `show_unhandled_signals_ratelimited`).
static UNHANDLED_RATELIMIT: crate::printk::RateLimit = crate::printk::RateLimit::new();

/// Sends the process `sig` for a fault it caused; the kernel carries on
/// (Linux: `arm64_force_sig_fault`). A fault that no handler will catch is
/// reported (Linux: `arm64_show_signal` under `show_unhandled_signals`),
/// at most 10 reports in 5 seconds, at debug level: `dmesg` has them, the
/// console shows them only with `log=debug`, so a program crashing in a
/// loop neither floods the console nor wipes the boot log.
fn user_fault(frame: &TrapFrame, esr: Esr, sig: i32, code: i32, addr: u64) {
    let me = crate::sched::task::current();
    if unhandled_signal(me, sig) {
        let verdict = UNHANDLED_RATELIMIT.check(crate::time::uptime_ns());
        if verdict.suppressed != 0 {
            crate::logger::log_kept(
                log::Level::Debug,
                format_args!("user_fault: {} unhandled-fault reports suppressed", verdict.suppressed),
            );
        }
        if verdict.allowed {
            crate::logger::log_kept(
                log::Level::Debug,
                format_args!(
                    "{}[{}]: unhandled {} at {addr:#x}, pc {:#x}, sp {:#x}: signal {sig}",
                    me.comm(),
                    me.pid(),
                    esr.class().name(),
                    frame.elr,
                    frame.sp_el0
                ),
            );
        }
    }
    crate::signal::force_sig_fault(sig, code, addr);
}

/// Whether `sig` will end `t` rather than run a handler (Linux:
/// `unhandled_signal`): init always counts; a traced task's tracer decides.
fn unhandled_signal(t: crate::sched::task::TaskRef, sig: i32) -> bool {
    if t.tgid() == crate::exit::INIT_PID {
        return true;
    }
    let handler = t.sighand().map_or(crate::signal::SIG_DFL, |h| h.get(sig).handler);
    let blocked = t.blocked.load(Ordering::Relaxed) & crate::signal::sigmask(sig) != 0;
    (handler == crate::signal::SIG_DFL || handler == crate::signal::SIG_IGN || blocked) && !crate::ptrace::is_traced(t)
}

/// The way back to user mode (Linux: `exit_to_user_mode`): pending work
/// with IRQs enabled, then IRQs masked for the register restore, checking
/// again so nothing that arrived meanwhile waits for the next exception.
///
/// The common case, nothing to do, costs one load of the task's work flags
/// (`tif::WORK_MASK`, Linux: `_TIF_WORK_MASK`) and one of this CPU's
/// `need_resched`; a system call's result is looked at only when it asks
/// for a restart (ERESTART*), which a signal's verdict decides.
#[inline(always)]
fn exit_to_user_mode(frame: &mut TrapFrame, syscall: bool) {
    use crate::sched::task::tif;
    super::cpu::local_irq_disable();
    let me = crate::sched::task::current();
    if me.thread_flags.load(Ordering::Relaxed) & tif::WORK_MASK == 0
        && !crate::sched::core::need_resched()
        && !(syscall && crate::errno::Errno::restart_request(frame.regs[0] as i64).is_some())
    {
        crate::ptrace::user_return(me, frame);
        return;
    }
    exit_to_user_mode_loop(frame, syscall);
}

/// [`exit_to_user_mode`] with work to do (Linux: `exit_to_user_mode_loop`),
/// out of line so the common case stays a few instructions. Entered with
/// IRQs masked.
#[cold]
#[inline(never)]
fn exit_to_user_mode_loop(frame: &mut TrapFrame, syscall: bool) {
    use crate::sched::task::tif;
    let mut syscall = syscall && crate::errno::Errno::restart_request(frame.regs[0] as i64).is_some();
    loop {
        let me = crate::sched::task::current();
        let flags = me.thread_flags.load(Ordering::Relaxed);
        let signal_work = flags & tif::WORK_MASK != 0 && signal_work_pending(me);
        if !signal_work && !crate::sched::core::need_resched() && !syscall {
            crate::ptrace::user_return(me, frame);
            return;
        }
        super::cpu::local_irq_enable();
        crate::signal::do_notify_resume(frame, syscall);
        syscall = false;
        super::cpu::local_irq_disable();
    }
}

/// Whether `me` has signal work for the way back to user mode: a signal it
/// does not block, a stopped group, a sigsuspend mask to put back. Clears
/// `tif::SIGPENDING` first and sets it again when anything at all is
/// pending, blocked signals included (a mask change may expose them later
/// without telling anyone), so the flag is clear only while nothing is
/// queued; whoever queues work sets the flag after queueing, and so is
/// never lost between the clearing and the look.
fn signal_work_pending(me: crate::sched::task::TaskRef) -> bool {
    use crate::sched::task::tif;
    me.thread_flags.fetch_and(!tif::SIGPENDING, Ordering::SeqCst);
    let signal = me.own_signal();
    let group_stopped = signal.is_some_and(|s| s.stopped.load(Ordering::SeqCst));
    // A traced thread that has reported the group stop runs on.
    let stop = group_stopped && signal.is_some_and(|s| crate::ptrace::group_stop_pending(me, s));
    let shared = signal.map_or(0, |s| s.shared_pending.signal.load(Ordering::SeqCst));
    let queued = me.pending.signal.load(Ordering::SeqCst) | shared;
    // A sigsuspend mask to put back, even when its signal was taken by
    // another thread meanwhile.
    let mask_to_restore = me.restore_sigmask.load(Ordering::Relaxed);
    if queued != 0 || group_stopped || mask_to_restore || crate::ptrace::trap_pending(me) {
        me.set_thread_flag(tif::SIGPENDING);
    }
    stop || mask_to_restore || crate::sched::task::signal_pending()
}

/// A new user task's first return to user mode (switch.S `ret_from_fork`).
#[no_mangle]
extern "C" fn ret_from_fork_user(frame: &mut TrapFrame) {
    exit_to_user_mode(frame, false);
}

fn report_stack_overflow(frame: &TrapFrame) -> ! {
    use core::fmt::Write;
    let core = super::cpu::core_id();
    let (low, high) = crate::smp::current_stack_bounds();
    let mut out = crate::console::panic_writer();
    let _ = writeln!(
        out,
        "\nKernel stack overflow on core {core}: stack pointer {:#x} below the stack {low:#x}-{high:#x}",
        frame.regs[0] + FRAME_SIZE
    );
    let _ = writeln!(out, "  (x0 in the registers below is that stack pointer)");
    if let Some(far) = (Esr(ESR_EL1.get()).class().far_valid()).then(|| FAR_EL1.get()) {
        let _ = writeln!(out, "  FAR  {far:#018x}");
    }
    let _ = write!(out, "{frame}");
    drop(out);
    panic!("kernel stack overflow");
}

/// Bytes a trap frame takes on the stack.
const FRAME_SIZE: u64 = core::mem::size_of::<TrapFrame>() as u64;

fn report_and_panic(frame: &TrapFrame, slot: u64, sync: Option<(Esr, u64)>) -> ! {
    let core = super::cpu::core_id();
    let origin = slot_origin(slot);
    let mut out = crate::console::panic_writer();
    use core::fmt::Write;
    let _ = match sync {
        Some((esr, far)) => {
            let _ = writeln!(out, "\nUnhandled synchronous exception from {origin} on core {core}");
            let _ = writeln!(out, "  {esr}");
            if esr.class().far_valid() {
                let _ = writeln!(out, "  FAR  {far:#018x}");
                if crate::smp::in_stack_guard(core, far as usize) || crate::mm::vmstack::in_stack_guard(far as usize) {
                    let _ = writeln!(out, "  (a stack guard: a kernel stack overflow)");
                }
            }
            write!(out, "{frame}")
        }
        None => {
            let kind = slot_kind(slot);
            let _ = writeln!(out, "\nUnexpected {kind:?} exception from {origin} on core {core}");
            write!(out, "{frame}")
        }
    };
    drop(out);
    panic!("fatal exception in kernel mode at {:#x}", frame.elr);
}
