/*
 * execve's argument copying: several processes exec with 32,000 arguments
 * at once, and the argument space follows Linux's rule (bprm_stack_limits):
 * strings (the file name included) plus one pointer per string may take a
 * quarter of RLIMIT_STACK (at least 128 KiB, at most 6 MiB); one string may
 * take MAX_ARG_STRLEN (32 pages, NUL included); beyond, E2BIG.
 * Kernel-side only: under qemu-aarch64 a guest execve is the host's.
 *
 *   t_exec                 the tests
 *   t_exec --check N       (exec'd) exit 0 if argv[2..] are "a0".."a<N-1>"
 *   t_exec --size          (exec'd) exit 0
 *   t_exec --signals       (exec'd) exit 0 if the signal actions are what
 *                          execve leaves of the ones main sets (Linux's
 *                          flush_signal_handlers): caught ones back to
 *                          SIG_DFL, ignored ones still SIG_IGN, no action
 *                          with flags; else the number of the first wrong
 *                          signal
 */
#include "common.h"

#include <signal.h>
#include <sys/wait.h>

#define SELF "/tests/t_exec"
#define MANY 32000
#define MAX_ARG_STRLEN (32 * 4096)

static int check_args(int argc, char **argv)
{
    int n = atoi(argv[2]);
    if (argc != n + 3)
        return 1;
    for (int i = 0; i < n; i++) {
        char want[16];
        snprintf(want, sizeof want, "a%d", i);
        if (strcmp(argv[i + 3], want) != 0)
            return 1;
    }
    return 0;
}

/* A child that execs SELF with argv and envp, or exits with 100 + errno if
 * the execve fails; with a `gate` pipe, it first waits for the pipe's EOF. */
static pid_t spawn(char **argv, char **envp, int *gate)
{
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        if (gate && (close(gate[1]) != 0 || read(gate[0], &c, 1) < 0))
            _exit(99);
        execve(SELF, argv, envp);
        _exit(100 + errno);
    }
    return pid;
}

static int status_of(pid_t pid)
{
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 200 + WTERMSIG(status);
}

/* n children exec with MANY arguments each, released at once. */
static int concurrent(int n, char **argv)
{
    int gate[2];
    pid_t pids[8];
    char *envp[] = { NULL };
    if (pipe(gate) != 0)
        return 0;
    for (int i = 0; i < n; i++)
        pids[i] = spawn(argv, envp, gate);
    close(gate[0]);
    close(gate[1]); /* every child's read returns now */
    int ok = 1;
    for (int i = 0; i < n; i++)
        ok &= status_of(pids[i]) == 0;
    return ok;
}

/* Strings of `total` bytes (NULs and the file name included) plus their
 * pointers in argv: SELF "--size" and fillers. Returns the child's status. */
static int exec_with_space(long total)
{
    enum { FILLERS = 20 };
    static char *argv[FILLERS + 3];
    char *envp[] = { NULL };
    long fixed = 2 * (long)(strlen(SELF) + 1) + (long)strlen("--size") + 1;
    long ptrs = 8L * (FILLERS + 2);
    long rest = total - fixed - ptrs;
    argv[0] = SELF;
    argv[1] = "--size";
    for (int i = 0; i < FILLERS; i++) {
        long len = rest / FILLERS + (i == 0 ? rest % FILLERS : 0);
        argv[i + 2] = malloc(len);
        memset(argv[i + 2], 'f', len - 1);
        argv[i + 2][len - 1] = 0;
    }
    argv[FILLERS + 2] = NULL;
    int status = status_of(spawn(argv, envp, NULL));
    for (int i = 0; i < FILLERS; i++)
        free(argv[i + 2]);
    return status;
}

/* One argument of `len` bytes with its NUL. */
static int exec_one_string(long len)
{
    char *s = malloc(len);
    memset(s, 's', len - 1);
    s[len - 1] = 0;
    char *argv[] = { SELF, "--size", s, NULL };
    char *envp[] = { NULL };
    int status = status_of(spawn(argv, envp, NULL));
    free(s);
    return status;
}

static void on_signal(int sig)
{
    (void)sig;
}

/* After execve: SIGUSR1 and SIGTERM were caught, SIGUSR2 ignored, SIGHUP
 * left at SIG_DFL but with SA_RESTART; all with SA_RESTART. */
