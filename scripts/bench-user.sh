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
#
# Linux gets a device tree with /chosen/rng-seed, as every bootloader
# provides (scripts/fdt-rng-seed.py; QEMU's raspi4b adds none): without a
# seed its CRNG is never ready, and each system call's kernel-stack offset
# randomisation (get_random_u16) takes the unseeded slow path, about 9,400
# instructions, which would swell every Linux figure below.
#
# Both kernels run the benchmark with --both: each figure unpinned, then with
# the benchmark and its children pinned to CPU 0 (sched_setaffinity), so both
# sides measure the same work with no cross-CPU wake-ups or idle entries.
# Then --scale: 1, 2 and 4 processes at once, each pinned to its own CPU,
# running fork+exit+wait or a pipe ping-pong pair; the figure is the time
# until the last is reaped divided by all their iterations. Under -icount
# the clock counts every CPU's instructions, so the 4-to-1 ratio is 1.0
# without contention, and instructions spent spinning on shared locks
# raise it.
set -euo pipefail
cd "$(dirname "$0")/.."
img=${1:-build/kernel8.img}
qemu=${QEMU:-qemu-system-aarch64}
icount=(-icount shift=0,sleep=off)
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT

wait_for() { # file pattern count seconds
    local deadline=$((SECONDS + $4))
    local n
    # The file may not exist yet: QEMU's output redirection runs in the
    # background job.
    while n=$(grep -c -- "$2" "$1" 2>/dev/null || true); [ "${n:-0}" -lt "$3" ]; do
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
# The console shell's first prompt: BusyBox ash's or the project's own.
wait_for "$dir/ours" '^\$ \|^~ # ' 1 60
printf '/tests/bench --both --scale; echo bench-done\r' >&3
wait_for "$dir/ours" '^bench-done' 1 600
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
    python3 scripts/fdt-rng-seed.py build/firmware/bcm2711-rpi-4-b.dtb "$dir/seeded.dtb"
    timeout 900 "$qemu" -M raspi4b -kernel "$linux" -dtb "$dir/seeded.dtb" -initrd "$dir/linux.cpio" \
        -append "console=ttyAMA0,115200 rdinit=/tests/bench clk_ignore_unused initcall_blacklist=brcmstb_l2_driver_init,brcmstb_i2c_driver_init -- --both --scale" \
        -serial stdio -display none -monitor none -no-reboot "${icount[@]}" </dev/null >"$dir/linux" 2>&1 &
    pid=$!
    wait_for "$dir/linux" '^bench scale_pipe_pingpong procs=4' 1 900
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    tr -d '\r' <"$dir/linux" | grep '^bench ' >"$dir/linux.bench"
    have_linux=1
fi

figure() { # file name pinned(0|1) -> ns_per_iter
    if [ "$3" = 1 ]; then
        sed -n "s/^bench $2 iters=[0-9]* ns_per_iter=\([0-9]*\) pinned=1$/\1/p" "$1"
    else
        sed -n "s/^bench $2 iters=[0-9]* ns_per_iter=\([0-9]*\)$/\1/p" "$1"
    fi
}

echo "user-space benchmarks, instructions per operation (-icount shift=0,sleep=off), $("$qemu" --version | head -1)"
if [ "$have_linux" = 1 ]; then
    echo "Linux: $(cat build/linux/VERSION 2>/dev/null || echo "$linux"), device tree with /chosen/rng-seed"
    printf '| %-16s | %12s | %12s | %6s | %12s | %12s | %6s |\n' benchmark "ours pinned" "Linux pinned" ratio \
        "ours" "Linux" ratio
    printf '| %-16s | %12s | %12s | %6s | %12s | %12s | %6s |\n' --- ---: ---: ---: ---: ---: ---:
else
    echo "(no Linux kernel in build/linux: scripts/fetch-firmware.sh fetches one for the comparison)"
    printf '| %-16s | %12s | %12s |\n' benchmark "pinned" "unpinned"
    printf '| %-16s | %12s | %12s |\n' --- ---: ---:
fi
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
for name in getppid fork_exit_wait fork_exec_wait pipe_pingpong file_create stat_deep read_cached mmap_shared cow_fault; do
    ours1=$(figure "$dir/ours.bench" "$name" 1)
    ours0=$(figure "$dir/ours.bench" "$name" 0)
    if [ "$have_linux" = 1 ]; then
        theirs1=$(figure "$dir/linux.bench" "$name" 1)
        theirs0=$(figure "$dir/linux.bench" "$name" 0)
        printf '| %-16s | %12s | %12s | %6s | %12s | %12s | %6s |\n' "$name" "$ours1" "$theirs1" \
            "$(ratio "$ours1" "$theirs1")" "$ours0" "$theirs0" "$(ratio "$ours0" "$theirs0")"
    else
        printf '| %-16s | %12s | %12s |\n' "$name" "$ours1" "$ours0"
    fi
done

scale() { # file name procs -> ns_per_iter
    sed -n "s/^bench scale_$2 procs=$3 iters=[0-9]* ns_per_iter=\([0-9]*\)$/\1/p" "$1"
}
echo
echo "scalability: n processes at once, one per CPU; instructions per operation, and the 4-to-1 ratio"
printf '| %-16s | %-6s | %10s | %10s | %10s | %8s |\n' benchmark kernel "1 proc" "2 procs" "4 procs" "4 / 1"
printf '| %-16s | %-6s | %10s | %10s | %10s | %8s |\n' --- --- ---: ---: ---: ---:
for name in fork_exit_wait pipe_pingpong; do
    for side in ours linux; do
        [ "$side" = linux ] && [ "$have_linux" != 1 ] && continue
        one=$(scale "$dir/$side.bench" "$name" 1)
        two=$(scale "$dir/$side.bench" "$name" 2)
        four=$(scale "$dir/$side.bench" "$name" 4)
        label=$([ "$side" = ours ] && echo "this" || echo "Linux")
        printf '| %-16s | %-6s | %10s | %10s | %10s | %8s |\n' "$name" "$label" "$one" "$two" "$four" \
            "$(ratio "$four" "$one")"
    done
done
