/*
 * An exited child stays a zombie ('Z' in /proc/<pid>/stat) until wait4 reaps
 * it; after that /proc/<pid> is gone. Without a /proc the state checks are
 * skipped (and say so).
 */
#include "common.h"

#include <sys/stat.h>

int main(void)
{
    test_init();
    int have_proc = access("/proc/self/stat", R_OK) == 0;
    fflush(stdout);

    pid_t pid = fork();
    if (pid < 0) {
        printf("FAIL: fork: %s\n", errno_name(errno));
        return 1;
    }
    if (pid == 0)
        _exit(3);

    if (have_proc) {
        /* Up to 5 s for the child to run and exit. */
        char state = 0;
        for (int i = 0; i < 500; i++) {
            state = proc_state(pid);
            if (state == 'Z')
                break;
            sleep_ms(10);
        }
        check(state == 'Z', "state before wait4 is Z");
    } else {
        printf("state before wait4 is Z: skipped, no /proc\n");
        sleep_ms(50);
    }

    int status;
    check(wait_child(pid, &status, 0) == pid, "wait4 returns the child");
    check(WIFEXITED(status) && WEXITSTATUS(status) == 3, "exit status 3");

    if (have_proc) {
        char path[64];
        struct stat st;
        snprintf(path, sizeof path, "/proc/%d", (int)pid);
        expect_errno(stat(path, &st), ENOENT, "/proc/<child> after wait4");
    } else {
        printf("/proc/<child> after wait4: skipped, no /proc\n");
    }
    expect_errno(wait_child(pid, &status, WNOHANG), ECHILD, "second wait4");
    return finish();
}
