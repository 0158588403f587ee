#!/bin/sh
# Runs the installed user programs (build/rootfs, from scripts/build-userland.sh) under qemu-aarch64
# on the host, as Linux runs them, and checks their output and exit status.
#
# qemu-user runs one aarch64 program; when that program calls execve on another aarch64 binary,
# the host kernel is asked to run it and, without a binfmt_misc entry for aarch64, fails with
# ENOEXEC. So the shell is given a PATH of small host wrapper scripts, one per program, each of
# which execs `qemu-aarch64 build/rootfs/bin/<program>`.
#
# Usage: userland/tests/qemu-user.sh        (exit status 0 when every check passes)
set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
rootfs="$root/build/rootfs"
qemu=$(command -v "${QEMU_AARCH64:-qemu-aarch64}") || { echo "qemu-aarch64 not found" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
wrap="$work/bin"
mkdir -p "$wrap"
for p in "$rootfs"/bin/*; do
    name=$(basename "$p")
    printf '#!/bin/sh\nexec %s %s "$@"\n' "$qemu" "$p" >"$wrap/$name"
    chmod +x "$wrap/$name"
done
# Host tools the checks pipe into (qemu-user runs a host binary natively).
for tool in grep; do
    ln -s "$(command -v $tool)" "$wrap/$tool"
done
export T="$work/t"
mkdir -p "$T"

pass=0
fail=0

# check NAME EXPECTED_STDOUT EXPECTED_STATUS COMMAND...: runs COMMAND, compares stdout and status.
check() {
    name=$1 want_out=$2 want_rc=$3
    shift 3
    got_out=$("$@" 2>"$work/stderr")
    got_rc=$?
    if [ "$got_out" = "$want_out" ] && [ "$got_rc" = "$want_rc" ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        printf 'FAIL %s\n  want status %s, stdout:\n%s\n  got status %s, stdout:\n%s\n  stderr:\n%s\n' \
            "$name" "$want_rc" "$want_out" "$got_rc" "$got_out" "$(cat "$work/stderr")"
    fi
}

# check_err NAME PATTERN: the stderr of the previous check contains PATTERN (grep -E).
check_err() {
    if grep -Eq -- "$2" "$work/stderr"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        printf 'FAIL %s: stderr lacks /%s/:\n%s\n' "$1" "$2" "$(cat "$work/stderr")"
    fi
}

# sh_lines INPUT: feeds INPUT (printf format) to the shell on a pipe, PATH = wrappers.
sh_lines() {
    printf "$1" | env PATH="$wrap" HOME="$T" "$qemu" "$rootfs/bin/sh"
}

run() {
    "$qemu" "$rootfs/bin/$@"
}

# --- simple programs
check "echo" "hi there" 0 run echo hi there
check "echo -n" "x|" 0 sh -c "$qemu $rootfs/bin/echo -n x; echo '|'"
check "true" "" 0 run true
check "false" "" 1 run false
printf 'one\ntwo\n' >"$T/f"
check "cat file" "one
two" 0 run cat "$T/f"
check "cat stdin" "abc" 0 sh -c "echo abc | $qemu $rootfs/bin/cat"
check "cat missing" "one
two" 1 run cat "$T/missing" "$T/f"
check_err "cat message" "^cat: $T/missing: No such file or directory$"
mkdir -p "$T/d/sub" && : >"$T/d/b" && : >"$T/d/a" && : >"$T/d/.hidden"
check "ls" "a
b
sub" 0 run ls "$T/d"
check "ls -a" ".
..
.hidden
a
b
sub" 0 run ls -a "$T/d"
check "ls missing" "" 2 run ls "$T/nope"
check_err "ls message" "cannot access '$T/nope': No such file or directory"
check "ls -l" "drwxr-xr-x" 0 sh -c "$qemu $rootfs/bin/ls -l $T/d | grep sub | cut -c1-10"
check "ls bad option" "" 2 run ls -Q
check "sleep" "" 0 run sleep 0.1
check "sleep bad" "" 1 run sleep 1x
check_err "sleep message" "invalid time interval"
check "sleep missing" "" 1 run sleep
check "uname" "Linux" 0 run uname
check "uname -m" "aarch64" 0 run uname -m
check "uname bad" "" 1 run uname -x
check "kill -l" "HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT CHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO PWR SYS" 0 run kill -l
check "kill -l N" "KILL
15" 0 run kill -l 137 SIGTERM
check "kill bad signal" "" 1 run kill -NOPE 1
check "kill bad pid" "" 1 run kill 12x
check "kill no such process" "" 1 run kill -s TERM 4000000
check_err "kill message" "No such process"
check "kill usage" "" 2 run kill
sleep 30 &
victim=$!
check "kill -9" "" 0 run kill -9 $victim
wait $victim
check "killed status" "137" 0 echo $?
sleep 30 &
victim=$!
check "kill -s TERM" "" 0 run kill -s TERM $victim
wait $victim
check "terminated status" "143" 0 echo $?
check "ps header" "  PID  PPID  PGID STAT COMMAND" 0 sh -c "$qemu $rootfs/bin/ps | head -1"
check "ps lists pid 1" "1" 0 sh -c "$qemu $rootfs/bin/ps | awk '\$1 == 1 {print \$1}'"
check "ps sees itself" "1" 0 sh -c "$qemu $rootfs/bin/ps | grep -c ' ps\$'"
check "ps f tree" "1" 0 sh -c "$qemu $rootfs/bin/ps f | grep -c '\\\\_ '| grep -c '[1-9]'"
check "ps bad option" "" 1 run ps -Z
check "env" "A=1" 0 sh -c "env -i A=1 $qemu $rootfs/bin/env"

# --- the shell, reading a pipe
check "sh status" "hi
1" 0 sh_lines 'echo hi\nfalse\necho $?\n'
check "sh exit status is the last command's" "" 1 sh_lines 'true\nfalse\n'
check "sh exit n" "" 3 sh_lines 'exit 3\necho no\n'
check "sh pipeline" "a b" 0 sh_lines 'echo a b | cat | cat\n'
check "sh pipeline status" "0
1" 0 sh_lines 'false | true\necho $?\ntrue | false\necho $?\n'
check "sh ls pipe" "a
b
sub" 0 sh_lines 'ls $T/d | cat\n'
check "sh redirections" "x
x
y" 0 sh_lines 'echo x > $T/r\ncat < $T/r\necho y >> $T/r\ncat $T/r\n'
check "sh redirection error" "1" 0 sh_lines 'echo x > /proc/nonexistent/f\necho $?\n'
check_err "sh redirection message" "^sh: /proc/nonexistent/f: No such file or directory$"
check "sh 2>&1" "cat: /nonexistent: No such file or directory" 0 sh_lines 'cat /nonexistent 2>&1 | cat\n'
check "sh not found" "127" 0 sh_lines 'no-such-command\necho $?\n'
check_err "sh not found message" "^sh: no-such-command: not found$"
check "sh path not found" "127" 0 sh_lines '/no/such\necho $?\n'
check "sh quoting" "a  b|c d|\$HOME|x\"y|it's" 0 sh_lines "echo 'a  b'\"|c d|\"'\$HOME|'x\\\\\"y\"|it's\"\n"
check "sh variables" "v w $T" 0 sh_lines 'V=v\nW=w; echo $V ${W} $HOME\n'
check "sh per-command env" "A=1
-" 0 sh_lines 'A=1 env | grep ^A=\necho "${A}-"\n'
check "sh && ||" "yes
ok" 0 sh_lines 'false && echo no || echo yes\ntrue && echo ok\n'
check "sh ;" "1
2" 0 sh_lines 'echo 1; echo 2\n'
check "sh comments" "a" 0 sh_lines '# nothing\necho a # rest\n'
check "sh syntax error" "2" 0 sh_lines 'echo |\necho $?\n'
check_err "sh syntax message" "syntax error"
check "sh unterminated quote" "2" 0 sh_lines "echo 'abc\necho \$?\n"
check "sh cd pwd" "/
/" 0 sh_lines 'cd /\npwd\necho $PWD\n'
check "sh cd error" "1" 0 sh_lines 'cd /nonexistent\necho $?\n'
check_err "sh cd message" "cd: /nonexistent: No such file or directory"
check "sh background" "started
done" 0 sh_lines 'sleep 0.3 &\necho started\nwait\necho done\n'
check_err "sh background announce" "^\\[1\\] [0-9]+$"
check "sh done notice" "" 0 sh_lines 'sleep 0.1 &\nsleep 0.5\ntrue\n'
check_err "sh done notice text" "^\\[1\\]\\+  Done +sleep 0.1$"
check "sh jobs" "[1]+  Running                 sleep 1
143" 0 sh_lines 'sleep 1 &\njobs\nkill %%1\nwait $!\necho $?\n'
check "sh kill bg job" "143" 0 sh_lines 'sleep 5 &\nkill $!\nwait $!\necho $?\n'
check "sh killed by signal" "137" 0 sh_lines 'sh -c "kill -9 \\$\\$"\necho $?\n'
check_err "sh killed message" "^Killed$"
check "sh segv" "139" 0 sh_lines 'sh -c "kill -SEGV \\$\\$"\necho $?\n'
check_err "sh segv message" "^Segmentation fault"
check "sh fg without job control" "1" 0 sh_lines 'fg\necho $?\n'
check "sh -c" "c" 0 env PATH="$wrap" "$qemu" "$rootfs/bin/sh" -c 'echo c'
printf 'echo from script\nexit 4\n' >"$T/script"
check "sh script" "from script" 4 env PATH="$wrap" "$qemu" "$rootfs/bin/sh" "$T/script"
check "sh bad option" "" 2 "$qemu" "$rootfs/bin/sh" -x
check "sh stdin to child" "rest" 0 sh_lines 'cat\nrest\n'
check "sh builtin redirect" "/" 0 sh_lines 'cd /\npwd > $T/p\ncat $T/p\n'
check "sh help" "1" 0 sh -c "printf 'help\n' | env PATH=$wrap $qemu $rootfs/bin/sh | grep -c '^builtins:'"
check "sh many commands" "200" 0 sh -c "i=0; while [ \$i -lt 200 ]; do echo 'echo \$?'; i=\$((i+1)); done | env PATH=$wrap $qemu $rootfs/bin/sh | grep -c ^0"

echo "qemu-user tests: $pass passed, $fail failed"

# Job control needs a terminal: a pseudo-terminal driven from Python.
pty_rc=0
if command -v python3 >/dev/null; then
    python3 "$root/userland/tests/qemu-pty.py" "$wrap" || pty_rc=1
else
    echo "python3 not found: terminal job-control checks skipped"
fi
[ "$fail" = 0 ] && [ "$pty_rc" = 0 ]
