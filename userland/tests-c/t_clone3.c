/*
 * clone3: a fork-like child, CLONE_PARENT_SETTID and CLONE_CHILD_SETTID, an
 * exit signal of 0 (reaped with __WALL), a thread on its own stack joined
 * through CLONE_CHILD_CLEARTID, and the argument checks of Linux 6.1
 * (sizes, unknown trailing fields, exit signals, CSIGNAL bits in flags,
 * CLONE_THREAD with an exit signal, half-given stacks).
 *
 * qemu-user has no clone3 (ENOSYS), so only the kernel's system test runs
 * this; what it checks is Linux's documented behaviour (clone(2)). glibc's
 * pthread_create also goes through clone3 now: t_threads-glibc covers that
 * beside Linux.
 */
#include "common.h"

#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>

#ifndef SYS_clone3
#define SYS_clone3 435
#endif

struct clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

#define C_VM 0x100
#define C_FS 0x200
#define C_FILES 0x400
#define C_SIGHAND 0x800
#define C_THREAD 0x10000
#define C_SYSVSEM 0x40000
#define C_PARENT_SETTID 0x100000
#define C_CHILD_CLEARTID 0x200000
#define C_CHILD_SETTID 0x1000000
#define W_ALL 0x40000000

static long clone3(struct clone_args *a, size_t size)
{
    return syscall(SYS_clone3, a, size);
}

static struct clone_args fresh(void)
{
    struct clone_args a;
    memset(&a, 0, sizeof a);
    a.exit_signal = SIGCHLD;
    return a;
}

static atomic_int thread_ran;

static void thread_body(void)
{
    atomic_store(&thread_ran, 1);
}

/*
 * clone3 for a thread: the child runs `fn` on its own stack and leaves
 * with exit(0) without returning into this frame.
 */
static long clone3_thread(struct clone_args *a, void (*fn)(void))
{
    register long x0 __asm__("x0") = (long)a;
    register long x1 __asm__("x1") = (long)sizeof *a;
    register long x2 __asm__("x2") = (long)fn;
    register long x8 __asm__("x8") = SYS_clone3;
    __asm__ volatile("svc #0\n"
                     "cbnz x0, 1f\n"
                     "blr x2\n"
                     "mov x0, #0\n"
                     "mov x8, #93\n" /* exit: this thread only */
                     "svc #0\n"
                     "1:\n"
                     : "+r"(x0)
                     : "r"(x1), "r"(x2), "r"(x8)
                     : "memory", "x30", "cc");
    return x0;
}

int main(void)
{
    test_init();
    int status;
    struct clone_args a = fresh();
    fflush(stdout);
    long pid = clone3(&a, 64);
    if (pid == 0)
        _exit(7);
    check(pid > 0 && wait_child((pid_t)pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 7,
          "clone3 with no flags is fork");

    static int ptid, ctid;
    a = fresh();
    a.flags = C_PARENT_SETTID | C_CHILD_SETTID;
    a.parent_tid = (uint64_t)(uintptr_t)&ptid;
    a.child_tid = (uint64_t)(uintptr_t)&ctid;
    pid = clone3(&a, 64);
    if (pid == 0)
        _exit(ctid == getpid() ? 0 : 1);
    wait_child((pid_t)pid, &status, 0);
    check(ptid == pid, "CLONE_PARENT_SETTID");
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "CLONE_CHILD_SETTID in the child's memory");
    check(ctid == 0, "not in the parent's");

    a = fresh();
    a.exit_signal = 0;
    pid = clone3(&a, 64);
    if (pid == 0)
        _exit(3);
    check(waitpid((pid_t)pid, &status, W_ALL) == pid && WEXITSTATUS(status) == 3, "exit signal 0: reaped with __WALL");

    /* A larger struct with zeros past what the kernel knows is fine. */
    static unsigned char big[128];
    a = fresh();
    memcpy(big, &a, sizeof a);
    pid = clone3((struct clone_args *)big, sizeof big);
    if (pid == 0)
        _exit(0);
    check(pid > 0 && wait_child((pid_t)pid, &status, 0) == pid, "a 128-byte struct with zeros past the known fields");
    big[100] = 1;
    expect_errno(clone3((struct clone_args *)big, sizeof big), E2BIG, "a non-zero byte past the known fields");
    expect_errno(clone3(&a, 63), EINVAL, "size 63");
    expect_errno(clone3(&a, 4097), E2BIG, "size 4097");
    a.exit_signal = 65;
    expect_errno(clone3(&a, 64), EINVAL, "exit signal 65");
    a = fresh();
    a.flags = SIGCHLD;
    expect_errno(clone3(&a, 64), EINVAL, "a signal in the flags");
    a = fresh();
    a.flags = C_VM | C_SIGHAND | C_THREAD;
    expect_errno(clone3(&a, 64), EINVAL, "CLONE_THREAD with an exit signal");
    static char stack[64 * 1024] __attribute__((aligned(16)));
    a = fresh();
    a.stack = (uint64_t)(uintptr_t)stack;
    expect_errno(clone3(&a, 64), EINVAL, "a stack without a size");
    a = fresh();
    a.stack_size = sizeof stack;
    expect_errno(clone3(&a, 64), EINVAL, "a stack size without a stack");

    /* A thread on its own stack, joined by its CLONE_CHILD_CLEARTID word. */
    static int tid_word;
    a = fresh();
    a.exit_signal = 0;
    a.flags = C_VM | C_FS | C_FILES | C_SIGHAND | C_THREAD | C_SYSVSEM | C_PARENT_SETTID | C_CHILD_CLEARTID;
    a.stack = (uint64_t)(uintptr_t)stack;
    a.stack_size = sizeof stack;
    a.parent_tid = a.child_tid = (uint64_t)(uintptr_t)&tid_word;
    long tid = clone3_thread(&a, thread_body);
    check(tid > 0, "clone3 of a thread with its own stack");
    for (int i = 0; i < 500; i++) {
        int seen = __atomic_load_n(&tid_word, __ATOMIC_ACQUIRE);
        if (seen == 0)
            break;
        syscall(SYS_futex, &tid_word, FUTEX_WAIT, seen, NULL);
    }
    check(atomic_load(&thread_ran) && tid_word == 0, "the thread ran and its exit cleared the TID word");
    return finish();
}
