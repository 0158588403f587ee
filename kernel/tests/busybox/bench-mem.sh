# Memory of idle BusyBox processes (scripts/bench-mem.sh): MemAvailable
# before and after starting N `/bin/busybox sleep 1000` (each an execve of the
# whole binary), run by BusyBox sh as /tests/bench-mem.sh on this kernel and
# as Linux's init.
#
# usage: /bin/busybox sh /tests/bench-mem.sh [N]   (default 600)
n=${1:-600}
[ -r /proc/meminfo ] || { mkdir -p /proc; mount -t proc proc /proc; }
avail() { awk '/^MemAvailable:/ { print $2 }' /proc/meminfo; }
before=$(avail)
i=0
while [ $i -lt "$n" ]; do
    /bin/busybox sleep 1000 &
    i=$((i + 1))
done
# Until every sleeper has exec'd (its command line names sleep; the pattern
# keeps grep from counting itself), then a moment to settle.
tries=0
while [ "$(grep -l 'slee[p]' /proc/[0-9]*/cmdline 2>/dev/null | wc -l)" -lt "$n" ] && [ $tries -lt 300 ]; do
    sleep 1
    tries=$((tries + 1))
done
sleep 2
running=$(grep -l 'slee[p]' /proc/[0-9]*/cmdline 2>/dev/null | wc -l)
after=$(avail)
echo "bench-mem procs=$running before_kb=$before after_kb=$after used_kb=$((before - after)) per_proc_kb=$(((before - after) / n))"
kill $(jobs -p) 2>/dev/null
wait
