/*
 * /proc as programs such as ps read it: /proc/self/stat, /proc/self/status,
 * /proc/self/cmdline, /proc/meminfo and /proc/loadavg.
 *
 * Under qemu-aarch64, /proc/self/stat and /proc/self/cmdline are emulated
 * for the guest program, while /proc/self/status is the host's view of the
 * emulator process, so only its Pid and PPid lines are compared; qemu fills
 * only pid, comm, state and ppid of the emulated stat line, so later fields
 * are not compared either.
 */
#include "common.h"

static char buf[16384];

/* The number after "<key>:" on its own line, -1 if missing. */
static long field_value(const char *text, const char *key)
{
    size_t len = strlen(key);
    for (const char *line = text; line != NULL && *line != '\0';) {
        if (strncmp(line, key, len) == 0 && line[len] == ':')
            return strtol(line + len + 1, NULL, 10);
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
    return -1;
}

static void test_stat(const char *argv0)
{
    if (!check(read_whole_file("/proc/self/stat", buf, sizeof buf) > 0, "read /proc/self/stat"))
        return;
    char *open_paren = strchr(buf, '(');
    char *close_paren = strrchr(buf, ')');
    if (!check(open_paren != NULL && close_paren > open_paren, "stat has (comm)"))
        return;
    check(strtol(buf, NULL, 10) == getpid(), "stat pid == getpid");

    /* comm is the executable's base name, cut to 15 bytes. */
    const char *base = strrchr(argv0, '/');
    base = base ? base + 1 : argv0;
    char comm[16];
    snprintf(comm, sizeof comm, "%s", base);
    *close_paren = '\0';
    check(strcmp(open_paren + 1, comm) == 0, "stat comm is the program name");

    /* qemu-user emulates only pid, comm, state and ppid of this file. */
    char state = 0;
    int ppid = -1, pgrp = -1;
    int fields = sscanf(close_paren + 2, "%c %d %d", &state, &ppid, &pgrp);
    check(fields == 3, "stat has state, ppid, pgrp");
    check(state == 'R', "stat state is R for ourselves");
    check(ppid == getppid(), "stat ppid == getppid");
}

static void test_status(void)
{
    if (!check(read_whole_file("/proc/self/status", buf, sizeof buf) > 0,
               "read /proc/self/status"))
        return;
    check(strncmp(buf, "Name:", 5) == 0 && buf[5] != '\n', "status starts with a Name line");
    check(field_value(buf, "Pid") == getpid(), "status Pid == getpid");
    check(field_value(buf, "PPid") == getppid(), "status PPid == getppid");
}

static void test_cmdline(int argc, char **argv)
{
    long n = read_whole_file("/proc/self/cmdline", buf, sizeof buf);
    size_t want = 0;
    for (int i = 0; i < argc; i++)
        want += strlen(argv[i]) + 1;
    int same = n == (long)want;
    const char *p = buf;
    for (int i = 0; same && i < argc; i++) {
        same = strcmp(p, argv[i]) == 0;
        p += strlen(argv[i]) + 1;
    }
    check(same, "cmdline is argv joined by NULs");
}

static void test_meminfo(void)
{
    if (!check(read_whole_file("/proc/meminfo", buf, sizeof buf) > 0, "read /proc/meminfo"))
        return;
    long total = field_value(buf, "MemTotal");
    long free_kib = field_value(buf, "MemFree");
    check(total > 0, "MemTotal present");
    check(free_kib > 0 && free_kib <= total, "MemFree present and <= MemTotal");
    check(strstr(buf, "MemTotal:") && strstr(strstr(buf, "MemTotal:"), " kB\n"),
          "values are in kB");
}

static void test_loadavg(void)
{
    if (!check(read_whole_file("/proc/loadavg", buf, sizeof buf) > 0, "read /proc/loadavg"))
        return;
    double one, five, fifteen;
    int running, total, last_pid;
    int fields = sscanf(buf, "%lf %lf %lf %d/%d %d", &one, &five, &fifteen, &running,
                        &total, &last_pid);
    check(fields == 6, "loadavg has 3 averages, running/total and a last pid");
    check(fields == 6 && one >= 0 && running >= 1 && total >= running, "loadavg values sane");
}

int main(int argc, char **argv)
{
    test_init();
    test_stat(argv[0]);
    test_status();
    test_cmdline(argc, argv);
    test_meminfo();
    test_loadavg();
    return finish();
}
