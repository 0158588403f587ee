/*
 * prctl and the process tree: parent-death signals (sent when the parent
 * *thread* exits), child subreapers (an orphan goes to the nearest one,
 * not to init), dumpable, no_new_privs, timer slack, PR_GET_TID_ADDRESS;
 * capget/capset; and the wait/group corners: waitpid(INT_MIN) is ESRCH,
 * setpgid on a child that has exec'd is EACCES.
 *
 * `t_prctl <self>` runs the checks; <self> is this program, exec'd by the
 * children. `t_prctl emptyargv <self>` checks that execve with an empty
 * argv gives the program argc 1 and an empty argv[0] (Linux >= 5.18); only
 * the kernel's system test runs it, since under qemu-user the exec goes
 * through a host wrapper script that supplies its own argv[0].
 */
#include "common.h"

#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#ifndef PR_GET_TID_ADDRESS
#define PR_GET_TID_ADDRESS 40
#endif

struct cap_header {
    uint32_t version;
    int pid;
};
struct cap_data {
    uint32_t effective, permitted, inheritable;
};
#define CAP_V3 0x20080522u

/* The exec'd helper: writes one byte to fd `argv[2]`, then sleeps. */
static int helper_pause(char **argv)
{
    int fd = atoi(argv[2]);
    write(fd, "x", 1);
    close(fd);
    for (;;)
        pause();
    return 0;
}

/* The exec'd helper: exit status tells what argv looked like. */
static int helper_report_dumpable_and_privs(void)
{
    int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
    int nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
    return dumpable * 10 + nnp;
}

static volatile sig_atomic_t got_signal;
static void on_signal(int sig) { got_signal = sig; }

/*
 * The grandchild's part of the death-signal checks: SIGUSR1 is due when its
 * parent goes. Writes 'r' to `ready_fd` once armed, then 'y' to
 * `verdict_fd` if the signal came (and, when `moves` is set, getppid()
 * changed from `parent`, which a parent thread's exit does not do).
 */
static void pdeath_grandchild(int ready_fd, int verdict_fd, pid_t parent, int moves)
{
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, NULL);
    signal(SIGUSR1, on_signal);
    prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0);
    if (getppid() != parent) /* the parent went before prctl: no signal due */
        _exit(2);
    write(ready_fd, "r", 1);
    /* Up to 10 s with SIGUSR1 unblocked. */
    struct timespec tmo = { 10, 0 };
    sigset_t open_mask;
    sigemptyset(&open_mask);
    ppoll(NULL, 0, &tmo, &open_mask);
    /* A parent process with other threads (qemu-user's own, say) sends the
       signal when the forking thread exits, before the last one does and
       the child moves to a new parent: give that up to 5 s. */
    for (int i = 0; moves && i < 500 && getppid() == parent; i++)
        sleep_ms(10);
    char verdict = (got_signal == SIGUSR1 && (!moves || getppid() != parent)) ? 'y' : 'n';
    write(verdict_fd, &verdict, 1);
    _exit(0);
}

struct thread_arg {
    int fd;
    pid_t child;
};

/* A thread that forks the grandchild, waits until it is armed, and exits. */
static void *forking_thread(void *p)
{
    struct thread_arg *arg = p;
    int pipefd[2];
    pipe(pipefd);
    pid_t parent = getpid();
    pid_t c = fork();
    if (c == 0)
        pdeath_grandchild(pipefd[1], pipefd[1], parent, 0);
    arg->child = c;
    char ch;
    read(pipefd[0], &ch, 1); /* "r" */
    arg->fd = pipefd[0];
    close(pipefd[1]);
    return NULL;
}

static void check_pdeathsig(void)
{
    int sig = -1;
    check(prctl(PR_SET_PDEATHSIG, SIGUSR2, 0, 0, 0) == 0, "PR_SET_PDEATHSIG");
    check(prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0) == 0 && sig == SIGUSR2, "PR_GET_PDEATHSIG reads it back");
    expect_errno(prctl(PR_SET_PDEATHSIG, 65, 0, 0, 0), EINVAL, "PR_SET_PDEATHSIG 65");
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        int s = -1;
        prctl(PR_GET_PDEATHSIG, &s, 0, 0, 0);
        _exit(s == 0 ? 0 : 1);
    }
    int status;
    wait_child(c, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a forked child starts with no death signal");
    prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);

    /* The parent process exits: its child gets the signal (and init, or a
       subreaper, as its parent). */
    int report[2];
    pipe(report);
    pid_t middle = fork();
    if (middle == 0) {
        close(report[0]);
        int ready[2];
        pipe(ready);
        pid_t me = getpid();
        if (fork() == 0) {
            close(ready[0]);
            pdeath_grandchild(ready[1], report[1], me, 1);
        }
        close(ready[1]);
        char ch = 0;
        read(ready[0], &ch, 1);
        _exit(0);
    }
    close(report[1]);
    wait_child(middle, NULL, 0);
    char verdict = 0;
    read(report[0], &verdict, 1);
    close(report[0]);
    check(verdict == 'y', "parent process exits: child gets its death signal");

    /* A thread forks the child and exits; the process lives on: the child
       still gets the signal (its parent is the thread, as in Linux). */
    struct thread_arg arg = { -1, -1 };
    pthread_t t;
    pthread_create(&t, NULL, forking_thread, &arg);
    pthread_join(t, NULL);
    verdict = 0;
    read(arg.fd, &verdict, 1);
    close(arg.fd);
    check(verdict == 'y', "parent thread exits: child gets its death signal");
    wait_child(arg.child, NULL, 0);
}

