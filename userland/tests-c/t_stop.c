/*
 * Job-control stops: SIGSTOP stops a child (wait4 WUNTRACED reports it,
 * /proc shows 'T'), SIGCONT resumes it (wait4 WCONTINUED reports it, /proc
 * shows R or S again), SIGKILL ends it. A busy child sent SIGSTOP and
 * SIGCONT back to back, 300 times, is never left stopped.
 */
#include "common.h"

#include <signal.h>

static void check_state(pid_t pid, int have_proc, const char *label, const char *accepted)
{
    if (!have_proc) {
        printf("%s: skipped, no /proc\n", label);
        return;
    }
    char state = proc_state(pid);
    check(state != 0 && strchr(accepted, state) != NULL, label);
}

int main(void)
{
    test_init();
    int have_proc = access("/proc/self/stat", R_OK) == 0;
    int ready[2];
    if (pipe(ready) != 0) {
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
        close(ready[0]);
        close(ready[1]); /* the parent's read returns 0: we are running */
        for (;;)
            pause();
    }
    close(ready[1]);
    char token;
    check(read(ready[0], &token, 1) == 0, "child started");

    int status;
    kill(child, SIGSTOP);
    check(wait_child(child, &status, WUNTRACED) == child && WIFSTOPPED(status) &&
              WSTOPSIG(status) == SIGSTOP,
          "wait4(WUNTRACED) reports stopped by SIGSTOP");
    check_state(child, have_proc, "state while stopped is T", "T");
    check(wait_child(child, &status, WUNTRACED | WNOHANG) == 0,
          "stop reported only once");

    kill(child, SIGCONT);
    check(wait_child(child, &status, WCONTINUED) == child && WIFCONTINUED(status),
          "wait4(WCONTINUED) reports continued");
    /* Running or back asleep in pause(); give it up to 1 s to leave 'T'. */
    if (have_proc) {
        for (int i = 0; i < 100 && strchr("RS", proc_state(child)) == NULL; i++)
            sleep_ms(10);
    }
    check_state(child, have_proc, "state after SIGCONT is R or S", "RS");
    check(wait_child(child, &status, WCONTINUED | WNOHANG) == 0,
          "continue reported only once");

    kill(child, SIGKILL);
    check(wait_child(child, &status, 0) == child && WIFSIGNALED(status) &&
              WTERMSIG(status) == SIGKILL,
          "SIGKILL ends it (WTERMSIG 9)");

    /* A SIGCONT right behind a SIGSTOP, while the child runs: whichever
     * way each pair falls, the child ends up running. */
    pid_t busy = fork();
    if (busy == 0) {
        volatile unsigned long n = 0;
        for (;;)
            n++;
    }
    for (int i = 0; i < 300; i++) {
        kill(busy, SIGSTOP);
        kill(busy, SIGCONT);
    }
    if (have_proc) {
        for (int i = 0; i < 100 && proc_state(busy) == 'T'; i++)
            sleep_ms(10);
    }
    check_state(busy, have_proc, "after 300 stop-continue pairs the child is not stopped", "RS");
    kill(busy, SIGKILL);
    check(wait_child(busy, &status, 0) == busy && WIFSIGNALED(status), "the busy child is killed");
    return finish();
}
