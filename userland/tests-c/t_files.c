/*
 * Files and directories on the root file system: openat/read/lseek/fstat of
 * tests/hello, newfstatat of a directory, a sorted getdents64 listing,
 * ENOENT/EISDIR/ENOTDIR, getcwd/chdir, /dev/null, and a file offset shared
 * by four processes (each read moves it atomically: Linux's f_pos_lock),
 * and posix_fadvise's checks.
 *
 * usage: t_files [root]   (default "/"; under qemu-aarch64 pass the
 *        build/rootfs directory so that tests/hello exists there too)
 */
#include "common.h"

#include <dirent.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/syscall.h>

struct linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_regular_file(void)
{
    int fd = openat(AT_FDCWD, "tests/hello", O_RDONLY | O_CLOEXEC);
    if (!check(fd >= 0, "openat tests/hello"))
        return;
    unsigned char magic[4];
    check(read(fd, magic, 4) == 4 && memcmp(magic, "\177ELF", 4) == 0,
          "read gives the ELF magic");
    struct stat st;
    check(fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 4096,
          "fstat: regular file larger than a page");
    check(lseek(fd, 0, SEEK_END) == st.st_size, "lseek(SEEK_END) is the size");
    check(read(fd, magic, 1) == 0, "read at the end gives 0");
    check(lseek(fd, 1, SEEK_SET) == 1 && read(fd, magic, 3) == 3 &&
              memcmp(magic, "ELF", 3) == 0,
          "lseek(SEEK_SET, 1) then read");
    check(lseek(fd, -2, SEEK_CUR) == 2, "lseek(SEEK_CUR, -2)");
    expect_errno(lseek(fd, -100, SEEK_SET), EINVAL, "lseek before the start");
    check(close(fd) == 0, "close");
    expect_errno(close(fd), EBADF, "close twice");

