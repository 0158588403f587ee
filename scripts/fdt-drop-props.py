#!/usr/bin/env python3
"""Writes a copy of a flattened device tree with properties of one node removed.

    scripts/fdt-drop-props.py IN.dtb OUT.dtb NODE-PATH PROP...

Each named property of the node (a full path such as /soc/mmc@7e300000) is
overwritten with FDT_NOP tokens, which the devicetree specification lets a
reader skip, so no offset in the blob changes. scripts/bench-sd.sh uses it
for Linux in QEMU: raspi4b attaches the SD card to the EMMC host
(/soc/mmc@7e300000), which a Pi 4's tree describes as the Wi-Fi chip's
non-removable slot with a power sequence that needs the firmware's GPIO
expander, so Linux would never look for a card there.
"""
import struct
import sys

FDT_MAGIC = 0xD00DFEED
FDT_BEGIN_NODE, FDT_END_NODE, FDT_PROP, FDT_NOP = 1, 2, 3, 4


def align4(n):
    return (n + 3) & ~3


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__.split("\n\n")[1])
    src, dst, node, props = sys.argv[1], sys.argv[2], sys.argv[3], set(sys.argv[4:])
    blob = bytearray(open(src, "rb").read())
    (magic, _total, off_struct, off_strings, _rsv, version, _last, _boot, size_strings,
     size_struct) = struct.unpack_from(">10I", blob, 0)
    if magic != FDT_MAGIC or version < 17:
        sys.exit(f"{src}: not a version 17 flattened device tree")
    strings = bytes(blob[off_strings:off_strings + size_strings])
    pos, path, found, dropped = off_struct, [], False, set()
    while pos < off_struct + size_struct:
        (token,) = struct.unpack_from(">I", blob, pos)
        if token == FDT_BEGIN_NODE:
            end = blob.index(b"\0", pos + 4)
            path.append(blob[pos + 4:end].decode())
            pos = off_struct + align4(end + 1 - off_struct)
            found = found or "/".join(path) == node or (node == "/" and path == [""])
        elif token == FDT_END_NODE:
            path.pop()
            pos += 4
        elif token == FDT_PROP:
            length, noff = struct.unpack_from(">II", blob, pos + 4)
            size = 12 + align4(length)
            name = strings[noff:strings.index(b"\0", noff)].decode()
            if "/".join(path) == node and name in props:
                blob[pos:pos + size] = struct.pack(">I", FDT_NOP) * (size // 4)
                dropped.add(name)
            pos += size
        else:
            pos += 4
    if not found:
        sys.exit(f"{src}: no node {node}")
    if dropped != props:
        sys.exit(f"{src}: {node} has no {', '.join(sorted(props - dropped))}")
    open(dst, "wb").write(blob)


if __name__ == "__main__":
    main()
