/*
 * Anonymous memory system calls as Linux answers them: mmap placement (a
 * hint rounded to a page, MAP_FIXED replacing what was there,
 * MAP_FIXED_NOREPLACE refusing), argument errors, munmap of part of a
 * mapping, mprotect over a hole and past the end of the address space,
 * PROT_NONE ending a reader with SIGSEGV, brk growing, shrinking and moving
 * past a page unmapped from the middle of the heap, and threads mapping at
 * the same time all getting distinct areas.
 *
 * mprotect's argument checks go through syscall(): musl's mprotect() rounds
 * the address down and the end up before the kernel sees them.
 */
#include "common.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define PAGE 4096UL

static void *map(void *hint, size_t len, int prot, int flags)
{
    return mmap(hint, len, prot, flags | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static void test_placement(void)
{
    char *a = map(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, 0);
    if (!check(a != MAP_FAILED, "mmap of 4 pages"))
        return;
    memset(a, 1, 4 * PAGE);
    /* MAP_FIXED over the second page: fresh zeroes there, the rest kept. */
    char *b = map(a + PAGE, PAGE, PROT_READ | PROT_WRITE, MAP_FIXED);
    check(b == a + PAGE, "MAP_FIXED lands where asked");
    check(b[0] == 0 && b[PAGE - 1] == 0 && a[0] == 1 && a[2 * PAGE] == 1, "MAP_FIXED replaces only its range");
    errno = 0;
    check(map(a + 2 * PAGE, PAGE, PROT_READ, MAP_FIXED_NOREPLACE) == MAP_FAILED && errno == EEXIST,
          "MAP_FIXED_NOREPLACE over a mapping: EEXIST");
    errno = 0;
    check(map(a + 1, PAGE, PROT_READ, MAP_FIXED) == MAP_FAILED && errno == EINVAL,
          "MAP_FIXED at an unaligned address: EINVAL");
    /* A hint is only a hint: an unaligned one still maps (page-aligned). */
    char *c = map(a + 4 * PAGE + 123, PAGE, PROT_READ, 0);
    check(c != MAP_FAILED && ((uintptr_t)c & (PAGE - 1)) == 0, "an unaligned hint is rounded");
    if (c != MAP_FAILED)
        munmap(c, PAGE);
    errno = 0;
    check(map(NULL, 0, PROT_READ, 0) == MAP_FAILED && errno == EINVAL, "mmap of 0 bytes: EINVAL");
    errno = 0;
    check(mmap(NULL, PAGE, PROT_READ, MAP_ANONYMOUS, -1, 0) == MAP_FAILED && errno == EINVAL,
          "neither MAP_PRIVATE nor MAP_SHARED: EINVAL");
    errno = 0;
    check(map(NULL, (size_t)-PAGE, PROT_READ, 0) == MAP_FAILED && errno == ENOMEM, "a length near 2^64: ENOMEM");

    /* munmap of the middle page leaves a hole on both sides of it. */
    check(munmap(a + 2 * PAGE, PAGE) == 0, "munmap of one page");
    errno = 0;
    check(mprotect(a, 4 * PAGE, PROT_READ) == -1 && errno == ENOMEM, "mprotect over a hole: ENOMEM");
    /* Linux changes the range up to the hole before it fails: the kernel
     * can no longer store into those pages (probed with read(2), EFAULT,
     * since qemu-user does not survive a faulting store there). */
    int p[2];
    if (check(pipe(p) == 0, "pipe")) {
        check(write(p[1], "xy", 2) == 2, "two bytes in the pipe");
        errno = 0;
        check(read(p[0], a, 1) == -1 && errno == EFAULT, "the pages before the hole became read-only");
        close(p[0]);
        close(p[1]);
    }
    check(a[PAGE] == 0 && a[0] == 1, "and kept their data");
    check(mprotect(a, 2 * PAGE, PROT_READ | PROT_WRITE) == 0, "mprotect of the part before the hole");
    errno = 0;
    check(syscall(SYS_mprotect, a, (size_t)-1, PROT_READ) == -1 && errno == ENOMEM,
          "mprotect past the address space: ENOMEM");
    errno = 0;
    check(syscall(SYS_mprotect, a, (size_t)-PAGE * 16, PROT_READ) == -1 && errno == ENOMEM,
          "mprotect of a range that wraps: ENOMEM");
    errno = 0;
    check(syscall(SYS_mprotect, a + 1, PAGE, PROT_READ) == -1 && errno == EINVAL,
          "mprotect of an unaligned address: EINVAL");
    a[0] = 2;
    check(a[0] == 2, "the refused calls changed nothing");
    check(munmap(a, 4 * PAGE) == 0, "munmap over a hole");
    errno = 0;
    check(munmap(a + 1, PAGE) == -1 && errno == EINVAL, "munmap of an unaligned address: EINVAL");
}

static void read_protnone(void)
{
    volatile char *p = map(NULL, PAGE, PROT_READ | PROT_WRITE, 0);
    if (p == MAP_FAILED)
        _exit(2);
    p[0] = 5;
    if (mprotect((void *)p, PAGE, PROT_NONE) != 0)
        _exit(3);
    (void)p[0];
    _exit(0);
}

static void test_protnone(void)
{
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        no_core_dumps();
        read_protnone();
    }
    int status;
    check(wait_child(child, &status, 0) == child && WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
          "reading a PROT_NONE page: SIGSEGV");
    char *p = map(NULL, PAGE, PROT_READ | PROT_WRITE, 0);
    p[0] = 9;
    check(mprotect(p, PAGE, PROT_NONE) == 0 && mprotect(p, PAGE, PROT_READ) == 0 && p[0] == 9,
          "data survives PROT_NONE and back");
    munmap(p, PAGE);
}

static uintptr_t brk_at(uintptr_t addr)
{
    return (uintptr_t)syscall(SYS_brk, addr);
}

static void test_brk(void)
{
    uintptr_t start = brk_at(0);
    uintptr_t base = (start + PAGE - 1) & ~(PAGE - 1);
    check(brk_at(base + 3 * PAGE) == base + 3 * PAGE, "brk grows by 3 pages");
    char *heap = (char *)base;
    memset(heap, 7, 3 * PAGE);
    check(brk_at(start - PAGE) == base + 3 * PAGE, "brk below the start is refused (the break stays)");
    /* A page unmapped from the middle of the heap. */
    check(munmap(heap + PAGE, PAGE) == 0, "munmap in the middle of the heap");
    check(brk_at(base + 4 * PAGE) == base + 4 * PAGE, "brk still grows past the hole");
    heap[3 * PAGE] = 1;
    check(heap[0] == 7 && heap[2 * PAGE] == 7 && heap[3 * PAGE] == 1, "heap pages around the hole intact");
    check(brk_at(base + PAGE / 2) == base + PAGE / 2, "brk shrinks below the hole");
    check(heap[0] == 7, "the first page is kept");
    check(brk_at(base + 3 * PAGE) == base + 3 * PAGE, "brk grows over the old range again");
    check(heap[2 * PAGE] == 0 && heap[PAGE] == 0, "and the pages come back zeroed");
    check(brk_at(start) == start, "brk back to the start");
}

#define THREADS 4
#define MAPS_EACH 64

static void *mapper(void *arg)
{
    char **out = arg;
    for (int i = 0; i < MAPS_EACH; i++) {
        out[i] = map(NULL, PAGE, PROT_READ | PROT_WRITE, 0);
        if (out[i] == MAP_FAILED)
            return (void *)1;
        out[i][0] = 1;
    }
    return NULL;
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (char *const *)a, y = (uintptr_t) * (char *const *)b;
    return x < y ? -1 : x > y;
}

static void test_threads_map_at_once(void)
{
    static char *maps[THREADS][MAPS_EACH];
    pthread_t t[THREADS];
    int failed = 0;
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, mapper, maps[i]);
    for (int i = 0; i < THREADS; i++) {
        void *r;
        pthread_join(t[i], &r);
        failed |= r != NULL;
    }
    check(!failed, "threads mapping at once all succeed");
    char **all = &maps[0][0];
    qsort(all, THREADS * MAPS_EACH, sizeof *all, cmp_ptr);
    int distinct = 1;
    for (int i = 1; i < THREADS * MAPS_EACH; i++)
        distinct &= all[i] != all[i - 1];
    check(distinct, "and get distinct pages");
    for (int i = 0; i < THREADS * MAPS_EACH; i++)
        munmap(all[i], PAGE);
}

int main(void)
{
    test_init();
    test_placement();
    test_protnone();
    test_brk();
    test_threads_map_at_once();
    return finish();
}
