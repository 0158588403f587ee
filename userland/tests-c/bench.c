/*
 * Userland micro-benchmarks of the process subsystem. For each benchmark it
 * prints one line:
 *     bench <name> iters=<n> ns_per_iter=<x>
 * measured with CLOCK_MONOTONIC. Under QEMU with "-icount shift=0,sleep=off"
 * one nanosecond is one instruction, so the figures are instruction counts.
 *
 * usage: bench [--exec PATH] [--pin|--both] [--mark] [name=iters ...]
 *   names: getppid fork_exit_wait fork_exec_wait pipe_pingpong file_create
 *          stat_deep read_cached mmap_shared cow_fault
 *   (the file benchmarks work in /tmp, made if missing)
 *   --exec PATH  program for fork_exec_wait (default /tests/exit0)
 *   --pin        pin the benchmark (and so every child it forks) to CPU 0
 *                with sched_setaffinity before running; lines end in
 *                " pinned=1". Unpinned, the scheduler may put a child on
 *                another CPU, and the figure then includes cross-CPU
 *                wake-ups and idle entry and exit.
 *   --both       run every benchmark unpinned, then again pinned
 *   --scale      then, for 1, 2 and 4 processes at once, each pinned to its
 *                own CPU, run fork_exit_wait and pipe_pingpong (one ping-pong
 *                pair per process, both ends on that CPU) and print
 *                "bench scale_<name> procs=<n> iters=<i> ns_per_iter=<x>": the
 *                time from releasing them together until the last is reaped,
 *                divided by all their iterations. Under -icount the clock
 *                counts the instructions of every CPU, so without contention
 *                the figure stays as for one process; spinning on a contended
 *                lock raises it.
 *   --mark       open a profiling window (hint #120) before each timed loop
 *                and close it (hint #121) after: the kprof QEMU plugin of
 *                `make profile` counts instructions inside the windows only.
 *                Hints are no-ops everywhere else (hardware, qemu-aarch64).
 */
#include "common.h"

#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define COW_PAGES 64

extern char **environ;

static const char *exec_path = "/tests/exit0";
static int pinned;
static int marked;

/* Profiling window markers (see --mark). */
static inline void window_open(void)
{
    if (marked)
        __asm__ volatile("hint #120" ::: "memory");
}

static inline void window_close(void)
{
    if (marked)
        __asm__ volatile("hint #121" ::: "memory");
}

static void report(const char *name, long iters, uint64_t total_ns)
{
    printf("bench %s iters=%ld ns_per_iter=%llu%s\n", name, iters,
           (unsigned long long)(iters > 0 ? total_ns / (uint64_t)iters : 0),
           pinned ? " pinned=1" : "");
}

/* Runs this process, and every child it forks from now on, on CPU 0 only. */
static int pin_to_cpu0(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    return sched_setaffinity(0, sizeof set, &set);
}

static int reap(pid_t pid)
{
    int status;
    return wait_child(pid, &status, 0) == pid && WIFEXITED(status) &&
           WEXITSTATUS(status) == 0;
}

static void bench_getppid(long iters)
{
    uint64_t t0 = now_ns();
    window_open();
    for (long i = 0; i < iters; i++)
        syscall(SYS_getppid);
    window_close();
    report("getppid", iters, now_ns() - t0);
}

static void bench_fork_exit_wait(long iters)
{
    fflush(stdout);
    uint64_t t0 = now_ns();
    window_open();
    for (long i = 0; i < iters; i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        if (pid < 0 || !reap(pid)) {
            window_close();
            printf("bench fork_exit_wait failed\n");
            return;
        }
    }
    window_close();
    report("fork_exit_wait", iters, now_ns() - t0);
}

static void bench_fork_exec_wait(long iters)
{
    char *argv[] = { (char *)exec_path, NULL };
    fflush(stdout);
    uint64_t t0 = now_ns();
    window_open();
    for (long i = 0; i < iters; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            execve(exec_path, argv, environ);
            _exit(127);
        }
        if (pid < 0 || !reap(pid)) {
            window_close();
            printf("bench fork_exec_wait failed (%s)\n", exec_path);
            return;
        }
    }
    window_close();
    report("fork_exec_wait", iters, now_ns() - t0);
}

/* One iteration is a round trip: two context switches between processes. */
static void bench_pipe_pingpong(long iters)
{
    int ping[2], pong[2];
    if (pipe(ping) || pipe(pong)) {
        printf("bench pipe_pingpong failed\n");
        return;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        close(ping[1]);
        close(pong[0]);
        while (read(ping[0], &c, 1) == 1)
            if (write(pong[1], &c, 1) != 1)
                _exit(1);
        _exit(0);
    }
    close(ping[0]);
    close(pong[1]);
    char c = 'p';
    uint64_t t0 = now_ns();
    window_open();
    for (long i = 0; i < iters; i++) {
        if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1) {
            printf("bench pipe_pingpong failed\n");
            break;
        }
    }
    window_close();
    uint64_t total = now_ns() - t0;
    close(ping[1]);
    close(pong[0]);
    if (pid > 0 && reap(pid))
        report("pipe_pingpong", iters, total);
}

