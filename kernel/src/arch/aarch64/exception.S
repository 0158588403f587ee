// Exception vector table and trap-frame save/restore (Linux: arch/arm64/kernel/entry.S).
//
// Every vector slot reserves a TrapFrame on the current stack, saves x0/x1,
// loads its slot number and branches to the common path, which saves the rest
// (x2-x30, SP_EL0, ELR_EL1, SPSR_EL1: 272 bytes, see exception.rs) and calls
// el0_sync(frame) for slot 8, a synchronous exception from EL0, and
// exception_dispatch(frame, slot) for the rest. On return the frame is restored and eret'ed,
// so a handler may change the interrupted context by editing the frame.
//
// Exceptions taken from EL1 first check that the stack pointer is still inside
// a kernel stack (smp.rs: stacks sit in the upper half of a slot twice their
// size, so bit {STACK_SHIFT} of a valid stack pointer is set). One that is not
// has overflowed into the guard below its stack: saving a frame there would
// fault again and again, so the vector switches to the core's overflow stack
// and reports the overflow instead (Linux: kernel_ventry's VMAP_STACK check).
//
// Assembled through global_asm! in exception.rs, which supplies the constants
// written in braces.

.equ FRAME_SIZE, 272

.macro vector slot
.balign 128
    sub     sp, sp, #FRAME_SIZE
    stp     x0, x1, [sp, #(0 * 16)]
    mov     x1, #\slot
    b       exception_common
.endm

// A vector for exceptions from EL1 on SP_EL1: the overflow check, without a
// free register: x0 and sp are swapped arithmetically (sp = sp + x0, then
// x0 = sp - x0 is the old sp), tested, and swapped back.
.macro vector_el1 slot
.balign 128
    sub     sp, sp, #FRAME_SIZE
    add     sp, sp, x0
    sub     x0, sp, x0
    tbz     x0, #{STACK_SHIFT}, kernel_stack_overflow
    sub     x0, sp, x0
    sub     sp, sp, x0
    stp     x0, x1, [sp, #(0 * 16)]
    mov     x1, #\slot
    b       exception_common
.endm

.section .text, "ax"
.balign 2048
.global exception_vectors
exception_vectors:
    // Current EL with SP_EL0
    vector 0
    vector 1
    vector 2
    vector 3
    // Current EL with SP_ELx
    vector_el1 4
    vector_el1 5
    vector_el1 6
    vector_el1 7
    // Lower EL, AArch64
    vector 8
    vector 9
    vector 10
    vector 11
    // Lower EL, AArch32
    vector 12
    vector 13
    vector 14
    vector 15

// From vector_el1 when the stack overflowed: x0 holds the stack pointer that
// left its stack (already lowered by FRAME_SIZE), sp is meaningless, x1 is
// intact and the interrupted x0 is lost. Build a frame on this core's overflow
// stack, with x0 = that stack pointer, and report it as slot {OVERFLOW_SLOT}.
// TPIDR_EL0 serves as scratch: the kernel panics on this path.
kernel_stack_overflow:
    msr     tpidr_el0, x1
    mrs     x1, mpidr_el1
    and     x1, x1, #0xff
    lsl     x1, x1, #{STACK_SLOT_SHIFT}
    mov     sp, x1
    ldr     x1, =__boot_stacks_start
    add     sp, sp, x1                  // the bottom of this core's overflow stack
    // An exception while already on the overflow stack (the report itself
    // faulted) would overwrite the report's frames: stop this core instead.
    mov     x1, sp
    sub     x1, x0, x1
    cmp     x1, #{OVERFLOW_STACK_SIZE}
    b.lo    1f
    add     sp, sp, #{OVERFLOW_STACK_SIZE}
    sub     sp, sp, #FRAME_SIZE
    mrs     x1, tpidr_el0
    stp     x0, x1, [sp, #(0 * 16)]
    mov     x1, #{OVERFLOW_SLOT}
    b       exception_common
1:  wfe
    b       1b

exception_common:
    stp     x2, x3, [sp, #(1 * 16)]
    stp     x4, x5, [sp, #(2 * 16)]
    stp     x6, x7, [sp, #(3 * 16)]
    stp     x8, x9, [sp, #(4 * 16)]
    stp     x10, x11, [sp, #(5 * 16)]
    stp     x12, x13, [sp, #(6 * 16)]
    stp     x14, x15, [sp, #(7 * 16)]
    stp     x16, x17, [sp, #(8 * 16)]
    stp     x18, x19, [sp, #(9 * 16)]
    stp     x20, x21, [sp, #(10 * 16)]
    stp     x22, x23, [sp, #(11 * 16)]
    stp     x24, x25, [sp, #(12 * 16)]
    stp     x26, x27, [sp, #(13 * 16)]
    stp     x28, x29, [sp, #(14 * 16)]
    mrs     x2, sp_el0
    stp     x30, x2, [sp, #(15 * 16)]
    mrs     x2, elr_el1
    mrs     x3, spsr_el1
    stp     x2, x3, [sp, #(16 * 16)]

    // Link the interrupted frame into the frame-pointer chain so a backtrace
    // taken inside the handler continues into the interrupted code.
    stp     x29, x2, [sp, #-16]!
    mov     x29, sp
    add     x0, sp, #16
    // A synchronous exception from EL0 (system calls, user faults) goes
    // straight to its handler, without the slot decode (Linux: one handler
    // per vector, el0t_64_sync_handler).
    cmp     x1, #8
    b.ne    1f
    bl      el0_sync
    add     sp, sp, #16
    b       ret_to_user
1:  bl      exception_dispatch
    add     sp, sp, #16

// Restores the trap frame at sp and returns from the exception; also the
// way into user mode for a new task (ret_from_fork, execve from a kernel
// thread), with IRQs masked.
.global ret_to_user
ret_to_user:
    ldp     x2, x3, [sp, #(16 * 16)]
    msr     elr_el1, x2
    msr     spsr_el1, x3
    ldp     x30, x2, [sp, #(15 * 16)]
    msr     sp_el0, x2
    ldp     x0, x1, [sp, #(0 * 16)]
    ldp     x2, x3, [sp, #(1 * 16)]
    ldp     x4, x5, [sp, #(2 * 16)]
    ldp     x6, x7, [sp, #(3 * 16)]
    ldp     x8, x9, [sp, #(4 * 16)]
    ldp     x10, x11, [sp, #(5 * 16)]
    ldp     x12, x13, [sp, #(6 * 16)]
    ldp     x14, x15, [sp, #(7 * 16)]
    ldp     x16, x17, [sp, #(8 * 16)]
    ldp     x18, x19, [sp, #(9 * 16)]
    ldp     x20, x21, [sp, #(10 * 16)]
    ldp     x22, x23, [sp, #(11 * 16)]
    ldp     x24, x25, [sp, #(12 * 16)]
    ldp     x26, x27, [sp, #(13 * 16)]
    ldp     x28, x29, [sp, #(14 * 16)]
    add     sp, sp, #FRAME_SIZE
    eret
