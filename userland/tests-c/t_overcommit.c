/*
 * Overcommit accounting, as Linux's mm/util.c and proc(5) describe it:
 *   Committed_AS   private writable memory: a mapping adds to it, munmap
 *                  takes it back, read-only memory is not counted until
 *                  mprotect makes it writable, fork commits the child's copy
 *   CommitLimit    overcommit_ratio percent of RAM (no swap), or
 *                  overcommit_kbytes; writing one zeroes the other
 *   mode 2         (never) mmap, brk and fork past the limit fail with
 *                  ENOMEM, MAP_NORESERVE does not help, read-only
 *                  mappings are still made
 *   mode 1         (always) a mapping larger than RAM is made
 *   bad values     overcommit_memory 3: EINVAL, the value unchanged
 *
 * It changes vm.* settings, which qemu-user would pass to the host (and a
 * host would refuse without root): this kernel only, the expected lines
 * are Linux's documented behaviour. Everything runs in children that put
 * the settings back, and Committed_AS must end where it started.
 *
 * Nothing here allocates between two readings of /proc/meminfo (static
 * buffers, raw read/write), so the differences are the mappings' alone.
 */
#include "common.h"

#include <sys/mman.h>
#include <sys/syscall.h>

#define MIB (1UL << 20)

static char meminfo_buf[4096];

/* A /proc/meminfo field in kB, or -1. */
static long meminfo(const char *field)
{
    int fd = open("/proc/meminfo", O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, meminfo_buf, sizeof meminfo_buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    meminfo_buf[n] = '\0';
    char *at = strstr(meminfo_buf, field);
    if (at == NULL)
        return -1;
    return strtol(at + strlen(field) + 1, NULL, 10);
}

static long committed(void)
{
    return meminfo("Committed_AS");
}

/* Reads /proc/sys/vm/<name> as a number, or -1. */
static long vm_get(const char *name)
{
    char path[64], text[32];
    snprintf(path, sizeof path, "/proc/sys/vm/%s", name);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0)
        return -1;
    text[n] = '\0';
    return strtol(text, NULL, 10);
}

/* Writes /proc/sys/vm/<name>; 0 or the errno. */
static int vm_set(const char *name, const char *value)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/sys/vm/%s", name);
    int fd = open(path, O_WRONLY);
    if (fd < 0)
        return errno;
    int err = write(fd, value, strlen(value)) < 0 ? errno : 0;
    close(fd);
    return err;
}

static void *map(size_t len, int prot, int flags)
{
    return mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
}

/* Runs `f` in a child; returns its exit code (the failed step, 0 if none). */
static int in_child(int (*f)(void))
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(f());
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return 100;
    return WEXITSTATUS(status);
}

static int accounting(void)
{
    long before = committed();
    void *a = map(64 * MIB, PROT_READ | PROT_WRITE, 0);
    if (a == MAP_FAILED || committed() - before != 64 * 1024)
        return 1;
    munmap(a, 64 * MIB);
    if (committed() != before)
        return 2;
    void *r = map(64 * MIB, PROT_READ, 0);
    if (r == MAP_FAILED || committed() != before)
        return 3;
    if (mprotect(r, 64 * MIB, PROT_READ | PROT_WRITE) != 0 || committed() - before != 64 * 1024)
        return 4;
    /* The child's copy of the 64 MiB is committed too, until it exits. */
    int pipefd[2];
    if (pipe(pipefd) != 0)
        return 5;
    pid_t pid = fork();
    if (pid == 0) {
        long seen = committed();
        (void)!write(pipefd[1], &seen, sizeof seen);
        _exit(0);
    }
    long in_child = 0;
    if (pid < 0 || read(pipefd[0], &in_child, sizeof in_child) != sizeof in_child)
        return 6;
    waitpid(pid, NULL, 0);
    if (in_child - committed() < 64 * 1024)
        return 7;
    if (committed() - before != 64 * 1024)
        return 8; /* the child's share went with it */
    return 0;
}

/* Whether brk moves the break up by `len` (musl's sbrk only reads it). On
 * failure Linux's brk returns the old break. */
static int brk_grows(unsigned long len)
{
    long cur = syscall(SYS_brk, 0);
    return syscall(SYS_brk, cur + len) == cur + (long)len;
}

