/*
 * futex_waitv: a thread waiting on three futexes is woken by a wake on the
 * second and gets its index; a wake on the third of another wait the
 * same; a value that differs is EAGAIN; absolute timeouts on
 * CLOCK_MONOTONIC and CLOCK_REALTIME end the wait with ETIMEDOUT; and the
 * arguments Linux refuses with EINVAL.
 */
#include "common.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
#define FUTEX2_SIZE_U32 0x02
#define FUTEX2_PRIVATE 128
#ifndef FUTEX_WAKE_PRIVATE
#define FUTEX_WAKE_PRIVATE (FUTEX_WAKE | 128)
#endif

struct waitv {
    uint64_t val;
    uint64_t uaddr;
    uint32_t flags;
    uint32_t reserved;
};

static uint32_t words[3];

static long futex_waitv(struct waitv *w, unsigned n, unsigned flags, struct timespec *ts, int clock)
{
    return syscall(SYS_futex_waitv, w, n, flags, ts, clock);
}

static void fill(struct waitv *w, unsigned flags)
{
    for (int i = 0; i < 3; i++) {
        w[i].val = 0;
        w[i].uaddr = (uint64_t)(uintptr_t)&words[i];
        w[i].flags = FUTEX2_SIZE_U32 | flags;
        w[i].reserved = 0;
    }
}

static _Atomic long result = -100;
static atomic_int started;
static unsigned wait_flags;

static void *waiter(void *arg)
{
    (void)arg;
    struct waitv w[3];
    fill(w, wait_flags);
    atomic_store(&started, 1);
    long r = futex_waitv(w, 3, 0, NULL, 0);
    atomic_store(&result, r < 0 ? -errno : r);
    return NULL;
}

/* Starts a waiter, wakes word `which` after 100 ms (op: FUTEX_WAKE or its
   private form), returns what futex_waitv returned. */
static long wake_one_of_three(int which, int op, unsigned flags)
{
    atomic_store(&result, -100);
    atomic_store(&started, 0);
    wait_flags = flags;
    pthread_t t;
    pthread_create(&t, NULL, waiter, NULL);
    while (!atomic_load(&started))
        sleep_ms(1);
    sleep_ms(100);
    int woke_early = atomic_load(&result) != -100;
    /* Wakes on the other words first find nobody queued there... except
       the waiter itself, so only the chosen one is woken. */
    long n = 0;
    for (int tries = 0; tries < 500 && n == 0; tries++) {
        n = syscall(SYS_futex, &words[which], op, 1, NULL, NULL, 0);
        if (n == 0)
            sleep_ms(10);
    }
    pthread_join(t, NULL);
    return woke_early ? -1000 : n == 1 ? atomic_load(&result) : -2000;
}

int main(void)
{
    test_init();
    long r = wake_one_of_three(1, FUTEX_WAKE, 0);
    printf("woken by a wake on the second of three: returns %ld\n", r);
    if (r != 1)
        fail("index of the second word");
    r = wake_one_of_three(2, FUTEX_WAKE_PRIVATE, FUTEX2_PRIVATE);
    printf("FUTEX2_PRIVATE words, woken on the third: returns %ld\n", r);
    if (r != 2)
        fail("index of the third word");

    struct waitv w[3];
    fill(w, 0);
    words[2] = 5;
    expect_errno(futex_waitv(w, 3, 0, NULL, 0), EAGAIN, "a value that differs");
    words[2] = 0;

    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += 100000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    uint64_t t0 = now_ns();
    expect_errno(futex_waitv(w, 3, 0, &ts, CLOCK_MONOTONIC), ETIMEDOUT, "absolute CLOCK_MONOTONIC timeout");
    check(now_ns() - t0 >= 90000000ull, "it waited until then");
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 50000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    expect_errno(futex_waitv(w, 3, 0, &ts, CLOCK_REALTIME), ETIMEDOUT, "absolute CLOCK_REALTIME timeout");
    clock_gettime(CLOCK_MONOTONIC, &ts);
    expect_errno(futex_waitv(w, 3, 0, &ts, CLOCK_BOOTTIME), EINVAL, "a timeout on CLOCK_BOOTTIME");
    struct timespec bad = { 0, 1000000000 };
    expect_errno(futex_waitv(w, 3, 0, &bad, CLOCK_MONOTONIC), EINVAL, "a timeout with 10^9 ns");
    expect_errno(futex_waitv(w, 3, 1, NULL, 0), EINVAL, "flags not 0");
    expect_errno(futex_waitv(w, 0, 0, NULL, 0), EINVAL, "no futexes");
    expect_errno(futex_waitv(w, 129, 0, NULL, 0), EINVAL, "129 futexes");
    expect_errno(futex_waitv(NULL, 3, 0, NULL, 0), EINVAL, "a NULL vector");
    w[1].flags = 0;
    expect_errno(futex_waitv(w, 3, 0, NULL, 0), EINVAL, "a word without FUTEX2_SIZE_U32");
    w[1].flags = FUTEX2_SIZE_U32 | 0x100;
    expect_errno(futex_waitv(w, 3, 0, NULL, 0), EINVAL, "a word with an unknown flag");
    w[1].flags = FUTEX2_SIZE_U32;
    w[1].reserved = 1;
    expect_errno(futex_waitv(w, 3, 0, NULL, 0), EINVAL, "a reserved word not 0");
    w[1].reserved = 0;
    w[1].uaddr += 1;
    expect_errno(futex_waitv(w, 3, 0, NULL, 0), EINVAL, "a misaligned word");
    w[1].uaddr = 8;
    expect_errno(futex_waitv(w, 3, 0, NULL, 0), EFAULT, "an unmapped word");
    return finish();
}
