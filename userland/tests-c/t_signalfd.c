/*
 * signalfd4: blocked signals read from a descriptor as signalfd_siginfo
 * records (signal, code, sender, queued value), several in one read, in
 * order; SFD_NONBLOCK's EAGAIN and SFD_CLOEXEC; a blocking read and a
 * poll woken by a signal from another process; changing the mask of an
 * existing signalfd; and the errors (a short buffer, bad flags, a
 * descriptor that is no signalfd).
 *
 * qemu-user passes signalfd4 to the host kernel and converts the records:
 * the reference run is Linux's own. Not compared: a mask size other than 8,
 * which Linux refuses with EINVAL and qemu-user lets through.
 */
#include "common.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>

static short poll_once(int fd, int timeout_ms)
{
    struct pollfd p = { fd, POLLIN, 0 };
    int n = poll(&p, 1, timeout_ms);
    return n == 1 ? p.revents : n == 0 ? 0 : -1;
}

/* A child that sends sig to the parent after ms milliseconds. */
static pid_t send_later(int sig, int ms)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        sleep_ms(ms);
        kill(parent, sig);
        _exit(0);
    }
    return pid;
}

int main(void)
{
    test_init();
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &set, NULL);

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGRTMIN);
    int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    check(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC) && (fcntl(fd, F_GETFL) & O_NONBLOCK),
          "signalfd with SFD_NONBLOCK|SFD_CLOEXEC");
    struct signalfd_siginfo si[3];
    expect_errno(read(fd, si, sizeof si), EAGAIN, "read with nothing pending");
    expect_errno(read(fd, si, sizeof si[0] - 1), EINVAL, "read into less than one record");
    check(poll_once(fd, 0) == 0, "poll: not readable");

    kill(getpid(), SIGUSR1);
    check(poll_once(fd, 0) == POLLIN, "poll: readable with SIGUSR1 pending");
    memset(si, 0, sizeof si);
    ssize_t n = read(fd, si, sizeof si);
    check(n == sizeof si[0] && si[0].ssi_signo == SIGUSR1 && si[0].ssi_code == SI_USER &&
              si[0].ssi_pid == (uint32_t)getpid() && si[0].ssi_uid == getuid(),
          "read: one record, SIGUSR1 from kill by this process");
    sigset_t now;
    sigpending(&now);
    check(!sigismember(&now, SIGUSR1), "reading took it: no longer pending");

    union sigval v = { .sival_int = 42 };
    sigqueue(getpid(), SIGRTMIN, v);
    v.sival_int = 43;
    sigqueue(getpid(), SIGRTMIN, v);
    n = read(fd, si, sizeof si);
    check(n == 2 * sizeof si[0] && si[0].ssi_signo == (uint32_t)SIGRTMIN && si[0].ssi_code == SI_QUEUE &&
              si[0].ssi_int == 42 && si[1].ssi_int == 43,
          "two queued SIGRTMIN in one read, in order, with their values");

    /* Signals outside the mask stay pending, unread. */
    kill(getpid(), SIGUSR2);
    expect_errno(read(fd, si, sizeof si), EAGAIN, "SIGUSR2 is not in the mask");
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR2);
    check(signalfd(fd, &mask, 0) == fd, "signalfd on the same descriptor changes the mask");
    n = read(fd, si, sizeof si);
    check(n == sizeof si[0] && si[0].ssi_signo == SIGUSR2, "now SIGUSR2 is read");

    /* Blocking reads and polls, woken by another process. */
    int bfd = signalfd(-1, &mask, 0);
    pid_t child = send_later(SIGUSR2, 100);
    uint64_t t0 = now_ns();
    n = read(bfd, si, sizeof si);
    check(n == sizeof si[0] && si[0].ssi_signo == SIGUSR2 && si[0].ssi_pid == (uint32_t)child &&
              now_ns() - t0 > 50000000ull,
          "a blocking read sleeps until another process's signal");
    wait_child(child, NULL, 0);
    child = send_later(SIGUSR2, 100);
    check(poll_once(bfd, 5000) == POLLIN, "poll wakes when the signal comes");
    read(bfd, si, sizeof si);
    wait_child(child, NULL, 0);

    expect_errno(signalfd(-1, &mask, 1), EINVAL, "unknown flags");
    int p[2];
    pipe(p);
    expect_errno(signalfd(p[0], &mask, 0), EINVAL, "signalfd on a pipe");
    expect_errno(signalfd(1000, &mask, 0), EBADF, "signalfd on a closed descriptor");
    return finish();
}