    int dir = open("tests", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rel = openat(dir, "hello", O_RDONLY | O_CLOEXEC);
    check(dir >= 0 && rel >= 0, "openat relative to a directory fd");
    close(rel);
    close(dir);
}

static void test_directory(void)
{
    struct stat st;
    check(fstatat(AT_FDCWD, "tests", &st, 0) == 0 && S_ISDIR(st.st_mode),
          "newfstatat: tests is a directory");
    expect_errno(open("tests/does-not-exist", O_RDONLY), ENOENT, "open of a missing file");
    expect_errno(fstatat(AT_FDCWD, "no/such/dir", &st, 0), ENOENT, "stat of a missing path");
    expect_errno(open("tests/hello", O_RDONLY | O_DIRECTORY), ENOTDIR,
                 "O_DIRECTORY on a file");
    expect_errno(open("tests/hello/", O_RDONLY), ENOTDIR, "a file named with a trailing slash");
    expect_errno(open("tests/hello/x", O_RDONLY), ENOTDIR, "a path through a file");
    expect_errno(open("missing/../tests/hello", O_RDONLY), ENOENT, "a path through a missing directory");
    expect_errno(fstatat(AT_FDCWD, "tests/hello/..", &st, 0), ENOTDIR, "stat of a file's ..");
    int through = open("tests/../tests/./hello", O_RDONLY);
    check(through >= 0, "a path through real directories opens");
    if (through >= 0)
        close(through);

    int dir = open("tests", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (!check(dir >= 0, "open tests/ as a directory"))
        return;
    char byte;
    expect_errno(read(dir, &byte, 1), EISDIR, "read of a directory");

    static char buf[8192];
    static char names[512][64];
    static char *sorted[512];
    int count = 0;
    long n;
    while ((n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
        for (long off = 0; off < n;) {
            struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
            if (count < 512) {
                snprintf(names[count], sizeof names[count], "%s", d->d_name);
                sorted[count] = names[count];
                count++;
            }
            off += d->d_reclen;
        }
    }
    check(n == 0, "getdents64 ends with 0");
    close(dir);
    qsort(sorted, (size_t)count, sizeof sorted[0], compare_names);
    const char *expected[] = { ".", "..", "hello", "t_files" };
    int all = 1;
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        int found = bsearch(&expected[i], sorted, (size_t)count, sizeof sorted[0],
                            compare_names) != NULL;
        printf("listing has %s: %s\n", expected[i], found ? "yes" : "no");
        all &= found;
    }
    if (!all)
        fail("directory listing");
    int in_order = 1;
    for (int i = 1; i < count; i++)
        in_order &= strcmp(sorted[i - 1], sorted[i]) < 0;
    check(in_order, "names are unique");
}

static void test_cwd(void)
{
    char before[4096], inside[4096], after[4096];
    check(getcwd(before, sizeof before) != NULL, "getcwd");
    check(chdir("tests") == 0, "chdir tests");
    check(getcwd(inside, sizeof inside) != NULL && strlen(inside) >= 6 &&
              strcmp(inside + strlen(inside) - 6, "/tests") == 0,
          "getcwd ends in /tests");
    check(access("hello", R_OK) == 0, "relative path resolves in the new cwd");
    check(chdir("..") == 0 && getcwd(after, sizeof after) != NULL &&
              strcmp(before, after) == 0,
          "chdir .. returns");
    expect_errno(chdir("tests/hello"), ENOTDIR, "chdir to a file");
    char tiny[1];
    expect_errno(syscall(SYS_getcwd, tiny, sizeof tiny), ERANGE, "getcwd into a 1-byte buffer");
}

static void test_dev_null(void)
{
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (!check(fd >= 0, "open /dev/null"))
        return;
    char buf[16];
    check(read(fd, buf, sizeof buf) == 0, "/dev/null read gives EOF");
    check(write(fd, "discarded", 9) == 9, "/dev/null write succeeds");
    close(fd);
}

/*
 * Four processes read one open file (4-byte records numbered 0..N-1) four
 * bytes at a time through the offset they share: every record is read by
 * exactly one of them, because a read takes and advances the offset as one
 * step.
 */
static void test_shared_offset(void)
{
    enum { RECORDS = 16384, READERS = 4 };
    char name[] = "/tmp/t_files.XXXXXX";
    int fd = mkstemp(name);
    if (!check(fd >= 0, "mkstemp in /tmp"))
        return;
    unlink(name);
    static uint32_t records[RECORDS];
    for (uint32_t i = 0; i < RECORDS; i++)
        records[i] = i;
    check(write(fd, records, sizeof records) == (ssize_t)sizeof records, "write the records");
    lseek(fd, 0, SEEK_SET);
    uint32_t *seen = mmap(NULL, RECORDS * sizeof *seen, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (!check(seen != MAP_FAILED, "mmap a shared tally"))
        return;
    for (int r = 0; r < READERS; r++) {
        if (fork() == 0) {
            uint32_t v;
            while (read(fd, &v, sizeof v) == sizeof v)
                if (v < RECORDS)
                    __atomic_fetch_add(&seen[v], 1, __ATOMIC_RELAXED);
            _exit(0);
        }
    }
    for (int r = 0; r < READERS; r++)
        wait(NULL);
    int once = 1;
    for (uint32_t i = 0; i < RECORDS; i++)
        once &= seen[i] == 1;
    check(once, "shared offset: each record read by exactly one reader");
    munmap(seen, RECORDS * sizeof *seen);
    close(fd);
}

static void test_fadvise(void)
{
    int fd = open("tests/hello", O_RDONLY | O_CLOEXEC);
    int p[2];
    if (!check(fd >= 0 && pipe(p) == 0, "open a file and a pipe"))
        return;
    check(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0, "fadvise DONTNEED on a file");
    check(posix_fadvise(fd, 0, 4096, POSIX_FADV_SEQUENTIAL) == 0, "fadvise SEQUENTIAL on a file");
    check(posix_fadvise(p[0], 0, 0, POSIX_FADV_NORMAL) == ESPIPE, "fadvise on a pipe: ESPIPE");
    check(posix_fadvise(fd, 0, 0, 99) == EINVAL, "fadvise with an unknown advice: EINVAL");
    check(posix_fadvise(fd, 0, -1, POSIX_FADV_NORMAL) == EINVAL, "fadvise with a negative length: EINVAL");
    check(posix_fadvise(-1, 0, 0, POSIX_FADV_NORMAL) == EBADF, "fadvise on a bad fd: EBADF");
    close(p[0]);
    close(p[1]);
    close(fd);
}

int main(int argc, char **argv)
{
    test_init();
    const char *root = argc > 1 ? argv[1] : "/";
    if (chdir(root) != 0) {
        printf("FAIL: chdir %s: %s\n", root, errno_name(errno));
        return 1;
    }
    test_regular_file();
    test_directory();
    test_cwd();
    test_dev_null();
    test_shared_offset();
    test_fadvise();
    return finish();
}
