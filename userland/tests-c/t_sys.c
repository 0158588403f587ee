/*
 * Priorities, groups, personality, scheduling policy and I/O priorities:
 * getpriority/setpriority by process, group and user (and inherited at fork),
 * getresuid/getresgid, setgroups/getgroups (sorted, inherited, size checks),
 * personality, sched_getscheduler/getparam/setscheduler(SCHED_OTHER) and the
 * priority ranges, ioprio_set/ioprio_get.
 */
#include "common.h"

#include <grp.h>
#include <sched.h>
#include <sys/personality.h>
#include <sys/syscall.h>

/* The exit code of child `pid` (-1 if it did not exit normally). */
static int wait_status(pid_t pid)
{
    int status;
    if (wait_child(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

/* The raw kernel value: 20 - nice. */
static long raw_getpriority(int which, int who)
{
    return syscall(SYS_getpriority, which, who);
}

static void test_priority(void)
{
    check(raw_getpriority(PRIO_PROCESS, 0) == 20, "getpriority raw value at nice 0 is 20");
    check(setpriority(PRIO_PROCESS, 0, 5) == 0, "setpriority(PRIO_PROCESS, 0, 5)");
    errno = 0;
    check(getpriority(PRIO_PROCESS, 0) == 5 && errno == 0, "getpriority reads 5");
    check(setpriority(PRIO_PROCESS, 0, 100) == 0 && getpriority(PRIO_PROCESS, 0) == 19,
          "a nice above 19 is clamped to 19");
    check(setpriority(PRIO_PROCESS, 0, -3) == 0 && getpriority(PRIO_PROCESS, 0) == -3,
          "root may lower its nice value");

    pid_t child = fork();
    if (child == 0)
        _exit(getpriority(PRIO_PROCESS, 0) == -3 ? 0 : 1);
    check(wait_status(child) == 0, "a child inherits the nice value");

    /* A child in its own group: PRIO_PGRP reaches it. */
    int go[2];
    if (pipe(go) != 0)
        fail("pipe");
    child = fork();
    if (child == 0) {
        char c;
        setpgid(0, 0);
        (void)!read(go[0], &c, 1);
        _exit(getpriority(PRIO_PROCESS, 0) == 7 ? 0 : 1);
    }
    setpgid(child, child);
    check(setpriority(PRIO_PGRP, child, 7) == 0, "setpriority(PRIO_PGRP) on a child's group");
    check(getpriority(PRIO_PGRP, child) == 7, "getpriority(PRIO_PGRP) reads it back");
    check(getpriority(PRIO_PROCESS, child) == 7, "the child's own priority changed");
    (void)!write(go[1], "x", 1);
    check(wait_status(child) == 0, "the child saw its new nice value");
    close(go[0]);
    close(go[1]);

    errno = 0;
    check(getpriority(PRIO_PROCESS, 0x3fffffff) == -1 && errno == ESRCH, "getpriority of no process: ESRCH");
    errno = 0;
    check(setpriority(PRIO_PGRP, 0x3fffffff, 0) == -1 && errno == ESRCH, "setpriority of no group: ESRCH");
    errno = 0;
    check(getpriority(7, 0) == -1 && errno == EINVAL, "getpriority with a bad which: EINVAL");
    errno = 0;
    check(raw_getpriority(PRIO_USER, 0) >= 20 - (-3), "getpriority(PRIO_USER, root) covers the caller");
    setpriority(PRIO_PROCESS, 0, 0);
}

static void test_ids_and_groups(void)
{
    uid_t r = 1, e = 1, s = 1;
    gid_t gr = 1, ge = 1, gs = 1;
    check(getresuid(&r, &e, &s) == 0 && r == 0 && e == 0 && s == 0, "getresuid: root, root, root");
    check(getresgid(&gr, &ge, &gs) == 0 && gr == 0 && ge == 0 && gs == 0, "getresgid: root, root, root");
    errno = 0;
    check(syscall(SYS_getresuid, (void *)8, &e, &s) == -1 && errno == EFAULT, "getresuid with a bad pointer: EFAULT");

    gid_t set[] = {30, 4, 27};
    check(setgroups(3, set) == 0, "setgroups of three groups");
    check(getgroups(0, NULL) == 3, "getgroups(0) counts them");
    gid_t got[8] = {0};
    int n = getgroups(8, got);
    int all = n == 3;
    for (int i = 0; i < 3 && all; i++) {
        int seen = 0;
        for (int j = 0; j < n; j++)
            seen |= got[j] == set[i];
        all = seen;
    }
    check(all, "getgroups returns the groups set");
    errno = 0;
    check(getgroups(2, got) == -1 && errno == EINVAL, "getgroups into too small a list: EINVAL");
    pid_t child = fork();
    if (child == 0)
        _exit(getgroups(0, NULL) == 3 ? 0 : 1);
    check(wait_status(child) == 0, "a child inherits the groups");
    check(setgroups(0, NULL) == 0 && getgroups(0, NULL) == 0, "setgroups(0) clears them");
    errno = 0;
    check(syscall(SYS_setgroups, -1, NULL) == -1 && errno == EINVAL, "setgroups of a negative size: EINVAL");
    errno = 0;
    check(syscall(SYS_setgroups, 2, (void *)8) == -1 && errno == EFAULT, "setgroups from a bad pointer: EFAULT");
}

static void test_personality(void)
{
    check(personality(0xffffffff) == PER_LINUX, "personality: PER_LINUX");
    check(personality(PER_LINUX | ADDR_NO_RANDOMIZE) == PER_LINUX, "setting ADDR_NO_RANDOMIZE returns the old one");
    check(personality(0xffffffff) == (PER_LINUX | ADDR_NO_RANDOMIZE), "the flag is kept");
    pid_t child = fork();
    if (child == 0)
        _exit(personality(0xffffffff) == (PER_LINUX | ADDR_NO_RANDOMIZE) ? 0 : 1);
    check(wait_status(child) == 0, "a child inherits the personality");
    personality(PER_LINUX);
}

/* Through syscall(): musl's wrappers of the per-thread policy calls only
 * return ENOSYS. */
static void test_sched_policy(void)
{
    struct sched_param p = {.sched_priority = 5};
    check(syscall(SYS_sched_getscheduler, 0) == SCHED_OTHER, "sched_getscheduler: SCHED_OTHER");
    check(syscall(SYS_sched_getparam, 0, &p) == 0 && p.sched_priority == 0, "sched_getparam: priority 0");
    p.sched_priority = 0;
    check(syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, &p) == 0, "sched_setscheduler(SCHED_OTHER, 0)");
    check(syscall(SYS_sched_setparam, 0, &p) == 0, "sched_setparam(0)");
    p.sched_priority = 3;
    errno = 0;
    check(syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, &p) == -1 && errno == EINVAL,
          "SCHED_OTHER with priority 3: EINVAL");
    errno = 0;
    check(syscall(SYS_sched_setscheduler, 0, 77, &p) == -1 && errno == EINVAL, "setting an unknown policy: EINVAL");
    errno = 0;
    check(syscall(SYS_sched_getparam, 0, NULL) == -1 && errno == EINVAL, "sched_getparam(NULL): EINVAL");
    check(sched_get_priority_max(SCHED_FIFO) == 99 && sched_get_priority_min(SCHED_FIFO) == 1, "SCHED_FIFO range 1..99");
    check(sched_get_priority_max(SCHED_OTHER) == 0 && sched_get_priority_min(SCHED_OTHER) == 0, "SCHED_OTHER range 0..0");
    errno = 0;
    check(sched_get_priority_max(77) == -1 && errno == EINVAL, "an unknown policy: EINVAL");
    errno = 0;
    check(syscall(SYS_sched_getscheduler, 0x3fffffff) == -1 && errno == ESRCH, "sched_getscheduler of no task: ESRCH");
    errno = 0;
    check(syscall(SYS_sched_getscheduler, -1) == -1 && errno == EINVAL, "sched_getscheduler(-1): EINVAL");
}

#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_CLASS_BE 2
#define IOPRIO_CLASS_IDLE 3
#define IOPRIO_VALUE(class, data) (((class) << 13) | (data))

static void test_ioprio(void)
{
    check(syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, IOPRIO_VALUE(IOPRIO_CLASS_BE, 6)) == 0,
          "ioprio_set best-effort level 6");
    check(syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0) == IOPRIO_VALUE(IOPRIO_CLASS_BE, 6), "ioprio_get reads it");
    pid_t child = fork();
    if (child == 0)
        _exit(syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0) == IOPRIO_VALUE(IOPRIO_CLASS_BE, 6) ? 0 : 1);
    check(wait_status(child) == 0, "a child inherits the I/O priority");
    check(syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, IOPRIO_VALUE(IOPRIO_CLASS_IDLE, 0)) == 0,
          "ioprio_set idle class");
    errno = 0;
    check(syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, IOPRIO_VALUE(5, 0)) == -1 && errno == EINVAL,
          "class 5: EINVAL");
    errno = 0;
    check(syscall(SYS_ioprio_get, 9, 0) == -1 && errno == EINVAL, "ioprio_get with a bad which: EINVAL");
    errno = 0;
    check(syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0x3fffffff) == -1 && errno == ESRCH,
          "ioprio_get of no process: ESRCH");
}

int main(void)
{
    test_init();
    test_priority();
    test_ids_and_groups();
    test_personality();
    test_sched_policy();
    test_ioprio();
    return finish();
}
