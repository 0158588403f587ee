/*
 * Host test of string.S (scripts/test-string.sh runs it under
 * qemu-aarch64): the kernel's memcpy, memset and memmove, assembled as they
 * are and renamed kmemcpy, kmemset and kmemmove, against the C library's.
 * Every size up to 300 bytes at every pair of source and destination
 * alignments for memcpy and memset, and memmove at every overlap up to 40
 * bytes in either direction; the bytes around the destination must stay.
 */
#include <stdio.h>
#include <string.h>

void *kmemcpy(void *dst, const void *src, size_t n);
void *kmemmove(void *dst, const void *src, size_t n);
void *kmemset(void *dst, int c, size_t n);

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
    if (bad)
        printf("string.S: %d cases wrong\n", bad);
    else
        printf("string.S: memcpy, memset and memmove agree with the C library\n");
    return bad != 0;
}
