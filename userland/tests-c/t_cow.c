/*
 * Copy-on-write after fork: N private anonymous pages filled before fork;
 * the child writes one page and must see its own data, the parent must keep
 * the original, and neither may see any other page change.
 * Code written at run time into a private RWX page runs once the program has
 * made it visible (__builtin___clear_cache: cache maintenance from EL0, and
 * CTR_EL0 read there); after fork the child rewrites the code, so its copy
 * of the page runs its code and the parent's keeps running the parent's.
 *
 * usage: t_cow [--meminfo]
 * With --meminfo it also prints MemFree (in pages) before fork, after fork and
 * after the child's one-page write, for a harness that checks the drop is
 * about one page rather than N. Those numbers vary, so only that mode
 * prints them.
 */
#include "common.h"

#include <sys/mman.h>

#define PAGES 64
#define WRITTEN_PAGE 17

static size_t page_size;

static unsigned char pattern(size_t page, size_t offset)
{
    return (unsigned char)(page * 131 + offset * 7 + 3);
}

static void fill(unsigned char *area)
{
    for (size_t p = 0; p < PAGES; p++)
        for (size_t i = 0; i < page_size; i++)
            area[p * page_size + i] = pattern(p, i);
}

static int page_is_original(const unsigned char *area, size_t p)
{
    for (size_t i = 0; i < page_size; i++)
        if (area[p * page_size + i] != pattern(p, i))
            return 0;
    return 1;
}

static int others_intact(const unsigned char *area)
{
    for (size_t p = 0; p < PAGES; p++)
        if (p != WRITTEN_PAGE && !page_is_original(area, p))
            return 0;
    return 1;
}

static int page_is_byte(const unsigned char *area, size_t p, unsigned char b)
{
    for (size_t i = 0; i < page_size; i++)
        if (area[p * page_size + i] != b)
            return 0;
    return 1;
}

/* What the child reports through the pipe. */
struct child_report {
    int sees_own_write;
    int others_intact;
    long free_after_write;
};

static int read_full(int fd, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, (char *)buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        got += (size_t)n;
    }
    return 1;
}

/* `mov w0, #value; ret` */
static void emit_return(uint32_t *code, unsigned value)
{
    code[0] = 0x52800000u | (value << 5);
    code[1] = 0xd65f03c0u;
    __builtin___clear_cache((char *)code, (char *)(code + 2));
}

static void test_runtime_code(void)
{
    uint32_t *code = mmap(NULL, page_size, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!check(code != MAP_FAILED, "mmap of an RWX page"))
        return;
    int (*fn)(void) = (int (*)(void))(uintptr_t)code;
    emit_return(code, 42);
    check(fn() == 42, "code written at run time runs");
    emit_return(code, 43);
    check(fn() == 43, "rewritten code runs");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        emit_return(code, 7);
        _exit(fn() == 7 ? 0 : 1);
    }
    int status;
    check(wait_child(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "the child's copy of the page runs the child's code");
    check(fn() == 43, "the parent's page still runs the parent's code");
    munmap(code, page_size);
}

int main(int argc, char **argv)
{
    test_init();
    int meminfo_mode = argc > 1 && strcmp(argv[1], "--meminfo") == 0;
    page_size = (size_t)sysconf(_SC_PAGESIZE);

    unsigned char *area = mmap(NULL, PAGES * page_size, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED) {
        printf("FAIL: mmap: %s\n", errno_name(errno));
        return 1;
    }
    fill(area);

    int go[2], report[2];
    if (pipe2(go, O_CLOEXEC) || pipe2(report, O_CLOEXEC)) {
        printf("FAIL: pipe2: %s\n", errno_name(errno));
        return 1;
    }

    long free_before = meminfo_free_pages();
    pid_t pid = fork();
    if (pid < 0) {
        printf("FAIL: fork: %s\n", errno_name(errno));
        return 1;
    }
    if (pid == 0) {
        struct child_report r;
        char token;
        close(go[1]);
        close(report[0]);
        /* Wait until the parent has sampled MemFree after the fork. */
        if (read(go[0], &token, 1) != 1)
            _exit(2);
        memset(area + WRITTEN_PAGE * page_size, 0xa5, page_size);
        r.free_after_write = meminfo_free_pages();
        r.sees_own_write = page_is_byte(area, WRITTEN_PAGE, 0xa5);
        r.others_intact = others_intact(area);
        if (write(report[1], &r, sizeof r) != (ssize_t)sizeof r)
            _exit(2);
        /* Stay alive until the parent has checked its copy. */
        if (read(go[0], &token, 1) < 0)
            _exit(2);
        _exit(0);
    }
    close(go[0]);
    close(report[1]);

    long free_after_fork = meminfo_free_pages();
    struct child_report r = { 0, 0, -1 };
    int reported = write(go[1], "g", 1) == 1 && read_full(report[0], &r, sizeof r);
    check(reported, "child reported");
    check(r.sees_own_write, "child sees its own write");
    check(r.others_intact, "child sees other pages intact");
    check(page_is_original(area, WRITTEN_PAGE), "parent keeps the original page");
    check(others_intact(area), "parent sees other pages intact");
    close(go[1]);

    int status;
    check(wait_child(pid, &status, 0) == pid && WIFEXITED(status) &&
              WEXITSTATUS(status) == 0,
          "child exited cleanly");

    /* After the child is gone the parent owns every page alone: writing must work. */
    memset(area + WRITTEN_PAGE * page_size, 0x5a, page_size);
    check(page_is_byte(area, WRITTEN_PAGE, 0x5a) && others_intact(area),
          "parent writes after child exit");

    test_runtime_code();

    if (meminfo_mode) {
        check(free_before >= 0 && free_after_fork >= 0 && r.free_after_write >= 0,
              "meminfo readable");
        printf("cow: free pages before fork=%ld after fork=%ld after child write=%ld\n",
               free_before, free_after_fork, r.free_after_write);
    }
    return finish();
}
