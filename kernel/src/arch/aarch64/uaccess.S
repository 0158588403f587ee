// User-memory copies (Linux: arch/arm64/lib/copy_from_user.S,
// copy_to_user.S). The user side is touched only with LDTR/STTR, the
// unprivileged forms: the MMU checks each access with EL0's permissions, so
// a kernel address, a PROT_NONE page or a read-only page faults exactly as
// the program's own access would. The Cortex-A72 (ARMv8.0) has no PAN, so
// plain loads cannot be used with that check.
//
// Each user access has an entry in __ex_table: (instruction, fixup). A fault
// on one is first offered to the address space (demand paging,
// copy-on-write: exception.rs `fixup_user_access`); when that cannot
// resolve it, the fault returns to the fixup, and the routine returns the
// number of bytes it did not copy. 0 means all were copied.

.section .text, "ax"

// __arch_copy_from_user(x0 = kernel dst, x1 = user src, x2 = n) -> not copied
.global __arch_copy_from_user
__arch_copy_from_user:
    cmp     x2, #32
    b.lo    2f
1:
.Lcfu_a: ldtr  x3, [x1]
.Lcfu_b: ldtr  x4, [x1, #8]
.Lcfu_c: ldtr  x5, [x1, #16]
.Lcfu_d: ldtr  x6, [x1, #24]
    stp     x3, x4, [x0]
    stp     x5, x6, [x0, #16]
    add     x0, x0, #32
    add     x1, x1, #32
    sub     x2, x2, #32
    cmp     x2, #32
    b.hs    1b
2:  cmp     x2, #8
    b.lo    3f
.Lcfu_e: ldtr  x3, [x1]
    str     x3, [x0], #8
    add     x1, x1, #8
    sub     x2, x2, #8
    b       2b
3:  cbz     x2, 4f
.Lcfu_f: ldtrb w3, [x1]
    strb    w3, [x0], #1
    add     x1, x1, #1
    sub     x2, x2, #1
    b       3b
4:  mov     x0, #0
    ret
.Lcfu_fixup:
    mov     x0, x2
    ret

// __arch_copy_to_user(x0 = user dst, x1 = kernel src, x2 = n) -> not copied
.global __arch_copy_to_user
__arch_copy_to_user:
    cmp     x2, #32
    b.lo    2f
1:  ldp     x3, x4, [x1]
    ldp     x5, x6, [x1, #16]
.Lctu_a: sttr  x3, [x0]
.Lctu_b: sttr  x4, [x0, #8]
.Lctu_c: sttr  x5, [x0, #16]
.Lctu_d: sttr  x6, [x0, #24]
    add     x0, x0, #32
    add     x1, x1, #32
    sub     x2, x2, #32
    cmp     x2, #32
    b.hs    1b
2:  cmp     x2, #8
    b.lo    3f
    ldr     x3, [x1], #8
.Lctu_e: sttr  x3, [x0]
    add     x0, x0, #8
    sub     x2, x2, #8
    b       2b
3:  cbz     x2, 4f
    ldrb    w3, [x1], #1
.Lctu_f: sttrb w3, [x0]
    add     x0, x0, #1
    sub     x2, x2, #1
    b       3b
4:  mov     x0, #0
    ret
.Lctu_fixup:
    mov     x0, x2
    ret

.pushsection __ex_table, "a"
.balign 8
    .quad .Lcfu_a, .Lcfu_fixup
    .quad .Lcfu_b, .Lcfu_fixup
    .quad .Lcfu_c, .Lcfu_fixup
    .quad .Lcfu_d, .Lcfu_fixup
    .quad .Lcfu_e, .Lcfu_fixup
    .quad .Lcfu_f, .Lcfu_fixup
    .quad .Lctu_a, .Lctu_fixup
    .quad .Lctu_b, .Lctu_fixup
    .quad .Lctu_c, .Lctu_fixup
    .quad .Lctu_d, .Lctu_fixup
    .quad .Lctu_e, .Lctu_fixup
    .quad .Lctu_f, .Lctu_fixup
.popsection
