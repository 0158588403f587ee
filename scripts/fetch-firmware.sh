#!/usr/bin/env bash
# Fetches what a Pi 4 needs on its SD card besides the kernel, from Debian:
#   - start4.elf, fixup4.dat: the GPU firmware (package raspi-firmware, in
#     bookworm's non-free-firmware component);
#   - bcm2711-rpi-4-b.dtb: the device tree (Debian's arm64 kernel package,
#     linux-image-<version>-arm64, under /usr/lib/linux-image-*/broadcom/).
# into build/firmware/, with the package versions in build/firmware/VERSIONS;
# and that package's Linux kernel into build/linux/vmlinuz, the reference
# `make bench` runs the user-space benchmark on, with the modules its SD card
# benchmark loads (the SDHCI driver and vfat) in build/linux/modules/.
# Idempotent: nothing is fetched when the files are there.
#
# As root on Debian it adds the non-free-firmware component and the arm64
# architecture to apt if they are missing; otherwise it says what to do.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/firmware
files=(start4.elf fixup4.dat bcm2711-rpi-4-b.dtb)
log() { printf 'fetch-firmware: %s\n' "$*" >&2; }

linux_out=build/linux
# In the order they load (each after what it depends on).
modules=(sdhci sdhci-pltfm sdhci-iproc fat vfat nls_cp437 nls_ascii)
have_all() {
    for f in "${files[@]}" VERSIONS; do [ -s "$out/$f" ] || return 1; done
    for m in "${modules[@]}"; do [ -s "$linux_out/modules/$m.ko" ] || return 1; done
    [ -s "$linux_out/vmlinuz" ]
}
have_all && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    log "missing ${files[*]} in $out; on Debian as root this script fetches them."
    log "elsewhere: copy start4.elf and fixup4.dat from the Raspberry Pi firmware and"
    log "bcm2711-rpi-4-b.dtb from a Linux arm64 kernel into $out, and write VERSIONS."
    exit 1
fi

changed=0
if ! grep -rqs 'non-free-firmware' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    . /etc/os-release
    log "adding ${VERSION_CODENAME} non-free-firmware to apt sources"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian ${VERSION_CODENAME} non-free-firmware" \
        > /etc/apt/sources.list.d/rpi4-kernel-non-free-firmware.list
    changed=1
fi
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    log "adding the arm64 architecture to dpkg (for the kernel package's device trees)"
    dpkg --add-architecture arm64
    changed=1
fi
if [ "$changed" = 1 ] || ! apt-cache show raspi-firmware >/dev/null 2>&1; then
    apt-get update -qq
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 777 "$tmp"
# The metapackage names the current kernel package; its device trees are what we need.
kpkg=$(apt-cache depends linux-image-arm64:arm64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
kpkg=${kpkg%:arm64}
[ -n "$kpkg" ] || { log "cannot find the arm64 kernel package"; exit 1; }
log "downloading raspi-firmware and $kpkg:arm64"
(cd "$tmp" && apt-get download -q raspi-firmware "$kpkg:arm64" >/dev/null)
dpkg-deb -x "$tmp"/raspi-firmware_*.deb "$tmp/fw"
dpkg-deb -x "$tmp"/"$kpkg"_*_arm64.deb "$tmp/k"
mkdir -p "$out"
cp "$tmp/fw/usr/lib/raspi-firmware/start4.elf" "$tmp/fw/usr/lib/raspi-firmware/fixup4.dat" "$out/"
cp "$(find "$tmp/k" -name bcm2711-rpi-4-b.dtb | head -1)" "$out/"
# The same package's kernel: Linux in QEMU is the reference of `make bench`.
mkdir -p "$linux_out"
cp "$(find "$tmp/k/boot" -name 'vmlinuz-*' | head -1)" "$linux_out/vmlinuz"
echo "$kpkg $(dpkg-deb -f "$tmp"/"$kpkg"_*_arm64.deb Version)" > "$linux_out/VERSION"
mkdir -p "$linux_out/modules"
for m in "${modules[@]}"; do
    cp "$(find "$tmp/k/lib/modules" -name "$m.ko" | head -1)" "$linux_out/modules/"
done
printf '%s\n' "${modules[@]}" > "$linux_out/modules/order"
{
    echo "raspi-firmware $(dpkg-deb -f "$tmp"/raspi-firmware_*.deb Version)"
    echo "$kpkg $(dpkg-deb -f "$tmp"/"$kpkg"_*_arm64.deb Version)"
} > "$out/VERSIONS"
log "fetched into $out: $(tr '\n' ';' < "$out/VERSIONS")"
