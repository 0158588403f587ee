/*
 * execve of "#!" scripts (Linux: fs/binfmt_script.c): the interpreter runs
 * with argv[0] its name as written on the line, the line's one optional
 * argument (inner spaces kept), the script's name, then the caller's
 * argv[1..]; an interpreter that is a script is followed (at most five
 * scripts deep before the program, ELOOP beyond); "#!" without a name is
 * ENOEXEC, a missing interpreter ENOENT, an interpreter name cut off by the
 * 256-byte limit ENOEXEC. /proc/self/exe is the interpreter, comm the
 * script's name.
 * Kernel-side only: under qemu-aarch64 a guest's execve is the host's (the
 * expected results are Linux's, from binfmt_script.c and execve(2)).
 *
 *   t_script           the tests
 *   t_script --show... (run as an interpreter, or as init by a boot test)
 *                      prints its argv joined by |, then exe= and comm=,
 *                      then env= and the environment, if any
 */
#include "common.h"

#include <sys/stat.h>
#include <sys/wait.h>

#define SELF "/tests/t_script"

static int show(int argc, char **argv)
{
    char exe[256] = "", comm[64] = "";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0)
        exe[n] = '\0';
    FILE *f = fopen("/proc/self/comm", "r");
    if (f) {
        if (fgets(comm, sizeof comm, f))
            comm[strcspn(comm, "\n")] = '\0';
        fclose(f);
    }
    for (int i = 0; i < argc; i++)
        printf("%s%s", i ? "|" : "", argv[i]);
    printf(" exe=%s comm=%s", exe, comm);
    extern char **environ;
    for (int i = 0; environ[i]; i++)
        printf("%s%s", i ? "," : " env=", environ[i]);
    printf("\n");
    return 0;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd) != 0)
        fail("writing %s", path);
    chmod(path, mode);
}

/* Runs execve(path, argv) in a child (after chdir to `dir` when given) and
 * returns what it printed, or "errno=<name>" when the execve failed. */
