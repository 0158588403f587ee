#!/usr/bin/env bash
# SD card benchmark under QEMU: a 64 MiB card (MBR, FAT32) holding a 16 MiB
# file and the test program kernel/tests/sdcard/sdcheck.c; in the guest, the
# file read sequentially from /boot (64 KiB reads), 1000 random 4 KiB reads
# of it, and 16 MiB written sequentially to /dev/mmcblk0p1 past the files
# (with fsync). Figures are the guest's own clock (wall time under TCG).
#
#   scripts/bench-sd.sh [image]
set -euo pipefail
cd "$(dirname "$0")/.."
img=${1:-build/kernel8.img}
qemu=${QEMU:-qemu-system-aarch64}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

aarch64-linux-gnu-gcc -static -O2 -o "$tmp/sdcheck" kernel/tests/sdcard/sdcheck.c
truncate -s 64M "$tmp/sd.img"
echo "start=2048, type=c" | sfdisk --quiet --label dos "$tmp/sd.img"
mkfs.fat -F 32 -s 1 -h 2048 -C "$tmp/boot.fat" $((64 * 1024 - 1024)) >/dev/null
head -c $((16 << 20)) /dev/urandom > "$tmp/big16"
mcopy -i "$tmp/boot.fat" "$tmp/sdcheck" "$tmp/big16" ::/
dd if="$tmp/boot.fat" of="$tmp/sd.img" bs=512 seek=2048 conv=notrunc status=none

# The console is a FIFO; each command is sent when the previous one's
# result line has appeared (deadline: 120 s each).
mkfifo "$tmp/in"
"$qemu" -M raspi4b -kernel "$img" -serial stdio -display none -monitor none -no-reboot \
    -drive if=sd,format=raw,file="$tmp/sd.img" < "$tmp/in" > "$tmp/out" 2>&1 &
pid=$!
exec 3> "$tmp/in"
wait_for() { # pattern
    for _ in $(seq 1200); do
        grep -q "$1" "$tmp/out" && return 0
        sleep 0.1
    done
    echo "bench-sd: no '$1' in time:" >&2; cat "$tmp/out" >&2; kill "$pid"; exit 1
}
wait_for '^\$ \|^~ # '
echo "/boot/sdcheck bench /boot/big16" >&3
wait_for '^rand-read-4k:\|^bench:'
# The write goes 40 MiB into the partition, beyond the 16 MiB file.
echo "/boot/sdcheck wbench /dev/mmcblk0p1 $((40 << 20)) $((16 << 20))" >&3
wait_for '^seq-write:\|^wbench:'
echo poweroff >&3
wait "$pid" || true
grep -E '^(seq-read|rand-read-4k|seq-write|bench|wbench):' "$tmp/out" | sed 's/^/sd: /'