static int check_signals(void)
{
    static const int sigs[] = { SIGUSR1, SIGUSR2, SIGHUP, SIGTERM };
    for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction old;
        if (sigaction(sigs[i], NULL, &old) != 0)
            return sigs[i];
        void (*want)(int) = sigs[i] == SIGUSR2 ? SIG_IGN : SIG_DFL;
        if (old.sa_handler != want || (old.sa_flags & SA_RESTART))
            return sigs[i];
    }
    return 0;
}

/* Sets the actions check_signals expects to see changed, and runs it in a
 * forked child after execve; the caller's actions are put back. */
static int exec_resets_signals(void)
{
    static const int sigs[] = { SIGUSR1, SIGUSR2, SIGHUP, SIGTERM };
    struct sigaction saved[4];
    for (int i = 0; i < 4; i++) {
        struct sigaction sa = { .sa_flags = SA_RESTART };
        sa.sa_handler = sigs[i] == SIGUSR2 ? SIG_IGN : sigs[i] == SIGHUP ? SIG_DFL : on_signal;
        sigaction(sigs[i], &sa, &saved[i]);
    }
    char *argv[] = { SELF, "--signals", NULL };
    char *envp[] = { NULL };
    int status = status_of(spawn(argv, envp, NULL));
    for (int i = 0; i < 4; i++)
        sigaction(sigs[i], &saved[i], NULL);
    return status;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--signals") == 0)
        return check_signals();
    if (argc >= 3 && strcmp(argv[1], "--check") == 0)
        return check_args(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "--size") == 0)
        return 0;
    if (argc == 1 && argv[0][0] == 0 && getenv("T_EXEC_EMPTY"))
        return 0;

    static char *many[MANY + 4];
    static char names[MANY][8];
    many[0] = SELF;
    many[1] = "--check";
    many[2] = "32000";
    for (int i = 0; i < MANY; i++) {
        snprintf(names[i], sizeof names[i], "a%d", i);
        many[i + 3] = names[i];
    }
    many[MANY + 3] = NULL;
    check(concurrent(1, many), "one execve with 32000 arguments");
    check(concurrent(2, many), "two concurrent execve with 32000 arguments each");
    check(concurrent(4, many), "four concurrent execve with 32000 arguments each");

    /* RLIMIT_STACK 8 MiB: 2 MiB for strings and pointers. */
    check(exec_with_space(2L << 20) == 0, "strings and pointers of exactly a quarter of the 8 MiB stack limit");
    check(exec_with_space((2L << 20) + 1) == 100 + E2BIG, "one byte more: E2BIG");
    struct rlimit small = { 1 << 20, RLIM_INFINITY };
    setrlimit(RLIMIT_STACK, &small);
    check(exec_with_space(256L << 10) == 0, "under a 1 MiB stack limit: 256 KiB");
    check(exec_with_space((256L << 10) + 1) == 100 + E2BIG, "under a 1 MiB stack limit, one byte more: E2BIG");
    struct rlimit tiny = { 64 << 10, RLIM_INFINITY };
    setrlimit(RLIMIT_STACK, &tiny);
    check(exec_with_space(128L << 10) == 0, "under a 64 KiB stack limit still 128 KiB (ARG_MAX)");
    struct rlimit normal = { 8 << 20, RLIM_INFINITY };
    setrlimit(RLIMIT_STACK, &normal);

    check(exec_one_string(MAX_ARG_STRLEN) == 0, "one string of MAX_ARG_STRLEN bytes");
    check(exec_one_string(MAX_ARG_STRLEN + 1) == 100 + E2BIG, "one string of MAX_ARG_STRLEN + 1 bytes: E2BIG");

    /* An empty argv: the program gets argc 1 and argv[0] "" (Linux 5.18+). */
    char *envp[] = { "T_EXEC_EMPTY=1", NULL };
    check(status_of(spawn(NULL, envp, NULL)) == 0, "an empty argv arrives as one empty string");
    char *bad[] = { SELF, (char *)0x10, NULL };
    check(status_of(spawn(bad, envp, NULL)) == 100 + EFAULT, "an unmapped argument pointer: EFAULT");
    check(exec_resets_signals() == 0, "execve resets caught signals to SIG_DFL, keeps ignored ones, clears flags");
    return finish();
}
