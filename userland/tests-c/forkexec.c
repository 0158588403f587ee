/*
 * fork, execve in the child, wait4 in the parent and decode the status.
 * usage: forkexec [program]   (default /tests/hello)
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
    const char *program = argc > 1 ? argv[1] : "/tests/hello";

    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        printf("fork failed: %s\n", strerror(errno));
        return 1;
    }
    if (pid == 0) {
        char *child_argv[] = { (char *)program, NULL };
        execve(program, child_argv, environ);
        _exit(127);
    }

    int status;
    pid_t reaped;
    do
        reaped = wait4(pid, &status, 0, NULL);
    while (reaped == -1 && errno == EINTR);
    if (reaped != pid) {
        printf("wait4 failed: %s\n", strerror(errno));
        return 1;
    }
    printf("wait4 returned the child: yes\n");
    if (WIFEXITED(status)) {
        printf("child exited with status %d\n", WEXITSTATUS(status));
        return WEXITSTATUS(status) == 0 ? 0 : 1;
    }
    if (WIFSIGNALED(status))
        printf("child killed by signal %d\n", WTERMSIG(status));
    else
        printf("child status 0x%x\n", status);
    return 1;
}
