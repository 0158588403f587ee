/*
 * A program that does nothing but exit_group(0): no C library, no start-up
 * code, one system call. The fork+exec benchmark uses it so that the figure
 * measures the kernel, not libc initialisation.
 */
__asm__(".text\n"
        ".global _start\n"
        ".type _start, %function\n"
        "_start:\n"
        "    mov x0, #0\n"
        "    mov x8, #94\n" /* exit_group */
        "    svc #0\n"
        "1:  b 1b\n");
