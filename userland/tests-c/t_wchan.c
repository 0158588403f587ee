/*
 * /proc/<pid>/wchan names where a task sleeps, as Linux 6.1 prints it (the
 * first function outside the scheduler on the sleeping task's stack, with
 * no newline), and "0" for a task that runs:
 *   nanosleep            hrtimer_nanosleep
 *   read of an empty pipe pipe_read
 *   waitpid              do_wait
 *   a stopped task       do_signal_stop
 *   a busy loop          0
 *
 * qemu-user shows the host's /proc for its own processes, so this runs on
 * this kernel only; the expected names are Linux's.
 */
#include "common.h"

#include <signal.h>

/* The wait channel of `pid` once it is asleep (state S or T), or "?". */
static const char *wchan_of(pid_t pid, char *buf, size_t len)
{
    char path[64], stat[256];
    for (int i = 0; i < 500; i++) {
        snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
        int fd = open(path, O_RDONLY);
        ssize_t n = fd < 0 ? -1 : read(fd, stat, sizeof stat - 1);
        if (fd >= 0)
            close(fd);
        if (n > 0) {
            stat[n] = '\0';
            char *state = strrchr(stat, ')');
            if (state && (state[2] == 'S' || state[2] == 'T')) {
                snprintf(path, sizeof path, "/proc/%d/wchan", (int)pid);
                fd = open(path, O_RDONLY);
                n = fd < 0 ? -1 : read(fd, buf, len - 1);
                if (fd >= 0)
                    close(fd);
                buf[n > 0 ? n : 0] = '\0';
                return buf;
            }
        }
        sleep_ms(10);
    }
    return "?";
}

static void expect_wchan(pid_t pid, const char *want, const char *label)
{
    char buf[64];
    const char *got = wchan_of(pid, buf, sizeof buf);
    int ok = strcmp(got, want) == 0;
    if (!ok)
        printf("(%s: got \"%s\")\n", label, got);
    check(ok, label);
}

static pid_t child(void (*body)(void))
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        body();
        _exit(0);
    }
    return pid;
}

static void nap(void) { sleep(30); }

static int pipefd[2];
static void read_pipe(void)
{
    char c;
    close(pipefd[1]);
    (void)!read(pipefd[0], &c, 1);
}

static void wait_grandchild(void)
{
    setpgid(0, 0); /* a group of its own, killed whole at the end */
    pid_t g = fork();
    if (g == 0) {
        sleep(30);
        _exit(0);
    }
    waitpid(g, NULL, 0);
}

static void spin(void)
{
    for (;;)
        __asm__ volatile("" ::: "memory");
}

static void end(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

int main(void)
{
    test_init();
    pid_t p = child(nap);
    expect_wchan(p, "hrtimer_nanosleep", "nanosleep: hrtimer_nanosleep");
    kill(p, SIGSTOP);
    expect_wchan(p, "do_signal_stop", "stopped: do_signal_stop");
    end(p);

    if (pipe(pipefd) != 0)
        return 1;
    p = child(read_pipe);
    close(pipefd[0]);
    expect_wchan(p, "pipe_read", "read of an empty pipe: pipe_read");
    close(pipefd[1]); /* end of file: the reader returns */
    waitpid(p, NULL, 0);

    p = child(wait_grandchild);
    expect_wchan(p, "do_wait", "waitpid: do_wait");
    kill(-p, SIGKILL);
    waitpid(p, NULL, 0);

    p = child(spin);
    sleep_ms(50);
    char path[64], buf[64] = "";
    snprintf(path, sizeof path, "/proc/%d/wchan", (int)p);
    int fd = open(path, O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0)
        close(fd);
    buf[n > 0 ? n : 0] = '\0';
    check(strcmp(buf, "0") == 0, "a running task: 0");
    end(p);
    return finish();
}
