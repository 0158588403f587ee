/*
 * System V IPC: semaphores (semget keys and limits, semctl values and
 * status, all-or-nothing semop, waits across processes woken by another
 * process, semtimedop's timeout, SEM_UNDO undone at process exit but not at
 * a thread's, SETVAL cancelling adjustments, EIDRM, EINTR) and message
 * queues (types, MSG_EXCEPT, E2BIG and MSG_NOERROR, blocking send and
 * receive across processes, EIDRM), and both listed in /proc/sysvipc.
 *
 * qemu-user passes these calls to the host kernel, so the reference run is
 * Linux's own IPC, shared between processes as here. Objects are private
 * or keyed by the PID, and removed at the end.
 */
#include "common.h"

#include <pthread.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/syscall.h>

union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

static int semval(int id, int n) { return semctl(id, n, GETVAL); }

static int sem_op(int id, unsigned short num, short op, short flg)
{
    struct sembuf b = { num, op, flg };
    return semop(id, &b, 1);
}

/* Waits up to 5 s until GETNCNT (or GETZCNT) of semaphore n reads want. */
static int wait_count(int id, int n, int cmd, int want)
{
    for (int i = 0; i < 500; i++) {
        if (semctl(id, n, cmd) == want)
            return 1;
        sleep_ms(10);
    }
    return 0;
}

/* Whether /proc/sysvipc/<file> has a line whose second field is id and
   whose third (perms, octal) is mode. */
