/*
 * prompt: a QEMU TCG plugin (system mode) that counts every instruction the
 * guest executes, on all vCPUs, from the start of emulation until the
 * console prints a given prompt, and reports that count once:
 *   "prompt: N instructions"
 * The console's bytes are seen at the entry of the kernel's UART byte
 * writer (its address, `write=`), whose second argument (w1) is the byte.
 *
 * args: write=HEX (address of bsp::pl011::Pl011::write_byte),
 *       prompt=TEXT (default "~ # ", BusyBox ash's root prompt)
 * Used by scripts/bench-boot.sh.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu-plugin-api.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = 4;

static uint64_t insns;         /* executed so far (round-robin TCG: one thread) */
static uint64_t write_addr;
static const char *prompt = "~ # ";
static char tail[64];          /* the last bytes written, NUL-terminated */
static bool reported;
static struct qemu_plugin_register *reg_x1;
static GByteArray *rbuf;

static void on_tb(unsigned int vcpu, void *n)
{
    (void)vcpu;
    insns += (uintptr_t)n;
}

static void on_write(unsigned int vcpu, void *u)
{
    (void)vcpu; (void)u;
    if (reported || !reg_x1) return;
    g_byte_array_set_size(rbuf, 0);
    if (qemu_plugin_read_register(reg_x1, rbuf) < 1) return;
    size_t len = strlen(tail), want = strlen(prompt);
    if (len + 1 >= sizeof tail) {
        memmove(tail, tail + 1, len);
        len--;
    }
    tail[len] = (char)rbuf->data[0];
    tail[len + 1] = 0;
    if (len + 1 >= want && !strcmp(tail + len + 1 - want, prompt)) {
        char msg[64];
        snprintf(msg, sizeof msg, "prompt: %" PRIu64 " instructions\n", insns);
        qemu_plugin_outs(msg);
        reported = true;
    }
}

static void vcpu_init(qemu_plugin_id_t id, unsigned int v)
{
    (void)id;
    if (reg_x1) return; /* the registers' handles are the same on every vCPU */
    GArray *regs = qemu_plugin_get_registers();
    qemu_plugin_reg_descriptor *d = (qemu_plugin_reg_descriptor *)regs->data;
    for (unsigned i = 0; i < regs->len; i++)
        if (!strcmp(d[i].name, "x1")) reg_x1 = d[i].handle;
    g_array_free(regs, 1);
    (void)v;
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_tb, QEMU_PLUGIN_CB_NO_REGS, (void *)(uintptr_t)n);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *in = qemu_plugin_tb_get_insn(tb, i);
        if (qemu_plugin_insn_vaddr(in) == write_addr)
            qemu_plugin_register_vcpu_insn_exec_cb(in, on_write, QEMU_PLUGIN_CB_R_REGS, NULL);
    }
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (!strncmp(argv[i], "write=", 6)) write_addr = strtoull(argv[i] + 6, NULL, 16);
        else if (!strncmp(argv[i], "prompt=", 7)) prompt = argv[i] + 7;
    }
    if (!write_addr || !*prompt || strlen(prompt) >= sizeof tail) {
        fprintf(stderr, "prompt: write=HEX required, prompt= under %zu bytes\n", sizeof tail);
        return 1;
    }
    rbuf = g_byte_array_new();
    qemu_plugin_register_vcpu_init_cb(id, vcpu_init);
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    return 0;
}