static const char *run(const char *dir, const char *path, char **argv)
{
    static char out[1024];
    int p[2];
    if (pipe(p) != 0)
        return "pipe failed";
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], 1);
        if (dir && chdir(dir) != 0)
            _exit(98);
        char *envp[] = {NULL};
        execve(path, argv, envp);
        printf("errno=%s\n", errno_name(errno));
        fflush(stdout);
        _exit(0);
    }
    close(p[1]);
    size_t len = 0;
    ssize_t n;
    while (len < sizeof out - 1 && (n = read(p[0], out + len, sizeof out - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = '\0';
    close(p[0]);
    waitpid(pid, NULL, 0);
    out[strcspn(out, "\n")] = '\0';
    return out;
}

static void expect(const char *label, const char *got, const char *want)
{
    printf("%s: %s\n", label, got);
    if (strcmp(got, want) != 0)
        fail("%s: got \"%s\", want \"%s\"", label, got, want);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strncmp(argv[1], "--show", 6) == 0)
        return show(argc, argv);
    test_init();
    char *args[] = {"name", "x", "y", NULL};
    char *none[] = {NULL};

    write_file("/tmp/s1", "#!" SELF " --show\necho not reached\n", 0755);
    expect("plain", run(NULL, "/tmp/s1", args), SELF "|--show|/tmp/s1|x|y exe=" SELF " comm=s1");
    expect("empty argv", run(NULL, "/tmp/s1", none), SELF "|--show|/tmp/s1 exe=" SELF " comm=s1");

    write_file("/tmp/s2", "#! \t" SELF "   --show  a b \t\n", 0755);
    expect("one argument, inner spaces kept", run(NULL, "/tmp/s2", args),
           SELF "|--show  a b|/tmp/s2|x|y exe=" SELF " comm=s2");

    write_file("/tmp/s3", "#!" SELF " --show", 0755);
    expect("no newline", run(NULL, "/tmp/s3", args), SELF "|--show|/tmp/s3|x|y exe=" SELF " comm=s3");

    write_file("/tmp/s4", "#!/tmp/s1 extra\n", 0755);
    expect("script as interpreter", run(NULL, "/tmp/s4", args),
           SELF "|--show|/tmp/s1|extra|/tmp/s4|x|y exe=" SELF " comm=s4");

    /* Scripts are named as they were asked for: the caller's name, then
     * each interpreter as its #! line wrote it. */
    write_file("/tmp/s7", "#!./s1 nested\n", 0755);
    expect("names as given", run("/tmp", "./s7", args),
           SELF "|--show|./s1|nested|./s7|x|y exe=" SELF " comm=s7");

    write_file("/tmp/s5", "#!./t_script --show\n", 0755);
    expect("relative interpreter", run("/tests", "/tmp/s5", args),
           "./t_script|--show|/tmp/s5|x|y exe=" SELF " comm=s5");

    /* Five scripts in front of the program run; six are ELOOP. */
    write_file("/tmp/l5", "#!" SELF " --show\n", 0755);
    for (int i = 4; i >= 0; i--) {
        char name[16], text[32];
        snprintf(name, sizeof name, "/tmp/l%d", i);
        snprintf(text, sizeof text, "#!/tmp/l%d\n", i + 1);
        write_file(name, text, 0755);
    }
    expect("five scripts deep", run(NULL, "/tmp/l1", none),
           SELF "|--show|/tmp/l5|/tmp/l4|/tmp/l3|/tmp/l2|/tmp/l1 exe=" SELF " comm=l1");
    expect("six scripts deep", run(NULL, "/tmp/l0", none), "errno=ELOOP");

    write_file("/tmp/e1", "#!\n" SELF "\n", 0755);
    expect("no interpreter", run(NULL, "/tmp/e1", args), "errno=ENOEXEC");
    write_file("/tmp/e2", "#!  \t \n", 0755);
    expect("blank interpreter", run(NULL, "/tmp/e2", args), "errno=ENOEXEC");
    /* Without a newline the empty name is looked up as is: the current
     * directory, which is no program (Linux 6.x gives EACCES). */
    write_file("/tmp/e7", "#!", 0755);
    expect("bare #! without newline", run(NULL, "/tmp/e7", args), "errno=EACCES");
    write_file("/tmp/e3", "#!/no/such/interpreter\n", 0755);
    expect("missing interpreter", run(NULL, "/tmp/e3", args), "errno=ENOENT");
    write_file("/tmp/e4", "#!/tmp/plain\n", 0755);
    write_file("/tmp/plain", "data\n", 0644);
    expect("interpreter not executable", run(NULL, "/tmp/e4", args), "errno=EACCES");
    write_file("/tmp/e5", "#!" SELF " --show\n", 0644);
    expect("script not executable", run(NULL, "/tmp/e5", args), "errno=EACCES");
    /* A name that does not end within the first 256 bytes may be cut off. */
    char longline[400] = "#!/tmp/";
    memset(longline + 7, 'a', 300);
    longline[307] = '\n';
    longline[308] = '\0';
    write_file("/tmp/e6", longline, 0755);
    expect("interpreter name past 256 bytes", run(NULL, "/tmp/e6", args), "errno=ENOEXEC");
    /* A long argument is cut instead: the interpreter still runs. */
    char longarg[400] = "#!" SELF " --show";
    size_t at = strlen(longarg);
    memset(longarg + at, 'b', 300);
    longarg[at + 300] = '\n';
    longarg[at + 301] = '\0';
    write_file("/tmp/s6", longarg, 0755);
    const char *got = run(NULL, "/tmp/s6", none);
    /* 256 bytes, less "#!", the name and its space, less the last byte. */
    size_t want_len = 256 - 1 - strlen("#!" SELF " ");
    const char *a = strchr(got, '|');
    const char *b = a ? strchr(a + 1, '|') : NULL;
    check(a && b && b - a - 1 == (long)want_len, "long argument cut at the 256-byte head");
    return finish();
}