/*
 * Each iteration forks a child that writes one byte into each of
 * COW_PAGES shared pages and reports the time that took; one reported
 * iteration is one copy-on-write fault.
 */
static void bench_cow_fault(long iters)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char *area = mmap(NULL, COW_PAGES * page, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int fds[2];
    if (area == MAP_FAILED || pipe(fds) != 0) {
        printf("bench cow_fault failed\n");
        return;
    }
    memset(area, 1, COW_PAGES * page);
    uint64_t total = 0;
    for (long i = 0; i < iters; i++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            uint64_t t0 = now_ns();
            window_open();
            for (size_t p = 0; p < COW_PAGES; p++)
                area[p * page] = 2;
            window_close();
            uint64_t spent = now_ns() - t0;
            _exit(write(fds[1], &spent, sizeof spent) == sizeof spent ? 0 : 1);
        }
        uint64_t spent = 0;
        if (pid < 0 || read(fds[0], &spent, sizeof spent) != sizeof spent || !reap(pid)) {
            printf("bench cow_fault failed\n");
            return;
        }
        total += spent;
    }
    close(fds[0]);
    close(fds[1]);
    munmap(area, COW_PAGES * page);
    report("cow_fault", iters * COW_PAGES, total);
}

/* The fork_exit_wait loop without timing or report: 0 when all went well. */
static int fork_exit_wait_loop(long iters)
{
    for (long i = 0; i < iters; i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        if (pid < 0 || !reap(pid))
            return -1;
    }
    return 0;
}

/* The pipe_pingpong loop with its own pair of pipes and echoing child. */
static int pipe_pingpong_loop(long iters)
{
    int ping[2], pong[2];
    if (pipe(ping) || pipe(pong))
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        close(ping[1]);
        close(pong[0]);
        while (read(ping[0], &c, 1) == 1)
            if (write(pong[1], &c, 1) != 1)
                _exit(1);
        _exit(0);
    }
    close(ping[0]);
    close(pong[1]);
    char c = 'p';
    int ok = pid > 0;
    for (long i = 0; ok && i < iters; i++)
        ok = write(ping[1], &c, 1) == 1 && read(pong[0], &c, 1) == 1;
    close(ping[1]);
    close(pong[0]);
    return ok && reap(pid) ? 0 : -1;
}

/* nprocs processes, process k pinned to CPU k, each running loop(iters). */
static void bench_scale(const char *name, int (*loop)(long), int nprocs, long iters)
{
    long ncpus = sysconf(_SC_NPROCESSORS_ONLN);
    int go[2];
    pid_t pids[16];
    if (ncpus < 1 || nprocs > 16 || pipe(go) != 0) {
        printf("bench scale_%s failed\n", name);
        return;
    }
    fflush(stdout);
    int started = 0;
    for (; started < nprocs; started++) {
        pid_t pid = fork();
        if (pid == 0) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(started % ncpus, &set);
            char c;
            close(go[1]);
            /* Pinned, then waiting until the parent releases everyone. */
            if (sched_setaffinity(0, sizeof set, &set) != 0 || read(go[0], &c, 1) != 0)
                _exit(1);
            _exit(loop(iters) == 0 ? 0 : 1);
        }
        if (pid < 0)
            break;
        pids[started] = pid;
    }
    close(go[0]);
    uint64_t t0 = now_ns();
    close(go[1]); /* end of file: all start at once */
    int ok = started == nprocs;
    for (int k = 0; k < started; k++)
        ok &= reap(pids[k]);
    uint64_t total = now_ns() - t0;
    if (!ok) {
        printf("bench scale_%s failed\n", name);
        return;
    }
    printf("bench scale_%s procs=%d iters=%ld ns_per_iter=%llu\n", name, nprocs, iters,
           (unsigned long long)(total / ((uint64_t)nprocs * (uint64_t)iters)));
}

/* The file benchmarks' directory: /tmp (made if missing, as on a bare
 * Linux initramfs). */
static const char *bench_dir(void)
{
    mkdir("/tmp", 01777);
    return "/tmp";
}

/* create + write 4 KiB + close + unlink of one file. */
static void bench_file_create(long iters)
{
    static char block[4096];
    char path[64];
    snprintf(path, sizeof path, "%s/bench.file", bench_dir());
    uint64_t t0 = now_ns();
    window_open();
    for (long i = 0; i < iters; i++) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || write(fd, block, sizeof block) != (ssize_t)sizeof block || close(fd) != 0 ||
            unlink(path) != 0) {
            window_close();
            printf("bench file_create failed\n");
            return;
        }
    }
    window_close();
    report("file_create", iters, now_ns() - t0);
}