static void check_subreaper(void)
{
    int on = -1;
    check(prctl(PR_GET_CHILD_SUBREAPER, &on, 0, 0, 0) == 0 && on == 0, "not a subreaper at first");
    fflush(stdout);
    /* In a child, so the test process stays an ordinary one. */
    pid_t s = fork();
    if (s == 0) {
        int ok = 1;
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        int v = -1;
        prctl(PR_GET_CHILD_SUBREAPER, &v, 0, 0, 0);
        ok &= v == 1;
        int ids[2];
        pipe(ids);
        pid_t middle = fork();
        if (middle == 0) {
            int w = -1;
            prctl(PR_GET_CHILD_SUBREAPER, &w, 0, 0, 0);
            pid_t grandchild = fork();
            if (grandchild == 0) {
                /* Wait to be orphaned, then report the new parent. */
                pid_t first = getppid();
                for (int i = 0; i < 500 && getppid() == first; i++)
                    sleep_ms(10);
                _exit(0);
            }
            write(ids[1], &grandchild, sizeof grandchild);
            _exit(w == 0 ? 0 : 1); /* the role is not inherited */
        }
        pid_t grandchild = 0;
        read(ids[0], &grandchild, sizeof grandchild);
        int status;
        ok &= wait_child(middle, &status, 0) == middle && WIFEXITED(status) && WEXITSTATUS(status) == 0;
        /* The orphan is ours now: wait4 finds it. */
        ok &= wait_child(grandchild, &status, 0) == grandchild && WIFEXITED(status);
        _exit(ok ? 0 : 1);
    }
    int status;
    wait_child(s, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "an orphan goes to the subreaper, which reaps it");

    /* Below a subreaper that has exited, the next one up (or init) takes over. */
    s = fork();
    if (s == 0) {
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        pid_t top = getpid();
        int ids[2];
        pipe(ids);
        pid_t a = fork();
        if (a == 0) {
            /* a: an ordinary process under the subreaper; b under a. */
            pid_t b = fork();
            if (b == 0) {
                pid_t first = getppid();
                for (int i = 0; i < 500 && getppid() == first; i++)
                    sleep_ms(10);
                char r = getppid() == top ? 'y' : 'n';
                write(ids[1], &r, 1);
                _exit(0);
            }
            _exit(0);
        }
        close(ids[1]);
        wait_child(a, NULL, 0);
        char r = 0;
        read(ids[0], &r, 1);
        while (wait(NULL) > 0)
            ;
        _exit(r == 'y' ? 0 : 1);
    }
    wait_child(s, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the orphan's getppid is the subreaper");
}

static void check_flags(const char *self)
{
    check(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 1, "dumpable at first");
    expect_errno(prctl(PR_SET_DUMPABLE, 2, 0, 0, 0), EINVAL, "PR_SET_DUMPABLE 2");
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        int ok = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0;
        if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 0)
            ok = 0;
        if (prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0) != -1 || errno != EINVAL)
            ok = 0;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 1, 0, 0) != -1 || errno != EINVAL)
            ok = 0;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
            ok = 0;
        if (!ok)
            _exit(99);
        /* A forked child keeps both. */
        pid_t g = fork();
        if (g == 0)
            _exit(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) * 10 + prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
        int st;
        wait_child(g, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 1)
            _exit(98);
        /* exec: dumpable again, no_new_privs kept. */
        char *args[] = { (char *)self, "report", NULL };
        execv(self, args);
        _exit(97);
    }
    int status;
    wait_child(c, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 11,
          "PR_SET_DUMPABLE 0 and PR_SET_NO_NEW_PRIVS: fork keeps both, exec resets dumpable only");

    long slack0 = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
    check(slack0 > 0, "timer slack is set");
    check(prctl(PR_SET_TIMERSLACK, 1000, 0, 0, 0) == 0 && prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0) == 1000,
          "PR_SET_TIMERSLACK 1000 reads back");
    fflush(stdout);
    c = fork();
    if (c == 0) {
        int ok = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0) == 1000;
        prctl(PR_SET_TIMERSLACK, 5, 0, 0, 0);
        prctl(PR_SET_TIMERSLACK, 0, 0, 0, 0); /* the default: the parent's at fork */
        ok &= prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0) == 1000;
        _exit(ok ? 0 : 1);
    }
    wait_child(c, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a child inherits the slack, and it is its default");
    prctl(PR_SET_TIMERSLACK, 0, 0, 0, 0);
    check(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0) == slack0, "PR_SET_TIMERSLACK 0 restores the default");

    int word = 0;
    uintptr_t addr = 0;
    /* Our own thread's clear_child_tid, replaced and read back. */
    uintptr_t old = 0;
    prctl(PR_GET_TID_ADDRESS, &old, 0, 0, 0);
    syscall(SYS_set_tid_address, &word);
    check(prctl(PR_GET_TID_ADDRESS, &addr, 0, 0, 0) == 0 && addr == (uintptr_t)&word,
          "PR_GET_TID_ADDRESS returns set_tid_address's pointer");
    syscall(SYS_set_tid_address, (void *)old);
    expect_errno(prctl(0x7fff, 0, 0, 0, 0), EINVAL, "unknown prctl option");
}

