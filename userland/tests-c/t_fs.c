/*
 * Writable files: create/write/read/append/truncate, holes, rename over a
 * file and across directories, RENAME_NOREPLACE/EXCHANGE, unlink while
 * open, hard and symbolic links (ELOOP, O_NOFOLLOW, AT_SYMLINK_NOFOLLOW),
 * directory errors (EEXIST, ENOTEMPTY, EISDIR, ENOTDIR), EXDEV across
 * mounts, permission bits and the umask, chown, timestamps, a listing in
 * any order, getcwd of a removed directory, O_APPEND from two processes,
 * flock and POSIX record locks between processes, and a large file
 * written and read back with a checksum.
 *
 * usage: t_fs DIR [MiB]   works in a fresh DIR/t_fs.d, removed at the end;
 *        MiB is the size of the large file (default 100).
 */
#include "common.h"

#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#define RENAME_EXCHANGE 2
#endif

static int renameat2_(const char *a, const char *b, unsigned flags)
{
    return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, flags);
}

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* The file's text (at most 255 bytes), or "" on error. */
static const char *read_text(const char *path)
{
    static char buf[256];
    buf[0] = '\0';
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return buf;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = '\0';
    close(fd);
    return buf;
}

static void test_create_write_read(void)
{
    int fd = open("a", O_RDWR | O_CREAT | O_EXCL, 0644);
    check(fd >= 0, "open O_CREAT|O_EXCL makes a file");
    check(write(fd, "hello", 5) == 5, "write 5 bytes");
    char buf[16] = {0};
    check(pread(fd, buf, sizeof buf, 0) == 5 && memcmp(buf, "hello", 5) == 0, "pread reads them back");
    check(lseek(fd, 0, SEEK_CUR) == 5, "the position moved by 5");
    check(pwrite(fd, "J", 1, 0) == 1 && lseek(fd, 0, SEEK_CUR) == 5, "pwrite leaves the position");
    check(strcmp(read_text("a"), "Jello") == 0, "the file reads Jello");
    close(fd);
    expect_errno(open("a", O_RDWR | O_CREAT | O_EXCL, 0644), EEXIST, "O_CREAT|O_EXCL on an existing file");
    fd = open("a", O_WRONLY | O_APPEND);
    check(write(fd, " world", 6) == 6, "O_APPEND write");
    check(lseek(fd, 0, SEEK_CUR) == 11, "O_APPEND leaves the position at the end");
    close(fd);
    check(strcmp(read_text("a"), "Jello world") == 0, "appended at the end");
    fd = open("a", O_WRONLY | O_TRUNC);
    struct stat st;
    check(fd >= 0 && fstat(fd, &st) == 0 && st.st_size == 0, "O_TRUNC empties the file");
    close(fd);
    expect_errno(open("a/", O_RDONLY), ENOTDIR, "a file named with a trailing slash");
    expect_errno(open("missing/x", O_RDWR | O_CREAT, 0644), ENOENT, "O_CREAT in a missing directory");
    expect_errno(open("newdir/", O_RDWR | O_CREAT, 0644), EISDIR, "O_CREAT of a name with a trailing slash");
}

static void test_holes_and_truncate(void)
{
    int fd = open("holes", O_RDWR | O_CREAT | O_TRUNC, 0644);
    check(pwrite(fd, "x", 1, 10000) == 1, "write past the end");
    struct stat st;
    fstat(fd, &st);
    check(st.st_size == 10001, "size is offset + 1");
    char buf[10001];
    memset(buf, 'z', sizeof buf);
    check(pread(fd, buf, sizeof buf, 0) == 10001, "read the whole file");
    int zeros = 1;
    for (int i = 0; i < 10000; i++)
        zeros &= buf[i] == 0;
    check(zeros && buf[10000] == 'x', "the hole reads as zeros");
    check(ftruncate(fd, 3) == 0 && fstat(fd, &st) == 0 && st.st_size == 3, "ftruncate shrinks");
    check(ftruncate(fd, 8192) == 0 && pread(fd, buf, 8192, 0) == 8192 && buf[4000] == 0 && buf[1] == 0,
          "ftruncate grows with zeros");
    check(truncate("holes", 0) == 0 && stat("holes", &st) == 0 && st.st_size == 0, "truncate by name");
    check(lseek(fd, 0, SEEK_END) == 0, "SEEK_END of an empty file");
    expect_errno(ftruncate(fd, -1), EINVAL, "ftruncate to a negative length");
    close(fd);
    fd = open("holes", O_RDONLY);
    expect_errno(ftruncate(fd, 0), EINVAL, "ftruncate of a read-only fd");
    close(fd);
    expect_errno(truncate(".", 0), EISDIR, "truncate of a directory");
    fd = open("holes", O_RDWR);
    check(fallocate(fd, 0, 0, 20000) == 0 && fstat(fd, &st) == 0 && st.st_size == 20000,
          "fallocate grows the file");
    check(st.st_blocks >= 40, "fallocate allocates blocks");
    close(fd);
}

