//! System tests of user space: the kernel boots `/sbin/init`, which starts
//! the user shell on the console; programs run from it by fork + exec +
//! wait.
//!
//! The test programs under `build/rootfs/tests` are ordinary static aarch64
//! Linux binaries (musl and glibc C, Rust std). Each runs here and, as the
//! same file, under `qemu-aarch64` (Linux's semantics on the host); their
//! outputs must be equal. Where this kernel differs from Linux on purpose,
//! or qemu-user from Linux, the test says so where it compares.

mod common;

use common::{Qemu, COMMAND_DEADLINE, MONITOR_CHORD, PROMPT, USER_PROMPT};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// `build/rootfs` (or `$ROOTFS`): what the initramfs was packed from.
fn rootfs() -> PathBuf {
    common::build_file("ROOTFS", "rootfs", "userland")
}

/// Whether `line` is a kernel log line (`[  12.345678] L coreN: ...`).
fn is_log_line(line: &str) -> bool {
    let Some(rest) = line.trim_start_matches('\r').strip_prefix('[') else { return false };
    let Some((stamp, _)) = rest.split_once("] ") else { return false };
    let stamp = stamp.trim_start();
    !stamp.is_empty() && stamp.chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// Output text with CR LF turned into LF and kernel log lines dropped.
fn clean(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        if !is_log_line(line) {
            out.push_str(line);
        }
    }
    out
}

/// Runs `line` in the user shell; returns its output (without the echo)
/// and its exit status, read back with `echo` after it.
fn run(q: &mut Qemu, line: &str) -> (String, i32) {
    run_within(q, line, COMMAND_DEADLINE)
}

fn run_within(q: &mut Qemu, line: &str, deadline: Duration) -> (String, i32) {
    // `a &; b` is a syntax error: a background job is already terminated.
    let sep = if line.trim_end().ends_with('&') { " " } else { "; " };
    let full = format!("{line}{sep}echo __status=$?__");
    q.send(format!("{full}\r").as_bytes());
    q.expect(&format!("{full}\r\n"));
    let out = q.expect_within("__status=", deadline);
    let status = q.expect("__");
    let status: i32 = status.trim_end_matches("__").parse().unwrap_or_else(|_| panic!("status in {status:?}"));
    q.expect(USER_PROMPT);
    (clean(&out[..out.len() - "__status=".len()]), status)
}

/// What `program args` prints under qemu-aarch64 (the reference), with
/// exec targets replaced by host wrappers that run them under qemu-aarch64
/// too (the host has no binfmt entry for aarch64).
fn reference(program: &str, args: &[&str]) -> String {
    let tests = rootfs().join("tests");
    let wrap_dir = std::env::temp_dir().join(format!("rpi4-qemu-wrap-{}", std::process::id()));
    std::fs::create_dir_all(&wrap_dir).unwrap();
    let host_args: Vec<String> = args
        .iter()
        .map(|a| match a.strip_prefix("/tests/") {
            Some(name) => {
                let wrapper = wrap_dir.join(name);
                let script = format!("#!/bin/sh\nexec qemu-aarch64 {} \"$@\"\n", tests.join(name).display());
                std::fs::write(&wrapper, script).unwrap();
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
                wrapper.display().to_string()
            }
            None if *a == "/" => rootfs().display().to_string(),
            None => a.to_string(),
        })
        .collect();
    let mut child = Command::new("qemu-aarch64")
        .arg(tests.join(program))
        .args(&host_args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("qemu-aarch64 (Debian qemu-user) is needed for the reference run: {e}"));
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut text).map(|_| text)
    });
    // A hung reference run fails the test instead of hanging it.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            panic!("{program} under qemu-aarch64 still running after 120 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = reader.join().unwrap().expect("qemu-aarch64's output is text");
    assert!(status.success(), "{program} fails under qemu-aarch64: {text}");
    text
}

/// Runs each program here and under qemu-aarch64 and compares.
fn compare(q: &mut Qemu, programs: &[(&str, &[&str])]) {
    for (program, args) in programs {
        let line = std::iter::once(format!("/tests/{program}"))
            .chain(args.iter().map(|a| a.to_string()))
            .collect::<Vec<_>>()
            .join(" ");
        let (ours, status) = run_within(q, &line, Duration::from_secs(60));
        let linux = reference(program, args);
        let note = "note: this environment emulates vfork as fork";
        if linux.contains(note) {
            // qemu-user cannot share memory between processes, so Linux's
            // vfork checks are skipped there: every line it does print must
            // appear here, in order, and this kernel must pass them all.
            let mut ours_lines = ours.lines();
            for l in linux.lines().filter(|l| !l.starts_with("note:")) {
                assert!(ours_lines.any(|o| o == l), "{program}: {l:?} missing here:\n{ours}");
            }
            assert!(ours.ends_with("PASS\n"), "{program} here:\n{ours}");
        } else {
            assert_eq!(ours, linux, "{program}: this kernel (left) vs Linux under qemu-aarch64 (right)");
        }
        assert_eq!(status, 0, "{program} exit status");
    }
}

#[test]
fn real_toolchain_binaries_behave_as_on_linux() {
    let mut q = Qemu::boot_user();
    compare(
        &mut q,
        &[
            ("hello", &[]),
            ("hello-glibc", &[]),
            ("forkexec", &["/tests/hello"]),
            ("forkexec-glibc", &["/tests/hello-glibc"]),
            ("rust-command", &["/tests/hello"]),
            ("t_threads-glibc", &[]),
            // glibc's fork sets CLONE_CHILD_SETTID on its thread block, which
            // must land in the child's copy only; raise() reads it back.
            ("t_signals-glibc", &[]),
        ],
    );
}

#[test]
fn process_tests_behave_as_on_linux() {
    let mut q = Qemu::boot_user();
    compare(
        &mut q,
        &[
            ("t_cow", &[]),
            ("t_forkloop", &[]),
            ("t_forkbomb", &[]),
            ("t_orphan", &[]),
            ("t_zombie", &[]),
            ("t_vfork", &[]),
            ("t_threads", &[]),
            ("t_wait", &[]),
            ("t_ids", &[]),
            ("t_mtproc", &["/tests/t_mtproc"]),
            ("t_sleep", &[]),
            ("t_prctl", &["/tests/t_prctl"]),
            ("t_ipc", &[]),
            ("t_futex", &[]),
            ("t_sys", &[]),
            ("t_waitid", &[]),
            ("t_sigwait", &[]),
        ],
    );
    // This kernel only: qemu-user has no clone3 (ENOSYS). t_clone3 checks
    // Linux's documented behaviour (clone(2)).
    let (out, status) = run(&mut q, "/tests/t_clone3");
    assert!(out.ends_with("PASS\n") && status == 0 && !out.contains(": no\n"), "t_clone3:\n{out}");
    // This kernel only (under qemu-user the exec goes through a host script,
    // which supplies an argv[0] of its own): Linux >= 5.18 gives a program
    // exec'd with an empty argv argc 1 and an empty argv[0].
    assert_eq!(
        run(&mut q, "/tests/t_prctl emptyargv /tests/t_prctl"),
        ("execve with an empty argv: argc 1, argv[0] empty: yes\nPASS\n".into(), 0)
    );
    // This kernel only (qemu's standard input is not a terminal): a read
    // from the console sleeps in S, as Linux's n_tty_read does.
    assert_eq!(
        run(&mut q, "/tests/t_sleep tty"),
        (
            "read from the terminal: sleeps in state S: yes\n\
             read from the terminal: no CPU time while asleep: yes\n\
             read from the terminal: SIGKILL ends the sleep: yes\nPASS\n"
                .into(),
            0
        )
    );
    // This kernel only: under qemu-aarch64 syslog(2) reads the host's log.
    let (out, status) = run(&mut q, "/tests/t_syslog");
    assert!(out.ends_with("PASS\n") && status == 0, "t_syslog:\n{out}");
}

#[test]
fn sysv_shared_memory_behaves_as_on_linux() {
    // Under qemu-aarch64 shmget and friends are the host kernel's: Linux's
    // own segments, shared between the processes as here, and its
    // /proc/sysvipc/shm (t_sysvshm reads only its own segments' lines).
    let mut q = Qemu::boot_user();
    compare(&mut q, &[("t_sysvshm", &["/tests/t_sysvshm"])]);
}

