// Kernel entry (Linux: arch/arm64/kernel/head.S).
//
// The firmware, or QEMU's -kernel with a raw image, starts core 0 at physical
// 0x80000 with the MMU off, at EL2 (EL3 when started from an ELF); x0 holds the
// FDT address, or on QEMU without -dtb the ATAG address 0x100. Cores 1-3 wait in
// the firmware's spin table until smp.rs releases them to _secondary_start.
//
// Both paths drop to EL1, take a per-core boot stack, turn the MMU on with the
// boot page tables and jump to Rust at the kernel's upper-half link address:
//   TTBR0 -> boot_l0: identity map of the first GiB (so the PC stays valid while
//            the MMU comes on) and of the peripheral GiB;
//   TTBR1 -> the same tables for core 0 (VA = PA + KERNEL_VA_BASE), or the final
//            kernel tables built by mm/kmap.rs for secondary cores.
// Only PC-relative addressing (adr/adrp) is used before the MMU is on, so this
// code runs at its physical address although it is linked in the upper half.

.equ KERNEL_VA_BASE,    0xFFFF000000000000

// MAIR_EL1: attr0 Device-nGnRE, attr1 Normal write-back RW-allocate, attr2 Normal non-cacheable.
.equ MAIR_VALUE,        0x44FF04
// TCR_EL1: 48-bit VA in both halves, 4 KiB granule, walks inner/outer write-back and
// inner shareable, 16-bit ASIDs; IPS is filled in from ID_AA64MMFR0_EL1 at run time.
.equ TCR_T0SZ,          16
.equ TCR_T1SZ,          (16 << 16)
.equ TCR_WALK0,         ((1 << 8) | (1 << 10) | (3 << 12))
.equ TCR_WALK1,         ((1 << 24) | (1 << 26) | (3 << 28))
.equ TCR_TG1_4K,        (2 << 30)
.equ TCR_AS16,          (1 << 36)
.equ TCR_VALUE,         (TCR_T0SZ | TCR_T1SZ | TCR_WALK0 | TCR_WALK1 | TCR_TG1_4K | TCR_AS16)
// SCTLR_EL1: RES1 bits with the MMU and caches off; then M | C | SA | I, and
// UCT (15) and UCI (26), which let EL0 read CTR_EL0 and clean and invalidate
// caches by address, as Linux allows: a program that writes code (a JIT, a
// loader, libgcc's __clear_cache) makes it visible itself.
.equ SCTLR_EL1_RES1,    0x30D00800
.equ SCTLR_EL2_RES1,    0x30C50830
.equ SCTLR_MMU_CACHES,  ((1 << 0) | (1 << 2) | (1 << 3) | (1 << 12) | (1 << 15) | (1 << 26))
// Block descriptors for the boot tables: normal memory RWX at EL1, and device memory XN.
.equ BLOCK_NORMAL,      (1 | (1 << 2) | (3 << 8) | (1 << 10))
.equ BLOCK_DEVICE,      (1 | (0 << 2) | (1 << 10) | (1 << 53) | (1 << 54))
.equ PERIPHERAL_GIB,    0xC0000000

.macro adr_pa reg, sym
    adrp    \reg, \sym
    add     \reg, \reg, #:lo12:\sym
.endm

// Records the exception level this core was entered at in boot_entry_el[core].
// The line is invalidated afterwards: the write went to memory with the MMU off,
// and core 0 may hold a stale cached copy. Clobbers x1-x3.
.macro record_entry_el
    mrs     x1, mpidr_el1
    and     x1, x1, #0xff
    mrs     x2, CurrentEL
    lsr     x2, x2, #2
    adr_pa  x3, boot_entry_el
    strb    w2, [x3, x1]
    dsb     sy                          // the store reaches memory before the invalidate
    dc      ivac, x3
    dsb     sy
.endm