static void test_rename(void)
{
    write_file("r1", "one");
    write_file("r2", "two");
    check(rename("r1", "r2") == 0, "rename over an existing file");
    check(strcmp(read_text("r2"), "one") == 0 && access("r1", F_OK) == -1, "the new name has the old file");
    mkdir("d1", 0755);
    mkdir("d2", 0755);
    check(rename("r2", "d1/moved") == 0 && strcmp(read_text("d1/moved"), "one") == 0,
          "rename into another directory");
    check(rename("d1", "d2/d1") == 0 && strcmp(read_text("d2/d1/moved"), "one") == 0,
          "rename a directory with its contents");
    expect_errno(rename("d2", "d2/d1/inside"), EINVAL, "rename a directory into itself");
    write_file("r3", "three");
    expect_errno(renameat2_("r3", "d2/d1/moved", RENAME_NOREPLACE), EEXIST, "RENAME_NOREPLACE over a file");
    check(renameat2_("r3", "d2/d1/moved", RENAME_EXCHANGE) == 0 && strcmp(read_text("r3"), "one") == 0 &&
              strcmp(read_text("d2/d1/moved"), "three") == 0,
          "RENAME_EXCHANGE swaps two files");
    expect_errno(rename("r3", "d2"), EISDIR, "rename a file over a directory");
    expect_errno(rename("d2", "r3"), ENOTDIR, "rename a directory over a file");
    expect_errno(rename("missing", "x"), ENOENT, "rename of a missing name");
    mkdir("empty", 0755);
    check(rename("d2", "empty") == 0 && access("empty/d1/moved", F_OK) == 0, "rename over an empty directory");
    mkdir("d3", 0755);
    expect_errno(rename("d3", "empty"), ENOTEMPTY, "rename over a directory with entries");
    mkdir("d3/inner", 0755);
    expect_errno(rename("d3/inner", "d3"), ENOTEMPTY, "rename a directory over its own parent");
    expect_errno(rename("d3", "d3/inner/x"), EINVAL, "rename a directory below itself");
    rmdir("d3/inner");
}

static void test_unlink_while_open(void)
{
    write_file("open-then-gone", "still here");
    int fd = open("open-then-gone", O_RDWR);
    check(unlink("open-then-gone") == 0, "unlink an open file");
    expect_errno(open("open-then-gone", O_RDONLY), ENOENT, "the name is gone");
    char buf[16] = {0};
    check(pread(fd, buf, sizeof buf, 0) == 10 && strcmp(buf, "still here") == 0, "the open file reads on");
    check(pwrite(fd, "S", 1, 0) == 1, "and takes writes");
    struct stat st;
    check(fstat(fd, &st) == 0 && st.st_nlink == 0, "fstat shows no links");
    close(fd);
}

