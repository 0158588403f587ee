/*
 * rt_sigtimedwait (sigtimedwait, sigwaitinfo): taking a pending signal
 * without its handler, with its siginfo; a zero timeout that only looks, a
 * timeout that runs out (EAGAIN), a signal from another process arriving
 * while waiting, a child's SIGCHLD whose default action is to ignore it,
 * another signal interrupting the wait (EINTR; through syscall(), since
 * musl's sigtimedwait retries on EINTR), the mask left as it was,
 * and Linux's errors.
 */
#include "common.h"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/time.h>

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

static int timedwait(const sigset_t *set, siginfo_t *si, long sec, long nsec)
{
    struct timespec ts = {.tv_sec = sec, .tv_nsec = nsec};
    return sigtimedwait(set, si, &ts);
}

int main(void)
{
    test_init();
    no_core_dumps();
    sigset_t usr1, usr2, chld, before, after;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigset_t all3;
    sigemptyset(&all3);
    sigaddset(&all3, SIGUSR1);
    sigaddset(&all3, SIGUSR2);
    sigaddset(&all3, SIGCHLD);
    sigprocmask(SIG_BLOCK, &all3, &before);

    siginfo_t si;
    errno = 0;
    check(timedwait(&usr1, &si, 0, 0) == -1 && errno == EAGAIN, "nothing pending, zero timeout: EAGAIN");

    raise(SIGUSR1);
    memset(&si, 0, sizeof si);
    check(timedwait(&usr1, &si, 0, 0) == SIGUSR1, "a pending SIGUSR1 is taken");
    check(si.si_signo == SIGUSR1 && si.si_code == SI_TKILL && si.si_pid == getpid(), "its siginfo: SI_TKILL from us");
    errno = 0;
    check(timedwait(&usr1, &si, 0, 0) == -1 && errno == EAGAIN, "and is no longer pending");

    errno = 0;
    check(timedwait(&usr1, &si, 0, 30 * 1000 * 1000) == -1 && errno == EAGAIN, "a 30 ms wait runs out: EAGAIN");

    pid_t parent = getpid();
    pid_t child = fork();
    if (child == 0) {
        sleep_ms(50);
        kill(parent, SIGUSR2);
        _exit(5);
    }
    memset(&si, 0, sizeof si);
    int sig = sigwaitinfo(&usr2, &si);
    check(sig == SIGUSR2 && si.si_code == SI_USER && si.si_pid == child, "SIGUSR2 sent while waiting: SI_USER from the child");
    memset(&si, 0, sizeof si);
    sig = sigwaitinfo(&chld, &si);
    check(sig == SIGCHLD && si.si_code == CLD_EXITED && si.si_pid == child && si.si_status == 5,
          "a blocked SIGCHLD (default: ignore) is waited for: CLD_EXITED, status 5");
    wait_child(child, NULL, 0);

    /* A handled signal ends the wait. */
    struct sigaction sa = {.sa_handler = on_alarm};
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {.it_value = {.tv_usec = 50 * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
    struct timespec five = {.tv_sec = 5};
    errno = 0;
    long r = syscall(SYS_rt_sigtimedwait, &usr1, &si, &five, 8);
    check(r == -1 && errno == EINTR && alarms == 1, "a handled SIGALRM interrupts the wait: EINTR");

    sigprocmask(SIG_BLOCK, NULL, &after);
    check(sigismember(&after, SIGUSR1) && sigismember(&after, SIGUSR2) && !sigismember(&after, SIGALRM),
          "the mask is as it was");

    sigset_t kill_only;
    sigemptyset(&kill_only);
    sigaddset(&kill_only, SIGKILL);
    errno = 0;
    check(timedwait(&kill_only, &si, 0, 0) == -1 && errno == EAGAIN, "SIGKILL cannot be waited for: EAGAIN");

    struct timespec bad = {.tv_sec = 0, .tv_nsec = 2000000000L};
    errno = 0;
    check(sigtimedwait(&usr1, &si, &bad) == -1 && errno == EINVAL, "a timeout with 2e9 ns: EINVAL");
    errno = 0;
    check(syscall(SYS_rt_sigtimedwait, &usr1, &si, NULL, 4) == -1 && errno == EINVAL, "a sigset size of 4: EINVAL");
    errno = 0;
    check(syscall(SYS_rt_sigtimedwait, (void *)8, &si, NULL, 8) == -1 && errno == EFAULT, "a bad set: EFAULT");
    sigprocmask(SIG_SETMASK, &before, NULL);
    return finish();
}
