/*
 * Process file descriptors: pidfd_open's errors and close-on-exec, poll,
 * ppoll and select on a pidfd waking when the process exits (readable,
 * then hung up once reaped), pidfd_send_signal killing a process (and its
 * errors), waitid(P_PIDFD) and a nonblocking pidfd's EAGAIN, clone's
 * CLONE_PIDFD, and the descriptor's /proc name.
 *
 * qemu-user passes these calls to the host kernel: the reference run is
 * Linux's own pidfds. "t_pidfd kernel" checks what the reference cannot:
 * clone3's pidfd field (qemu-user has no clone3; Linux 6.1 stores a pidfd
 * there that polls readable when the child exits), and pidfd_open of a
 * thread that leads no group, EINVAL in Linux 6.1 (kernels from 6.9 on,
 * which know PIDFD_THREAD, say ENOENT).
 */
#include "common.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/select.h>
#include <sys/syscall.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x1000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#define PIDFD_NONBLOCK O_NONBLOCK

static int pidfd_open(pid_t pid, unsigned flags) { return (int)syscall(SYS_pidfd_open, pid, flags); }

static int pidfd_send_signal(int fd, int sig, siginfo_t *info, unsigned flags)
{
    return (int)syscall(SYS_pidfd_send_signal, fd, sig, info, flags);
}

/* A child that sleeps ms milliseconds, then exits with status code. */
static pid_t sleeper(int ms, int code)
{
    pid_t pid = fork();
    if (pid == 0) {
        sleep_ms(ms);
        _exit(code);
    }
    return pid;
}

static short poll_once(int fd, int timeout_ms)
{
    struct pollfd p = { fd, POLLIN, 0 };
    int n = poll(&p, 1, timeout_ms);
    return n == 1 ? p.revents : n == 0 ? 0 : -1;
}

static void test_open(void)
{
    expect_errno(pidfd_open(getpid(), 1), EINVAL, "pidfd_open with an unknown flag");
    expect_errno(pidfd_open(0, 0), EINVAL, "pidfd_open of PID 0");
    expect_errno(pidfd_open(-1, 0), EINVAL, "pidfd_open of PID -1");
    pid_t gone = sleeper(0, 0);
    wait_child(gone, NULL, 0);
    expect_errno(pidfd_open(gone, 0), ESRCH, "pidfd_open of a reaped child");
    int fd = pidfd_open(getpid(), 0);
    check(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC), "pidfd_open of itself: close-on-exec");
    char path[64], link[64] = "";
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, link, sizeof link - 1);
    link[n > 0 ? n : 0] = '\0';
    printf("its /proc/self/fd link: %s\n", link);
    close(fd);
    check(pidfd_open(getpid(), PIDFD_NONBLOCK) >= 0, "pidfd_open with PIDFD_NONBLOCK");
}

static void *block_forever(void *arg)
{
    *(pid_t *)arg = (pid_t)syscall(SYS_gettid);
    for (;;)
        pause();
    return NULL;
}

static void test_thread(void)
{
    volatile pid_t tid = 0;
    pthread_t th;
    pthread_create(&th, NULL, block_forever, (void *)&tid);
    while (tid == 0)
        sleep_ms(1);
    expect_errno(pidfd_open(tid, 0), EINVAL, "pidfd_open of a thread that leads no group");
}

static void test_poll(void)
{
    pid_t pid = sleeper(200, 7);
    int fd = pidfd_open(pid, 0);
    check(poll_once(fd, 0) == 0, "poll: a running process is not readable");
    uint64_t t0 = now_ns();
    short ev = poll_once(fd, 5000);
    check(ev == POLLIN && now_ns() - t0 > 100000000ull, "poll sleeps until the exit, then POLLIN");
    check(poll_once(fd, 0) == POLLIN, "the zombie: POLLIN without POLLHUP");
    int status;
    wait_child(pid, &status, 0);
    check(poll_once(fd, 0) == (POLLIN | POLLHUP), "reaped: POLLIN|POLLHUP");
    close(fd);

    /* A poller that is not the parent (which SIGCHLD might wake anyway):
       it reports through its exit status whether POLLIN came within 3 s. */
    pid = sleeper(200, 0);
    fd = pidfd_open(pid, 0);
    pid_t poller = fork();
    if (poller == 0) {
        uint64_t start = now_ns();
        short e = poll_once(fd, 5000);
        _exit(e == POLLIN && now_ns() - start < 3000000000ull ? 0 : 1);
    }
    int pst;
    wait_child(poller, &pst, 0);
    check(WIFEXITED(pst) && WEXITSTATUS(pst) == 0, "poll in another process than the parent wakes at the exit");
    wait_child(pid, NULL, 0);
    close(fd);

    pid = sleeper(150, 0);
    fd = pidfd_open(pid, 0);
    struct pollfd p = { fd, POLLIN, 0 };
    struct timespec ts = { 5, 0 };
    check(ppoll(&p, 1, &ts, NULL) == 1 && p.revents == POLLIN, "ppoll wakes at the exit");
    wait_child(pid, NULL, 0);
    close(fd);

    pid = sleeper(150, 0);
    fd = pidfd_open(pid, 0);
    fd_set r;
    FD_ZERO(&r);
    FD_SET(fd, &r);
    struct timeval tv = { 5, 0 };
    check(select(fd + 1, &r, NULL, NULL, &tv) == 1 && FD_ISSET(fd, &r), "select wakes at the exit");
    wait_child(pid, NULL, 0);
    close(fd);
}

