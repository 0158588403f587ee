/*
 * Signal delivery: handlers with siginfo, kill and tgkill to self, blocking
 * and delivery at unblock, sigsuspend woken by a child, SIGCHLD at child
 * exit, ppoll's signal mask, an interval timer at the largest interval,
 * registers and floating-point state preserved across a handler
 * (rt_sigreturn), default actions, and signals that cannot be caught.
 */
#include "common.h"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/time.h>

static volatile sig_atomic_t usr1_count;
static volatile int usr1_signo, usr1_code;
static volatile pid_t usr1_pid;
static volatile int usr1_self_blocked, usr1_samask_blocked;

static void on_usr1(int sig, siginfo_t *info, void *context)
{
    (void)context;
    sigset_t current;
    sigprocmask(SIG_BLOCK, NULL, &current);
    usr1_self_blocked = sigismember(&current, SIGUSR1);
    usr1_samask_blocked = sigismember(&current, SIGUSR2);
    usr1_signo = info->si_signo == sig ? sig : -1;
    usr1_code = info->si_code;
    usr1_pid = info->si_pid;
    usr1_count++;
}

static void install(int sig, void (*handler)(int, siginfo_t *, void *), int also_block)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (also_block)
        sigaddset(&sa.sa_mask, also_block);
    if (sigaction(sig, &sa, NULL) != 0)
        fail("sigaction %d: %s", sig, errno_name(errno));
}

static void set_default(int sig)
{
    signal(sig, SIG_DFL);
}

static void block(int sig, int how)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(how, &set, NULL);
}

static void test_self_delivery(void)
{
    pid_t self = getpid();
    install(SIGUSR1, on_usr1, SIGUSR2);

    kill(self, SIGUSR1);
    check(usr1_count == 1, "kill(self) delivered before kill returned");
    check(usr1_signo == SIGUSR1, "si_signo is SIGUSR1");
    check(usr1_code == SI_USER, "si_code is SI_USER");
    check(usr1_pid == self, "si_pid is our pid");
    check(usr1_self_blocked, "signal blocked inside its handler");
    check(usr1_samask_blocked, "sa_mask blocked inside the handler");

    sigset_t current;
    sigprocmask(SIG_BLOCK, NULL, &current);
    check(!sigismember(&current, SIGUSR1) && !sigismember(&current, SIGUSR2),
          "mask restored after the handler");

    syscall(SYS_tgkill, self, syscall(SYS_gettid), SIGUSR1);
    check(usr1_count == 2, "tgkill(self) delivered");
    check(usr1_code == SI_TKILL, "si_code is SI_TKILL");
}

static void test_block_unblock(void)
{
    pid_t self = getpid();
    int before = usr1_count;
    block(SIGUSR1, SIG_BLOCK);
    kill(self, SIGUSR1);
    kill(self, SIGUSR1);
    check(usr1_count == before, "blocked signal not delivered");
    sigset_t pending;
    sigpending(&pending);
    check(sigismember(&pending, SIGUSR1), "blocked signal is pending");
    block(SIGUSR1, SIG_UNBLOCK);
    check(usr1_count == before + 1, "delivered once at unblock");
    sigpending(&pending);
    check(!sigismember(&pending, SIGUSR1), "nothing pending after delivery");
}

static volatile sig_atomic_t usr2_count;
static volatile pid_t usr2_pid;

static void on_usr2(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    (void)context;
    usr2_pid = info->si_pid;
    usr2_count++;
}

static void test_sigsuspend(void)
{
    install(SIGUSR2, on_usr2, 0);
    sigset_t old;
    sigset_t blocked;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGUSR2);
    sigprocmask(SIG_BLOCK, &blocked, &old);

    fflush(stdout);
    pid_t child = fork();
    if (child < 0) {
        fail("fork: %s", errno_name(errno));
        return;
    }
    if (child == 0) {
        kill(getppid(), SIGUSR2);
        _exit(0);
    }
    sigset_t wait_mask = old;
    sigdelset(&wait_mask, SIGUSR2);
    int r = sigsuspend(&wait_mask);
    int err = errno;
    check(r == -1 && err == EINTR, "sigsuspend returns EINTR");
    check(usr2_count == 1, "sigsuspend woke for the child's signal");
    check(usr2_pid == child, "SIGUSR2 si_pid is the child");
    sigprocmask(SIG_SETMASK, &old, NULL);

    int status;
    wait_child(child, &status, 0);
    set_default(SIGUSR2);
}

