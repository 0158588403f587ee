#!/usr/bin/env bash
# Fetches Debian's static BusyBox for arm64 (package busybox-static) into
# build/busybox/: the binary build/busybox/busybox and build/busybox/VERSION.
# The version and the package's SHA-256 are pinned below, as the package
# index (Packages) of the Debian release lists them; a download whose
# checksum differs is refused. Idempotent: nothing is fetched when the binary
# of the pinned version is there. The .deb is kept in build/busybox/ as the
# cache; delete the directory to fetch again.
#
# Changing the version: take Version, Filename and SHA256 from
# `apt-cache show busybox-static:arm64` (with the arm64 architecture added to
# dpkg) and write them below.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION='1:1.35.0-4+deb12u1+b1'
FILENAME='pool/main/b/busybox/busybox-static_1.35.0-4+deb12u1+b1_arm64.deb'
SHA256='732c9135564fc71337e0e05fb4da4d11e6c28c1834bce3e405e575afef2a52f5'
# Where the package is looked for, in order: the archive, then the snapshot
# service, which keeps every version after the archive has moved on.
MIRRORS=(
    "http://deb.debian.org/debian"
    "https://snapshot.debian.org/archive/debian/20250601T000000Z"
)

out=build/busybox
deb="$out/$(basename "$FILENAME")"
log() { printf 'fetch-busybox: %s\n' "$*" >&2; }

if [ -x "$out/busybox" ] && [ "$(cat "$out/VERSION" 2>/dev/null)" = "busybox-static $VERSION" ]; then
    exit 0
fi
mkdir -p "$out"

fetch() { # url file
    if command -v curl >/dev/null 2>&1; then
        curl -fsSL --retry 2 -o "$2" "$1"
    elif command -v wget >/dev/null 2>&1; then
        wget -q -O "$2" "$1"
    elif command -v python3 >/dev/null 2>&1; then
        python3 -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' "$1" "$2"
    else
        log "no curl, wget or python3 to download with (apt-get install curl)"
        return 1
    fi
}

if ! { [ -s "$deb" ] && echo "$SHA256  $deb" | sha256sum -c --quiet - >/dev/null 2>&1; }; then
    ok=0
    for mirror in "${MIRRORS[@]}"; do
        log "downloading $mirror/$FILENAME"
        if fetch "$mirror/$FILENAME" "$deb.part"; then
            if echo "$SHA256  $deb.part" | sha256sum -c --quiet - >/dev/null 2>&1; then
                mv "$deb.part" "$deb"
                ok=1
                break
            fi
            log "checksum mismatch for $mirror/$FILENAME: refused"
        fi
        rm -f "$deb.part"
    done
    if [ "$ok" != 1 ]; then
        log "cannot fetch busybox-static $VERSION; build without it: make BUSYBOX=0"
        exit 1
    fi
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$deb" "$tmp" 2>/dev/null || (cd "$tmp" && ar x "$OLDPWD/$deb" && tar -xf data.tar.* ./bin/busybox)
install -m 0755 "$tmp/bin/busybox" "$out/busybox"
echo "busybox-static $VERSION" > "$out/VERSION"
log "fetched busybox-static $VERSION into $out"
