/*
 * System V shared memory: shmget's keys, flags and errors, IPC_STAT's
 * fields, a segment written by one process and read by another (through a
 * fork's inherited attachment and through a separate shmat), SHM_RDONLY,
 * SHM_RND and SHM_REMAP, shmdt's errors, shm_nattch as attachments come
 * and go (fork, exit, exec), IPC_RMID destroying a segment at its last
 * detach, IPC_INFO/SHM_INFO/SHM_STAT, and /proc/sysvipc/shm.
 *
 * qemu-user passes these calls to the host kernel, so the reference run is
 * Linux's own shared memory, shared between processes as here, and its
 * /proc/sysvipc/shm is the host's (the test looks only at its own
 * segments' lines). Segments are private or keyed by the PID, and removed
 * at the end.
 *
 * usage: t_sysvshm PATH-OF-THIS-PROGRAM   (exec'd to drop an attachment)
 *        t_sysvshm sleeper                (what the exec runs)
 */
#include "common.h"

#include <signal.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>

#define PAGE 4096

#ifndef SHM_DEST
#define SHM_DEST 01000
#endif
#ifndef SHM_STAT
#define SHM_STAT 13
#define SHM_INFO 14
#endif
#ifndef SHM_REMAP
#define SHM_REMAP 040000
#endif

static long nattch(int id)
{
    struct shmid_ds ds;
    if (shmctl(id, IPC_STAT, &ds) != 0)
        return -1;
    return (long)ds.shm_nattch;
}

/* Waits up to 5 s for the segment's attachment count to read want. */
static int wait_nattch(int id, long want)
{
    for (int i = 0; i < 500; i++) {
        if (nattch(id) == want)
            return 1;
        sleep_ms(10);
    }
    return 0;
}

/* The fields of id's line in /proc/sysvipc/shm: perms, size, nattch;
   0 if there is no line for id. */
