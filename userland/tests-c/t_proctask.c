/*
 * /proc/<pid>/task/<tid>/: a directory per thread, with the thread's own
 * stat, status and comm (this kernel only: under qemu-aarch64, /proc shows
 * the emulator's threads).
 *
 * Checks: with two more threads, task/ lists exactly the three thread IDs;
 * each thread's stat starts with its own ID and its own name, its status
 * says Pid: <tid> and Tgid: <pid>, its comm is the name it gave itself;
 * the process's own stat still shows the process ID; a thread that has
 * exited is gone from task/.
 */
#include "common.h"
#include <dirent.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

static int hold[2];
static pid_t tids[2];

static void *worker(void *arg)
{
    long i = (long)arg;
    char name[16];
    snprintf(name, sizeof name, "worker%ld", i);
    prctl(PR_SET_NAME, name);
    tids[i] = (pid_t)syscall(SYS_gettid);
    char c;
    /* Wait for the main thread's byte, then exit. */
    if (read(hold[0], &c, 1) != 1)
        return NULL;
    return NULL;
}

/* The thread IDs in /proc/self/task, sorted; their count. */
static int list_tasks(pid_t *out, int max)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n < max)
            out[n] = atoi(e->d_name);
        n++;
    }
    closedir(d);
    for (int i = 1; i < n && i < max; i++)
        for (int j = i; j > 0 && out[j - 1] > out[j]; j--) {
            pid_t t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return n;
}

static int has(const pid_t *list, int n, pid_t tid)
{
    for (int i = 0; i < n; i++)
        if (list[i] == tid)
            return 1;
    return 0;
}

int main(void)
{
    test_init();
    pid_t me = getpid();
    if (pipe(hold) != 0) {
        check(0, "pipe");
        return finish();
    }
    pthread_t th[2];
    for (long i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, worker, (void *)i);
    for (int spin = 0; spin < 1000 && (tids[0] == 0 || tids[1] == 0); spin++)
        sleep_ms(1);

    pid_t list[8];
    int n = list_tasks(list, 8);
    check(n == 3 && has(list, n, me) && has(list, n, tids[0]) && has(list, n, tids[1]),
          "task/ lists the three threads");

    int stat_ok = 1, status_ok = 1, comm_ok = 1;
    for (int i = 0; i < 2; i++) {
        char path[96], buf[2048], want[64];
        snprintf(path, sizeof path, "/proc/%d/task/%d/stat", me, tids[i]);
        snprintf(want, sizeof want, "%d (worker%d) ", tids[i], i);
        stat_ok &= read_whole_file(path, buf, sizeof buf) > 0 && strncmp(buf, want, strlen(want)) == 0;
        snprintf(path, sizeof path, "/proc/%d/task/%d/status", me, tids[i]);
        char pidline[32], tgidline[32];
        snprintf(pidline, sizeof pidline, "\nPid:\t%d\n", tids[i]);
        snprintf(tgidline, sizeof tgidline, "\nTgid:\t%d\n", me);
        status_ok &= read_whole_file(path, buf, sizeof buf) > 0 && strstr(buf, pidline) && strstr(buf, tgidline);
        snprintf(path, sizeof path, "/proc/%d/task/%d/comm", me, tids[i]);
        snprintf(want, sizeof want, "worker%d\n", i);
        comm_ok &= read_whole_file(path, buf, sizeof buf) > 0 && strcmp(buf, want) == 0;
    }
    check(stat_ok, "each thread's stat has its own ID and name");
    check(status_ok, "each thread's status has Pid: tid and Tgid: pid");
    check(comm_ok, "each thread's comm is its own name");
    {
        char path[64], buf[2048], want[32];
        snprintf(path, sizeof path, "/proc/%d/stat", me);
        snprintf(want, sizeof want, "%d (", me);
        check(read_whole_file(path, buf, sizeof buf) > 0 && strncmp(buf, want, strlen(want)) == 0,
              "the process's stat keeps the process ID");
        snprintf(path, sizeof path, "/proc/%d/task/%d/stat", me, me + 100000);
        check(read_whole_file(path, buf, sizeof buf) < 0 && errno == ENOENT, "an unknown thread ID is ENOENT");
    }

    /* Both threads leave. */
    if (write(hold[1], "xx", 2) != 2)
        check(0, "write");
    pthread_join(th[0], NULL);
    pthread_join(th[1], NULL);
    int gone = 0;
    for (int spin = 0; spin < 1000 && !gone; spin++) {
        n = list_tasks(list, 8);
        gone = n == 1 && list[0] == me;
        if (!gone)
            sleep_ms(1);
    }
    check(gone, "exited threads are gone from task/");
    return finish();
}
