/*
 * Bad memory accesses end the process with SIGSEGV and nothing else:
 * reading address 0x10, writing its own read-only text, and writing a
 * PROT_READ mapping. The parent sees WIFSIGNALED with WTERMSIG == SIGSEGV.
 * Deaths by SIGSEGV, SIGQUIT and SIGABRT, whose default action dumps core,
 * never show the "core dumped" bit (0x80): with RLIMIT_CORE 0 Linux writes
 * no core and leaves it clear, and this kernel never writes core files.
 * With the argument "sigbus": a misaligned exclusive load (which faults even
 * with alignment checks off) ends it with SIGBUS, rather than faulting again
 * forever. qemu-user does not fault that load, so this part runs on this
 * kernel only (Linux sends SIGBUS with BUS_ADRALN).
 */
#include "common.h"

#include <signal.h>
#include <sys/mman.h>

/* Opaque to the compiler, so it neither warns nor folds the access away. */
static volatile uintptr_t low_address = 0x10;

static void read_low_address(void)
{
    volatile int *bad = (volatile int *)low_address;
    int value = *bad;
    (void)value;
}

static void write_text(void)
{
    volatile unsigned char *text = (volatile unsigned char *)(uintptr_t)&write_text;
    *text = 0;
}

static void write_readonly_mapping(void)
{
    volatile char *page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED)
        _exit(2);
    page[0] = 1;
}

static void misaligned_exclusive_load(void)
{
    static _Alignas(16) unsigned char buffer[16];
    unsigned long value;
    unsigned char *p = buffer + (low_address & 1 ? 1 : 3);
    __asm__ volatile("ldxr %0, [%1]" : "=r"(value) : "r"(p) : "memory");
    (void)value;
}

static void run_expect(void (*action)(void), int sig, const char *label)
{
    fflush(stdout);
    pid_t child = fork();
    if (child < 0) {
        fail("fork: %s", errno_name(errno));
        return;
    }
    if (child == 0) {
        no_core_dumps();
        action();
        _exit(0); /* reached only if the access did not fault */
    }
    int status;
    check(wait_child(child, &status, 0) == child && WIFSIGNALED(status) &&
              WTERMSIG(status) == sig && !WCOREDUMP(status),
          label);
}

static void quit_self(void)
{
    kill(getpid(), SIGQUIT);
}

static void run(void (*action)(void), const char *label)
{
    run_expect(action, SIGSEGV, label);
}

int main(int argc, char **argv)
{
    test_init();
    if (argc > 1 && strcmp(argv[1], "sigbus") == 0) {
        run_expect(misaligned_exclusive_load, SIGBUS, "misaligned exclusive load killed by SIGBUS");
        return finish();
    }
    run(read_low_address, "read of 0x10 killed by SIGSEGV");
    run(write_text, "write to own text killed by SIGSEGV");
    run(write_readonly_mapping, "write to PROT_READ page killed by SIGSEGV");
    run_expect(quit_self, SIGQUIT, "SIGQUIT kills, no core dumped bit");
    run_expect(abort, SIGABRT, "abort() kills with SIGABRT, no core dumped bit");
    printf("parent still running: yes\n");
    return finish();
}
