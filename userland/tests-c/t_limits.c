/*
 * Memory limits and overcommit, as Linux applies them:
 *   RLIMIT_AS    mmap past the limit: ENOMEM; within it: fine
 *   RLIMIT_DATA  writable private mmap and brk past the limit: ENOMEM (brk
 *                stays put); a read-only mapping is not data
 *   RLIMIT_STACK the stack grows within the limit; past it, SIGSEGV
 *   overcommit   (vm.overcommit_memory 0) one writable private mapping
 *                larger than RAM + swap: ENOMEM; with MAP_NORESERVE: fine
 *
 * qemu-user ignores setrlimit for RLIMIT_AS, RLIMIT_DATA and RLIMIT_STACK
 * (they would constrain the emulator itself), so it cannot stand in for
 * Linux here: this kernel only. The expected lines are Linux's; the same
 * source built for the host (cc -O2 t_limits.c) prints them on x86_64 Linux.
 */
#include "common.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define MIB (1UL << 20)

static int set_limit(int resource, rlim_t bytes)
{
    struct rlimit r = { bytes, bytes };
    return setrlimit(resource, &r);
}

static int map_fails(size_t len, int prot, int flags)
{
    void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
    if (p == MAP_FAILED)
        return errno;
    munmap(p, len);
    return 0;
}

/* Runs `f` in a child; returns its wait status. */
static int in_child(int (*f)(void))
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(f());
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

/* Exit codes of the children: 0 = as expected, else the failed step. */
static int address_space(void)
{
    if (set_limit(RLIMIT_AS, 256 * MIB))
        return 1;
    if (map_fails(512 * MIB, PROT_READ | PROT_WRITE, 0) != ENOMEM)
        return 2;
    if (map_fails(512 * MIB, PROT_NONE, MAP_NORESERVE) != ENOMEM)
        return 3; /* address space counts whatever the protection */
    void *a = mmap(NULL, 128 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED)
        return 4;
    if (map_fails(160 * MIB, PROT_READ, 0) != ENOMEM)
        return 5; /* 128 + 160 > 256 */
    /* Replacing part of a mapping with MAP_FIXED does not count it twice. */
    if (mmap(a, 64 * MIB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != a)
        return 6;
    return 0;
}

static int data(void)
{
    if (set_limit(RLIMIT_DATA, 64 * MIB))
        return 1;
    if (map_fails(128 * MIB, PROT_READ | PROT_WRITE, 0) != ENOMEM)
        return 2;
    if (map_fails(128 * MIB, PROT_READ, 0) != 0)
        return 3;
    long cur = syscall(SYS_brk, 0);
    if (syscall(SYS_brk, cur + 128 * MIB) != cur)
        return 4;
    if (syscall(SYS_brk, cur + MIB) != cur + (long)MIB)
        return 5;
    return 0;
}

static volatile char *stack_probe;

static int touch_stack(size_t bytes)
{
    uintptr_t base = (uintptr_t)__builtin_frame_address(0);
    for (size_t off = 4096; off < bytes; off += 4096) {
        stack_probe = (volatile char *)(base - off);
        *stack_probe = 1;
    }
    return 0;
}

static int stack_within(void)
{
    if (set_limit(RLIMIT_STACK, 2 * MIB))
        return 1;
    return touch_stack(MIB);
}

static int stack_past(void)
{
    if (set_limit(RLIMIT_STACK, 2 * MIB))
        return 1;
    touch_stack(4 * MIB);
    return 2; /* should not get here */
}

static long meminfo_kb(const char *key)
{
    char buf[4096];
    if (read_whole_file("/proc/meminfo", buf, sizeof buf) <= 0)
        return 0;
    char *at = strstr(buf, key);
    return at ? strtol(at + strlen(key), NULL, 10) : 0;
}

int main(void)
{
    test_init();
    int st = in_child(address_space);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "RLIMIT_AS: mmap past the limit fails with ENOMEM");
    st = in_child(data);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "RLIMIT_DATA: writable mmap and brk past the limit refused");
    st = in_child(stack_within);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "RLIMIT_STACK: the stack grows within the limit");
    st = in_child(stack_past);
    check(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "RLIMIT_STACK: past the limit, SIGSEGV");

    size_t ram = (size_t)(meminfo_kb("MemTotal:") + meminfo_kb("SwapTotal:")) * 1024;
    size_t huge = 2 * ram + 1024 * MIB;
    check(ram > 0 && map_fails(huge, PROT_READ | PROT_WRITE, 0) == ENOMEM,
          "overcommit: a mapping larger than RAM + swap fails with ENOMEM");
    check(map_fails(huge, PROT_READ | PROT_WRITE, MAP_NORESERVE) == 0, "overcommit: with MAP_NORESERVE it is made");
    return finish();
}
