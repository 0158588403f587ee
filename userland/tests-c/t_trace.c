/*
 * Checks what /sys/kernel/tracing/trace holds after a long run (this kernel
 * only: there is no tracefs under qemu-user): every line has the shape of
 * Linux's trace output (`TASK-PID [CPU] FLAGS SECS.USECS: EVENT: fields`)
 * with a known event name, timestamps never go back, the number of lines
 * is the header's entries-in-buffer, and, with `wrapped` given, more
 * entries were written than the buffers hold (they wrapped).
 *
 * Usage: t_trace [wrapped]
 */
#include "common.h"

static const char *events[] = {
    "sched_process_fork", "sched_process_exec", "sched_process_exit", "sched_process_wait",
    "sched_process_free", "sched_switch",       "sched_wakeup",       "sched_wakeup_new",
    "sched_migrate_task", "signal_generate",    "signal_deliver",     "task_newtask",
    "task_rename",
};

int main(int argc, char **argv)
{
    test_init();
    static char buf[4 << 20];
    long n = read_whole_file("/sys/kernel/tracing/trace", buf, sizeof buf);
    if (n <= 0) {
        printf("FAIL: cannot read /sys/kernel/tracing/trace\n");
        return 1;
    }
    long held = -1, written = -1, lines = 0, bad = 0, backwards = 0;
    unsigned long last = 0;
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#') {
            char *c = strstr(line, "entries-in-buffer/entries-written: ");
            if (c)
                sscanf(c + strlen("entries-in-buffer/entries-written: "), "%ld/%ld", &held, &written);
            continue;
        }
        lines++;
        char task[64], flags[8], name[64];
        int cpu;
        unsigned long secs, usecs;
        int ok = sscanf(line, " %63s [%d] %7s %lu.%lu: %63[a-z_]: ", task, &cpu, flags, &secs, &usecs, name) == 6;
        ok = ok && strchr(task, '-') != NULL && cpu >= 0 && cpu < 4 && strlen(flags) == 4 && usecs < 1000000;
        int known = 0;
        for (size_t i = 0; ok && i < sizeof events / sizeof events[0]; i++)
            known |= strcmp(name, events[i]) == 0;
        if (!ok || !known) {
            if (bad++ == 0)
                printf("bad line: %s\n", line);
            continue;
        }
        unsigned long t = secs * 1000000 + usecs;
        backwards += t < last;
        last = t;
    }
    check(held > 0 && lines == held, "as many lines as entries-in-buffer");
    check(bad == 0, "every line has the trace format and a known event");
    check(backwards == 0, "timestamps never go back");
    if (argc > 1 && strcmp(argv[1], "wrapped") == 0)
        check(written > held, "the buffers wrapped (more written than held)");
    return finish();
}
