/*
 * Pipes and file descriptors: a 256 KiB transfer between processes with a
 * checksum, EOF once the writer is gone, EPIPE and SIGPIPE without a reader,
 * dup/dup3/fcntl descriptor flags, and O_CLOEXEC descriptors closed by execve.
 *
 * usage: t_pipe [path-to-self]   (default /tests/t_pipe; re-executed with
 *        --check-fds <closed-fd> <open-fd> to look at its descriptors)
 */
#include "common.h"

#include <limits.h>
#include <poll.h>
#include <signal.h>

#define TRANSFER (256 * 1024)

static uint8_t stream_byte(size_t i)
{
    return (uint8_t)((i * 2654435761u) >> 13);
}

static uint32_t fnv1a(uint32_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static void test_transfer(void)
{
    static uint8_t buf[TRANSFER];
    for (size_t i = 0; i < TRANSFER; i++)
        buf[i] = stream_byte(i);
    uint32_t want = fnv1a(2166136261u, buf, TRANSFER);

    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        fail("pipe2: %s", errno_name(errno));
        return;
    }
    fflush(stdout);
    pid_t writer = fork();
    if (writer < 0) {
        fail("fork: %s", errno_name(errno));
        return;
    }
    if (writer == 0) {
        close(fds[0]);
        /* Uneven chunk sizes, so writes and reads never line up. */
        size_t done = 0, chunk = 1;
        while (done < TRANSFER) {
            size_t n = chunk < TRANSFER - done ? chunk : TRANSFER - done;
            ssize_t w = write(fds[1], buf + done, n);
            if (w <= 0)
                _exit(1);
            done += (size_t)w;
            chunk = chunk * 3 % 9001 + 1;
        }
        _exit(0);
    }
    close(fds[1]);

    static uint8_t in[4096];
    size_t total = 0;
    uint32_t got = 2166136261u;
    ssize_t n;
    for (;;) {
        n = read(fds[0], in, sizeof in);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got = fnv1a(got, in, (size_t)n);
        total += (size_t)n;
    }
    printf("transferred %zu bytes\n", total);
    check(total == TRANSFER && got == want, "checksum matches");
    check(n == 0, "read returns 0 (EOF) after the writer exits");
    close(fds[0]);
    int status;
    check(wait_child(writer, &status, 0) == writer && WIFEXITED(status) &&
              WEXITSTATUS(status) == 0,
          "writer exited cleanly");
}

static void test_no_reader(void)
{
    int fds[2];
    if (pipe(fds) != 0) {
        fail("pipe: %s", errno_name(errno));
        return;
    }
    close(fds[0]);

    signal(SIGPIPE, SIG_IGN);
    expect_errno(write(fds[1], "x", 1), EPIPE, "write without reader, SIGPIPE ignored");
    signal(SIGPIPE, SIG_DFL);

    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        if (write(fds[1], "x", 1) < 0)
            _exit(1);
        _exit(0);
    }
    int status;
    check(child > 0 && wait_child(child, &status, 0) == child && WIFSIGNALED(status) &&
              WTERMSIG(status) == SIGPIPE,
          "write without reader, SIGPIPE default kills");
    close(fds[1]);
}

static int is_cloexec(int fd)
{
    int flags = fcntl(fd, F_GETFD);
    return flags >= 0 && (flags & FD_CLOEXEC);
}

