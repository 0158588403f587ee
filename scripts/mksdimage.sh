#!/usr/bin/env bash
# Builds build/sdcard.img: an MBR disk with one FAT32 boot partition holding
# the Pi 4 firmware, its device tree, config.txt, cmdline.txt and the kernel.
# Needs no root and mounts nothing (sfdisk, mkfs.fat and mtools on files).
#
#   scripts/mksdimage.sh [kernel8.img] [output]
#
# SD_SIZE_MIB (default 64) sets the card's size; QEMU takes only a power of
# two. What the firmware and kernel leave of it is free on the FAT
# partition for the user's files (the kernel mounts it at /boot); the empty
# /bin directory on it is /boot/bin, which is on the shell's PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
kernel=${1:-build/kernel8.img}
img=${2:-build/sdcard.img}
fw=build/firmware
size_mib=${SD_SIZE_MIB:-64}
if (( size_mib < 64 || (size_mib & (size_mib - 1)) != 0 )); then
    echo "mksdimage: SD_SIZE_MIB=$size_mib: need a power of two of at least 64 (QEMU, FAT32)" >&2
    exit 1
fi
part_start=2048 # sectors: the partition starts at 1 MiB

for tool in sfdisk mkfs.fat mcopy; do
    command -v "$tool" >/dev/null || { echo "mksdimage: $tool missing (packages fdisk, dosfstools, mtools)" >&2; exit 1; }
done
bash scripts/fetch-firmware.sh

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat > "$tmp/config.txt" <<'CONFIG'
# Raspberry Pi 4 boot configuration for rpi4-kernel (read by start4.elf).

# Start the ARM cores in AArch64 state; the firmware enters the kernel at EL2.
arm_64bit=1

# Enable the UART and keep the core clock steady for it. The kernel routes
# GPIO 14/15 (header pins 8 and 10) to the PL011 itself and takes GPIO 30-33
# away from Bluetooth, so the PL011 is the console and Bluetooth has no UART:
# no dtoverlay is needed for that.
enable_uart=1
# The PL011's reference clock: the kernel reads it from the mailbox, the
# chain-loader assumes this value.
init_uart_clock=48000000

# The kernel image, loaded at the address it is linked for (not the 0x200000
# newer firmware picks by default for images without a Linux header).
kernel=kernel8.img
kernel_address=0x80000

# The device tree the firmware loads, completes (memory, command line) and
# passes to the kernel in x0.
device_tree=bcm2711-rpi-4-b.dtb
CONFIG

# /chosen/bootargs: the kernel reads log=<off|error|warn|info|debug|trace>.
echo "log=info" > "$tmp/cmdline.txt"

mkdir -p "$(dirname "$img")"
rm -f "$img"
truncate -s "${size_mib}M" "$img"
echo "start=$part_start, type=c, bootable" | sfdisk --quiet --label dos "$img"
part_kib=$(( (size_mib * 1024) - part_start / 2 ))
# -h: the partition's start, recorded in the boot sector as "hidden sectors".
mkfs.fat -F 32 -s 1 -h "$part_start" -n RPI4BOOT -C "$tmp/boot.fat" "$part_kib" >/dev/null
mcopy -i "$tmp/boot.fat" "$fw/start4.elf" "$fw/fixup4.dat" "$fw/bcm2711-rpi-4-b.dtb" \
    "$tmp/config.txt" "$tmp/cmdline.txt" ::/
# Whatever the input is called (the kernel, or the chain-loader), the
# firmware looks for kernel8.img.
mcopy -i "$tmp/boot.fat" "$kernel" ::/kernel8.img
mcopy -i "$tmp/boot.fat" "$fw/VERSIONS" ::/firmware-versions.txt
mmd -i "$tmp/boot.fat" ::/bin
dd if="$tmp/boot.fat" of="$img" bs=512 seek="$part_start" conv=notrunc status=none
echo "built $img ($size_mib MiB): $(mdir -b -i "$img@@$((part_start * 512))" ::/ | tr '\n' ' ')"
