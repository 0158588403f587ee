/*
 * Time: times(), argument checks of clock_settime/settimeofday, reading
 * clock_adjtime, and POSIX timers (timer_create/settime/gettime/
 * getoverrun/delete with SIGEV_SIGNAL, SIGEV_THREAD_ID, SIGEV_NONE and
 * TIMER_ABSTIME), none inherited by fork or kept by exec.
 *
 * `t_time <self>` runs these; <self> is this program, exec'd by a child.
 * `t_time kernel` runs what qemu-user cannot stand in for, so only the
 * kernel's system test runs it, checking Linux's documented results: a
 * SIGEV_THREAD_ID timer's signal runs its handler in the named thread
 * (qemu-user never delivers it); and setting the wall clock (which would
 * set the host's): 2030, then 2031, then +10 s with ADJ_SETOFFSET, after
 * which CLOCK_REALTIME, gettimeofday and time() follow the set time,
 * CLOCK_MONOTONIC does not jump, and absolute CLOCK_REALTIME sleeps and
 * timers count from the new time.
 */
#include "common.h"

#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/timex.h>

#define SI_TIMER_CODE (-2)

static volatile sig_atomic_t hits, last_code, last_value, last_overrun, handler_getoverrun;
static volatile long handler_tid;
/* The timer whose overrun count the handler reads (Linux resets it at
   every timer_settime, so only the handler sees it for sure). */
static timer_t overrun_timer;

static void on_timer(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    hits++;
    last_code = si->si_code;
    last_value = si->si_value.sival_int;
    last_overrun = si->si_overrun;
    handler_tid = syscall(SYS_gettid);
    handler_getoverrun = timer_getoverrun(overrun_timer);
}

static void catch(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_timer;
    sa.sa_flags = SA_SIGINFO;
    sigaction(sig, &sa, NULL);
}

/* Waits up to 5 s for `hits` to reach n (the signal may come any time). */
static int wait_hits(int n)
{
    for (int i = 0; i < 500 && hits < n; i++)
        sleep_ms(10);
    return hits >= n;
}

static void burn_cpu_ms(long ms)
{
    struct timespec a, b;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    do {
        for (volatile int i = 0; i < 100000; i++)
            ;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
    } while ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < ms);
}

static void check_times(void)
{
    struct tms t0, t1;
    clock_t r0 = times(&t0);
    burn_cpu_ms(100);
    sleep_ms(100);
    clock_t r1 = times(&t1);
    long hz = sysconf(_SC_CLK_TCK);
    check(hz == 100, "clock ticks are 100 a second");
    check(r0 != (clock_t)-1 && r1 - r0 >= 15, "times() counts elapsed ticks");
    check((t1.tms_utime + t1.tms_stime) - (t0.tms_utime + t0.tms_stime) >= 5, "times() counts the process's CPU time");
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        burn_cpu_ms(100);
        _exit(0);
    }
    wait_child(c, NULL, 0);
    times(&t1);
    check(t1.tms_cutime + t1.tms_cstime >= 5, "times() counts a reaped child's CPU time");
}

static void check_setting_errors(void)
{
    struct timespec ts = { 1, 0 };
    expect_errno(clock_settime(CLOCK_MONOTONIC, &ts), EINVAL, "clock_settime(CLOCK_MONOTONIC)");
    ts.tv_nsec = 1000000000;
    expect_errno(clock_settime(CLOCK_REALTIME, &ts), EINVAL, "clock_settime with tv_nsec 1e9");
    ts.tv_sec = -1;
    ts.tv_nsec = 0;
    expect_errno(clock_settime(CLOCK_REALTIME, &ts), EINVAL, "clock_settime before the Epoch");
    struct timeval tv = { 1, 1000000 };
    expect_errno(syscall(SYS_settimeofday, &tv, NULL), EINVAL, "settimeofday with tv_usec 1e6");
    struct timezone tz = { 1000, 0 };
    expect_errno(syscall(SYS_settimeofday, NULL, &tz), EINVAL, "settimeofday with a 1000-minute time zone");
}

