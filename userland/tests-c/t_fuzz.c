/*
 * System-call robustness: children issue thousands of system calls with
 * random numbers and arguments (a fixed seed per child), drawn from values
 * that tend to break kernels: 0, -1, huge lengths, pointers to valid
 * memory, to nothing and into the kernel half. A child may die of a signal
 * (it can unmap its own code); the kernel must not. Calls that would hit
 * other processes or the machine (kill, reboot, prlimit64, ioctl on the
 * terminal, clone, execve, exit, ptrace, process_vm_writev) are left out. An interval timer ends a
 * child stuck in a blocking call.
 *
 * This kernel only: its point is the kernel surviving, and Linux under
 * qemu-user is not the kernel being tested.
 *
 * usage: t_fuzz [children] [calls-per-child]
 */
#include "common.h"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/time.h>

static uint64_t rng;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static long excluded[] = {
    SYS_kill, SYS_tkill, SYS_tgkill, SYS_reboot, SYS_clone, 435 /* clone3 */, SYS_execve, 281 /* execveat */,
    SYS_exit, SYS_exit_group, SYS_prlimit64, SYS_setrlimit, SYS_ioctl, SYS_setitimer, SYS_rt_sigreturn,
    SYS_ptrace, SYS_process_vm_writev,
};

static int is_excluded(long nr)
{
    for (size_t i = 0; i < sizeof excluded / sizeof excluded[0]; i++)
        if (excluded[i] == nr)
            return 1;
    return 0;
}

static char scratch[8192];

static long arg(void)
{
    switch (next() % 10) {
    case 0: return 0;
    case 1: return -1;
    case 2: return (long)(next() % 4096);
    case 3: return (long)scratch;
    case 4: return (long)(scratch + next() % sizeof scratch);
    case 5: return (long)0xffff000000001000ul; /* the kernel half */
    case 6: return (long)0x10;                  /* unmapped */
    case 7: return (long)(1ul << 47);           /* unmapped, high */
    case 8: return (long)next();
    default: return (long)(next() % 64);
    }
}

static void child(unsigned seed, long calls)
{
    /* Random writes go to /dev/null, not the console. */
    int null = open("/dev/null", O_RDWR);
    for (int fd = 0; fd < 3; fd++)
        dup2(null, fd);
    rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)seed * 0x100000001b3ull);
    struct itimerval limit = { { 0, 0 }, { 0, 300000 } };
    setitimer(ITIMER_REAL, &limit, NULL);
    for (long i = 0; i < calls; i++) {
        long nr = (long)(next() % 300);
        if (is_excluded(nr))
            continue;
        syscall(nr, arg(), arg(), arg(), arg(), arg(), arg());
    }
    _exit(0);
}

int main(int argc, char **argv)
{
    test_init();
    int children = argc > 1 ? atoi(argv[1]) : 64;
    long calls = argc > 2 ? atol(argv[2]) : 2000;
    int exited = 0, signaled = 0;
    for (int c = 0; c < children; c++) {
        pid_t pid = fork();
        if (pid == 0)
            child((unsigned)c, calls);
        if (pid < 0) {
            check(0, "fork");
            break;
        }
        int status;
        if (wait_child(pid, &status, 0) != pid) {
            check(0, "wait4 for a fuzzing child");
            break;
        }
        if (WIFEXITED(status))
            exited++;
        else if (WIFSIGNALED(status))
            signaled++;
    }
    printf("children: %d exited, %d killed by a signal\n", exited, signaled);
    check(exited + signaled == children, "every child ended and was reaped");
    return finish();
}
