/*
 * The main stack grows on demand up to RLIMIT_STACK: a program exec'd
 * under a 64 MiB limit can recurse through 12 MiB of stack; under 8 MiB
 * the same recursion dies with SIGSEGV; with no limit it works too. Each
 * run is a child that sets the limit and execs this program, so the limit
 * is the one the new image starts with, and an anonymous mapping the
 * program makes must lie below the room the stack may grow into (Linux's
 * mmap_base: STACK_TOP less RLIMIT_STACK and the guard gap).
 *
 * Kernel test only: qemu-user ignores setrlimit(RLIMIT_STACK) (its guest
 * stack has a size fixed at start) and places mappings itself. Linux 6.1
 * prints "works, and mmap stays clear of the stack's room", "SIGSEGV" and
 * "works".
 *
 * usage: t_bigstack PATH-OF-THIS-PROGRAM
 *        t_bigstack recurse MIB        (what the children exec)
 */
#include "common.h"

#include <signal.h>
#include <sys/mman.h>

#define FRAME (64 * 1024)

/* Uses about depth * 64 KiB of stack; returns a sum the compiler cannot
   fold, so every frame stays. */
static __attribute__((noinline)) long recurse(int depth)
{
    volatile char buf[FRAME];
    for (int i = 0; i < FRAME; i += 4096)
        buf[i] = (char)(depth + i);
    if (depth == 0)
        return buf[0];
    return recurse(depth - 1) + buf[FRAME - 4096];
}

/* Runs PATH recurse 12 under RLIMIT_STACK `limit`: the exit status, or
   128 + the signal that killed it. */
static int run_under(const char *self, rlim_t limit)
{
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit r = { limit, limit };
        no_core_dumps();
        if (setrlimit(RLIMIT_STACK, &r) != 0)
            _exit(100);
        execl(self, self, "recurse", "12", (char *)NULL);
        _exit(101);
    }
    int status;
    wait_child(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "recurse") == 0) {
        int mib = atoi(argv[2]);
        long r = recurse(mib * 1024 * 1024 / FRAME);
        /* A mapping made now lies clear of where the stack could grow. */
        char *m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        char here;
        struct rlimit lim;
        getrlimit(RLIMIT_STACK, &lim);
        int clear = m != MAP_FAILED &&
                    (lim.rlim_cur == RLIM_INFINITY || (uintptr_t)m + (1 << 20) <= (uintptr_t)&here - lim.rlim_cur);
        return r == 12345 ? 3 : clear ? 0 : 4;
    }
    test_init();
    if (argc < 2) {
        printf("usage: t_bigstack PATH\n");
        return 2;
    }
    int st = run_under(argv[1], 64 << 20);
    printf("12 MiB of stack under RLIMIT_STACK 64 MiB: %s\n",
           st == 0 ? "works, and mmap stays clear of the stack's room" : st == 4 ? "mmap in the stack's room" : "fails");
    if (st != 0)
        fail("64 MiB: status %d", st);
    st = run_under(argv[1], 8 << 20);
    printf("12 MiB of stack under RLIMIT_STACK 8 MiB: %s\n", st == 128 + SIGSEGV ? "SIGSEGV" : "no SIGSEGV");
    if (st != 128 + SIGSEGV)
        fail("8 MiB: status %d", st);
    st = run_under(argv[1], RLIM_INFINITY);
    printf("12 MiB of stack under an unlimited RLIMIT_STACK: %s\n", st == 0 ? "works" : "fails");
    if (st != 0)
        fail("unlimited: status %d", st);
    return finish();
}
