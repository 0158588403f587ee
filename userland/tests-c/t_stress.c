/*
 * A signal storm against awkward victims while other processes fork, exec
 * and exit, for a bounded time; the kernel must survive and every child
 * must be reaped. Kernel-side only: the point is this kernel surviving.
 *
 * Victims (each restarted when it dies):
 *   threads   a process of four threads that sleep, yield and futex-wait
 *   vfork     a parent that vforks again and again (glibc's real vfork)
 *   handler   a process that spends its time inside a SIGUSR1 handler
 *   sleeper   a process asleep in nanosleep and in a pipe read
 * The storm picks a victim and one of SIGSTOP, SIGCONT, SIGUSR1 and (less
 * often) SIGKILL, and sends it with kill, tkill (to the main thread) or
 * tgkill (to any of its threads), from three threads at once (several
 * wakers racing for the same victim is what exposed a dead task being
 * woken). A victim is reaped only under the write side of a lock the
 * senders hold for reading, so no signal goes to a reused PID. Two churn
 * workers fork children that exec /tests/exit0 or exit at once, and reap
 * them.
 *
 * usage: t_stress [seconds] [seed]     (default 10 s)
 */
#include "common.h"

#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/time.h>

#define NVICTIMS 8
#define MAXTIDS 4

enum kind { THREADS, VFORK, HANDLER, SLEEPER, NKINDS };

struct victim {
    pid_t pid;
    enum kind kind;
    pid_t tids[MAXTIDS];
    int ntids;
};

static struct victim victims[NVICTIMS];
static pid_t churners[2];
static int churn_status[2] = { -1, -1 };
static int tid_pipe[2];
static pthread_rwlock_t victims_lock = PTHREAD_RWLOCK_INITIALIZER;
static volatile int storming = 1;
static _Thread_local uint64_t rng;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void on_usr1(int sig)
{
    (void)sig;
    volatile unsigned long x = 0;
    for (int i = 0; i < 20000; i++)
        x += (unsigned long)getpid();
}

static void report_tid(void)
{
    pid_t pair[2] = { getpid(), (pid_t)syscall(SYS_gettid) };
    if (write(tid_pipe[1], pair, sizeof pair) < 0)
        _exit(3);
}

static void *thread_main(void *arg)
{
    int n = (int)(long)arg;
    report_tid();
    int word = 0;
    for (unsigned i = 0;; i++) {
        struct timespec ts = { 0, 200000 };
        struct timespec timeout = { 0, 300000 };
        switch ((i + n) % 3) {
        case 0: nanosleep(&ts, NULL); break;
        case 1: sched_yield(); break;
        default: syscall(SYS_futex, &word, FUTEX_WAIT, 0, &timeout, NULL, 0); break;
        }
    }
    return NULL;
}

static void victim_main(enum kind kind)
{
    struct sigaction sa = { 0 };
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    report_tid();
    switch (kind) {
    case THREADS: {
        pthread_t t;
        for (long i = 1; i < MAXTIDS; i++)
            pthread_create(&t, NULL, thread_main, (void *)i);
        thread_main(0);
        break;
    }
    case VFORK:
        for (;;) {
            pid_t c = vfork();
            if (c == 0) {
                struct timespec ts = { 0, 100000 };
                nanosleep(&ts, NULL);
                _exit(0);
            }
            if (c > 0)
                waitpid(c, NULL, 0);
        }
    case HANDLER:
        for (;;)
            raise(SIGUSR1);
    case SLEEPER: {
        int p[2];
        if (pipe(p) != 0)
            _exit(4);
        for (;;) {
            struct timespec ts = { 0, 500000 };
            nanosleep(&ts, NULL);
            struct itimerval it = { { 0, 0 }, { 0, 700 } };
            setitimer(ITIMER_REAL, &it, NULL);
            signal(SIGALRM, on_usr1);
            char c;
            if (read(p[0], &c, 1) < 0 && errno != EINTR)
                _exit(5);
        }
    }
    default:
        break;
    }
    _exit(0);
}

static void spawn_victim(int i)
{
    enum kind kind = (enum kind)(i % NKINDS);
    pid_t pid = fork();
    if (pid == 0) {
        close(tid_pipe[0]);
        victim_main(kind);
    }
    victims[i] = (struct victim){ .pid = pid, .kind = kind, .ntids = 0 };
}

static void read_tids(void)
{
    pid_t pair[2];
    while (read(tid_pipe[0], pair, sizeof pair) == (ssize_t)sizeof pair) {
        for (int i = 0; i < NVICTIMS; i++) {
            struct victim *v = &victims[i];
            if (v->pid == pair[0] && v->ntids < MAXTIDS)
                v->tids[v->ntids++] = pair[1];
        }
    }
}

