/*
 * AF_UNIX sockets as Linux has them (unix(7), socket(7)): a server and a
 * client exchanging 10 MiB each way with checksums over a stream socket
 * (processes via fork), file descriptors passed with SCM_RIGHTS,
 * credentials with SCM_CREDENTIALS, datagram and seqpacket boundaries,
 * abstract and path names, the error cases (ECONNREFUSED, EADDRINUSE,
 * ENOENT, EPIPE with SIGPIPE ignored, ...), poll readiness, blocking calls
 * interrupted by signals, and a socketpair between threads.
 *
 * Names carry the PID (never printed), so runs on a shared host do not
 * collide. `t_unix kernel` adds what only this kernel can show (qemu-user
 * passes sockets to the host, whose kernel has AF_INET).
 */
#include "common.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>

#define TEN_MIB (10u << 20)

static char path_a[108], path_b[108], path_c[108];

/* An abstract name "\0t_unix.<pid>.<tag>" in *sa; returns its length. */
static socklen_t abstract_addr(struct sockaddr_un *sa, const char *tag)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    int n = snprintf(sa->sun_path + 1, sizeof sa->sun_path - 1, "t_unix.%d.%s", (int)getpid(), tag);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

static socklen_t path_addr(struct sockaddr_un *sa, const char *path)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    strcpy(sa->sun_path, path);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
}

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* FNV-1a over a stream, fed in pieces. */
static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* Deterministic bytes: byte i of the stream `seed`. */
static void fill(unsigned char *buf, size_t n, size_t at, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t x = (uint32_t)(at + i) * 2654435761u + seed;
        buf[i] = (unsigned char)(x >> 13);
    }
}

/* Sends TEN_MIB bytes of stream `seed` in odd-sized writes; returns the checksum. */
static uint64_t send_stream(int fd, unsigned seed)
{
    static unsigned char buf[70001];
    uint64_t h = 0xcbf29ce484222325ull;
    size_t at = 0;
    while (at < TEN_MIB) {
        size_t n = TEN_MIB - at < sizeof buf ? TEN_MIB - at : sizeof buf;
        fill(buf, n, at, seed);
        h = fnv(h, buf, n);
        if (write_all(fd, buf, n) != 0)
            return 0;
        at += n;
    }
    return h;
}

/* Reads until EOF; returns the checksum and the byte count in *count. */
static uint64_t recv_stream(int fd, size_t *count)
{
    static unsigned char buf[65536 + 17];
    uint64_t h = 0xcbf29ce484222325ull;
    *count = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        h = fnv(h, buf, (size_t)n);
        *count += (size_t)n;
    }
    return h;
}

/* 10 MiB each way between a forked client and this server, over a path name. */
static void ten_mib_exchange(void)
{
    struct sockaddr_un sa;
    socklen_t len = path_addr(&sa, path_a);
    int srv = socket(AF_UNIX, SOCK_STREAM, 0);
    check(bind(srv, (struct sockaddr *)&sa, len) == 0, "stream: bind to a path name");
    check(listen(srv, 4) == 0, "stream: listen");
    pid_t child = fork();
    if (child == 0) {
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(c, (struct sockaddr *)&sa, len) != 0)
            _exit(2);
        uint64_t sent = send_stream(c, 7);
        shutdown(c, SHUT_WR);
        uint64_t server_sum = 0;
        if (read_all(c, &server_sum, sizeof server_sum) != 0 || server_sum != sent)
            _exit(3);
        size_t count;
        uint64_t got = recv_stream(c, &count);
        uint64_t want;
        if (read_all(c, &want, sizeof want) == 0)
            _exit(4); /* nothing after EOF */
        (void)want;
        /* The server's stream is seed 9: recompute it. */
        static unsigned char buf[65536];
        uint64_t h = 0xcbf29ce484222325ull;
        for (size_t at = 0; at < TEN_MIB; at += sizeof buf) {
            fill(buf, sizeof buf, at, 9);
            h = fnv(h, buf, sizeof buf);
        }
        _exit(count == TEN_MIB && got == h ? 0 : 5);
    }
    int s = accept(srv, NULL, NULL);
    check(s >= 0, "stream: accept");
    size_t count;
    uint64_t sum = recv_stream(s, &count);
    check(count == TEN_MIB, "stream: server received 10 MiB");
    check(write_all(s, &sum, sizeof sum) == 0, "stream: server sent its checksum");
    check(send_stream(s, 9) != 0, "stream: server sent 10 MiB");
    close(s);
    int status;
    wait_child(child, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "stream: both checksums match on the other side");
    close(srv);
    unlink(path_a);
}

static int send_fds(int sock, const int *fds, int n, const void *data, size_t len)
{
    char control[CMSG_SPACE(sizeof(int) * 256)];
    memset(control, 0, sizeof control);
    struct iovec iov = { (void *)data, len };
    struct msghdr m = { 0 };
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control;
    m.msg_controllen = CMSG_SPACE(sizeof(int) * n);
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * n);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
    /* The system call itself: musl's sendmsg refuses more than 1024
     * control bytes (ENOMEM). */
    return (int)syscall(SYS_sendmsg, sock, &m, 0);
}

