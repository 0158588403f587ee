#!/usr/bin/env python3
"""Writes a copy of a flattened device tree with /chosen/rng-seed set.

    scripts/fdt-rng-seed.py IN.dtb OUT.dtb [SEED_HEX]

A bootloader (the Pi firmware, U-Boot, UEFI) hands Linux a few random bytes in
/chosen/rng-seed; Linux credits them to its CRNG, which is then ready from the
first instruction of user space. QEMU's raspi4b machine adds none, so without
this Linux's CRNG stays unready and every system call's stack-offset
randomisation (get_random_u16) runs the slow, not-yet-seeded path: thousands
of instructions per call. The same job as `fdtput -t bx IN /chosen rng-seed
...`, without needing dtc's tools. SEED_HEX defaults to 64 fixed bytes, so
runs are repeatable; the value does not matter, only that a seed exists.

Format: the devicetree specification's flattened tree (v17; scripts/fdt.py
reads it). The property is put first in /chosen (creating the node under / if missing);
an rng-seed already there is replaced.
"""
import hashlib
import struct
import sys

from fdt import FDT_BEGIN_NODE, FDT_END_NODE, FDT_MAGIC, FDT_PROP, align4, header, tokens


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__.split("\n\n")[1])
    src, dst = sys.argv[1], sys.argv[2]
    seed = bytes.fromhex(sys.argv[3]) if len(sys.argv) == 4 else hashlib.sha512(b"rng-seed").digest()
    blob = open(src, "rb").read()
    h = header(blob, src)
    off_struct, off_strings, off_rsv = h["off_dt_struct"], h["off_dt_strings"], h["off_mem_rsvmap"]
    structure = bytearray(blob[off_struct:off_struct + h["size_dt_struct"]])
    strings = bytearray(blob[off_strings:off_strings + h["size_dt_strings"]])
    # The memory reservation block runs up to its (0, 0) terminator.
    rsv_end = off_rsv
    while struct.unpack_from(">QQ", blob, rsv_end) != (0, 0):
        rsv_end += 16
    rsv = blob[off_rsv:rsv_end + 16]

    name_off = strings.find(b"rng-seed\0")
    if name_off < 0 or (name_off > 0 and strings[name_off - 1] != 0):
        name_off = len(strings)
        strings += b"rng-seed\0"
    prop = struct.pack(">III", FDT_PROP, len(seed), name_off) + seed + b"\0" * (align4(len(seed)) - len(seed))

    # Walk the tokens: find /chosen (depth 1), and any rng-seed already in it.
    depth, chosen_body, root_end, old = 0, None, None, None
    in_chosen = False
    for token, pos, size, value in tokens(structure, 0, len(structure), src):
        if token == FDT_BEGIN_NODE:
            depth += 1
            if depth == 2 and value == b"chosen":
                in_chosen, chosen_body = True, pos + size
        elif token == FDT_END_NODE:
            if depth == 2:
                in_chosen = False
            if depth == 1:
                root_end = pos
            depth -= 1
        elif token == FDT_PROP:
            if in_chosen and depth == 2 and strings[value[1]:value[1] + 9] == b"rng-seed\0":
                old = (pos, size)

    if old is not None:
        structure[old[0]:old[0] + old[1]] = prop
    elif chosen_body is not None:
        structure[chosen_body:chosen_body] = prop
    else:
        node = struct.pack(">I", FDT_BEGIN_NODE) + b"chosen\0\0" + prop + struct.pack(">I", FDT_END_NODE)
        structure[root_end:root_end] = node

    header_size = 40
    off_rsv = align4(header_size)
    off_struct = align4(off_rsv + len(rsv))
    off_strings = off_struct + len(structure)
    total = off_strings + len(strings)
    out = bytearray(total)
    struct.pack_into(">10I", out, 0, FDT_MAGIC, total, off_struct, off_strings, off_rsv, h["version"],
                     h["last_comp_version"], h["boot_cpuid_phys"], len(strings), len(structure))
    out[off_rsv:off_rsv + len(rsv)] = rsv
    out[off_struct:off_strings] = structure
    out[off_strings:] = strings
    open(dst, "wb").write(out)


if __name__ == "__main__":
    main()
