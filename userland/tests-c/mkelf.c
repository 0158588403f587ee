/*
 * Writes the malformed ELF executables that t_elf feeds to execve into the
 * directory given as the only argument. A host tool, run at build time
 * (the initramfs is read-only, so the files cannot be made at run time).
 *
 * Each file has one or two PT_LOAD segments and, where it could run, code
 * that calls exit_group(42). Which check each one trips is said next to it
 * and in t_elf.c, which holds the outcome Linux gives for each.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ET_EXEC 2
#define ET_DYN 3
#define PT_LOAD 1
#define FILE_SIZE 0x200
#define CODE_OFF 0x100

struct seg {
    uint64_t offset, vaddr, filesz, memsz;
};

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* An AArch64 ELF64 image: header, program headers, exit_group(42) code. */
static void image(uint8_t *f, uint16_t type, uint64_t entry, const struct seg *segs, int n, uint16_t phnum)
{
    static const uint32_t code[] = {
        0xd2800540, /* mov x0, #42 */
        0xd2800bc8, /* mov x8, #94 (exit_group) */
        0xd4000001, /* svc #0 */
    };
    memset(f, 0, FILE_SIZE);
    memcpy(f, "\177ELF\2\1\1", 7);
    put16(f + 16, type);
    put16(f + 18, 183); /* EM_AARCH64 */
    put32(f + 20, 1);
    put64(f + 24, entry);
    put64(f + 32, 64); /* e_phoff */
    put16(f + 52, 64); /* e_ehsize */
    put16(f + 54, 56); /* e_phentsize */
    put16(f + 56, phnum);
    for (int i = 0; i < n; i++) {
        uint8_t *ph = f + 64 + 56 * i;
        put32(ph, PT_LOAD);
        put32(ph + 4, 5); /* PF_R | PF_X */
        put64(ph + 8, segs[i].offset);
        put64(ph + 16, segs[i].vaddr);
        put64(ph + 24, segs[i].vaddr);
        put64(ph + 32, segs[i].filesz);
        put64(ph + 40, segs[i].memsz);
        put64(ph + 48, 0x1000);
    }
    memcpy(f + CODE_OFF, code, sizeof code);
}

static const char *dir;

static void write_file(const char *name, const uint8_t *f, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *out = fopen(path, "wb");
    if (!out || fwrite(f, 1, len, out) != len || fclose(out) != 0 || chmod(path, 0755) != 0) {
        perror(path);
        exit(1);
    }
}

/* One PT_LOAD of the whole file at vaddr with memsz, entry at its code. */
static void one(const char *name, uint16_t type, uint64_t vaddr, uint64_t filesz, uint64_t memsz)
{
    uint8_t f[FILE_SIZE];
    struct seg s = { 0, vaddr, filesz, memsz };
    image(f, type, vaddr + CODE_OFF, &s, 1, 1);
    write_file(name, f, sizeof f);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: mkelf <dir>\n");
        return 2;
    }
    dir = argv[1];
    uint8_t f[FILE_SIZE];

    one("ok", ET_EXEC, 0x400000, FILE_SIZE, FILE_SIZE);
    /* Position-independent, linked near 2^64: Linux places its first
     * segment at ELF_ET_DYN_BASE whatever its vaddr, and it runs. */
    one("dyn-wrap", ET_DYN, 0xffffffffffff0000ull, FILE_SIZE, FILE_SIZE);
    one("memsz-huge", ET_EXEC, 0x400000, FILE_SIZE, UINT64_MAX - 0x1000);
    one("memsz-max", ET_EXEC, 0x400000, FILE_SIZE, UINT64_MAX);
    one("filesz-over-memsz", ET_EXEC, 0x400000, FILE_SIZE, 0x100);
    one("at-zero", ET_EXEC, 0, FILE_SIZE, FILE_SIZE);
    /* Inside the 8 MiB stack area below the stack top (2^48 - 1 MiB). */
    one("over-stack", ET_EXEC, 0xffffffe00000ull, FILE_SIZE, FILE_SIZE);
    one("kernel-half", ET_EXEC, 0xffff000000400000ull, FILE_SIZE, FILE_SIZE);

    struct seg two[2] = { { 0, 0x400000, FILE_SIZE, FILE_SIZE }, { 0, 0x400000, FILE_SIZE, 0x2000 } };
    image(f, ET_EXEC, 0x400000 + CODE_OFF, two, 2, 2);
    write_file("overlap", f, sizeof f);

    image(f, ET_EXEC, 0x400000 + CODE_OFF, two, 1, 1);
    write_file("truncated-header", f, 40);
    /* 40 program headers announced; the file ends after 8. */
    image(f, ET_EXEC, 0x400000 + CODE_OFF, two, 1, 40);
    write_file("truncated-phdrs", f, sizeof f);
    one("past-eof", ET_EXEC, 0x400000, 0x10000, 0x10000);
    return 0;
}