static void check_caps(void)
{
    struct cap_header h = { 0, 0 };
    struct cap_data d[2];
    check(syscall(SYS_capget, &h, NULL) == 0, "capget probe with an unknown version and no data succeeds");
    check(h.version == CAP_V3, "capget writes back version 3");
    h.version = 1;
    expect_errno(syscall(SYS_capget, &h, d), EINVAL, "capget with an unknown version");
    h.version = CAP_V3;
    h.pid = 0;
    memset(d, 0, sizeof d);
    check(syscall(SYS_capget, &h, d) == 0, "capget of self");
    /* CAP_KILL 5, CAP_SETUID 7, CAP_SYS_ADMIN 21, CAP_CHECKPOINT_RESTORE 40. */
    int root = (d[0].effective & (1u << 5)) && (d[0].effective & (1u << 7)) && (d[0].effective & (1u << 21)) &&
               (d[1].effective & (1u << 8));
    check(root, "root's effective set holds CAP_KILL, CAP_SETUID, CAP_SYS_ADMIN, CAP_CHECKPOINT_RESTORE");
    check(d[0].effective == d[0].permitted && d[1].effective == d[1].permitted, "effective equals permitted");
    check(d[0].inheritable == 0 && d[1].inheritable == 0, "inheritable is empty");
    check(syscall(SYS_capset, &h, d) == 0, "capset of the same sets");
    h.pid = getppid();
    expect_errno(syscall(SYS_capset, &h, d), EPERM, "capset of another process");
    h.pid = INT_MAX;
    expect_errno(syscall(SYS_capget, &h, d), ESRCH, "capget of no such process");
}

static void check_wait_and_groups(const char *self)
{
    expect_errno(waitpid(INT_MIN, NULL, WNOHANG), ESRCH, "waitpid(INT_MIN)");
    int ready[2];
    pipe(ready);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        close(ready[0]);
        char fd[16];
        snprintf(fd, sizeof fd, "%d", ready[1]);
        char *args[] = { (char *)self, "pause", fd, NULL };
        execv(self, args);
        _exit(127);
    }
    /* The parent may move a child that has not exec'd (or may still race
       its exec: then EACCES, which the next check expects anyway). */
    close(ready[1]);
    char ch;
    read(ready[0], &ch, 1);
    close(ready[0]);
    expect_errno(setpgid(c, c), EACCES, "setpgid of a child after its execve");
    kill(c, SIGKILL);
    wait_child(c, NULL, 0);
    c = fork();
    if (c == 0) {
        sleep_ms(200);
        _exit(0);
    }
    check(setpgid(c, c) == 0, "setpgid of a child before its execve");
    wait_child(c, NULL, 0);
}

int main(int argc, char **argv)
{
    if (argc == 0 || argv[0][0] == '\0') {
        /* Exec'd with an empty argv (emptyargv below). */
        return argc == 1 && argv[0] != NULL && argv[0][0] == '\0' && argv[1] == NULL ? 42 : 43;
    }
    if (argc == 3 && strcmp(argv[1], "pause") == 0)
        return helper_pause(argv);
    if (argc == 2 && strcmp(argv[1], "report") == 0)
        return helper_report_dumpable_and_privs();
    test_init();
    if (argc == 3 && strcmp(argv[1], "emptyargv") == 0) {
        fflush(stdout);
        pid_t c = fork();
        if (c == 0) {
            char *none[] = { NULL };
            char *env[] = { NULL };
            execve(argv[2], none, env);
            _exit(127);
        }
        int status;
        wait_child(c, &status, 0);
        check(WIFEXITED(status) && WEXITSTATUS(status) == 42, "execve with an empty argv: argc 1, argv[0] empty");
        return finish();
    }
    const char *self = argc > 1 ? argv[1] : "/tests/t_prctl";
    no_core_dumps();
    check_pdeathsig();
    check_subreaper();
    check_flags(self);
    check_caps();
    check_wait_and_groups(self);
    return finish();
}
