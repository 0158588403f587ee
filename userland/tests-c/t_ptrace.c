/*
 * ptrace: the traced state and the stops a tracer sees, checked against
 * Linux's documented behaviour (ptrace(2), wait(2), proc(5)):
 * - PTRACE_TRACEME, then execve: the tracee stops with SIGTRAP, is 't' in
 *   /proc/<pid>/stat with TracerPid: the tracer, and runs on after PTRACE_CONT;
 * - a signal-delivery stop (SIGSTOP) with its siginfo; PEEKDATA/POKEDATA;
 *   the register sets NT_PRSTATUS, NT_PRFPREG, NT_ARM_TLS;
 * - syscall-enter/exit stops (PTRACE_O_TRACESYSGOOD: SIGTRAP | 0x80, x7 = 0
 *   at entry and 1 at exit); NT_ARM_SYSTEM_CALL turning getppid into
 *   getpid, and -1 skipping getuid with the tracer's x0 as its result;
 * - PTRACE_SEIZE does not stop; PTRACE_INTERRUPT gives PTRACE_EVENT_STOP;
 *   PTRACE_ATTACH gives a SIGSTOP stop; PTRACE_DETACH lets go;
 * - PTRACE_O_TRACEFORK: the fork event with the child's PID from
 *   GETEVENTMSG, the new child traced and stopped (SIGSTOP); its exit seen
 *   by the tracer first and then reaped by its real parent;
 * - PTRACE_O_TRACEEXEC and PTRACE_O_TRACEEXIT events and messages;
 * - PTRACE_SINGLESTEP: one SIGTRAP stop per instruction;
 * - a tracee killed while stopped; a tracer exiting (the tracee goes free
 *   and takes the SIGSTOP it was stopped for; with PTRACE_O_EXITKILL it dies);
 * - EPERM for tracing oneself, init, a kernel thread, a traced task, a
 *   second TRACEME; ESRCH for a task not traced by the caller; EIO for
 *   PTRACE_INTERRUPT without SEIZE.
 *
 * qemu-user does not emulate ptrace (ENOSYS): there the program says so and
 * checks nothing; the system test compares this kernel's output with the
 * lines Linux gives, written down in kernel/tests/userspace.rs.
 *
 * Usage: t_ptrace [exec-target]   (default /tests/exit0, which exits 0)
 *        t_ptrace hold PID MS     attaches to PID, waits for its stop, keeps it stopped
 *                                 for MS milliseconds and exits (for `ps` to see 't')
 */
#include "common.h"

#include <elf.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#define PTRACE_TRACEME 0
#define PTRACE_PEEKDATA 2
#define PTRACE_POKEDATA 5
#define PTRACE_CONT 7
#define PTRACE_SINGLESTEP 9
#define PTRACE_ATTACH 16
#define PTRACE_DETACH 17
#define PTRACE_SYSCALL 24
#define PTRACE_SETOPTIONS 0x4200
#define PTRACE_GETEVENTMSG 0x4201
#define PTRACE_GETSIGINFO 0x4202
#define PTRACE_GETREGSET 0x4204
#define PTRACE_SETREGSET 0x4205
#define PTRACE_SEIZE 0x4206
#define PTRACE_INTERRUPT 0x4207
#define PTRACE_O_TRACESYSGOOD 0x1
#define PTRACE_O_TRACEFORK 0x2
#define PTRACE_O_TRACEEXEC 0x10
#define PTRACE_O_TRACEEXIT 0x40
#define PTRACE_O_EXITKILL 0x100000
#define PTRACE_EVENT_FORK 1
#define PTRACE_EVENT_EXEC 4
#define PTRACE_EVENT_EXIT 6
#define PTRACE_EVENT_STOP 128
#ifndef NT_ARM_TLS
#define NT_ARM_TLS 0x401
#endif
#ifndef NT_ARM_SYSTEM_CALL
#define NT_ARM_SYSTEM_CALL 0x404
#endif
#ifndef __WALL
#define __WALL 0x40000000
#endif

struct user_regs {
    unsigned long long regs[31], sp, pc, pstate;
};

static const char *exec_target = "/tests/exit0";
static volatile long poke_target = 0x1122334455667788L;

static long pt(long req, pid_t pid, void *addr, void *data)
{
    return syscall(SYS_ptrace, req, (long)pid, addr, data);
}