/* ppoll's mask is the caller's while it waits: a pending SIGUSR2 blocked
 * outside it is taken at once (EINTR, handler run), and afterwards SIGUSR2 is
 * blocked again. */
static void test_ppoll_mask(void)
{
    install(SIGUSR2, on_usr2, 0);
    usr2_count = 0;
    sigset_t blocked, old, now;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGUSR2);
    sigprocmask(SIG_BLOCK, &blocked, &old);
    raise(SIGUSR2);
    check(usr2_count == 0, "blocked SIGUSR2 stays pending");
    struct timespec second = { 1, 0 };
    sigset_t wait_mask = old;
    sigdelset(&wait_mask, SIGUSR2);
    int r = ppoll(NULL, 0, &second, &wait_mask);
    int err = errno;
    check(r == -1 && err == EINTR, "ppoll with the signal unblocked returns EINTR");
    check(usr2_count == 1, "the handler ran during ppoll");
    sigprocmask(SIG_SETMASK, NULL, &now);
    check(sigismember(&now, SIGUSR2) == 1, "SIGUSR2 is blocked again after ppoll");
    struct timespec zero = { 0, 0 };
    check(ppoll(NULL, 0, &zero, &wait_mask) == 0, "ppoll with nothing pending times out");
    sigprocmask(SIG_SETMASK, &old, NULL);
    set_default(SIGUSR2);
}

/* An interval timer with the largest interval the ABI allows fires once and
 * stays armed; the kernel keeps its time arithmetic in range. */
static volatile sig_atomic_t alrm_count;
static void on_alrm(int sig)
{
    (void)sig;
    alrm_count++;
}

static void test_huge_itimer(void)
{
    signal(SIGALRM, on_alrm);
    struct itimerval huge = { .it_interval = { INT64_MAX, 999999 }, .it_value = { 0, 1000 } };
    check(setitimer(ITIMER_REAL, &huge, NULL) == 0, "setitimer with the largest interval");
    for (int i = 0; i < 200 && alrm_count == 0; i++)
        sleep_ms(5);
    check(alrm_count == 1, "SIGALRM came once");
    struct itimerval left;
    check(getitimer(ITIMER_REAL, &left) == 0 && left.it_value.tv_sec > 1000000000,
          "and the timer is armed for centuries");
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &off, NULL);
    signal(SIGALRM, SIG_DFL);
}

static volatile sig_atomic_t chld_count;
static volatile int chld_code, chld_status;
static volatile pid_t chld_pid;

static void on_chld(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    (void)context;
    chld_code = info->si_code;
    chld_status = info->si_status;
    chld_pid = info->si_pid;
    chld_count++;
}

static void test_sigchld(void)
{
    install(SIGCHLD, on_chld, 0);
    sigset_t old;
    sigset_t blocked;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGCHLD);
    sigprocmask(SIG_BLOCK, &blocked, &old);

    fflush(stdout);
    pid_t child = fork();
    if (child < 0) {
        fail("fork: %s", errno_name(errno));
        return;
    }
    if (child == 0)
        _exit(5);

    sigset_t wait_mask = old;
    sigdelset(&wait_mask, SIGCHLD);
    while (chld_count == 0)
        sigsuspend(&wait_mask);
    sigprocmask(SIG_SETMASK, &old, NULL);
    check(chld_count == 1, "SIGCHLD delivered at child exit");
    check(chld_code == CLD_EXITED, "si_code is CLD_EXITED");
    check(chld_pid == child, "SIGCHLD si_pid is the child");
    check(chld_status == 5, "si_status is the exit code");

    int status;
    check(wait_child(child, &status, 0) == child && WIFEXITED(status) &&
              WEXITSTATUS(status) == 5,
          "child still reaped by wait4");
    set_default(SIGCHLD);
}

