#!/usr/bin/env bash
# Memory of idle BusyBox processes: MemAvailable before and after starting
# N (default 600) `/bin/busybox sleep 1000` from a BusyBox sh loop
# (kernel/tests/busybox/bench-mem.sh, /tests/bench-mem.sh in the image), on
# this kernel and on Linux 6.1, both in qemu-system-aarch64 -M raspi4b (2 GiB).
# Each sleeper is an execve of the whole static BusyBox (1.9 MB); what it
# costs is the kernel's: page tables, task and file structures, and whether
# the program's text is shared or copied.
#
#   scripts/bench-mem.sh [image] [N]
#
# Linux: Debian's arm64 kernel (build/linux/, scripts/fetch-firmware.sh) with
# an initramfs of BusyBox, the applet links the script needs, the script,
# /dev/console and /dev/null, the script as init
# (rdinit=/bin/busybox -- sh /tests/bench-mem.sh), booted as
# scripts/bench-user.sh boots it (seeded device tree, drivers QEMU's raspi4b
# lacks left out). Skipped, with a note, when build/linux/ has no kernel.
set -euo pipefail
cd "$(dirname "$0")/.."
img=${1:-build/kernel8.img}
n=${2:-600}
qemu=${QEMU:-qemu-system-aarch64}
dir=$(mktemp -d)
[ -n "${KEEP:-}" ] && echo "bench-mem: work files in $dir" >&2
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
if [ ! -e build/rootfs/tests/bench-mem.sh ]; then
    echo "bench-mem: the image has no BusyBox (built with BUSYBOX=0): skipped" >&2
    exit 0
fi

wait_for() { # file pattern seconds
    local deadline=$((SECONDS + $3))
    until grep -q -- "$2" "$1" 2>/dev/null; do
        if [ $SECONDS -ge $deadline ]; then
            echo "timed out waiting for '$2'; console:" >&2; tail -50 "$1" >&2; exit 1
        fi
        sleep 0.2
    done
}

# This kernel: through the console shell.
mkfifo "$dir/in"
"$qemu" -M raspi4b -kernel "$img" -serial stdio -display none -monitor none -no-reboot \
    <"$dir/in" >"$dir/ours" 2>&1 &
pid=$!
exec 3>"$dir/in"
wait_for "$dir/ours" '^\$ \|^~ # ' 60
printf '/bin/busybox sh /tests/bench-mem.sh %s; echo mem-done\r' "$n" >&3
wait_for "$dir/ours" '^mem-done' 900
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
pid=
ours=$(tr -d '\r' <"$dir/ours" | grep '^bench-mem ' | tail -1)

# Linux, if fetched.
linux=build/linux/vmlinuz
theirs=
if [ -s "$linux" ]; then
    mkdir -p "$dir/root/bin" "$dir/root/tests" "$dir/root/dev" "$dir/root/proc"
    cp build/rootfs/bin/busybox "$dir/root/bin/"
    cp build/rootfs/tests/bench-mem.sh "$dir/root/tests/"
    # The applets the script runs by name (this BusyBox looks them up in PATH).
    for applet in sh mount mkdir awk grep wc sleep kill cat; do
        ln -s busybox "$dir/root/bin/$applet"
    done
    (cd "$dir/root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$dir/linux.cpio.body"
    # /dev/console for init's output, /dev/null for background jobs' input.
    python3 scripts/cpio-add-node.py "$dir/linux.cpio.body" "$dir/linux.cpio.1" dev/console c 5 1
    python3 scripts/cpio-add-node.py "$dir/linux.cpio.1" "$dir/linux.cpio" dev/null c 1 3
    python3 scripts/fdt-rng-seed.py build/firmware/bcm2711-rpi-4-b.dtb "$dir/seeded.dtb"
    timeout 900 "$qemu" -M raspi4b -kernel "$linux" -dtb "$dir/seeded.dtb" -initrd "$dir/linux.cpio" \
        -append "console=ttyAMA0,115200 rdinit=/bin/busybox clk_ignore_unused initcall_blacklist=brcmstb_l2_driver_init,brcmstb_i2c_driver_init -- sh /tests/bench-mem.sh $n" \
        -serial stdio -display none -monitor none -no-reboot </dev/null >"$dir/linux" 2>&1 &
    pid=$!
    wait_for "$dir/linux" '^bench-mem ' 900
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=
    theirs=$(tr -d '\r' <"$dir/linux" | grep '^bench-mem ' | tail -1)
fi

field() { sed -n "s/.* $2=\([0-9-]*\).*/\1/p" <<<"$1"; }
echo "memory of $n idle BusyBox processes (/bin/busybox sleep 1000), MemAvailable in kB, $("$qemu" --version | head -1)"
printf '| %-8s | %6s | %12s | %12s | %10s | %12s |\n' kernel procs "before" "after" "used" "per process"
printf '| %-8s | %6s | %12s | %12s | %10s | %12s |\n' --- ---: ---: ---: ---: ---:
row() { # label line
    printf '| %-8s | %6s | %12s | %12s | %10s | %12s |\n' "$1" "$(field "$2" procs)" "$(field "$2" before_kb)" \
        "$(field "$2" after_kb)" "$(field "$2" used_kb)" "$(field "$2" per_proc_kb)"
}
row this "$ours"
if [ -n "$theirs" ]; then
    row "Linux" "$theirs"
    echo "Linux: $(cat build/linux/VERSION 2>/dev/null || echo "$linux")"
else
    echo "(no Linux kernel in build/linux: scripts/fetch-firmware.sh fetches one for the comparison)"
fi
