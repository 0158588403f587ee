/*
 * execve of malformed ELF executables (made by mkelf.c, installed under
 * /tests/elf/): each gives Linux's error, and the two well-formed ones run.
 * Kernel-side only: under qemu-aarch64 a guest execve is the host's.
 *
 * Linux finds the segment errors in load_elf_binary after the point of no
 * return and kills the process with SIGSEGV; the errno it computes is the
 * one listed. This kernel checks the segments before it gives up the old
 * program, so execve returns that errno.
 */
#include "common.h"

#include <sys/wait.h>

struct elf_case {
    const char *file;
    const char *want;   /* "exit 42" (it ran) or an errno name */
    const char *why;
};

static const struct elf_case cases[] = {
    { "ok", "exit 42", "a well-formed ET_EXEC runs" },
    { "dyn-wrap", "exit 42", "ET_DYN linked near 2^64 runs at the load base" },
    { "memsz-huge", "EINVAL", "p_memsz near 2^64" },
    { "memsz-max", "EINVAL", "p_vaddr + p_memsz wraps" },
    { "filesz-over-memsz", "EINVAL", "p_filesz > p_memsz" },
    { "at-zero", "EPERM", "a segment below mmap_min_addr" },
    { "over-stack", "ENOMEM", "a segment in the stack area" },
    { "kernel-half", "ENOMEM", "a segment in the kernel half" },
    { "overlap", "ENOEXEC", "two segments on the same pages (Linux maps the later over the earlier)" },
    { "truncated-header", "ENOEXEC", "the file ends inside the ELF header" },
    { "truncated-phdrs", "ENOEXEC", "the file ends inside the program headers" },
    { "past-eof", "ENOEXEC", "a segment's file bytes run past the end (Linux: SIGBUS on touching them)" },
};

/* Runs the file in a child; describes how the child ended. */
static void outcome(const char *path, char *out, size_t len)
{
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = { (char *)path, NULL };
        char *envp[] = { NULL };
        execve(path, argv, envp);
        _exit(100 + errno);
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) {
        snprintf(out, len, "fork/wait failed");
    } else if (WIFSIGNALED(status)) {
        snprintf(out, len, "%s", WTERMSIG(status) == SIGSEGV ? "SIGSEGV" : "another signal");
    } else if (WEXITSTATUS(status) >= 100) {
        snprintf(out, len, "%s", errno_name(WEXITSTATUS(status) - 100));
    } else {
        snprintf(out, len, "exit %d", WEXITSTATUS(status));
    }
}

int main(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[128], got[64], label[160];
        snprintf(path, sizeof path, "/tests/elf/%s", cases[i].file);
        outcome(path, got, sizeof got);
        int ok = strcmp(got, cases[i].want) == 0;
        snprintf(label, sizeof label, "%s (%s): %s", cases[i].file, cases[i].why, got);
        printf("%s\n", label);
        if (!ok)
            fail("%s: wanted %s", label, cases[i].want);
    }
    return finish();
}
