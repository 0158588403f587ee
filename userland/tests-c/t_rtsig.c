/*
 * Real-time signals and alternate signal stacks: every sigqueue() instance
 * is queued with its value and delivered once, lowest signal number first
 * and in order within one number; si_code SI_QUEUE / SI_USER / SI_TKILL;
 * a standard signal sent twice while blocked arrives once;
 * rt_sigqueueinfo's EPERM for a forged si_code; RLIMIT_SIGPENDING refusing
 * a queued real-time signal with EAGAIN (but not kill()); sigaltstack with
 * SA_ONSTACK (the handler's frame on the alternate stack, uc_stack in its
 * ucontext, SS_ONSTACK and EPERM while on it, SS_DISABLE, ENOMEM/EINVAL,
 * a stack overflow caught there, inherited by fork but not by a thread);
 * SA_RESETHAND resetting only the handler, and only at delivery.
 */
#include "common.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>

#define MAX_SEEN 16

static volatile int seen_count;
static int seen_sig[MAX_SEEN], seen_code[MAX_SEEN], seen_value[MAX_SEEN], seen_pid[MAX_SEEN];

static void record(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    int i = seen_count;
    if (i < MAX_SEEN) {
        seen_sig[i] = sig;
        seen_code[i] = si->si_code;
        seen_value[i] = si->si_value.sival_int;
        seen_pid[i] = si->si_pid;
        seen_count = i + 1;
    }
}

static void install(int sig, void (*fn)(int, siginfo_t *, void *), int flags)
{
    struct sigaction sa = {.sa_sigaction = fn, .sa_flags = SA_SIGINFO | flags};
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

static void block(int sig, int how)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    sigprocmask(how, &s, NULL);
}

static int queue(pid_t pid, int sig, int value)
{
    union sigval v = {.sival_int = value};
    return sigqueue(pid, sig, v);
}

