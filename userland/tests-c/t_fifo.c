/*
 * Named pipes (mkfifo: mknodat with S_IFIFO) and Linux's open rules for
 * them (fs/pipe.c fifo_open): a blocking open for reading waits for a
 * writer and one for writing waits for a reader; O_NONBLOCK readers open at
 * once; an O_NONBLOCK write-only open without a reader is ENXIO; O_RDWR
 * never waits; a wait ended by a signal without SA_RESTART is EINTR. The
 * data goes through the pipe code (EOF, EPIPE, ESPIPE) and is gone once
 * both sides have closed; stat and fstat show S_IFIFO.
 */
#include "common.h"

#include <poll.h>
#include <signal.h>
#include <sys/stat.h>

static char path[64];

static void on_alarm(int sig)
{
    (void)sig;
}

/* Whether child `pid` is still running after `ms` milliseconds. */
static int still_running(pid_t pid, int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    return waitpid(pid, NULL, WNOHANG) == 0;
}

/* The exit code of child `pid`, -1 unless it exited. */
static int exit_status(pid_t pid)
{
    int status;
    if (wait_child(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

static void test_node(void)
{
    umask(022);
    check(mkfifo(path, 0666) == 0, "mkfifo");
    struct stat st;
    check(stat(path, &st) == 0 && S_ISFIFO(st.st_mode), "stat: S_IFIFO");
    check((st.st_mode & 07777) == 0644, "mode 0666 less the umask 022");
    check(st.st_size == 0, "size 0");
    errno = 0;
    check(mkfifo(path, 0600) == -1 && errno == EEXIST, "mkfifo of an existing name: EEXIST");
    errno = 0;
    check(mknod("/tmp", S_IFIFO | 0600, 0) == -1 && errno == EEXIST, "mknod over a directory: EEXIST");
}

static void test_nonblocking_opens(void)
{
    errno = 0;
    int w = open(path, O_WRONLY | O_NONBLOCK);
    check(w == -1 && errno == ENXIO, "O_WRONLY|O_NONBLOCK without a reader: ENXIO");
    int r = open(path, O_RDONLY | O_NONBLOCK);
    check(r >= 0, "O_RDONLY|O_NONBLOCK opens at once");
    char c;
    check(read(r, &c, 1) == 0, "read without a writer: end of file");
    struct pollfd p = {r, POLLIN, 0};
    check(poll(&p, 1, 0) == 0, "poll before any writer came: nothing (no POLLHUP yet)");
    w = open(path, O_WRONLY | O_NONBLOCK);
    check(w >= 0, "O_WRONLY|O_NONBLOCK with a reader opens");
    check(write(w, "xyz", 3) == 3, "write 3 bytes");
    char buf[8] = "";
    check(read(r, buf, sizeof buf) == 3 && memcmp(buf, "xyz", 3) == 0, "the reader gets them");
    struct stat st;
    check(fstat(r, &st) == 0 && S_ISFIFO(st.st_mode), "fstat of an open FIFO: S_IFIFO");
    errno = 0;
    check(lseek(r, 0, SEEK_SET) == -1 && errno == ESPIPE, "lseek: ESPIPE");
    close(w);
    p.revents = 0;
    check(poll(&p, 1, 0) == 1 && (p.revents & POLLHUP), "poll after the writer left: POLLHUP");
    check(read(r, &c, 1) == 0, "read after the writer left: end of file");
    close(r);
}

static void test_blocking_opens(void)
{
    /* A reader waits for a writer. */
    pid_t pid = fork();
    if (pid == 0) {
        int r = open(path, O_RDONLY);
        char buf[16] = "";
        ssize_t n = read(r, buf, sizeof buf);
        _exit(n == 5 && memcmp(buf, "hello", 5) == 0 ? 0 : 1);
    }
    check(still_running(pid, 200), "open for reading waits for a writer");
    int w = open(path, O_WRONLY);
    check(w >= 0, "open for writing with a waiting reader");
    check(write(w, "hello", 5) == 5, "write to the reader");
    check(exit_status(pid) == 0, "the reader got the data");
    close(w);

    /* A writer waits for a reader. */
    pid = fork();
    if (pid == 0) {
        int fd = open(path, O_WRONLY);
        _exit(fd >= 0 && write(fd, "ok", 2) == 2 ? 0 : 1);
    }
    check(still_running(pid, 200), "open for writing waits for a reader");
    int r = open(path, O_RDONLY);
    char buf[4] = "";
    check(r >= 0 && read(r, buf, sizeof buf) == 2 && memcmp(buf, "ok", 2) == 0, "the reader opens and reads");
    check(exit_status(pid) == 0, "the writer went on");
    check(read(r, buf, sizeof buf) == 0, "end of file after the writer exits");
    close(r);

    /* O_RDWR is both sides and waits for nobody. */
    int rw = open(path, O_RDWR);
    check(rw >= 0, "O_RDWR opens at once");
    check(write(rw, "abc", 3) == 3 && read(rw, buf, 3) == 3 && memcmp(buf, "abc", 3) == 0,
          "O_RDWR reads what it wrote");
    /* A blocking reader opens at once while a writer is there. */
    r = open(path, O_RDONLY);
    check(r >= 0, "open for reading with a writer open does not wait");
    check(write(rw, "left", 4) == 4, "data left in the FIFO");
    close(r);
    close(rw);
    /* Both sides closed: the data is gone. */
    rw = open(path, O_RDWR | O_NONBLOCK);
    errno = 0;
    check(read(rw, buf, sizeof buf) == -1 && errno == EAGAIN, "after the last close the FIFO is empty");
    close(rw);
}

static void test_signals_and_epipe(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART */
    sigaction(SIGALRM, &sa, NULL);
    alarm(1);
    errno = 0;
    int r = open(path, O_RDONLY);
    check(r == -1 && errno == EINTR, "a signal ends the wait for a writer: EINTR");
    alarm(0);

    signal(SIGPIPE, SIG_IGN);
    r = open(path, O_RDONLY | O_NONBLOCK);
    int w = open(path, O_WRONLY);
    close(r);
    errno = 0;
    check(write(w, "x", 1) == -1 && errno == EPIPE, "write after the reader left: EPIPE");
    close(w);

    /* The name can go while the FIFO is open. */
    int rw = open(path, O_RDWR);
    check(unlink(path) == 0, "unlink while open");
    char c = 0;
    check(write(rw, "z", 1) == 1 && read(rw, &c, 1) == 1 && c == 'z', "still a pipe after unlink");
    close(rw);
}

int main(void)
{
    test_init();
    snprintf(path, sizeof path, "/tmp/t_fifo.%d", (int)getpid());
    unlink(path);
    test_node();
    test_nonblocking_opens();
    test_blocking_opens();
    test_signals_and_epipe();
    unlink(path);
    return finish();
}
