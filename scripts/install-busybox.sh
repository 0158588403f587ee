#!/usr/bin/env bash
# Installs Debian's BusyBox (scripts/fetch-busybox.sh) into the root file
# system the initramfs is packed from:
#   /bin/busybox, and a symbolic link to it for every applet that the
#   project's own userland does not provide (the list comes from
#   `busybox --list-full`, run under qemu-aarch64; applets of /usr/bin and
#   /usr/sbin go to /bin and /sbin, the directories on the kernel's PATH);
#   /bin/ash, the console shell init starts when it is there; /linuxrc,
#   BusyBox init, for booting with `init=/linuxrc`;
#   the files of userland/busybox/etc (/etc/inittab and /etc/init.d/rcS for
#   `init=/bin/busybox`), and /etc/passwd and /etc/group naming root;
#   /tests/busybox-battery.sh, the differential battery of
#   kernel/tests/busybox.rs, /tests/hashbang.sh, a script it runs, and
#   /tests/bench-mem.sh, scripts/bench-mem.sh's benchmark.
#
# usage: scripts/install-busybox.sh ROOTFS 1   install (fetching BusyBox if needed)
#        scripts/install-busybox.sh ROOTFS 0   remove what an earlier install added
# Both are idempotent; the links are rebuilt on every install, so an applet
# the project comes to provide itself loses its link.
set -euo pipefail
cd "$(dirname "$0")/.."
rootfs=$1
want=${2:-1}
log() { printf 'install-busybox: %s\n' "$*" >&2; }

# What an earlier install left: every link to /bin/busybox, the binary, the etc files.
remove() {
    find "$rootfs" -type l -lname /bin/busybox -delete 2>/dev/null || true
    rm -f "$rootfs/bin/busybox" "$rootfs/tests/busybox-battery.sh" "$rootfs/tests/hashbang.sh" "$rootfs/tests/bench-mem.sh"
    (cd userland/busybox && find etc -type f) | while read -r f; do rm -f "$rootfs/$f"; done
}

remove
if [ "$want" = 0 ]; then
    log "BUSYBOX=0: image without BusyBox"
    exit 0
fi

bash scripts/fetch-busybox.sh
if ! command -v qemu-aarch64 >/dev/null 2>&1; then
    log "qemu-aarch64 is needed to list the applets (apt-get install qemu-user, or make setup)"
    exit 1
fi
mkdir -p "$rootfs/bin" "$rootfs/sbin" "$rootfs/etc"
install -m 0755 build/busybox/busybox "$rootfs/bin/busybox"
cp -r userland/busybox/etc/. "$rootfs/etc/"
# The differential battery of kernel/tests/busybox.rs, run by BusyBox here and under qemu-aarch64.
mkdir -p "$rootfs/tests"
install -m 0644 kernel/tests/busybox/battery.sh "$rootfs/tests/busybox-battery.sh"
# A script with a #! line naming BusyBox ash, which the interactive test runs.
install -m 0755 kernel/tests/busybox/hashbang.sh "$rootfs/tests/hashbang.sh"
# The memory benchmark of scripts/bench-mem.sh.
install -m 0644 kernel/tests/busybox/bench-mem.sh "$rootfs/tests/bench-mem.sh"

links=0
for full in $(qemu-aarch64 build/busybox/busybox --list-full); do
    name=$(basename "$full")
    case "$full" in
        bin/* | usr/bin/*) dir=bin ;;
        sbin/* | usr/sbin/*) dir=sbin ;;
        # /linuxrc: BusyBox init under the name an initrd's entry point has,
        # for `init=/linuxrc` (/sbin/init is the project's own init).
        linuxrc) dir=. ;;
        *) continue ;;
    esac
    [ "$name" = busybox ] && continue
    # The project's own program of that name, in either directory, wins.
    if [ -e "$rootfs/bin/$name" ] || [ -e "$rootfs/sbin/$name" ]; then
        continue
    fi
    ln -s /bin/busybox "$rootfs/$dir/$name"
    links=$((links + 1))
done
log "installed /bin/busybox ($(cat build/busybox/VERSION)) and $links applet links"
