/*
 * Shared memory: MAP_SHARED|MAP_ANONYMOUS across fork (both sides see
 * writes; four processes count to 400,000 with atomics), MAP_SHARED and
 * MAP_PRIVATE mappings of a file (a write through a shared mapping is seen
 * by read and by another mapping, a private mapping copies on write, a
 * write() is seen by the mappings), the same across fork, msync, madvise
 * (MADV_DONTNEED: private anonymous pages come back zeroed, file pages with
 * the file's data), mmap's permission checks, and mremap (in place, moved,
 * MREMAP_FIXED, a file mapping moved).
 *
 * usage: t_shm DIR   (the file lives in DIR/t_shm.file, removed at the end)
 */
#include "common.h"

#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define PAGE 4096
#define PROCS 4
#define ROUNDS 100000

/* PROCS processes each add 1 ROUNDS times to *counter. */
static long count_together(_Atomic long *counter)
{
    pid_t pids[PROCS];
    for (int i = 0; i < PROCS; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            for (int r = 0; r < ROUNDS; r++)
                atomic_fetch_add(counter, 1);
            _exit(0);
        }
    }
    for (int i = 0; i < PROCS; i++)
        waitpid(pids[i], NULL, 0);
    return atomic_load(counter);
}

static void test_shared_anonymous(void)
{
    char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (!check(p != MAP_FAILED, "mmap MAP_SHARED|MAP_ANONYMOUS"))
        return;
    check(p[0] == 0 && p[PAGE + 5] == 0, "starts zeroed");
    p[0] = 1;
    pid_t pid = fork();
    if (pid == 0) {
        int saw = p[0] == 1;
        p[1] = 42;
        p[PAGE + 5] = 7;
        _exit(saw ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child sees the parent's write");
    check(p[1] == 42 && p[PAGE + 5] == 7, "the parent sees the child's writes");
    _Atomic long *counter = (_Atomic long *)(p + 64);
    atomic_store(counter, 0);
    check(count_together(counter) == PROCS * ROUNDS, "four processes count to 400000 with atomics");
    check(munmap(p, 2 * PAGE) == 0, "munmap");
}

static void test_file_mappings(void)
{
    int fd = open("t_shm.file", O_RDWR | O_CREAT | O_TRUNC, 0644);
    char page[PAGE];
    memset(page, 'a', sizeof page);
    write(fd, page, PAGE);
    write(fd, page, PAGE);
    char *s = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    char *t = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, PAGE);
    char *pr = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (!check(s != MAP_FAILED && t != MAP_FAILED && pr != MAP_FAILED, "mmap of a file, shared and private"))
        return;
    check(s[0] == 'a' && t[0] == 'a' && pr[PAGE] == 'a', "the mappings show the file's data");
    s[PAGE] = 'S';
    char c = 0;
    pread(fd, &c, 1, PAGE);
    check(c == 'S', "a write through a shared mapping is seen by read");
    check(t[0] == 'S', "and by another mapping of the same page");
    pwrite(fd, "W", 1, 1);
    check(s[1] == 'W', "a write() is seen by a shared mapping");
    check(pr[1] == 'W', "and by a private mapping not yet written");
    pr[0] = 'P';
    pread(fd, &c, 1, 0);
    check(c == 'a' && s[0] == 'a', "a private mapping's write stays private");
    pwrite(fd, "X", 1, 2);
    check(pr[2] != 'X' && s[2] == 'X', "a written private page no longer follows the file");
    pid_t pid = fork();
    if (pid == 0) {
        s[3] = 'C';
        pr[3] = 'Q';
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    pread(fd, &c, 1, 3);
    check(c == 'C' && s[3] == 'C', "a child's write through the shared mapping reaches the file");
    check(pr[3] == 'a', "a child's write to a private mapping stays in the child");
    _Atomic long *counter = (_Atomic long *)(s + 128);
    atomic_store(counter, 0);
    check(count_together(counter) == PROCS * ROUNDS, "four processes count in a mapped file");
    long value = 0;
    pread(fd, &value, sizeof value, 128);
    check(value == PROCS * ROUNDS, "read sees the count");
    check(msync(s, 2 * PAGE, MS_SYNC) == 0, "msync");
    expect_errno(msync(s, PAGE, MS_SYNC | MS_ASYNC), EINVAL, "msync with MS_SYNC|MS_ASYNC");
    check(madvise(s, 2 * PAGE, MADV_DONTNEED) == 0 && s[PAGE] == 'S', "MADV_DONTNEED keeps a shared file's data");
    check(madvise(pr, 2 * PAGE, MADV_DONTNEED) == 0 && pr[0] == 'a', "a private file page comes back from the file");
    munmap(s, 2 * PAGE);
    munmap(t, PAGE);
    munmap(pr, 2 * PAGE);
    expect_errno(msync(s, PAGE, MS_SYNC), ENOMEM, "msync of an unmapped range");
    close(fd);

    int ro = open("t_shm.file", O_RDONLY);
    expect_errno(mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0), EACCES,
                 "a shared writable mapping of a read-only fd");
    char *ok = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
    check(ok != MAP_FAILED && ok[0] == 'a', "a private writable mapping of a read-only fd");
    munmap(ok, PAGE);
    close(ro);
    int wo = open("t_shm.file", O_WRONLY);
    expect_errno(mmap(NULL, PAGE, PROT_READ, MAP_SHARED, wo, 0), EACCES, "a mapping of a write-only fd");
    close(wo);
    expect_errno(mmap(NULL, PAGE, PROT_READ, MAP_SHARED, 12345, 0), EBADF, "a mapping of a bad fd");
    unlink("t_shm.file");
}

static void test_dontneed_anonymous(void)
{
    char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    p[10] = 9;
    check(madvise(p, PAGE, MADV_DONTNEED) == 0 && p[10] == 0, "MADV_DONTNEED: private anonymous pages come back zeroed");
    munmap(p, PAGE);
}

static void test_mremap(void)
{
    /* Three pages, the last one read-only: a neighbouring area that
     * keeps the first two from growing in place. */
    char *p = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *wall = p + 2 * PAGE;
    check(mprotect(wall, PAGE, PROT_READ) == 0, "a neighbouring area");
    p[0] = 'x';
    p[PAGE + 1] = 'y';
    expect_errno(mremap(p, 2 * PAGE, 4 * PAGE, 0), ENOMEM, "mremap growing into a neighbour without MAYMOVE");
    char *q = mremap(p, 2 * PAGE, 4 * PAGE, MREMAP_MAYMOVE);
    check(q != MAP_FAILED && q != p, "mremap MAYMOVE moves it");
    check(q[0] == 'x' && q[PAGE + 1] == 'y' && q[3 * PAGE] == 0, "the data moved, the new part is zeroed");
    check(mremap(q, 4 * PAGE, PAGE, 0) == q && q[0] == 'x', "mremap shrinks in place");
    munmap(wall, PAGE);
    char *r = mremap(q, PAGE, 3 * PAGE, 0);
    check(r == q, "mremap grows in place when there is room");
    r[2 * PAGE] = 'z';
    char *target = mmap(NULL, 3 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *f = mremap(r, 3 * PAGE, 3 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, target);
    check(f == target && f[0] == 'x' && f[2 * PAGE] == 'z', "MREMAP_FIXED moves it over another mapping");
    expect_errno(mremap(f + 1, PAGE, PAGE, 0), EINVAL, "mremap of an unaligned address");
    munmap(f, 3 * PAGE);

    int fd = open("t_shm.remap", O_RDWR | O_CREAT | O_TRUNC, 0644);
    ftruncate(fd, 2 * PAGE);
    char *blocker = mmap(NULL, 2 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *s = mmap(blocker, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, PAGE);
    s[5] = 'F';
    char *m = mremap(s, PAGE, PAGE * 2, MREMAP_MAYMOVE);
    char c = 0;
    check(m != MAP_FAILED && m[5] == 'F', "a moved file mapping keeps its data");
    m[6] = 'G';
    pread(fd, &c, 1, PAGE + 6);
    check(c == 'G', "and still writes the same file page");
    munmap(m, 2 * PAGE);
    munmap(blocker + PAGE, PAGE);
    close(fd);
    unlink("t_shm.remap");
}

int main(int argc, char **argv)
{
    test_init();
    if (argc < 2 || chdir(argv[1]) != 0) {
        fprintf(stderr, "usage: t_shm DIR\n");
        return 2;
    }
    test_shared_anonymous();
    test_file_mappings();
    test_dontneed_anonymous();
    test_mremap();
    return finish();
}
