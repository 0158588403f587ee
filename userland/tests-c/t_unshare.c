/*
 * unshare(2) (Linux: kernel/fork.c ksys_unshare).
 *
 *   t_unshare      a thread, which shares the directory and descriptor
 *                  table with the main thread, unshares them: its chdir and
 *                  close no longer reach the main thread; CLONE_SYSVSEM and
 *                  no flags succeed; a flag unshare does not know is EINVAL.
 *                  (Compared with Linux under qemu-aarch64.)
 *   t_unshare ns   this kernel only (qemu-user's host process has threads of
 *                  its own, and the host has namespaces): CLONE_THREAD,
 *                  CLONE_SIGHAND and CLONE_VM succeed in a lone thread and
 *                  are EINVAL with a second thread, as unshare(2) documents;
 *                  every namespace flag is EINVAL, as on a Linux built
 *                  without namespaces (and CLONE_NEWNS, which Linux always
 *                  has, as this kernel has no mount namespaces).
 */
#include "common.h"

#include <pthread.h>
#include <sched.h>

static int fd_to_close;

static void *unshare_fs(void *arg)
{
    (void)arg;
    check(unshare(CLONE_FS) == 0, "a thread unshares CLONE_FS");
    check(chdir("/tmp") == 0, "the thread changes directory");
    return NULL;
}

static void *shared_fs(void *arg)
{
    (void)arg;
    check(chdir("/") == 0, "a thread sharing the directory changes it");
    return NULL;
}

static void *unshare_files(void *arg)
{
    (void)arg;
    check(unshare(CLONE_FILES) == 0, "a thread unshares CLONE_FILES");
    check(close(fd_to_close) == 0, "the thread closes a descriptor");
    return NULL;
}

static void run_thread(void *(*f)(void *))
{
    pthread_t t;
    if (pthread_create(&t, NULL, f, NULL) != 0 || pthread_join(t, NULL) != 0)
        fail("pthread");
}

static void *park(void *arg)
{
    /* Waits until the main thread closes the pipe. */
    char c;
    while (read(*(int *)arg, &c, 1) > 0)
        ;
    return NULL;
}

static int shared_flags(void)
{
    check(unshare(CLONE_THREAD) == 0, "CLONE_THREAD in a lone thread: nothing to unshare");
    check(unshare(CLONE_SIGHAND) == 0, "CLONE_SIGHAND in a lone thread");
    check(unshare(CLONE_VM) == 0, "CLONE_VM in a lone thread");
    int p[2];
    pthread_t t;
    if (pipe(p) != 0 || pthread_create(&t, NULL, park, &p[0]) != 0)
        fail("thread");
    expect_errno(unshare(CLONE_THREAD), EINVAL, "CLONE_THREAD with a second thread");
    expect_errno(unshare(CLONE_SIGHAND), EINVAL, "CLONE_SIGHAND with a second thread");
    expect_errno(unshare(CLONE_VM), EINVAL, "CLONE_VM with a second thread");
    close(p[1]);
    pthread_join(t, NULL);
    static const struct {
        int flag;
        const char *name;
    } ns[] = {
        {CLONE_NEWNS, "CLONE_NEWNS"},   {CLONE_NEWUTS, "CLONE_NEWUTS"}, {CLONE_NEWIPC, "CLONE_NEWIPC"},
        {CLONE_NEWNET, "CLONE_NEWNET"}, {CLONE_NEWPID, "CLONE_NEWPID"}, {CLONE_NEWUSER, "CLONE_NEWUSER"},
        {0x02000000, "CLONE_NEWCGROUP"}, {0x00000080, "CLONE_NEWTIME"},
    };
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        expect_errno(unshare(ns[i].flag), EINVAL, ns[i].name);
    return finish();
}

int main(int argc, char **argv)
{
    test_init();
    if (argc > 1 && strcmp(argv[1], "ns") == 0)
        return shared_flags();
    char cwd[256];
    check(chdir("/") == 0, "start in /");
    run_thread(unshare_fs);
    check(getcwd(cwd, sizeof cwd) && strcmp(cwd, "/") == 0, "the main thread's directory is still /");
    check(chdir("/tmp") == 0, "the main thread moves to /tmp");
    run_thread(shared_fs);
    check(getcwd(cwd, sizeof cwd) && strcmp(cwd, "/") == 0, "without unshare a thread's chdir moves both");

    fd_to_close = dup(1);
    run_thread(unshare_files);
    check(fcntl(fd_to_close, F_GETFD) >= 0, "the main thread's descriptor is still open");
    close(fd_to_close);

    check(unshare(0) == 0, "no flags");
    check(unshare(CLONE_SYSVSEM) == 0, "CLONE_SYSVSEM");
    check(unshare(CLONE_FS | CLONE_FILES) == 0, "CLONE_FS|CLONE_FILES in a lone thread");
    expect_errno(unshare(CLONE_SETTLS), EINVAL, "a flag unshare does not take (CLONE_SETTLS)");
    expect_errno(unshare(CLONE_VFORK), EINVAL, "CLONE_VFORK");
    return finish();
}