/* Receives into buf; fills fds (at most *n, control room for room fds). */
static ssize_t recv_fds(int sock, int *fds, int *n, int room, int flags, int *msg_flags)
{
    char control[CMSG_SPACE(sizeof(int) * 256)];
    char buf[64];
    struct iovec iov = { buf, sizeof buf };
    struct msghdr m = { 0 };
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control;
    m.msg_controllen = room > 0 ? CMSG_SPACE(sizeof(int) * room) : 0;
    ssize_t r = recvmsg(sock, &m, flags);
    int got = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); r >= 0 && c != NULL; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            memcpy(fds + got, CMSG_DATA(c), sizeof(int) * k);
            got += k;
        }
    }
    *n = got;
    if (msg_flags)
        *msg_flags = m.msg_flags;
    return r;
}

static void fd_passing(void)
{
    int sv[2], p[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pipe(p);
    pid_t child = fork();
    if (child == 0) {
        /* Receives a pipe's write end and answers through it. */
        close(sv[0]);
        close(p[1]);
        close(p[0]);
        int fds[4], n;
        if (recv_fds(sv[1], fds, &n, 4, 0, NULL) != 1 || n != 1)
            _exit(2);
        _exit(write(fds[0], "via passed fd", 13) == 13 ? 0 : 3);
    }
    close(sv[1]);
    check(send_fds(sv[0], &p[1], 1, "x", 1) == 1, "SCM_RIGHTS: a pipe's write end sent");
    close(p[1]);
    char buf[32] = { 0 };
    check(read_all(p[0], buf, 13) == 0 && memcmp(buf, "via passed fd", 13) == 0,
          "SCM_RIGHTS: the child wrote through the passed descriptor");
    int status;
    wait_child(child, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "SCM_RIGHTS: the child received exactly one descriptor");
    check(read(p[0], buf, 1) == 0, "SCM_RIGHTS: the pipe sees EOF once every copy is closed");
    close(p[0]);
    close(sv[0]);

    /* Within one process: a socket sent over itself arrives as a new fd. */
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    int fds[256], n;
    check(send_fds(sv[0], &sv[0], 1, "s", 1) == 1, "SCM_RIGHTS: a socket sent over its own pair");
    ssize_t r = recv_fds(sv[1], fds, &n, 4, MSG_CMSG_CLOEXEC, NULL);
    check(r == 1 && n == 1 && fds[0] != sv[0], "SCM_RIGHTS: received as a new descriptor");
    struct stat a, b;
    fstat(fds[0], &a);
    fstat(sv[0], &b);
    check(a.st_ino == b.st_ino && S_ISSOCK(a.st_mode), "SCM_RIGHTS: the same socket (inode, S_IFSOCK)");
    check(fcntl(fds[0], F_GETFD) == FD_CLOEXEC, "SCM_RIGHTS: MSG_CMSG_CLOEXEC sets FD_CLOEXEC");
    close(fds[0]);

    /* Linux's SCM_MAX_FD: 253 at once, 254 are EINVAL; a closed
     * descriptor is EBADF. */
    int many[254];
    int devnull = open("/dev/null", O_RDONLY);
    for (int i = 0; i < 254; i++)
        many[i] = devnull;
    check(send_fds(sv[0], many, 253, "m", 1) == 1, "SCM_RIGHTS: 253 descriptors in one message");
    r = recv_fds(sv[1], fds, &n, 253, 0, NULL);
    check(r == 1 && n == 253, "SCM_RIGHTS: 253 descriptors received");
    for (int i = 0; i < n; i++)
        close(fds[i]);
    expect_errno(send_fds(sv[0], many, 254, "m", 1), EINVAL, "SCM_RIGHTS with 254 descriptors");
    int closed_fd = 1000;
    expect_errno(send_fds(sv[0], &closed_fd, 1, "m", 1), EBADF, "SCM_RIGHTS with a closed descriptor");
    close(devnull);
    close(sv[0]);
    close(sv[1]);
}

static void credentials(void)
{
    int sv[2], on = 1;
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    struct ucred peer;
    socklen_t len = sizeof peer;
    check(getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &peer, &len) == 0 && len == sizeof peer &&
              peer.pid == getpid() && peer.uid == getuid() && peer.gid == getgid(),
          "SO_PEERCRED of a socketpair: our pid, uid, gid");
    setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
    int v = 0;
    len = sizeof v;
    check(getsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &v, &len) == 0 && v == 1, "SO_PASSCRED reads back");
    pid_t child = fork();
    if (child == 0) {
        _exit(send(sv[0], "c", 1, 0) == 1 ? 0 : 1);
    }
    int status;
    wait_child(child, &status, 0);
    char buf[8], control[CMSG_SPACE(sizeof(struct ucred))];
    struct iovec iov = { buf, sizeof buf };
    struct msghdr m = { 0 };
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    ssize_t r = recvmsg(sv[1], &m, 0);
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    struct ucred got = { 0, 0, 0 };
    if (c != NULL && c->cmsg_type == SCM_CREDENTIALS)
        memcpy(&got, CMSG_DATA(c), sizeof got);
    check(r == 1 && c != NULL && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
              c->cmsg_len == CMSG_LEN(sizeof(struct ucred)),
          "SCM_CREDENTIALS arrive with SO_PASSCRED");
    check(got.pid == child && got.uid == getuid() && got.gid == getgid(), "SCM_CREDENTIALS: the sender's pid, uid, gid");

    /* Explicit credentials: our own are accepted; a pid nobody has is ESRCH. */
    struct ucred mine = { getpid(), getuid(), getgid() };
    memset(control, 0, sizeof control);
    m.msg_controllen = sizeof control;
    iov.iov_len = 1;
    c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_CREDENTIALS;
    c->cmsg_len = CMSG_LEN(sizeof mine);
    memcpy(CMSG_DATA(c), &mine, sizeof mine);
    check(sendmsg(sv[0], &m, 0) == 1, "SCM_CREDENTIALS: our own credentials sent explicitly");
    char rbuf[8];
    check(recv(sv[1], rbuf, sizeof rbuf, 0) == 1, "SCM_CREDENTIALS: explicit credentials received");
    mine.pid = 0x7ffffff0;
    memcpy(CMSG_DATA(c), &mine, sizeof mine);
    expect_errno(sendmsg(sv[0], &m, 0), ESRCH, "SCM_CREDENTIALS with a pid nobody has");
    c->cmsg_len = CMSG_LEN(sizeof mine - 4);
    expect_errno(sendmsg(sv[0], &m, 0), EINVAL, "SCM_CREDENTIALS of the wrong length");
    close(sv[0]);
    close(sv[1]);
}