static int proc_line(int id, unsigned *perms, unsigned long *size, unsigned long *att)
{
    static char buf[1 << 16];
    if (read_whole_file("/proc/sysvipc/shm", buf, sizeof buf) <= 0)
        return 0;
    if (strncmp(buf, "       key      shmid perms                  size  cpid  lpid nattch", 66) != 0)
        return 0;
    for (char *line = strchr(buf, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
        int key, lid, cpid, lpid;
        if (sscanf(line + 1, "%d %d %o %lu %d %d %lu", &key, &lid, perms, size, &cpid, &lpid, att) == 7 && lid == id)
            return 1;
    }
    return 0;
}

static void test_get_errors(void)
{
    key_t key = (key_t)(0x5300000 + getpid());
    expect_errno(shmget(IPC_PRIVATE, 0, 0600), EINVAL, "shmget of size 0");
    expect_errno(shmget(key, PAGE, 0600), ENOENT, "shmget of a missing key without IPC_CREAT");
    expect_errno(shmget(IPC_PRIVATE, 1UL << 45, 0600), ENOMEM, "shmget of 32 TiB");
    time_t t0 = time(NULL);
    int id = shmget(key, 3 * PAGE + 100, IPC_CREAT | 0640);
    if (!check(id >= 0, "shmget IPC_CREAT"))
        return;
    check(shmget(key, 0, 0) == id, "shmget finds the key (size 0)");
    check(shmget(key, PAGE, IPC_CREAT) == id, "shmget IPC_CREAT of an existing key finds it");
    expect_errno(shmget(key, PAGE, IPC_CREAT | IPC_EXCL | 0600), EEXIST, "shmget IPC_CREAT|IPC_EXCL of an existing key");
    expect_errno(shmget(key, 4 * PAGE, 0600), EINVAL, "shmget larger than the segment");
    struct shmid_ds ds;
    check(shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_segsz == 3 * PAGE + 100 && ds.shm_nattch == 0 &&
              ds.shm_cpid == getpid() && (ds.shm_perm.mode & 0777) == 0640 && ds.shm_perm.__key == key &&
              ds.shm_atime == 0 && ds.shm_dtime == 0 && ds.shm_ctime >= t0 && ds.shm_ctime <= time(NULL),
          "IPC_STAT: size as asked, no attachments, creator, mode, key, times");
    ds.shm_perm.mode = 0600;
    check(shmctl(id, IPC_SET, &ds) == 0 && shmctl(id, IPC_STAT, &ds) == 0 && (ds.shm_perm.mode & 0777) == 0600,
          "IPC_SET changes the mode");
    expect_errno(shmctl(id, 12345, &ds), EINVAL, "shmctl with an unknown command");
    expect_errno(shmctl(-1, IPC_STAT, &ds), EINVAL, "shmctl IPC_STAT of ID -1");
    check(shmctl(id, IPC_RMID, NULL) == 0, "IPC_RMID of an unattached segment");
    expect_errno(shmctl(id, IPC_STAT, &ds), EINVAL, "IPC_STAT after IPC_RMID (gone at once)");
    expect_errno(shmget(key, 0, 0), ENOENT, "its key is free again");
}

static void test_sharing(void)
{
    key_t key = (key_t)(0x5310000 + getpid());
    time_t t0 = time(NULL);
    int id = shmget(key, 2 * PAGE, IPC_CREAT | 0600);
    char *p = shmat(id, NULL, 0);
    if (!check(p != (void *)-1, "shmat"))
        return;
    check(p[0] == 0 && p[2 * PAGE - 1] == 0, "a new segment reads zero");
    check(nattch(id) == 1, "one attachment: nattch 1");
    struct shmid_ds ds;
    check(shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_lpid == getpid() && ds.shm_atime >= t0 && ds.shm_atime <= time(NULL), "shmat sets lpid and atime");
    strcpy(p, "from the parent");
    pid_t pid = fork();
    if (pid == 0) {
        /* The attachment was inherited: the same memory, counted twice. */
        int ok = strcmp(p, "from the parent") == 0 && nattch(id) == 2;
        strcpy(p + PAGE, "from the child through the inherited attachment");
        /* A second, separate attachment sees the same pages. */
        char *q = shmat(shmget(key, 0, 0), NULL, 0);
        ok = ok && q != (void *)-1 && q != p && nattch(id) == 3;
        strcpy(q + 100, "through a second attachment");
        _exit(ok ? 0 : 1);
    }
    int status;
    wait_child(pid, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "fork: the child sees the parent's data, nattch 2, then 3");
    check(strcmp(p + PAGE, "from the child through the inherited attachment") == 0,
          "the parent reads what the child wrote through the inherited attachment");
    check(strcmp(p + 100, "through a second attachment") == 0, "and through its own shmat");
    check(nattch(id) == 1, "the child's exit dropped both its attachments: nattch 1");

    /* An unrelated attach in another process after fork, written there. */
    pid = fork();
    if (pid == 0) {
        shmdt(p);
        char *q = shmat(id, NULL, 0);
        if (q == (void *)-1)
            _exit(1);
        memset(q + 3000, 'x', 2000);
        shmdt(q);
        _exit(nattch(id) == 1 ? 0 : 2);
    }
    wait_child(pid, &status, 0);
    int crosses = 1;
    for (int i = 3000; i < 5000; i++)
        crosses &= p[i] == 'x';
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0 && crosses,
          "a write across a page boundary in another process is read here");
    check(shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_lpid == pid && ds.shm_dtime >= ds.shm_atime && ds.shm_dtime <= time(NULL), "shmdt sets lpid and dtime");

    /* Read-only: a write is SIGSEGV. */
    pid = fork();
    if (pid == 0) {
        char *r = shmat(id, NULL, SHM_RDONLY);
        if (r == (void *)-1 || r[0] != 'f')
            _exit(1);
        no_core_dumps();
        r[0] = 'y';
        _exit(2);
    }
    wait_child(pid, &status, 0);
    check(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV, "SHM_RDONLY: reads work, a write is SIGSEGV");

    /* Attaching at chosen addresses. */
    check(shmdt(p) == 0, "shmdt");
    check(nattch(id) == 0, "nattch 0 after shmdt");
    expect_errno(shmdt(p), EINVAL, "shmdt of a detached address");
    expect_errno(shmdt(p + 1), EINVAL, "shmdt of an unaligned address");
    char *at = shmat(id, p + 123, SHM_RND);
    check(at == p, "SHM_RND rounds the address down");
    check(at != (void *)-1 && strcmp(at, "from the parent") == 0, "the data survives having no attachment");
    expect_errno(shmat(id, p + 123, 0), EINVAL, "an unaligned address without SHM_RND");
    expect_errno(shmat(id, p, 0), EINVAL, "an address in use without SHM_REMAP");
    expect_errno(shmat(id, NULL, SHM_REMAP), EINVAL, "SHM_REMAP without an address");
    char *again = shmat(id, p, SHM_REMAP);
    check(again == p && nattch(id) == 1, "SHM_REMAP replaces the old attachment");
    expect_errno(shmat(-1, NULL, 0), EINVAL, "shmat of ID -1");
    /* shmdt finds an attachment starting at its address, after a munmap of
       its first page. */
    munmap(p, PAGE);
    check(shmdt(p) == 0 && nattch(id) == 0, "shmdt of an attachment whose first page was unmapped");
    shmctl(id, IPC_RMID, NULL);
}

