/*
 * N cycles of fork, _exit in the child, wait4 in the parent; every status
 * must carry the exit code the child chose.
 * usage: t_forkloop [N]   (default 1000)
 */
#include "common.h"

int main(int argc, char **argv)
{
    test_init();
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000;
    if (n <= 0) {
        printf("FAIL: bad count\n");
        return 1;
    }

    long reaped = 0;
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            fail("fork %ld: %s", i, errno_name(errno));
            break;
        }
        if (pid == 0)
            _exit((int)(i & 0xff));
        int status;
        pid_t r = wait_child(pid, &status, 0);
        if (r != pid) {
            fail("wait4 %ld returned %s", i, r < 0 ? errno_name(errno) : "another pid");
            break;
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != (int)(i & 0xff)) {
            fail("child %ld: status 0x%x", i, status);
            break;
        }
        reaped++;
    }
    if (reaped == n)
        printf("forked %ld children, all reaped\n", n);
    int status;
    expect_errno(wait4(-1, &status, WNOHANG, NULL), ECHILD, "no children left");
    return finish();
}