static void test_dup_family(void)
{
    int fds[2];
    if (pipe(fds) != 0) {
        fail("pipe: %s", errno_name(errno));
        return;
    }
    /* The lowest free number: close one below the pipe and dup into it. */
    int low = dup(fds[0]);
    close(low);
    check(dup(fds[1]) == low, "dup takes the lowest free descriptor");
    check(!is_cloexec(low), "dup clears FD_CLOEXEC");

    check(dup3(fds[0], 100, O_CLOEXEC) == 100 && is_cloexec(100),
          "dup3(O_CLOEXEC) to 100 sets FD_CLOEXEC");
    check(fcntl(100, F_SETFD, 0) == 0 && !is_cloexec(100), "F_SETFD 0 clears it");
    check(fcntl(100, F_SETFD, FD_CLOEXEC) == 0 && is_cloexec(100), "F_SETFD sets it");
    expect_errno(dup3(100, 100, 0), EINVAL, "dup3 onto itself");
    int d = fcntl(fds[0], F_DUPFD_CLOEXEC, 50);
    check(d >= 50 && is_cloexec(d), "F_DUPFD_CLOEXEC gives >= 50 with FD_CLOEXEC");
    int e = fcntl(fds[0], F_DUPFD, 50);
    check(e > d && !is_cloexec(e), "F_DUPFD gives the next free without FD_CLOEXEC");

    /* A duplicate shares the pipe: write through one, read through another. */
    char c = 0;
    check(write(low, "z", 1) == 1 && read(100, &c, 1) == 1 && c == 'z',
          "duplicates share the open pipe");
    close(d);
    close(e);
    close(100);
    close(low);
    expect_errno(fcntl(100, F_GETFD), EBADF, "closed descriptor");
    close(fds[0]);
    close(fds[1]);
}

static void test_cloexec_exec(const char *self)
{
    int closed_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int open_fd = open("/dev/null", O_RDONLY);
    if (closed_fd < 0 || open_fd < 0) {
        fail("open /dev/null: %s", errno_name(errno));
        return;
    }
    char a[16], b[16];
    snprintf(a, sizeof a, "%d", closed_fd);
    snprintf(b, sizeof b, "%d", open_fd);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        char *argv[] = { (char *)self, "--check-fds", a, b, NULL };
        execv(self, argv);
        _exit(127);
    }
    int status;
    int ok = child > 0 && wait_child(child, &status, 0) == child && WIFEXITED(status);
    check(ok && WEXITSTATUS(status) != 127, "execve of self");
    check(ok && (WEXITSTATUS(status) & 1) == 0, "O_CLOEXEC descriptor closed by execve (EBADF)");
    check(ok && (WEXITSTATUS(status) & 2) == 0, "plain descriptor kept across execve");
    close(closed_fd);
    close(open_fd);
}

/* The re-executed side: bit 0 if the O_CLOEXEC fd survived, bit 1 if the other did not. */
static int check_fds(int closed_fd, int open_fd)
{
    int result = 0;
    if (!(fcntl(closed_fd, F_GETFD) == -1 && errno == EBADF))
        result |= 1;
    if (fcntl(open_fd, F_GETFD) != 0)
        result |= 2;
    return result;
}

/* poll(2) on pipes: a timeout with nothing to read, a sleep ended by a
 * writer in another process, the write end ready, and hang-up at EOF. */
static void test_poll(void)
{
    int p[2];
    if (!check(pipe(p) == 0, "pipe for poll"))
        return;
    struct pollfd rd = { .fd = p[0], .events = POLLIN };
    check(poll(&rd, 1, 50) == 0, "poll on an empty pipe times out");
    struct pollfd wr = { .fd = p[1], .events = POLLOUT };
    check(poll(&wr, 1, 0) == 1 && (wr.revents & POLLOUT), "the write end is ready for writing");
    pid_t child = fork();
    if (child == 0) {
        sleep_ms(100);
        if (write(p[1], "x", 1) != 1)
            _exit(1);
        _exit(0);
    }
    close(p[1]);
    rd.revents = 0;
    check(poll(&rd, 1, -1) == 1 && (rd.revents & POLLIN), "poll sleeps until the writer writes");
    char c;
    check(read(p[0], &c, 1) == 1 && c == 'x', "the byte is there");
    int status;
    wait_child(child, &status, 0);
    rd.revents = 0;
    check(poll(&rd, 1, 1000) == 1 && (rd.revents & POLLHUP), "poll reports hang-up once every writer is gone");
    struct pollfd bad = { .fd = 999, .events = POLLIN };
    check(poll(&bad, 1, 0) == 1 && bad.revents == POLLNVAL, "a closed descriptor gives POLLNVAL");
    close(p[0]);
}

/* A full pipe's write end is not writable until a PIPE_BUF write would go
 * in whole; a non-blocking writer told POLLOUT then succeeds. */
