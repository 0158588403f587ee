/*
 * Futex operations beyond WAIT/WAKE: timeouts (relative for FUTEX_WAIT,
 * absolute on CLOCK_MONOTONIC or CLOCK_REALTIME for FUTEX_WAIT_BITSET),
 * FUTEX_WAKE_BITSET choosing sleepers by bitset, FUTEX_REQUEUE and
 * FUTEX_CMP_REQUEUE moving sleepers to another word, FUTEX_WAKE_OP changing
 * a word and waking on two, priority-inheritance locks (FUTEX_LOCK_PI,
 * TRYLOCK_PI, UNLOCK_PI handing the lock from one thread to another), and
 * the argument errors.
 *
 * Sleepers are threads. Whether one has gone to sleep yet cannot be seen,
 * so every wake or requeue that must find sleepers is repeated until it
 * has found them all: the printed results do not depend on timing.
 */
#include "common.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>

#ifndef FUTEX_WAIT_BITSET
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#endif
#define F_WAKE 1
#define F_REQUEUE 3
#define F_CMP_REQUEUE 4
#define F_WAKE_OP 5
#define F_PRIVATE 128
#define F_CLOCK_REALTIME 256
#define OP(op, oparg, cmp, cmparg) \
    ((unsigned)((((op) & 0xf) << 28) | (((cmp) & 0xf) << 24) | (((oparg) & 0xfff) << 12) | ((cmparg) & 0xfff)))

static long futex(int *uaddr, int op, int val, const void *timeout_or_val2, int *uaddr2, int val3)
{
    return syscall(SYS_futex, uaddr, op, val, timeout_or_val2, uaddr2, val3);
}

static int word1, word2;

struct sleeper {
    int *word;
    int val;
    unsigned bitset;
    atomic_int done;
    long result;
    pthread_t thread;
};

static void *sleep_on(void *p)
{
    struct sleeper *s = p;
    for (;;) {
        long r = futex(s->word, FUTEX_WAIT_BITSET | F_PRIVATE, s->val, NULL, NULL, (int)s->bitset);
        /* A wait that started on the word it was requeued from is fine;
           EAGAIN means the word changed before it slept: try again. */
        if (r == 0)
            break;
        if (errno != EAGAIN && errno != EINTR) {
            s->result = -errno;
            break;
        }
    }
    atomic_store(&s->done, 1);
    return NULL;
}

static void start(struct sleeper *s, int *word, unsigned bitset)
{
    s->word = word;
    s->val = *word;
    s->bitset = bitset;
    atomic_store(&s->done, 0);
    s->result = 0;
    pthread_create(&s->thread, NULL, sleep_on, s);
}

/* Repeats `op` (returning how many it woke or moved) until `want` in all. */
#define REPEAT_UNTIL(want, op)                                                \
    ({                                                                        \
        long total_ = 0;                                                      \
        for (int i_ = 0; i_ < 1000 && total_ < (want); i_++) {                \
            long r_ = (op);                                                   \
            if (r_ < 0)                                                       \
                break;                                                        \
            total_ += r_;                                                     \
            if (total_ < (want))                                              \
                sleep_ms(2);                                                  \
        }                                                                     \
        total_;                                                               \
    })

static struct timespec in_ms(clockid_t clock, long ms)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    ts.tv_nsec += ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    return ts;
}

