// memcpy, memmove and memset for the kernel (Linux: arch/arm64/lib/memcpy.S,
// memset.S), replacing compiler_builtins' portable ones, which copy a byte at
// a time whenever source and destination are not equally aligned.
//
// AArch64 allows unaligned loads and stores to Normal memory (SCTLR_EL1.A is
// clear, boot.S), and every kernel use of these routines is on Normal memory
// (RAM through the linear map or the kernel image; MMIO goes through
// volatile accesses), so the copies use 16-byte LDP/STP whatever the
// alignment. Not for Device memory, nor before the MMU is on.

.section .text, "ax"

// The SIMD registers v0-v7 that copy_page and long copies borrow hold the
// interrupted user task's FP/SIMD state (fpsimd.rs): they are kept on the
// stack and put back, with IRQs masked in between, so that no task switch
// (which saves and loads only user tasks' registers) comes while they
// hold a copy's data. The host test (scripts/test-string.sh) runs these
// routines at EL0, which may not touch DAIF: it assembles them with
// STRING_TEST defined, without the masking.
.arch_extension fp
.arch_extension simd

.macro simd_borrow
.ifndef STRING_TEST
    mrs     x14, daif
    msr     daifset, #2
.endif
    sub     sp, sp, #128
    stp     q0, q1, [sp]
    stp     q2, q3, [sp, #32]
    stp     q4, q5, [sp, #64]
    stp     q6, q7, [sp, #96]
.endm

.macro simd_return
    ldp     q0, q1, [sp]
    ldp     q2, q3, [sp, #32]
    ldp     q4, q5, [sp, #64]
    ldp     q6, q7, [sp, #96]
    add     sp, sp, #128
.ifndef STRING_TEST
    msr     daif, x14
.endif
.endm

// 128 bytes from x1 to x3 (both advanced) through v0-v7.
.macro simd_copy_128
    ldp     q0, q1, [x1], #128
    ldp     q2, q3, [x1, #-96]
    ldp     q4, q5, [x1, #-64]
    ldp     q6, q7, [x1, #-32]
    stp     q0, q1, [x3], #128
    stp     q2, q3, [x3, #-96]
    stp     q4, q5, [x3, #-64]
    stp     q6, q7, [x3, #-32]
.endm

// x0 = dst, x1 = src, x2 = n; returns dst.
.global memcpy
memcpy:
    mov     x3, x0
    cmp     x2, #128
    b.lo    12f
    // 512 bytes or more (task and signal structures at fork): 128 bytes a
    // turn through v0-v7, 10 instructions a turn instead of 20, worth
    // borrowing the registers for.
    cmp     x2, #512
    b.hs    40f
    // 128 bytes a turn while they last.
13: ldp     x4, x5, [x1]
    ldp     x6, x7, [x1, #16]
    ldp     x8, x9, [x1, #32]
    ldp     x10, x11, [x1, #48]
    stp     x4, x5, [x3]
    stp     x6, x7, [x3, #16]
    stp     x8, x9, [x3, #32]
    stp     x10, x11, [x3, #48]
    ldp     x4, x5, [x1, #64]
    ldp     x6, x7, [x1, #80]
    ldp     x8, x9, [x1, #96]
    ldp     x10, x11, [x1, #112]
    stp     x4, x5, [x3, #64]
    stp     x6, x7, [x3, #80]
    stp     x8, x9, [x3, #96]
    stp     x10, x11, [x3, #112]
    add     x1, x1, #128
    add     x3, x3, #128
    sub     x2, x2, #128
    cmp     x2, #128
    b.hs    13b
    b       12f
40: simd_borrow
41: simd_copy_128
    sub     x2, x2, #128
    cmp     x2, #128
    b.hs    41b
    simd_return
12: cmp     x2, #64
    b.lo    2f
1:  ldp     x4, x5, [x1]
    ldp     x6, x7, [x1, #16]
    ldp     x8, x9, [x1, #32]
    ldp     x10, x11, [x1, #48]
    stp     x4, x5, [x3]
    stp     x6, x7, [x3, #16]
    stp     x8, x9, [x3, #32]
    stp     x10, x11, [x3, #48]
    add     x1, x1, #64
    add     x3, x3, #64
    sub     x2, x2, #64
    cmp     x2, #64
    b.hs    1b
    // Under 64 bytes left: two pieces of a power-of-two size, one from
    // each end, which overlap in the middle (a 40-byte copy is bytes 0-31
    // and 8-39). Everything is loaded before anything is stored, so this
    // part is also right for overlapping buffers (memmove uses it).
2:  add     x12, x1, x2                 // source end
    add     x13, x3, x2                 // destination end
    cmp     x2, #16
    b.lo    20f
    cmp     x2, #32
    b.hi    21f
    ldp     x4, x5, [x1]                // 16..32
    ldp     x6, x7, [x12, #-16]
    stp     x4, x5, [x3]
    stp     x6, x7, [x13, #-16]
    ret
21: ldp     x4, x5, [x1]                // 33..63
    ldp     x6, x7, [x1, #16]
    ldp     x8, x9, [x12, #-32]
    ldp     x10, x11, [x12, #-16]
    stp     x4, x5, [x3]
    stp     x6, x7, [x3, #16]
    stp     x8, x9, [x13, #-32]
    stp     x10, x11, [x13, #-16]
    ret
20: cmp     x2, #8
    b.lo    22f
    ldr     x4, [x1]                    // 8..15
    ldr     x5, [x12, #-8]
    str     x4, [x3]
    str     x5, [x13, #-8]
    ret
22: cmp     x2, #4
    b.lo    23f
    ldr     w4, [x1]                    // 4..7
    ldr     w5, [x12, #-4]
    str     w4, [x3]
    str     w5, [x13, #-4]
    ret
23: cbz     x2, 4f
    cmp     x2, #2
    b.lo    24f
    ldrh    w4, [x1]                    // 2..3
    ldrh    w5, [x12, #-2]
    strh    w4, [x3]
    strh    w5, [x13, #-2]
    ret
24: ldrb    w4, [x1]                    // 1
    strb    w4, [x3]
4:  ret

// Overlapping copies: forward when the destination is below the source
// (memcpy copies low to high), else from the top down.
.global memmove
memmove:
    cmp     x2, #64
    b.lo    memcpy                      // its short path loads all, then stores
    sub     x3, x0, x1
    cmp     x3, x2
    b.hs    memcpy                      // dst < src (wraps) or no overlap
    add     x3, x0, x2
    add     x1, x1, x2
5:  cmp     x2, #8
    b.lo    6f
    ldr     x4, [x1, #-8]!
    str     x4, [x3, #-8]!
    sub     x2, x2, #8
    b       5b
6:  cbz     x2, 7f
    ldrb    w4, [x1, #-1]!
    strb    w4, [x3, #-1]!
    sub     x2, x2, #1
    b       6b
7:  ret

// x0 = dst, w1 = byte, x2 = n; returns dst. No byte loops: a length under
// 64 is written as two overlapping pieces, one from each end; a longer one
// 64 bytes a turn and then its last 64 bytes, overlapping what came before.
// Zeroing 256 bytes or more uses DC ZVA between an unaligned first and
// last 64 bytes, where the block is 64 bytes (DCZID_EL0; zero stores where
// DC ZVA is forbidden or the block differs).
.global memset
memset:
    and     x4, x1, #0xff
    add     x5, x0, x2                  // end
    orr     x4, x4, x4, lsl #8
    cmp     x2, #64
    orr     x4, x4, x4, lsl #16
    orr     x4, x4, x4, lsl #32
    b.lo    20f
    cmp     x2, #256
    ccmp    x4, #0, #0, hs              // n >= 256 and zero: eq
    b.eq    30f
11: sub     x6, x5, #64                 // the last 64 bytes start here
    mov     x3, x0
12: stp     x4, x4, [x3]
    stp     x4, x4, [x3, #16]
    stp     x4, x4, [x3, #32]
    stp     x4, x4, [x3, #48]
    add     x3, x3, #64
    cmp     x3, x6
    b.lo    12b
    stp     x4, x4, [x6]
    stp     x4, x4, [x6, #16]
    stp     x4, x4, [x6, #32]
    stp     x4, x4, [x6, #48]
    ret
20: tbz     x2, #5, 21f                 // 32..63
    stp     x4, x4, [x0]
    stp     x4, x4, [x0, #16]
    stp     x4, x4, [x5, #-32]
    stp     x4, x4, [x5, #-16]
    ret
21: tbz     x2, #4, 22f                 // 16..31
    stp     x4, x4, [x0]
    stp     x4, x4, [x5, #-16]
    ret
22: tbz     x2, #3, 23f                 // 8..15
    str     x4, [x0]
    str     x4, [x5, #-8]
    ret
23: tbz     x2, #2, 24f                 // 4..7
    str     w4, [x0]
    str     w4, [x5, #-4]
    ret
24: cbz     x2, 25f                     // 1..3: first, middle, last
    strb    w4, [x0]
    lsr     x6, x2, #1
    strb    w4, [x0, x6]
    strb    w4, [x5, #-1]
25: ret
30: mrs     x7, dczid_el0
    and     x7, x7, #0x1f               // DZP and BS
    cmp     x7, #4                      // allowed, 4 words
    b.ne    11b
    stp     xzr, xzr, [x0]
    stp     xzr, xzr, [x0, #16]
    stp     xzr, xzr, [x0, #32]
    stp     xzr, xzr, [x0, #48]
    add     x3, x0, #64
    and     x3, x3, #~63                // first whole block after those
    and     x6, x5, #~63                // end of the last whole block
31: dc      zva, x3
    add     x3, x3, #64
    cmp     x3, x6
    b.lo    31b
    stp     xzr, xzr, [x5, #-64]
    stp     xzr, xzr, [x5, #-48]
    stp     xzr, xzr, [x5, #-32]
    stp     xzr, xzr, [x5, #-16]
    ret

// clear_page(x0 = page-aligned address of a 4 KiB page in Normal memory)
// (Linux: arch/arm64/lib/clear_page.S). DC ZVA zeroes one block per
// instruction, 2^DCZID_EL0.BS words (64 bytes on the Cortex-A72 and in
// QEMU); when DCZID_EL0.DZP forbids it (a hypervisor trapping it, say), a
// store loop does the job.
.global clear_page
clear_page:
    mrs     x1, dczid_el0
    add     x2, x0, #4096
    tbnz    x1, #4, 2f
    and     x1, x1, #0xf
    mov     x3, #4
    lsl     x1, x3, x1                  // block size in bytes
    // Four blocks a turn when a page holds a multiple of four (blocks of
    // up to 1 KiB; DCZID_EL0 may report up to 2 KiB), else one.
    cmp     x1, #1024
    b.hi    3f
1:  dc      zva, x0
    add     x0, x0, x1
    dc      zva, x0
    add     x0, x0, x1
    dc      zva, x0
    add     x0, x0, x1
    dc      zva, x0
    add     x0, x0, x1
    cmp     x0, x2
    b.lo    1b
    ret
3:  dc      zva, x0
    add     x0, x0, x1
    cmp     x0, x2
    b.lo    3b
    ret
2:  stp     xzr, xzr, [x0]
    stp     xzr, xzr, [x0, #16]
    stp     xzr, xzr, [x0, #32]
    stp     xzr, xzr, [x0, #48]
    add     x0, x0, #64
    cmp     x0, x2
    b.lo    2b
    ret

// copy_page(x0 = dst, x1 = src), both 4 KiB pages in Normal memory (Linux:
// arch/arm64/lib/copy_page.S, which uses general registers): 128 bytes a
// turn through the borrowed v0-v7, 32 bytes an instruction, half the loads
// and stores of general-register pairs.
.global copy_page
copy_page:
    simd_borrow
    mov     x3, x0
    add     x2, x0, #4096
1:  simd_copy_128
    cmp     x3, x2
    b.lo    1b
    simd_return
    ret
