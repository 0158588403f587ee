"""Reading a flattened device tree (the devicetree specification's v17
format: a header, the memory reservation block, the structure block of
tokens and the strings block), for the scripts that edit one:
scripts/fdt-rng-seed.py and scripts/fdt-drop-props.py.
"""
import struct
import sys

FDT_MAGIC = 0xD00DFEED
FDT_BEGIN_NODE, FDT_END_NODE, FDT_PROP, FDT_NOP, FDT_END = 1, 2, 3, 4, 9
HEADER_FIELDS = ("magic", "totalsize", "off_dt_struct", "off_dt_strings", "off_mem_rsvmap", "version",
                 "last_comp_version", "boot_cpuid_phys", "size_dt_strings", "size_dt_struct")


def align4(n):
    return (n + 3) & ~3


def header(blob, name):
    """The header's fields by their specification names; exits unless `blob`
    (read from the file `name`) is a v17 tree."""
    fields = dict(zip(HEADER_FIELDS, struct.unpack_from(">10I", blob, 0)))
    if fields["magic"] != FDT_MAGIC or fields["version"] < 17:
        sys.exit(f"{name}: not a version 17 flattened device tree")
    return fields


def tokens(buf, start, end, name):
    """The tokens of the structure block in buf[start:end], in order, as
    (token, pos, size, value): `pos` is the token's offset in `buf`, `size`
    its length with its payload; `value` is the node's name (bytes) for
    FDT_BEGIN_NODE, (value length, name offset in the strings block) for
    FDT_PROP, else None. Stops after FDT_END; exits on an unknown token."""
    pos = start
    while pos < end:
        (token,) = struct.unpack_from(">I", buf, pos)
        if token == FDT_BEGIN_NODE:
            stop = buf.index(b"\0", pos + 4)
            size = start + align4(stop + 1 - start) - pos
            yield token, pos, size, bytes(buf[pos + 4:stop])
        elif token == FDT_PROP:
            length, noff = struct.unpack_from(">II", buf, pos + 4)
            size = 12 + align4(length)
            yield token, pos, size, (length, noff)
        elif token in (FDT_END_NODE, FDT_NOP, FDT_END):
            size = 4
            yield token, pos, size, None
            if token == FDT_END:
                return
        else:
            sys.exit(f"{name}: bad token {token:#x} at {pos - start:#x}")
        pos += size


def string_at(strings, offset):
    """The NUL-terminated name at `offset` of the strings block."""
    return bytes(strings[offset:strings.index(b"\0", offset)]).decode()
