//! The kernel panic handler: report the message, the core and a backtrace,
//! stop every other core, and halt (Linux: `panic()` with `panic=0`).

use crate::arch::{backtrace, cpu};
use core::fmt::Write;
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicUsize, Ordering};

/// 0 while no core is panicking, else the panicking core's number + 1.
static PANICKING: AtomicUsize = AtomicUsize::new(0);

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    cpu::local_irq_disable();
    let core = cpu::core_id();
    if let Err(owner) = PANICKING.compare_exchange(0, core + 1, Ordering::AcqRel, Ordering::Acquire) {
        if owner == core + 1 {
            // A panic while reporting a panic: say so briefly and stop.
            let _ = writeln!(crate::console::panic_writer(), "\nnested panic on core {core}: {}", info.message());
        }
        cpu::halt();
    }
    let (asked, still_running) = crate::smp::stop_other_cpus();

    let mut out = crate::console::panic_writer();
    let _ = writeln!(out, "\nKernel panic on core {core}: {}", info.message());
    if let Some(loc) = info.location() {
        let _ = writeln!(out, "  at {}:{}:{}", loc.file(), loc.line(), loc.column());
    }
    let _ = write!(out, "Stopped cores:");
    for c in (0..crate::config::NR_CPUS).filter(|c| (asked & !still_running) & (1 << c) != 0) {
        let _ = write!(out, " {c}");
    }
    let _ = writeln!(out);
    if still_running != 0 {
        let _ = writeln!(out, "Cores that did not stop (mask): {still_running:#x}");
    }
    let _ = writeln!(out, "Call trace:");
    let stacks = [crate::smp::current_stack_bounds(), crate::smp::overflow_stack_bounds(core)];
    let on_stack = |addr: usize| stacks.iter().any(|&(low, high)| addr >= low && addr + 16 <= high);
    let read = |addr: usize| {
        // SAFETY: `walk` only reads addresses `on_stack` accepts: the current
        // stack and this core's overflow stack, both mapped while we run.
        unsafe { (addr as *const usize).read_volatile() }
    };
    let frames = backtrace::walk(cpu::frame_pointer(), on_stack, read, |pc| {
        let _ = writeln!(out, "  [<{pc:#018x}>]");
    });
    if frames == 0 {
        let _ = writeln!(out, "  (no frames)");
    }
    let _ = writeln!(out, "---[ end Kernel panic ]---");
    cpu::halt()
}
