#!/usr/bin/env bash
# User-space benchmarks: one static binary, userland/tests-c/bench.c, run
# unchanged on this kernel and on Linux, both in qemu-system-aarch64 -M raspi4b
# with -icount shift=0,sleep=off, where guest time is instructions executed (one
# per ns): the figures are instruction counts, deterministic and independent of
# the host's load.
#
#   scripts/bench-user.sh [image]
#
# Linux: Debian's arm64 kernel (the package the device tree comes from,
# fetched into build/linux/ by scripts/fetch-firmware.sh) booted with an
# initramfs holding only the benchmark as /init. QEMU's raspi4b lacks the
# BCM2711's L2 interrupt and I2C controllers and some clocks, which Linux 6.1
# faults on at boot: their drivers are left out with initcall_blacklist= and
# unused clocks are kept (clk_ignore_unused). Skipped, with a note, when
# build/linux/ has no kernel.
set -euo pipefail
cd "$(dirname "$0")/.."
img=${1:-build/kernel8.img}
qemu=${QEMU:-qemu-system-aarch64}
icount=(-icount shift=0,sleep=off)
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT

wait_for() { # file pattern count seconds
    local deadline=$((SECONDS + $4))
    while [ "$(grep -c -- "$2" "$1" || true)" -lt "$3" ]; do
        if [ $SECONDS -ge $deadline ]; then
            echo "timed out waiting for '$2'; console:" >&2; cat "$1" >&2; exit 1
        fi
        sleep 0.05
    done
}

# This kernel: through the user shell.
mkfifo "$dir/in"
"$qemu" -M raspi4b -kernel "$img" -serial stdio -display none -monitor none -no-reboot "${icount[@]}" \
    <"$dir/in" >"$dir/ours" 2>&1 &
pid=$!
exec 3>"$dir/in"
wait_for "$dir/ours" '^\$ ' 1 60
printf '/tests/bench\r' >&3
wait_for "$dir/ours" '^\$ ' 2 600
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
tr -d '\r' <"$dir/ours" | grep '^bench ' >"$dir/ours.bench"

# Linux, if fetched.
linux=build/linux/vmlinuz
have_linux=0
if [ -s "$linux" ]; then
    mkdir -p "$dir/root/tests" "$dir/root/dev"
    cp build/rootfs/tests/bench build/rootfs/tests/exit0 "$dir/root/tests/"
    # /dev/console for init's stdout, as a cpio entry (no mknod needed).
    (cd "$dir/root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$dir/linux.cpio.body"
    python3 scripts/cpio-add-node.py "$dir/linux.cpio.body" "$dir/linux.cpio" dev/console c 5 1
    timeout 900 "$qemu" -M raspi4b -kernel "$linux" -dtb build/firmware/bcm2711-rpi-4-b.dtb -initrd "$dir/linux.cpio" \
        -append "console=ttyAMA0,115200 rdinit=/tests/bench clk_ignore_unused initcall_blacklist=brcmstb_l2_driver_init,brcmstb_i2c_driver_init" \
        -serial stdio -display none -monitor none -no-reboot "${icount[@]}" </dev/null >"$dir/linux" 2>&1 &
    pid=$!
    wait_for "$dir/linux" '^bench cow_fault' 1 900
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    tr -d '\r' <"$dir/linux" | grep '^bench ' >"$dir/linux.bench"
    have_linux=1
fi

figure() { # file name -> ns_per_iter
    sed -n "s/^bench $2 iters=[0-9]* ns_per_iter=\([0-9]*\).*/\1/p" "$1"
}

echo "user-space benchmarks, instructions per operation (-icount shift=0,sleep=off), $("$qemu" --version | head -1)"
if [ "$have_linux" = 1 ]; then
    echo "Linux: $(cat build/linux/VERSION 2>/dev/null || echo "$linux")"
    printf '| %-16s | %14s | %14s | %8s |\n' benchmark "this kernel" "Linux" "ratio"
    printf '| %-16s | %14s | %14s | %8s |\n' --- ---: ---: ---:
else
    echo "(no Linux kernel in build/linux: scripts/fetch-firmware.sh fetches one for the comparison)"
    printf '| %-16s | %14s |\n' benchmark "this kernel"
    printf '| %-16s | %14s |\n' --- ---:
fi
for name in getppid fork_exit_wait fork_exec_wait pipe_pingpong file_create stat_deep read_cached mmap_shared cow_fault; do
    ours=$(figure "$dir/ours.bench" "$name")
    if [ "$have_linux" = 1 ]; then
        theirs=$(figure "$dir/linux.bench" "$name")
        ratio=$(awk -v a="$ours" -v b="$theirs" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
        printf '| %-16s | %14s | %14s | %8s |\n' "$name" "$ours" "$theirs" "$ratio"
    else
        printf '| %-16s | %14s |\n' "$name" "$ours"
    fi
done