static void test_rmid_and_proc(void)
{
    key_t key = (key_t)(0x5320000 + getpid());
    int id = shmget(key, 5000, IPC_CREAT | 0600);
    char *p = shmat(id, NULL, 0);
    char *q = shmat(id, NULL, 0);
    if (!check(p != (void *)-1 && q != (void *)-1, "two attachments in one process"))
        return;
    p[0] = 'a';
    unsigned perms = 0;
    unsigned long size = 0, att = 0;
    check(proc_line(id, &perms, &size, &att) && perms == 0600 && size == 5000 && att == 2,
          "/proc/sysvipc/shm: the line has mode 600, size 5000, nattch 2");
    struct shmid_ds ds;
    int maxidx = shmctl(id % 32768, SHM_STAT, &ds);
    check(maxidx == id && ds.shm_segsz == 5000, "SHM_STAT by index gives the ID and the status");
    struct shminfo info;
    check(shmctl(0, IPC_INFO, (struct shmid_ds *)&info) >= 0 && info.shmmni == 4096 && info.shmmin == 1,
          "IPC_INFO: shmmni 4096, shmmin 1");
    struct shm_info sinfo;
    check(shmctl(0, SHM_INFO, (struct shmid_ds *)&sinfo) >= 0 && sinfo.used_ids >= 1 && sinfo.shm_tot >= 2,
          "SHM_INFO: at least this segment in use");

    check(shmctl(id, IPC_RMID, NULL) == 0, "IPC_RMID while attached");
    check(shmctl(id, IPC_STAT, &ds) == 0 && (ds.shm_perm.mode & SHM_DEST) && ds.shm_perm.__key == 0 &&
              ds.shm_nattch == 2,
          "it stays, marked SHM_DEST, key 0, still attached twice");
    expect_errno(shmget(key, 0, 0), ENOENT, "its key finds nothing");
    check(proc_line(id, &perms, &size, &att) && (perms & SHM_DEST), "/proc/sysvipc/shm shows it with SHM_DEST");
    q[1] = 'b';
    check(p[1] == 'b', "both attachments still share the memory");
    pid_t pid = fork();
    if (pid == 0) {
        _exit(nattch(id) == 4 && p[0] == 'a' ? 0 : 1);
    }
    int status;
    wait_child(pid, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "fork inherits attachments of a removed segment");
    check(shmdt(q) == 0 && nattch(id) == 1, "one detached: still there with nattch 1");
    check(shmdt(p) == 0, "the last detached");
    expect_errno(shmctl(id, IPC_STAT, &ds), EINVAL, "gone at the last detach");
    check(!proc_line(id, &perms, &size, &att), "and gone from /proc/sysvipc/shm");
    expect_errno(shmat(id, NULL, 0), EINVAL, "shmat of its ID");
}

static void test_exec_drops(const char *self)
{
    int id = shmget(IPC_PRIVATE, PAGE, 0600);
    int ready[2];
    if (!check(id >= 0 && pipe(ready) == 0, "segment and pipe for the exec test"))
        return;
    pid_t pid = fork();
    if (pid == 0) {
        char *p = shmat(id, NULL, 0);
        char c = p != (void *)-1;
        write(ready[1], &c, 1);
        execl(self, self, "sleeper", (char *)NULL);
        _exit(127);
    }
    char c = 0;
    read(ready[0], &c, 1);
    check(c == 1, "the child attached");
    check(wait_nattch(id, 0), "exec drops the attachment (nattch 0 while the child still runs)");
    check(waitpid(pid, NULL, WNOHANG) == 0, "the exec'd child is still running");
    kill(pid, SIGKILL);
    wait_child(pid, NULL, 0);
    shmctl(id, IPC_RMID, NULL);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "sleeper") == 0) {
        sleep(10);
        return 0;
    }
    test_init();
    test_get_errors();
    test_sharing();
    test_rmid_and_proc();
    if (argc > 1)
        test_exec_drops(argv[1]);
    return finish();
}
