/* sdcheck: the guest side of kernel/tests/sdcard.rs, a static program the
 * test puts on the SD card's FAT partition and runs from /boot.
 *
 *   sdcheck sum FILE            FNV-1a 64 of FILE, read 4 KiB at a time
 *   sdcheck blk DEV             BLKGETSIZE64 and BLKSSZGET of a block device
 *   sdcheck write FILE          errno of opening FILE for writing
 *   sdcheck put FILE OFF TEXT fsync|nosync
 *                               writes TEXT at byte OFF of FILE (a device, or
 *                               a file it creates), then fsyncs (or not) and
 *                               prints "put: done"
 *   sdcheck bench FILE          sequential and random 4 KiB read rates (make bench)
 *   sdcheck wbench DEV OFF LEN  sequential write rate to a block device, fsynced
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define BLKSSZGET 0x1268
#define BLKGETSIZE64 0x80081272

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[1], "sum") == 0) {
        int fd = open(argv[2], O_RDONLY);
        if (fd < 0) { printf("sum: open errno %d\n", errno); return 1; }
        uint64_t h = 0xcbf29ce484222325ull, total = 0;
        static unsigned char buf[4096];
        for (;;) {
            ssize_t n = read(fd, buf, sizeof buf);
            if (n < 0) { printf("sum: read errno %d\n", errno); return 1; }
            if (n == 0) break;
            for (ssize_t i = 0; i < n; i++) { h ^= buf[i]; h *= 0x100000001b3ull; }
            total += n;
        }
        printf("sum: %016llx %llu\n", (unsigned long long)h, (unsigned long long)total);
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "blk") == 0) {
        int fd = open(argv[2], O_RDONLY);
        uint64_t size = 0;
        int ssz = 0;
        if (fd < 0 || ioctl(fd, BLKGETSIZE64, &size) || ioctl(fd, BLKSSZGET, &ssz)) {
            printf("blk: errno %d\n", errno);
            return 1;
        }
        printf("blk: %llu %d\n", (unsigned long long)size, ssz);
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "write") == 0) {
        int fd = open(argv[2], O_WRONLY);
        printf("write: %s\n", fd < 0 ? (errno == EROFS ? "EROFS" : strerror(errno)) : "opened");
        return 0;
    }
    if (argc >= 6 && strcmp(argv[1], "put") == 0) {
        int fd = open(argv[2], O_RDWR | O_CREAT, 0644);
        size_t len = strlen(argv[4]);
        if (fd < 0 || pwrite(fd, argv[4], len, atol(argv[3])) != (ssize_t)len) {
            printf("put: errno %d\n", errno);
            return 1;
        }
        if (strcmp(argv[5], "fsync") == 0 && fsync(fd)) { printf("put: fsync errno %d\n", errno); return 1; }
        printf("put: done\n");
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "bench") == 0) {
        /* Sequential read in 64 KiB reads, then 1000 random 4 KiB preads,
         * each phase from the card: cached pages of the file are dropped
         * first (POSIX_FADV_DONTNEED; Linux keeps a file in its page cache,
         * this kernel's cache does not keep long reads). Times are also
         * given per KiB: under -icount shift=0 a nanosecond is one
         * instruction. */
        int fd = open(argv[2], O_RDONLY);
        if (fd < 0) { printf("bench: open errno %d\n", errno); return 1; }
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        static unsigned char buf[65536];
        uint64_t total = 0, t0 = now_ns();
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0) total += n;
        uint64_t t1 = now_ns();
        printf("seq-read: %llu bytes in %llu ms: %.1f MB/s, %.0f ns/KiB\n", (unsigned long long)total,
               (unsigned long long)((t1 - t0) / 1000000), total / 1e6 / ((t1 - t0) / 1e9),
               (double)(t1 - t0) / (total / 1024));
        uint64_t blocks = total / 4096, x = 88172645463325252ull;
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        t0 = now_ns();
        for (int i = 0; i < 1000; i++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            if (pread(fd, buf, 4096, (off_t)(x % blocks) * 4096) != 4096) { printf("bench: pread errno %d\n", errno); return 1; }
        }
        t1 = now_ns();
        printf("rand-read-4k: 1000 reads in %llu ms: %.0f reads/s, %.0f ns/KiB\n",
               (unsigned long long)((t1 - t0) / 1000000), 1000 / ((t1 - t0) / 1e9), (double)(t1 - t0) / 4000);
        return 0;
    }
    if (argc >= 5 && strcmp(argv[1], "wbench") == 0) {
        /* Sequential write of BYTES at OFF of a block device, in 64 KiB writes, and fsync. */
        int fd = open(argv[2], O_RDWR);
        if (fd < 0) { printf("wbench: open errno %d\n", errno); return 1; }
        static unsigned char buf[65536];
        memset(buf, 0x5a, sizeof buf);
        uint64_t off = atoll(argv[3]), bytes = atoll(argv[4]), t0 = now_ns();
        for (uint64_t done = 0; done < bytes; done += sizeof buf)
            if (pwrite(fd, buf, sizeof buf, off + done) != (ssize_t)sizeof buf) { printf("wbench: errno %d\n", errno); return 1; }
        if (fsync(fd)) { printf("wbench: fsync errno %d\n", errno); return 1; }
        uint64_t t1 = now_ns();
        printf("seq-write: %llu bytes in %llu ms: %.1f MB/s, %.0f ns/KiB\n", (unsigned long long)bytes,
               (unsigned long long)((t1 - t0) / 1000000), bytes / 1e6 / ((t1 - t0) / 1e9),
               (double)(t1 - t0) / (bytes / 1024));
        return 0;
    }
    fprintf(stderr, "usage: sdcheck sum|blk|write|put|bench|wbench ...\n");
    return 2;
}