#[test]
fn pidfds_and_signalfds_behave_as_on_linux() {
    // Under qemu-aarch64 the pidfd and signalfd calls are the host kernel's.
    let mut q = Qemu::boot_user();
    compare(&mut q, &[("t_pidfd", &[]), ("t_signalfd", &[])]);
    // This kernel only (see t_pidfd.c): clone3's pidfd field, and Linux
    // 6.1's EINVAL for pidfd_open of a thread that leads no group.
    let (out, status) = run(&mut q, "/tests/t_pidfd kernel");
    assert!(out.ends_with("PASS\n") && status == 0 && !out.contains(": no\n"), "t_pidfd kernel:\n{out}");
}

#[test]
fn futex_waitv_wakes_on_any_word() {
    // This kernel only: qemu-user has no futex_waitv (ENOSYS). The lines
    // are Linux 6.1's (kernel/futex/syscalls.c, waitv.c): the index of the
    // word woken, EAGAIN for a value that differs, absolute timeouts on
    // either clock, EINVAL for the arguments it refuses.
    let mut q = Qemu::boot_user();
    assert_eq!(
        run(&mut q, "/tests/t_futexv"),
        (
            "woken by a wake on the second of three: returns 1\n\
             FUTEX2_PRIVATE words, woken on the third: returns 2\n\
             a value that differs: EAGAIN\n\
             absolute CLOCK_MONOTONIC timeout: ETIMEDOUT\n\
             it waited until then: yes\n\
             absolute CLOCK_REALTIME timeout: ETIMEDOUT\n\
             a timeout on CLOCK_BOOTTIME: EINVAL\n\
             a timeout with 10^9 ns: EINVAL\n\
             flags not 0: EINVAL\n\
             no futexes: EINVAL\n\
             129 futexes: EINVAL\n\
             a NULL vector: EINVAL\n\
             a word without FUTEX2_SIZE_U32: EINVAL\n\
             a word with an unknown flag: EINVAL\n\
             a reserved word not 0: EINVAL\n\
             a misaligned word: EINVAL\n\
             an unmapped word: EFAULT\nPASS\n"
                .into(),
            0
        )
    );
}

#[test]
fn the_main_stack_grows_up_to_rlimit_stack() {
    // This kernel only: qemu-user ignores setrlimit(RLIMIT_STACK) and
    // places mappings itself. The lines are Linux's: the stack grows on
    // demand up to RLIMIT_STACK (acct_stack_growth), a fault beyond it is
    // SIGSEGV, and mmap_base leaves the limit's room below STACK_TOP.
    let mut q = Qemu::boot_user();
    assert_eq!(
        run_within(&mut q, "/tests/t_bigstack /tests/t_bigstack", Duration::from_secs(60)),
        (
            "12 MiB of stack under RLIMIT_STACK 64 MiB: works, and mmap stays clear of the stack's room\n\
             12 MiB of stack under RLIMIT_STACK 8 MiB: SIGSEGV\n\
             12 MiB of stack under an unlimited RLIMIT_STACK: works\nPASS\n"
                .into(),
            0
        )
    );
}

#[test]
fn unix_sockets_behave_as_on_linux() {
    // Under qemu-aarch64 the sockets are the host kernel's: Linux itself.
    let mut q = Qemu::boot_user();
    compare(&mut q, &[("t_unix", &[])]);
    // This kernel only: qemu-user cannot show these (free memory on a
    // shared host says nothing; the host has AF_INET,
    // qemu passes unknown type flags on without them and sets no
    // MSG_CTRUNC). The lines are the ones Linux gives (unix(7),
    // socket(7); the same source built for the host prints them there,
    // AF_INET aside).
    assert_eq!(
        run(&mut q, "/tests/t_unix kernel"),
        (
            "garbage: sockets only their own queues hold are freed: yes\n\
             socket with an unknown type flag: EINVAL\n\
             SCM_RIGHTS: three descriptors sent: yes\n\
             SCM_RIGHTS: control room for two gives two and MSG_CTRUNC: yes\n\
             socket(AF_INET): EAFNOSUPPORT\n\
             socket(AF_INET6): EAFNOSUPPORT\n\
             socket(AF_NETLINK): EAFNOSUPPORT\nPASS\n"
                .into(),
            0
        )
    );
}

#[test]
fn signal_and_file_tests_behave_as_on_linux() {
    let mut q = Qemu::boot_user();
    compare(
        &mut q,
        &[
            ("t_signals", &[]),
            ("t_stop", &[]),
            ("t_segv", &[]),
            ("t_efault", &[]),
            ("t_mm", &[]),
            ("t_pipe", &["/tests/t_pipe"]),
            ("t_fifo", &[]),
            ("t_procdir", &[]),
            ("t_unshare", &[]),
            ("t_files", &["/"]),
            ("t_proc", &[]),
            ("t_time", &["/tests/t_time"]),
            ("t_rtsig", &[]),
            ("t_growsdown", &[]),
        ],
    );
    // This kernel only: under qemu-user /proc/self/status is the host's,
    // whose SigQ counts every signal queued for the host user. Linux shows
    // the queued signals and RLIMIT_SIGPENDING there.
    assert_eq!(
        run(&mut q, "/tests/t_rtsig sigq"),
        (
            "SigQ: three queued signals counted, the limit RLIMIT_SIGPENDING, between Threads and SigPnd: yes\nPASS\n"
                .into(),
            0
        )
    );
    // This kernel only: qemu-user ignores RLIMIT_STACK. Linux's
    // acct_stack_growth refuses growth of a MAP_GROWSDOWN mapping past it.
    assert_eq!(
        run(&mut q, "/tests/t_growsdown limit"),
        ("growth within RLIMIT_STACK works, beyond it is SIGSEGV: yes\nPASS\n".into(), 0)
    );
    // This kernel only: qemu-user never delivers a SIGEV_THREAD_ID timer's
    // signal, and setting the wall clock there would set the host's. The
    // program checks Linux's documented results (see t_time.c).
    let (out, status) = run(&mut q, "/tests/t_time kernel");
    assert!(out.ends_with("PASS\n") && status == 0, "t_time kernel:\n{out}");
    assert!(!out.contains(": no\n"), "t_time kernel:\n{out}");
    // This kernel only: qemu-user does not fault a misaligned exclusive
    // load, which Linux answers with SIGBUS (and which must not fault again
    // forever).
    assert_eq!(
        run(&mut q, "/tests/t_segv sigbus"),
        ("misaligned exclusive load killed by SIGBUS: yes\nPASS\n".into(), 0)
    );
    // This kernel only (syslog(2) under qemu-user reads the host's log):
    // unhandled faults are reported rate-limited into the kernel log, which
    // t_console reads, and the console does not show them by default.
    let (out, status) = run_within(&mut q, "/tests/t_console faults", Duration::from_secs(30));
    assert!(out.ends_with("PASS\n") && status == 0 && !out.contains(": no\n"), "t_console faults:\n{out}");
    assert!(!q.transcript().contains("unhandled Data Abort"), "fault reports on the console:\n{}", q.transcript());
    assert_eq!(run(&mut q, "echo alive"), ("alive\n".into(), 0));
}

#[test]
fn console_writes_are_never_interleaved() {
    // Two processes write 1,000 lines of 300 bytes each to the console,
    // one write(2) per line: every line arrives whole (Linux: the tty's
    // atomic_write_lock).
    let mut q = Qemu::boot_user();
    let (out, status) = run_within(&mut q, "/tests/t_console write 1000", Duration::from_secs(120));
    assert_eq!(status, 0, "t_console write");
    let (mut a, mut b) = (0, 0);
    for line in out.lines().filter(|l| !l.starts_with("writers:")) {
        let letter = line.chars().next().unwrap_or('?');
        let whole = line.len() == 299
            && (letter == 'A' || letter == 'B')
            && line[7..].bytes().all(|c| c == letter as u8)
            && line[2..6].bytes().all(|c| c.is_ascii_digit());
        assert!(whole, "a line split by the other writer's output: {line:?}");
        if letter == 'A' {
            a += 1
        } else {
            b += 1
        }
    }
    assert_eq!((a, b), (1000, 1000), "lines from each writer");
    assert!(out.ends_with("writers: done\n"), "{}", &out[out.len().saturating_sub(400)..]);
}