static long getregset(pid_t pid, long note, void *buf, size_t len)
{
    struct iovec iov = { buf, len };
    long r = pt(PTRACE_GETREGSET, pid, (void *)note, &iov);
    return r == 0 ? (long)iov.iov_len : -1;
}

static long setregset(pid_t pid, long note, void *buf, size_t len)
{
    struct iovec iov = { buf, len };
    return pt(PTRACE_SETREGSET, pid, (void *)note, &iov);
}

static int stopped_with(int status, int sig)
{
    return WIFSTOPPED(status) && WSTOPSIG(status) == sig && (status >> 16) == 0;
}

static int event_of(int status)
{
    return WIFSTOPPED(status) ? status >> 16 : -1;
}

static int exited_with(int status, int code)
{
    return WIFEXITED(status) && WEXITSTATUS(status) == code;
}

static int killed_by(int status, int sig)
{
    return WIFSIGNALED(status) && WTERMSIG(status) == sig;
}

/* TracerPid from /proc/<pid>/status, -1 if unreadable. */
static long tracer_pid(pid_t pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    if (read_whole_file(path, buf, sizeof buf) <= 0)
        return -1;
    char *line = strstr(buf, "TracerPid:");
    return line ? strtol(line + strlen("TracerPid:"), NULL, 10) : -1;
}

/* A child that asks to be traced and stops itself. */
static pid_t traced_child(void (*body)(void))
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (pt(PTRACE_TRACEME, 0, 0, 0) != 0)
            _exit(100);
        raise(SIGSTOP);
        body();
        _exit(0);
    }
    return pid;
}

static void body_exec(void)
{
    char *argv[] = { (char *)exec_target, NULL };
    execv(exec_target, argv);
    _exit(101);
}

static void test_traceme_exec(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (pt(PTRACE_TRACEME, 0, 0, 0) != 0)
            _exit(100);
        errno = 0;
        long again = pt(PTRACE_TRACEME, 0, 0, 0);
        if (again != -1 || errno != EPERM)
            _exit(102);
        body_exec();
    }
    int status;
    check(wait_child(pid, &status, 0) == pid && stopped_with(status, SIGTRAP),
          "traceme: execve stops the tracee with SIGTRAP");
    check(proc_state(pid) == 't', "traceme: stopped tracee is 't' in /proc/<pid>/stat");
    check(tracer_pid(pid) == getpid(), "traceme: TracerPid is the tracer");
    check(pt(PTRACE_CONT, pid, 0, 0) == 0 && wait_child(pid, &status, 0) == pid &&
              exited_with(status, 0),
          "traceme: after PTRACE_CONT the program runs to its exit");
}

static void body_poke(void)
{
    _exit(poke_target == 0x0badc0deL ? 0 : 1);
}

static void test_signal_stop_peek_poke_regs(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (pt(PTRACE_TRACEME, 0, 0, 0) != 0)
            _exit(100);
        __asm__ volatile("fmov d8, %0" ::"r"(0x4045000000000000UL) : "d8");
        raise(SIGSTOP);
        body_poke();
    }
    int status;
    check(wait_child(pid, &status, 0) == pid && stopped_with(status, SIGSTOP),
          "signal-delivery stop reports WSTOPSIG SIGSTOP");
    siginfo_t si;
    memset(&si, 0, sizeof si);
    check(pt(PTRACE_GETSIGINFO, pid, 0, &si) == 0 && si.si_signo == SIGSTOP &&
              si.si_code == SI_TKILL && si.si_pid == pid,
          "PTRACE_GETSIGINFO gives the stopping signal's siginfo");
    long word = 0;
    check(pt(PTRACE_PEEKDATA, pid, (void *)&poke_target, &word) == 0 &&
              word == 0x1122334455667788L,
          "PTRACE_PEEKDATA reads the tracee's word");
    check(pt(PTRACE_POKEDATA, pid, (void *)&poke_target, (void *)0x0badc0deL) == 0,
          "PTRACE_POKEDATA writes it");
    check(expect_errno(pt(PTRACE_PEEKDATA, pid, (void *)16, &word), EIO,
                       "PTRACE_PEEKDATA of an unmapped address") == 1,
          "unmapped address refused");
    struct user_regs regs;
    check(getregset(pid, NT_PRSTATUS, &regs, sizeof regs) == (long)sizeof regs &&
              (regs.regs[8] == SYS_kill || regs.regs[8] == SYS_tkill || regs.regs[8] == SYS_tgkill),
          "NT_PRSTATUS: 272 bytes, x8 is the kill call the stop came from");
    unsigned char fp[528];
    unsigned long d8 = 0;
    check(getregset(pid, NT_PRFPREG, fp, sizeof fp) == 528 &&
              (memcpy(&d8, fp + 16 * 8, 8), d8 == 0x4045000000000000UL),
          "NT_PRFPREG: 528 bytes, d8 as the tracee set it");
    unsigned long tls = 0;
    check(getregset(pid, NT_ARM_TLS, &tls, sizeof tls) == 8 && tls != 0,
          "NT_ARM_TLS: the tracee's thread pointer");
    /* Suppress the SIGSTOP: the tracee runs on. */
    check(pt(PTRACE_CONT, pid, 0, 0) == 0 && wait_child(pid, &status, 0) == pid &&
              exited_with(status, 0),
          "tracee saw the poked value and exited 0");
}