static int never(void)
{
    /* 64 MiB committed here, then a limit of 1% of RAM: below it. */
    void *a = map(64 * MIB, PROT_READ | PROT_WRITE, 0);
    if (a == MAP_FAILED)
        return 1;
    memset(a, 1, 4096);
    if (vm_set("overcommit_ratio", "1") || vm_set("overcommit_memory", "2"))
        return 2;
    int step = 0;
    errno = 0;
    if (map(MIB, PROT_READ | PROT_WRITE, 0) != MAP_FAILED || errno != ENOMEM)
        step = 3;
    else if (map(MIB, PROT_READ | PROT_WRITE, MAP_NORESERVE) != MAP_FAILED || errno != ENOMEM)
        step = 4;
    else if (map(MIB, PROT_READ, 0) == MAP_FAILED)
        step = 5;
    else if (brk_grows(MIB))
        step = 6;
    else {
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        if (pid > 0) {
            waitpid(pid, NULL, 0);
            step = 7;
        } else if (errno != ENOMEM)
            step = 8;
    }
    if (vm_set("overcommit_memory", "0") || vm_set("overcommit_ratio", "50"))
        return 9;
    return step;
}

static int always(void)
{
    long ram_kb = meminfo("MemTotal");
    size_t big = (size_t)ram_kb * 1024 * 2;
    void *p = map(big, PROT_READ | PROT_WRITE, 0);
    int guess_refuses = p == MAP_FAILED && errno == ENOMEM;
    if (p != MAP_FAILED)
        munmap(p, big);
    if (vm_set("overcommit_memory", "1"))
        return 1;
    p = map(big, PROT_READ | PROT_WRITE, 0);
    int made = p != MAP_FAILED;
    if (made)
        munmap(p, big);
    if (vm_set("overcommit_memory", "0"))
        return 2;
    return !guess_refuses ? 3 : !made ? 4 : 0;
}

int main(void)
{
    test_init();
    long start = committed();
    check(vm_get("overcommit_memory") == 0 && vm_get("overcommit_ratio") == 50 && vm_get("overcommit_kbytes") == 0,
          "defaults: overcommit_memory 0, overcommit_ratio 50, overcommit_kbytes 0");
    long total = meminfo("MemTotal"), limit = meminfo("CommitLimit");
    check(total > 0 && labs(limit - total / 2) <= 4, "CommitLimit is overcommit_ratio percent of MemTotal");
    check(start > 0, "Committed_AS is shown");

    int r = in_child(accounting);
    check(r == 0 || r > 2, "a 64 MiB private writable mapping adds 64 MiB to Committed_AS, munmap takes it back");
    check(r == 0 || r < 3 || r > 4, "read-only memory is committed once mprotect makes it writable");
    check(r == 0 || r < 5, "fork commits the child's copy until the child exits");

    r = in_child(never);
    check(r == 0 || r > 3, "overcommit_memory 2: mmap past CommitLimit fails with ENOMEM");
    check(r != 4, "overcommit_memory 2: MAP_NORESERVE does not help");
    check(r != 5, "overcommit_memory 2: a read-only mapping is still made");
    check(r != 6, "overcommit_memory 2: brk past CommitLimit fails with ENOMEM");
    check(r != 7 && r != 8, "overcommit_memory 2: fork past CommitLimit fails with ENOMEM");
    check(r != 9 && r != 2 && r != 1, "the settings can be changed and put back");

    r = in_child(always);
    check(r == 0 || r > 3, "overcommit_memory 0 refuses a mapping larger than RAM");
    check(r == 0 || r != 4, "overcommit_memory 1 makes it");

    int err = vm_set("overcommit_memory", "3");
    check(err == EINVAL && vm_get("overcommit_memory") == 0, "overcommit_memory 3 is refused with EINVAL, the value unchanged");
    int set = vm_set("overcommit_kbytes", "100000") == 0 && vm_get("overcommit_ratio") == 0 &&
              meminfo("CommitLimit") == 100000;
    set = set && vm_set("overcommit_ratio", "50") == 0 && vm_get("overcommit_kbytes") == 0 &&
          labs(meminfo("CommitLimit") - total / 2) <= 4;
    check(set, "overcommit_kbytes sets CommitLimit and zeroes the ratio, and the other way round");
    check(committed() == start, "Committed_AS ends where it started");
    return finish();
}
