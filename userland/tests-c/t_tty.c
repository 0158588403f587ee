/*
 * The console as a terminal: attributes, window size, foreground process
 * group and who may change it, raw mode (bytes arrive one by one, no echo)
 * and canonical mode
 * (line editing). It needs a person or a harness at the terminal: it says
 * what to type ("raw: type 3 keys", "canonical: type a line") and prints
 * what it received. On this kernel it runs on the serial console; under
 * qemu-aarch64 with a pipe for stdin it stops at "stdin is a terminal: no".
 */
#include "common.h"

#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>

/* TIOCSPGRP and TIOCSCTTY refusals: a group that does not exist, a group of
 * another session, and a process that leads no session taking the terminal. */
static void test_job_control_checks(void)
{
    errno = 0;
    check(tcsetpgrp(0, 4000000) == -1 && errno == ESRCH, "TIOCSPGRP to a missing group: ESRCH");
    int ready[2];
    if (!check(pipe(ready) == 0, "pipe"))
        return;
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        close(ready[0]);
        if (setsid() < 0 || write(ready[1], "r", 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    close(ready[1]);
    char c;
    check(read(ready[0], &c, 1) == 1, "child in a session of its own");
    errno = 0;
    check(tcsetpgrp(0, child) == -1 && errno == EPERM, "TIOCSPGRP to another session's group: EPERM");
    errno = 0;
    check(ioctl(0, TIOCSCTTY, 0) == -1 && errno == EPERM, "TIOCSCTTY from a non-leader: EPERM");
    check(tcgetpgrp(0) == getpgrp(), "still the foreground process group");
    kill(child, SIGKILL);
    int status;
    wait_child(child, &status, 0);
    close(ready[0]);
}

int main(void)
{
    test_init();
    if (!check(isatty(0), "stdin is a terminal"))
        return finish();
    struct termios saved;
    check(tcgetattr(0, &saved) == 0, "TCGETS");
    check((saved.c_lflag & (ICANON | ECHO | ISIG)) == (ICANON | ECHO | ISIG), "canonical mode with echo and signals");
    struct winsize ws;
    check(ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0, "TIOCGWINSZ gives a size");
    check(tcgetpgrp(0) == getpgrp(), "we are the foreground process group");
    test_job_control_checks();

    struct termios raw = saved;
    raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    check(tcsetattr(0, TCSANOW, &raw) == 0, "TCSETS raw");
    struct termios now;
    check(tcgetattr(0, &now) == 0 && !(now.c_lflag & ICANON), "raw mode reads back");
    printf("raw: type 3 keys\n");
    char keys[3];
    int got = 0;
    while (got < 3) {
        ssize_t n = read(0, keys + got, 1);
        if (n != 1)
            break;
        got++;
    }
    printf("raw bytes:");
    for (int i = 0; i < got; i++)
        printf(" %02x", (unsigned char)keys[i]);
    printf("\n");
    check(tcsetattr(0, TCSANOW, &saved) == 0, "TCSETS back to canonical");

    printf("canonical: type a line\n");
    char line[128];
    ssize_t n = read(0, line, sizeof line - 1);
    check(n > 0, "read a line");
    if (n > 0) {
        line[n] = 0;
        printf("line: %s", line);
    }
    return finish();
}