static void body_syscalls(void)
{
    long ppid = syscall(SYS_getppid);
    long uid = syscall(SYS_getuid);
    _exit((ppid == getpid() ? 0 : 1) | (uid == 4242 ? 0 : 2));
}

static void test_syscall_stops(void)
{
    pid_t pid = traced_child(body_syscalls);
    int status;
    wait_child(pid, &status, 0);
    check(stopped_with(status, SIGSTOP), "syscalls: child stopped itself");
    pt(PTRACE_SETOPTIONS, pid, 0, (void *)PTRACE_O_TRACESYSGOOD);
    int entries = 0, exits = 0, x7_ok = 1, sysgood = 1, changed = 0, skipped = 0;
    int in_call = 0;
    for (;;) {
        if (pt(PTRACE_SYSCALL, pid, 0, 0) != 0)
            break;
        if (wait_child(pid, &status, 0) != pid || !WIFSTOPPED(status))
            break;
        if (WSTOPSIG(status) != (SIGTRAP | 0x80)) {
            sysgood = 0;
            continue;
        }
        struct user_regs regs;
        getregset(pid, NT_PRSTATUS, &regs, sizeof regs);
        int nr = -2;
        getregset(pid, NT_ARM_SYSTEM_CALL, &nr, sizeof nr);
        if (!in_call) {
            entries++;
            x7_ok &= regs.regs[7] == 0;
            if (nr == SYS_getppid) {
                nr = SYS_getpid;
                changed = setregset(pid, NT_ARM_SYSTEM_CALL, &nr, sizeof nr) == 0;
            } else if (nr == SYS_getuid) {
                nr = -1;
                regs.regs[0] = 4242;
                skipped = setregset(pid, NT_ARM_SYSTEM_CALL, &nr, sizeof nr) == 0 &&
                          setregset(pid, NT_PRSTATUS, &regs, sizeof regs) == 0;
            }
        } else {
            exits++;
            x7_ok &= regs.regs[7] == 1;
        }
        in_call = !in_call;
    }
    check(exited_with(status, 0), "syscalls: getppid ran as getpid, getuid skipped returning 4242");
    check(sysgood && entries >= 3 && exits >= 2 && changed && skipped,
          "syscalls: enter and exit stops report SIGTRAP|0x80");
    check(x7_ok, "syscalls: x7 is 0 at entry stops and 1 at exit stops");
}

static void test_seize_interrupt_attach(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        for (;;)
            pause();
    }
    int status;
    check(pt(PTRACE_SEIZE, pid, 0, (void *)PTRACE_O_TRACESYSGOOD) == 0, "PTRACE_SEIZE succeeds");
    sleep_ms(20);
    check(wait_child(pid, &status, __WALL | WNOHANG) == 0, "seize: the tracee is not stopped");
    check(expect_errno(pt(PTRACE_CONT, pid, 0, 0), ESRCH, "PTRACE_CONT of a running tracee") == 1,
          "a running tracee takes no requests");
    check(expect_errno(pt(PTRACE_ATTACH, pid, 0, 0), EPERM, "PTRACE_ATTACH of a traced task") == 1,
          "a second tracer is refused");
    check(pt(PTRACE_INTERRUPT, pid, 0, 0) == 0 && wait_child(pid, &status, __WALL) == pid &&
              WIFSTOPPED(status) && event_of(status) == PTRACE_EVENT_STOP &&
              WSTOPSIG(status) == SIGTRAP,
          "PTRACE_INTERRUPT: PTRACE_EVENT_STOP with SIGTRAP");
    check(proc_state(pid) == 't', "interrupted tracee is 't'");
    check(pt(PTRACE_DETACH, pid, 0, 0) == 0, "PTRACE_DETACH succeeds");
    check(tracer_pid(pid) == 0, "after detach TracerPid is 0");

    check(pt(PTRACE_ATTACH, pid, 0, 0) == 0 && wait_child(pid, &status, __WALL) == pid &&
              stopped_with(status, SIGSTOP),
          "PTRACE_ATTACH: the tracee stops with SIGSTOP");
    check(expect_errno(pt(PTRACE_INTERRUPT, pid, 0, 0), EIO,
                       "PTRACE_INTERRUPT without PTRACE_SEIZE") == 1,
          "interrupt needs seize");
    /* Killed while stopped. */
    kill(pid, SIGKILL);
    check(wait_child(pid, &status, __WALL) == pid && killed_by(status, SIGKILL),
          "a tracee killed while stopped dies of SIGKILL");
}

