#!/usr/bin/env bash
# SD card benchmark under QEMU: a 64 MiB card (MBR, FAT32) holding a 16 MiB
# file and the test program kernel/tests/sdcard/sdcheck.c; in the guest, the
# file read sequentially from /boot (64 KiB reads), 1000 random 4 KiB reads
# of it, and 16 MiB written sequentially to the partition's block device
# past the files (with fsync). Each run twice: as is (MB/s by the guest's
# clock, which is wall time under TCG) and under -icount shift=0,sleep=off
# (the guest's nanoseconds are instructions: the ns/KiB column is
# instructions per KiB). Then the same card and program on Linux (the kernel
# scripts/fetch-firmware.sh puts in build/linux/, with its sdhci-iproc and
# vfat modules), booted with a device tree carrying /chosen/rng-seed and the
# EMMC host described as an SD slot (scripts/fdt-drop-props.py).
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

# The write goes 40 MiB into the partition, beyond the 16 MiB file.
wbench_args="$((40 << 20)) $((16 << 20))"
results='^(seq-read|rand-read-4k|seq-write|bench|wbench):'

wait_for() { # file pattern pid
    for _ in $(seq 3000); do
        grep -q "$2" "$1" && return 0
        sleep 0.1
    done
    echo "bench-sd: no '$2' in time:" >&2; cat "$1" >&2; kill "$3"; exit 1
}

ours() { # out qemu-args...
    local out=$1; shift
    rm -f "$tmp/in"; mkfifo "$tmp/in"
    cp "$tmp/sd.img" "$tmp/run.img"
    "$qemu" -M raspi4b -kernel "$img" -serial stdio -display none -monitor none -no-reboot "$@" \
        -drive if=sd,format=raw,file="$tmp/run.img" < "$tmp/in" > "$out" 2>&1 &
    local pid=$!
    # The console is a FIFO; each command is sent when the previous one's
    # result line has appeared.
    exec 3> "$tmp/in"
    wait_for "$out" '^\$ \|^~ # ' "$pid"
    echo "/boot/sdcheck bench /boot/big16" >&3
    wait_for "$out" '^rand-read-4k:\|^bench:' "$pid"
    echo "/boot/sdcheck wbench /dev/mmcblk0p1 $wbench_args" >&3
    wait_for "$out" '^seq-write:\|^wbench:' "$pid"
    echo poweroff >&3
    exec 3>&-
    wait "$pid" || true
}

linux() { # out qemu-args...
    local out=$1; shift
    cp "$tmp/sd.img" "$tmp/run.img"
    "$qemu" -M raspi4b -kernel build/linux/vmlinuz -dtb "$tmp/seeded.dtb" -initrd "$tmp/linux.cpio" \
        -append "console=ttyAMA0,115200 rdinit=/init clk_ignore_unused initcall_blacklist=brcmstb_l2_driver_init,brcmstb_i2c_driver_init" \
        -serial stdio -display none -monitor none -no-reboot "$@" \
        -drive if=sd,format=raw,file="$tmp/run.img" </dev/null >"$out" 2>&1 &
    local pid=$!
    # Linux halts but cannot power the emulated board off: stop QEMU once
    # the results are out.
    wait_for "$out" '^seq-write:\|^wbench:\|^bench: mount failed' "$pid"
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

icount=(-icount shift=0,sleep=off)
ours "$tmp/ours"
ours "$tmp/ours-icount" "${icount[@]}"

have_linux=0
if [ -s build/linux/vmlinuz ] && [ -s build/linux/modules/order ] && [ -x build/busybox/busybox ]; then
    # An initramfs: BusyBox, the modules, and an init that loads them,
    # mounts the card's partition and runs the same two commands.
    root="$tmp/root"
    mkdir -p "$root/bin" "$root/lib" "$root/proc" "$root/sys" "$root/dev" "$root/boot"
    cp build/busybox/busybox "$root/bin/"
    while read -r m; do cp "build/linux/modules/$m.ko" "$root/lib/"; done < build/linux/modules/order
    cp build/linux/modules/order "$root/lib/"
    cat > "$root/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
while read -r m; do insmod /lib/\$m.ko; done < /lib/order
for i in \$(seq 200); do
    set -- /dev/mmcblk*p1
    [ -e "\$1" ] && break
    sleep 0.1
done
part=\$1
echo "card partition: \$part"
mount -t vfat "\$part" /boot || echo "bench: mount failed"
/boot/sdcheck bench /boot/big16
/boot/sdcheck wbench "\$part" $wbench_args
poweroff -f
EOF
    chmod 755 "$root/init"
    (cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$tmp/linux.cpio.body"
    python3 scripts/cpio-add-node.py "$tmp/linux.cpio.body" "$tmp/linux.cpio" dev/console c 5 1
    python3 scripts/fdt-rng-seed.py build/firmware/bcm2711-rpi-4-b.dtb "$tmp/rng.dtb"
    # QEMU's card is on the EMMC host, which the tree gives the Wi-Fi chip
    # (non-removable, powered through the firmware's GPIO expander).
    python3 scripts/fdt-drop-props.py "$tmp/rng.dtb" "$tmp/seeded.dtb" /soc/mmc@7e300000 non-removable mmc-pwrseq
    linux "$tmp/linux"
    linux "$tmp/linux-icount" "${icount[@]}"
    have_linux=1
fi

echo "SD card benchmark, $("$qemu" --version | head -1); a 16 MiB file on FAT32 (/boot), 64 KiB reads"
for run in ours ours-icount linux linux-icount; do
    [ -f "$tmp/$run" ] || continue
    tr -d '\r' < "$tmp/$run" | grep -E "$results" | sed "s/^/sd $run: /"
done
if [ "$have_linux" = 1 ]; then
    echo "Linux: $(cat build/linux/VERSION 2>/dev/null), sdhci-iproc; ns/KiB under -icount is instructions per KiB"
    grep -h "card partition:" "$tmp/linux" | tr -d '\r' | sed 's/^/sd linux: /'
else
    echo "Linux: not run (needs build/linux/vmlinuz and build/linux/modules from scripts/fetch-firmware.sh)"
fi
