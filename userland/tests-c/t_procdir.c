/*
 * A /proc listing read a little at a time while processes come and go
 * (Linux: proc_pid_readdir resumes after the last PID it gave): between
 * the first getdents64 calls of two entries each, a child is started and
 * the one before it reaped. No PID may appear twice, and every process alive
 * throughout (twenty sleeping children, the caller) must appear.
 */
#include "common.h"

#include <signal.h>
#include <sys/syscall.h>

#define KEEP 20
#define MAX_SEEN 8192
#define CHURN 60

static int is_pid(const char *name)
{
    if (!*name)
        return 0;
    for (const char *p = name; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    return 1;
}

int main(void)
{
    test_init();
    pid_t keep[KEEP];
    for (int i = 0; i < KEEP; i++) {
        keep[i] = fork();
        if (keep[i] == 0) {
            for (;;)
                pause();
        }
    }
    static int seen[MAX_SEEN];
    int nseen = 0, twice = 0, calls = 0;
    int fd = open("/proc", O_RDONLY | O_DIRECTORY);
    check(fd >= 0, "open /proc");
    pid_t previous = 0;
    for (;;) {
        char buf[64] __attribute__((aligned(8)));
        long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
        if (n <= 0) {
            check(n == 0, "getdents64 ends with 0");
            break;
        }
        calls++;
        for (long off = 0; off < n;) {
            /* struct linux_dirent64: d_reclen at 16, d_name at 19. */
            unsigned short reclen;
            memcpy(&reclen, buf + off + 16, sizeof reclen);
            const char *name = buf + off + 19;
            if (is_pid(name)) {
                int pid = atoi(name);
                for (int i = 0; i < nseen; i++)
                    if (seen[i] == pid)
                        twice++;
                if (nseen < MAX_SEEN)
                    seen[nseen++] = pid;
            }
            off += reclen;
        }
        /* Processes come and go between the first calls (not all of them:
         * a new PID is listed after the current place, so churning to the
         * end would never end). */
        if (calls > CHURN)
            continue;
        pid_t next = fork();
        if (next == 0)
            _exit(0);
        if (previous > 0)
            wait_child(previous, NULL, 0);
        previous = next;
    }
    if (previous > 0)
        wait_child(previous, NULL, 0);
    close(fd);
    check(calls > 10, "the listing took many calls");
    check(twice == 0, "no PID listed twice");
    int missing = 0;
    for (int i = 0; i < KEEP + 1; i++) {
        int want = i < KEEP ? keep[i] : getpid();
        int found = 0;
        for (int k = 0; k < nseen; k++)
            found |= seen[k] == want;
        missing += !found;
    }
    check(missing == 0, "every process alive throughout is listed");
    for (int i = 0; i < KEEP; i++) {
        kill(keep[i], SIGKILL);
        wait_child(keep[i], NULL, 0);
    }
    return finish();
}