static void check_waits(void)
{
    int w = 1;
    struct timespec rel = { 0, 20000000 };
    expect_errno(futex(&w, FUTEX_WAIT | F_PRIVATE, 2, NULL, NULL, 0), EAGAIN, "FUTEX_WAIT on a changed value");
    expect_errno(futex(&w, FUTEX_WAIT | F_PRIVATE, 1, &rel, NULL, 0), ETIMEDOUT, "FUTEX_WAIT with a relative timeout");
    struct timespec abs = in_ms(CLOCK_MONOTONIC, 20);
    expect_errno(futex(&w, FUTEX_WAIT_BITSET | F_PRIVATE, 1, &abs, NULL, -1), ETIMEDOUT,
                 "FUTEX_WAIT_BITSET until a CLOCK_MONOTONIC time");
    abs = in_ms(CLOCK_REALTIME, 20);
    expect_errno(futex(&w, FUTEX_WAIT_BITSET | F_PRIVATE | F_CLOCK_REALTIME, 1, &abs, NULL, -1), ETIMEDOUT,
                 "FUTEX_WAIT_BITSET until a CLOCK_REALTIME time");
    expect_errno(futex(&w, FUTEX_WAIT_BITSET | F_PRIVATE, 1, NULL, NULL, 0), EINVAL, "FUTEX_WAIT_BITSET with bitset 0");
    expect_errno(futex(&w, FUTEX_WAKE_BITSET | F_PRIVATE, 1, NULL, NULL, 0), EINVAL, "FUTEX_WAKE_BITSET with bitset 0");
    expect_errno(futex(&w, F_WAKE | F_PRIVATE | F_CLOCK_REALTIME, 1, NULL, NULL, 0), ENOSYS,
                 "FUTEX_CLOCK_REALTIME with FUTEX_WAKE");
    expect_errno(futex(&w, 99 | F_PRIVATE, 1, NULL, NULL, 0), ENOSYS, "futex operation 99");
}

static void check_bitsets(void)
{
    static struct sleeper a, b;
    word1 = 0;
    start(&a, &word1, 1);
    start(&b, &word1, 2);
    long n = REPEAT_UNTIL(1, futex(&word1, FUTEX_WAKE_BITSET | F_PRIVATE, INT_MAX, NULL, NULL, 2));
    pthread_join(b.thread, NULL);
    check(n == 1 && atomic_load(&b.done), "FUTEX_WAKE_BITSET 2 wakes the bitset-2 sleeper");
    sleep_ms(20);
    check(!atomic_load(&a.done), "and not the bitset-1 sleeper");
    n = REPEAT_UNTIL(1, futex(&word1, F_WAKE | F_PRIVATE, 1, NULL, NULL, 0));
    pthread_join(a.thread, NULL);
    check(n == 1 && atomic_load(&a.done), "FUTEX_WAKE wakes a bitset sleeper");
}

static void check_requeue(void)
{
    static struct sleeper s[3];
    word1 = 7;
    word2 = 9;
    for (int i = 0; i < 3; i++)
        start(&s[i], &word1, ~0u);
    expect_errno(futex(&word1, F_CMP_REQUEUE | F_PRIVATE, 0, (void *)(long)INT_MAX, &word2, 8), EAGAIN,
                 "FUTEX_CMP_REQUEUE with a stale value");
    expect_errno(futex(&word1, F_CMP_REQUEUE | F_PRIVATE, -1, (void *)1L, &word2, 7), EINVAL,
                 "FUTEX_CMP_REQUEUE with a negative count");
    long moved = REPEAT_UNTIL(3, futex(&word1, F_CMP_REQUEUE | F_PRIVATE, 0, (void *)(long)INT_MAX, &word2, 7));
    check(moved == 3, "FUTEX_CMP_REQUEUE moves all three sleepers");
    check(futex(&word1, F_WAKE | F_PRIVATE, INT_MAX, NULL, NULL, 0) == 0, "none is left on the first word");
    int awake = 0;
    for (int i = 0; i < 3; i++)
        awake += atomic_load(&s[i].done);
    check(awake == 0, "a requeue wakes nobody");
    /* One woken, one moved back: the count is both. */
    check(futex(&word2, F_REQUEUE | F_PRIVATE, 1, (void *)1L, &word1, 0) == 2, "FUTEX_REQUEUE wakes 1 and moves 1");
    check(futex(&word1, F_WAKE | F_PRIVATE, INT_MAX, NULL, NULL, 0) == 1, "the moved one sleeps on the first word");
    check(futex(&word2, F_WAKE | F_PRIVATE, INT_MAX, NULL, NULL, 0) == 1, "the last one is still on the second");
    int errors = 0;
    for (int i = 0; i < 3; i++) {
        pthread_join(s[i].thread, NULL);
        errors += s[i].result != 0;
    }
    check(errors == 0, "every sleeper returned 0");
}

