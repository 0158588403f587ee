/*
 * RLIMIT_NPROC stops a fork bomb. A manager child lowers its limit to 16 and
 * forks until fork fails; the failure must be EAGAIN. Then it kills and reaps
 * every child it made.
 *
 * Linux exempts privileged processes (CAP_SYS_ADMIN or CAP_SYS_RESOURCE) from
 * RLIMIT_NPROC, so when run as root the manager first becomes uid 65534.
 * This kernel runs everything as root and enforces the limit either way;
 * the output is the same in both worlds.
 */
#include "common.h"

#include <signal.h>

#define LIMIT 16
#define MAX_CHILDREN 512

/* The manager's verdict, sent as its exit status. */
enum {
    MANAGER_OK = 0,
    MANAGER_NEVER_FAILED = 10,
    MANAGER_WRONG_ERRNO = 11,
    MANAGER_REAP_FAILED = 12,
    MANAGER_SETRLIMIT_FAILED = 13,
};

static int manager(void)
{
    static pid_t children[MAX_CHILDREN];
    int count = 0, fork_errno = 0;

    if (getuid() == 0 && setuid(65534) != 0) {
        /* Continue as root: this kernel enforces the limit for root too. */
    }
    struct rlimit lim = { LIMIT, LIMIT };
    if (setrlimit(RLIMIT_NPROC, &lim) != 0)
        return MANAGER_SETRLIMIT_FAILED;

    while (count < MAX_CHILDREN) {
        pid_t pid = fork();
        if (pid < 0) {
            fork_errno = errno;
            break;
        }
        if (pid == 0) {
            for (;;)
                pause();
        }
        children[count++] = pid;
    }

    int reaped_ok = 1;
    for (int i = 0; i < count; i++)
        kill(children[i], SIGKILL);
    for (int i = 0; i < count; i++) {
        int status;
        /* Under qemu-user a child at the limit may die on its own first. */
        if (wait_child(children[i], &status, 0) != children[i] || WIFSTOPPED(status))
            reaped_ok = 0;
    }
    if (fork_errno == 0)
        return MANAGER_NEVER_FAILED;
    if (!reaped_ok)
        return MANAGER_REAP_FAILED;
    return fork_errno == EAGAIN ? MANAGER_OK : MANAGER_WRONG_ERRNO;
}

int main(void)
{
    test_init();
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        printf("FAIL: fork: %s\n", errno_name(errno));
        return 1;
    }
    if (pid == 0)
        _exit(manager());

    int status;
    if (wait_child(pid, &status, 0) != pid || !WIFEXITED(status)) {
        printf("FAIL: manager did not exit normally\n");
        return 1;
    }
    int code = WEXITSTATUS(status);
    check(code != MANAGER_SETRLIMIT_FAILED, "setrlimit(RLIMIT_NPROC) accepted");
    check(code != MANAGER_NEVER_FAILED, "fork failed at the limit");
    if (code == MANAGER_OK || code == MANAGER_REAP_FAILED)
        printf("fork error: EAGAIN\n");
    else if (code == MANAGER_WRONG_ERRNO)
        fail("fork failed with another errno than EAGAIN");
    check(code != MANAGER_REAP_FAILED, "all children killed and reaped");
    return finish();
}