/* stat of a path five directories deep. */
static void bench_stat_deep(long iters)
{
    char path[128];
    snprintf(path, sizeof path, "%s/b1", bench_dir());
    for (int d = 2; d <= 5; d++) {
        mkdir(path, 0755);
        snprintf(path + strlen(path), sizeof path - strlen(path), "/b%d", d);
    }
    mkdir(path, 0755);
    struct stat st;
    uint64_t t0 = now_ns();
    window_open();
    for (long i = 0; i < iters; i++) {
        if (stat(path, &st) != 0) {
            window_close();
            printf("bench stat_deep failed\n");
            return;
        }
    }
    window_close();
    report("stat_deep", iters, now_ns() - t0);
}

/* read of 1 MiB from a file already in memory; one iteration is 1 MiB.
 * The buffer is mapped for the benchmark, not static: a 1 MiB bss would be
 * part of the process every fork benchmark copies and tears down. */
static void bench_read_cached(long iters)
{
    const size_t len = 1 << 20;
    char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char path[64];
    snprintf(path, sizeof path, "%s/bench.1m", bench_dir());
    int fd = buf == MAP_FAILED ? -1 : open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, buf, len) != (ssize_t)len) {
        printf("bench read_cached failed\n");
        return;
    }
    uint64_t t0 = now_ns();
    window_open();
    for (long i = 0; i < iters; i++) {
        if (pread(fd, buf, len, 0) != (ssize_t)len) {
            window_close();
            printf("bench read_cached failed\n");
            return;
        }
    }
    window_close();
    report("read_cached", iters, now_ns() - t0);
    close(fd);
    unlink(path);
    munmap(buf, len);
}

/* mmap of 1 MiB shared anonymous memory, a write to each page, munmap. */
static void bench_mmap_shared(long iters)
{
    size_t len = 1 << 20, page = (size_t)sysconf(_SC_PAGESIZE);
    uint64_t t0 = now_ns();
    window_open();
    for (long i = 0; i < iters; i++) {
        char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            window_close();
            printf("bench mmap_shared failed\n");
            return;
        }
        for (size_t at = 0; at < len; at += page)
            p[at] = 1;
        munmap(p, len);
    }
    window_close();
    report("mmap_shared", iters, now_ns() - t0);
}

struct benchmark {
    const char *name;
    void (*run)(long iters);
    long iters;
};

int main(int argc, char **argv)
{
    test_init();
    struct benchmark benchmarks[] = {
        { "getppid", bench_getppid, 10000 },
        { "fork_exit_wait", bench_fork_exit_wait, 100 },
        { "fork_exec_wait", bench_fork_exec_wait, 50 },
        { "pipe_pingpong", bench_pipe_pingpong, 1000 },
        { "file_create", bench_file_create, 200 },
        { "stat_deep", bench_stat_deep, 1000 },
        { "read_cached", bench_read_cached, 20 },
        { "mmap_shared", bench_mmap_shared, 20 },
        { "cow_fault", bench_cow_fault, 20 },
    };
    size_t count = sizeof benchmarks / sizeof benchmarks[0];

    int pin = 0, both = 0, scale = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--exec") == 0 && i + 1 < argc) {
            exec_path = argv[++i];
            continue;
        }
        if (strcmp(argv[i], "--pin") == 0 || strcmp(argv[i], "--both") == 0) {
            pin = 1;
            both = argv[i][2] == 'b';
            continue;
        }
        if (strcmp(argv[i], "--scale") == 0) {
            scale = 1;
            continue;
        }
        if (strcmp(argv[i], "--mark") == 0) {
            marked = 1;
            continue;
        }
        char *eq = strchr(argv[i], '=');
        size_t k = 0;
        for (; eq != NULL && k < count; k++) {
            if (strlen(benchmarks[k].name) == (size_t)(eq - argv[i]) &&
                strncmp(argv[i], benchmarks[k].name, (size_t)(eq - argv[i])) == 0) {
                benchmarks[k].iters = strtol(eq + 1, NULL, 10);
                break;
            }
        }
        if (eq == NULL || k == count) {
            fprintf(stderr, "usage: bench [--exec PATH] [--pin|--both] [--scale] [--mark] [name=iters ...]\n");
            return 2;
        }
    }
    for (int round = both ? 0 : pin; round <= pin; round++) {
        if (round == 1 && pin_to_cpu0() != 0) {
            printf("bench sched_setaffinity failed: %s\n", strerror(errno));
            return 1;
        }
        pinned = round;
        for (size_t k = 0; k < count; k++)
            if (benchmarks[k].iters > 0)
                benchmarks[k].run(benchmarks[k].iters);
    }
    for (int nprocs = 1; scale && nprocs <= 4; nprocs *= 2) {
        if (benchmarks[1].iters > 0)
            bench_scale("fork_exit_wait", fork_exit_wait_loop, nprocs, benchmarks[1].iters);
        if (benchmarks[3].iters > 0)
            bench_scale("pipe_pingpong", pipe_pingpong_loop, nprocs, benchmarks[3].iters);
    }
    return 0;
}