static void check_wake_op(void)
{
    word1 = 0;
    word2 = 5;
    /* ADD 3 to word2; wake on word2 if it was 5: no sleepers, 0 woken. */
    check(futex(&word1, F_WAKE_OP | F_PRIVATE, 1, (void *)1L, &word2, (int)OP(1, 3, 0, 5)) == 0 && word2 == 8,
          "FUTEX_WAKE_OP ADD changes the second word");
    check(futex(&word1, F_WAKE_OP | F_PRIVATE, 1, (void *)1L, &word2, (int)OP(8 | 0, 4, 0, 0)) == 0 && word2 == 16,
          "FUTEX_WAKE_OP SET with FUTEX_OP_OPARG_SHIFT stores 1 << 4");
    check(futex(&word1, F_WAKE_OP | F_PRIVATE, 1, (void *)1L, &word2, (int)OP(3, 16, 0, 0)) == 0 && word2 == 0,
          "FUTEX_WAKE_OP ANDN clears bits");
    check(futex(&word1, F_WAKE_OP | F_PRIVATE, 1, (void *)1L, &word2, (int)OP(1, -1, 0, 0)) == 0 && word2 == -1,
          "FUTEX_WAKE_OP takes a signed 12-bit argument");
    expect_errno(futex(&word1, F_WAKE_OP | F_PRIVATE, 1, (void *)1L, &word2, (int)OP(5, 0, 0, 0)), ENOSYS,
                 "FUTEX_WAKE_OP with operation 5");
    expect_errno(futex(&word1, F_WAKE_OP | F_PRIVATE, 1, (void *)1L, &word2, (int)OP(0, 0, 6, 0)), ENOSYS,
                 "FUTEX_WAKE_OP with comparison 6");

    /* A sleeper on each word: the comparison decides about the second. */
    static struct sleeper on1, on2;
    word1 = 0;
    word2 = 9;
    start(&on1, &word1, ~0u);
    start(&on2, &word2, ~0u);
    /* SET 9 keeps word2 at 9; CMP_NE 9 is false: only word1's sleeper. */
    long n = REPEAT_UNTIL(1, futex(&word1, F_WAKE_OP | F_PRIVATE, 1, (void *)1L, &word2, (int)OP(0, 9, 1, 9)));
    pthread_join(on1.thread, NULL);
    check(n == 1 && !atomic_load(&on2.done), "a false comparison wakes only the first word's sleeper");
    /* CMP_EQ 9 is true: word2's sleeper too. */
    n = REPEAT_UNTIL(1, futex(&word1, F_WAKE_OP | F_PRIVATE, 1, (void *)1L, &word2, (int)OP(0, 9, 0, 9)));
    pthread_join(on2.thread, NULL);
    check(n == 1 && atomic_load(&on2.done), "a true comparison wakes the second word's sleeper");
}

#define F_LOCK_PI 6
#define F_UNLOCK_PI 7
#define F_TRYLOCK_PI 8
#define F_WAITERS 0x80000000u
#define F_TID_MASK 0x3fffffffu

static int pi_word;
static atomic_int handed_over;

static int gettid_(void) { return (int)syscall(SYS_gettid); }

/* What glibc's PI mutexes do: the word is 0 or the owner's TID. */
static void pi_lock(int *w)
{
    int zero = 0;
    if (!atomic_compare_exchange_strong((atomic_int *)w, &zero, gettid_()))
        futex(w, F_LOCK_PI | F_PRIVATE, 0, NULL, NULL, 0);
}

