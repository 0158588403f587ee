#!/usr/bin/env python3
"""Appends a device node to a cpio "newc" archive without mknod (so no root is
needed), keeping the archive valid: the node goes before the trailer.

usage: cpio-add-node.py IN OUT PATH c|b MAJOR MINOR
"""
import sys

def entry(name: bytes, mode: int, rdevmajor: int, rdevminor: int, ino: int) -> bytes:
    name = name + b"\0"
    fields = [ino, mode, 0, 0, 1, 0, 0, 0, 0, rdevmajor, rdevminor, len(name), 0]
    head = b"070701" + b"".join(b"%08x" % f for f in fields)
    out = head + name
    out += b"\0" * (-len(out) % 4)
    return out

def main() -> None:
    src, dst, path, kind, major, minor = sys.argv[1:7]
    data = open(src, "rb").read()
    trailer = data.rfind(b"070701")
    if trailer < 0 or b"TRAILER!!!" not in data[trailer:]:
        sys.exit(f"{src}: no cpio trailer")
    mode = (0o020000 if kind == "c" else 0o060000) | 0o600
    node = entry(path.encode(), mode, int(major), int(minor), 0x7fff0000)
    end = entry(b"TRAILER!!!", 0, 0, 0, 0)
    out = data[:trailer] + node + end
    out += b"\0" * (-len(out) % 512)
    open(dst, "wb").write(out)

if __name__ == "__main__":
    main()
