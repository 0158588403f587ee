/*
 * Multithreaded processes: wait4 sees the children other threads forked;
 * a process whose main thread has exited still takes signals; execve from
 * a thread replaces the whole process; mprotect(PROT_NONE) keeps the data
 * for when access comes back; a process's CPU time (getrusage, and wait4's
 * for a child) includes its threads', those that have exited too.
 *
 * usage: t_mtproc [self]   (default /tests/t_mtproc: this program, which the
 *                           thread execs with --check-leader, and a child
 *                           with --burn)
 */
#include "common.h"

#include <pthread.h>
#include <sys/syscall.h>
#include <signal.h>
#include <sys/mman.h>

static const char *exec_target = "/tests/t_mtproc";
static pid_t forked_by_thread;

static void *fork_in_thread(void *arg)
{
    (void)arg;
    forked_by_thread = fork();
    if (forked_by_thread == 0) {
        sleep_ms(100); /* the main thread is asleep in wait4 by then */
        _exit(5);
    }
    return NULL;
}

static void *spin_forever(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

static void *exec_in_thread(void *arg)
{
    (void)arg;
    char *argv[] = { (char *)exec_target, "--check-leader", NULL };
    execv(exec_target, argv);
    _exit(99); /* exec failed */
}

static long user_ms_of(const struct rusage *ru)
{
    return ru->ru_utime.tv_sec * 1000 + ru->ru_utime.tv_usec / 1000;
}

/* User plus system time. Linux splits a task's run time into the two by
 * sampling and rescales the split per thread and per process separately, so
 * a thread's user time can exceed its process's; their sum is the run time
 * itself and only grows from thread to process. */
static long cpu_ms_of(const struct rusage *ru)
{
    return user_ms_of(ru) + ru->ru_stime.tv_sec * 1000 + ru->ru_stime.tv_usec / 1000;
}

static long thread_user_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return user_ms_of(&ru);
}

static long cpu_ms(int who)
{
    struct rusage ru;
    getrusage(who, &ru);
    return cpu_ms_of(&ru);
}

/* Spins until this thread has used 100 ms of CPU time (measured by its
 * own clock, so a busy host only makes it take longer). */
static void *burn_100ms(void *arg)
{
    (void)arg;
    volatile unsigned long n = 0;
    while (cpu_ms(RUSAGE_THREAD) < 100)
        for (int i = 0; i < 100000; i++)
            n++;
    return NULL;
}

static void test_thread_cpu_time(void)
{
    pthread_t t;
    check(pthread_create(&t, NULL, burn_100ms, NULL) == 0, "burner thread created");
    pthread_join(t, NULL);
    check(cpu_ms(RUSAGE_SELF) >= 100, "RUSAGE_SELF counts an exited thread's time");
    check(thread_user_ms() < 100, "RUSAGE_THREAD is the caller's own");
    /* A child that burns 100 ms in a thread of its own: a fresh program
     * (this one, --burn), since qemu-user can hang in a thread created
     * after fork. */
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        char *argv[] = { (char *)exec_target, "--burn", NULL };
        execv(exec_target, argv);
        _exit(127);
    }
    int status;
    struct rusage ru;
    check(wait4(child, &status, 0, &ru) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child exits");
    check(cpu_ms_of(&ru) >= 100, "wait4's rusage has its thread's time");
    check(cpu_ms(RUSAGE_CHILDREN) >= 100, "and so has RUSAGE_CHILDREN");
}

int main(int argc, char **argv)
{
    /* After exec from a thread, the program runs as the process's only
     * thread: its TID is the PID (the thread took the leader's place). */
    if (argc > 1 && strcmp(argv[1], "--check-leader") == 0)
        return syscall(SYS_gettid) == getpid() ? 0 : 3;
    if (argc > 1 && strcmp(argv[1], "--burn") == 0) {
        pthread_t w;
        if (pthread_create(&w, NULL, burn_100ms, NULL) != 0)
            return 1;
        pthread_join(w, NULL);
        return 0;
    }
    test_init();
    if (argc > 1)
        exec_target = argv[1];

    /* A child forked by another thread is the process's child. */
    pthread_t t;
    check(pthread_create(&t, NULL, fork_in_thread, NULL) == 0, "thread created");
    pthread_join(t, NULL);
    int status = 0;
    pid_t got = waitpid(forked_by_thread, &status, 0);
    check(got == forked_by_thread, "main thread reaps the child a thread forked");
    check(WIFEXITED(status) && WEXITSTATUS(status) == 5, "its exit status is 5");

    test_thread_cpu_time();

    /* The main thread exits, a worker keeps the process alive: SIGTERM
     * still reaches it. */
    pid_t child = fork();
    if (child == 0) {
        pthread_t w;
        if (pthread_create(&w, NULL, spin_forever, NULL) != 0)
            _exit(1);
        pthread_exit(NULL);
    }
    sleep_ms(100);
    check(kill(child, SIGTERM) == 0, "kill(SIGTERM) after the main thread exited");
    got = waitpid(child, &status, 0);
    check(got == child && WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "the process dies of SIGTERM");

    /* execve from a second thread: the program replaces the process. */
    child = fork();
    if (child == 0) {
        pthread_t w, e;
        if (pthread_create(&w, NULL, spin_forever, NULL) != 0 || pthread_create(&e, NULL, exec_in_thread, NULL) != 0)
            _exit(1);
        for (;;)
            pause();
    }
    got = waitpid(child, &status, 0);
    check(got == child && WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "exec from a thread runs the new program as the process's leader");

    /* PROT_NONE and back: the data is still there. */
    char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check(page != MAP_FAILED, "mmap");
    memset(page, 0x5a, 4096);
    check(mprotect(page, 4096, PROT_NONE) == 0, "mprotect PROT_NONE");
    check(mprotect(page, 4096, PROT_READ | PROT_WRITE) == 0, "mprotect back to read-write");
    int kept = 1;
    for (int i = 0; i < 4096; i++)
        kept &= page[i] == 0x5a;
    check(kept, "the page kept its data");
    return finish();
}