/* Overwrites every caller-saved register the handler is allowed to clobber. */
static void clobber_registers(void)
{
#if defined(__aarch64__)
    __asm__ volatile("mov x9, #0xdead\n mov x10, x9\n mov x11, x9\n mov x12, x9\n"
                     "mov x13, x9\n mov x14, x9\n mov x15, x9\n mov x16, x9\n"
                     "mov x17, x9\n"
                     "movi v0.16b, #0xee\n mov v1.16b, v0.16b\n mov v2.16b, v0.16b\n"
                     "mov v3.16b, v0.16b\n mov v4.16b, v0.16b\n mov v5.16b, v0.16b\n"
                     "mov v6.16b, v0.16b\n mov v7.16b, v0.16b\n mov v16.16b, v0.16b\n"
                     "mov v17.16b, v0.16b\n mov v18.16b, v0.16b\n mov v19.16b, v0.16b\n"
                     "mov v20.16b, v0.16b\n mov v21.16b, v0.16b\n mov v22.16b, v0.16b\n"
                     "mov v23.16b, v0.16b\n mov v24.16b, v0.16b\n mov v25.16b, v0.16b\n"
                     "mov v26.16b, v0.16b\n mov v27.16b, v0.16b\n mov v28.16b, v0.16b\n"
                     "mov v29.16b, v0.16b\n mov v30.16b, v0.16b\n mov v31.16b, v0.16b\n" ::
                         : "x9", "x10", "x11", "x12", "x13", "x14", "x15", "x16", "x17",
                           "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v16", "v17",
                           "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26",
                           "v27", "v28", "v29", "v30", "v31");
#endif
}

static volatile sig_atomic_t clobber_count;

static void on_clobber(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    (void)info;
    (void)context;
    volatile double scratch = 3.0;
    for (int i = 0; i < 50; i++)
        scratch = scratch * 1.5 - 0.25;
    clobber_registers();
    clobber_count++;
}

#if defined(__aarch64__)
/* x9-x17 and x19-x28 (19 values, one pad), then q0-q31. */
struct register_image {
    uint64_t x[20];
    uint8_t q[32][16];
};

static struct register_image regs_in, regs_out;

/*
 * Loads every general and vector register that survives a system call, calls
 * kill(pid, sig) with svc, and stores them again: a signal delivered on the
 * way back from the svc must not change any of them.
 */
static void kill_holding_registers(pid_t pid, int sig)
{
    register long x0 __asm__("x0") = pid;
    register long x1 __asm__("x1") = sig;
    register long x8 __asm__("x8") = SYS_kill;
    register struct register_image *x2 __asm__("x2") = &regs_in;
    register struct register_image *x3 __asm__("x3") = &regs_out;
    __asm__ volatile(
        "ldp x9, x10, [x2, #0]\n ldp x11, x12, [x2, #16]\n ldp x13, x14, [x2, #32]\n"
        "ldp x15, x16, [x2, #48]\n ldp x17, x19, [x2, #64]\n ldp x20, x21, [x2, #80]\n"
        "ldp x22, x23, [x2, #96]\n ldp x24, x25, [x2, #112]\n ldp x26, x27, [x2, #128]\n"
        "ldr x28, [x2, #144]\n"
        "ldp q0, q1, [x2, #160]\n ldp q2, q3, [x2, #192]\n ldp q4, q5, [x2, #224]\n"
        "ldp q6, q7, [x2, #256]\n ldp q8, q9, [x2, #288]\n ldp q10, q11, [x2, #320]\n"
        "ldp q12, q13, [x2, #352]\n ldp q14, q15, [x2, #384]\n ldp q16, q17, [x2, #416]\n"
        "ldp q18, q19, [x2, #448]\n ldp q20, q21, [x2, #480]\n ldp q22, q23, [x2, #512]\n"
        "ldp q24, q25, [x2, #544]\n ldp q26, q27, [x2, #576]\n ldp q28, q29, [x2, #608]\n"
        "ldp q30, q31, [x2, #640]\n"
        "svc #0\n"
        "stp x9, x10, [x3, #0]\n stp x11, x12, [x3, #16]\n stp x13, x14, [x3, #32]\n"
        "stp x15, x16, [x3, #48]\n stp x17, x19, [x3, #64]\n stp x20, x21, [x3, #80]\n"
        "stp x22, x23, [x3, #96]\n stp x24, x25, [x3, #112]\n stp x26, x27, [x3, #128]\n"
        "str x28, [x3, #144]\n"
        "stp q0, q1, [x3, #160]\n stp q2, q3, [x3, #192]\n stp q4, q5, [x3, #224]\n"
        "stp q6, q7, [x3, #256]\n stp q8, q9, [x3, #288]\n stp q10, q11, [x3, #320]\n"
        "stp q12, q13, [x3, #352]\n stp q14, q15, [x3, #384]\n stp q16, q17, [x3, #416]\n"
        "stp q18, q19, [x3, #448]\n stp q20, q21, [x3, #480]\n stp q22, q23, [x3, #512]\n"
        "stp q24, q25, [x3, #544]\n stp q26, q27, [x3, #576]\n stp q28, q29, [x3, #608]\n"
        "stp q30, q31, [x3, #640]\n"
        : "+r"(x0)
        : "r"(x1), "r"(x8), "r"(x2), "r"(x3)
        : "x9", "x10", "x11", "x12", "x13", "x14", "x15", "x16", "x17", "x19", "x20",
          "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28", "v0", "v1", "v2", "v3",
          "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14", "v15",
          "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26",
          "v27", "v28", "v29", "v30", "v31", "memory");
}
#endif

