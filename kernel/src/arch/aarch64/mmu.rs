//! MMU control beyond boot.S: installing the kernel's final TTBR1 tables,
//! the user half (TTBR0: each address space's tables, tagged with its ASID)
//! and TLB maintenance by ASID on every core (Linux: arch/arm64/mm/context.c,
//! asm/tlbflush.h).

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

/// Replaces the boot identity map in TTBR0 with `reserved`, an empty table
/// (ASID 0), so a stray low address faults, and lets TTBR0 walks run for
/// the user address spaces to come (Linux: `cpu_set_reserved_ttbr0`).
pub fn install_reserved_ttbr0(reserved: u64) {
    set_ttbr0(reserved);
    TCR_EL1.modify(TCR_EL1::EPD0::EnableTTBR0Walks);
    // SAFETY: barriers and a local TLB flush have no memory-safety effect.
    unsafe { core::arch::asm!("isb", "tlbi vmalle1", "dsb nsh", "isb", options(nostack, preserves_flags)) };
}

/// Loads TTBR0_EL1 (table address | ASID << 48): the user address space of
/// the task about to run (Linux: `cpu_switch_mm`). Entries of other ASIDs
/// stay in the TLB: no flush is needed.
pub fn set_ttbr0(value: u64) {
    // SAFETY: TTBR0 maps only user addresses, which the kernel never uses
    // directly (see mm/uaccess.rs); the caller passes a valid table.
    unsafe { core::arch::asm!("msr ttbr0_el1, {}", "isb", in(reg) value, options(nostack, preserves_flags)) };
}

/// The TTBR0_EL1 value now in use on this core.
pub fn ttbr0() -> u64 {
    let v: u64;
    // SAFETY: reading a system register has no side effect.
    unsafe { core::arch::asm!("mrs {}, ttbr0_el1", out(reg) v, options(nomem, nostack, preserves_flags)) };
    v
}

/// Invalidates every TLB entry of `asid` on every core (TLBI ASIDE1IS).
pub fn flush_tlb_asid(asid: u16) {
    let operand = (asid as u64) << 48;
    // SAFETY: TLB maintenance and barriers change no memory.
    unsafe {
        core::arch::asm!("dsb ishst", "tlbi aside1is, {}", "dsb ish", "isb", in(reg) operand, options(nostack, preserves_flags))
    };
}

/// Invalidates the TLB entries for user page `va` of `asid` on every core
/// (TLBI VAE1IS) (Linux: `flush_tlb_page`).
pub fn flush_tlb_user_page(asid: u16, va: u64) {
    let operand = ((asid as u64) << 48) | ((va >> 12) & ((1 << 44) - 1));
    // SAFETY: TLB maintenance and barriers change no memory.
    unsafe {
        core::arch::asm!("dsb ishst", "tlbi vae1is, {}", "dsb ish", "isb", in(reg) operand, options(nostack, preserves_flags))
    };
}