static void datagrams(void)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    static char big[3000];
    memset(big, 'd', sizeof big);
    size_t sizes[] = { 1, 100, 0, 3000, 7 };
    int ok = 1;
    for (int i = 0; i < 5; i++)
        ok &= send(sv[0], big, sizes[i], 0) == (ssize_t)sizes[i];
    check(ok, "dgram: five datagrams sent (one empty)");
    char buf[4096];
    ok = 1;
    for (int i = 0; i < 4; i++)
        ok &= recv(sv[1], buf, sizeof buf, 0) == (ssize_t)sizes[i];
    check(ok, "dgram: each recv returns one whole datagram, the empty one as 0");
    /* A short buffer cuts the datagram; MSG_TRUNC says how long it was. */
    send(sv[0], big, 50, 0);
    send(sv[0], big, 60, 0);
    check(recv(sv[1], buf, 5, MSG_TRUNC) == 7, "dgram: recv(MSG_TRUNC) returns the whole length");
    check(recv(sv[1], buf, 10, MSG_PEEK) == 10, "dgram: MSG_PEEK of a part");
    struct iovec iov = { buf, 10 };
    struct msghdr m = { 0 };
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    check(recvmsg(sv[1], &m, 0) == 10 && (m.msg_flags & MSG_TRUNC), "dgram: a cut datagram sets MSG_TRUNC in msg_flags");
    check(recv(sv[1], buf, sizeof buf, 0) == 60, "dgram: the rest of a cut datagram is gone");
    expect_errno(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT), EAGAIN, "dgram: recv(MSG_DONTWAIT) on an empty queue");
    static char huge[300000];
    expect_errno(send(sv[0], huge, sizeof huge, 0), EMSGSIZE, "dgram: a datagram bigger than the send buffer");
    close(sv[0]);
    check(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT) == -1 && errno == EAGAIN,
          "dgram: no EOF when the peer of a pair closes (EAGAIN)");
    expect_errno(send(sv[1], "x", 1, 0), ECONNREFUSED, "dgram: send to a closed peer");
    close(sv[1]);

    /* Bound names: sendto/recvfrom, the sender's address, unbound senders. */
    struct sockaddr_un ra, sa, from;
    socklen_t rlen = abstract_addr(&ra, "dgram-r"), slen = abstract_addr(&sa, "dgram-s");
    int r = socket(AF_UNIX, SOCK_DGRAM, 0), s = socket(AF_UNIX, SOCK_DGRAM, 0), u = socket(AF_UNIX, SOCK_DGRAM, 0);
    check(bind(r, (struct sockaddr *)&ra, rlen) == 0 && bind(s, (struct sockaddr *)&sa, slen) == 0,
          "dgram: bind two abstract names");
    check(sendto(s, "hello", 5, 0, (struct sockaddr *)&ra, rlen) == 5, "dgram: sendto an abstract name");
    socklen_t flen = sizeof from;
    ssize_t n = recvfrom(r, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
    check(n == 5 && flen == slen && memcmp(&from, &sa, slen) == 0, "dgram: recvfrom gives the sender's name");
    sendto(u, "anon", 4, 0, (struct sockaddr *)&ra, rlen);
    flen = sizeof from;
    n = recvfrom(r, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
    check(n == 4 && flen == 0, "dgram: an unbound sender has no name (length 0)");
    expect_errno(send(u, "x", 1, 0), ENOTCONN, "dgram: send without a name or a peer");
    struct sockaddr_un none;
    socklen_t nlen = abstract_addr(&none, "nobody");
    expect_errno(sendto(u, "x", 1, 0, (struct sockaddr *)&none, nlen), ECONNREFUSED, "dgram: sendto a name nobody has");
    /* A receiver connected elsewhere refuses others: EPERM. */
    check(connect(r, (struct sockaddr *)&sa, slen) == 0, "dgram: connect to a name");
    expect_errno(sendto(u, "x", 1, 0, (struct sockaddr *)&ra, rlen), EPERM, "dgram: sendto a socket connected to another");
    check(send(r, "back", 4, 0) == 4 && recv(s, buf, sizeof buf, 0) == 4, "dgram: send on a connected socket");
    struct sockaddr unspec = { .sa_family = AF_UNSPEC };
    check(connect(r, &unspec, sizeof unspec) == 0, "dgram: connect(AF_UNSPEC) disconnects");
    check(sendto(u, "y", 1, 0, (struct sockaddr *)&ra, rlen) == 1, "dgram: a disconnected socket takes anyone's datagrams");
    recv(r, buf, sizeof buf, 0);
    /* An unconnected receiver queues a bounded number of datagrams. */
    int queued = 0;
    for (int i = 0; i < 40; i++) {
        if (sendto(u, "q", 1, MSG_DONTWAIT, (struct sockaddr *)&ra, rlen) != 1)
            break;
        queued++;
    }
    printf("dgram: queue of an unconnected receiver fills after %d datagrams, then %s\n", queued,
           errno_name(errno));
    close(r);
    close(s);
    close(u);
}

static void seqpacket(void)
{
    int sv[2];
    check(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0, "seqpacket: socketpair");
    send(sv[0], "first record", 12, 0);
    send(sv[0], "second", 6, 0);
    char buf[64];
    struct iovec iov = { buf, 5 };
    struct msghdr m = { 0 };
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    check(recvmsg(sv[1], &m, 0) == 5 && (m.msg_flags & MSG_TRUNC) && memcmp(buf, "first", 5) == 0,
          "seqpacket: a short read cuts the record (MSG_TRUNC)");
    check(recv(sv[1], buf, sizeof buf, 0) == 6 && memcmp(buf, "second", 6) == 0,
          "seqpacket: the next read starts at the next record");
    close(sv[0]);
    check(recv(sv[1], buf, sizeof buf, 0) == 0, "seqpacket: EOF after the peer closes");
    expect_errno(send(sv[1], "x", 1, 0), EPIPE, "seqpacket: send after the peer closed");
    close(sv[1]);

    struct sockaddr_un sa;
    socklen_t len = abstract_addr(&sa, "seqpacket");
    int l = socket(AF_UNIX, SOCK_SEQPACKET, 0), c = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    expect_errno(send(c, "x", 1, 0), ENOTCONN, "seqpacket: send before connect");
    check(bind(l, (struct sockaddr *)&sa, len) == 0 && listen(l, 1) == 0, "seqpacket: listen on an abstract name");
    check(connect(c, (struct sockaddr *)&sa, len) == 0, "seqpacket: connect");
    int a = accept(l, NULL, NULL);
    check(send(a, "hi", 2, 0) == 2, "seqpacket: the server sends first");
    struct sockaddr_un from;
    struct iovec iov2 = { buf, sizeof buf };
    struct msghdr m2 = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov2, .msg_iovlen = 1 };
    check(recvmsg(c, &m2, 0) == 2 && m2.msg_namelen == len && memcmp(&from, &sa, len) == 0,
          "seqpacket: recvmsg names the sender (the listener's name)");
    check(send(c, "abc", 3, 0) == 3 && send(c, "defgh", 5, 0) == 5, "seqpacket: two records sent");
    check(recv(a, buf, sizeof buf, 0) == 3 && recv(a, buf, sizeof buf, 0) == 5, "seqpacket: two records received");
    close(a);
    close(c);
    close(l);
}

