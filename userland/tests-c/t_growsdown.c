/*
 * MAP_GROWSDOWN: an anonymous mapping that grows down when a page below it
 * is touched (Linux: expand_stack). Each case runs in a child, which
 * reports through its exit status, so a SIGSEGV is an answer, not the end
 * of the test:
 * - the page just below the mapping, and one 16 pages below, can be written
 *   and read back; the mapping then reaches down to them (a MAP_FIXED_NOREPLACE
 *   mapping there fails with EEXIST);
 * - growth never comes within the stack guard gap (256 pages) of the
 *   mapping below: a touch there is SIGSEGV;
 * - a mapping without MAP_GROWSDOWN does not grow.
 * `t_growsdown limit` (kernel system test only: qemu-user ignores
 * RLIMIT_STACK): growth that would make the mapping larger than
 * RLIMIT_STACK is SIGSEGV, as Linux's acct_stack_growth refuses it.
 */
#include "common.h"

#include <signal.h>
#include <sys/mman.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define PAGE 4096L
/* Far from everything else in both address spaces. */
#define BASE ((char *)0x400000000000L)

/* Runs fn in a child: its exit status, or 128 + the signal that killed it. */
static int in_child(int (*fn)(void))
{
    pid_t c = fork();
    if (c == 0)
        _exit(fn());
    int st = 0;
    waitpid(c, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static char *map_at(char *where, long pages, int growsdown)
{
    char *p = mmap(where, pages * PAGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | (growsdown ? MAP_GROWSDOWN : 0), -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static int touch(volatile char *at, char v)
{
    *at = v;
    return *at == v;
}

static int grow_just_below(void)
{
    char *p = map_at(BASE, 4, 1);
    if (p == NULL)
        return 10;
    if (!touch(p - 1, 'a') || !touch(p - PAGE, 'b'))
        return 11;
    return 0;
}

static int grow_further_below(void)
{
    char *p = map_at(BASE, 4, 1);
    if (p == NULL)
        return 10;
    if (!touch(p - 16 * PAGE, 'c'))
        return 11;
    /* The pages in between belong to the mapping now. */
    if (map_at(p - 8 * PAGE, 1, 0) != NULL || errno != EEXIST)
        return 12;
    if (!touch(p - 8 * PAGE, 'd'))
        return 13;
    return 0;
}

static int guard_gap(void)
{
    char *below = map_at(BASE - 300 * PAGE, 1, 0);
    char *p = map_at(BASE, 4, 1);
    if (below == NULL || p == NULL)
        return 10;
    touch(p - 100 * PAGE, 'e'); /* 199 pages above the other mapping: SIGSEGV */
    return 0;
}

static int plain_mapping(void)
{
    char *p = map_at(BASE, 4, 0);
    if (p == NULL)
        return 10;
    touch(p - PAGE, 'f'); /* SIGSEGV */
    return 0;
}

static int over_rlimit(void)
{
    struct rlimit rl = {64 * 1024, RLIM_INFINITY};
    if (setrlimit(RLIMIT_STACK, &rl) != 0)
        return 10;
    char *p = map_at(BASE, 4, 1);
    if (p == NULL)
        return 10;
    if (!touch(p - 8 * PAGE, 'g')) /* 12 pages: within 64 KiB */
        return 11;
    touch(p - 16 * PAGE, 'h'); /* 20 pages: over it, SIGSEGV */
    return 0;
}

int main(int argc, char **argv)
{
    test_init();
    no_core_dumps();
    if (argc > 1 && strcmp(argv[1], "limit") == 0) {
        check(in_child(over_rlimit) == 128 + SIGSEGV,
              "growth within RLIMIT_STACK works, beyond it is SIGSEGV");
        return finish();
    }
    check(in_child(grow_just_below) == 0, "the page just below a MAP_GROWSDOWN mapping can be used");
    check(in_child(grow_further_below) == 0, "16 pages below too, and the pages between join the mapping");
    check(in_child(guard_gap) == 128 + SIGSEGV, "growth into the guard gap above another mapping: SIGSEGV");
    check(in_child(plain_mapping) == 128 + SIGSEGV, "a mapping without MAP_GROWSDOWN does not grow: SIGSEGV");
    return finish();
}