static void body_fork(void)
{
    fflush(stdout);
    pid_t grandchild = fork();
    if (grandchild == 0)
        _exit(3);
    int status;
    pid_t r = wait_child(grandchild, &status, 0);
    _exit(r == grandchild && exited_with(status, 3) ? 0 : 1);
}

static void test_tracefork(void)
{
    pid_t pid = traced_child(body_fork);
    int status;
    wait_child(pid, &status, 0);
    pt(PTRACE_SETOPTIONS, pid, 0, (void *)PTRACE_O_TRACEFORK);
    pt(PTRACE_CONT, pid, 0, 0);
    unsigned long msg = 0;
    check(wait_child(pid, &status, 0) == pid && event_of(status) == PTRACE_EVENT_FORK &&
              WSTOPSIG(status) == SIGTRAP && pt(PTRACE_GETEVENTMSG, pid, 0, &msg) == 0 && msg > 0,
          "TRACEFORK: PTRACE_EVENT_FORK with the new PID in GETEVENTMSG");
    pid_t grandchild = (pid_t)msg;
    check(wait_child(grandchild, &status, __WALL) == grandchild && stopped_with(status, SIGSTOP),
          "TRACEFORK: the new child starts traced, stopped by SIGSTOP");
    check(tracer_pid(grandchild) == getpid(), "TRACEFORK: the new child's TracerPid is ours");
    pt(PTRACE_CONT, grandchild, 0, 0);
    pt(PTRACE_CONT, pid, 0, 0);
    check(wait_child(grandchild, &status, __WALL) == grandchild && exited_with(status, 3),
          "TRACEFORK: the tracer sees the new child's exit");
    /* Its real parent gets SIGCHLD for it: a signal-delivery stop of our
     * tracee, passed on. */
    int sigchld_stop = 0;
    while (wait_child(pid, &status, 0) == pid && WIFSTOPPED(status)) {
        sigchld_stop |= WSTOPSIG(status) == SIGCHLD;
        pt(PTRACE_CONT, pid, 0, (void *)(long)WSTOPSIG(status));
    }
    check(sigchld_stop, "TRACEFORK: the real parent's SIGCHLD stops it for us");
    check(exited_with(status, 0), "TRACEFORK: its real parent then reaps it");
}

static void test_exec_exit_events(void)
{
    pid_t pid = traced_child(body_exec);
    int status;
    wait_child(pid, &status, 0);
    pt(PTRACE_SETOPTIONS, pid, 0, (void *)(PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT));
    pt(PTRACE_CONT, pid, 0, 0);
    unsigned long msg = 0;
    check(wait_child(pid, &status, 0) == pid && event_of(status) == PTRACE_EVENT_EXEC &&
              pt(PTRACE_GETEVENTMSG, pid, 0, &msg) == 0 && msg == (unsigned long)pid,
          "TRACEEXEC: PTRACE_EVENT_EXEC, message the former TID");
    pt(PTRACE_CONT, pid, 0, 0);
    check(wait_child(pid, &status, 0) == pid && event_of(status) == PTRACE_EVENT_EXIT &&
              pt(PTRACE_GETEVENTMSG, pid, 0, &msg) == 0 && msg == 0,
          "TRACEEXIT: PTRACE_EVENT_EXIT, message the wait status");
    pt(PTRACE_CONT, pid, 0, 0);
    check(wait_child(pid, &status, 0) == pid && exited_with(status, 0), "TRACEEXIT: then it exits");
}

