/*
 * Orphans are reparented: a child forks a grandchild and exits; the
 * grandchild watches getppid() until it changes. The new parent is init
 * (PID 1) on this kernel and may be a subreaper on a Linux host, so only
 * "changed" is reported.
 */
#include "common.h"

/* What the grandchild reports through the pipe. */
struct report {
    int reparented;
    int new_parent_alive;
};

int main(void)
{
    test_init();
    int report_pipe[2], ready_pipe[2];
    if (pipe(report_pipe) || pipe(ready_pipe)) {
        printf("FAIL: pipe: %s\n", errno_name(errno));
        return 1;
    }
    fflush(stdout);

    pid_t child = fork();
    if (child < 0) {
        printf("FAIL: fork: %s\n", errno_name(errno));
        return 1;
    }
    if (child == 0) {
        close(report_pipe[0]);
        pid_t grandchild = fork();
        if (grandchild < 0)
            _exit(2);
        if (grandchild == 0) {
            struct report r = { 0, 0 };
            pid_t old_parent = getppid();
            close(ready_pipe[0]);
            close(ready_pipe[1]); /* tells the child it may exit now */
            /* Up to 10 s in 1 ms steps. */
            for (int i = 0; i < 10000; i++) {
                pid_t p = getppid();
                if (p != old_parent) {
                    r.reparented = 1;
                    r.new_parent_alive = kill(p, 0) == 0 || errno == EPERM;
                    break;
                }
                sleep_ms(1);
            }
            if (write(report_pipe[1], &r, sizeof r) != (ssize_t)sizeof r)
                _exit(2);
            _exit(0);
        }
        /* Exit only after the grandchild has read its original parent. */
        char token;
        close(ready_pipe[1]);
        if (read(ready_pipe[0], &token, 1) != 0)
            _exit(3);
        _exit(0);
    }
    close(report_pipe[1]);
    close(ready_pipe[0]);
    close(ready_pipe[1]);

    int status;
    check(wait_child(child, &status, 0) == child && WIFEXITED(status) &&
              WEXITSTATUS(status) == 0,
          "child exited after forking");

    struct report r = { 0, 0 };
    ssize_t n;
    do
        n = read(report_pipe[0], &r, sizeof r);
    while (n < 0 && errno == EINTR);
    check(n == (ssize_t)sizeof r, "grandchild reported");
    check(r.reparented, "reparented");
    check(r.new_parent_alive, "new parent exists");
    expect_errno(wait_child(-1, &status, WNOHANG), ECHILD,
                "grandchild is not our child");
    return finish();
}
