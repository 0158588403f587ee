#!/bin/busybox ash
# Run by execve through its #! line (kernel/tests/busybox.rs): the process is
# the interpreter, with its argument, this file and the arguments as argv.
echo "cmdline: $(tr '\0' ' ' < /proc/$$/cmdline)"