static int in_proc(const char *file, int id, int mode)
{
    char path[64], buf[16384];
    snprintf(path, sizeof path, "/proc/sysvipc/%s", file);
    if (read_whole_file(path, buf, sizeof buf) <= 0)
        return 0;
    for (char *line = strchr(buf, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
        int key, lid;
        unsigned perms;
        if (sscanf(line + 1, "%d %d %o", &key, &lid, &perms) == 3 && lid == id && (int)(perms & 0777) == mode)
            return 1;
    }
    return 0;
}

static void on_usr1(int sig) { (void)sig; }

/* Waits up to 5 s until process pid sleeps (state S). */
static int wait_sleeping(pid_t pid)
{
    for (int i = 0; i < 500; i++) {
        if (proc_state(pid) == 'S')
            return 1;
        sleep_ms(10);
    }
    return 0;
}

static void *undo_thread(void *p)
{
    int id = *(int *)p;
    sem_op(id, 2, 4, SEM_UNDO);
    return NULL;
}

static void check_semaphores(void)
{
    expect_errno(semget(IPC_PRIVATE, 0, 0600), EINVAL, "semget of a new set with 0 semaphores");
    expect_errno(semget(IPC_PRIVATE, 32001, 0600), EINVAL, "semget of 32001 semaphores");
    key_t key = (key_t)(0x15150000 ^ getpid());
    int k = semget(key, 2, IPC_CREAT | IPC_EXCL | 0600);
    check(k >= 0, "semget with a key creates");
    check(semget(key, 2, 0) == k, "semget with the key finds the same set");
    expect_errno(semget(key, 2, IPC_CREAT | IPC_EXCL | 0600), EEXIST, "semget IPC_CREAT|IPC_EXCL of an existing key");
    expect_errno(semget(key, 3, 0), EINVAL, "semget asking for more semaphores than the set has");
    check(semctl(k, 0, IPC_RMID) == 0, "semctl IPC_RMID");
    expect_errno(semget(key, 2, 0), ENOENT, "semget of a removed key");

    int id = semget(IPC_PRIVATE, 3, 0600);
    check(id >= 0, "semget IPC_PRIVATE");
    struct semid_ds ds;
    union semun arg = { .buf = &ds };
    check(semctl(id, 0, IPC_STAT, arg) == 0 && ds.sem_nsems == 3 && (ds.sem_perm.mode & 0777) == 0600 &&
              ds.sem_otime == 0,
          "IPC_STAT: 3 semaphores, mode 0600, never operated on");
    check(in_proc("sem", id, 0600), "the set is in /proc/sysvipc/sem");
    unsigned short vals[3] = { 1, 2, 3 }, got[3] = { 0 };
    arg.array = vals;
    check(semctl(id, 0, SETALL, arg) == 0, "SETALL");
    arg.array = got;
    check(semctl(id, 0, GETALL, arg) == 0 && got[0] == 1 && got[1] == 2 && got[2] == 3, "GETALL reads them back");
    check(semval(id, 1) == 2, "GETVAL");
    arg.val = 40000;
    expect_errno(semctl(id, 0, SETVAL, arg), ERANGE, "SETVAL 40000");
    expect_errno(semctl(id, 3, GETVAL), EINVAL, "GETVAL of semaphore 3 of 3");

    check(sem_op(id, 0, -1, 0) == 0 && semval(id, 0) == 0, "semop -1");
    check(semctl(id, 0, GETPID) == getpid(), "GETPID is the last process to change it");
    arg.buf = &ds;
    semctl(id, 0, IPC_STAT, arg);
    check(ds.sem_otime != 0, "sem_otime is set by semop");
    expect_errno(sem_op(id, 0, -1, IPC_NOWAIT), EAGAIN, "semop that would block, IPC_NOWAIT");
    struct sembuf two[2] = { { 1, -1, 0 }, { 0, -1, IPC_NOWAIT } };
    expect_errno(semop(id, two, 2), EAGAIN, "two operations, the second blocking");
    check(semval(id, 1) == 2, "the first of them did not happen");
    expect_errno(sem_op(id, 5, 1, 0), EFBIG, "semop on semaphore 5 of 3");
    expect_errno(semop(id, two, 0), EINVAL, "semop with no operations");
    static struct sembuf many[501];
    expect_errno(semop(id, many, 501), E2BIG, "semop with 501 operations");
    expect_errno(sem_op(id, 2, 32767, 0), ERANGE, "semop past SEMVMX");

    /* A sleeper in another process, woken by our semop. */
    fflush(stdout);
    pid_t c = fork();
    if (c == 0)
        _exit(sem_op(id, 0, -1, 0) == 0 ? 0 : 1);
    check(wait_count(id, 0, GETNCNT, 1), "GETNCNT counts the waiting child");
    sem_op(id, 0, 1, 0);
    int status;
    wait_child(c, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child's semop completes after ours");
    check(semctl(id, 0, GETNCNT) == 0, "GETNCNT back to 0");

    /* Waiting for zero. */
    sem_op(id, 0, 1, 0);
    c = fork();
    if (c == 0)
        _exit(sem_op(id, 0, 0, 0) == 0 ? 0 : 1);
    check(wait_count(id, 0, GETZCNT, 1), "GETZCNT counts a child waiting for zero");
    sem_op(id, 0, -1, 0);
    wait_child(c, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the wait for zero ends at zero");

    struct timespec tmo = { 0, 50000000 };
    struct sembuf dec = { 0, -1, 0 };
    expect_errno(semtimedop(id, &dec, 1, &tmo), EAGAIN, "semtimedop times out");

    /* SEM_UNDO: undone when the process exits. */
    c = fork();
    if (c == 0)
        _exit(sem_op(id, 2, 5, SEM_UNDO) == 0 && semval(id, 2) == 8 ? 0 : 1);
    wait_child(c, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0 && semval(id, 2) == 3, "SEM_UNDO is undone at exit");
    /* ... but not when one of its threads exits: the undo list is shared. */
    c = fork();
    if (c == 0) {
        pthread_t t;
        pthread_create(&t, NULL, undo_thread, &id);
        pthread_join(t, NULL);
        _exit(semval(id, 2) == 7 ? 0 : 1);
    }
    wait_child(c, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0 && semval(id, 2) == 3,
          "a thread's SEM_UNDO lasts until its process exits");
    /* SETVAL cancels the adjustments made before it. */
    int ready[2], go[2];
    pipe(ready);
    pipe(go);
    c = fork();
    if (c == 0) {
        char ch;
        sem_op(id, 2, 2, SEM_UNDO);
        write(ready[1], "r", 1);
        read(go[0], &ch, 1);
        _exit(0);
    }
    char ch;
    read(ready[0], &ch, 1);
    arg.val = 10;
    semctl(id, 2, SETVAL, arg);
    write(go[1], "g", 1);
    wait_child(c, &status, 0);
    check(semval(id, 2) == 10, "SETVAL cancels earlier SEM_UNDO adjustments");

    /* A signal handler ends the wait with EINTR, SA_RESTART or not. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    c = fork();
    if (c == 0)
        _exit(sem_op(id, 0, -1, 0) == -1 && errno == EINTR ? 0 : 1);
    wait_count(id, 0, GETNCNT, 1);
    kill(c, SIGUSR1);
    wait_child(c, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "semop interrupted by a handler: EINTR");

    /* Removing the set wakes its sleepers with EIDRM. */
    c = fork();
    if (c == 0)
        _exit(sem_op(id, 0, -1, 0) == -1 && errno == EIDRM ? 0 : 1);
    wait_count(id, 0, GETNCNT, 1);
    check(semctl(id, 0, IPC_RMID) == 0, "IPC_RMID with a sleeper");
    wait_child(c, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the sleeper gets EIDRM");
    check(!in_proc("sem", id, 0600), "the removed set is gone from /proc/sysvipc/sem");
    expect_errno(semval(id, 0), EINVAL, "GETVAL of a removed set");
}

struct msg {
    long mtype;
    char mtext[64];
};

static int send(int q, long type, const char *text, int flags)
{
    struct msg m;
    m.mtype = type;
    size_t n = strlen(text);
    memcpy(m.mtext, text, n);
    return msgsnd(q, &m, n, flags);
}

/* Receives into a NUL-terminated text; returns the length or -1. */
static long recv(int q, long type, size_t size, int flags, struct msg *m)
{
    memset(m, 0, sizeof *m);
    return msgrcv(q, m, size, type, flags);
}

static void check_messages(void)
{
    int q = msgget(IPC_PRIVATE, 0640);
    check(q >= 0, "msgget IPC_PRIVATE");
    check(in_proc("msg", q, 0640), "the queue is in /proc/sysvipc/msg");
    expect_errno(send(q, 0, "x", 0), EINVAL, "msgsnd of type 0");
    /* Big enough to read: qemu-user copies the buffer before it checks. */
    static struct {
        long mtype;
        char mtext[8200];
    } big = { 1, { 0 } };
    expect_errno(msgsnd(q, &big, 8193, 0), EINVAL, "msgsnd of 8193 bytes");
    send(q, 1, "one", 0);
    send(q, 2, "two", 0);
    send(q, 3, "three", 0);
    send(q, 1, "uno", 0);
    struct msqid_ds ds;
    check(msgctl(q, IPC_STAT, &ds) == 0 && ds.msg_qnum == 4 && ds.msg_cbytes == 14 && ds.msg_lspid == getpid(),
          "IPC_STAT: 4 messages, 14 bytes, our PID last sent");
    struct msg m;
    check(recv(q, 2, 64, 0, &m) == 3 && strcmp(m.mtext, "two") == 0 && m.mtype == 2, "msgrcv of type 2");
    check(recv(q, -3, 64, 0, &m) == 3 && strcmp(m.mtext, "one") == 0, "msgrcv of type -3: the lowest type first");
    check(recv(q, 1, 64, MSG_EXCEPT, &m) == 5 && strcmp(m.mtext, "three") == 0, "msgrcv MSG_EXCEPT type 1");
    check(recv(q, 0, 64, 0, &m) == 3 && strcmp(m.mtext, "uno") == 0, "msgrcv of type 0: the first");
    expect_errno(recv(q, 0, 64, IPC_NOWAIT, &m), ENOMSG, "msgrcv of an empty queue, IPC_NOWAIT");
    send(q, 7, "toolong", 0);
    expect_errno(recv(q, 0, 3, 0, &m), E2BIG, "msgrcv into a smaller buffer");
    check(recv(q, 0, 3, MSG_NOERROR, &m) == 3 && strcmp(m.mtext, "too") == 0, "MSG_NOERROR cuts the message");

    /* A receiver in another process, woken by our send. */
    fflush(stdout);
    pid_t c = fork();
    if (c == 0)
        _exit(recv(q, 5, 64, 0, &m) == 4 && strcmp(m.mtext, "five") == 0 ? 0 : 1);
    sleep_ms(50);
    send(q, 5, "five", 0);
    int status;
    wait_child(c, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a receiver waits for the type it asked for");

    /* A full queue makes senders wait. */
    msgctl(q, IPC_STAT, &ds);
    ds.msg_qbytes = 8;
    check(msgctl(q, IPC_SET, &ds) == 0, "IPC_SET msg_qbytes 8");
    send(q, 1, "12345678", 0);
    expect_errno(send(q, 1, "9", IPC_NOWAIT), EAGAIN, "msgsnd to a full queue, IPC_NOWAIT");
    c = fork();
    if (c == 0)
        _exit(send(q, 1, "9", 0) == 0 ? 0 : 1);
    sleep_ms(50);
    recv(q, 0, 64, 0, &m);
    wait_child(c, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a waiting sender goes once there is room");
    check(recv(q, 0, 64, 0, &m) == 1 && strcmp(m.mtext, "9") == 0, "its message arrives");

    c = fork();
    if (c == 0)
        _exit(recv(q, 0, 64, 0, &m) == -1 && errno == EIDRM ? 0 : 1);
    wait_sleeping(c);
    check(msgctl(q, IPC_RMID, NULL) == 0, "msgctl IPC_RMID with a receiver waiting");
    wait_child(c, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the receiver gets EIDRM");
    expect_errno(send(q, 1, "x", 0), EINVAL, "msgsnd to a removed queue");
}

int main(void)
{
    test_init();
    check_semaphores();
    check_messages();
    return finish();
}
