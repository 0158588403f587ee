#!/bin/sh
# Builds the user programs (userland/, its own cargo workspace) in release mode for
# aarch64-unknown-none and installs them into build/rootfs/: /sbin/init and /bin/<program>.
# Usage: scripts/build-userland.sh   (from anywhere inside the repository)
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
rootfs="$root/build/rootfs"
target=aarch64-unknown-none
out="$root/userland/target/$target/release"

# cargo runs inside userland/ so that userland/.cargo/config.toml and the repository's
# rust-toolchain.toml (pinned toolchain and targets) both apply.
cd "$root/userland"
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx "$target"; then
    rustup target add "$target"
fi
cargo build --release --target "$target" -p programs

mkdir -p "$rootfs/bin" "$rootfs/sbin"
install -m 0755 "$out/init" "$rootfs/sbin/init"
echo "installed $rootfs/sbin/init"
for prog in sh ps kill echo cat ls true false sleep uname env strace mkdir rm mv cp touch ln chmod mount umount df; do
    install -m 0755 "$out/$prog" "$rootfs/bin/$prog"
    echo "installed $rootfs/bin/$prog"
done
mkdir -p "$rootfs/sbin"
for name in reboot poweroff; do
    install -m 0755 "$out/reboot" "$rootfs/sbin/$name"
    echo "installed $rootfs/sbin/$name"
done