#[test]
fn file_semantics_match_linux() {
    // t_fs works in a fresh directory: /tmp here, a new temporary
    // directory on the host for the reference run.
    let mut q = Qemu::boot_user();
    let (ours, status) = run_within(&mut q, "/tests/t_fs /tmp", Duration::from_secs(120));
    let dir = std::env::temp_dir().join(format!("rpi4-t_fs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let linux = reference("t_fs", &[dir.to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(ours, linux, "t_fs: this kernel (left) vs Linux under qemu-aarch64 (right)");
    assert_eq!(status, 0, "t_fs exit status");
}

#[test]
fn name_lookups_follow_every_change_as_on_linux() {
    // The dentry cache: lookups before and after create, unlink, mkdir,
    // rmdir, rename, link and symlink, in a fresh directory here and on
    // the host.
    let mut q = Qemu::boot_user();
    let (ours, status) = run_within(&mut q, "/tests/t_dcache /tmp", Duration::from_secs(120));
    let dir = std::env::temp_dir().join(format!("rpi4-t_dcache-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let linux = reference("t_dcache", &[dir.to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(ours, linux, "t_dcache: this kernel (left) vs Linux under qemu-aarch64 (right)");
    assert_eq!(status, 0, "t_dcache exit status");
}

#[test]
fn file_tools_work_from_the_shell() {
    let mut q = Qemu::boot_user();
    let ok = |q: &mut Qemu, line: &str, want: &str| {
        assert_eq!(run(q, line), (want.to_string(), 0), "{line}");
    };
    ok(&mut q, "mkdir -p /tmp/a/b/c && echo hi > /tmp/a/b/c/f && cp /tmp/a/b/c/f /tmp/a/g && cat /tmp/a/g", "hi\n");
    ok(&mut q, "mv /tmp/a/g /tmp/a/h && ls /tmp/a | cat", "b\nh\n");
    ok(
        &mut q,
        "ln -s /tmp/a/h /tmp/a/l && ln /tmp/a/h /tmp/a/hard && touch /tmp/a/t && ls /tmp/a | cat",
        "b\nh\nhard\nl\nt\n",
    );
    ok(&mut q, "cat /tmp/a/l; chmod 600 /tmp/a/h && rm /tmp/a/h && cat /tmp/a/hard", "hi\nhi\n");
    ok(&mut q, "mv /tmp/a/b/c /tmp/a/hard /tmp && ls /tmp | cat", "a\nc\nhard\n");
    let (out, status) = run(&mut q, "rm /tmp/a");
    assert_ne!(status, 0, "rm of a directory without -r: {out}");
    ok(&mut q, "rm -r /tmp/a /tmp/c && rm -f /tmp/hard /tmp/missing && ls /tmp | cat", "");
    // A small tmpfs: mount, df, a file too big for it, umount.
    ok(&mut q, "mkdir /tmp/m && mount -t tmpfs -o size=64k none /tmp/m", "");
    let (out, _) = run(&mut q, "mount");
    assert!(out.contains("none /tmp/m tmpfs rw,size=64k 0 0\n"), "{out}");
    let (out, status) = run(&mut q, "df");
    assert_eq!(status, 0);
    let line = out.lines().find(|l| l.ends_with(" /tmp/m")).unwrap_or_else(|| panic!("{out}"));
    assert_eq!(line.split_whitespace().collect::<Vec<_>>(), ["none", "64", "0", "64", "0%", "/tmp/m"], "{out}");
    let (out, status) = run(&mut q, "cat /tests/t_fs > /tmp/m/big");
    assert_ne!(status, 0, "the file does not fit: {out}");
    ok(&mut q, "rm /tmp/m/big && umount /tmp/m && rm -r /tmp/m && ls /tmp | cat", "");
}

#[test]
fn proc_maps_statm_environ_and_cpuinfo() {
    let mut q = Qemu::boot_user();
    let (maps, status) = run(&mut q, "cat /proc/self/maps");
    assert_eq!(status, 0);
    let lines: Vec<&str> = maps.lines().collect();
    assert!(lines.iter().any(|l| l.contains(" r-xp ") && l.ends_with(" /bin/cat")), "{maps}");
    assert!(lines.iter().any(|l| l.contains(" rw-p ") && l.ends_with(" [stack]")), "{maps}");
    let (statm, _) = run(&mut q, "cat /proc/self/statm");
    let fields: Vec<u64> = statm.split_whitespace().map(|f| f.parse().unwrap()).collect();
    assert!(fields.len() == 7 && fields[0] >= fields[1] && fields[1] > 0 && fields[3] > 0, "{statm}");
    let (environ, _) = run(&mut q, "cat /proc/self/environ | cat");
    assert!(environ.split('\0').any(|v| v.starts_with("PATH=")), "{environ:?}");
    // ls's own descriptors: the terminal on 0-2 (cat's pipe on 1) and the
    // directory it reads on 3.
    assert_eq!(run(&mut q, "ls /proc/self/fd | cat"), ("0\n1\n2\n3\n".into(), 0));
    let (cpuinfo, _) = run(&mut q, "cat /proc/cpuinfo");
    assert_eq!(cpuinfo.matches("processor\t: ").count(), 4, "{cpuinfo}");
    assert_eq!(cpuinfo.matches("CPU part\t: 0xd08\n").count(), 4, "{cpuinfo}");
}

#[test]
fn proc_task_directories_show_each_thread() {
    // This kernel only: under qemu-aarch64, /proc shows the emulator's
    // threads.
    let mut q = Qemu::boot_user();
    let (out, status) = run_within(&mut q, "/tests/t_proctask", Duration::from_secs(60));
    assert!(!out.contains(": no") && out.ends_with("PASS\n"), "t_proctask:\n{out}");
    assert_eq!(status, 0);
    // /proc/slabinfo: Linux's 2.1 format, every slab cache.
    let (slab, _) = run(&mut q, "cat /proc/slabinfo");
    let mut lines = slab.lines();
    assert_eq!(lines.next(), Some("slabinfo - version: 2.1"), "{slab}");
    assert!(lines.next().is_some_and(|l| l.starts_with("# name ") && l.ends_with(" <sharedavail>")), "{slab}");
    let names: Vec<&str> = lines
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 16, "{l}");
            assert_eq!((f[6], f[7], f[11], f[12]), (":", "tunables", ":", "slabdata"), "{l}");
            f[0]
        })
        .collect();
    assert!(
        names.contains(&"task_struct") && names.iter().filter(|n| n.starts_with("kmalloc-")).count() >= 8,
        "{slab}"
    );
}

/// The numbers of the `name` line of /proc/stat.
fn stat_line(stat: &str, name: &str) -> Vec<u64> {
    let line = stat.lines().find(|l| l.split_whitespace().next() == Some(name)).unwrap_or_else(|| panic!("{stat}"));
    line.split_whitespace().skip(1).map(|v| v.parse().unwrap_or_else(|_| panic!("{line}"))).collect()
}

#[test]
fn proc_stat_counts_cpu_time_switches_and_forks() {
    let mut q = Qemu::boot_user();
    let (before, status) = run(&mut q, "cat /proc/stat");
    assert_eq!(status, 0);
    let cpu = stat_line(&before, "cpu");
    assert_eq!(cpu.len(), 10, "user nice system idle iowait irq softirq steal guest guest_nice:\n{before}");
    // The total is the sum of the four cores' lines.
    let per_cpu: Vec<Vec<u64>> = (0..4).map(|i| stat_line(&before, &format!("cpu{i}"))).collect();
    for field in 0..10 {
        assert_eq!(cpu[field], per_cpu.iter().map(|c| c[field]).sum::<u64>(), "field {field}:\n{before}");
    }
    // Busy work: CPU time other than idle grows, and so do the idle
    // cores' idle time, the context switches, the forks and interrupts.
    let (_, status) = run(&mut q, "/tests/bench getppid=500000 fork_exit_wait=200 fork_exec_wait=0 pipe_pingpong=0 file_create=0 stat_deep=0 read_cached=0 mmap_shared=0 cow_fault=0");
    assert_eq!(status, 0);
    let (after, _) = run(&mut q, "cat /proc/stat");
    let cpu2 = stat_line(&after, "cpu");
    let busy = |c: &[u64]| c[0] + c[1] + c[2];
    assert!(busy(&cpu2) > busy(&cpu), "busy time:\n{before}\n{after}");
    assert!(cpu2[3] > cpu[3], "idle time:\n{before}\n{after}");
    for name in ["ctxt", "intr"] {
        assert!(stat_line(&after, name)[0] > stat_line(&before, name)[0], "{name}:\n{before}\n{after}");
    }
    assert!(stat_line(&after, "processes")[0] >= stat_line(&before, "processes")[0] + 200, "{before}\n{after}");
    assert!(stat_line(&after, "procs_running")[0] >= 1, "{after}");
    assert_eq!(stat_line(&after, "procs_blocked").len(), 1, "{after}");
    assert_eq!(stat_line(&after, "btime").len(), 1, "{after}");
}

#[test]
fn shared_mappings_match_linux() {
    let mut q = Qemu::boot_user();
    let (ours, status) = run_within(&mut q, "/tests/t_shm /tmp", Duration::from_secs(120));
    let dir = std::env::temp_dir().join(format!("rpi4-t_shm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let linux = reference("t_shm", &[dir.to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(ours, linux, "t_shm: this kernel (left) vs Linux under qemu-aarch64 (right)");
    assert_eq!(status, 0, "t_shm exit status");
}

#[test]
fn pid_max_and_tmpfs_limits_through_the_file_system() {
    // This kernel only: the same calls under qemu-aarch64 would change the
    // host. Every line must say yes.
    let mut q = Qemu::boot_user();
    let (out, status) = run_within(&mut q, "/tests/t_mount", Duration::from_secs(60));
    assert!(!out.contains(": no") && out.ends_with("PASS\n"), "t_mount:\n{out}");
    assert_eq!(status, 0);
    // The shell's own redirection to /proc/sys.
    assert_eq!(run(&mut q, "echo 5000 > /proc/sys/kernel/pid_max; cat /proc/sys/kernel/pid_max"), ("5000\n".into(), 0));
    let (_, status) = run(&mut q, "echo 1 > /proc/sys/kernel/pid_max");
    assert_ne!(status, 0, "a bad pid_max is refused");
    assert_eq!(run(&mut q, "cat /proc/sys/kernel/pid_max"), ("5000\n".into(), 0));
    // The host name, through /proc/sys as `hostname` would set it.
    assert_eq!(run(&mut q, "echo board > /proc/sys/kernel/hostname; uname -n"), ("board\n".into(), 0));
    // The shell still answers.
    assert_eq!(run(&mut q, "echo alive"), ("alive\n".into(), 0));
}

#[test]
fn exec_maps_text_from_the_page_cache_shared_between_runs() {
    // This kernel only: the verdicts rest on /proc/<pid>/smaps_rollup of
    // the processes the test starts, which qemu-aarch64 does not emulate.
    let mut q = Qemu::boot_user();
    let (out, status) = run_within(&mut q, "/tests/t_smaps", Duration::from_secs(60));
    assert!(!out.contains(": no") && out.ends_with("PASS\n"), "t_smaps:\n{out}");
    assert_eq!(status, 0);
}

/// `key=<number>` in `text`.
fn number_after(text: &str, key: &str) -> i64 {
    let at = text.find(key).unwrap_or_else(|| panic!("no {key} in {text}")) + key.len();
    text[at..].split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
}

#[test]
fn fork_shares_pages_until_a_write_copies_one() {
    // 64 private pages; the child writes one of them. The free-page count
    // also moves when a kernel slab cache grows (reading /proc/meminfo
    // allocates) or something else frees a page meanwhile, in either
    // direction, so the median of three runs is judged.
    let mut q = Qemu::boot_user();
    let mut runs = Vec::new();
    for _ in 0..3 {
        let (out, status) = run(&mut q, "/tests/t_cow --meminfo");
        assert_eq!(status, 0, "{out}");
        let before = number_after(&out, "before fork=");
        let after_fork = number_after(&out, "after fork=");
        let after_write = number_after(&out, "after child write=");
        runs.push((before - after_fork, after_fork - after_write, out));
    }
    let median = |mut v: Vec<i64>| {
        v.sort();
        v[v.len() / 2]
    };
    let fork_cost = median(runs.iter().map(|r| r.0).collect());
    let write_cost = median(runs.iter().map(|r| r.1).collect());
    // The fork costs the child's kernel stack (8 pages), its page tables,
    // slab pages and the pages it touched on its way to the report, never a
    // copy of the 64 pages.
    assert!(fork_cost < 64, "fork took {fork_cost} pages: {runs:?}");
    // One written page is one copied page (a little slack for a page table
    // or a stack page touched on the way).
    assert!((1..=3).contains(&write_cost), "the child's write cost {write_cost} pages: {runs:?}");
}

/// What the debug monitor reports about memory and tasks, after emptying the
/// slab caches' per-CPU magazines and free slabs.
#[derive(Debug, PartialEq)]
struct Counters {
    /// Free pages plus the pages slab caches hold: objects freed into
    /// partly used slabs keep those slabs, so which slabs survive depends on
    /// timing; nothing is lost while the sum stays put.
    free_or_cached_kb: u64,
    task_structs: u64,
    free_pids: u64,
}

fn counters(q: &mut Qemu) -> (Counters, u64) {
    q.send(&[MONITOR_CHORD]);
    q.expect(PROMPT);
    q.command("slabinfo shrink");
    let free = common::field(&q.command("meminfo"), "MemFree:");
    let slab = q.command("slabinfo");
    let mut slab_kb = 0;
    let mut task_structs = None;
    let mut kmalloc_active = 0;
    for line in slab.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<u64> = line.split_whitespace().skip(1).map(|v| v.parse().unwrap()).collect();
        // name active_objs num_objs objsize objperslab pagesperslab
        slab_kb += f[1] / f[3] * f[4] * 4;
        if line.starts_with("task_struct") {
            task_structs = Some(f[0]);
        } else {
            kmalloc_active += f[0];
        }
    }
    let free_pids = common::field(&q.command("sysctl kernel.pids_free"), "kernel.pids_free =");
    q.send(b"exit\r");
    q.expect("Back to user space");
    let task_structs = task_structs.unwrap_or_else(|| panic!("no task_struct line in:\n{slab}"));
    (Counters { free_or_cached_kb: free + slab_kb, task_structs, free_pids }, kmalloc_active)
}

#[test]
fn ten_thousand_forks_and_a_fork_bomb_leave_no_trace() {
    let mut q = Qemu::boot_user();
    // Warm up: the kernel heap and the caches grow to their working size.
    assert_eq!(run_within(&mut q, "/tests/t_forkloop 200", Duration::from_secs(60)).1, 0);
    assert_eq!(run_within(&mut q, "/tests/t_forkbomb", Duration::from_secs(60)).1, 0);
    q.send(b"\r");
    q.expect(USER_PROMPT);
    let before = counters(&mut q);
    q.send(b"\r");
    q.expect(USER_PROMPT);
    let (out, status) = run_within(&mut q, "/tests/t_forkloop 10000", Duration::from_secs(600));
    assert_eq!(status, 0, "{out}");
    assert!(out.contains("forked 10000 children, all reaped"), "{out}");
    let (out, status) = run_within(&mut q, "/tests/t_forkbomb", Duration::from_secs(120));
    assert_eq!(status, 0, "{out}");
    assert!(out.contains("fork error: EAGAIN"), "RLIMIT_NPROC stops the bomb:\n{out}");
    q.send(b"\r");
    q.expect(USER_PROMPT);
    let after = counters(&mut q);
    assert_eq!(after.0, before.0, "before and after:\n{}", q.transcript());
    // The monitor's own command lines are on the heap while it counts.
    assert!(after.1.abs_diff(before.1) <= 8, "kmalloc objects: {} before, {} after", before.1, after.1);
    q.send(b"\r");
    q.expect(USER_PROMPT);
    assert_eq!(run(&mut q, "echo still here"), ("still here\n".into(), 0));
}

#[test]
fn a_thousand_execs_files_and_shared_mappings_leave_no_trace() {
    // execve from the tmpfs root, files made and removed, shared anonymous
    // mappings made and dropped: free pages (plus slab), task_structs and
    // PIDs are as before.
    let mut q = Qemu::boot_user();
    let only = |work: &str| {
        let all = [
            "getppid",
            "fork_exit_wait",
            "fork_exec_wait",
            "pipe_pingpong",
            "file_create",
            "stat_deep",
            "read_cached",
            "mmap_shared",
            "cow_fault",
        ];
        let mut line = String::from("/tests/bench");
        for name in all {
            let iters =
                work.split(' ').find_map(|w| w.strip_prefix(name).and_then(|r| r.strip_prefix('='))).unwrap_or("0");
            line.push_str(&format!(" {name}={iters}"));
        }
        line
    };
    let warm = only("fork_exec_wait=20 file_create=20 read_cached=2 mmap_shared=5");
    assert_eq!(run_within(&mut q, &warm, Duration::from_secs(60)).1, 0);
    q.send(b"\r");
    q.expect(USER_PROMPT);
    let before = counters(&mut q);
    q.send(b"\r");
    q.expect(USER_PROMPT);
    let work = only("fork_exec_wait=1000 file_create=1000 read_cached=20 mmap_shared=50");
    let (out, status) = run_within(&mut q, &work, Duration::from_secs(300));
    assert_eq!(status, 0, "{out}");
    assert!(!out.contains("failed"), "{out}");
    q.send(b"\r");
    q.expect(USER_PROMPT);
    let after = counters(&mut q);
    assert_eq!(after.0, before.0, "before and after:\n{}", q.transcript());
}

/// The STAT column of `ps` for `pid`.
fn ps_state(q: &mut Qemu, pid: &str) -> String {
    let (out, _) = run(q, "ps");
    out.lines()
        .find(|l| l.split_whitespace().next() == Some(pid))
        .and_then(|l| l.split_whitespace().nth(3))
        .unwrap_or_else(|| panic!("no {pid} in ps:\n{out}"))
        .to_string()
}

#[test]
fn shell_jobs_stop_continue_and_ctrl_c() {
    let mut q = Qemu::boot_user();
    // A background job, stopped and continued: T and back in ps.
    run(&mut q, "sleep 100 &");
    let (out, _) = run(&mut q, "echo $!");
    let pid = out.trim().to_string();
    assert!(pid.parse::<u32>().is_ok(), "$! is the job's PID: {out:?}");
    assert!(ps_state(&mut q, &pid).starts_with('S'), "sleeping");
    assert_eq!(run(&mut q, &format!("kill -STOP {pid}")).1, 0);
    assert!(ps_state(&mut q, &pid).starts_with('T'), "stopped");
    assert_eq!(run(&mut q, &format!("kill -CONT {pid}")).1, 0);
    assert!(ps_state(&mut q, &pid).starts_with('S'), "running again");
    assert_eq!(run(&mut q, &format!("kill {pid}")).1, 0);
    // Ctrl-C ends the foreground job (SIGINT to its process group): 130.
    q.send(b"sleep 100\r");
    q.expect("sleep 100\r\n");
    std::thread::sleep(Duration::from_millis(500));
    q.send(&[0x03]);
    q.expect("^C");
    q.expect(USER_PROMPT);
    assert_eq!(run(&mut q, "echo $?"), ("130\n".into(), 0));
    // Pipelines and redirection.
    assert_eq!(run(&mut q, "echo one two | cat | cat"), ("one two\n".into(), 0));
    let (out, status) = run(&mut q, "cat < /proc/loadavg");
    assert_eq!(status, 0);
    assert_eq!(out.split_whitespace().count(), 5, "{out}");
    // `>` and `>>` on real files of the tmpfs root.
    assert_eq!(run(&mut q, "echo x > /tests/new"), (String::new(), 0));
    assert_eq!(run(&mut q, "echo y >> /tests/new; cat /tests/new"), ("x\ny\n".into(), 0));
    assert_eq!(run(&mut q, "echo z > /tests/new; cat /tests/new"), ("z\n".into(), 0));
    assert_eq!(run(&mut q, "true && echo yes || echo no"), ("yes\n".into(), 0));
    assert_eq!(run(&mut q, "nonexistent-program").1, 127);
}

#[test]
fn init_restarts_the_shell_and_reaps_orphans() {
    let mut q = Qemu::boot_user();
    let (out, _) = run(&mut q, "ps");
    assert!(out.lines().any(|l| l.split_whitespace().next() == Some("1") && l.ends_with("init")), "{out}");
    q.send(b"exit 3\r");
    q.expect("exit 3\r\n");
    q.expect("status 3");
    q.expect_user_shell(COMMAND_DEADLINE);
    assert_eq!(run(&mut q, "echo new shell"), ("new shell\n".into(), 0));
    // An orphan of an exited parent is reaped by init: no zombie remains.
    assert_eq!(run(&mut q, "/tests/t_orphan").1, 0);
    std::thread::sleep(Duration::from_millis(300));
    let (out, _) = run(&mut q, "ps");
    assert!(!out.lines().any(|l| l.split_whitespace().nth(3).is_some_and(|s| s.starts_with('Z'))), "zombies:\n{out}");
}

#[test]
fn user_programs_match_linux() {
    // The userland tools themselves, run here and under qemu-aarch64.
    let mut q = Qemu::boot_user();
    for (line, host) in [
        ("echo -n a b; echo c", vec!["echo", "-n", "a", "b"]),
        ("ls /tests | cat", vec!["ls", "tests"]),
        ("cat /tests/../bin/../tests/exit0 | cat > /dev/null", vec!["true"]),
        ("true", vec!["true"]),
    ] {
        let (ours, status) = run(&mut q, line);
        assert_eq!(status, 0, "{line}: {ours}");
        if line.starts_with("ls") {
            let bin = rootfs().join("bin").join(host[0]);
            let linux = Command::new("qemu-aarch64").arg(bin).arg(rootfs().join(host[1])).output().unwrap();
            assert_eq!(ours, String::from_utf8_lossy(&linux.stdout), "{line}");
        }
    }
    // The debug monitor is a key chord away and gives the console back.
    q.send(&[MONITOR_CHORD]);
    q.expect(PROMPT);
    let ps = q.command("ps");
    assert!(ps.contains(" sh"), "{ps}");
    q.send(b"exit\r");
    q.expect("Back to user space");
    q.send(b"\r");
    q.expect(USER_PROMPT);
    assert_eq!(run(&mut q, "echo back"), ("back\n".into(), 0));
}

#[test]
fn console_terminal_raw_and_canonical_modes() {
    // This kernel only: under qemu-aarch64 the program's stdin is a pipe.
    let mut q = Qemu::boot_user();
    q.send(b"/tests/t_tty\r");
    q.expect("raw: type 3 keys\r\n");
    q.send(b"a\x7fz");
    // Raw: every byte as typed, erase included, and no echo.
    let raw = q.expect("\r\n");
    assert_eq!(raw.trim_end(), "raw bytes: 61 7f 7a", "{raw:?}");
    q.expect("canonical: type a line\r\n");
    // Canonical: DEL erases (echoed as backspace, space, backspace).
    q.send(b"ecxo\x7f\x7fho hi\r");
    q.expect("ecxo\x08 \x08\x08 \x08ho hi\r\n");
    q.expect("line: echo hi\r\n");
    let rest = q.expect(USER_PROMPT);
    assert!(rest.contains("PASS"), "{rest}");
}

#[test]
fn child_runs_first_can_be_switched_off() {
    let mut q = Qemu::boot_user();
    q.send(&[MONITOR_CHORD]);
    q.expect(PROMPT);
    assert_eq!(q.command("sysctl kernel.sched_child_runs_first"), "kernel.sched_child_runs_first = 1\n");
    assert_eq!(q.command("sysctl kernel.sched_child_runs_first=0"), "kernel.sched_child_runs_first = 0\n");
    assert!(q.command("sysctl kernel.sched_child_runs_first=2").contains("0 or 1"));
    q.send(b"exit\r");
    q.expect("Back to user space");
    let (out, status) = run_within(&mut q, "/tests/t_forkloop 300", Duration::from_secs(60));
    assert_eq!(status, 0, "{out}");
    assert_eq!(run(&mut q, "/tests/t_vfork").1, 0, "vfork still blocks the parent");
}

#[test]
fn poweroff_from_user_space_ends_qemu() {
    let mut q = Qemu::boot_user();
    let (out, status) = run(&mut q, "reboot -x");
    assert_eq!(status, 2, "{out}");
    q.send(b"poweroff\r");
    q.expect("reboot: Power down");
    let status = q.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[test]
fn random_system_calls_do_not_hurt_the_kernel() {
    // Children make random system calls with hostile arguments (see
    // userland/tests-c/t_fuzz.c); they may die, the kernel may not.
    let mut q = Qemu::boot_user();
    let (out, status) = run_within(&mut q, "/tests/t_fuzz 64 2000", Duration::from_secs(300));
    assert_eq!(status, 0, "{out}");
    assert!(out.contains("every child ended and was reaped: yes"), "{out}");
    let transcript = q.transcript();
    assert!(!transcript.contains("Kernel panic") && !transcript.contains("exception from EL1"), "{transcript}");
    assert_eq!(run(&mut q, "echo alive"), ("alive\n".into(), 0));
}

#[test]
fn initramfs_extra_files_are_there_and_a_users_binary_runs() {
    // build/kernel8-extra.img is `make INITRAMFS_EXTRA=build/extra-sample`
    // (Makefile): a static program under a name of its own, a text file in a
    // directory the built-in rootfs lacks, and a /bin/uname that replaces
    // the built-in one (a copy of the hello program).
    let kernel = common::build_file("EXTRA_KERNEL_IMAGE", "kernel8-extra.img", "build/kernel8-extra.img");
    let mut q = Qemu::boot_kernel(&kernel, &[]);
    q.expect_user_shell(common::BOOT_DEADLINE);
    assert_eq!(run(&mut q, "/my-hello"), ("hello, world\n".into(), 0));
    assert_eq!(run(&mut q, "cat /etc/greeting"), ("from INITRAMFS_EXTRA\n".into(), 0));
    assert_eq!(run(&mut q, "uname"), ("hello, world\n".into(), 0));
    // The rest of the built-in rootfs is still there.
    assert_eq!(run(&mut q, "/tests/hello"), ("hello, world\n".into(), 0));
}

/// Runs t_elf, t_exec and t_script (kernel-side only: under qemu-aarch64 a
/// guest's execve is the host's) on a booted kernel and checks that they
/// pass and the kernel reported no fault.
fn exec_checks(q: &mut Qemu) {
    for line in ["/tests/t_elf", "/tests/t_exec", "/tests/t_script"] {
        let (out, status) = run_within(q, line, Duration::from_secs(120));
        assert_eq!(status, 0, "{line}:\n{out}");
        assert!(out.ends_with("PASS\n"), "{line}:\n{out}");
    }
    let transcript = q.transcript();
    assert!(!transcript.contains("Kernel panic") && !transcript.contains("exception from EL1"), "{transcript}");
    assert_eq!(run(q, "echo alive"), ("alive\n".into(), 0));
}

#[test]
fn malformed_elf_files_and_huge_argument_lists_get_linux_errors() {
    // Malformed executables (userland/tests-c/mkelf.c): Linux's errno for
    // each, the two well-formed ones run; execve with 32,000 arguments in
    // one, two and four processes at once; argument lists at and one byte
    // over the stack limit's quarter (E2BIG).
    let mut q = Qemu::boot_user();
    exec_checks(&mut q);
}

#[test]
fn a_dev_build_with_overflow_checks_survives_the_exec_checks() {
    // build/kernel8-dev.img: the same kernel built with PROFILE=dev, where
    // every integer overflow panics (Makefile). Only the exec tests run
    // here, to keep `make test` short.
    let kernel = common::build_file("DEV_KERNEL_IMAGE", "kernel8-dev.img", "build/kernel8-dev.img");
    let mut q = Qemu::boot_kernel(&kernel, &[]);
    q.expect_user_shell(common::BOOT_DEADLINE);
    exec_checks(&mut q);
}

/// Runs `/tests/t_stress` `rounds` times for `seconds` each after a short
/// warm-up, and checks that it passes every time, that the kernel reported
/// no panic or kernel fault, and that the task_structs, free PIDs and free
/// memory are as before (userland/tests-c/t_stress.c: a signal storm of
/// STOP, CONT, USR1 and KILL by kill, tkill and tgkill against threads,
/// vfork parents, handler-bound and sleeping victims while other processes
/// fork, exec and exit).
fn signal_storm(rounds: u32, seconds: u32) {
    let mut q = Qemu::boot_user();
    let deadline = Duration::from_secs(u64::from(seconds) + 60);
    assert_eq!(run_within(&mut q, "/tests/t_stress 2 1", deadline).1, 0, "warm-up");
    q.send(b"\r");
    q.expect(USER_PROMPT);
    let before = counters(&mut q);
    q.send(b"\r");
    q.expect(USER_PROMPT);
    for round in 0..rounds {
        let line = format!("/tests/t_stress {seconds} {}", round + 2);
        let (out, status) = run_within(&mut q, &line, deadline);
        assert_eq!(status, 0, "round {round}:\n{out}");
        assert!(out.contains("every child ended and was reaped: yes"), "round {round}:\n{out}");
        let transcript = q.transcript();
        assert!(!transcript.contains("Kernel panic") && !transcript.contains("exception from EL1"), "{transcript}");
    }
    q.send(b"\r");
    q.expect(USER_PROMPT);
    let after = counters(&mut q);
    eprintln!("signal storm, {rounds} x {seconds} s: before {before:?}, after {after:?}");
    assert_eq!(after.0, before.0, "task_structs, free PIDs and memory before and after");
    q.send(b"\r");
    q.expect(USER_PROMPT);
    assert_eq!(run(&mut q, "echo still here"), ("still here\n".into(), 0));
}

#[test]
fn a_signal_storm_against_threads_vfork_parents_and_stopped_tasks_leaves_no_trace() {
    signal_storm(3, 15);
}

/// `make stress`: the storm for STRESS_SECONDS (default 600) in rounds of
/// at most a minute.
#[test]
#[ignore]
fn stress_long() {
    let total: u32 = std::env::var("STRESS_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(600);
    signal_storm(total.div_ceil(60).max(1), total.min(60));
}

/// FNV-1a, as t_paste computes it.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

/// The monitor's count of lost input bytes.
fn input_lost(q: &mut Qemu) -> u64 {
    q.send(&[MONITOR_CHORD]);
    q.expect(PROMPT);
    let lost = common::field(&q.command("meminfo"), "InputLost:");
    q.send(b"exit\r");
    q.expect("Back to user space");
    q.send(b"\r");
    q.expect(USER_PROMPT);
    lost
}

#[test]
fn pasted_input_is_never_lost() {
    // Console flow control (console.rs): input the terminal has no room for
    // waits in the UART (and in QEMU) until a reader makes room, instead of
    // being dropped.
    let mut q = Qemu::boot_user();
    // 10 KB of commands pasted into the shell at once: every one runs. The
    // output `xp-N` differs from the echoed command line `echo "x"p-N`.
    let n = 800;
    let blob: String = (0..n).map(|i| format!("echo \"x\"p-{i:05}\r")).collect();
    assert!(blob.len() > 10_000);
    q.send(blob.as_bytes());
    q.send(b"echo \"paste\"-done\r");
    let out = q.expect_within("paste-done\r\n", Duration::from_secs(180));
    let missing: Vec<usize> = (0..n).filter(|i| !out.contains(&format!("xp-{i:05}\r\n"))).collect();
    assert!(
        missing.is_empty(),
        "{} of {n} pasted commands did not run, first {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    q.expect(USER_PROMPT);
    // 10 KB, then 100 KB, into a reader with a checksum, and 100 KB into
    // `cat > /dev/null`: every byte arrives, nothing is counted lost.
    for size in [10_000, 100_000] {
        let mut text = Vec::new();
        let mut i = 0;
        while text.len() < size {
            text.extend_from_slice(format!("line {i:06} of pasted text, the quick brown fox jumps over\n").as_bytes());
            i += 1;
        }
        q.send(b"/tests/t_paste\r");
        q.expect("/tests/t_paste\r\n");
        // A terminal sends CR for Enter; ICRNL makes it the NL t_paste counts.
        q.send(&text.iter().map(|&b| if b == b'\n' { b'\r' } else { b }).collect::<Vec<u8>>());
        q.send(b"END\r");
        let out = q.expect_within(USER_PROMPT, Duration::from_secs(300));
        let want = format!("paste: bytes={} fnv={:016x}", text.len(), fnv1a(&text));
        assert!(out.contains(&want), "{size} bytes: wanted {want:?} in:\n{}", &out[out.len().saturating_sub(300)..]);
    }
    let mut text = Vec::new();
    while text.len() < 100_000 {
        text.extend_from_slice(b"some more pasted text for cat, on a line of its own\r");
    }
    q.send(b"cat > /dev/null\r");
    q.expect("cat > /dev/null\r\n");
    q.send(&text);
    q.send(&[4]); // Ctrl-D: end of file
    q.expect_within(USER_PROMPT, Duration::from_secs(300));
    assert_eq!(input_lost(&mut q), 0, "the monitor's lost-input counter");
    assert_eq!(run(&mut q, "echo still here"), ("still here\n".into(), 0));
}

/// What `t_ptrace` prints on Linux (ptrace(2), wait(2), proc(5)): qemu-user
/// does not emulate ptrace, so the reference is written down here instead.
const T_PTRACE_LINUX: &str = "\
PTRACE_ATTACH of oneself: EPERM\n\
tracing oneself is refused: yes\n\
PTRACE_ATTACH of init: EPERM\n\
tracing init is refused: yes\n\
PTRACE_ATTACH of kthreadd: EPERM\n\
tracing a kernel thread is refused: yes\n\
PTRACE_CONT of an untraced task: ESRCH\n\
requests need a tracee: yes\n\
traceme: execve stops the tracee with SIGTRAP: yes\n\
traceme: stopped tracee is 't' in /proc/<pid>/stat: yes\n\
traceme: TracerPid is the tracer: yes\n\
traceme: after PTRACE_CONT the program runs to its exit: yes\n\
signal-delivery stop reports WSTOPSIG SIGSTOP: yes\n\
PTRACE_GETSIGINFO gives the stopping signal's siginfo: yes\n\
PTRACE_PEEKDATA reads the tracee's word: yes\n\
PTRACE_POKEDATA writes it: yes\n\
PTRACE_PEEKDATA of an unmapped address: EIO\n\
unmapped address refused: yes\n\
NT_PRSTATUS: 272 bytes, x8 is the kill call the stop came from: yes\n\
NT_PRFPREG: 528 bytes, d8 as the tracee set it: yes\n\
NT_ARM_TLS: the tracee's thread pointer: yes\n\
tracee saw the poked value and exited 0: yes\n\
syscalls: child stopped itself: yes\n\
syscalls: getppid ran as getpid, getuid skipped returning 4242: yes\n\
syscalls: enter and exit stops report SIGTRAP|0x80: yes\n\
syscalls: x7 is 0 at entry stops and 1 at exit stops: yes\n\
PTRACE_SEIZE succeeds: yes\n\
seize: the tracee is not stopped: yes\n\
PTRACE_CONT of a running tracee: ESRCH\n\
a running tracee takes no requests: yes\n\
PTRACE_ATTACH of a traced task: EPERM\n\
a second tracer is refused: yes\n\
PTRACE_INTERRUPT: PTRACE_EVENT_STOP with SIGTRAP: yes\n\
interrupted tracee is 't': yes\n\
PTRACE_DETACH succeeds: yes\n\
after detach TracerPid is 0: yes\n\
PTRACE_ATTACH: the tracee stops with SIGSTOP: yes\n\
PTRACE_INTERRUPT without PTRACE_SEIZE: EIO\n\
interrupt needs seize: yes\n\
a tracee killed while stopped dies of SIGKILL: yes\n\
TRACEFORK: PTRACE_EVENT_FORK with the new PID in GETEVENTMSG: yes\n\
TRACEFORK: the new child starts traced, stopped by SIGSTOP: yes\n\
TRACEFORK: the new child's TracerPid is ours: yes\n\
TRACEFORK: the tracer sees the new child's exit: yes\n\
TRACEFORK: the real parent's SIGCHLD stops it for us: yes\n\
TRACEFORK: its real parent then reaps it: yes\n\
TRACEEXEC: PTRACE_EVENT_EXEC, message the former TID: yes\n\
TRACEEXIT: PTRACE_EVENT_EXIT, message the wait status: yes\n\
TRACEEXIT: then it exits: yes\n\
PTRACE_SINGLESTEP: a SIGTRAP stop after each instruction: yes\n\
PTRACE_SINGLESTEP: the pc moves on: yes\n\
after stepping the tracee runs to its end: yes\n\
tracer attached and exited: yes\n\
tracer exit: the tracee goes free and stops for the SIGSTOP it was stopped with: yes\n\
tracer exit: TracerPid is 0: yes\n\
tracer attached and exited: yes\n\
PTRACE_O_EXITKILL: the tracer's exit kills the tracee: yes\n\
PASS\n";

#[test]
fn ptrace_tracees_stop_and_report_as_on_linux() {
    let mut q = Qemu::boot_user();
    // Under qemu-aarch64 the program only notes that ptrace is missing.
    let linux = reference("t_ptrace", &[]);
    assert!(linux.starts_with("note: ptrace is not emulated"), "{linux}");
    let (ours, status) = run_within(&mut q, "/tests/t_ptrace", Duration::from_secs(60));
    assert_eq!(ours, T_PTRACE_LINUX, "this kernel (left) vs Linux's documented behaviour (right)");
    assert_eq!(status, 0);
}

/// The lines of `out` that start with `prefix`.
fn lines_starting<'a>(out: &'a str, prefix: &str) -> Vec<&'a str> {
    out.lines().filter(|l| l.starts_with(prefix)).collect()
}

#[test]
fn strace_prints_system_calls_as_strace_does() {
    let mut q = Qemu::boot_user();
    // strace's own line format (real strace cannot run here: qemu-user has no
    // ptrace): decoded arguments, results aligned at column 40, `= ?` for a
    // call that does not return, the exit.
    let (out, status) = run(&mut q, "strace /bin/echo hi > /dev/null");
    assert_eq!(status, 0, "{out}");
    let execve = lines_starting(&out, "execve(");
    assert_eq!(execve.len(), 1, "{out}");
    assert!(execve[0].starts_with("execve(\"/bin/echo\", [\"/bin/echo\", \"hi\"], 0x"), "{out}");
    assert!(execve[0].ends_with(" vars */) = 0"), "{out}");
    assert!(out.contains("write(1, \"hi\\n\", 3)                     = 3\n"), "{out}");
    assert!(out.ends_with("exit_group(0)                           = ?\n+++ exited with 0 +++\n"), "{out}");
    // A failing call: the errno's name and text; the tracee's own exit status.
    let (out, status) = run(&mut q, "strace /bin/cat /nonexistent 2>&1");
    assert_eq!(status, 1, "{out}");
    assert!(
        out.contains(
            "openat(AT_FDCWD, \"/nonexistent\", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)\n"
        ),
        "{out}"
    );
    assert!(out.ends_with("+++ exited with 1 +++\n"), "{out}");
    // -f: the shell's children, each line after the first fork with its PID.
    let (out, status) = run(&mut q, "strace -f sh -c 'true | cat' < /dev/null");
    assert_eq!(status, 0, "{out}");
    let shell = number_after(&out, "getpid()                                = ");
    // The shell's forks: whole, or cut by the child's first stop and
    // resumed, depending on who runs when (the child runs first on the
    // shell's CPU while the tracer, on another, collects the stops it
    // finds); strace prints either.
    let whole = out.contains("clone(child_stack=NULL, flags=SIGCHLD)  = ");
    let cut = out.contains("clone(child_stack=NULL, flags=SIGCHLD <unfinished ...>\n")
        && lines_starting(&out, &format!("[pid {shell}] <... clone resumed>) "))
            .iter()
            .any(|l| l.len() > 40 && l[..40].ends_with(' ') && l[40..].starts_with("= "));
    assert!(whole || cut, "{out}");
    for exec in ["execve(\"/bin/true\", [\"true\"], 0x", "execve(\"/bin/cat\", [\"cat\"], 0x"] {
        assert!(out.lines().any(|l| l.starts_with("[pid ") && l.contains(exec)), "{exec}: {out}");
    }
    assert_eq!(out.matches("] +++ exited with 0 +++").count(), 3, "{out}");
    assert!(out.contains(&format!("[pid {shell}] --- SIGCHLD {{si_signo=SIGCHLD, si_code=CLD_EXITED, ")), "{out}");
    // The shell's wait4 for a child: whole, or cut by the children's lines
    // and resumed, depending on who runs when.
    let reaped = lines_starting(&out, &format!("[pid {shell}] "))
        .into_iter()
        .filter(|l| l.contains("wait4(") || l.contains("<... wait4 resumed>"))
        .filter(|l| l.contains("[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]"))
        .count();
    assert!(reaped >= 1, "{out}");
    assert!(out.ends_with(&format!("[pid {shell}] +++ exited with 0 +++\n")), "{out}");
    // -o: the trace goes to the file, not the terminal.
    assert_eq!(run(&mut q, "strace -o /dev/null /bin/echo quiet"), ("quiet\n".into(), 0));
    // -p: attached to a running process, traced to its end.
    run(&mut q, "sleep 2 &");
    let (pid, _) = run(&mut q, "echo $!");
    let (out, status) = run(&mut q, &format!("strace -p {}", pid.trim()));
    assert_eq!(status, 0, "{out}");
    assert!(out.starts_with(&format!("strace: Process {} attached\n", pid.trim())), "{out}");
    assert!(out.ends_with("exit_group(0)                           = ?\n+++ exited with 0 +++\n"), "{out}");
}

#[test]
fn ps_shows_a_stopped_tracee_as_t() {
    let mut q = Qemu::boot_user();
    run(&mut q, "sleep 100 &");
    let (pid, _) = run(&mut q, "echo $!");
    let pid = pid.trim().to_string();
    // A tracer holds it stopped for 3 s.
    run(&mut q, &format!("/tests/t_ptrace hold {pid} 3000 &"));
    let mut state = String::new();
    for _ in 0..20 {
        state = ps_state(&mut q, &pid);
        if state.starts_with('t') {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(state.starts_with('t'), "tracing stop: {state}");
    let (status, _) = run(&mut q, &format!("cat /proc/{pid}/status"));
    assert!(status.contains("State:\tt (tracing stop)\n"), "{status}");
    assert!(!status.contains("TracerPid:\t0\n"), "{status}");
    // The tracer exits: the tracee goes free and stops for its SIGSTOP (T).
    std::thread::sleep(Duration::from_secs(3));
    let mut state = String::new();
    for _ in 0..30 {
        state = ps_state(&mut q, &pid);
        if state.starts_with('T') {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(state.starts_with('T'), "stopped after the tracer left: {state}");
    run(&mut q, &format!("kill -9 {pid}"));
}

const TRACING: &str = "/sys/kernel/tracing";

/// Index of the first line of `lines` containing every one of `parts`.
fn line_with(lines: &[&str], parts: &[&str]) -> usize {
    lines
        .iter()
        .position(|l| parts.iter().all(|p| l.contains(p)))
        .unwrap_or_else(|| panic!("no line with {parts:?} in:\n{}", lines.join("\n")))
}

#[test]
fn trace_events_show_the_process_lifecycle_in_order() {
    let mut q = Qemu::boot_user();
    for e in
        ["sched_process_fork", "sched_process_exec", "sched_process_exit", "sched_process_wait", "sched_process_free"]
    {
        assert_eq!(run(&mut q, &format!("echo 1 > {TRACING}/events/sched/{e}/enable")).1, 0);
    }
    assert_eq!(run(&mut q, &format!("cat {TRACING}/events/sched/enable")).0, "X\n");
    assert_eq!(run(&mut q, &format!("cat {TRACING}/events/sched/sched_process_fork/enable")).0, "1\n");
    // fork + exec + wait from the shell.
    run(&mut q, &format!("echo > {TRACING}/trace"));
    assert_eq!(run(&mut q, "/bin/true").1, 0);
    let (out, _) = run(&mut q, &format!("cat {TRACING}/trace"));
    let lines: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).collect();
    let exec = line_with(&lines, &["sched_process_exec: filename=/bin/true pid="]);
    let child = number_after(lines[exec], "pid=");
    assert!(lines[exec].contains(&format!("true-{child} ")) && lines[exec].ends_with(&format!("old_pid={child}")));
    let fork = line_with(&lines, &["sh-", "sched_process_fork: comm=sh pid=", &format!("child_pid={child}")]);
    let shell = number_after(lines[fork], "comm=sh pid=");
    let exit = line_with(&lines, &[&format!("true-{child} "), &format!("sched_process_exit: comm=true pid={child} ")]);
    let wait = line_with(&lines, &[&format!("sh-{shell} "), &format!("sched_process_wait: comm=sh pid={child} ")]);
    let free = line_with(&lines, &[&format!("sh-{shell} "), &format!("sched_process_free: comm=true pid={child} ")]);
    assert!(fork < exec && exec < exit && exit < free && fork < wait && wait < free, "order:\n{out}");
    // An orphan: its parent exits first; init (PID 1) reaps it.
    run(&mut q, &format!("echo > {TRACING}/trace"));
    assert_eq!(run(&mut q, "sh -c 'sleep 0.2 &'").1, 0);
    std::thread::sleep(Duration::from_millis(800));
    let (out, _) = run(&mut q, &format!("cat {TRACING}/trace"));
    let lines: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).collect();
    let exec = line_with(&lines, &["sched_process_exec: filename=/bin/sleep pid="]);
    let orphan = number_after(lines[exec], "pid=");
    let fork = line_with(&lines, &[&format!("child_pid={orphan}")]);
    assert!(fork < exec);
    let parent = number_after(lines[fork], "comm=sh pid=");
    let parent_exit = line_with(&lines, &[&format!("sched_process_exit: comm=sh pid={parent} ")]);
    let exit = line_with(&lines, &[&format!("sched_process_exit: comm=sleep pid={orphan} ")]);
    let reaped = line_with(&lines, &["init-1 ", &format!("sched_process_free: comm=sleep pid={orphan} ")]);
    assert!(parent_exit < exit && exit < reaped, "the parent died first, init reaped the orphan:\n{out}");
    // Disabled events record nothing.
    assert_eq!(run(&mut q, &format!("echo 0 > {TRACING}/events/enable")).1, 0);
    assert_eq!(run(&mut q, &format!("cat {TRACING}/events/enable")).0, "0\n");
    run(&mut q, &format!("echo > {TRACING}/trace"));
    run(&mut q, "/bin/true");
    let (out, _) = run(&mut q, &format!("cat {TRACING}/trace"));
    assert!(out.contains("entries-in-buffer/entries-written: 0/0 "), "{out}");
    // The same buffers from the debug monitor.
    q.send(&[MONITOR_CHORD]);
    q.expect(PROMPT);
    assert!(q.command("trace on sched_process_exec").contains("enabled: sched_process_exec"));
    q.send(b"exit\r");
    q.expect("Back to user space");
    q.send(b"\r");
    q.expect(USER_PROMPT);
    run(&mut q, "/bin/true");
    q.send(&[MONITOR_CHORD]);
    q.expect(PROMPT);
    let shown = q.command("trace show");
    assert!(shown.contains("sched_process_exec: filename=/bin/true pid="), "{shown}");
    assert!(q.command("trace off").contains("enabled: none"));
    q.send(b"exit\r");
    q.expect("Back to user space");
}

#[test]
fn ten_thousand_forks_with_every_event_on_leave_nothing_behind() {
    let mut q = Qemu::boot_user();
    assert_eq!(run(&mut q, &format!("echo 1 > {TRACING}/events/enable")).1, 0);
    assert_eq!(run(&mut q, &format!("cat {TRACING}/events/enable")).0, "1\n");
    // Warm up: the heap, the caches and the trace buffers reach their size.
    assert_eq!(run_within(&mut q, "/tests/t_forkloop 200", Duration::from_secs(60)).1, 0);
    q.send(b"\r");
    q.expect(USER_PROMPT);
    let before = counters(&mut q);
    q.send(b"\r");
    q.expect(USER_PROMPT);
    let (out, status) = run_within(&mut q, "/tests/t_forkloop 10000", Duration::from_secs(600));
    assert_eq!(status, 0, "{out}");
    q.send(b"\r");
    q.expect(USER_PROMPT);
    let after = counters(&mut q);
    assert_eq!(after.0, before.0, "before and after:\n{}", q.transcript());
    assert!(after.1.abs_diff(before.1) <= 8, "kmalloc objects: {} before, {} after", before.1, after.1);
    q.send(b"\r");
    q.expect(USER_PROMPT);
    // Stop recording, then check every held line.
    assert_eq!(run(&mut q, &format!("echo 0 > {TRACING}/tracing_on")).1, 0);
    let (out, status) = run(&mut q, "/tests/t_trace wrapped");
    assert_eq!(status, 0, "{out}");
    assert!(out.ends_with("the buffers wrapped (more written than held): yes\nPASS\n"), "{out}");
}

/// What `t_wchan` prints on Linux 6.1 (proc(5): the wait channel is the
/// function a task sleeps in, "0" while it runs); qemu-user would show the
/// host's /proc, so this kernel only.
const T_WCHAN_LINUX: &str = "\
nanosleep: hrtimer_nanosleep: yes
stopped: do_signal_stop: yes
read of an empty pipe: pipe_read: yes
waitpid: do_wait: yes
a running task: 0: yes
PASS
";

#[test]
fn proc_wchan_names_where_a_task_sleeps() {
    let mut q = Qemu::boot_user();
    let (out, status) = run_within(&mut q, "/tests/t_wchan", Duration::from_secs(60));
    assert_eq!((out.as_str(), status), (T_WCHAN_LINUX, 0));
}

/// unshare(2) of what Linux lets a lone thread unshare and of namespaces:
/// this kernel only (qemu-user's host process has threads of its own, and the
/// host has namespaces). The expected results are unshare(2)'s: CLONE_THREAD,
/// CLONE_SIGHAND and CLONE_VM succeed in a lone thread and are EINVAL with a
/// second one; namespace flags are EINVAL as on a Linux built without them.
#[test]
fn unshare_of_threads_and_namespaces_is_linux_without_namespaces() {
    let mut q = Qemu::boot_user();
    let (out, status) = run(&mut q, "/tests/t_unshare ns");
    assert!(status == 0 && out.ends_with("PASS\n") && !out.contains(": no\n"), "t_unshare ns:\n{out}");
}
