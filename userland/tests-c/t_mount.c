/*
 * Kernel settings and mounts, which need the whole machine (this kernel
 * only: under qemu-aarch64 they would change the host):
 * - /proc/sys/kernel/pid_max: values outside 301..4194304 are refused with
 *   EINVAL and leave it unchanged; with 1000, PIDs of new processes wrap
 *   below 1000; the old value is put back.
 * - a tmpfs mounted with size=1m: writing past it is ENOSPC, statfs shows
 *   it full, /proc/meminfo's Shmem counts its pages, /proc/mounts lists
 *   it, umount is EBUSY while a file is open there; removing the file gives
 *   every page back (MemFree as before).
 * - /proc/sys/kernel/threads-max: values outside 20..0x3fffffff are refused
 *   with EINVAL; with a limit a few tasks above those alive, fork fails
 *   with EAGAIN once the limit is reached; the old value is put back.
 *
 * usage: t_mount
 */
#include "common.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#define PID_MAX "/proc/sys/kernel/pid_max"

static long read_pid_max(void)
{
    char buf[32];
    if (read_whole_file(PID_MAX, buf, sizeof buf) <= 0)
        return -1;
    return atol(buf);
}

/* Writes text to pid_max; 0 or the errno of the write. */
static int write_pid_max(const char *text)
{
    int fd = open(PID_MAX, O_WRONLY | O_TRUNC);
    if (fd < 0)
        return errno;
    int err = write(fd, text, strlen(text)) < 0 ? errno : 0;
    close(fd);
    return err;
}

static void test_pid_max(void)
{
    long old = read_pid_max();
    check(old >= 301, "pid_max is readable");
    check(write_pid_max("300\n") == EINVAL && read_pid_max() == old, "300 is refused, the value unchanged");
    check(write_pid_max("4194305\n") == EINVAL && read_pid_max() == old, "4194305 is refused");
    check(write_pid_max("12x\n") == EINVAL && read_pid_max() == old, "text is refused");
    check(write_pid_max("1000\n") == 0 && read_pid_max() == 1000, "1000 is taken");
    int below = 1, wrapped = 0;
    pid_t last = 0;
    for (int i = 0; i < 1200; i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        if (pid < 0)
            break;
        below &= pid < 1000;
        wrapped |= pid < last;
        last = pid;
        wait_child(pid, NULL, 0);
    }
    check(below, "every new PID is below 1000");
    check(wrapped, "PIDs wrapped around");
    char text[32];
    snprintf(text, sizeof text, "%ld", old);
    check(write_pid_max(text) == 0 && read_pid_max() == old, "the old value is back");
}

#define THREADS_MAX "/proc/sys/kernel/threads-max"

static long read_long(const char *path)
{
    char buf[32];
    if (read_whole_file(path, buf, sizeof buf) <= 0)
        return -1;
    return atol(buf);
}

/* Writes text to path; 0 or the errno of the write. */
static int write_text(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_TRUNC);
    if (fd < 0)
        return errno;
    int err = write(fd, text, strlen(text)) < 0 ? errno : 0;
    close(fd);
    return err;
}

static void test_threads_max(void)
{
    long old = read_long(THREADS_MAX);
    check(old >= 20, "threads-max is readable");
    check(write_text(THREADS_MAX, "19\n") == EINVAL && read_long(THREADS_MAX) == old, "19 is refused");
    check(write_text(THREADS_MAX, "1073741824\n") == EINVAL && read_long(THREADS_MAX) == old, "2^30 is refused");
    /* Forks that wait on a pipe until the limit stops one. */
    int hold[2];
    if (pipe(hold) != 0) {
        check(0, "pipe");
        return;
    }
    check(write_text(THREADS_MAX, "40\n") == 0 && read_long(THREADS_MAX) == 40, "40 is taken");
    static pid_t kids[64];
    int n = 0, err = 0;
    while (n < 64) {
        pid_t pid = fork();
        if (pid == 0) {
            char c;
            close(hold[1]);
            while (read(hold[0], &c, 1) > 0) {
            }
            _exit(0);
        }
        if (pid < 0) {
            err = errno;
            break;
        }
        kids[n++] = pid;
    }
    char text[32];
    snprintf(text, sizeof text, "%ld", old);
    int restored = write_text(THREADS_MAX, text) == 0 && read_long(THREADS_MAX) == old;
    close(hold[1]);
    close(hold[0]);
    for (int i = 0; i < n; i++)
        wait_child(kids[i], NULL, 0);
    check(err == EAGAIN && n > 0 && n < 40, "fork fails with EAGAIN at the limit");
    check(restored, "the old threads-max is back");
}

static long meminfo_kib(const char *key)
{
    char buf[4096];
    if (read_whole_file("/proc/meminfo", buf, sizeof buf) <= 0)
        return -1;
    char *line = strstr(buf, key);
    return line ? strtol(line + strlen(key), NULL, 10) : -1;
}

static void test_tmpfs_limit(void)
{
    static char chunk[65536];
    memset(chunk, 'x', sizeof chunk);
    mkdir("/tmp/small", 0755);
    check(mount("none", "/tmp/small", "tmpfs", 0, "size=1m") == 0, "mount -t tmpfs -o size=1m");
    char mounts[4096];
    read_whole_file("/proc/mounts", mounts, sizeof mounts);
    check(strstr(mounts, "none /tmp/small tmpfs rw,size=1m 0 0\n") != NULL, "/proc/mounts lists it");
    struct statfs sf;
    check(statfs("/tmp/small", &sf) == 0 && sf.f_type == 0x01021994 && sf.f_blocks == 256 && sf.f_bfree == 256,
          "statfs: an empty tmpfs of 256 pages");
    // A first round warms up what the kernel keeps once grown (its heap
    // holds the 64 KiB copy buffers), so that only the file's own pages
    // come and go in the second, which is checked.
    int fd = -1;
    for (int round = 0; round < 2; round++) {
        long free_before = meminfo_free_pages();
        long shmem_before = meminfo_kib("Shmem:");
        fd = open("/tmp/small/f", O_WRONLY | O_CREAT, 0644);
        long total = 0;
        ssize_t n;
        errno = 0;
        while ((n = write(fd, chunk, sizeof chunk)) > 0)
            total += n;
        int enospc = n == -1 && errno == ENOSPC;
        if (round == 0) {
            close(fd);
            unlink("/tmp/small/f");
            continue;
        }
        check(total == 1048576, "writes stop at 1 MiB");
        check(enospc, "then ENOSPC");
        check(statfs("/tmp/small", &sf) == 0 && sf.f_bfree == 0, "statfs: full");
        check(meminfo_kib("Shmem:") - shmem_before == 1024, "Shmem counts the file's pages");
        expect_errno(umount("/tmp/small"), EBUSY, "umount while a file is open");
        close(fd);
        check(unlink("/tmp/small/f") == 0, "unlink the file");
        check(meminfo_kib("Shmem:") == shmem_before, "Shmem back");
        check(meminfo_free_pages() == free_before, "every page back (MemFree as before)");
    }
    check(umount("/tmp/small") == 0, "umount");
    read_whole_file("/proc/mounts", mounts, sizeof mounts);
    check(strstr(mounts, "/tmp/small") == NULL, "/proc/mounts no longer lists it");
    expect_errno(umount("/tmp/small"), EINVAL, "umount of a plain directory");
    rmdir("/tmp/small");
    expect_errno(mount("none", "/tmp", "nosuchfs", 0, NULL), ENODEV, "mount of an unknown type");
}

int main(void)
{
    test_init();
    test_pid_max();
    test_threads_max();
    test_tmpfs_limit();
    return finish();
}