static void check_adjtime(void)
{
    struct timex tx;
    memset(&tx, 0, sizeof tx);
    int state = adjtimex(&tx);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    check(state >= 0 && state <= 5, "adjtimex reads the clock state");
    check(tx.tick == 10000, "adjtimex: tick is 10000 us");
    long diff = (long)now.tv_sec - (long)tx.time.tv_sec;
    check(diff >= 0 && diff <= 1, "adjtimex: time is the wall clock's");
    memset(&tx, 0, sizeof tx);
    check(syscall(SYS_clock_adjtime, CLOCK_REALTIME, &tx) == state, "clock_adjtime(CLOCK_REALTIME) reads the same");
    expect_errno(syscall(SYS_clock_adjtime, CLOCK_MONOTONIC, &tx), EOPNOTSUPP, "clock_adjtime(CLOCK_MONOTONIC)");
    expect_errno(syscall(SYS_clock_adjtime, 99, &tx), EINVAL, "clock_adjtime of no clock");
}

static struct itimerspec its(long value_ms, long interval_ms)
{
    struct itimerspec s;
    s.it_value.tv_sec = value_ms / 1000;
    s.it_value.tv_nsec = value_ms % 1000 * 1000000L;
    s.it_interval.tv_sec = interval_ms / 1000;
    s.it_interval.tv_nsec = interval_ms % 1000 * 1000000L;
    return s;
}

struct thread_info {
    long tid;
    volatile int stop;
    int sig;
};

/* Takes `sig` (the creator blocks it) and sleeps until told to stop. */
static void *sleeper_thread(void *p)
{
    struct thread_info *ti = p;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, ti->sig);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    ti->tid = syscall(SYS_gettid);
    while (!ti->stop)
        sleep_ms(5);
    return NULL;
}

