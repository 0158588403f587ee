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

// x0 = dst, x1 = src, x2 = n; returns dst.
.global memcpy
memcpy:
    mov     x3, x0
    cmp     x2, #64
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
2:  cmp     x2, #8
    b.lo    3f
    ldr     x4, [x1], #8
    str     x4, [x3], #8
    sub     x2, x2, #8
    b       2b
3:  cbz     x2, 4f
    ldrb    w4, [x1], #1
    strb    w4, [x3], #1
    sub     x2, x2, #1
    b       3b
4:  ret

// Overlapping copies: forward when the destination is below the source
// (memcpy copies low to high), else from the top down.
.global memmove
memmove:
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

// x0 = dst, w1 = byte, x2 = n; returns dst.
.global memset
memset:
    mov     x3, x0
    and     x4, x1, #0xff
    orr     x4, x4, x4, lsl #8
    orr     x4, x4, x4, lsl #16
    orr     x4, x4, x4, lsl #32
8:  cmp     x2, #16
    b.lo    9f
    stp     x4, x4, [x3], #16
    sub     x2, x2, #16
    b       8b
9:  cbz     x2, 10f
    strb    w4, [x3], #1
    sub     x2, x2, #1
    b       9b
10: ret
