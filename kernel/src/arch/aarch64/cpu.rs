//! Per-core CPU primitives: which core this is, the exception level, waiting
//! for interrupts, and masking IRQs (Linux: `local_irq_save`/`restore`).
//!
//! On the host (unit tests) the interrupt mask is a no-op and the core is 0,
//! so lock-using logic can be tested without hardware.
//!
//! Masking, unmasking and WFI are compiler barriers (no `nomem`): the compiler
//! must not move memory accesses across them, or a lock could be taken before
//! IRQs are masked or released after they are unmasked.

/// Number of the executing core (MPIDR_EL1.Aff0; 0..=3 on a Pi 4).
#[inline(always)]
pub fn core_id() -> usize {
    #[cfg(target_os = "none")]
    {
        let mpidr: u64;
        // SAFETY: reading MPIDR_EL1 has no side effects.
        unsafe { core::arch::asm!("mrs {}, mpidr_el1", out(reg) mpidr, options(nomem, nostack, preserves_flags)) };
        (mpidr & 0xff) as usize
    }
    #[cfg(not(target_os = "none"))]
    0
}

/// The current exception level (1 for the kernel).
#[cfg(target_os = "none")]
pub fn current_el() -> u8 {
    let el: u64;
    // SAFETY: reading CurrentEL has no side effects.
    unsafe { core::arch::asm!("mrs {}, CurrentEL", out(reg) el, options(nomem, nostack, preserves_flags)) };
    ((el >> 2) & 3) as u8
}

/// Waits for an interrupt (idle).
#[cfg(target_os = "none")]
#[inline(always)]
pub fn wait_for_interrupt() {
    // SAFETY: WFI only suspends the core until an interrupt or event.
    unsafe { core::arch::asm!("wfi", options(nostack, preserves_flags)) };
}

/// Saved interrupt-mask state, returned by [`local_irq_save`].
#[derive(Clone, Copy)]
#[cfg_attr(not(target_os = "none"), allow(dead_code))]
pub struct IrqFlags(u64);

impl IrqFlags {
    /// Whether IRQs were masked when this was saved (DAIF.I).
    pub fn irqs_were_masked(self) -> bool {
        self.0 & (1 << 7) != 0
    }
}

/// Masks IRQs on this core and returns the previous mask state.
#[inline(always)]
pub fn local_irq_save() -> IrqFlags {
    #[cfg(target_os = "none")]
    {
        let daif: u64;
        // SAFETY: reads DAIF and sets the I bit; only this core's interrupt mask changes.
        unsafe {
            core::arch::asm!("mrs {}, daif", "msr daifset, #2", out(reg) daif, options(nostack, preserves_flags))
        };
        IrqFlags(daif)
    }
    #[cfg(not(target_os = "none"))]
    IrqFlags(0)
}

/// Restores the interrupt mask saved by [`local_irq_save`].
#[inline(always)]
pub fn local_irq_restore(flags: IrqFlags) {
    #[cfg(target_os = "none")]
    // SAFETY: writes back a DAIF value previously read on this core.
    unsafe {
        core::arch::asm!("msr daif, {}", in(reg) flags.0, options(nostack, preserves_flags))
    };
    #[cfg(not(target_os = "none"))]
    let _ = flags;
}

/// The pause in a busy-wait loop (Linux: `cpu_relax`, YIELD on arm64): a
/// hint that this core only waits, which lets a multithreaded core, or an
/// emulator that runs several virtual cores on one host thread (QEMU with
/// `-icount`), run the one being waited for first.
#[inline(always)]
pub fn cpu_relax() {
    #[cfg(target_os = "none")]
    // SAFETY: a hint instruction; it changes no state.
    unsafe {
        core::arch::asm!("yield", options(nomem, nostack, preserves_flags))
    };
    #[cfg(not(target_os = "none"))]
    core::hint::spin_loop();
}

/// Whether IRQs are masked on this core (inside an `IrqSpinLock`, an
/// interrupt handler, or early boot): the caller must not sleep.
#[inline(always)]
pub fn irqs_disabled() -> bool {
    #[cfg(target_os = "none")]
    {
        let daif: u64;
        // SAFETY: reads DAIF; changes nothing.
        unsafe { core::arch::asm!("mrs {}, daif", out(reg) daif, options(nomem, nostack, preserves_flags)) };
        daif & (1 << 7) != 0
    }
    #[cfg(not(target_os = "none"))]
    false
}

/// Unmasks IRQs on this core.
#[cfg(target_os = "none")]
#[inline(always)]
pub fn local_irq_enable() {
    // SAFETY: clears the I bit of DAIF; handlers are installed before any core calls this.
    unsafe { core::arch::asm!("msr daifclr, #2", options(nostack, preserves_flags)) };
}

/// Masks IRQs on this core.
#[cfg(target_os = "none")]
#[inline(always)]
pub fn local_irq_disable() {
    // SAFETY: sets the I bit of DAIF.
    unsafe { core::arch::asm!("msr daifset, #2", options(nostack, preserves_flags)) };
}

/// Stops this core for good: IRQs masked, waiting forever.
#[cfg(target_os = "none")]
pub fn halt() -> ! {
    local_irq_disable();
    loop {
        wait_for_interrupt();
    }
}

/// The frame pointer (x29) of the caller, where a backtrace starts.
#[cfg(target_os = "none")]
#[inline(always)]
pub fn frame_pointer() -> usize {
    let fp: usize;
    // SAFETY: copies x29; no memory is touched.
    unsafe { core::arch::asm!("mov {}, x29", out(reg) fp, options(nomem, nostack, preserves_flags)) };
    fp
}