static void names(void)
{
    struct sockaddr_un sa, got;
    socklen_t len = path_addr(&sa, path_b), glen;
    mode_t old = umask(022);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    check(bind(s, (struct sockaddr *)&sa, len) == 0, "path: bind");
    umask(old);
    struct stat st;
    check(lstat(path_b, &st) == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0755,
          "path: bind made a socket inode (S_IFSOCK, 0777 less the umask)");
    expect_errno(open(path_b, O_RDONLY), ENXIO, "path: open of a socket inode");
    glen = sizeof got;
    check(getsockname(s, (struct sockaddr *)&got, &glen) == 0 && glen == len && strcmp(got.sun_path, path_b) == 0,
          "path: getsockname gives the path with its NUL");
    int t = socket(AF_UNIX, SOCK_STREAM, 0);
    expect_errno(bind(t, (struct sockaddr *)&sa, len), EADDRINUSE, "path: bind to an existing name");
    struct sockaddr_un other;
    socklen_t olen = path_addr(&other, path_c);
    expect_errno(bind(s, (struct sockaddr *)&other, olen), EINVAL, "path: bind of a bound socket to a new path");
    check(lstat(path_c, &st) == -1 && errno == ENOENT, "path: a refused bind leaves no inode");
    expect_errno(connect(t, (struct sockaddr *)&sa, len), ECONNREFUSED, "path: connect to a socket that does not listen");
    close(s);
    check(lstat(path_b, &st) == 0, "path: the name stays after close");
    expect_errno(connect(t, (struct sockaddr *)&sa, len), ECONNREFUSED, "path: connect to a name nobody serves");
    unlink(path_b);
    expect_errno(connect(t, (struct sockaddr *)&sa, len), ENOENT, "path: connect to a missing path");
    char missing_dir[160];
    snprintf(missing_dir, sizeof missing_dir, "%s.d/x", path_b);
    struct sockaddr_un md;
    socklen_t mdlen = path_addr(&md, missing_dir);
    expect_errno(bind(t, (struct sockaddr *)&md, mdlen), ENOENT, "path: bind in a missing directory");
    int f = open(path_b, O_CREAT | O_WRONLY, 0600);
    close(f);
    expect_errno(connect(t, (struct sockaddr *)&sa, len), ECONNREFUSED, "path: connect to a regular file");
    unlink(path_b);
    close(t);

    /* Abstract names. */
    struct sockaddr_un aa;
    socklen_t alen = abstract_addr(&aa, "names");
    int x = socket(AF_UNIX, SOCK_STREAM, 0), y = socket(AF_UNIX, SOCK_STREAM, 0);
    check(bind(x, (struct sockaddr *)&aa, alen) == 0, "abstract: bind");
    expect_errno(bind(y, (struct sockaddr *)&aa, alen), EADDRINUSE, "abstract: bind to a name in use");
    glen = sizeof got;
    check(getsockname(x, (struct sockaddr *)&got, &glen) == 0 && glen == alen && got.sun_path[0] == 0 &&
              memcmp(&got, &aa, alen) == 0,
          "abstract: getsockname gives the name with its leading NUL");
    close(x);
    check(bind(y, (struct sockaddr *)&aa, alen) == 0, "abstract: the name is free again after close");
    close(y);
    /* Autobind: a bind with only the family gives a 5-digit abstract name. */
    int z = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un fam = { .sun_family = AF_UNIX };
    check(bind(z, (struct sockaddr *)&fam, sizeof(sa_family_t)) == 0, "autobind: bind with only the family");
    glen = sizeof got;
    getsockname(z, (struct sockaddr *)&got, &glen);
    check(glen == offsetof(struct sockaddr_un, sun_path) + 6 && got.sun_path[0] == 0,
          "autobind: an abstract name of 5 characters");
    close(z);
    int w = socket(AF_UNIX, SOCK_STREAM, 0);
    glen = sizeof got;
    check(getsockname(w, (struct sockaddr *)&got, &glen) == 0 && glen == sizeof(sa_family_t),
          "unbound: getsockname gives only the family");
    close(w);
}

