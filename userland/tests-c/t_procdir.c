/*
 * A /proc listing read a little at a time while processes come and go
 * (Linux: proc_pid_readdir resumes after the last PID it gave). Between
 * the first getdents64 calls of two entries each, a process the listing
 * already gave ends and a new one starts. No name may appear twice, and
 * every entry of a listing made before (the files, twenty sleeping
 * children, the caller) must appear but the processes that ended.
 */
#include "common.h"

#include <signal.h>
#include <sys/syscall.h>

#define KEEP 20
#define CHURN 40
#define MAX_NAMES 4096

struct names {
    int n;
    char name[MAX_NAMES][16];
};

static struct names before, during;
static pid_t churn[2 * CHURN + 2];
static int nchurn;

static int is_pid(const char *name)
{
    if (!*name)
        return 0;
    for (const char *p = name; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    return 1;
}

static int has(const struct names *l, const char *name)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->name[i], name) == 0)
            return 1;
    return 0;
}

static pid_t sleeper(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        for (;;)
            pause();
    }
    return pid;
}

/* Ends one churning process whose PID `l` already holds; starts another. */
static void come_and_go(const struct names *l)
{
    for (int i = 0; i < nchurn; i++) {
        char name[16];
        snprintf(name, sizeof name, "%d", churn[i]);
        if (churn[i] > 0 && has(l, name)) {
            kill(churn[i], SIGKILL);
            wait_child(churn[i], NULL, 0);
            churn[i] = 0;
            break;
        }
    }
    if (nchurn < (int)(sizeof churn / sizeof churn[0]))
        churn[nchurn++] = sleeper();
}

/* Lists /proc into `l` with a buffer of `size` bytes; with `moving`,
 * processes come and go between the first calls. Returns the names seen
 * twice. */
static int list(struct names *l, size_t size, int moving)
{
    int fd = open("/proc", O_RDONLY | O_DIRECTORY);
    int twice = 0, calls = 0;
    char buf[4096] __attribute__((aligned(8)));
    l->n = 0;
    for (;;) {
        long n = syscall(SYS_getdents64, fd, buf, size);
        if (n <= 0)
            break;
        calls++;
        for (long off = 0; off < n;) {
            /* struct linux_dirent64: d_reclen at 16, d_name at 19. */
            unsigned short reclen;
            memcpy(&reclen, buf + off + 16, sizeof reclen);
            const char *name = buf + off + 19;
            twice += has(l, name);
            if (l->n < MAX_NAMES)
                snprintf(l->name[l->n++], sizeof l->name[0], "%s", name);
            off += reclen;
        }
        if (moving && calls <= CHURN)
            come_and_go(l);
    }
    close(fd);
    return twice;
}

int main(void)
{
    test_init();
    pid_t keep[KEEP];
    for (int i = 0; i < KEEP; i++)
        keep[i] = sleeper();
    for (int i = 0; i < CHURN; i++)
        churn[nchurn++] = sleeper();
    check(list(&before, sizeof(long) * 512, 0) == 0, "a listing in one piece: no name twice");
    check(list(&during, 64, 1) == 0, "a listing in pieces while processes come and go: no name twice");
    int missing = 0;
    for (int i = 0; i < before.n; i++) {
        int ended = 0;
        if (is_pid(before.name[i])) {
            ended = 1;
            for (int k = 0; k < KEEP; k++)
                ended &= atoi(before.name[i]) != keep[k];
            ended &= atoi(before.name[i]) != getpid();
        }
        if (!ended && !has(&during, before.name[i]))
            missing++;
    }
    check(missing == 0, "every file and process there throughout is listed");
    for (int i = 0; i < KEEP; i++) {
        kill(keep[i], SIGKILL);
        wait_child(keep[i], NULL, 0);
    }
    for (int i = 0; i < nchurn; i++) {
        if (churn[i] > 0) {
            kill(churn[i], SIGKILL);
            wait_child(churn[i], NULL, 0);
        }
    }
    return finish();
}
