#!/usr/bin/env bash
# Host test of the kernel's memcpy, memset, memmove, copy_page and clear_page
# (kernel/src/arch/aarch64/string.S): assembled as they are, renamed so the
# C library's stay the reference, linked with string_test.c beside them and
# run under qemu-aarch64. Part of `make unit-test`.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/string-test
mkdir -p "$out"
aarch64-linux-gnu-gcc -c -Wa,--defsym,STRING_TEST=1 kernel/src/arch/aarch64/string.S -o "$out/string.o"
aarch64-linux-gnu-objcopy --redefine-sym memcpy=kmemcpy --redefine-sym memmove=kmemmove \
    --redefine-sym memset=kmemset "$out/string.o" "$out/kstring.o"
aarch64-linux-gnu-gcc -O1 -static kernel/src/arch/aarch64/string_test.c "$out/kstring.o" -o "$out/string-test"
# A bound, so that a copy loop that never ends fails the test instead of hanging it.
# The Pi 4's core, whose 64-byte DC ZVA block memset's zeroing path needs
# (QEMU's default core has another block size, and memset would store instead).
timeout 120 qemu-aarch64 -cpu cortex-a72 "$out/string-test"
