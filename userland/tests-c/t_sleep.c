/*
 * Every blocking call sleeps: a child blocks in one call, and the parent
 * sees it in state S ('interruptible sleep') in /proc/<pid>/stat, using no
 * CPU time (utime + stime) over the next 300 ms, and then kills it. A call
 * that spun instead (this kernel's ppoll with no descriptors once did, and
 * so pause() in glibc and musl, both ppoll(NULL, 0, NULL, NULL)) shows R
 * and about 30 ticks.
 *
 * qemu-user runs each child as a host process whose blocking call is the
 * host's, so the host's /proc tells the same (Linux's) story there.
 * `t_sleep tty` checks a read from the terminal instead; it needs the
 * console as standard input, so only the kernel's system test runs it.
 */
#include "common.h"

#include <poll.h>
#include <signal.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/time.h>

/* utime + stime of /proc/<pid>/stat in clock ticks, -1 if unreadable. */
static long proc_ticks(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (read_whole_file(path, buf, sizeof buf) <= 0)
        return -1;
    char *p = strrchr(buf, ')');
    if (p == NULL)
        return -1;
    /* After ") ": state is field 3; utime and stime are fields 14 and 15. */
    p += 2;
    for (int field = 3; field < 14; field++) {
        p = strchr(p, ' ');
        if (p == NULL)
            return -1;
        p++;
    }
    char *end;
    long utime = strtol(p, &end, 10);
    long stime = strtol(end, NULL, 10);
    return utime + stime;
}

static int futex_word;

static void block_ppoll(void) { syscall(SYS_ppoll, NULL, 0, NULL, NULL, 0); }
static void block_pause(void) { pause(); }
static void block_pselect6(void) { syscall(SYS_pselect6, 0, NULL, NULL, NULL, NULL, NULL); }
static void block_poll(void) { poll(NULL, 0, -1); }

static void block_select_timeout(void)
{
    struct timeval tv = { 60, 0 };
    select(0, NULL, NULL, NULL, &tv);
}

static void block_sigsuspend(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigsuspend(&none);
}

static void block_nanosleep(void)
{
    struct timespec ts = { 60, 0 };
    nanosleep(&ts, NULL);
}

static void block_clock_nanosleep_abs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += 60;
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

static void block_wait4(void)
{
    /* The grandchild sleeps too; both go with the process group's SIGKILL. */
    if (fork() == 0) {
        pause();
        _exit(0);
    }
    wait(NULL);
}

static void block_futex(void) { syscall(SYS_futex, &futex_word, FUTEX_WAIT, 0, NULL); }

static void block_futex_timeout(void)
{
    struct timespec ts = { 60, 0 };
    syscall(SYS_futex, &futex_word, FUTEX_WAIT, 0, &ts);
}

static void block_pipe_read(void)
{
    int fds[2];
    char c;
    if (pipe(fds) == 0)
        read(fds[0], &c, 1); /* the write end is ours: no EOF */
}

static void block_pipe_write(void)
{
    int fds[2];
    static char chunk[4096];
    if (pipe2(fds, O_NONBLOCK) != 0)
        return;
    while (write(fds[1], chunk, sizeof chunk) > 0)
        ;
    fcntl(fds[1], F_SETFL, 0);
    write(fds[1], chunk, sizeof chunk); /* full, and the read end is ours */
}

static void block_ppoll_pipe(void)
{
    int fds[2];
    if (pipe(fds) != 0)
        return;
    struct pollfd pfd = { fds[0], POLLIN, 0 };
    poll(&pfd, 1, -1);
}

static void block_select_pipe(void)
{
    int fds[2];
    if (pipe(fds) != 0)
        return;
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(fds[0], &rd);
    select(fds[0] + 1, &rd, NULL, NULL, NULL);
}

static void block_tty_read(void)
{
    char c;
    read(0, &c, 1);
}

/*
 * Runs `block` in a child (its own process group when `own_group`), checks
 * that it sleeps without using the CPU, and kills it.
 */
static void check_sleeps(const char *name, void (*block)(void), int own_group)
{
    char label[128];
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        fail("fork: %s", errno_name(errno));
        return;
    }
    if (pid == 0) {
        if (own_group)
            setpgid(0, 0);
        block();
        _exit(9); /* the call returned: the parent sees no sleeper */
    }
    if (own_group)
        setpgid(pid, pid);
    /* Up to 5 s to get there. */
    char state = 0;
    for (int i = 0; i < 500; i++) {
        state = proc_state(pid);
        if (state == 'S' || state == 'Z' || state == 0)
            break;
        sleep_ms(10);
    }
    long before = proc_ticks(pid);
    sleep_ms(300);
    long after = proc_ticks(pid);
    char state_after = proc_state(pid);
    snprintf(label, sizeof label, "%s: sleeps in state S", name);
    check(state == 'S' && state_after == 'S', label);
    snprintf(label, sizeof label, "%s: no CPU time while asleep", name);
    /* One tick of slack for a wake-up that straddles a tick. */
    check(before >= 0 && after >= 0 && after - before <= 1, label);
    kill(own_group ? -pid : pid, SIGKILL);
    int status = 0;
    wait_child(pid, &status, 0);
    snprintf(label, sizeof label, "%s: SIGKILL ends the sleep", name);
    check(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, label);
}

int main(int argc, char **argv)
{
    test_init();
    if (argc > 1 && strcmp(argv[1], "tty") == 0) {
        check_sleeps("read from the terminal", block_tty_read, 0);
        return finish();
    }
    check_sleeps("ppoll with no descriptors", block_ppoll, 0);
    check_sleeps("pause", block_pause, 0);
    check_sleeps("pselect6 with no descriptors", block_pselect6, 0);
    check_sleeps("poll with no descriptors", block_poll, 0);
    check_sleeps("select with only a timeout", block_select_timeout, 0);
    check_sleeps("rt_sigsuspend", block_sigsuspend, 0);
    check_sleeps("nanosleep", block_nanosleep, 0);
    check_sleeps("clock_nanosleep TIMER_ABSTIME", block_clock_nanosleep_abs, 0);
    check_sleeps("wait4", block_wait4, 1);
    check_sleeps("futex wait", block_futex, 0);
    check_sleeps("futex wait with a timeout", block_futex_timeout, 0);
    check_sleeps("pipe read", block_pipe_read, 0);
    check_sleeps("pipe write", block_pipe_write, 0);
    check_sleeps("poll on a pipe", block_ppoll_pipe, 0);
    check_sleeps("select on a pipe", block_select_pipe, 0);
    return finish();
}