static void check_timers(const char *self)
{
    timer_t t;
    struct sigevent sev;
    struct itimerspec cur, set;

    /* Default notification: SIGALRM with SI_TIMER. */
    catch(SIGALRM);
    check(timer_create(CLOCK_MONOTONIC, NULL, &t) == 0, "timer_create with no sigevent");
    set = its(20, 0);
    hits = 0;
    check(timer_settime(t, 0, &set, NULL) == 0, "timer_settime 20 ms");
    check(wait_hits(1) && last_code == SI_TIMER_CODE, "SIGALRM with si_code SI_TIMER");
    timer_gettime(t, &cur);
    check(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0, "an expired one-shot timer reads 0");
    timer_delete(t);

    /* SIGEV_SIGNAL with a real-time signal and a value. */
    int rt = SIGRTMIN + 1;
    catch(rt);
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = rt;
    sev.sigev_value.sival_int = 1234;
    check(timer_create(CLOCK_REALTIME, &sev, &t) == 0, "timer_create SIGEV_SIGNAL");
    set = its(10000, 1000);
    timer_settime(t, 0, &set, NULL);
    timer_gettime(t, &cur);
    check(cur.it_value.tv_sec == 9 || (cur.it_value.tv_sec == 10 && cur.it_value.tv_nsec == 0),
          "timer_gettime: 10 s armed reads 9.x s left");
    check(cur.it_interval.tv_sec == 1 && cur.it_interval.tv_nsec == 0, "timer_gettime: the interval");
    struct itimerspec old;
    set = its(0, 0);
    check(timer_settime(t, 0, &set, &old) == 0 && old.it_interval.tv_sec == 1, "disarming returns the old setting");
    timer_gettime(t, &cur);
    check(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0, "a disarmed timer reads 0");

    /* TIMER_ABSTIME on CLOCK_REALTIME. */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    set = its(0, 0);
    set.it_value = now;
    set.it_value.tv_nsec += 30000000;
    if (set.it_value.tv_nsec >= 1000000000) {
        set.it_value.tv_sec++;
        set.it_value.tv_nsec -= 1000000000;
    }
    hits = 0;
    check(timer_settime(t, TIMER_ABSTIME, &set, NULL) == 0, "timer_settime TIMER_ABSTIME");
    check(wait_hits(1) && last_code == SI_TIMER_CODE && last_value == 1234,
          "the absolute timer fires with its si_value");

    /* Overruns: a periodic timer whose signal stays blocked. */
    sigset_t block, old_mask;
    sigemptyset(&block);
    sigaddset(&block, rt);
    sigprocmask(SIG_BLOCK, &block, &old_mask);
    hits = 0;
    overrun_timer = t;
    set = its(10, 10);
    timer_settime(t, 0, &set, NULL);
    sleep_ms(200);
    /* The handler runs here, and blocks the signal while it runs. */
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    sigprocmask(SIG_BLOCK, &block, NULL);
    int delivered = hits;
    int overrun = last_overrun, in_handler = handler_getoverrun;
    set = its(0, 0);
    timer_settime(t, 0, &set, NULL);
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    check(delivered == 1, "a blocked periodic timer's signal is delivered once");
    check(overrun >= 3, "si_overrun counts the expiries it stood for");
    check(in_handler == overrun, "timer_getoverrun in the handler matches si_overrun");
    check(timer_getoverrun(t) == 0, "timer_settime resets the overrun count");
    check(timer_delete(t) == 0, "timer_delete");
    expect_errno(timer_gettime(t, &cur), EINVAL, "timer_gettime of a deleted timer");

    /* SIGEV_THREAD_ID with a thread of ours is accepted (its delivery is
       checked in the kernel-only mode: qemu-user never delivers it). */
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = rt;
    sev.sigev_notify_thread_id = (pid_t)syscall(SYS_gettid);
    check(timer_create(CLOCK_MONOTONIC, &sev, &t) == 0, "timer_create SIGEV_THREAD_ID");
    timer_delete(t);

    /* Argument checks. */
    sev.sigev_notify_thread_id = getppid();
    expect_errno(timer_create(CLOCK_MONOTONIC, &sev, &t), EINVAL, "SIGEV_THREAD_ID naming another process");
    sev.sigev_notify = 99;
    expect_errno(timer_create(CLOCK_MONOTONIC, &sev, &t), EINVAL, "sigev_notify 99");
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = 0;
    expect_errno(timer_create(CLOCK_MONOTONIC, &sev, &t), EINVAL, "SIGEV_SIGNAL with signal 0");
    expect_errno(timer_create(12345, NULL, &t), EINVAL, "timer_create on no clock");

    /* SIGEV_NONE: it runs and can be read, and sends nothing. */
    sev.sigev_notify = SIGEV_NONE;
    check(timer_create(CLOCK_MONOTONIC, &sev, &t) == 0, "timer_create SIGEV_NONE");
    set = its(5000, 0);
    set.it_value.tv_nsec = 1000000000;
    expect_errno(timer_settime(t, 0, &set, NULL), EINVAL, "timer_settime with tv_nsec 1e9");
    set = its(5000, 0);
    check(timer_settime(t, 2, &set, NULL) == 0, "timer_settime ignores unknown flags");
    timer_settime(t, 0, &set, NULL);
    timer_gettime(t, &cur);
    check(cur.it_value.tv_sec == 4 || cur.it_value.tv_sec == 5, "SIGEV_NONE: the timer counts down");

    /* Not inherited by fork, not kept by exec. */
    fflush(stdout);
    pid_t c = fork();
    if (c == 0)
        _exit(timer_gettime(t, &cur) == -1 && errno == EINVAL ? 0 : 1);
    int status;
    wait_child(c, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a forked child has none of its parent's timers");
    c = fork();
    if (c == 0) {
        char id[32];
        snprintf(id, sizeof id, "%ld", (long)(intptr_t)t);
        char *args[] = { (char *)self, "gettime", id, NULL };
        execv(self, args);
        _exit(127);
    }
    wait_child(c, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exec drops the timers");
    timer_delete(t);
}

static void thread_id_checks(void)
{
    timer_t t;
    struct sigevent sev;
    struct itimerspec set;
    sigset_t block, old_mask;
    int rt = SIGRTMIN + 1;
    catch(rt);
    sigemptyset(&block);
    sigaddset(&block, rt);
    /* SIGEV_THREAD_ID: the signal goes to that thread. */
    struct thread_info ti = { 0, 0, rt };
    pthread_t th;
    sigprocmask(SIG_BLOCK, &block, &old_mask); /* not the main thread */
    pthread_create(&th, NULL, sleeper_thread, &ti);
    while (ti.tid == 0)
        sleep_ms(1);
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = rt;
    sev.sigev_value.sival_int = 77;
    sev.sigev_notify_thread_id = (pid_t)ti.tid;
    check(timer_create(CLOCK_MONOTONIC, &sev, &t) == 0, "timer_create SIGEV_THREAD_ID");
    hits = 0;
    set = its(10, 0);
    timer_settime(t, 0, &set, NULL);
    check(wait_hits(1) && handler_tid == ti.tid && last_value == 77, "SIGEV_THREAD_ID: the named thread runs the handler");
    timer_delete(t);
    ti.stop = 1;
    pthread_join(th, NULL);
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
}

static long long real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int settime_checks(void)
{
    const time_t y2030 = 1893456000; /* 2030-01-01 00:00:00 UTC */
    struct timespec mono0, mono1, ts = { y2030, 0 };
    clock_gettime(CLOCK_MONOTONIC, &mono0);
    check(clock_settime(CLOCK_REALTIME, &ts) == 0, "clock_settime(CLOCK_REALTIME) to 2030");
    long long r = real_ns();
    check(r >= y2030 * 1000000000LL && r < (y2030 + 2) * 1000000000LL, "CLOCK_REALTIME reads 2030");
    struct timeval tv;
    gettimeofday(&tv, NULL);
    check(tv.tv_sec == y2030 || tv.tv_sec == y2030 + 1, "gettimeofday reads 2030");
    check(time(NULL) - y2030 <= 1, "time() reads 2030");
    clock_gettime(CLOCK_MONOTONIC, &mono1);
    check(mono1.tv_sec - mono0.tv_sec <= 1, "CLOCK_MONOTONIC does not jump");

    struct timeval t2031 = { y2030 + 365 * 86400, 500000 };
    check(syscall(SYS_settimeofday, &t2031, NULL) == 0, "settimeofday to 2031");
    gettimeofday(&tv, NULL);
    check(tv.tv_sec - t2031.tv_sec <= 1 && tv.tv_sec >= t2031.tv_sec, "gettimeofday reads 2031");

    struct timex tx;
    memset(&tx, 0, sizeof tx);
    tx.modes = ADJ_SETOFFSET;
    tx.time.tv_sec = 10;
    long long before = real_ns();
    check(adjtimex(&tx) >= 0, "adjtimex ADJ_SETOFFSET +10 s");
    long long moved = real_ns() - before;
    check(moved >= 10000000000LL && moved < 11000000000LL, "the wall clock moved 10 s");

    /* Absolute waits on CLOCK_REALTIME count from the new time. */
    struct timespec at;
    clock_gettime(CLOCK_REALTIME, &at);
    at.tv_nsec += 50000000;
    if (at.tv_nsec >= 1000000000) {
        at.tv_sec++;
        at.tv_nsec -= 1000000000;
    }
    check(clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &at, NULL) == 0 && real_ns() >= at.tv_sec * 1000000000LL + at.tv_nsec,
          "clock_nanosleep TIMER_ABSTIME on the new wall clock");
    timer_t t;
    catch(SIGALRM);
    timer_create(CLOCK_REALTIME, NULL, &t);
    struct itimerspec set = { { 0, 0 }, at };
    set.it_value.tv_sec += 1; /* 1 s after the sleep's deadline */
    hits = 0;
    timer_settime(t, TIMER_ABSTIME, &set, NULL);
    check(wait_hits(1), "an absolute CLOCK_REALTIME timer fires at the new wall clock's time");
    timer_delete(t);
    return finish();
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "gettime") == 0) {
        struct itimerspec cur;
        timer_t t = (timer_t)(intptr_t)atol(argv[2]);
        return timer_gettime(t, &cur) == -1 && errno == EINVAL ? 0 : 1;
    }
    test_init();
    if (argc == 2 && strcmp(argv[1], "kernel") == 0) {
        thread_id_checks();
        return settime_checks();
    }
    check_times();
    check_setting_errors();
    check_adjtime();
    check_timers(argc > 1 ? argv[1] : "/tests/t_time");
    return finish();
}