static void test_queueing(void)
{
    const int lo = SIGRTMIN, hi = SIGRTMIN + 1;
    /* Each handler blocks both signals: otherwise the next signal is
     * delivered on top of the first one's frame before that handler runs,
     * and the handlers would run in the opposite order of delivery. */
    struct sigaction sa = {.sa_sigaction = record, .sa_flags = SA_SIGINFO};
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, lo);
    sigaddset(&sa.sa_mask, hi);
    sigaction(lo, &sa, NULL);
    sigaction(hi, &sa, NULL);
    block(lo, SIG_BLOCK);
    block(hi, SIG_BLOCK);
    seen_count = 0;
    int ok = queue(getpid(), hi, 1) == 0 && queue(getpid(), lo, 2) == 0 && queue(getpid(), lo, 3) == 0 &&
             kill(getpid(), lo) == 0 && queue(getpid(), hi, 4) == 0;
    check(ok, "sigqueue of SIGRTMIN and SIGRTMIN+1 while blocked");
    sigset_t pending;
    sigpending(&pending);
    check(sigismember(&pending, lo) && sigismember(&pending, hi) && seen_count == 0, "both pending, none delivered");
    /* One unblock delivers everything: each instance once. */
    sigset_t both;
    sigemptyset(&both);
    sigaddset(&both, lo);
    sigaddset(&both, hi);
    sigprocmask(SIG_UNBLOCK, &both, NULL);
    check(seen_count == 5, "five instances delivered, each once");
    /* Each number's instances in the order sent. */
    int lo_seen[3] = {-1, -1, -1}, lo_code[3] = {0, 0, 0}, hi_seen[2] = {-1, -1}, nlo = 0, nhi = 0, pids_ok = 1;
    for (int i = 0; i < seen_count; i++) {
        pids_ok &= seen_pid[i] == getpid();
        if (seen_sig[i] == lo && nlo < 3) {
            lo_code[nlo] = seen_code[i];
            lo_seen[nlo++] = seen_value[i];
        } else if (seen_sig[i] == hi && nhi < 2) {
            hi_seen[nhi++] = seen_value[i];
        }
    }
    check(nlo == 3 && lo_seen[0] == 2 && lo_seen[1] == 3 && hi_seen[0] == 1 && hi_seen[1] == 4,
          "two queued SIGRTMIN instances in order with their values, and SIGRTMIN+1's");
    check(lo_code[0] == SI_QUEUE && lo_code[1] == SI_QUEUE && lo_code[2] == SI_USER,
          "si_code SI_QUEUE for sigqueue, SI_USER for kill");
    check(pids_ok, "si_pid is the sender");
    check(seen_sig[0] == lo && seen_sig[1] == lo && seen_sig[2] == lo && seen_sig[3] == hi && seen_sig[4] == hi,
          "lowest signal number first");
    sigpending(&pending);
    check(!sigismember(&pending, lo) && !sigismember(&pending, hi), "nothing left pending");

    /* tgkill of a real-time signal: SI_TKILL. */
    seen_count = 0;
    syscall(SYS_tgkill, getpid(), gettid(), lo);
    check(seen_count == 1 && seen_code[0] == SI_TKILL, "tgkill: SI_TKILL");

    /* A standard signal sent twice while blocked arrives once. */
    install(SIGUSR1, record, 0);
    block(SIGUSR1, SIG_BLOCK);
    seen_count = 0;
    queue(getpid(), SIGUSR1, 7);
    queue(getpid(), SIGUSR1, 8);
    block(SIGUSR1, SIG_UNBLOCK);
    check(seen_count == 1 && seen_value[0] == 7, "a standard signal queued twice arrives once, with the first value");

    /* sigwaitinfo takes the instances one by one. */
    block(lo, SIG_BLOCK);
    queue(getpid(), lo, 11);
    queue(getpid(), lo, 12);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, lo);
    siginfo_t a, b;
    int ra = sigwaitinfo(&set, &a), rb = sigwaitinfo(&set, &b);
    check(ra == lo && rb == lo && a.si_value.sival_int == 11 && b.si_value.sival_int == 12,
          "sigwaitinfo takes queued instances one at a time, in order");
    sigpending(&pending);
    check(!sigismember(&pending, lo), "and then none is pending");

    /* From another process: si_pid is the child. */
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == 0) {
        union sigval v = {.sival_int = 99};
        _exit(sigqueue(parent, lo, v) == 0 ? 0 : 1);
    }
    int status = 0;
    waitpid(child, &status, 0);
    memset(&a, 0, sizeof a);
    ra = sigwaitinfo(&set, &a);
    check(ra == lo && a.si_code == SI_QUEUE && a.si_pid == child && a.si_value.sival_int == 99,
          "from a child: SI_QUEUE, its pid and value");
    block(lo, SIG_UNBLOCK);

    /* rt_sigqueueinfo may not forge kill()'s or the kernel's si_code for
     * another process; for itself it may. */
    child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    siginfo_t forged;
    memset(&forged, 0, sizeof forged);
    forged.si_code = SI_USER;
    expect_errno(syscall(SYS_rt_sigqueueinfo, child, SIGUSR2, &forged), EPERM,
                 "rt_sigqueueinfo with si_code SI_USER to another process");
    forged.si_code = SI_TKILL;
    expect_errno(syscall(SYS_rt_sigqueueinfo, child, SIGUSR2, &forged), EPERM,
                 "rt_sigqueueinfo with si_code SI_TKILL to another process");
    expect_errno(syscall(SYS_rt_tgsigqueueinfo, child, 0, SIGUSR2, &forged), EINVAL,
                 "rt_tgsigqueueinfo with tid 0");
    forged.si_code = SI_QUEUE;
    expect_errno(syscall(SYS_rt_sigqueueinfo, child, 65, &forged), EINVAL, "rt_sigqueueinfo of signal 65");
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    expect_errno(syscall(SYS_rt_sigqueueinfo, child, SIGUSR2, &forged), ESRCH, "rt_sigqueueinfo to a reaped child");
    seen_count = 0;
    install(SIGUSR2, record, 0);
    forged.si_code = SI_USER;
    forged.si_pid = 4242;
    forged.si_value.sival_int = 5;
    check(syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), SIGUSR2, &forged) == 0 && seen_count == 1 &&
              seen_code[0] == SI_USER && seen_pid[0] == 4242,
          "rt_tgsigqueueinfo to itself: its own siginfo arrives");
}

/* In a child: RLIMIT_SIGPENDING 8. The count of queued signals is the
 * user's, not the process's, so the child first becomes a user of its own
 * where it can (Linux under qemu-user: root's count on the host includes
 * other processes' signals); this kernel has only root and refuses
 * setuid, and nothing else keeps signals queued during the test. */
