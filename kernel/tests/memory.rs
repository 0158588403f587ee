//! System tests of memory exhaustion: user programs that take all memory
//! meet the OOM killer (the greediest process dies of SIGKILL, Linux's log
//! line names it), a fork loop ends in EAGAIN or ENOMEM, and afterwards the
//! shell answers and the free memory is back. The kernel boots with the
//! board's device tree and `mem=256M`, so that exhausting memory takes
//! seconds, not minutes.

mod common;

use common::{dtb, Qemu, BOOT_DEADLINE, USER_PROMPT};
use std::time::Duration;

fn boot_small() -> Qemu {
    let path = dtb();
    let mut q = Qemu::boot_with(&["-dtb", &path, "-append", "mem=256M"]);
    q.expect_within(USER_PROMPT, BOOT_DEADLINE);
    q
}

/// Runs `line` in the user shell; returns everything printed up to its
/// exit status (log lines included) and the status.
fn run(q: &mut Qemu, line: &str, deadline: Duration) -> (String, i32) {
    let full = format!("{line}; echo __status=$?__");
    q.send(format!("{full}\r").as_bytes());
    q.expect(&format!("{full}\r\n"));
    let out = q.expect_within("__status=", deadline);
    let out = out[..out.len() - "__status=".len()].replace("\r\n", "\n");
    let status = q.expect("__");
    let status = status.trim_end_matches("__").parse().unwrap_or_else(|_| panic!("status in {status:?}"));
    q.expect(USER_PROMPT);
    (out, status)
}

/// MemFree from /proc/meminfo, kB.
fn mem_free(q: &mut Qemu) -> u64 {
    let (out, _) = run(q, "cat /proc/meminfo", Duration::from_secs(15));
    common::field(&out, "MemFree:")
}

