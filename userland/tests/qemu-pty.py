#!/usr/bin/env python3
"""Job control of sh on a real terminal: runs build/rootfs/bin/sh under qemu-aarch64 on a host
pseudo-terminal and types at it: Ctrl-Z stops a foreground job, `jobs` lists it as Stopped, `fg`
continues it (SIGCONT to its group), Ctrl-C kills it ($? = 130), `kill %1` ends a background job,
a foreground `cat` owns the terminal and gets Ctrl-D, `exit 5` leaves with status 5.

Usage: qemu-pty.py WRAPPER_DIR   (a PATH of host wrappers, as userland/tests/qemu-user.sh makes)
"""
import os
import pty
import select
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "rootfs", "bin")
QEMU = os.environ.get("QEMU_AARCH64", "/usr/bin/qemu-aarch64")


def main():
    wrap = sys.argv[1]
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["PATH"] = wrap
        os.execv(QEMU, [QEMU, os.path.join(ROOT, "sh")])
    out = bytearray()

    def drain(seconds):
        end = time.time() + seconds
        while time.time() < end:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    out.extend(os.read(fd, 4096))
                except OSError:
                    return

    def send(data, seconds=0.8):
        os.write(fd, data)
        drain(seconds)

    drain(1)
    send(b"echo hello\n")
    send(b"sleep 30\n", 1.5)
    send(b"\x1a", 1)  # Ctrl-Z
    send(b"jobs\n")
    send(b"fg\n", 1.5)
    send(b"\x03", 1)  # Ctrl-C
    send(b"echo st=$?\n")
    send(b"sleep 30 &\n")
    send(b"kill %1\n", 1)
    send(b"true\n", 1)
    send(b"cat\n", 1)
    send(b"typed\n", 0.5)
    send(b"\x04", 1)  # Ctrl-D: end of input for cat
    send(b"echo st=$?\n")
    send(b"exit 5\n", 1)
    _, status = os.waitpid(pid, 0)
    text = out.decode(errors="replace").replace("\r\n", "\n")
    expect = [
        "$ echo hello\nhello\n",
        "[1]+  Stopped                 sleep 30\n$ jobs\n[1]+  Stopped                 sleep 30\n",
        "$ fg\nsleep 30\n",
        "st=130\n",
        "[1]+  Terminated              sleep 30\n",
        "$ cat\ntyped\ntyped\n",
        "st=0\n",
    ]
    failed = [e for e in expect if e not in text]
    if os.WEXITSTATUS(status) != 5:
        failed.append("exit status 5 (got %d)" % os.WEXITSTATUS(status))
    for f in failed:
        print("FAIL pty: missing %r" % f)
    if failed:
        print("--- terminal transcript\n" + text)
    print("pty job-control checks: %d passed, %d failed" % (len(expect) + 1 - len(failed), len(failed)))
    sys.exit(1 if failed else 0)


main()
