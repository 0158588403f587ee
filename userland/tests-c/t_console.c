/*
 * The console under load (kernel system test only: under qemu-aarch64
 * standard output is not this kernel's terminal, and syslog(2) reads the
 * host's log).
 *
 * `t_console write N`: two processes write N lines each to standard
 * output, one write(2) per line of 300 bytes; the system test checks that
 * no line is split by the other's output (Linux: the tty's
 * atomic_write_lock makes each write whole).
 *
 * `t_console faults`: 25 children die of SIGSEGV. The kernel's reports of
 * such unhandled faults (Linux: show_unhandled_signals) are rate-limited,
 * 10 per 5 seconds as Linux's printk_ratelimit, and kept in the kernel log:
 * dmesg has at least one and at most 10 of them, and once the window has
 * passed the next report says how many were suppressed. The system test
 * checks that the console itself did not show them.
 */
#include "common.h"

#include <sys/klog.h>

#define LINE_LEN 300

static void writer(char letter, int lines)
{
    char line[LINE_LEN];
    for (int i = 0; i < lines; i++) {
        int n = snprintf(line, sizeof line, "%c %04d ", letter, i);
        memset(line + n, letter, LINE_LEN - 1 - (size_t)n);
        line[LINE_LEN - 1] = '\n';
        if (write(1, line, LINE_LEN) != LINE_LEN)
            _exit(1);
    }
    _exit(0);
}

static int write_test(int lines)
{
    pid_t a = fork();
    if (a == 0)
        writer('A', lines);
    pid_t b = fork();
    if (b == 0)
        writer('B', lines);
    int sa = 0, sb = 0;
    waitpid(a, &sa, 0);
    waitpid(b, &sb, 0);
    int ok = WIFEXITED(sa) && WEXITSTATUS(sa) == 0 && WIFEXITED(sb) && WEXITSTATUS(sb) == 0;
    printf("writers: %s\n", ok ? "done" : "failed");
    return ok ? 0 : 1;
}

/* Through a volatile, so the compiler cannot see the bad address. */
static volatile uintptr_t low_address = 0x10;

static void fault_once(void)
{
    pid_t c = fork();
    if (c == 0) {
        *(volatile int *)low_address = 1;
        _exit(0);
    }
    int st = 0;
    waitpid(c, &st, 0);
}

/* Counts the lines of the kernel log containing both needles. */
static int count_log(const char *a, const char *b)
{
    static char buf[1 << 17];
    int n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, sizeof buf - 1);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    int count = 0;
    for (char *line = buf; line && *line;) {
        char *end = strchr(line, '\n');
        if (end)
            *end = '\0';
        if (strstr(line, a) && strstr(line, b))
            count++;
        line = end ? end + 1 : NULL;
    }
    return count;
}

static int faults_test(void)
{
    for (int i = 0; i < 25; i++)
        fault_once();
    int reports = count_log("t_console[", "unhandled Data Abort from lower EL at 0x10");
    check(reports >= 1, "unhandled faults are in the kernel log");
    check(reports <= 10, "at most 10 of 25 in 5 seconds (rate-limited)");
    sleep_ms(5200);
    fault_once();
    check(count_log("user_fault:", "reports suppressed") >= 1, "the next window reports how many were suppressed");
    check(count_log("t_console[", "unhandled Data Abort from lower EL at 0x10") == reports + 1,
          "and the fault after it is reported");
    return finish();
}

int main(int argc, char **argv)
{
    test_init();
    no_core_dumps();
    if (argc > 2 && strcmp(argv[1], "write") == 0)
        return write_test(atoi(argv[2]));
    if (argc > 1 && strcmp(argv[1], "faults") == 0)
        return faults_test();
    fprintf(stderr, "usage: t_console write N | faults\n");
    return 2;
}
