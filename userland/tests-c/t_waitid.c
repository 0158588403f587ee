/*
 * waitid(2), the wait family's general member: exits, stops and continues
 * reported only when asked for (WEXITED, WSTOPPED, WCONTINUED), WNOWAIT
 * leaving the child waitable, WNOHANG zeroing the siginfo when nothing is
 * ready, P_PID / P_PGID / P_ALL, a NULL infop, and Linux's errors.
 */
#include "common.h"

#include <signal.h>
#include <sys/syscall.h>

static int waitid_retry(idtype_t type, id_t id, siginfo_t *si, int options)
{
    int r;
    do
        r = waitid(type, id, si, options);
    while (r == -1 && errno == EINTR);
    return r;
}

static int is(const siginfo_t *si, pid_t pid, int code, int status)
{
    return si->si_signo == SIGCHLD && si->si_pid == pid && si->si_code == code && si->si_status == status;
}

static void test_exit_and_nowait(void)
{
    pid_t child = fork();
    if (child == 0)
        _exit(7);
    siginfo_t si;
    memset(&si, 0xff, sizeof si);
    check(waitid_retry(P_PID, child, &si, WEXITED | WNOWAIT) == 0 && is(&si, child, CLD_EXITED, 7),
          "WNOWAIT reports the exit: CLD_EXITED, status 7");
    check(si.si_errno == 0 && si.si_uid == 0, "si_errno 0, si_uid of root");
    memset(&si, 0, sizeof si);
    check(waitid_retry(P_PID, child, &si, WEXITED) == 0 && is(&si, child, CLD_EXITED, 7),
          "the child is still there to reap");
    errno = 0;
    check(waitid(P_PID, child, &si, WEXITED) == -1 && errno == ECHILD, "reaped: ECHILD");
}

static void test_nohang(void)
{
    int go[2];
    if (pipe(go) != 0)
        fail("pipe");
    pid_t child = fork();
    if (child == 0) {
        char c;
        close(go[1]);
        (void)!read(go[0], &c, 1);
        _exit(0);
    }
    close(go[0]);
    siginfo_t si;
    memset(&si, 0xff, sizeof si);
    check(waitid(P_PID, child, &si, WEXITED | WNOHANG) == 0 && si.si_pid == 0 && si.si_signo == 0,
          "WNOHANG with nothing ready: 0, siginfo zeroed");
    close(go[1]);
    check(waitid_retry(P_PID, child, NULL, WEXITED) == 0, "a NULL infop reaps all the same");
    errno = 0;
    check(waitid(P_PID, child, NULL, WEXITED) == -1 && errno == ECHILD, "and the child is gone");
}

static void test_stop_continue_kill(void)
{
    pid_t child = fork();
    if (child == 0) {
        raise(SIGSTOP);
        for (;;)
            pause();
    }
    siginfo_t si;
    memset(&si, 0, sizeof si);
    check(waitid_retry(P_PID, child, &si, WSTOPPED) == 0 && is(&si, child, CLD_STOPPED, SIGSTOP),
          "WSTOPPED: CLD_STOPPED by SIGSTOP");
    memset(&si, 0xff, sizeof si);
    check(waitid(P_PID, child, &si, WEXITED | WNOHANG) == 0 && si.si_pid == 0,
          "a stopped child is not reported to WEXITED alone");
    check(waitid(P_PID, child, &si, WSTOPPED | WNOHANG) == 0 && si.si_pid == 0,
          "the stop was consumed");
    kill(child, SIGCONT);
    memset(&si, 0, sizeof si);
    check(waitid_retry(P_PID, child, &si, WCONTINUED | WNOWAIT) == 0 && is(&si, child, CLD_CONTINUED, SIGCONT),
          "WCONTINUED|WNOWAIT: CLD_CONTINUED, SIGCONT");
    memset(&si, 0, sizeof si);
    check(waitid_retry(P_PID, child, &si, WCONTINUED) == 0 && is(&si, child, CLD_CONTINUED, SIGCONT),
          "the continue is still there after WNOWAIT");
    kill(child, SIGKILL);
    memset(&si, 0, sizeof si);
    check(waitid_retry(P_ALL, 0, &si, WEXITED) == 0 && is(&si, child, CLD_KILLED, SIGKILL),
          "P_ALL: CLD_KILLED by SIGKILL");
}

static void test_groups(void)
{
    pid_t child = fork();
    if (child == 0) {
        setpgid(0, 0);
        _exit(3);
    }
    setpgid(child, child);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    check(waitid_retry(P_PGID, child, &si, WEXITED) == 0 && is(&si, child, CLD_EXITED, 3),
          "P_PGID finds a child in that group");
    errno = 0;
    check(waitid(P_PGID, getpgid(0), &si, WEXITED | WNOHANG) == -1 && errno == ECHILD,
          "P_PGID of a group with no children: ECHILD");
}

static void test_errors(void)
{
    siginfo_t si;
    errno = 0;
    check(waitid(P_ALL, 0, &si, 0) == -1 && errno == EINVAL, "no WEXITED/WSTOPPED/WCONTINUED: EINVAL");
    errno = 0;
    check(waitid(P_PID, 0, &si, WEXITED) == -1 && errno == EINVAL, "P_PID 0: EINVAL");
    errno = 0;
    check(waitid((idtype_t)9, 1, &si, WEXITED) == -1 && errno == EINVAL, "an unknown idtype: EINVAL");
    errno = 0;
    check(waitid(P_ALL, 0, &si, WEXITED | 0x10000) == -1 && errno == EINVAL, "an unknown option: EINVAL");
    errno = 0;
    check(waitid(P_ALL, 0, &si, WEXITED | WNOHANG) == -1 && errno == ECHILD, "no children: ECHILD");
}

int main(void)
{
    test_init();
    no_core_dumps();
    test_exit_and_nowait();
    test_nohang();
    test_stop_continue_kill();
    test_groups();
    test_errors();
    return finish();
}
