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
        ],
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
            ("t_files", &["/"]),
            ("t_proc", &[]),
        ],
    );
    // This kernel only: qemu-user does not fault a misaligned exclusive
    // load, which Linux answers with SIGBUS (and which must not fault again
    // forever).
    assert_eq!(
        run(&mut q, "/tests/t_segv sigbus"),
        ("misaligned exclusive load killed by SIGBUS: yes\nPASS\n".into(), 0)
    );
    // The faults were logged, and the kernel lives on.
    assert!(q.transcript().contains("unhandled Data Abort from lower EL at 0x10"));
    assert_eq!(run(&mut q, "echo alive"), ("alive\n".into(), 0));
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
    q.expect(USER_PROMPT);
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
    q.expect_within(USER_PROMPT, common::BOOT_DEADLINE);
    assert_eq!(run(&mut q, "/my-hello"), ("hello, world\n".into(), 0));
    assert_eq!(run(&mut q, "cat /etc/greeting"), ("from INITRAMFS_EXTRA\n".into(), 0));
    assert_eq!(run(&mut q, "uname"), ("hello, world\n".into(), 0));
    // The rest of the built-in rootfs is still there.
    assert_eq!(run(&mut q, "/tests/hello"), ("hello, world\n".into(), 0));
}