static void test_registers_at_svc(void)
{
#if defined(__aarch64__)
    for (int i = 0; i < 20; i++)
        regs_in.x[i] = 0x0101010101010101ull * (uint64_t)(i + 1) ^ 0x8000000000000001ull;
    for (int r = 0; r < 32; r++)
        for (int b = 0; b < 16; b++)
            regs_in.q[r][b] = (uint8_t)(r * 16 + b + 0x5a);
    memset(&regs_out, 0, sizeof regs_out);
    install(SIGUSR1, on_clobber, 0);
    int before = clobber_count;
    kill_holding_registers(getpid(), SIGUSR1);
    check(clobber_count == before + 1, "handler ran on return from svc");
    check(memcmp(regs_in.x, regs_out.x, 19 * sizeof(uint64_t)) == 0,
          "general registers intact across the handler");
    check(memcmp(regs_in.q, regs_out.q, sizeof regs_in.q) == 0,
          "vector registers intact across the handler");
    set_default(SIGUSR1);
#else
    printf("register image checks: skipped, not aarch64\n");
#endif
}

/* Integer and floating-point work whose result depends on every step. */
__attribute__((noinline)) static void compute(uint64_t *int_result, double *fp_result)
{
    uint64_t h = 1469598103934665603ull;
    double acc = 1.0, other = 0.5;
    for (int i = 0; i < 2000000; i++) {
        h = (h ^ (uint64_t)i) * 1099511628211ull;
        acc = acc * 1.0000001 + (double)(h & 0xff) * 1e-9;
        other = other * 0.9999999 + acc * 1e-12;
    }
    *int_result = h;
    *fp_result = acc + other;
}

static void test_async_preservation(void)
{
    uint64_t want_int, got_int;
    double want_fp, got_fp;
    block(SIGALRM, SIG_BLOCK);
    compute(&want_int, &want_fp);
    block(SIGALRM, SIG_UNBLOCK);

    install(SIGALRM, on_clobber, 0);
    struct itimerval every_ms = { { 0, 1000 }, { 0, 1000 } };
    setitimer(ITIMER_REAL, &every_ms, NULL);
    int interrupted = 0, intact = 1;
    for (int round = 0; round < 50 && interrupted < 3; round++) {
        int before = clobber_count;
        compute(&got_int, &got_fp);
        if (clobber_count != before) {
            interrupted++;
            intact &= got_int == want_int && memcmp(&got_fp, &want_fp, sizeof got_fp) == 0;
        }
    }
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &off, NULL);
    block(SIGALRM, SIG_BLOCK);
    set_default(SIGALRM);
    block(SIGALRM, SIG_UNBLOCK);
    check(interrupted > 0, "timer signals arrived during computation");
    check(intact, "integer and floating-point results unchanged by handlers");
}

static void test_default_term(void)
{
    fflush(stdout);
    pid_t child = fork();
    if (child < 0) {
        fail("fork: %s", errno_name(errno));
        return;
    }
    if (child == 0) {
        for (;;)
            pause();
    }
    kill(child, SIGTERM);
    int status;
    check(wait_child(child, &status, 0) == child && WIFSIGNALED(status) &&
              WTERMSIG(status) == SIGTERM,
          "SIGTERM default action kills (WTERMSIG 15)");
}

static void test_uncatchable(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    expect_errno(sigaction(SIGKILL, &sa, NULL), EINVAL, "sigaction(SIGKILL)");
    expect_errno(sigaction(SIGSTOP, &sa, NULL), EINVAL, "sigaction(SIGSTOP)");
    expect_errno(syscall(SYS_rt_sigaction, 65, &sa, NULL, 8), EINVAL,
                 "rt_sigaction(65)");
    struct sigaction old;
    check(sigaction(SIGKILL, NULL, &old) == 0 && old.sa_handler == SIG_DFL,
          "SIGKILL disposition readable and default");
}

int main(void)
{
    test_init();
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, NULL);

    test_self_delivery();
    test_block_unblock();
    set_default(SIGUSR1);
    test_sigsuspend();
    test_ppoll_mask();
    test_huge_itimer();
    test_sigchld();
    test_registers_at_svc();
    test_async_preservation();
    test_default_term();
    test_uncatchable();
    return finish();
}