static void errors(void)
{
    expect_errno(socket(AF_UNIX, SOCK_STREAM, 7), EPROTONOSUPPORT, "socket(AF_UNIX, protocol 7)");
    expect_errno(socket(AF_UNIX, 10 /* SOCK_PACKET */, 0), ESOCKTNOSUPPORT, "socket(AF_UNIX, SOCK_PACKET)");
    expect_errno(socket(AF_UNIX, 11, 0), EINVAL, "socket(AF_UNIX, type 11)");
    expect_errno(socket(46, SOCK_STREAM, 0), EAFNOSUPPORT, "socket(family 46)");
    int p[2];
    pipe(p);
    expect_errno(listen(p[0], 1), ENOTSOCK, "listen on a pipe");
    close(p[0]);
    close(p[1]);
    expect_errno(listen(999, 1), EBADF, "listen on a closed descriptor");
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    expect_errno(listen(d, 1), EOPNOTSUPP, "listen on a datagram socket");
    expect_errno(accept(d, NULL, NULL), EOPNOTSUPP, "accept on a datagram socket");
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    expect_errno(listen(s, 1), EINVAL, "listen on an unbound socket");
    expect_errno(accept(s, NULL, NULL), EINVAL, "accept on a socket that does not listen");
    expect_errno(accept4(s, NULL, NULL, 0x1234), EINVAL, "accept4 with unknown flags");
    char buf[8];
    expect_errno(recv(s, buf, 1, 0), EINVAL, "stream: recv before connect");
    expect_errno(send(s, "x", 1, 0), ENOTCONN, "stream: send before connect");
    struct sockaddr_un peer;
    socklen_t plen = sizeof peer;
    expect_errno(getpeername(s, (struct sockaddr *)&peer, &plen), ENOTCONN, "getpeername before connect");
    struct sockaddr_un da;
    socklen_t dlen = abstract_addr(&da, "errors-dgram");
    bind(d, (struct sockaddr *)&da, dlen);
    /* Abstract names are per type; a path name says EPROTOTYPE. */
    expect_errno(connect(s, (struct sockaddr *)&da, dlen), ECONNREFUSED,
                 "stream: connect to a datagram socket's abstract name");
    int dp = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un pa;
    socklen_t palen = path_addr(&pa, path_c);
    bind(dp, (struct sockaddr *)&pa, palen);
    expect_errno(connect(s, (struct sockaddr *)&pa, palen), EPROTOTYPE, "stream: connect to a datagram socket's path");
    close(dp);
    unlink(path_c);
    int ds = socket(AF_UNIX, SOCK_STREAM, 0);
    check(bind(ds, (struct sockaddr *)&da, dlen) == 0, "abstract: a stream socket may take a datagram socket's name");
    close(ds);
    struct sockaddr_un nob;
    socklen_t nlen = abstract_addr(&nob, "errors-nobody");
    expect_errno(connect(s, (struct sockaddr *)&nob, nlen), ECONNREFUSED, "stream: connect to an abstract name nobody has");
    struct sockaddr_un bad = { .sun_family = AF_UNIX + 1 };
    expect_errno(connect(s, (struct sockaddr *)&bad, sizeof bad), EINVAL, "connect with another family");
    expect_errno(shutdown(s, 3), EINVAL, "shutdown(3)");
    int v;
    socklen_t vlen = sizeof v;
    expect_errno(getsockopt(s, SOL_SOCKET, 9999, &v, &vlen), ENOPROTOOPT, "getsockopt of an unknown option");
    vlen = sizeof v;
    expect_errno(getsockopt(s, 6 /* IPPROTO_TCP */, 1, &v, &vlen), EOPNOTSUPP, "getsockopt at level IPPROTO_TCP");
    v = 1;
    expect_errno(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, 2), EINVAL, "setsockopt with a short value");
    close(d);

    /* A connected pair: EISCONN, sendto on a stream, EPIPE with SIGPIPE ignored. */
    struct sockaddr_un la;
    socklen_t llen = abstract_addr(&la, "errors-listen");
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(l, (struct sockaddr *)&la, llen);
    listen(l, 5);
    check(connect(s, (struct sockaddr *)&la, llen) == 0, "stream: connect before accept");
    expect_errno(connect(s, (struct sockaddr *)&la, llen), EISCONN, "stream: connect of a connected socket");
    expect_errno(sendto(s, "x", 1, 0, (struct sockaddr *)&la, llen), EISCONN, "stream: sendto with a name");
    check(send(s, "early", 5, 0) == 5, "stream: data sent before the server accepts");
    struct sockaddr_un got;
    socklen_t glen = sizeof got;
    int a = accept4(l, (struct sockaddr *)&got, &glen, SOCK_NONBLOCK | SOCK_CLOEXEC);
    check(a >= 0 && glen == sizeof(sa_family_t), "accept4: an unbound client's address is only the family");
    check((fcntl(a, F_GETFL) & O_NONBLOCK) && fcntl(a, F_GETFD) == FD_CLOEXEC, "accept4: SOCK_NONBLOCK and SOCK_CLOEXEC");
    struct iovec iov = { buf, sizeof buf };
    struct sockaddr_un from;
    struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1 };
    check(recvmsg(a, &m, 0) == 5, "stream: the early data is there after accept");
    check(m.msg_namelen == 0, "stream: recvmsg from an unbound sender gives no name");
    expect_errno(recv(a, buf, sizeof buf, 0), EAGAIN, "stream: recv on an empty non-blocking socket");
    glen = sizeof got;
    check(getpeername(s, (struct sockaddr *)&got, &glen) == 0 && glen == llen && memcmp(&got, &la, llen) == 0,
          "getpeername gives the listener's name");
    glen = sizeof got;
    check(getsockname(a, (struct sockaddr *)&got, &glen) == 0 && glen == llen, "an accepted socket has the listener's name");
    close(a);
    expect_errno(send(s, "x", 1, 0), EPIPE, "stream: send after the peer closed (SIGPIPE ignored)");
    close(s);
    close(l);
}

