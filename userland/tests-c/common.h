/*
 * Shared helpers for the behaviour tests: deterministic result lines, a
 * PASS/FAIL verdict, errno names, small /proc readers and child reaping.
 *
 * Every test prints only facts that are the same on every run and on every
 * kernel that implements the Linux ABI (no PIDs, addresses or timings), then
 * "PASS" (exit 0) or "FAIL: <first failed check>" (exit 1).
 */
#ifndef TESTS_COMMON_H
#define TESTS_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if __has_include(<linux/futex.h>)
#include <linux/futex.h>
#else
#define FUTEX_WAIT 0 /* the Linux ABI value; musl ships no kernel headers */
#define FUTEX_WAKE 1
#endif

/* The first failed check, reported by finish(). */
static char first_failure[160];
static int failure_count;

/* Line-buffered stdout: one write(2) per line, nothing pending at fork. */
static inline void test_init(void)
{
    static char line_buffer[4096];
    setvbuf(stdout, line_buffer, _IOLBF, sizeof line_buffer);
}

/* Records a failure without printing a result line. */
static inline void fail(const char *fmt, ...)
{
    failure_count++;
    if (first_failure[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(first_failure, sizeof first_failure, fmt, ap);
        va_end(ap);
    }
}

/* Prints "<label>: yes" or "<label>: no" and records a failure on "no". */
static inline int check(int ok, const char *label)
{
    printf("%s: %s\n", label, ok ? "yes" : "no");
    if (!ok)
        fail("%s", label);
    return ok;
}

/* Prints the verdict line; the return value is the process exit status. */
static inline int finish(void)
{
    fflush(stdout);
    if (failure_count == 0) {
        printf("PASS\n");
        return 0;
    }
    printf("FAIL: %s\n", first_failure);
    return 1;
}

/* The symbolic name of an errno value, as the C headers spell it. */
static inline const char *errno_name(int e)
{
    switch (e) {
    case 0: return "0";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case ENXIO: return "ENXIO";
    case E2BIG: return "E2BIG";
    case ENOEXEC: return "ENOEXEC";
    case EBADF: return "EBADF";
    case ECHILD: return "ECHILD";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case ENFILE: return "ENFILE";
    case EMFILE: return "EMFILE";
    case ENOTTY: return "ENOTTY";
    case ESPIPE: return "ESPIPE";
    case EROFS: return "EROFS";
    case EPIPE: return "EPIPE";
    case ERANGE: return "ERANGE";
    case ENOSYS: return "ENOSYS";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EDEADLK: return "EDEADLK";
    case EIDRM: return "EIDRM";
    case ENOMSG: return "ENOMSG";
    case EFBIG: return "EFBIG";
    case EOVERFLOW: return "EOVERFLOW";
    case EXDEV: return "EXDEV";
    case ENOSPC: return "ENOSPC";
    case ENOTEMPTY: return "ENOTEMPTY";
    case ELOOP: return "ELOOP";
    case EMLINK: return "EMLINK";
    case ENODEV: return "ENODEV";
    case ENOTSOCK: return "ENOTSOCK";
    case EDESTADDRREQ: return "EDESTADDRREQ";
    case EMSGSIZE: return "EMSGSIZE";
    case EPROTOTYPE: return "EPROTOTYPE";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EADDRINUSE: return "EADDRINUSE";
    case ECONNRESET: return "ECONNRESET";
    case ENOBUFS: return "ENOBUFS";
    case EISCONN: return "EISCONN";
    case ENOTCONN: return "ENOTCONN";
    case ECONNREFUSED: return "ECONNREFUSED";
    default: return "E?";
    }
}

/* Prints "<label>: <ERRNO NAME>" for a call that returned ret and left err. */
static inline int report_errno(long ret, int err, int want, const char *label)
{
    int ok = ret == -1 && err == want;
    if (ret == -1)
        printf("%s: %s\n", label, errno_name(err));
    else
        printf("%s: succeeded\n", label);
    if (!ok)
        fail("%s: wanted %s", label, errno_name(want));
    return ok;
}

/*
 * Evaluates a call expected to fail with errno `want` and reports it; errno
 * is read after the call (a function argument list would not order them).
 */
#define expect_errno(call, want, label)                                       \
    ({                                                                        \
        errno = 0;                                                            \
        long expect_ret_ = (long)(call);                                      \
        report_errno(expect_ret_, errno, (want), (label));                    \
    })

/* Nanoseconds on CLOCK_MONOTONIC. */
static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/*
 * Reads up to size-1 bytes of a file into buf and NUL-terminates it, using
 * plain system calls (no stdio buffers). Returns the byte count or -1.
 */
static inline long read_whole_file(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t used = 0;
    while (used + 1 < size) {
        ssize_t n = read(fd, buf + used, size - 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        used += (size_t)n;
    }
    close(fd);
    buf[used] = '\0';
    return (long)used;
}

/*
 * The state letter of /proc/<pid>/stat (the field after the parenthesised
 * command name), 0 if the file cannot be read (errno says why).
 */
static inline char proc_state(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (read_whole_file(path, buf, sizeof buf) <= 0)
        return 0;
    char *close_paren = strrchr(buf, ')');
    if (close_paren == NULL || close_paren[1] != ' ')
        return 0;
    return close_paren[2];
}

/* MemFree from /proc/meminfo in pages, -1 if unavailable. */
static inline long meminfo_free_pages(void)
{
    char buf[4096];
    if (read_whole_file("/proc/meminfo", buf, sizeof buf) <= 0)
        return -1;
    char *line = strstr(buf, "MemFree:");
    if (line == NULL)
        return -1;
    long kib = strtol(line + strlen("MemFree:"), NULL, 10);
    return kib * 1024 / sysconf(_SC_PAGESIZE);
}

/* wait4 that retries on EINTR. */
static inline pid_t wait_child(pid_t pid, int *status, int options)
{
    pid_t r;
    do
        r = wait4(pid, status, options, NULL);
    while (r == -1 && errno == EINTR);
    return r;
}

/* Children must not leave core files behind on a host. */
static inline void no_core_dumps(void)
{
    struct rlimit zero = { 0, 0 };
    setrlimit(RLIMIT_CORE, &zero);
}

#endif