// With the MMU on and still running at the physical address: move the stack
// and the vectors to their upper-half addresses and jump to the Rust entry
// \target at its link address, with x0 = x19.
.macro enter_upper_half target
    ldr     x1, =KERNEL_VA_BASE
    add     sp, sp, x1
    adr_pa  x2, exception_vectors
    add     x2, x2, x1
    msr     vbar_el1, x2
    isb
    mov     x0, x19
    mov     x29, xzr                    // terminates the frame-pointer chain
    mov     x30, xzr
    ldr     x1, =\target
    br      x1
.endm

.section .text.boot, "ax"
.global _start
_start:
    mov     x19, x0                     // boot argument: FDT or ATAG address
    mrs     x1, mpidr_el1
    and     x1, x1, #0xff
    cbz     x1, 1f
    // Only core 0 comes here on a Pi. A loader that starts every core at the entry
    // (QEMU given the ELF, at EL3) has no firmware stub to hold the others, so they
    // wait here on the same spin table the firmware uses: smp.rs releases them alike.
    mov     x2, #0xd8
    add     x2, x2, x1, lsl #3
0:  wfe
    ldr     x3, [x2]
    cbz     x3, 0b
    br      x3
1:  record_entry_el
    adr_pa  x0, exception_vectors       // early faults land in the kernel's vectors
    bl      drop_to_el1
    msr     vbar_el1, x0

    adr_pa  x0, __bss_start
    adr_pa  x1, __bss_end
2:  cmp     x0, x1
    b.hs    3f
    stp     xzr, xzr, [x0], #16
    b       2b

3:  mov     x0, #0
    bl      boot_stack_top_pa
    mov     sp, x0
    bl      create_boot_page_tables
    adr_pa  x0, boot_l0
    bl      enable_mmu

    enter_upper_half kernel_entry

// Entry for cores 1-3, released through the spin table by smp.rs.
.global _secondary_start
_secondary_start:
    record_entry_el
    adr_pa  x0, exception_vectors
    bl      drop_to_el1
    msr     vbar_el1, x0
    mrs     x19, mpidr_el1
    and     x19, x19, #0xff
    mov     x0, x19
    bl      boot_stack_top_pa
    mov     sp, x0
    adr_pa  x0, secondary_boot_ttbr1
    ldr     x0, [x0]
    bl      enable_mmu

    enter_upper_half secondary_entry

// Drops from EL3 or EL2 to EL1h with interrupts masked and returns at EL1.
// Clobbers x1-x2; x0 is preserved.
drop_to_el1:
    mrs     x1, CurrentEL
    lsr     x1, x1, #2
    cmp     x1, #3
    b.ne    1f
    // EL3 -> EL2, doing what the Pi firmware's armstub8 does at EL3: coherency
    // for this core (CPUECTLR_EL1.SMPEN, needed before caches and MMU on the A72),
    // no FP/SIMD traps, then non-secure, EL2 AArch64, HVC enabled, SMC disabled.
    mrs     x1, S3_1_C15_C2_1
    orr     x1, x1, #(1 << 6)
    msr     S3_1_C15_C2_1, x1
    msr     cptr_el3, xzr
    mov     x1, #((1 << 0) | (3 << 4) | (1 << 7) | (1 << 8) | (1 << 10))
    msr     scr_el3, x1
    mov     x1, #0x3c9                  // EL2h, DAIF masked
    msr     spsr_el3, x1
    adr     x1, 1f
    msr     elr_el3, x1
    eret
1:  mrs     x1, CurrentEL
    lsr     x1, x1, #2
    cmp     x1, #2
    b.ne    2f
    // EL2 -> EL1: EL1 is AArch64, EL1 may use both timers and counters, no
    // virtual offset, no FP/SIMD traps to EL2, EL1 starts with the MMU off.
    mov     x1, #(1 << 31)
    msr     hcr_el2, x1
    ldr     x1, =SCTLR_EL2_RES1         // EL2 itself: MMU and caches off, known state
    msr     sctlr_el2, x1
    mrs     x1, midr_el1                // EL1 reads these through the virtualisation
    msr     vpidr_el2, x1               // registers: make them the real values
    mrs     x1, mpidr_el1
    msr     vmpidr_el2, x1
    mov     x1, #3
    msr     cnthctl_el2, x1
    msr     cntvoff_el2, xzr
    mov     x1, #0x33ff
    msr     cptr_el2, x1
    msr     hstr_el2, xzr
    ldr     x1, =SCTLR_EL1_RES1
    msr     sctlr_el1, x1
    mov     x1, #0x3c5                  // EL1h, DAIF masked
    msr     spsr_el2, x1
    msr     elr_el2, x30
    eret