static void test_send_signal(void)
{
    pid_t pid = sleeper(10000, 0);
    int fd = pidfd_open(pid, 0);
    check(pidfd_send_signal(fd, 0, NULL, 0) == 0, "pidfd_send_signal of signal 0 to a live process");
    expect_errno(pidfd_send_signal(fd, SIGKILL, NULL, 0x100), EINVAL, "pidfd_send_signal with unknown flags");
    expect_errno(pidfd_send_signal(-1, SIGKILL, NULL, 0), EBADF, "pidfd_send_signal to fd -1");
    int pipefd[2];
    pipe(pipefd);
    expect_errno(pidfd_send_signal(pipefd[0], SIGKILL, NULL, 0), EBADF, "pidfd_send_signal to a pipe");
    siginfo_t info;
    memset(&info, 0, sizeof info);
    info.si_signo = SIGUSR1;
    info.si_code = SI_QUEUE;
    expect_errno(pidfd_send_signal(fd, SIGUSR2, &info, 0), EINVAL, "pidfd_send_signal: si_signo not the signal");
    check(pidfd_send_signal(fd, SIGKILL, NULL, 0) == 0, "pidfd_send_signal SIGKILL");
    check(poll_once(fd, 5000) == POLLIN, "the pidfd turns readable");
    int status;
    wait_child(pid, &status, 0);
    check(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the process was killed by SIGKILL");
    expect_errno(pidfd_send_signal(fd, SIGKILL, NULL, 0), ESRCH, "pidfd_send_signal after the reaping");
    close(fd);
    close(pipefd[0]);
    close(pipefd[1]);
}

static void test_waitid(void)
{
    pid_t pid = sleeper(150, 9);
    int fd = pidfd_open(pid, 0);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    check(waitid(P_PIDFD, fd, &si, WEXITED) == 0 && si.si_pid == pid && si.si_code == CLD_EXITED &&
              si.si_status == 9,
          "waitid(P_PIDFD) reaps the child: its PID, CLD_EXITED, status 9");
    expect_errno(waitid(P_PIDFD, fd, &si, WEXITED), ECHILD, "waitid(P_PIDFD) again: ECHILD");
    close(fd);
    int pipefd[2];
    pipe(pipefd);
    expect_errno(waitid(P_PIDFD, pipefd[0], &si, WEXITED), EBADF, "waitid(P_PIDFD) of a pipe");
    close(pipefd[0]);
    close(pipefd[1]);

    pid = sleeper(150, 3);
    fd = pidfd_open(pid, PIDFD_NONBLOCK);
    expect_errno(waitid(P_PIDFD, fd, &si, WEXITED), EAGAIN, "waitid on a nonblocking pidfd of a running child");
    memset(&si, 0, sizeof si);
    check(waitid(P_PIDFD, fd, &si, WEXITED | WNOHANG) == 0 && si.si_pid == 0,
          "with WNOHANG: 0 and nothing reported");
    poll_once(fd, 5000);
    check(waitid(P_PIDFD, fd, &si, WEXITED) == 0 && si.si_pid == pid && si.si_status == 3,
          "after the exit it reaps");
    close(fd);
}

static void test_clone_pidfd(void)
{
    int pidfd = -1;
    long pid = syscall(SYS_clone, SIGCHLD | CLONE_PIDFD, 0, &pidfd, 0, 0);
    if (pid == 0) {
        sleep_ms(100);
        _exit(5);
    }
    check(pid > 0 && pidfd >= 0 && (fcntl(pidfd, F_GETFD) & FD_CLOEXEC), "clone(CLONE_PIDFD) stores a close-on-exec pidfd");
    check(poll_once(pidfd, 5000) == POLLIN, "it turns readable at the child's exit");
    siginfo_t si;
    memset(&si, 0, sizeof si);
    check(waitid(P_PIDFD, pidfd, &si, WEXITED) == 0 && si.si_pid == pid && si.si_status == 5,
          "waitid(P_PIDFD) on it reaps that child");
    close(pidfd);
    int word = 0;
    expect_errno(syscall(SYS_clone, SIGCHLD | CLONE_PIDFD | CLONE_PARENT_SETTID, 0, &word, 0, 0), EINVAL,
                 "CLONE_PIDFD with CLONE_PARENT_SETTID");
}

/* This kernel only (see the top). */
static int test_kernel_only(void)
{
    test_thread();
    struct {
        uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
    } args;
    int pidfd = -1;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_PIDFD;
    args.pidfd = (uint64_t)(uintptr_t)&pidfd;
    args.exit_signal = SIGCHLD;
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) {
        sleep_ms(100);
        _exit(4);
    }
    check(pid > 0 && pidfd >= 0, "clone3 stores a pidfd through its pidfd field");
    check(poll_once(pidfd, 0) == 0 && poll_once(pidfd, 5000) == POLLIN, "it turns readable at the child's exit");
    int status;
    check(wait_child((pid_t)pid, &status, 0) == pid && WEXITSTATUS(status) == 4, "the child exited with 4");
    args.flags = CLONE_PIDFD | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM;
    args.exit_signal = 0;
    expect_errno(syscall(SYS_clone3, &args, sizeof args), EINVAL, "clone3 CLONE_PIDFD with CLONE_THREAD");
    return finish();
}

int main(int argc, char **argv)
{
    test_init();
    if (argc > 1 && strcmp(argv[1], "kernel") == 0)
        return test_kernel_only();
    test_open();
    test_poll();
    test_send_signal();
    test_waitid();
    test_clone_pidfd();
    return finish();
}
