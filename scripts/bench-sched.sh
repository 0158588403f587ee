#!/usr/bin/env bash
# Scheduler benchmarks: runs the kernel's `bench` command in QEMU and prints
# the medians it reports.
#
#   scripts/bench-sched.sh [image] [icount|wall]
#
# With `icount` (the default) QEMU runs with -icount shift=0,sleep=off: guest
# time is instructions executed (1 ns each), so the figures are deterministic
# and do not depend on host load; `wall` uses QEMU's normal clock.
set -euo pipefail
img=${1:-build/kernel8.img}
mode=${2:-icount}
qemu=${QEMU:-qemu-system-aarch64}
args=(-M raspi4b -kernel "$img" -serial stdio -display none -monitor none -no-reboot)
[ "$mode" = icount ] && args+=(-icount shift=0,sleep=off)

dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
mkfifo "$dir/in"
"$qemu" "${args[@]}" <"$dir/in" >"$dir/out" 2>&1 &
pid=$!
exec 3>"$dir/in"

wait_for() { # pattern count seconds
    local deadline=$((SECONDS + $3))
    while [ "$(grep -c -- "$1" "$dir/out" || true)" -lt "$2" ]; do
        if [ $SECONDS -ge $deadline ]; then
            echo "timed out waiting for '$1'; console:" >&2; cat "$dir/out" >&2; exit 1
        fi
        sleep 0.05
    done
}

# The kernel's debug monitor runs these: Ctrl-] hands it the console.
wait_for '^\$ \|^~ # ' 1 30
printf '\035' >&3
wait_for 'rpi4> ' 1 30
n=1
for cmd in "bench kthread 200" "bench pingpong 2000" "bench wakeup 500"; do
    printf '%s\r' "$cmd" >&3
    n=$((n + 1))
    wait_for 'rpi4> ' "$n" 300
done
echo "scheduler benchmarks ($mode clock), $("$qemu" --version | head -1)"
grep -E 'median' "$dir/out" | sed 's/^/  /'