static void test_links(void)
{
    write_file("orig", "data");
    struct stat a, b;
    check(link("orig", "hard") == 0, "link");
    check(stat("orig", &a) == 0 && stat("hard", &b) == 0 && a.st_ino == b.st_ino && a.st_nlink == 2,
          "both names, one inode, two links");
    unlink("orig");
    check(stat("hard", &b) == 0 && b.st_nlink == 1 && strcmp(read_text("hard"), "data") == 0,
          "after unlink one link is left with the data");
    uint8_t stx[256] = {0};
    uint32_t mask = 0, nlink = 0;
    uint16_t mode = 0;
    uint64_t size = 0, ino = 0;
    long r = syscall(SYS_statx, AT_FDCWD, "hard", 0, 0x7ffu, stx);
    memcpy(&mask, stx, 4);
    memcpy(&nlink, stx + 16, 4);
    memcpy(&mode, stx + 28, 2);
    memcpy(&ino, stx + 32, 8);
    memcpy(&size, stx + 40, 8);
    check(r == 0 && (mask & 0x7ff) == 0x7ff && nlink == 1 && S_ISREG(mode) && ino == b.st_ino && size == 4,
          "statx gives the basic fields");
    expect_errno(syscall(SYS_statx, AT_FDCWD, "hard", 0, 0x80000000u, stx), EINVAL, "statx with a reserved mask bit");
    expect_errno(link("hard", "hard"), EEXIST, "link to an existing name");
    expect_errno(link("d3", "d3link"), EPERM, "link of a directory");
    check(symlink("hard", "soft") == 0, "symlink");
    char target[64] = {0};
    check(readlink("soft", target, sizeof target) == 4 && strcmp(target, "hard") == 0, "readlink");
    check(stat("soft", &a) == 0 && S_ISREG(a.st_mode) && lstat("soft", &b) == 0 && S_ISLNK(b.st_mode) &&
              b.st_size == 4,
          "stat follows, lstat does not");
    check(strcmp(read_text("soft"), "data") == 0, "open follows the link");
    int hfd = open("hard", O_RDONLY);
    char fdlink[64], shown[4096];
    snprintf(fdlink, sizeof fdlink, "/proc/self/fd/%d", hfd);
    ssize_t shown_len = readlink(fdlink, shown, sizeof shown - 1);
    shown[shown_len > 0 ? shown_len : 0] = '\0';
    check(shown_len > 12 && strcmp(shown + shown_len - 12, "/t_fs.d/hard") == 0, "/proc/self/fd names the open file");
    close(hfd);
    expect_errno(open("soft", O_RDONLY | O_NOFOLLOW), ELOOP, "O_NOFOLLOW on a link");
    expect_errno(readlink("hard", target, sizeof target), EINVAL, "readlink of a file");
    symlink("loop2", "loop1");
    symlink("loop1", "loop2");
    expect_errno(open("loop1", O_RDONLY), ELOOP, "a loop of links");
    symlink("nowhere", "dangling");
    expect_errno(open("dangling", O_RDONLY), ENOENT, "a dangling link");
    check(symlink("d3", "dirlink") == 0 && mkdir("d3/sub", 0755) == 0 && access("dirlink/sub", F_OK) == 0,
          "a path through a link to a directory");
    check(fstatat(AT_FDCWD, "dirlink", &a, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(a.st_mode),
          "AT_SYMLINK_NOFOLLOW");
    expect_errno(unlink("dirlink/"), ENOTDIR, "unlink of a link with a slash");
    check(unlink("dirlink") == 0 && access("d3/sub", F_OK) == 0, "unlink removes the link only");
    int dfd = open("d3", O_RDONLY | O_DIRECTORY);
    check(fstatat(dfd, "", &a, AT_EMPTY_PATH) == 0 && S_ISDIR(a.st_mode), "AT_EMPTY_PATH");
    check(fstatat(dfd, "sub", &a, 0) == 0 && S_ISDIR(a.st_mode), "a name relative to a directory fd");
    check(mkdirat(dfd, "sub2", 0755) == 0 && access("d3/sub2", F_OK) == 0, "mkdirat relative to an fd");
    expect_errno(openat(dfd, "sub", O_RDONLY | O_CREAT, 0644), EISDIR, "O_CREAT of a directory");
    expect_errno(openat(dfd, "sub", O_RDONLY | O_DIRECTORY | O_CREAT, 0644), EINVAL, "O_CREAT|O_DIRECTORY");
    int ffd = open("hard", O_RDONLY);
    expect_errno(openat(ffd, "x", O_RDONLY), ENOTDIR, "openat relative to a file fd");
    close(ffd);
    close(dfd);
}

static void test_directories(void)
{
    expect_errno(mkdir("d3", 0755), EEXIST, "mkdir of an existing name");
    expect_errno(mkdir("missing/x", 0755), ENOENT, "mkdir in a missing directory");
    expect_errno(mkdir("hard/x", 0755), ENOTDIR, "mkdir under a file");
    expect_errno(rmdir("d3"), ENOTEMPTY, "rmdir of a directory with entries");
    expect_errno(rmdir("hard"), ENOTDIR, "rmdir of a file");
    expect_errno(unlink("d3"), EISDIR, "unlink of a directory");
    expect_errno(open("d3", O_WRONLY), EISDIR, "open a directory for writing");
    expect_errno(rmdir("d3/sub/."), EINVAL, "rmdir of .");
    struct stat st;
    stat("d3", &st);
    check(st.st_nlink == 4, "a directory's links: 2 + subdirectories");
    check(rmdir("d3/sub") == 0 && rmdir("d3/sub2") == 0 && stat("d3", &st) == 0 && st.st_nlink == 2,
          "rmdir drops them");
    check(rmdir("d3") == 0 && access("d3", F_OK) == -1, "rmdir of an empty directory");
    expect_errno(rename("hard", "/dev/t_fs_x"), EXDEV, "rename across mounts");
    expect_errno(link("hard", "/dev/t_fs_x"), EXDEV, "link across mounts");
}

static void test_modes_and_times(void)
{
    umask(022);
    int fd = open("m", O_RDWR | O_CREAT, 0666);
    struct stat st;
    fstat(fd, &st);
    check((st.st_mode & 07777) == 0644, "the umask is applied");
    mkdir("md", 0777);
    stat("md", &st);
    check((st.st_mode & 07777) == 0755, "the umask is applied to mkdir");
    check(fchmod(fd, 0600) == 0 && fstat(fd, &st) == 0 && (st.st_mode & 07777) == 0600, "fchmod");
    check(chmod("m", 04755) == 0 && stat("m", &st) == 0 && (st.st_mode & 07777) == 04755, "chmod with set-uid");
    check(chown("m", 1234, 5678) == 0 && stat("m", &st) == 0 && st.st_uid == 1234 && st.st_gid == 5678,
          "chown is visible");
    check((st.st_mode & 04000) == 0, "chown clears set-uid");
    check(fchown(fd, 0, 0) == 0 && fstat(fd, &st) == 0 && st.st_uid == 0, "fchown");
    struct timespec times[2] = {{1000000000, 5}, {1100000000, 7}};
    check(utimensat(AT_FDCWD, "m", times, 0) == 0 && stat("m", &st) == 0 && st.st_atim.tv_sec == 1000000000 &&
              st.st_mtim.tv_sec == 1100000000 && st.st_mtim.tv_nsec == 7,
          "utimensat sets both times");
    struct timespec before = st.st_mtim;
    check(write(fd, "x", 1) == 1 && fstat(fd, &st) == 0 &&
              (st.st_mtim.tv_sec != before.tv_sec || st.st_mtim.tv_nsec != before.tv_nsec),
          "a write moves the modification time");
    times[0].tv_nsec = UTIME_OMIT;
    times[1].tv_nsec = UTIME_NOW;
    check(utimensat(AT_FDCWD, "m", times, 0) == 0 && stat("m", &st) == 0 && st.st_atim.tv_sec == 1000000000,
          "UTIME_OMIT keeps a time");
    check(access("m", X_OK) == 0 && chmod("m", 0644) == 0, "access X_OK with an execute bit");
    expect_errno(access("m", X_OK), EACCES, "access X_OK without one");
    close(fd);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_listing(void)
{
    mkdir("list", 0755);
    char name[64];
    for (int i = 19; i >= 0; i--) {
        snprintf(name, sizeof name, "list/f%02d", i);
        write_file(name, "");
    }
    unlink("list/f07");
    DIR *d = opendir("list");
    char *names[32];
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL && n < 32)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            names[n++] = strdup(e->d_name);
    if (d)
        closedir(d);
    qsort(names, n, sizeof names[0], compare_names);
    int ok = n == 19;
    for (int i = 0, want = 0; ok && i < n; i++, want++) {
        if (want == 7)
            want++;
        snprintf(name, sizeof name, "f%02d", want);
        ok = strcmp(names[i], name) == 0;
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    check(ok, "the listing has every file once (sorted here)");
}

static void test_cwd(void)
{
    char top[4096], buf[4096];
    getcwd(top, sizeof top);
    mkdir("cwd", 0755);
    mkdir("cwd/inner", 0755);
    symlink("cwd/inner", "innerlink");
    check(chdir("innerlink") == 0 && chdir("..") == 0 && getcwd(buf, sizeof buf) &&
              strlen(buf) > 4 && strcmp(buf + strlen(buf) - 4, "/cwd") == 0,
          ".. of a directory reached by a link is its real parent");
    check(chdir("inner") == 0 && rmdir("../inner") == 0, "rmdir of the current directory");
    expect_errno(getcwd(buf, sizeof buf) == NULL ? -1 : 0, ENOENT, "getcwd after it was removed");
    expect_errno(open("new", O_RDWR | O_CREAT, 0644), ENOENT, "create in a removed directory");
    chdir(top);
}

/* Two processes append 16-byte records at once: none is lost or torn. */
static void test_append_two_processes(void)
{
    int fd = open("appended", O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    pid_t pid = fork();
    char rec[17];
    for (int i = 0; i < 1000; i++) {
        snprintf(rec, sizeof rec, "%c%014d\n", pid == 0 ? 'c' : 'p', i);
        if (write(fd, rec, 16) != 16)
            break;
    }
    if (pid == 0)
        _exit(0);
    waitpid(pid, NULL, 0);
    close(fd);
    struct stat st;
    stat("appended", &st);
    check(st.st_size == 32000, "O_APPEND from two processes: every record there");
    fd = open("appended", O_RDONLY);
    static char all[32000];
    int ok = read(fd, all, sizeof all) == 32000;
    int next[2] = {0, 0};
    for (int i = 0; ok && i < 2000; i++) {
        char *r = all + 16 * i;
        int who = r[0] == 'c';
        ok = (r[0] == 'c' || r[0] == 'p') && r[15] == '\n' && atoi(r + 1) == next[who]++;
    }
    close(fd);
    check(ok, "records whole and in each writer's order");
}

/* Runs fn in a child; its exit status (fn's result) comes back. */
static int in_child(int (*fn)(void))
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(fn());
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int child_flock_nb(void)
{
    int fd = open("locked", O_RDWR);
    int r = flock(fd, LOCK_EX | LOCK_NB) == -1 && errno == EWOULDBLOCK;
    r |= (flock(fd, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK) << 1;
    return r;
}

static int inherited_fd = -1;

static int child_flock_inherited(void)
{
    return flock(inherited_fd, LOCK_EX | LOCK_NB) == 0;
}

/* Waits for the lock the parent drops after writing "released". */
static int child_flock_wait(void)
{
    int fd = open("locked", O_RDWR);
    if (flock(fd, LOCK_EX) != 0)
        return 0;
    char buf[16] = {0};
    return pread(fd, buf, 8, 0) == 8 && memcmp(buf, "released", 8) == 0;
}

static int child_posix(void)
{
    int fd = open("locked", O_RDWR);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 50, .l_len = 10};
    int r = fcntl(fd, F_SETLK, &fl) == -1 && (errno == EAGAIN || errno == EACCES);
    struct flock q = fl;
    r |= (fcntl(fd, F_GETLK, &q) == 0 && q.l_type == F_WRLCK && q.l_start == 0 && q.l_len == 100 &&
          q.l_pid == getppid())
         << 1;
    struct flock other = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 100, .l_len = 100};
    r |= (fcntl(fd, F_SETLK, &other) == 0) << 2;
    struct flock read_lock = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    r |= (fcntl(fd, F_SETLK, &read_lock) == -1) << 3;
    return r;
}

/* Blocks in F_SETLKW until the parent's lock goes with its close. */
static int child_posix_wait(void)
{
    int fd = open("locked", O_RDWR);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    if (fcntl(fd, F_SETLKW, &fl) != 0)
        return 0;
    char buf[16] = {0};
    return pread(fd, buf, 8, 0) == 8 && memcmp(buf, "closed!!", 8) == 0;
}

static void test_locks(void)
{
    int fd = open("locked", O_RDWR | O_CREAT | O_TRUNC, 0644);
    check(flock(fd, LOCK_EX) == 0, "flock LOCK_EX");
    check(in_child(child_flock_nb) == 3, "another open file: LOCK_EX and LOCK_SH would block");
    inherited_fd = fd;
    check(in_child(child_flock_inherited) == 1, "the same open file (inherited) holds it too");
    check(flock(fd, LOCK_EX) == 0, "still locked by the parent");
    pid_t pid = fork();
    if (pid == 0)
        _exit(child_flock_wait());
    sleep_ms(100);
    pwrite(fd, "released", 8, 0);
    check(flock(fd, LOCK_UN) == 0, "LOCK_UN");
    int status = 0;
    waitpid(pid, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 1, "a waiter gets the lock after LOCK_UN");
    close(fd);

    fd = open("locked", O_RDWR);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 100};
    check(fcntl(fd, F_SETLK, &fl) == 0, "F_SETLK of bytes 0-99");
    int r = in_child(child_posix);
    check((r & 1) != 0, "another process: an overlapping F_SETLK is refused");
    check((r & 2) != 0, "F_GETLK names the lock and its owner");
    check((r & 4) != 0, "bytes 100-199 are free");
    check((r & 8) != 0, "a read lock over a write lock is refused");
    pid = fork();
    if (pid == 0)
        _exit(child_posix_wait());
    sleep_ms(100);
    pwrite(fd, "closed!!", 8, 0);
    int other = open("locked", O_RDONLY);
    close(other); /* any close of the file drops the process's locks */
    waitpid(pid, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 1, "F_SETLKW waits until a close drops the lock");
    close(fd);
}

static void test_large_file(long mib)
{
    int fd = open("large", O_RDWR | O_CREAT | O_TRUNC, 0644);
    static uint32_t block[16384];
    uint64_t sum_written = 0, sum_read = 0;
    long blocks = mib * 16;
    int ok = fd >= 0;
    for (long b = 0; ok && b < blocks; b++) {
        for (int i = 0; i < 16384; i++) {
            block[i] = (uint32_t)(b * 16384 + i) * 2654435761u;
            sum_written += block[i] ^ (uint64_t)i;
        }
        ok = write(fd, block, sizeof block) == (ssize_t)sizeof block;
    }
    check(ok, "a large file written");
    struct stat st;
    fstat(fd, &st);
    check(st.st_size == mib * 1048576, "its size");
    lseek(fd, 0, SEEK_SET);
    for (long b = 0; ok && b < blocks; b++) {
        ok = read(fd, block, sizeof block) == (ssize_t)sizeof block;
        for (int i = 0; ok && i < 16384; i++)
            sum_read += block[i] ^ (uint64_t)i;
    }
    check(ok && sum_read == sum_written, "read back with the same checksum");
    close(fd);
    check(unlink("large") == 0, "and removed");
}

/* rm -r of what the test made. */
static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        char child[4096];
        while (d && (e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(child, sizeof child, "%s/%s", path, e->d_name);
            remove_tree(child);
            rewinddir(d);
        }
        if (d)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

int main(int argc, char **argv)
{
    test_init();
    if (argc < 2) {
        fprintf(stderr, "usage: t_fs DIR [MiB]\n");
        return 2;
    }
    long mib = argc > 2 ? atol(argv[2]) : 100;
    if (chdir(argv[1]) != 0) {
        perror(argv[1]);
        return 2;
    }
    remove_tree("t_fs.d");
    if (mkdir("t_fs.d", 0755) != 0 || chdir("t_fs.d") != 0) {
        perror("t_fs.d");
        return 2;
    }
    test_create_write_read();
    test_holes_and_truncate();
    test_rename();
    test_unlink_while_open();
    test_links();
    test_directories();
    test_modes_and_times();
    test_listing();
    test_cwd();
    test_append_two_processes();
    test_locks();
    test_large_file(mib);
    chdir("..");
    remove_tree("t_fs.d");
    check(access("t_fs.d", F_OK) == -1, "everything removed");
    return finish();
}
