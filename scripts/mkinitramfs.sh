#!/usr/bin/env bash
# Packs the initramfs the kernel links in (kernel/src/fs/ramfs.rs): a cpio "newc"
# archive of build/rootfs/ (userland's programs and the test programs), plus the
# files of INITRAMFS_EXTRA (a directory of the user's own static binaries) on top.
#
# usage: scripts/mkinitramfs.sh ROOTFS OUT.cpio [EXTRA_DIR]
# Owners are root, names sorted and times taken from SOURCE_DATE_EPOCH (0 by
# default), so the same files give the same archive.
set -euo pipefail
rootfs=$1
out=$2
extra=${3:-}

if ! command -v cpio >/dev/null 2>&1; then
    echo "mkinitramfs: cpio not found (apt-get install cpio, or make setup)" >&2
    exit 1
fi
[ -d "$rootfs" ] || { echo "mkinitramfs: $rootfs is not a directory" >&2; exit 1; }
if [ -n "$extra" ] && [ ! -d "$extra" ]; then
    echo "mkinitramfs: INITRAMFS_EXTRA=$extra is not a directory" >&2
    exit 1
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp -a "$rootfs/." "$stage/"
if [ -n "$extra" ]; then
    cp -a "$extra/." "$stage/"
    echo "mkinitramfs: added $(find "$extra" -type f | wc -l) file(s) from $extra"
fi
find "$stage" -exec touch -h -d "@${SOURCE_DATE_EPOCH:-0}" {} +
tmp="$out.tmp"
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet) > "$tmp"
# An unchanged archive keeps its timestamp, so the kernel is not rebuilt.
if cmp -s "$tmp" "$out"; then rm "$tmp"; else mv "$tmp" "$out"; fi
echo "mkinitramfs: $out ($(stat -c %s "$out") bytes, $(cd "$stage" && find . -type f | wc -l) files)"
