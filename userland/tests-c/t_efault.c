/*
 * System calls given a bad user pointer must fail with EFAULT (and the
 * process must survive). Each call is made directly with syscall(), once with
 * an unmapped low address and once with a kernel-half address, and prints
 * "<name>: EFAULT" when both fail that way.
 *
 * The sleep is checked through clock_nanosleep, the call that glibc and musl
 * use for nanosleep() and sleep(): qemu-user's plain nanosleep ignores a bad
 * request pointer instead of failing, so it cannot serve as a reference; its
 * clock_getres ignores a bad result pointer too, so that call is left out.
 */
#include "common.h"

#include <dirent.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>

/* Unmapped and 16-byte aligned (futex needs 4), below any mapping. */
#define BAD_LOW ((void *)0x10)
/* The upper half belongs to the kernel. */
#define BAD_KERNEL ((void *)0xffff000000001000ull)

static int pipe_fds[2];
static int dir_fd;
static int dir_file_fd;

/* One system call made with the bad pointer p; returns the raw result. */
typedef long (*bad_call)(void *p);

static long do_read(void *p) { return syscall(SYS_read, pipe_fds[0], p, 4); }
static long do_write(void *p) { return syscall(SYS_write, pipe_fds[1], p, 4); }
static long do_openat(void *p) { return syscall(SYS_openat, AT_FDCWD, p, O_RDONLY); }
static long do_pipe2(void *p) { return syscall(SYS_pipe2, p, 0); }
static long do_clock_gettime(void *p) { return syscall(SYS_clock_gettime, CLOCK_MONOTONIC, p); }
static long do_uname(void *p) { return syscall(SYS_uname, p); }
static long do_getcwd(void *p) { return syscall(SYS_getcwd, p, 4096); }
static long do_rt_sigaction(void *p) { return syscall(SYS_rt_sigaction, SIGUSR1, p, NULL, 8); }
static long do_rt_sigprocmask(void *p) { return syscall(SYS_rt_sigprocmask, SIG_BLOCK, p, NULL, 8); }
static long do_newfstatat(void *p) { return syscall(SYS_newfstatat, AT_FDCWD, "/", p, 0); }
static long do_getdents64(void *p) { return syscall(SYS_getdents64, dir_fd, p, 4096); }
static long do_clock_nanosleep(void *p)
{
    return syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, p, NULL);
}
static long do_getrandom(void *p) { return syscall(SYS_getrandom, p, 16, 0); }
static long do_prlimit64(void *p) { return syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, p, NULL); }
static long do_futex(void *p) { return syscall(SYS_futex, p, FUTEX_WAIT, 0, NULL, NULL, 0); }
static long do_writev(void *p) { return syscall(SYS_writev, pipe_fds[1], p, 1); }

