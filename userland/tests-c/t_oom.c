/*
 * Memory exhaustion: the kernel kills the greediest process (the OOM
 * killer) or fails the request, and carries on.
 *
 *   t_oom hog       a child maps and touches memory in 1 MiB steps until it
 *                   dies of SIGKILL; its /proc/<pid>/oom_score beats an idle
 *                   process's; an idle child with oom_score_adj 1000 dies
 *                   first, one with -1000 survives
 *   t_oom many      64 children touch 32 MiB each (more than RAM in all):
 *                   some die of SIGKILL, the others finish
 *   t_oom threads   two threads of one child allocate until the child is
 *                   killed: both are gone with it
 *   t_oom pgtables  a child touches one byte every 2 MiB of a 1 TiB
 *                   MAP_NORESERVE mapping: its page tables grow as fast as
 *                   its memory, until it dies of SIGKILL
 *   t_oom fork      idle children until fork fails: EAGAIN or ENOMEM, then
 *                   every child is killed and reaped
 *
 * This kernel only: under qemu-user the host's memory and process table
 * would be the ones exhausted.
 */
#include "common.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>

#define MIB (1UL << 20)

/* Maps and touches `bytes` of anonymous memory; exits 2 if mmap fails. */
static char *touch_new(size_t bytes)
{
    char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        _exit(2);
    for (size_t i = 0; i < bytes; i += 4096)
        p[i] = 1;
    return p;
}

/* Whether `status` says "killed by SIGKILL". */
static int by_sigkill(int status)
{
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

static long read_number(const char *path)
{
    char buf[64];
    if (read_whole_file(path, buf, sizeof buf) <= 0)
        return -1;
    return strtol(buf, NULL, 10);
}

static int write_text(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY);
    if (fd < 0)
        return -1;
    long n = write(fd, text, strlen(text));
    close(fd);
    return n == (long)strlen(text) ? 0 : -1;
}

static pid_t idle_child(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        for (;;)
            pause();
    }
    return pid;
}

static void test_hog(void)
{
    int ready[2], go[2];
    if (pipe(ready) || pipe(go)) {
        fail("pipe");
        return;
    }
    pid_t doomed = idle_child();
    pid_t exempt = idle_child();
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/oom_score_adj", doomed);
    check(write_text(path, "1000\n") == 0 && read_number(path) == 1000, "oom_score_adj 1000 written and read back");
    snprintf(path, sizeof path, "/proc/%d/oom_score_adj", exempt);
    check(write_text(path, "-1000") == 0 && read_number(path) == -1000, "oom_score_adj -1000 written and read back");
    check(write_text(path, "1001") != 0, "oom_score_adj 1001 refused");

    pid_t hog = fork();
    if (hog == 0) {
        touch_new(64 * MIB);
        char c = 1;
        if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
            _exit(3);
        for (;;)
            touch_new(MIB);
    }
    char c;
    if (read(ready[0], &c, 1) != 1) {
        fail("hog never got ready");
        return;
    }
    snprintf(path, sizeof path, "/proc/%d/oom_score", hog);
    long hog_score = read_number(path);
    long my_score = read_number("/proc/self/oom_score");
    check(hog_score > my_score && my_score >= 0, "oom_score: 64 MiB touched scores above a small process");
    snprintf(path, sizeof path, "/proc/%d/oom_score", exempt);
    check(read_number(path) == 0, "oom_score: 0 with oom_score_adj -1000");
    if (write(go[1], &c, 1) != 1)
        fail("go");

    int status;
    pid_t first = waitpid(-1, &status, 0);
    check(first == doomed && by_sigkill(status), "the child with oom_score_adj 1000 is killed first");
    pid_t second = waitpid(hog, &status, 0);
    check(second == hog && by_sigkill(status), "the hog dies of SIGKILL");
    check(waitpid(exempt, &status, WNOHANG) == 0, "the child with oom_score_adj -1000 lives");
    kill(exempt, SIGKILL);
    check(waitpid(exempt, &status, 0) == exempt, "it is reaped after kill");
}

#define MANY 64

