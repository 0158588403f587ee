/*
 * wait4 selection and results: a specific pid, any child (-1), our own
 * process group (0), another group (-pgid), WNOHANG with only a live child,
 * ECHILD without children, and the rusage it fills.
 */
#include "common.h"

#include <signal.h>

static pid_t spawn_exiting(int code, int own_group)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (own_group)
            setpgid(0, 0);
        _exit(code);
    }
    if (pid > 0 && own_group)
        setpgid(pid, pid); /* either side may win; both give the same group */
    return pid;
}

static int exited_with(int status, int code)
{
    return WIFEXITED(status) && WEXITSTATUS(status) == code;
}

int main(void)
{
    test_init();
    int status;
    expect_errno(wait4(-1, &status, 0, NULL), ECHILD, "wait4(-1) without children");
    expect_errno(wait4(-1, &status, WNOHANG, NULL), ECHILD,
                 "wait4(-1, WNOHANG) without children");

    /* A child that lives until we close its pipe. */
    int hold[2];
    if (pipe(hold) != 0) {
        printf("FAIL: pipe: %s\n", errno_name(errno));
        return 1;
    }
    fflush(stdout);
    pid_t live = fork();
    if (live == 0) {
        char c;
        close(hold[1]);
        while (read(hold[0], &c, 1) > 0)
            ;
        /* Burn a little CPU so rusage has something to report. */
        volatile uint64_t x = 0;
        for (int i = 0; i < 2000000; i++)
            x += (uint64_t)i;
        _exit(20);
    }
    close(hold[0]);
    check(wait4(-1, &status, WNOHANG, NULL) == 0, "WNOHANG with only a live child returns 0");
    check(wait4(live, &status, WNOHANG, NULL) == 0, "WNOHANG on that child returns 0");

    pid_t a = spawn_exiting(11, 0);
    check(wait_child(a, &status, 0) == a && exited_with(status, 11),
          "wait4(pid) returns that child, status 11");

    pid_t b = spawn_exiting(12, 0);
    /* The live child cannot be chosen: only b can be reaped. */
    check(wait_child(-1, &status, 0) == b && exited_with(status, 12),
          "wait4(-1) returns the exited child, status 12");

    pid_t other = spawn_exiting(14, 1);
    pid_t same = spawn_exiting(13, 0);
    check(wait_child(0, &status, 0) == same && exited_with(status, 13),
          "wait4(0) returns the child in our group, status 13");
    check(wait_child(-other, &status, 0) == other && exited_with(status, 14),
          "wait4(-pgid) returns the child in that group, status 14");
    expect_errno(wait4(-other, &status, WNOHANG, NULL), ECHILD,
                 "wait4(-pgid) with that group empty");

    expect_errno(wait4(1, &status, WNOHANG, NULL), ECHILD, "wait4 of a non-child");

    close(hold[1]);
    struct rusage ru;
    memset(&ru, 0xff, sizeof ru);
    pid_t r;
    do
        r = wait4(live, &status, 0, &ru);
    while (r == -1 && errno == EINTR);
    check(r == live && exited_with(status, 20), "released child reaped, status 20");
    check(ru.ru_utime.tv_sec >= 0 && ru.ru_utime.tv_usec >= 0 &&
              ru.ru_utime.tv_usec < 1000000,
          "rusage ru_utime valid");
    check(ru.ru_stime.tv_sec >= 0 && ru.ru_stime.tv_usec >= 0 &&
              ru.ru_stime.tv_usec < 1000000,
          "rusage ru_stime valid");
    expect_errno(wait4(-1, &status, 0, NULL), ECHILD, "no children left");
    return finish();
}
