//! MMU control beyond boot.S: installing the kernel's final TTBR1 tables and
//! turning off TTBR0 walks until user address spaces exist.

use aarch64_cpu::registers::TCR_EL1;
use tock_registers::interfaces::ReadWriteable;

extern "C" {
    fn switch_ttbr1_identity(table_pa: u64);
}

/// Installs the translation table at `table_pa` in TTBR1_EL1 on this core.
///
/// # Safety
/// The new table must map the kernel image, its stacks and every address in
/// use at the same physical addresses as the current one, and the boot identity
/// map must still be live in TTBR0.
pub unsafe fn switch_kernel_table(table_pa: u64) {
    let entry_pa = crate::mm::virt_to_phys(switch_ttbr1_identity as *const () as usize);
    // SAFETY: the routine is position-independent and identity-mapped through
    // TTBR0, so it keeps running while TTBR1 changes; the caller guarantees the
    // new table maps what this core uses once it returns to the upper half.
    unsafe {
        let at_pa: extern "C" fn(u64) = core::mem::transmute(entry_pa as usize);
        at_pa(table_pa);
    }
}

/// Makes page-table writes visible to the table walkers of every core before
/// the new mappings are used (DSB ISHST; ISB).
pub fn publish_table_updates() {
    // SAFETY: barriers have no memory-safety effect.
    unsafe { core::arch::asm!("dsb ishst", "isb", options(nostack, preserves_flags)) };
}

/// Invalidates the TLB entries for the kernel page at `va` on every core
/// (TLBI VAAE1IS: all ASIDs, inner shareable) and waits for completion.
pub fn flush_kernel_page(va: usize) {
    let operand = (va >> 12) & ((1 << 44) - 1);
    // SAFETY: TLB maintenance and barriers change no memory.
    unsafe {
        core::arch::asm!("dsb ishst", "tlbi vaae1is, {}", "dsb ish", "isb", in(reg) operand, options(nostack, preserves_flags))
    };
}

/// Stops translation table walks through TTBR0 on this core (TCR_EL1.EPD0),
/// so a stray low address faults instead of hitting the boot identity map.
pub fn disable_low_half() {
    TCR_EL1.modify(TCR_EL1::EPD0::DisableTTBR0Walks);
    // SAFETY: barriers and a local TLB flush have no memory-safety effect.
    unsafe { core::arch::asm!("isb", "tlbi vmalle1", "dsb nsh", "isb", options(nostack, preserves_flags)) };
}