static void stream_semantics(void)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    char buf[64];
    send(sv[0], "abc", 3, 0);
    send(sv[0], "def", 3, 0);
    check(recv(sv[1], buf, 4, MSG_PEEK) == 4 && memcmp(buf, "abcd", 4) == 0, "stream: MSG_PEEK across writes");
    check(recv(sv[1], buf, sizeof buf, 0) == 6 && memcmp(buf, "abcdef", 6) == 0, "stream: writes join in one read");
    pid_t child = fork();
    if (child == 0) {
        for (int i = 0; i < 4; i++) {
            sleep_ms(20);
            send(sv[0], "ab", 2, 0);
        }
        _exit(0);
    }
    check(recv(sv[1], buf, 8, MSG_WAITALL) == 8, "stream: MSG_WAITALL waits for the whole length");
    int status;
    wait_child(child, &status, 0);
    check(shutdown(sv[0], SHUT_WR) == 0, "stream: shutdown(SHUT_WR)");
    check(recv(sv[1], buf, sizeof buf, 0) == 0, "stream: the peer reads EOF after SHUT_WR");
    expect_errno(send(sv[0], "x", 1, 0), EPIPE, "stream: send after SHUT_WR");
    check(send(sv[1], "back", 4, 0) == 4 && recv(sv[0], buf, sizeof buf, 0) == 4,
          "stream: the other direction still works after SHUT_WR");
    /* A bound sender's name comes with its bytes. */
    struct sockaddr_un la, ca, from;
    socklen_t llen = abstract_addr(&la, "stream-l"), clen = abstract_addr(&ca, "stream-c");
    int l = socket(AF_UNIX, SOCK_STREAM, 0), cl = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(l, (struct sockaddr *)&la, llen);
    listen(l, 1);
    bind(cl, (struct sockaddr *)&ca, clen);
    connect(cl, (struct sockaddr *)&la, llen);
    int a = accept(l, NULL, NULL);
    send(cl, "named", 5, 0);
    struct iovec iov = { buf, sizeof buf };
    struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1 };
    check(recvmsg(a, &m, 0) == 5 && m.msg_namelen == clen && memcmp(&from, &ca, clen) == 0,
          "stream: recvmsg names a bound sender");
    close(a);
    close(cl);
    close(l);
    /* Unread data at close: the peer's next read is ECONNRESET, then EOF. */
    send(sv[1], "unread", 6, 0);
    close(sv[0]);
    expect_errno(recv(sv[1], buf, sizeof buf, 0), ECONNRESET, "stream: read after the peer closed with unread data");
    check(recv(sv[1], buf, sizeof buf, 0) == 0, "stream: then EOF");
    close(sv[1]);

    /* Buffer sizes: setsockopt doubles, getsockopt reports it. */
    int s = socket(AF_UNIX, SOCK_STREAM, 0), v = 65536;
    socklen_t len = sizeof v;
    setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
    getsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, &len);
    printf("SO_RCVBUF after setting 65536: %d\n", v);
    v = 65536;
    setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    getsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, &len);
    printf("SO_SNDBUF after setting 65536: %d\n", v);
    getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &len);
    check(v == SOCK_STREAM, "SO_TYPE of a stream socket");
    getsockopt(s, SOL_SOCKET, SO_ERROR, &v, &len);
    check(v == 0, "SO_ERROR of a fresh socket is 0");
    struct ucred c;
    len = sizeof c;
    getsockopt(s, SOL_SOCKET, SO_PEERCRED, &c, &len);
    printf("SO_PEERCRED of an unconnected socket: pid %d uid %d gid %d\n", c.pid, (int)c.uid, (int)c.gid);
    struct stat st;
    check(fstat(s, &st) == 0 && S_ISSOCK(st.st_mode), "fstat of a socket: S_IFSOCK");
    close(s);

    /* A full send buffer: a non-blocking send is EAGAIN, and a blocking one
     * waits until the reader drains it. */
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
    static char chunk[4096];
    size_t total = 0;
    while (send(sv[0], chunk, sizeof chunk, 0) > 0)
        total += sizeof chunk;
    check(errno == EAGAIN && total > 0, "stream: a full socket gives EAGAIN to a non-blocking send");
    struct pollfd pfd = { sv[0], POLLOUT, 0 };
    check(poll(&pfd, 1, 0) == 0, "poll: a full socket is not writable");
    size_t drained = 0;
    ssize_t n;
    while ((n = recv(sv[1], chunk, sizeof chunk, 0)) > 0)
        drained += (size_t)n;
    check(drained == total, "stream: everything sent is received");
    check(poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLOUT), "poll: writable again once drained");
    close(sv[0]);
    close(sv[1]);
}