/// (free PIDs, live task_structs), read in the debug monitor.
fn task_counters(q: &mut Qemu) -> (u64, u64) {
    q.send(&[common::MONITOR_CHORD]);
    q.expect(common::PROMPT);
    let pids = common::field(&q.command("sysctl kernel.pids_free"), "kernel.pids_free =");
    let slab = q.command("slabinfo");
    let tasks = slab
        .lines()
        .find(|l| l.starts_with("task_struct"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no task_struct line in:\n{slab}"));
    q.send(b"exit\r");
    q.expect("Back to user space");
    q.send(b"\r");
    q.expect(USER_PROMPT);
    (pids, tasks)
}

/// The `key:<n>kB` figure of an OOM log line.
fn kb(line: &str, key: &str) -> u64 {
    let at = line.find(key).unwrap_or_else(|| panic!("{key} in {line}")) + key.len();
    line[at..].split("kB").next().unwrap().parse().unwrap()
}

#[test]
fn the_oom_killer_kills_the_greediest_and_memory_comes_back() {
    let mut q = boot_small();
    // Warm up: the kernel heap and caches reach their working size.
    assert_eq!(run(&mut q, "/tests/t_oom threads", Duration::from_secs(120)).1, 0);
    let before = mem_free(&mut q);

    let (out, status) = run(&mut q, "/tests/t_oom hog", Duration::from_secs(120));
    assert_eq!(status, 0, "{out}");
    for line in [
        "oom_score: 64 MiB touched scores above a small process: yes",
        "the child with oom_score_adj 1000 is killed first: yes",
        "the hog dies of SIGKILL: yes",
        "the child with oom_score_adj -1000 lives: yes",
    ] {
        assert!(out.contains(line), "{line}\n{out}");
    }
    let oom_lines: Vec<&str> = out.lines().filter(|l| l.contains("Out of memory: Killed process")).collect();
    assert!(oom_lines.len() >= 2, "Linux's OOM line, once per victim:\n{out}");
    assert!(oom_lines[0].contains("(t_oom)") && oom_lines[0].contains("oom_score_adj:1000"), "{out}");
    assert!(kb(oom_lines[1], "anon-rss:") > 128 * 1024, "the hog held most of the memory:\n{out}");

    let (out, status) = run(&mut q, "/tests/t_oom many", Duration::from_secs(180));
    assert_eq!(status, 0, "64 children of 32 MiB:\n{out}");

    let (out, status) = run(&mut q, "/tests/t_oom pgtables", Duration::from_secs(120));
    assert_eq!(status, 0, "{out}");
    let line = out.lines().find(|l| l.contains("Out of memory: Killed process")).expect("an OOM line");
    // One page of data and one of page table per 2 MiB touched: the
    // badness counts both.
    assert!(kb(line, "pgtables:") * 10 >= kb(line, "anon-rss:") * 9, "{line}");

    let tasks_before = task_counters(&mut q);
    let (out, status) = run(&mut q, "/tests/t_oom fork", Duration::from_secs(180));
    assert_eq!(status, 0, "{out}");
    assert_eq!(task_counters(&mut q), tasks_before, "free PIDs and task_structs after the fork loop");

    assert_eq!(run(&mut q, "echo still here", Duration::from_secs(15)).0, "still here\n");
    let after = mem_free(&mut q);
    assert!(after.abs_diff(before) * 100 <= before, "MemFree {before} kB before, {after} kB after");
    // init and the shell survived every kill: the shell is the one that
    // answered, and init never had to start another.
    assert!(!q.transcript().contains("restarting"), "{}", q.transcript());
}

/// What `t_limits` prints on Linux (x86_64 and aarch64 alike: the same
/// source built for the host prints it; qemu-user ignores these limits, so
/// it cannot be the reference here).
const LINUX_LIMITS: &str = "\
RLIMIT_AS: mmap past the limit fails with ENOMEM: yes
RLIMIT_DATA: writable mmap and brk past the limit refused: yes
RLIMIT_STACK: the stack grows within the limit: yes
RLIMIT_STACK: past the limit, SIGSEGV: yes
overcommit: a mapping larger than RAM + swap fails with ENOMEM: yes
overcommit: with MAP_NORESERVE it is made: yes
PASS
";

#[test]
fn memory_limits_and_overcommit_as_on_linux() {
    let mut q = boot_small();
    let (out, status) = run(&mut q, "/tests/t_limits", Duration::from_secs(60));
    let lines: String = out.lines().filter(|l| !l.starts_with('[')).map(|l| format!("{l}\n")).collect();
    assert_eq!(lines, LINUX_LIMITS, "{out}");
    assert_eq!(status, 0);
}

/// What `t_overcommit` prints on Linux (proc(5), mm/util.c): it changes
/// vm.* settings, so it runs on this kernel only.
const LINUX_OVERCOMMIT: &str = "\
defaults: overcommit_memory 0, overcommit_ratio 50, overcommit_kbytes 0: yes
CommitLimit is overcommit_ratio percent of MemTotal: yes
Committed_AS is shown: yes
a 64 MiB private writable mapping adds 64 MiB to Committed_AS, munmap takes it back: yes
read-only memory is committed once mprotect makes it writable: yes
fork commits the child's copy until the child exits: yes
overcommit_memory 2: mmap past CommitLimit fails with ENOMEM: yes
overcommit_memory 2: MAP_NORESERVE does not help: yes
overcommit_memory 2: a read-only mapping is still made: yes
overcommit_memory 2: brk past CommitLimit fails with ENOMEM: yes
overcommit_memory 2: fork past CommitLimit fails with ENOMEM: yes
the settings can be changed and put back: yes
overcommit_memory 0 refuses a mapping larger than RAM: yes
overcommit_memory 1 makes it: yes
overcommit_memory 3 is refused with EINVAL, the value unchanged: yes
overcommit_kbytes sets CommitLimit and zeroes the ratio, and the other way round: yes
Committed_AS ends where it started: yes
PASS
";

#[test]
fn overcommit_accounting_and_modes_as_on_linux() {
    let mut q = boot_small();
    let (out, status) = run(&mut q, "/tests/t_overcommit", Duration::from_secs(60));
    let lines: String = out.lines().filter(|l| !l.starts_with('[')).map(|l| format!("{l}\n")).collect();
    assert_eq!(lines, LINUX_OVERCOMMIT, "{out}");
    assert_eq!(status, 0);
    // The shell, which ran while mode 2 held, still answers.
    assert_eq!(run(&mut q, "echo alive", Duration::from_secs(10)), ("alive\n".into(), 0));
}