static void pi_unlock(int *w)
{
    int me = gettid_();
    if (!atomic_compare_exchange_strong((atomic_int *)w, &me, 0))
        futex(w, F_UNLOCK_PI | F_PRIVATE, 0, NULL, NULL, 0);
}

static void *pi_contender(void *p)
{
    (void)p;
    pi_lock(&pi_word);
    /* Handed over by the kernel: the word names us. */
    atomic_store(&handed_over, ((unsigned)pi_word & F_TID_MASK) == (unsigned)gettid_());
    pi_unlock(&pi_word);
    return NULL;
}

static atomic_int idle_stop;
static atomic_int idle_tid;

static void *idle_thread(void *p)
{
    (void)p;
    atomic_store(&idle_tid, gettid_());
    while (!atomic_load(&idle_stop))
        sleep_ms(5);
    return NULL;
}

static void check_pi(void)
{
    int w = 0;
    check(futex(&w, F_TRYLOCK_PI | F_PRIVATE, 0, NULL, NULL, 0) == 0 && w == gettid_(), "FUTEX_TRYLOCK_PI of a free lock");
    expect_errno(futex(&w, F_TRYLOCK_PI | F_PRIVATE, 0, NULL, NULL, 0), EDEADLK, "FUTEX_TRYLOCK_PI of our own lock");
    expect_errno(futex(&w, F_LOCK_PI | F_PRIVATE, 0, NULL, NULL, 0), EDEADLK, "FUTEX_LOCK_PI of our own lock");
    check(futex(&w, F_UNLOCK_PI | F_PRIVATE, 0, NULL, NULL, 0) == 0 && w == 0, "FUTEX_UNLOCK_PI with no waiters");
    w = 0x3ffffff0;
    expect_errno(futex(&w, F_LOCK_PI | F_PRIVATE, 0, NULL, NULL, 0), ESRCH, "FUTEX_LOCK_PI of a lock whose owner does not exist");

    /* Owned by another live thread. */
    pthread_t idle;
    pthread_create(&idle, NULL, idle_thread, NULL);
    while (atomic_load(&idle_tid) == 0)
        sleep_ms(1);
    w = atomic_load(&idle_tid);
    expect_errno(futex(&w, F_TRYLOCK_PI | F_PRIVATE, 0, NULL, NULL, 0), EAGAIN, "FUTEX_TRYLOCK_PI of another's lock");
    expect_errno(futex(&w, F_UNLOCK_PI | F_PRIVATE, 0, NULL, NULL, 0), EPERM, "FUTEX_UNLOCK_PI of another's lock");
    struct timespec abs = in_ms(CLOCK_REALTIME, 20);
    expect_errno(futex(&w, F_LOCK_PI | F_PRIVATE, 0, &abs, NULL, 0), ETIMEDOUT,
                 "FUTEX_LOCK_PI until a CLOCK_REALTIME time");
    check(((unsigned)w & F_TID_MASK) == (unsigned)atomic_load(&idle_tid) && ((unsigned)w & F_WAITERS),
          "the waiter set FUTEX_WAITERS and left the owner alone");
    atomic_store(&idle_stop, 1);
    pthread_join(idle, NULL);

    /* Hand-off: we hold it, a thread waits in the kernel, we unlock. */
    pi_word = 0;
    pi_lock(&pi_word);
    pthread_t t;
    pthread_create(&t, NULL, pi_contender, NULL);
    for (int i = 0; i < 500 && !((unsigned)atomic_load((atomic_int *)&pi_word) & F_WAITERS); i++)
        sleep_ms(10);
    check((unsigned)pi_word & F_WAITERS, "the contender waits in FUTEX_LOCK_PI");
    pi_unlock(&pi_word);
    pthread_join(t, NULL);
    check(atomic_load(&handed_over), "FUTEX_UNLOCK_PI hands the lock to the waiter");
    check(pi_word == 0, "and its unlock frees it");
}

int main(void)
{
    test_init();
    check_waits();
    check_bitsets();
    check_requeue();
    check_wake_op();
    check_pi();
    return finish();
}