static void test_poll_full(void)
{
    int p[2];
    if (!check(pipe2(p, O_NONBLOCK) == 0, "non-blocking pipe for poll"))
        return;
    static char block[PIPE_BUF];
    size_t total = 0;
    ssize_t n;
    while ((n = write(p[1], block, sizeof block)) > 0)
        total += (size_t)n;
    check(n == -1 && errno == EAGAIN && total > 0, "a non-blocking write to a full pipe gives EAGAIN");
    struct pollfd wr = { .fd = p[1], .events = POLLOUT | POLLWRNORM };
    check(poll(&wr, 1, 0) == 0, "a full pipe is not writable");
    char small[100];
    check(read(p[0], small, sizeof small) == (ssize_t)sizeof small, "read 100 bytes");
    wr.revents = 0;
    check(poll(&wr, 1, 0) == 0, "100 bytes free is not writable");
    check(read(p[0], block, sizeof block) == (ssize_t)sizeof block, "read PIPE_BUF more");
    wr.revents = 0;
    check(poll(&wr, 1, 0) == 1 && (wr.revents & POLLOUT) && (wr.revents & POLLWRNORM),
          "writable (POLLOUT, POLLWRNORM) once PIPE_BUF is free");
    check(write(p[1], block, sizeof block) == (ssize_t)sizeof block, "and a PIPE_BUF write goes in whole");
    struct pollfd rd = { .fd = p[0], .events = POLLRDNORM };
    check(poll(&rd, 1, 0) == 1 && rd.revents == POLLRDNORM, "POLLRDNORM alone is reported for data");
    close(p[0]);
    wr.revents = 0;
    check(poll(&wr, 1, 0) == 1 && (wr.revents & POLLERR), "no reader: POLLERR");
    close(p[1]);
}

#ifndef F_SETPIPE_SZ
#define F_SETPIPE_SZ 1031
#define F_GETPIPE_SZ 1032
#endif

/* F_GETPIPE_SZ/F_SETPIPE_SZ: the ring's size, rounded up to a power of two of pages; a ring
 * smaller than what it holds is EBUSY; a bigger one lets a writer put more in without blocking. */
static void test_pipe_size(void)
{
    int p[2];
    if (pipe(p) != 0)
        return fail("pipe");
    check(fcntl(p[0], F_GETPIPE_SZ) == 65536, "a new pipe holds 64 KiB (F_GETPIPE_SZ)");
    check(fcntl(p[1], F_SETPIPE_SZ, 5000) == 8192, "F_SETPIPE_SZ 5000 gives 8192");
    check(fcntl(p[0], F_GETPIPE_SZ) == 8192, "both ends see the new size");
    check(fcntl(p[1], F_SETPIPE_SZ, 0) == 4096, "F_SETPIPE_SZ 0 gives one page");
    static char big[200000];
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    check(write(p[1], big, sizeof big) == 4096, "a one-page pipe takes 4096 bytes");
    check(fcntl(p[1], F_SETPIPE_SZ, 4096) == 4096, "F_SETPIPE_SZ to exactly what it holds");
    check(fcntl(p[1], F_SETPIPE_SZ, 131072) == 131072, "F_SETPIPE_SZ 128 KiB with data in it");
    check(write(p[1], big, sizeof big) == 131072 - 4096, "it takes the rest of 128 KiB");
    char first[4];
    check(read(p[0], first, sizeof first) == 4 && first[0] == 0, "the data kept its order");
    expect_errno(fcntl(p[1], F_SETPIPE_SZ, 4096), EBUSY, "F_SETPIPE_SZ below what it holds");
    int fd = open("/dev/null", O_RDONLY);
    expect_errno(fcntl(fd, F_GETPIPE_SZ), EBADF, "F_GETPIPE_SZ of a non-pipe");
    close(fd);
    close(p[0]);
    close(p[1]);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--check-fds") == 0)
        return check_fds(atoi(argv[2]), atoi(argv[3]));
    test_init();
    const char *self = argc > 1 ? argv[1] : "/tests/t_pipe";
    test_transfer();
    test_no_reader();
    test_dup_family();
    test_cloexec_exec(self);
    test_poll();
    test_poll_full();
    test_pipe_size();
    return finish();
}
