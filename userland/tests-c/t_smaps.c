/*
 * execve maps the program from the page cache: processes running the same
 * program share its text pages, and their writes to its data and bss stay
 * private.
 *
 *   t_smaps            the test (this kernel only: it judges page sharing
 *                      through /proc/<pid>/smaps_rollup)
 *   t_smaps --hold R G a copy that dirties its data and bss, writes a byte
 *                      to fd R and waits until fd G reaches end of file
 *   t_smaps --fresh    a copy that exits 0 if its data and bss are as the
 *                      file gives them
 *
 * Checks: smaps_rollup has Linux's fields in Linux's order; two held copies
 * and this process map the same text pages (Shared_Clean, Pss below Rss);
 * the text area is named by the program in maps; a fresh run sees the data
 * and bss a held copy changed as the file has them; the file's bytes, read
 * with read(2), are the same after all that.
 */
#include "common.h"

/* Data (file-backed, private) and bss (zero) the held copies change. */
static volatile int data_marker = 12345;
static volatile unsigned char bss_block[3 * 4096 + 123];

static const char *const rollup_keys[] = {
    "Rss:", "Pss:", "Pss_Dirty:", "Pss_Anon:", "Pss_File:", "Pss_Shmem:", "Shared_Clean:",
    "Shared_Dirty:", "Private_Clean:", "Private_Dirty:", "Referenced:", "Anonymous:", "LazyFree:",
    "AnonHugePages:", "ShmemPmdMapped:", "FilePmdMapped:", "Shared_Hugetlb:", "Private_Hugetlb:",
    "Swap:", "SwapPss:", "Locked:",
};
#define NKEYS (sizeof rollup_keys / sizeof rollup_keys[0])

/* The values (kB) of smaps_rollup at `path`, in the order of rollup_keys;
 * 1 if every key is there, in order, and the header names [rollup]. */
static int read_rollup(const char *path, long *values)
{
    static char text[4096];
    if (read_whole_file(path, text, sizeof text) <= 0)
        return 0;
    char *line = text;
    char *nl = strchr(line, '\n');
    if (!nl)
        return 0;
    *nl = '\0';
    size_t len = strlen(line);
    if (len < 8 || strcmp(line + len - 8, "[rollup]") != 0)
        return 0;
    line = nl + 1;
    for (size_t k = 0; k < NKEYS; k++) {
        size_t klen = strlen(rollup_keys[k]);
        if (strncmp(line, rollup_keys[k], klen) != 0)
            return 0;
        char *end;
        values[k] = strtol(line + klen, &end, 10);
        if (strncmp(end, " kB\n", 4) != 0)
            return 0;
        line = end + 4;
    }
    return *line == '\0';
}

static long key(const long *values, const char *name)
{
    for (size_t k = 0; k < NKEYS; k++)
        if (strcmp(rollup_keys[k], name) == 0)
            return values[k];
    return -1;
}

/* FNV-1a of the whole file, read with read(2). */
static uint64_t file_hash(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    uint64_t h = 0xcbf29ce484222325ull;
    unsigned char buf[4096];
    long n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        for (long i = 0; i < n; i++)
            h = (h ^ buf[i]) * 0x100000001b3ull;
    close(fd);
    return h;
}

static int fresh_state_ok(void)
{
    if (data_marker != 12345)
        return 0;
    for (size_t i = 0; i < sizeof bss_block; i++)
        if (bss_block[i] != 0)
            return 0;
    return 1;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--fresh") == 0)
        return fresh_state_ok() ? 0 : 1;
    if (argc == 4 && strcmp(argv[1], "--hold") == 0) {
        int ready = atoi(argv[2]), go = atoi(argv[3]);
        data_marker = 1;
        memset((void *)bss_block, 0xa5, sizeof bss_block);
        char c = 'r';
        if (write(ready, &c, 1) != 1)
            return 2;
        while (read(go, &c, 1) > 0) {
        }
        return 0;
    }
    test_init();
    char self[256];
    long n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        check(0, "readlink /proc/self/exe");
        return finish();
    }
    self[n] = '\0';
    uint64_t hash_before = file_hash(self);

    long mine[NKEYS];
    check(read_rollup("/proc/self/smaps_rollup", mine), "smaps_rollup has Linux's fields in order");
    check(key(mine, "Rss:") > 0 && key(mine, "Private_Dirty:") > 0, "this process has resident and dirty pages");

    int ready[2], go[2];
    if (pipe(ready) != 0 || pipe(go) != 0) {
        check(0, "pipes");
        return finish();
    }
    pid_t held[2];
    for (int i = 0; i < 2; i++) {
        held[i] = fork();
        if (held[i] == 0) {
            close(ready[0]);
            close(go[1]);
            char r[16], g[16];
            snprintf(r, sizeof r, "%d", ready[1]);
            snprintf(g, sizeof g, "%d", go[0]);
            char *args[] = { self, "--hold", r, g, NULL };
            execv(self, args);
            _exit(127);
        }
    }
    close(ready[1]);
    close(go[0]);
    char got[2];
    int ok = read(ready[0], got, 1) == 1 && read(ready[0], got + 1, 1) == 1;
    check(ok, "two copies started");

    char path[64];
    long theirs[NKEYS];
    snprintf(path, sizeof path, "/proc/%d/smaps_rollup", held[0]);
    int parsed = read_rollup(path, theirs);
    check(parsed, "a held copy's smaps_rollup parses");
    /* Three processes run the program: its text pages are mapped by all. */
    check(parsed && key(theirs, "Shared_Clean:") >= 4, "text pages are shared between runs");
    check(parsed && key(theirs, "Pss:") < key(theirs, "Rss:"), "the proportional set is below the resident set");
    check(parsed && key(theirs, "Private_Dirty:") >= 12, "the copy's own data, bss and stack are private");

    static char maps[16384];
    snprintf(path, sizeof path, "/proc/%d/maps", held[0]);
    int named = 0;
    if (read_whole_file(path, maps, sizeof maps) > 0) {
        for (char *l = strtok(maps, "\n"); l; l = strtok(NULL, "\n")) {
            size_t len = strlen(l), slen = strlen(self);
            if (strstr(l, " r-xp ") && len > slen && strcmp(l + len - slen, self) == 0)
                named = 1;
        }
    }
    check(named, "the text area is named by the program in maps");

    /* A third run, while the held copies still map their changed pages. */
    pid_t fresh = fork();
    if (fresh == 0) {
        char *args[] = { self, "--fresh", NULL };
        execv(self, args);
        _exit(127);
    }
    int status = -1;
    waitpid(fresh, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a fresh run sees data and bss as the file has them");

    close(go[1]);
    int clean = 1;
    for (int i = 0; i < 2; i++) {
        waitpid(held[i], &status, 0);
        clean &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    check(clean, "the held copies exit cleanly");
    check(file_hash(self) == hash_before, "the program file is unchanged");
    return finish();
}
