/*
 * Threads, two ways.
 *  1. pthreads (glibc: clone with CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|
 *     CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|
 *     CLONE_CHILD_CLEARTID, joined through a futex): 4 threads add to an
 *     atomic counter; each sees the process's pid and its own tid.
 *  2. A raw clone with the same flags and a TLS value of our own; the parent
 *     waits with FUTEX_WAIT on the CLONE_CHILD_CLEARTID word until the kernel
 *     clears it and wakes the futex at thread exit.
 */
#include "common.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define THREADS 4
#define INCREMENTS 100000

static atomic_long counter;
static pid_t main_pid;

struct thread_info {
    pid_t pid;
    pid_t tid;
};

static void *worker(void *arg)
{
    struct thread_info *info = arg;
    info->pid = getpid();
    info->tid = (pid_t)syscall(SYS_gettid);
    for (int i = 0; i < INCREMENTS; i++)
        atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed);
    return info;
}

static void test_pthreads(void)
{
    pthread_t threads[THREADS];
    struct thread_info info[THREADS];
    int created = 0;

    for (int i = 0; i < THREADS; i++) {
        if (pthread_create(&threads[i], NULL, worker, &info[i]) != 0)
            break;
        created++;
    }
    check(created == THREADS, "pthread_create x4");
    int joined = 0;
    for (int i = 0; i < created; i++) {
        void *result;
        if (pthread_join(threads[i], &result) == 0 && result == &info[i])
            joined++;
    }
    check(joined == THREADS, "pthread_join x4 returns each thread's value");
    check(atomic_load(&counter) == (long)THREADS * INCREMENTS, "counter total 400000");

    int same_pid = 1, own_tid = 1, distinct = 1;
    for (int i = 0; i < created; i++) {
        same_pid &= info[i].pid == main_pid;
        own_tid &= info[i].tid != main_pid && info[i].tid > 0;
        for (int j = 0; j < i; j++)
            distinct &= info[i].tid != info[j].tid;
    }
    check(same_pid, "threads see the process's getpid");
    check(own_tid, "threads have gettid != getpid");
    check(distinct, "thread ids are distinct");
}

/* Shared with the raw thread. */
static _Atomic pid_t raw_tid_word;
static atomic_long raw_counter;
static atomic_int raw_release;
static volatile pid_t raw_seen_pid, raw_seen_tid;
static volatile uintptr_t raw_seen_tls;
static uintptr_t raw_tls_block[8] __attribute__((aligned(16)));

static uintptr_t read_thread_pointer(void)
{
#if defined(__aarch64__)
    uintptr_t tp;
    __asm__ volatile("mrs %0, tpidr_el0" : "=r"(tp));
    return tp;
#else
    return (uintptr_t)__builtin_thread_pointer();
#endif
}

/*
 * Runs with a TLS pointer that is not a C library thread block, so it calls
 * only system calls that succeed (a failing syscall() would write errno).
 */
static int raw_thread(void *arg)
{
    (void)arg;
    raw_seen_tls = read_thread_pointer();
    raw_seen_pid = (pid_t)syscall(SYS_getpid);
    raw_seen_tid = (pid_t)syscall(SYS_gettid);
    for (int i = 0; i < INCREMENTS; i++)
        atomic_fetch_add_explicit(&raw_counter, 1, memory_order_relaxed);
    /* Stay alive until the parent has looked at the tid word. */
    while (!atomic_load(&raw_release))
        syscall(SYS_sched_yield);
    return 0;
}

static void test_raw_clone(void)
{
    size_t stack_size = 256 * 1024;
    char *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (stack == MAP_FAILED) {
        fail("mmap stack");
        return;
    }
    int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
    uintptr_t tls = (uintptr_t)raw_tls_block;
    raw_tls_block[0] = tls; /* x86-64 reads the thread pointer from %fs:0 */
    pid_t tid = clone(raw_thread, stack + stack_size, flags, NULL,
                      (pid_t *)&raw_tid_word, (void *)tls, (pid_t *)&raw_tid_word);
    if (!check(tid > 0, "raw clone creates a thread"))
        return;
    check(atomic_load(&raw_tid_word) == tid, "CLONE_PARENT_SETTID stored the tid");
    atomic_store(&raw_release, 1);

    /* Wait for the kernel to clear the word and wake us (bounded). */
    int woken = 0;
    for (int i = 0; i < 10000; i++) {
        pid_t seen = atomic_load(&raw_tid_word);
        if (seen == 0) {
            woken = 1;
            break;
        }
        struct timespec timeout = { 0, 10 * 1000 * 1000 };
        long r = syscall(SYS_futex, &raw_tid_word, FUTEX_WAIT, seen, &timeout, NULL, 0);
        if (r == -1 && errno != EAGAIN && errno != EINTR && errno != ETIMEDOUT) {
            fail("futex wait: %s", errno_name(errno));
            break;
        }
    }
    check(woken, "CLONE_CHILD_CLEARTID cleared the word at exit");
    check(atomic_load(&raw_counter) == INCREMENTS, "raw thread did its work");
    check(raw_seen_pid == main_pid, "raw thread sees the process's getpid");
    check(raw_seen_tid == tid, "raw thread's gettid is clone's return");
    check(raw_seen_tls == tls, "CLONE_SETTLS set the thread pointer");
    check(read_thread_pointer() != tls, "parent thread pointer unchanged");
    munmap(stack, stack_size);
}

int main(void)
{
    test_init();
    main_pid = getpid();
    check(syscall(SYS_gettid) == main_pid, "main thread gettid == getpid");
    test_pthreads();
    test_raw_clone();
    int status;
    expect_errno(wait4(-1, &status, WNOHANG | __WALL, NULL), ECHILD,
                "threads are not children");
    return finish();
}
