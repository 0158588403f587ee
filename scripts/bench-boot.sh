#!/usr/bin/env bash
# Boot-to-prompt benchmark: how long from QEMU's start until the user shell's
# prompt (init and the console shell from the initramfs running).
#
#   scripts/bench-boot.sh [image] [runs]
#
# Prints, per run, the wall-clock time until "$ " appears on the console
# (includes QEMU's own start-up) and the kernel's own "boot complete in N ms";
# then the same kernel-side figure under -icount shift=0,sleep=off, where guest
# time is instructions executed (1 ns each) and does not depend on host load,
# and the instructions all cores execute from QEMU's start until the prompt,
# counted by the TCG plugin scripts/kprof/prompt.c.
set -euo pipefail
img=${1:-build/kernel8.img}
runs=${2:-10}
qemu=${QEMU:-qemu-system-aarch64}
args=(-M raspi4b -kernel "$img" -serial stdio -display none -monitor none -no-reboot)

boot_once() { # extra qemu args...; prints "wall_ms kernel_ms"
    local out pid start now
    out=$(mktemp)
    start=$(date +%s%N)
    "$qemu" "${args[@]}" "$@" </dev/null >"$out" 2>&1 &
    pid=$!
    while ! grep -q '^\$ \|^~ # ' "$out"; do
        now=$(date +%s%N)
        if (( (now - start) > 20000000000 )); then
            kill "$pid"; echo "no prompt within 20 s:" >&2; cat "$out" >&2; exit 1
        fi
        sleep 0.002
    done
    now=$(date +%s%N)
    kill "$pid"; wait "$pid" 2>/dev/null || true
    printf '%d %s\n' $(( (now - start) / 1000000 )) "$(sed -n 's/.*boot complete in \([0-9]*\) ms.*/\1/p' "$out")"
    rm -f "$out"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

walls=(); kernels=()
for _ in $(seq "$runs"); do
    read -r w k < <(boot_once)
    walls+=("$w"); kernels+=("$k")
done
read -r _ icount < <(boot_once -icount shift=0,sleep=off)

# Instructions to the prompt: the plugin watches the kernel's UART byte
# writer for the prompt's bytes (BusyBox ash's "~ # ", or "$ " without it).
elf=${img%.img}.elf
mkdir -p build
gcc -O2 -shared -fPIC -o build/prompt.so scripts/kprof/prompt.c
nm=$(command -v aarch64-linux-gnu-nm || command -v llvm-nm || echo nm)
write=$("$nm" -C "$elf" | awk '$3 == "bsp::pl011::Pl011::write_byte" {print $1}')
prompt_insns() { # prompt; prints the count, or nothing within 20 s
    local out pid deadline=$((SECONDS + 20))
    out=$(mktemp)
    "$qemu" "${args[@]}" -icount shift=0,sleep=off -d plugin \
        -plugin "build/prompt.so,write=$write,prompt=$1" </dev/null >"$out" 2>&1 &
    pid=$!
    while ! grep -aq 'prompt: [0-9]* instructions' "$out" && [ $SECONDS -lt $deadline ]; do
        sleep 0.05
    done
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
    sed -n 's/.*prompt: \([0-9]*\) instructions.*/\1/p' "$out" | head -1
    rm -f "$out"
}
to_prompt=$(prompt_insns '~ # ')
[ -n "$to_prompt" ] || to_prompt=$(prompt_insns '$ ')

echo "boot-to-prompt, $runs runs of $qemu ($("$qemu" --version | head -1))"
echo "  wall clock, QEMU start to prompt: median $(printf '%s\n' "${walls[@]}" | median) ms (runs: ${walls[*]})"
echo "  kernel's own boot time:           median $(printf '%s\n' "${kernels[@]}" | median) ms (runs: ${kernels[*]})"
echo "  kernel's boot time with -icount:  $icount ms of guest time (deterministic)"
echo "  instructions to the prompt:       ${to_prompt:-not measured} (all cores, from QEMU's start; deterministic)"