/* Fork children that exec a tiny program or exit at once, until the end. */
static void churn(double end)
{
    for (unsigned i = 0; now() < end; i++) {
        pid_t c = fork();
        if (c == 0) {
            if (i % 2) {
                char *argv[] = { "/tests/exit0", NULL };
                char *envp[] = { NULL };
                execve(argv[0], argv, envp);
            }
            _exit(0);
        }
        if (c > 0 && waitpid(c, NULL, 0) != c)
            _exit(6);
    }
    _exit(0);
}

/* Reaps what has ended; restarts a victim that died. */
static long reap(int restart)
{
    long reaped = 0;
    int status;
    pid_t pid;
    pthread_rwlock_wrlock(&victims_lock);
    while ((pid = waitpid(-1, &status, WNOHANG | WUNTRACED | WCONTINUED)) > 0) {
        if (!WIFEXITED(status) && !WIFSIGNALED(status))
            continue; /* a stop or a continue */
        reaped++;
        for (int i = 0; i < 2; i++)
            if (churners[i] == pid)
                churn_status[i] = status;
        for (int i = 0; i < NVICTIMS; i++)
            if (victims[i].pid == pid) {
                victims[i].pid = 0;
                if (restart)
                    spawn_victim(i);
            }
    }
    pthread_rwlock_unlock(&victims_lock);
    return reaped;
}

static void storm_one(void)
{
    struct victim *v = &victims[next() % NVICTIMS];
    pthread_rwlock_rdlock(&victims_lock);
    if (v->pid <= 0) {
        pthread_rwlock_unlock(&victims_lock);
        return;
    }
    static const int sigs[] = { SIGSTOP, SIGCONT, SIGUSR1, SIGCONT, SIGSTOP, SIGUSR1, SIGCONT };
    int sig = next() % 16 == 0 ? SIGKILL : sigs[next() % (sizeof sigs / sizeof sigs[0])];
    switch (next() % 3) {
    case 0: kill(v->pid, sig); break;
    case 1: syscall(SYS_tkill, v->pid, sig); break;
    default: {
        pid_t tid = v->ntids ? v->tids[next() % v->ntids] : v->pid;
        syscall(SYS_tgkill, v->pid, tid, sig);
        break;
    }
    }
    pthread_rwlock_unlock(&victims_lock);
}

static long sent[2];

/* A second and third sender. */
static void *storm_thread(void *arg)
{
    long n = (long)arg;
    rng = 0x9e3779b97f4a7c15ull * (uint64_t)(n + 2);
    while (storming) {
        for (int k = 0; k < 64; k++, sent[n]++)
            storm_one();
        struct timespec ts = { 0, 100000 };
        nanosleep(&ts, NULL);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 10;
    rng = argc > 2 ? strtoull(argv[2], NULL, 0) : 0x2545f4914f6cdd1dull;
    if (rng == 0)
        rng = 1;
    if (pipe(tid_pipe) != 0 || fcntl(tid_pipe[0], F_SETFL, O_NONBLOCK) != 0) {
        printf("FAIL: pipe\n");
        return 1;
    }
    double end = now() + seconds;
    for (int i = 0; i < 2; i++) {
        churners[i] = fork();
        if (churners[i] == 0)
            churn(end);
    }
    for (int i = 0; i < NVICTIMS; i++)
        spawn_victim(i);
    long signals = 0, reaped = 0;
    pthread_t senders[2];
    for (long i = 0; i < 2; i++)
        pthread_create(&senders[i], NULL, storm_thread, (void *)i);
    while (now() < end) {
        read_tids();
        for (int k = 0; k < 64; k++, signals++)
            storm_one();
        reaped += reap(1);
        struct timespec ts = { 0, 100000 };
        nanosleep(&ts, NULL);
    }
    storming = 0;
    for (int i = 0; i < 2; i++) {
        pthread_join(senders[i], NULL);
        signals += sent[i];
    }
    /* The end: every victim is killed (and continued, to die), all reaped. */
    for (int i = 0; i < NVICTIMS; i++)
        if (victims[i].pid > 0) {
            kill(victims[i].pid, SIGKILL);
            kill(victims[i].pid, SIGCONT);
        }
    int churn_ok = 1;
    for (int i = 0; i < 2; i++) {
        int status = churn_status[i];
        if (status == -1 && waitpid(churners[i], &status, 0) != churners[i])
            status = -1;
        int ok = status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!ok)
            fprintf(stderr, "t_stress: churner %d: status %#x\n", i, status);
        churn_ok &= ok;
    }
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, 0)) > 0)
        reaped++;
    check(errno == ECHILD, "every child ended and was reaped");
    check(churn_ok, "fork, exec and exit went on throughout");
    check(signals > 0 && reaped > 0, "signals were sent and victims died");
    fprintf(stderr, "t_stress: %ld signals, %ld victims reaped\n", signals, reaped);
    return finish();
}