static void body_spin(void)
{
    volatile int n = 0;
    for (int i = 0; i < 1000; i++)
        n++;
}

static void test_singlestep(void)
{
    pid_t pid = traced_child(body_spin);
    int status;
    wait_child(pid, &status, 0);
    int traps = 0, moved = 0;
    unsigned long long last = 0;
    for (int i = 0; i < 20; i++) {
        if (pt(PTRACE_SINGLESTEP, pid, 0, 0) != 0 || wait_child(pid, &status, 0) != pid)
            break;
        if (stopped_with(status, SIGTRAP))
            traps++;
        struct user_regs regs;
        getregset(pid, NT_PRSTATUS, &regs, sizeof regs);
        moved += regs.pc != last;
        last = regs.pc;
    }
    check(traps == 20, "PTRACE_SINGLESTEP: a SIGTRAP stop after each instruction");
    check(moved >= 15, "PTRACE_SINGLESTEP: the pc moves on");
    pt(PTRACE_CONT, pid, 0, 0);
    check(wait_child(pid, &status, 0) == pid && exited_with(status, 0), "after stepping the tracee runs to its end");
}

/* A tracer process that attaches to `target` and exits. */
static void test_tracer_exit(int exitkill)
{
    fflush(stdout);
    pid_t target = fork();
    if (target == 0) {
        for (;;)
            pause();
    }
    pid_t tracer = fork();
    if (tracer == 0) {
        int status;
        if (exitkill) {
            if (pt(PTRACE_SEIZE, target, 0, (void *)PTRACE_O_EXITKILL) != 0)
                _exit(1);
        } else {
            if (pt(PTRACE_ATTACH, target, 0, 0) != 0 || wait_child(target, &status, __WALL) != target)
                _exit(1);
        }
        _exit(0);
    }
    int status;
    check(wait_child(tracer, &status, 0) == tracer && exited_with(status, 0), "tracer attached and exited");
    if (exitkill) {
        check(wait_child(target, &status, 0) == target && killed_by(status, SIGKILL),
              "PTRACE_O_EXITKILL: the tracer's exit kills the tracee");
        return;
    }
    check(wait_child(target, &status, WUNTRACED) == target && stopped_with(status, SIGSTOP),
          "tracer exit: the tracee goes free and stops for the SIGSTOP it was stopped with");
    check(tracer_pid(target) == 0, "tracer exit: TracerPid is 0");
    kill(target, SIGKILL);
    wait_child(target, &status, 0);
}

static void test_eperm(void)
{
    check(expect_errno(pt(PTRACE_ATTACH, getpid(), 0, 0), EPERM, "PTRACE_ATTACH of oneself") == 1,
          "tracing oneself is refused");
    check(expect_errno(pt(PTRACE_ATTACH, 1, 0, 0), EPERM, "PTRACE_ATTACH of init") == 1,
          "tracing init is refused");
    check(expect_errno(pt(PTRACE_ATTACH, 2, 0, 0), EPERM, "PTRACE_ATTACH of kthreadd") == 1,
          "tracing a kernel thread is refused");
    check(expect_errno(pt(PTRACE_CONT, getppid(), 0, 0), ESRCH, "PTRACE_CONT of an untraced task") == 1,
          "requests need a tracee");
}

int main(int argc, char **argv)
{
    test_init();
    if (argc == 4 && strcmp(argv[1], "hold") == 0) {
        pid_t pid = (pid_t)atoi(argv[2]);
        int status;
        if (pt(PTRACE_ATTACH, pid, 0, 0) != 0 || wait_child(pid, &status, __WALL) != pid) {
            printf("hold: cannot attach: %s\n", errno_name(errno));
            return 1;
        }
        sleep_ms(atoi(argv[3]));
        return 0;
    }
    if (argc > 1)
        exec_target = argv[1];
    /* qemu-user has no ptrace. */
    errno = 0;
    if (pt(PTRACE_CONT, 1, 0, 0) == -1 && errno == ENOSYS) {
        printf("note: ptrace is not emulated here (qemu-user); nothing checked\n");
        return 0;
    }
    no_core_dumps();
    test_eperm();
    test_traceme_exec();
    test_signal_stop_peek_poke_regs();
    test_syscall_stops();
    test_seize_interrupt_attach();
    test_tracefork();
    test_exec_exit_events();
    test_singlestep();
    test_tracer_exit(0);
    test_tracer_exit(1);
    return finish();
}