2:  ret

// x0 = core number -> x0 = physical address of the top of its boot stack.
// Layout (link.ld): per core a slot whose upper half is the stack.
boot_stack_top_pa:
    adr_pa  x1, __boot_stacks_start
    ldr     x2, =__boot_stack_slot
    add     x0, x0, #1
    madd    x0, x0, x2, x1
    ret

// Fills boot_l0/boot_l1 (zeroed with .bss): L0[0] -> L1; L1[0] maps the first
// GiB as normal memory, L1[3] the GiB holding the peripherals as device memory.
create_boot_page_tables:
    adr_pa  x0, boot_l0
    adr_pa  x1, boot_l1
    orr     x2, x1, #3
    str     x2, [x0]
    ldr     x2, =BLOCK_NORMAL
    str     x2, [x1]
    ldr     x2, =(PERIPHERAL_GIB | BLOCK_DEVICE)
    str     x2, [x1, #(3 * 8)]
    // The tables were written with the MMU off; drop any stale cached copies so
    // the table walker, which reads through the caches, sees them.
    dsb     sy
    mov     x2, x0
    add     x3, x1, #4096
3:  dc      ivac, x2
    add     x2, x2, #64
    cmp     x2, x3
    b.lo    3b
    dsb     sy
    ret

// x0 = physical address of the TTBR1 table. TTBR0 gets the boot identity map.
enable_mmu:
    ldr     x1, =MAIR_VALUE
    msr     mair_el1, x1
    ldr     x1, =TCR_VALUE
    mrs     x2, id_aa64mmfr0_el1
    and     x2, x2, #7
    bfi     x1, x2, #32, #3
    msr     tcr_el1, x1
    adr_pa  x1, boot_l0
    msr     ttbr0_el1, x1
    msr     ttbr1_el1, x0
    isb
    tlbi    vmalle1
    ic      iallu
    dsb     nsh
    isb
    mrs     x1, sctlr_el1
    ldr     x2, =SCTLR_MMU_CACHES
    orr     x1, x1, x2
    msr     sctlr_el1, x1
    isb
    ret

// Installs a new TTBR1 table. Called through the identity map (mm/kmap.rs calls
// its physical address), so no instruction fetch goes through TTBR1 while the
// old and new tables may both sit in the TLB: break-before-make for the switch.
// x0 = physical address of the new table.
.global switch_ttbr1_identity
switch_ttbr1_identity:
    dsb     ishst
    // Break: an empty table, and no old entry left in the TLB...
    adr_pa  x1, boot_empty_table
    msr     ttbr1_el1, x1
    isb
    tlbi    vmalle1
    dsb     nsh
    isb
    // ...then make: the new table. No TLB ever holds old and new entries at once.
    msr     ttbr1_el1, x0
    isb
    ret
.ltorg

.section .data.boot_params, "aw"
.balign 64
// Physical address of the kernel page tables for secondary cores (smp.rs writes
// it and cleans it to the point of coherency before releasing a core).
.global secondary_boot_ttbr1
secondary_boot_ttbr1:
    .quad 0
.balign 64
// Exception level each core entered the kernel at (3 or 2; 1 if already at EL1).
// Alone in its cache line: only cores with their MMU off write it.
.global boot_entry_el
boot_entry_el:
    .byte 0, 0, 0, 0
.balign 64

.section .bss.boot_page_tables, "aw", @nobits
.balign 4096
.global boot_l0
boot_l0:
    .space 4096
boot_l1:
    .space 4096
boot_empty_table:
    .space 4096
