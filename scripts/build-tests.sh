#!/usr/bin/env bash
# Builds the real-toolchain test programs and installs them into build/rootfs/tests/:
#   userland/tests-c/   C programs, static musl (aarch64-linux-musl-gcc), a few also glibc
#   userland/rust-std/  rust-command, Rust std for aarch64-unknown-linux-musl (static)
#
# usage: scripts/build-tests.sh           build and install
#        scripts/build-tests.sh --check   also run every program under qemu-aarch64
#                                         (Linux semantics) RUNS times (default 3)
#                                         and require byte-identical output
#
# As root with apt it installs the missing cross compiler packages first
# (gcc-aarch64-linux-gnu, libc6-dev-arm64-cross; qemu-user for --check).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

log() { printf 'build-tests: %s\n' "$*" >&2; }

check_mode=0
case "${1:-}" in
    --check) check_mode=1 ;;
    "") ;;
    *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

# --- packages -----------------------------------------------------------------------------------
need_pkgs=()
command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || need_pkgs+=(gcc-aarch64-linux-gnu)
[ -e /usr/aarch64-linux-gnu/lib/libc.a ] || need_pkgs+=(libc6-dev-arm64-cross)
command -v aarch64-linux-musl-gcc >/dev/null 2>&1 || need_pkgs+=(musl-dev:arm64)
if [ "$check_mode" = 1 ]; then
    command -v qemu-aarch64 >/dev/null 2>&1 || need_pkgs+=(qemu-user)
fi
if [ "${#need_pkgs[@]}" -gt 0 ]; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        log "missing: ${need_pkgs[*]} (install them with apt-get as root)"
        exit 1
    fi
    log "installing ${need_pkgs[*]}"
    # musl-dev:arm64 (the aarch64 musl C library and its gcc wrapper) needs
    # the arm64 architecture in dpkg.
    if printf '%s\n' "${need_pkgs[@]}" | grep -q ':arm64$' && ! dpkg --print-foreign-architectures | grep -qx arm64; then
        dpkg --add-architecture arm64
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

# --- build --------------------------------------------------------------------------------------
out="$root/build/rootfs/tests"
mkdir -p "$out"

make -s -C userland/tests-c OUT="$out"

musl=aarch64-unknown-linux-musl
if command -v rustup >/dev/null 2>&1 &&
    ! (cd userland/rust-std && rustup target list --installed | grep -qx "$musl"); then
    (cd userland/rust-std && rustup target add "$musl")
fi
(cd userland/rust-std &&
    cargo build --quiet --release --target "$musl" \
        --config "target.$musl.linker=\"rust-lld\"")
install -m 755 "userland/rust-std/target/$musl/release/rust-command" "$out/.rust-command.$$"
mv -f "$out/.rust-command.$$" "$out/rust-command"

programs=(hello exit0 forkexec rust-command bench hello-glibc forkexec-glibc t_threads-glibc t_signals-glibc
    t_cow t_forkloop t_forkbomb t_orphan t_zombie t_vfork t_threads t_signals t_stop
    t_segv t_efault t_mm t_pipe t_files t_fs t_mount t_shm t_proc t_ids t_wait t_tty t_mtproc t_fuzz t_oom t_limits t_overcommit t_wchan t_elf t_exec t_stress t_paste t_unix elf/ok)
for p in "${programs[@]}"; do
    [ -x "$out/$p" ] || { log "missing $out/$p"; exit 1; }
    printf 'installed build/rootfs/tests/%s (%s bytes)\n' "$p" "$(stat -c %s "$out/$p")"
done

[ "$check_mode" = 1 ] || exit 0

# --- check under qemu-aarch64 -------------------------------------------------------------------
# A guest execve of an aarch64 binary needs the host to run it through qemu too.
# Without binfmt_misc, programs that exec get host paths of small wrapper scripts.
wrap="$root/build/qemu-wrap"
mkdir -p "$wrap"
for p in hello exit0 t_pipe t_mtproc; do
    printf '#!/bin/sh\nexec qemu-aarch64 %s/%s "$@"\n' "$out" "$p" >"$wrap/$p"
    chmod +x "$wrap/$p"
done

runs=${RUNS:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

# check_program <name> <args...>: RUNS runs, exit status 0, identical stdout each time.
check_program() {
    local name=$1
    shift
    local i status
    for i in $(seq 1 "$runs"); do
        status=0
        qemu-aarch64 "$out/$name" "$@" >"$tmp/$name.$i" 2>"$tmp/$name.err" || status=$?
        if [ "$status" != 0 ]; then
            printf 'FAIL %s: exit status %s on run %s\n' "$name" "$status" "$i"
            tail -n 3 "$tmp/$name.$i" | sed 's/^/    /'
            failed=1
            return
        fi
        if [ "$i" -gt 1 ] && ! cmp -s "$tmp/$name.1" "$tmp/$name.$i"; then
            printf 'FAIL %s: output of run %s differs from run 1\n' "$name" "$i"
            diff "$tmp/$name.1" "$tmp/$name.$i" | sed 's/^/    /' || true
            failed=1
            return
        fi
    done
    printf 'ok   %-14s %s runs, %s lines, last: %s\n' "$name" "$runs" \
        "$(wc -l <"$tmp/$name.1")" "$(tail -n 1 "$tmp/$name.1")"
}

check_program hello
check_program hello-glibc
check_program t_threads-glibc
check_program t_signals-glibc
check_program exit0
check_program forkexec "$wrap/hello"
check_program rust-command "$wrap/hello"
check_program t_cow
check_program t_forkloop
check_program t_forkbomb
check_program t_orphan
check_program t_zombie
check_program t_vfork
check_program t_threads
check_program t_signals
check_program t_stop
check_program t_segv
check_program t_efault
check_program t_mm
check_program t_pipe "$wrap/t_pipe"
check_program t_files "$root/build/rootfs"
check_program t_fs "$tmp"
check_program t_shm "$tmp"
check_program t_proc
check_program t_ids
check_program t_wait
check_program t_mtproc "$wrap/t_mtproc"
check_program t_unix

# Outputs that vary by design: only their shape is checked.
if qemu-aarch64 "$out/t_cow" --meminfo >"$tmp/meminfo" &&
    grep -Eq '^cow: free pages before fork=[0-9]+ after fork=[0-9]+ after child write=[0-9]+$' \
        "$tmp/meminfo"; then
    printf 'ok   %-14s %s\n' "t_cow --meminfo" "$(grep '^cow:' "$tmp/meminfo")"
else
    printf 'FAIL t_cow --meminfo\n'
    failed=1
fi
if qemu-aarch64 "$out/bench" --exec "$wrap/exit0" >"$tmp/bench" &&
    [ "$(grep -Ec '^bench [a-z_]+ iters=[0-9]+ ns_per_iter=[0-9]+$' "$tmp/bench")" = 5 ]; then
    printf 'ok   %-14s 5 benchmarks\n' bench
else
    printf 'FAIL bench\n'
    cat "$tmp/bench"
    failed=1
fi

if [ "$failed" = 0 ]; then
    echo "all test programs pass under qemu-aarch64"
else
    echo "some test programs failed under qemu-aarch64"
fi
exit "$failed"