static void poll_readiness(void)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    struct pollfd p = { sv[1], POLLIN | POLLOUT | POLLRDHUP, 0 };
    poll(&p, 1, 0);
    printf("poll: fresh stream pair: %#x\n", p.revents);
    send(sv[0], "x", 1, 0);
    poll(&p, 1, 0);
    printf("poll: with data: %#x\n", p.revents);
    shutdown(sv[0], SHUT_WR);
    poll(&p, 1, 0);
    printf("poll: after the peer's SHUT_WR: %#x\n", p.revents);
    close(sv[0]);
    poll(&p, 1, 0);
    printf("poll: after the peer closed: %#x\n", p.revents);
    close(sv[1]);

    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    p.fd = s;
    poll(&p, 1, 0);
    printf("poll: unconnected stream socket: %#x\n", p.revents);
    struct sockaddr_un la;
    socklen_t llen = abstract_addr(&la, "poll");
    bind(s, (struct sockaddr *)&la, llen);
    listen(s, 2);
    poll(&p, 1, 0);
    printf("poll: listening socket, nobody waiting: %#x\n", p.revents);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&la, llen);
    poll(&p, 1, 0);
    printf("poll: listening socket, a connection waiting: %#x\n", p.revents);
    close(c);
    close(s);

    int d[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, d);
    p.fd = d[1];
    poll(&p, 1, 0);
    printf("poll: datagram pair: %#x\n", p.revents);
    close(d[0]);
    poll(&p, 1, 0);
    printf("poll: datagram pair after the peer closed: %#x\n", p.revents);
    close(d[1]);

    /* A sleeping poll is woken by a writer in another process; ppoll and
     * select see the same. */
    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
    pid_t child = fork();
    if (child == 0) {
        sleep_ms(100);
        send(sv[0], "wake", 4, 0);
        _exit(0);
    }
    struct pollfd w = { sv[1], POLLIN, 0 };
    check(poll(&w, 1, 10000) == 1 && w.revents == POLLIN, "poll: woken by data from another process");
    struct timespec zero = { 0, 0 };
    check(ppoll(&w, 1, &zero, NULL) == 1, "ppoll: readable");
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(sv[1], &rs);
    struct timeval tv = { 0, 0 };
    check(select(sv[1] + 1, &rs, NULL, NULL, &tv) == 1 && FD_ISSET(sv[1], &rs), "select: readable");
    int status;
    wait_child(child, &status, 0);
    close(sv[0]);
    close(sv[1]);
}

static volatile sig_atomic_t alarms;
static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

static void interrupted(void)
{
    struct sigaction sa = { 0 };
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    char buf[8];
    ualarm(100000, 0);
    expect_errno(recv(sv[1], buf, sizeof buf, 0), EINTR, "stream: blocking recv interrupted by a handler");
    /* With SA_RESTART the recv goes on and gets the data sent later. */
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    pid_t child = fork();
    if (child == 0) {
        sleep_ms(300);
        send(sv[0], "late", 4, 0);
        _exit(0);
    }
    ualarm(100000, 0);
    check(recv(sv[1], buf, sizeof buf, 0) == 4 && alarms == 2, "stream: SA_RESTART restarts a blocking recv");
    int status;
    wait_child(child, &status, 0);
    /* accept is interrupted as well. */
    sa.sa_flags = 0;
    sigaction(SIGALRM, &sa, NULL);
    struct sockaddr_un la;
    socklen_t llen = abstract_addr(&la, "intr");
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(l, (struct sockaddr *)&la, llen);
    listen(l, 1);
    ualarm(100000, 0);
    expect_errno(accept(l, NULL, NULL), EINTR, "accept interrupted by a handler");
    close(l);
    /* SIGPIPE is sent when not ignored, and not with MSG_NOSIGNAL. */
    struct sigaction pipe_sa = { 0 };
    pipe_sa.sa_handler = on_alarm;
    sigaction(SIGPIPE, &pipe_sa, NULL);
    alarms = 0;
    close(sv[0]);
    expect_errno(send(sv[1], "x", 1, MSG_NOSIGNAL), EPIPE, "stream: send(MSG_NOSIGNAL) to a closed peer");
    check(alarms == 0, "stream: MSG_NOSIGNAL sends no SIGPIPE");
    expect_errno(write(sv[1], "x", 1), EPIPE, "stream: write to a closed peer");
    check(alarms == 1, "stream: SIGPIPE with EPIPE");
    signal(SIGPIPE, SIG_IGN);
    close(sv[1]);
}

