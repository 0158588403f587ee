/* sdcheck: the guest side of kernel/tests/sdcard.rs, a static program the
 * test puts on the SD card's FAT partition and runs from /boot.
 *
 *   sdcheck sum FILE            FNV-1a 64 of FILE, read 4 KiB at a time
 *   sdcheck blk DEV             BLKGETSIZE64 and BLKSSZGET of a block device
 *   sdcheck write FILE          errno of opening FILE for writing
 *   sdcheck put DEV OFF TEXT fsync|nosync
 *                               writes TEXT at byte OFF of DEV, then fsyncs
 *                               (or not) and prints "put: done"
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define BLKSSZGET 0x1268
#define BLKGETSIZE64 0x80081272

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
        int fd = open(argv[2], O_RDWR);
        size_t len = strlen(argv[4]);
        if (fd < 0 || pwrite(fd, argv[4], len, atol(argv[3])) != (ssize_t)len) {
            printf("put: errno %d\n", errno);
            return 1;
        }
        if (strcmp(argv[5], "fsync") == 0 && fsync(fd)) { printf("put: fsync errno %d\n", errno); return 1; }
        printf("put: done\n");
        return 0;
    }
    fprintf(stderr, "usage: sdcheck sum|blk|write|put ...\n");
    return 2;
}
