#!/usr/bin/env bash
# Sends a kernel to a Raspberry Pi 4 running the chain-loader (make
# sdimage-chainload) over a serial line, then shows the console.
#
#   scripts/chainboot.sh <serial device> [kernel8.img]
#
# Waits for the loader's "chainload: ready" (reset the Pi if it does not
# come), sends "RPI4", the length and the Adler-32 of the image (little-endian
# u32s) and the image, and waits for the loader's answer. Then it copies the
# console to this terminal until Ctrl-C (CHAINBOOT_NO_CONSOLE=1: it exits).
set -euo pipefail
dev=${1:?usage: chainboot.sh <serial device> [kernel8.img]}
img=${2:-build/kernel8.img}
[ -e "$dev" ] || { echo "chainboot: $dev does not exist (is the USB-serial adapter plugged in?)" >&2; exit 1; }
[ -s "$img" ] || { echo "chainboot: $img missing: run make" >&2; exit 1; }

size=$(stat -c %s "$img")
sum=$(od -An -v -tu1 "$img" | awk '
    BEGIN { a = 1; b = 0 }
    { for (i = 1; i <= NF; i++) { a = (a + $i) % 65521; b = (b + a) % 65521 } }
    END { printf "%u", b * 65536 + a }')

# The header has no RTS/CTS lines: no hardware flow control.
stty -F "$dev" 115200 raw -echo -ixon -ixoff -crtscts cs8 -cstopb -parenb clocal
exec 3<>"$dev"

echo "chainboot: waiting for the loader on $dev (reset the Pi now)..." >&2
ready=0
while IFS= read -r -t "${CHAINBOOT_TIMEOUT:-60}" line <&3; do
    case "$line" in *"chainload: ready"*) ready=1; break ;; esac
done
[ "$ready" = 1 ] || { echo "chainboot: no 'chainload: ready' from $dev" >&2; exit 1; }

le32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $((($1 >> 8) & 255)) $((($1 >> 16) & 255)) $((($1 >> 24) & 255)); }
echo "chainboot: sending $img ($size bytes, adler32 $(printf %08x "$sum"))" >&2
{ printf 'RPI4'; printf "$(le32 "$size")"; printf "$(le32 "$sum")"; cat "$img"; } >&3

accepted=0
while IFS= read -r -t 300 line <&3; do
    case "$line" in
        *"chainload: ok"*) accepted=1; break ;;
        *"chainload: ready"*) ;; # said again while we computed or sent: not an answer
        *"chainload: "*) echo "chainboot: the loader said: ${line%$'\r'}" >&2; exit 1 ;;
    esac
done
[ "$accepted" = 1 ] || { echo "chainboot: no answer from the loader after the transfer" >&2; exit 1; }
echo "chainboot: the loader accepted the kernel" >&2
[ "${CHAINBOOT_NO_CONSOLE:-0}" = 1 ] && exit 0
echo "chainboot: console follows (Ctrl-C to leave)" >&2
cat <&3