struct ping {
    int fd;
    int rounds;
};

static void *pong(void *arg)
{
    struct ping *p = arg;
    int v;
    for (int i = 0; i < p->rounds; i++) {
        if (recv(p->fd, &v, sizeof v, 0) != sizeof v)
            return (void *)1;
        v++;
        if (send(p->fd, &v, sizeof v, 0) != sizeof v)
            return (void *)2;
    }
    return NULL;
}

static void threads(void)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
    struct ping p = { sv[1], 1000 };
    pthread_t t;
    pthread_create(&t, NULL, pong, &p);
    int v = 0, ok = 1;
    for (int i = 0; i < 1000 && ok; i++) {
        int w = v;
        ok = send(sv[0], &w, sizeof w, 0) == sizeof w && recv(sv[0], &v, sizeof v, 0) == sizeof v && v == w + 1;
    }
    void *ret;
    pthread_join(t, &ret);
    check(ok && ret == NULL && v == 1000, "threads: 1000 round trips over a socketpair");
    close(sv[0]);
    close(sv[1]);
}

/* This kernel only: families the host has, refused here as by a Linux
 * without networking. */
/* MemFree in KiB. */
static long mem_free_kib(void)
{
    char buf[4096];
    if (read_whole_file("/proc/meminfo", buf, sizeof buf) <= 0)
        return -1;
    char *line = strstr(buf, "MemFree:");
    return line ? strtol(line + strlen("MemFree:"), NULL, 10) : -1;
}

/* Sockets kept alive only by their own queues are freed: 1200 sockets
 * sent over themselves and 1200 pairs sent over each other, all closed,
 * leave the free memory where it was (each would hold a few KiB). */
static void garbage_collected(void)
{
    long before = mem_free_kib();
    for (int i = 0; i < 1200; i++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0)
            break;
        send_fds(sv[0], &sv[1], 1, "g", 1); /* sv[1] in its own queue */
        close(sv[0]);
        close(sv[1]);
        socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
        send_fds(sv[0], &sv[0], 1, "g", 1); /* sv[0] in sv[1]'s queue */
        send_fds(sv[1], &sv[1], 1, "g", 1); /* and sv[1] in sv[0]'s */
        close(sv[0]);
        close(sv[1]);
    }
    /* One more release runs the collector over what is left. */
    int s = socket(AF_UNIX, SOCK_DGRAM, 0);
    close(s);
    long after = mem_free_kib();
    check(before > 0 && after > 0 && before - after < 1024,
          "garbage: sockets only their own queues hold are freed");
}

static void kernel_only(void)
{
    garbage_collected();
    expect_errno(socket(AF_UNIX, SOCK_STREAM | 0x100000, 0), EINVAL, "socket with an unknown type flag");
    int sv[2], fds[256], n;
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    int many[3];
    int devnull = open("/dev/null", O_RDONLY);
    for (int i = 0; i < 3; i++)
        many[i] = devnull;
    /* Room for two of three: MSG_CTRUNC, two installed, the third closed
     * (qemu-user's
     * recvmsg sets no MSG_CTRUNC). */
    int flags;
    check(send_fds(sv[0], many, 3, "t", 1) == 1, "SCM_RIGHTS: three descriptors sent");
    check(recv_fds(sv[1], fds, &n, 2, 0, &flags) == 1 && n == 2 && (flags & MSG_CTRUNC),
          "SCM_RIGHTS: control room for two gives two and MSG_CTRUNC");
    close(fds[0]);
    close(fds[1]);
    close(devnull);
    close(sv[0]);
    close(sv[1]);
    expect_errno(socket(2 /* AF_INET */, SOCK_STREAM, 0), EAFNOSUPPORT, "socket(AF_INET)");
    expect_errno(socket(10 /* AF_INET6 */, SOCK_DGRAM, 0), EAFNOSUPPORT, "socket(AF_INET6)");
    expect_errno(socket(16 /* AF_NETLINK */, SOCK_RAW, 0), EAFNOSUPPORT, "socket(AF_NETLINK)");
}

int main(int argc, char **argv)
{
    test_init();
    signal(SIGPIPE, SIG_IGN);
    if (argc > 1 && strcmp(argv[1], "kernel") == 0) {
        kernel_only();
        return finish();
    }
    snprintf(path_a, sizeof path_a, "/tmp/t_unix.%d.a", (int)getpid());
    snprintf(path_b, sizeof path_b, "/tmp/t_unix.%d.b", (int)getpid());
    snprintf(path_c, sizeof path_c, "/tmp/t_unix.%d.c", (int)getpid());
    errors();
    names();
    datagrams();
    seqpacket();
    stream_semantics();
    poll_readiness();
    credentials();
    fd_passing();
    interrupted();
    threads();
    ten_mib_exchange();
    return finish();
}