static void test_many(void)
{
    int done[2];
    if (pipe(done)) {
        fail("pipe");
        return;
    }
    pid_t pids[MANY];
    for (int i = 0; i < MANY; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            close(done[0]);
            touch_new(32 * MIB);
            char c = (char)i;
            if (write(done[1], &c, 1) != 1)
                _exit(3);
            for (;;)
                pause();
        }
        if (pids[i] < 0) {
            fail("fork %d: %s", i, errno_name(errno));
            return;
        }
    }
    close(done[1]);
    char finished[MANY] = { 0 };
    int settled = 0, killed = 0, other_deaths = 0;
    uint64_t deadline = now_ns() + 120ULL * 1000000000ULL;
    while (settled < MANY && now_ns() < deadline) {
        struct pollfd pfd = { .fd = done[0], .events = POLLIN };
        if (poll(&pfd, 1, 20) > 0) {
            char buf[MANY];
            long n = read(done[0], buf, sizeof buf);
            for (long j = 0; j < n; j++) {
                int i = (unsigned char)buf[j];
                if (i < MANY && !finished[i] && pids[i] > 0) {
                    finished[i] = 1;
                    settled++;
                }
            }
        }
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            for (int i = 0; i < MANY; i++) {
                if (pids[i] == pid) {
                    pids[i] = 0;
                    if (!finished[i])
                        settled++;
                    if (by_sigkill(status))
                        killed++;
                    else
                        other_deaths++;
                }
            }
        }
    }
    check(now_ns() < deadline, "every child finished or was killed");
    check(killed > 0, "some children were killed");
    check(other_deaths == 0, "every dead child died of SIGKILL");
    int alive = 0;
    for (int i = 0; i < MANY; i++) {
        if (pids[i] > 0) {
            alive++;
            kill(pids[i], SIGKILL);
        }
    }
    check(alive > 0, "the others finished and live");
    int reaped = 0, status;
    while (waitpid(-1, &status, 0) > 0)
        reaped++;
    check(reaped == alive, "the survivors are reaped after kill");
}

static void *allocate_forever(void *arg)
{
    (void)arg;
    for (;;)
        touch_new(MIB);
    return NULL;
}

static void test_threads(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        pthread_t t;
        if (pthread_create(&t, NULL, allocate_forever, NULL) != 0)
            _exit(4);
        allocate_forever(NULL);
    }
    int status;
    check(waitpid(pid, &status, 0) == pid && by_sigkill(status), "a process allocating in two threads dies of SIGKILL");
}

static void test_pgtables(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        size_t size = 1UL << 40;
        char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED)
            _exit(2);
        for (size_t off = 0; off < size; off += 2 * MIB)
            p[off] = 1;
        _exit(5);
    }
    int status;
    check(waitpid(pid, &status, 0) == pid && by_sigkill(status), "sparse touches over 1 TiB end in SIGKILL");
}

#define MAX_FORKS 30000

static void test_fork(void)
{
    static pid_t pids[MAX_FORKS];
    int count = 0, err = 0;
    while (count < MAX_FORKS) {
        pid_t pid = fork();
        if (pid < 0) {
            err = errno;
            break;
        }
        if (pid == 0) {
            for (;;)
                pause();
        }
        pids[count++] = pid;
    }
    check(err == EAGAIN || err == ENOMEM, "fork fails with EAGAIN or ENOMEM");
    check(count > 100, "more than 100 children first");
    for (int i = 0; i < count; i++)
        kill(pids[i], SIGKILL);
    int reaped = 0, killed = 0, status;
    for (int i = 0; i < count; i++) {
        if (waitpid(pids[i], &status, 0) == pids[i]) {
            reaped++;
            killed += by_sigkill(status);
        }
    }
    check(reaped == count && killed == count, "every child is killed and reaped");
    pid_t again = fork();
    if (again == 0)
        _exit(0);
    check(again > 0 && waitpid(again, &status, 0) == again, "fork works again afterwards");
}

int main(int argc, char **argv)
{
    test_init();
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "hog") == 0)
        test_hog();
    else if (strcmp(mode, "many") == 0)
        test_many();
    else if (strcmp(mode, "threads") == 0)
        test_threads();
    else if (strcmp(mode, "pgtables") == 0)
        test_pgtables();
    else if (strcmp(mode, "fork") == 0)
        test_fork();
    else {
        printf("usage: t_oom hog|many|threads|pgtables|fork\n");
        return 2;
    }
    return finish();
}
