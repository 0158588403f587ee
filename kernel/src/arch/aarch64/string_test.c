/*
 * Host test of string.S (scripts/test-string.sh runs it under
 * qemu-aarch64): the kernel's memcpy, memset and memmove, assembled as they
 * are and renamed kmemcpy, kmemset and kmemmove, against the C library's.
 * Every size up to 300 bytes at every pair of source and destination
 * alignments for memcpy and memset, and memmove at every overlap up to 40
 * bytes in either direction; the bytes around the destination must stay.
 * memcpy and memset also up to 900 bytes (memset zero, the DC ZVA path,
 * and not). Also copy_page and clear_page on whole pages, and the SIMD
 * registers copy_page and a long memcpy borrow back as they were.
 */
#include <stdio.h>
#include <string.h>

void *kmemcpy(void *dst, const void *src, size_t n);
void *kmemmove(void *dst, const void *src, size_t n);
void *kmemset(void *dst, int c, size_t n);
void copy_page(void *dst, const void *src);
void clear_page(void *page);

static unsigned char pages[3][4096] __attribute__((aligned(4096)));

/* Calls `fn(dst, src, n)` (copy_page or kmemcpy) with v0-v7 loaded from
 * `before`; what v0-v7 hold afterwards lands in `after`. */
#define CALL_KEEPING(fn, dst, src, n, before, after)                                                      \
    do {                                                                                                  \
        register void *x0 __asm__("x0") = (dst);                                                          \
        register const void *x1 __asm__("x1") = (src);                                                    \
        register size_t x2 __asm__("x2") = (n);                                                           \
        register const unsigned char *x19 __asm__("x19") = (before);                                        \
        register unsigned char *x20 __asm__("x20") = (after);                                              \
        __asm__ volatile(                                                                                 \
            "ldp q0, q1, [x19]\n ldp q2, q3, [x19, #32]\n ldp q4, q5, [x19, #64]\n ldp q6, q7, [x19, #96]\n" \
            "bl " fn "\n"                                                                                 \
            "stp q0, q1, [x20]\n stp q2, q3, [x20, #32]\n stp q4, q5, [x20, #64]\n stp q6, q7, [x20, #96]\n" \
            : "+r"(x0), "+r"(x1), "+r"(x2)                                                                \
            : "r"(x19), "r"(x20)                                                                           \
            : "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15", "x16", "x17", "x30",  \
              "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v16", "v17", "v18", "v19", "v20", "v21",   \
              "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31", "cc", "memory");      \
    } while (0)

static int check_pages(void)
{
    int bad = 0;
    unsigned char before[128], after[128];
    for (int i = 0; i < 4096; i++) {
        pages[0][i] = (unsigned char)(i * 31 + 5);
        pages[1][i] = 0xee;
    }
    for (int i = 0; i < 128; i++)
        before[i] = (unsigned char)(i + 100);
    CALL_KEEPING("copy_page", pages[1], pages[0], 0, before, after);
    if (memcmp(pages[1], pages[0], 4096) != 0) {
        printf("copy_page: the copy differs\n");
        bad++;
    }
    if (memcmp(before, after, sizeof before) != 0) {
        printf("copy_page: v0-v7 changed\n");
        bad++;
    }
    memset(after, 0, sizeof after);
    memset(pages[1], 0, 4096);
    CALL_KEEPING("kmemcpy", pages[1] + 3, pages[0] + 9, 3000, before, after);
    if (memcmp(pages[1] + 3, pages[0] + 9, 3000) != 0 || pages[1][2] != 0 || pages[1][3003] != 0) {
        printf("memcpy: a 3000-byte copy differs\n");
        bad++;
    }
    if (memcmp(before, after, sizeof before) != 0) {
        printf("memcpy: v0-v7 changed\n");
        bad++;
    }
    memset(pages[2], 0xff, 4096);
    memset(pages[1], 0x5a, 4096);
    clear_page(pages[1]);
    for (int i = 0; i < 4096; i++)
        if (pages[1][i] != 0) {
            printf("clear_page: byte %d not zero\n", i);
            bad++;
            break;
        }
    if (pages[2][0] != 0xff || pages[0][4095] != (unsigned char)(4095 * 31 + 5)) {
        printf("clear_page: a neighbouring page changed\n");
        bad++;
    }
    return bad;
}

static unsigned char a[1024], b[1024], ref[1024];

static void fill(unsigned char *p, int seed)
{
    for (int i = 0; i < 1024; i++)
        p[i] = (unsigned char)(i * 7 + seed * 13 + 1);
}

int main(void)
{
    int bad = 0;
    for (size_t n = 0; n <= 300; n++)
        for (int s = 0; s < 16; s++)
            for (int d = 0; d < 16; d++) {
                fill(a, 1);
                fill(b, 2);
                memcpy(ref, b, sizeof b);
                memcpy(ref + 64 + d, a + 64 + s, n);
                if (kmemcpy(b + 64 + d, a + 64 + s, n) != b + 64 + d || memcmp(b, ref, sizeof b) != 0) {
                    printf("memcpy: %zu bytes, source +%d, destination +%d\n", n, s, d);
                    bad++;
                }
                fill(b, 3);
                memcpy(ref, b, sizeof b);
                memset(ref + 64 + d, s * 17, n);
                if (kmemset(b + 64 + d, s * 17, n) != b + 64 + d || memcmp(b, ref, sizeof b) != 0) {
                    printf("memset: %zu bytes, destination +%d\n", n, d);
                    bad++;
                }
            }
    /* Longer copies (through SIMD registers from 512 bytes) and fills
     * (zero ones by DC ZVA), at every destination alignment. */
    for (size_t n = 300; n <= 900; n += 13)
        for (int d = 0; d < 16; d++) {
            fill(a, 6);
            fill(b, 7);
            memcpy(ref, b, sizeof b);
            memcpy(ref + 64 + d, a + 64 + 15 - d, n);
            if (kmemcpy(b + 64 + d, a + 64 + 15 - d, n) != b + 64 + d || memcmp(b, ref, sizeof b) != 0) {
                printf("memcpy: %zu bytes, source +%d, destination +%d\n", n, 15 - d, d);
                bad++;
            }
        }
    for (size_t n = 300; n <= 900; n += 13)
        for (int d = 0; d < 16; d++)
            for (int c = 0; c <= 0x5a; c += 0x5a) {
                fill(b, 5);
                memcpy(ref, b, sizeof b);
                memset(ref + 64 + d, c, n);
                if (kmemset(b + 64 + d, c, n) != b + 64 + d || memcmp(b, ref, sizeof b) != 0) {
                    printf("memset: %zu bytes of %#x, destination +%d\n", n, c, d);
                    bad++;
                }
            }
    for (size_t n = 0; n <= 300; n++)
        for (int off = -40; off <= 40; off++) {
            fill(a, 4);
            memcpy(ref, a, sizeof a);
            memmove(ref + 200 + off, ref + 200, n);
            if (kmemmove(a + 200 + off, a + 200, n) != a + 200 + off || memcmp(a, ref, sizeof a) != 0) {
                printf("memmove: %zu bytes, destination %+d from the source\n", n, off);
                bad++;
            }
        }
    bad += check_pages();
    if (bad)
        printf("string.S: %d cases wrong\n", bad);
    else
        printf("string.S: memcpy, memset and memmove agree with the C library; copy_page and clear_page work\n");
    return bad != 0;
}