static void test_rlimit(void)
{
    pid_t child = fork();
    if (child == 0) {
        const int limit = 8;
        if (setuid(54321) != 0 && errno != EPERM)
            _exit(10);
        struct rlimit rl = {limit, limit};
        if (setrlimit(RLIMIT_SIGPENDING, &rl) != 0)
            _exit(10);
        block(SIGRTMIN, SIG_BLOCK);
        block(SIGUSR1, SIG_BLOCK);
        int queued = 0, err = 0;
        for (int i = 0; i < 4 * limit; i++) {
            if (queue(getpid(), SIGRTMIN, i) != 0) {
                err = errno;
                break;
            }
            queued++;
        }
        if (err != EAGAIN)
            _exit(11);
        /* Others' signals count too; at most the limit are ours. */
        if (queued > limit || queued < limit / 2)
            _exit(12);
        /* kill() is not refused: the signal is pending without its
         * information. Neither is a standard signal from sigqueue(). */
        if (kill(getpid(), SIGRTMIN + 1) != 0 || queue(getpid(), SIGUSR1, 1) != 0)
            _exit(13);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        siginfo_t si;
        if (sigwaitinfo(&set, &si) != SIGUSR1 || si.si_code != SI_USER)
            _exit(14);
        /* Once one is taken, one more fits. */
        sigaddset(&set, SIGRTMIN);
        if (sigwaitinfo(&set, &si) != SIGRTMIN || si.si_value.sival_int != 0 || queue(getpid(), SIGRTMIN, 100) != 0)
            _exit(15);
        _exit(0);
    }
    int status = 0;
    waitpid(child, &status, 0);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 100;
    check(code != 10, "setrlimit(RLIMIT_SIGPENDING, 8)");
    check(code != 11 && code != 10, "sigqueue of a real-time signal over the limit: EAGAIN");
    check(code != 12 && code != 11 && code != 10, "no more than the limit were queued");
    check(code == 0 || code > 13, "kill() and a standard signal's sigqueue() are not refused");
    check(code == 0 || code > 14, "the standard signal arrives without its information (SI_USER)");
    check(code == 0, "after one is taken, one more can be queued");
}

static char *alt_base;
static size_t alt_size;
static volatile int on_alt, alt_flags_inside, alt_change_err, uc_ok;

static int within_alt(const void *p)
{
    const char *c = p;
    return c >= alt_base && c < alt_base + alt_size;
}

static void on_usr1_alt(int sig, siginfo_t *si, void *ucv)
{
    (void)sig;
    (void)si;
    volatile int local = 0;
    on_alt = within_alt((const void *)&local);
    stack_t now, other = {.ss_sp = alt_base, .ss_size = alt_size};
    sigaltstack(NULL, &now);
    alt_flags_inside = now.ss_flags;
    errno = 0;
    alt_change_err = sigaltstack(&other, NULL) == -1 ? errno : 0;
    ucontext_t *uc = ucv;
    uc_ok = uc->uc_stack.ss_sp == alt_base && uc->uc_stack.ss_size == alt_size && uc->uc_stack.ss_flags == 0;
}

static void on_segv_alt(int sig)
{
    volatile int local = 0;
    _exit(sig == SIGSEGV && within_alt((const void *)&local) ? 42 : 43);
}

static volatile int depth_sink;

/* Recurses until the stack runs out (the bound is never reached). */
static int recurse(int n)
{
    volatile char pad[1024];
    pad[0] = (char)n;
    depth_sink = pad[0];
    if (n == 1 << 30)
        return 0;
    return recurse(n + 1) + pad[0];
}

static void *thread_altstack(void *arg)
{
    (void)arg;
    stack_t now;
    sigaltstack(NULL, &now);
    return (void *)(long)(now.ss_flags == SS_DISABLE);
}

