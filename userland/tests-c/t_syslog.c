/*
 * The kernel log buffer through syslog(2) (klogctl), as dmesg reads it:
 * its size, lines with a "<level>" prefix, a line logged because of this
 * program (an unknown system call), SYSLOG_ACTION_CLEAR, the destructive
 * reader, and Linux's errors for bad requests.
 *
 * This kernel only: under qemu-aarch64 the calls reach the host's log.
 */
#include "common.h"

#include <sys/klog.h>
#include <sys/syscall.h>

#define SYSLOG_ACTION_READ 2
#define SYSLOG_ACTION_READ_ALL 3
#define SYSLOG_ACTION_CLEAR 5
#define SYSLOG_ACTION_CONSOLE_LEVEL 8
#define SYSLOG_ACTION_SIZE_UNREAD 9
#define SYSLOG_ACTION_SIZE_BUFFER 10

static char buf[1 << 16];

int main(void)
{
    test_init();
    int size = klogctl(SYSLOG_ACTION_SIZE_BUFFER, NULL, 0);
    check(size >= 4096, "the buffer size is reported");

    /* An unknown system call is logged once, with its number. */
    syscall(447);
    int n = klogctl(SYSLOG_ACTION_READ_ALL, buf, sizeof buf - 1);
    check(n > 0, "READ_ALL returns the log");
    buf[n > 0 ? n : 0] = '\0';
    check(strncmp(buf, "<", 1) == 0 && strchr(buf, '>') != NULL, "lines start with <level>");
    check(strstr(buf, "system call 447 not implemented") != NULL, "a line this program caused is in it");
    check(buf[n - 1] == '\n', "the copy ends with a whole line");

    /* A smaller buffer gets the newest whole lines. */
    char small[200];
    int m = klogctl(SYSLOG_ACTION_READ_ALL, small, sizeof small);
    check(m > 0 && m <= (int)sizeof small && small[m - 1] == '\n' && small[0] == '<',
          "a small READ_ALL keeps whole newest lines");

    check(klogctl(SYSLOG_ACTION_CLEAR, NULL, 0) == 0, "CLEAR");
    check(klogctl(SYSLOG_ACTION_READ_ALL, buf, sizeof buf) == 0, "READ_ALL after CLEAR is empty");
    syscall(448);
    n = klogctl(SYSLOG_ACTION_READ_ALL, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = '\0';
    check(n > 0 && strstr(buf, "system call 448") != NULL && strstr(buf, "system call 447") == NULL,
          "READ_ALL after CLEAR has only newer lines");

    /* The destructive reader: what it reads is not unread any more. */
    int unread = klogctl(SYSLOG_ACTION_SIZE_UNREAD, NULL, 0);
    check(unread > 0, "SIZE_UNREAD counts unread bytes");
    int got = klogctl(SYSLOG_ACTION_READ, buf, unread);
    check(got == unread && klogctl(SYSLOG_ACTION_SIZE_UNREAD, NULL, 0) == 0, "READ consumes them");

    errno = 0;
    check(klogctl(SYSLOG_ACTION_READ_ALL, NULL, 10) == -1 && errno == EINVAL, "READ_ALL into NULL: EINVAL");
    errno = 0;
    check(klogctl(SYSLOG_ACTION_READ_ALL, buf, -1) == -1 && errno == EINVAL, "a negative length: EINVAL");
    errno = 0;
    check(klogctl(SYSLOG_ACTION_READ_ALL, (char *)8, 100) == -1 && errno == EFAULT, "a bad buffer: EFAULT");
    errno = 0;
    check(klogctl(SYSLOG_ACTION_CONSOLE_LEVEL, NULL, 9) == -1 && errno == EINVAL, "console level 9: EINVAL");
    errno = 0;
    check(klogctl(99, NULL, 0) == -1 && errno == EINVAL, "an unknown action: EINVAL");
    return finish();
}
