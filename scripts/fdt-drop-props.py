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

from fdt import FDT_BEGIN_NODE, FDT_END_NODE, FDT_NOP, FDT_PROP, header, string_at, tokens


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__.split("\n\n")[1])
    src, dst, node, props = sys.argv[1], sys.argv[2], sys.argv[3], set(sys.argv[4:])
    blob = bytearray(open(src, "rb").read())
    h = header(blob, src)
    off_struct, off_strings = h["off_dt_struct"], h["off_dt_strings"]
    strings = bytes(blob[off_strings:off_strings + h["size_dt_strings"]])
    path, found, dropped = [], False, set()
    for token, pos, size, value in list(tokens(blob, off_struct, off_struct + h["size_dt_struct"], src)):
        if token == FDT_BEGIN_NODE:
            path.append(value.decode())
            found = found or "/".join(path) == node or (node == "/" and path == [""])
        elif token == FDT_END_NODE:
            path.pop()
        elif token == FDT_PROP and "/".join(path) == node and string_at(strings, value[1]) in props:
            blob[pos:pos + size] = struct.pack(">I", FDT_NOP) * (size // 4)
            dropped.add(string_at(strings, value[1]))
    if not found:
        sys.exit(f"{src}: no node {node}")
    if dropped != props:
        sys.exit(f"{src}: {node} has no {', '.join(sorted(props - dropped))}")
    open(dst, "wb").write(blob)


if __name__ == "__main__":
    main()