static void test_altstack(void)
{
    stack_t old;
    sigaltstack(NULL, &old);
    check(old.ss_flags == SS_DISABLE && old.ss_size == 0, "no alternate stack at start: SS_DISABLE");

    alt_size = 64 * 1024;
    alt_base = mmap(NULL, alt_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    stack_t ss = {.ss_sp = alt_base, .ss_size = 1024, .ss_flags = 0};
    expect_errno(sigaltstack(&ss, NULL), ENOMEM, "sigaltstack below MINSIGSTKSZ");
    ss.ss_size = alt_size;
    ss.ss_flags = 0x10;
    expect_errno(sigaltstack(&ss, NULL), EINVAL, "sigaltstack with unknown flags");
    ss.ss_flags = 0;
    check(sigaltstack(&ss, NULL) == 0, "sigaltstack of 64 KiB");
    sigaltstack(NULL, &old);
    check(old.ss_sp == alt_base && old.ss_size == alt_size && old.ss_flags == 0,
          "reported back: its address and size, flags 0 off it");

    install(SIGUSR1, on_usr1_alt, SA_ONSTACK);
    on_alt = 0;
    raise(SIGUSR1);
    check(on_alt, "an SA_ONSTACK handler runs on the alternate stack");
    check(alt_flags_inside == SS_ONSTACK, "sigaltstack there reports SS_ONSTACK");
    check(alt_change_err == EPERM, "changing it while on it: EPERM");
    check(uc_ok, "the handler's ucontext has uc_stack set to the alternate stack");
    sigaltstack(NULL, &old);
    check(old.ss_flags == 0 && old.ss_sp == alt_base, "back from the handler: flags 0, stack kept");

    install(SIGUSR1, on_usr1_alt, 0);
    on_alt = 1;
    raise(SIGUSR1);
    check(!on_alt, "a handler without SA_ONSTACK runs on the normal stack");

    pthread_t th;
    void *thread_ok = NULL;
    pthread_create(&th, NULL, thread_altstack, NULL);
    pthread_join(th, &thread_ok);
    check(thread_ok != NULL, "a new thread has no alternate stack");

    /* A child inherits it and catches its stack overflow there. */
    pid_t child = fork();
    if (child == 0) {
        struct sigaction sa = {.sa_handler = on_segv_alt, .sa_flags = SA_ONSTACK};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGSEGV, &sa, NULL);
        recurse(0);
        _exit(1);
    }
    int status = 0;
    waitpid(child, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 42,
          "a forked child's stack overflow is caught by a handler on the inherited alternate stack");

    ss.ss_flags = SS_DISABLE;
    check(sigaltstack(&ss, NULL) == 0, "SS_DISABLE");
    sigaltstack(NULL, &old);
    check(old.ss_flags == SS_DISABLE && old.ss_size == 0, "reported disabled");
    install(SIGUSR1, on_usr1_alt, SA_ONSTACK);
    on_alt = 1;
    raise(SIGUSR1);
    check(!on_alt, "with it disabled an SA_ONSTACK handler runs on the normal stack");
    munmap(alt_base, alt_size);
}

static volatile int resethand_runs;
static volatile int resethand_code;

static void on_resethand(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    resethand_runs++;
    resethand_code = si->si_code;
}

static void test_resethand(void)
{
    struct sigaction sa = {.sa_sigaction = on_resethand, .sa_flags = SA_SIGINFO | SA_RESETHAND}, old;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR2, &sa, NULL);
    sigaction(SIGUSR2, NULL, &old);
    check(old.sa_sigaction == on_resethand && (old.sa_flags & (SA_SIGINFO | SA_RESETHAND)) == (SA_SIGINFO | SA_RESETHAND),
          "SA_RESETHAND before delivery: handler and SA_SIGINFO kept");
    raise(SIGUSR2);
    check(resethand_runs == 1 && resethand_code == SI_TKILL, "the handler ran with its siginfo");
    sigaction(SIGUSR2, NULL, &old);
    check(old.sa_handler == SIG_DFL, "after delivery the handler is SIG_DFL");
    check((old.sa_flags & SA_SIGINFO) != 0, "and SA_SIGINFO is still set");
}

/* The SigQ line of /proc/self/status: queued signals / RLIMIT_SIGPENDING.
   Kernel test only: under qemu-user the file is the host's, whose count
   is of every signal queued for the host user. */
static int test_sigq(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &set, NULL);
    union sigval v = { 0 };
    for (int i = 0; i < 3; i++)
        sigqueue(getpid(), SIGRTMIN, v);
    char buf[4096];
    read_whole_file("/proc/self/status", buf, sizeof buf);
    char *line = strstr(buf, "\nSigQ:\t");
    unsigned long queued = 0, limit = 0;
    struct rlimit r;
    getrlimit(RLIMIT_SIGPENDING, &r);
    check(line && sscanf(line, "\nSigQ:\t%lu/%lu", &queued, &limit) == 2 && queued >= 3 &&
              limit == (unsigned long)r.rlim_cur && strstr(buf, "\nThreads:") < line && strstr(buf, "\nSigPnd:") > line,
          "SigQ: three queued signals counted, the limit RLIMIT_SIGPENDING, between Threads and SigPnd");
    return finish();
}

int main(int argc, char **argv)
{
    test_init();
    if (argc > 1 && strcmp(argv[1], "sigq") == 0)
        return test_sigq();
    no_core_dumps();
    test_queueing();
    test_rlimit();
    test_altstack();
    test_resethand();
    return finish();
}
