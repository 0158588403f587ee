#!/usr/bin/env bash
# Installs what building, running and testing the kernel need on a Debian machine:
# the pinned Rust toolchain (targets and llvm-tools, from rust-toolchain.toml) and
# QEMU >= 9 with the raspi4b machine (Debian bookworm-backports).
#
# Idempotent: it checks first and installs only what is missing. Without root it
# prints what to install instead of failing half-way.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'setup: %s\n' "$*" >&2; }

qemu_ok() {
    command -v qemu-system-aarch64 >/dev/null 2>&1 || return 1
    qemu-system-aarch64 -machine help 2>/dev/null | grep -q '^raspi4b '
}

need_pkgs=()
qemu_ok || need_pkgs+=(qemu-system-arm)
# For the SD card image: partitioning, FAT and file copies without mounting.
command -v sfdisk >/dev/null 2>&1 || need_pkgs+=(fdisk)
command -v mkfs.fat >/dev/null 2>&1 || need_pkgs+=(dosfstools)
command -v mcopy >/dev/null 2>&1 || need_pkgs+=(mtools)
command -v gdb-multiarch >/dev/null 2>&1 || [ "${SETUP_GDB:-0}" = 0 ] || need_pkgs+=(gdb-multiarch)
# For user space: the initramfs archive, the reference Linux for the user test
# programs (qemu-user), and the C toolchain of the real-toolchain test programs.
command -v cpio >/dev/null 2>&1 || need_pkgs+=(cpio)
command -v qemu-aarch64 >/dev/null 2>&1 || need_pkgs+=(qemu-user)
command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || need_pkgs+=(gcc-aarch64-linux-gnu)
[ -e /usr/aarch64-linux-gnu/lib/libc.a ] || need_pkgs+=(libc6-dev-arm64-cross)

if [ "${#need_pkgs[@]}" -gt 0 ]; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        log "missing: ${need_pkgs[*]}"
        log "install QEMU >= 9 with the raspi4b machine, e.g. on Debian bookworm as root:"
        log "  echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list"
        log "  apt-get update && apt-get install -t bookworm-backports qemu-system-arm"
        log "and for the SD card image: apt-get install fdisk dosfstools mtools"
        log "and for user space: apt-get install cpio qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
        exit 1
    fi
    . /etc/os-release
    target=()
    if [ "${VERSION_CODENAME:-}" = bookworm ]; then
        # bookworm's own QEMU is 7.2, which has no raspi4b; backports carries 10.x.
        list=/etc/apt/sources.list.d/bookworm-backports.list
        if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
            log "adding bookworm-backports to apt sources"
            echo 'deb http://deb.debian.org/debian bookworm-backports main' > "$list"
        fi
        target=(-t bookworm-backports)
    fi
    log "installing ${need_pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${target[@]}" "${need_pkgs[@]}" >/dev/null
    qemu_ok || { log "qemu-system-aarch64 still lacks raspi4b"; exit 1; }
fi

# rustup reads rust-toolchain.toml and installs the pinned toolchain, its targets
# and components on first use; asking rustc for its version triggers that.
if ! command -v cargo >/dev/null 2>&1; then
    log "cargo not found: install rustup (https://rustup.rs) and run this again"
    exit 1
fi
if ! rustc --version >/dev/null 2>&1; then
    log "installing the Rust toolchain pinned in rust-toolchain.toml"
    rustup toolchain install
fi
for t in aarch64-unknown-none-softfloat; do
    rustup target list --installed | grep -qx "$t" || rustup target add "$t"
done
rustup component list --installed | grep -q '^llvm-tools' || rustup component add llvm-tools
