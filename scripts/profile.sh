#!/usr/bin/env bash
# Where a user-space benchmark's instructions go, by kernel function:
#
#   scripts/profile.sh [image] [benchmark=iters]     (make profile BENCH=fork_exit_wait=200)
#
# Boots the image in qemu-system-aarch64 -M raspi4b under -icount
# shift=0,sleep=off with the kprof TCG plugin (scripts/kprof/kprof.c, built
# here into build/kprof.so), runs userland/tests-c/bench.c once to warm the
# caches (slabs, stack cache, page lists), then again with --pin --mark: the
# benchmark opens a profiling window before its timed loop and closes it after,
# and the plugin counts, inside the window only, every executed instruction by
# the kernel function it ran in (a frame-pointer walk gives the inclusive
# figures). Writes build/profile/<benchmark>.N.* (raw counts; see
# scripts/kprof/kprof.c) and prints scripts/kprof/analyze.py's summary:
# instructions per iteration, self and inclusive, for the top functions.
#
# cow_fault=N forks N children that each open one window around their 64
# copy-on-write faults: the summary is of the first, per fault.
set -euo pipefail
cd "$(dirname "$0")/.."
img=${1:-build/kernel8.img}
spec=${2:-fork_exit_wait=200}
name=${spec%%=*}
iters=${spec#*=}
elf=${img%.img}.elf
qemu=${QEMU:-qemu-system-aarch64}
out=build/profile
mkdir -p "$out"
rm -f "$out/$name".*

gcc -O2 -shared -fPIC -o build/kprof.so scripts/kprof/kprof.c
# Kernel text symbols, "address name", sorted, for the plugin.
nm=$(command -v aarch64-linux-gnu-nm || command -v llvm-nm || echo nm)
"$nm" -n -C "$elf" | awk '$2 ~ /^[tTwW]$/ {print $1, $3}' >"$out/syms.txt"

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
        sleep 0.1
    done
}

# Every other benchmark off: bench.c runs all nine unless told otherwise.
args=""
for b in getppid fork_exit_wait fork_exec_wait pipe_pingpong cow_fault file_create stat_deep read_cached mmap_shared; do
    if [ "$b" = "$name" ]; then args="$args $b=$iters"; else args="$args $b=0"; fi
done
case " $args " in *" $name=$iters "*) ;; *) echo "unknown benchmark $name" >&2; exit 2 ;; esac

mkfifo "$dir/in"
"$qemu" -M raspi4b -kernel "$img" -serial stdio -display none -monitor none -no-reboot \
    -icount shift=0,sleep=off -plugin "build/kprof.so,out=$out/$name,syms=$out/syms.txt" \
    <"$dir/in" >"$dir/console" 2>&1 &
pid=$!
exec 3>"$dir/in"
# The console shell's first prompt: BusyBox ash's or the project's own.
wait_for "$dir/console" '^\$ \|^~ # ' 1 120
printf '/tests/bench --pin%s; echo warm-done\r' "$args" >&3
wait_for "$dir/console" '^warm-done' 1 600
printf '/tests/bench --pin --mark%s; echo profile-done\r' "$args" >&3
wait_for "$dir/console" '^profile-done' 1 1200
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
tr -d '\r' <"$dir/console" | grep '^bench ' || true

per=$iters
[ "$name" = cow_fault ] && per=64
echo "command: scripts/profile.sh $img $spec  ($("$qemu" --version | head -1))"
python3 scripts/kprof/analyze.py "$out/$name.0" "$per" "${TOP:-40}"
