/*
 * Identity and time: pid/ppid/tid relations, user and group ids, process
 * groups and sessions, uname, the monotonic clock, nanosleep, sched_yield,
 * CPU affinity and getrandom.
 */
#include "common.h"

#include <sched.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

static void test_process_ids(void)
{
    pid_t pid = getpid(), ppid = getppid();
    check(pid > 0 && ppid > 0, "getpid and getppid positive");
    check(pid != ppid, "getpid != getppid");
    check(syscall(SYS_gettid) == pid, "gettid == getpid in the main thread");

    if (getuid() == 0) {
        printf("uid=%d euid=%d gid=%d egid=%d\n", (int)getuid(), (int)geteuid(),
               (int)getgid(), (int)getegid());
    } else {
        check(getuid() == geteuid(), "uid == euid");
        check(getgid() == getegid(), "gid == egid");
    }
}

/* Child-side checks; each failed one sets a bit in the exit status. */
static int new_session_child(void)
{
    int bad = 0;
    pid_t me = getpid();
    if (setsid() != me)
        bad |= 1;
    if (getsid(0) != me || getpgid(0) != me)
        bad |= 2;
    if (!(setsid() == -1 && errno == EPERM)) /* already a group leader */
        bad |= 4;
    return bad;
}

static int new_group_child(void)
{
    int bad = 0;
    pid_t me = getpid();
    pid_t session = getsid(0);
    if (setpgid(0, 0) != 0 || getpgid(0) != me || getpgrp() != me)
        bad |= 1;
    if (getsid(0) != session)
        bad |= 2;
    if (!(setsid() == -1 && errno == EPERM))
        bad |= 4;
    return bad;
}

static void run_child(int (*body)(void), const char *label)
{
    fflush(stdout);
    pid_t child = fork();
    if (child == 0)
        _exit(body());
    int status;
    check(child > 0 && wait_child(child, &status, 0) == child && WIFEXITED(status) &&
              WEXITSTATUS(status) == 0,
          label);
}

static void test_groups_and_sessions(void)
{
    check(getpgid(0) == getpgrp(), "getpgid(0) == getpgrp");
    run_child(new_session_child, "setsid in a child: new session and group, second setsid EPERM");
    run_child(new_group_child, "setpgid(0,0) in a child: own group, same session");
    expect_errno(getpgid(0x7ffffff0), ESRCH, "getpgid of a missing pid");
}

static void test_uname(void)
{
    struct utsname u;
    check(uname(&u) == 0, "uname");
    printf("machine: %s\n", u.machine);
}

static void test_time(void)
{
    uint64_t t0 = now_ns();
    uint64_t t1 = now_ns();
    check(t1 >= t0, "CLOCK_MONOTONIC never goes back");
    struct timespec req = { 0, 20 * 1000 * 1000 };
    check(nanosleep(&req, NULL) == 0, "nanosleep 20 ms returns 0");
    uint64_t t2 = now_ns();
    check(t2 - t1 >= 20 * 1000 * 1000ull, "nanosleep slept at least 20 ms");
    struct timespec res;
    check(clock_getres(CLOCK_MONOTONIC, &res) == 0 && res.tv_sec == 0 && res.tv_nsec > 0,
          "clock_getres(CLOCK_MONOTONIC) below a second");
    struct timespec rt;
    check(clock_gettime(CLOCK_REALTIME, &rt) == 0, "clock_gettime(CLOCK_REALTIME)");
    check(sched_yield() == 0, "sched_yield returns 0");
}

static void test_affinity(void)
{
    cpu_set_t set, one, after;
    CPU_ZERO(&set);
    if (!check(sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) >= 1,
               "sched_getaffinity gives at least one CPU"))
        return;
    int first = 0;
    while (!CPU_ISSET(first, &set))
        first++;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    check(sched_setaffinity(0, sizeof one, &one) == 0, "sched_setaffinity to one CPU");
    CPU_ZERO(&after);
    check(sched_getaffinity(0, sizeof after, &after) == 0 && CPU_EQUAL(&after, &one),
          "affinity reads back as that CPU");
    check(sched_setaffinity(0, sizeof set, &set) == 0, "affinity restored");
}

static void test_random(void)
{
    unsigned char a[32], b[32];
    check(getrandom(a, sizeof a, 0) == (ssize_t)sizeof a, "getrandom returns 32");
    check(getrandom(b, sizeof b, GRND_NONBLOCK) == (ssize_t)sizeof b,
          "getrandom(GRND_NONBLOCK) returns 32");
    check(memcmp(a, b, sizeof a) != 0, "two draws differ");
}

int main(void)
{
    test_init();
    test_process_ids();
    test_groups_and_sessions();
    test_uname();
    test_time();
    test_affinity();
    test_random();
    return finish();
}
