#!/usr/bin/env bash
# Adds function names to the addresses in a panic's call trace or fault report.
#
#   scripts/symbolize.sh [build/kernel8.elf] < console-output
#
# Every 0xffff... address in the input gets "<function+offset>" after it,
# from the ELF's symbol table (llvm-nm from the llvm-tools component).
set -euo pipefail
elf=${1:-build/kernel8.elf}
nm=$(ls "$(rustc --print sysroot)"/lib/rustlib/*/bin/llvm-nm | head -1)
syms=$(mktemp)
trap 'rm -f "$syms"' EXIT
"$nm" --defined-only --demangle -n "$elf" | awk '$2 ~ /^[tTwW]$/ { $2 = ""; print }' > "$syms"
awk -v symfile="$syms" '
    # Only the low 48 bits: awk numbers are doubles, exact to 2^53.
    function hex(s,    i, c, v) {
        v = 0; s = tolower(substr(s, 3)); if (length(s) > 12) s = substr(s, length(s) - 11)
        for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; v = v * 16 + c }
        return v
    }
    BEGIN {
        while ((getline line < symfile) > 0) {
            split(line, f, " "); n++
            addr[n] = hex("0x" f[1]); name[n] = substr(line, length(f[1]) + 3)
            sub(/::h[0-9a-f]+$/, "", name[n])
        }
    }
    function lookup(a,    lo, hi, mid) {
        lo = 1; hi = n
        if (n == 0 || a < addr[1]) return ""
        while (lo < hi) { mid = int((lo + hi + 1) / 2); if (addr[mid] <= a) lo = mid; else hi = mid - 1 }
        return sprintf("<%s+0x%x>", name[lo], a - addr[lo])
    }
    {
        out = $0
        if (match($0, /0xffff[0-9a-f]+/)) {
            s = lookup(hex(substr($0, RSTART, RLENGTH)))
            if (s != "") out = out "  " s
        }
        print out
    }
' 