static long do_readv(void *p) { return syscall(SYS_readv, pipe_fds[0], p, 1); }
static long do_pread64(void *p) { return syscall(SYS_pread64, dir_file_fd, p, 4, 0); }
static long do_fstat(void *p) { return syscall(SYS_fstat, dir_fd, p); }
static long do_faccessat(void *p) { return syscall(SYS_faccessat, AT_FDCWD, p, F_OK, 0); }
static long do_chdir(void *p) { return syscall(SYS_chdir, p); }
static long do_readlinkat(void *p) { return syscall(SYS_readlinkat, AT_FDCWD, p, (char[16]){ 0 }, 16); }
static long do_readlinkat_buf(void *p) { return syscall(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", p, 16); }
static long do_ppoll(void *p) { return syscall(SYS_ppoll, p, 1, NULL, NULL, 8); }
static long do_getrusage(void *p) { return syscall(SYS_getrusage, RUSAGE_SELF, p); }
static long do_sysinfo(void *p) { return syscall(SYS_sysinfo, p); }
static long do_sched_getaffinity(void *p) { return syscall(SYS_sched_getaffinity, 0, 8, p); }
static long do_sched_setaffinity(void *p) { return syscall(SYS_sched_setaffinity, 0, 8, p); }
static long do_rt_sigpending(void *p) { return syscall(SYS_rt_sigpending, p, 8); }
static long do_rt_sigsuspend(void *p) { return syscall(SYS_rt_sigsuspend, p, 8); }
static long do_gettimeofday(void *p) { return syscall(SYS_gettimeofday, p, NULL); }
static long do_getitimer(void *p) { return syscall(SYS_getitimer, ITIMER_REAL, p); }
static long do_setitimer(void *p) { return syscall(SYS_setitimer, ITIMER_REAL, p, NULL); }
static long do_rt_sigaction_old(void *p) { return syscall(SYS_rt_sigaction, SIGUSR1, NULL, p, 8); }

static long do_writev_base(void *p)
{
    struct iovec iov = { p, 4 };
    return syscall(SYS_writev, pipe_fds[1], &iov, 1);
}

static long do_execve(void *p)
{
    char *argv[] = { "x", NULL };
    char *envp[] = { NULL };
    return syscall(SYS_execve, p, argv, envp);
}

/* wait4 with a bad status pointer; the child is reaped all the same. */
static long do_wait4(void *p)
{
    fflush(stdout);
    pid_t child = fork();
    if (child < 0)
        return -2;
    if (child == 0)
        _exit(0);
    long r = syscall(SYS_wait4, child, p, 0, NULL);
    int err = errno;
    /* Linux reaps the child before it fails to store the status. */
    int status;
    wait_child(child, &status, 0);
    errno = err;
    return r;
}

static void describe(char *out, size_t size, long r, int err)
{
    if (r == -1)
        snprintf(out, size, "%s", errno_name(err));
    else
        snprintf(out, size, "returned %ld", r);
}

static void try(const char *name, bad_call call)
{
    int ok = 1;
    char low[32], high[32];
    errno = 0;
    long r = call(BAD_LOW);
    int err = errno;
    ok &= r == -1 && err == EFAULT;
    describe(low, sizeof low, r, err);

    errno = 0;
    r = call(BAD_KERNEL);
    err = errno;
    ok &= r == -1 && err == EFAULT;
    describe(high, sizeof high, r, err);

    if (ok) {
        printf("%s: EFAULT\n", name);
    } else {
        printf("%s: unexpected low=%s kernel=%s\n", name, low, high);
        fail("%s", name);
    }
}

/*
 * The same calls with a buffer that starts 4 bytes before a PROT_NONE page:
 * the kernel's copy faults part-way through, after copying some bytes, and
 * the call must still fail with EFAULT (nothing is left half-done that the
 * caller could see as success).
 */
static void try_across(const char *name, bad_call call)
{
    long page = sysconf(_SC_PAGESIZE);
    char *area = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED || mprotect(area + page, page, PROT_NONE) != 0) {
        fail("%s across: mmap", name);
        return;
    }
    memset(area, 0, page);
    errno = 0;
    long r = call(area + page - 4);
    int err = errno;
    char what[32];
    describe(what, sizeof what, r, err);
    if (r == -1 && err == EFAULT) {
        printf("%s, buffer running into PROT_NONE: EFAULT\n", name);
    } else {
        printf("%s, buffer running into PROT_NONE: unexpected %s\n", name, what);
        fail("%s across", name);
    }
    munmap(area, 2 * page);
}

int main(void)
{
    test_init();
    if (pipe(pipe_fds) != 0 || write(pipe_fds[1], "data", 4) != 4) {
        printf("FAIL: pipe setup\n");
        return 1;
    }
    dir_fd = open("/", O_RDONLY | O_DIRECTORY);
    if (dir_fd < 0) {
        printf("FAIL: open /: %s\n", errno_name(errno));
        return 1;
    }

    dir_file_fd = open("/proc/self/stat", O_RDONLY);
    if (dir_file_fd < 0) {
        printf("FAIL: open /proc/self/stat: %s\n", errno_name(errno));
        return 1;
    }

    try("read", do_read);
    try("write", do_write);
    try("openat", do_openat);
    try("pipe2", do_pipe2);
    try("wait4", do_wait4);
    try("clock_gettime", do_clock_gettime);
    try("uname", do_uname);
    try("getcwd", do_getcwd);
    try("rt_sigaction", do_rt_sigaction);
    try("rt_sigprocmask", do_rt_sigprocmask);
    try("newfstatat", do_newfstatat);
    try("getdents64", do_getdents64);
    try("clock_nanosleep", do_clock_nanosleep);
    try("execve", do_execve);
    try("getrandom", do_getrandom);
    try("prlimit64", do_prlimit64);
    try("futex", do_futex);
    try("writev", do_writev);
    try("writev iov_base", do_writev_base);
    try("readv", do_readv);
    try("pread64", do_pread64);
    try("fstat", do_fstat);
    try("faccessat", do_faccessat);
    try("chdir", do_chdir);
    try("readlinkat path", do_readlinkat);
    try("readlinkat buffer", do_readlinkat_buf);
    try("ppoll", do_ppoll);
    try("getrusage", do_getrusage);
    try("sysinfo", do_sysinfo);
    try("sched_getaffinity", do_sched_getaffinity);
    try("sched_setaffinity", do_sched_setaffinity);
    try("rt_sigpending", do_rt_sigpending);
    try("rt_sigsuspend", do_rt_sigsuspend);
    try("gettimeofday", do_gettimeofday);
    try("getitimer", do_getitimer);
    try("setitimer", do_setitimer);
    try("rt_sigaction oldact", do_rt_sigaction_old);

    try_across("clock_gettime", do_clock_gettime);
    try_across("uname", do_uname);
    try_across("rt_sigprocmask", do_rt_sigprocmask);
    try_across("newfstatat", do_newfstatat);
    try_across("rt_sigaction", do_rt_sigaction);

    /*
     * FUTEX_WAKE looks at no memory, but a word in the kernel half is
     * EFAULT (Linux's get_futex_key: access_ok). An unmapped user word is
     * not checked here: Linux wakes nobody and returns 0, qemu-user
     * returns EFAULT.
     */
    errno = 0;
    long woken = syscall(SYS_futex, BAD_KERNEL, FUTEX_WAKE, 1, NULL, NULL, 0);
    report_errno(woken, errno, EFAULT, "futex wake kernel address");

    /* The pipe still holds the four bytes no failed read consumed. */
    char buf[8];
    check(read(pipe_fds[0], buf, sizeof buf) == 4 && memcmp(buf, "data", 4) == 0,
          "pipe data intact after failed reads");
    return finish();
}
