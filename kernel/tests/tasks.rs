//! System tests of the process model on the kernel side: the task table,
//! kernel threads, the scheduler's fairness and balance, sleeping states,
//! exit, reparenting and reaping.

mod common;

use common::{field, Qemu};
use std::thread::sleep;
use std::time::Duration;

/// One `ps` row.
#[derive(Debug, Clone)]
struct Task {
    pid: u32,
    ppid: u32,
    state: char,
    cpu: usize,
    nice: i32,
    time_cs: u64,
    cmd: String,
}

fn ps(q: &mut Qemu) -> Vec<Task> {
    q.command("ps")
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 9, "ps row: {l}");
            let (secs, cs) = f[7].split_once('.').unwrap();
            Task {
                pid: f[0].parse().unwrap(),
                ppid: f[1].parse().unwrap(),
                state: f[2].chars().next().unwrap(),
                cpu: f[3].parse().unwrap(),
                nice: f[4].parse().unwrap(),
                time_cs: secs.parse::<u64>().unwrap() * 100 + cs.parse::<u64>().unwrap(),
                cmd: f[8].to_string(),
            }
        })
        .collect()
}

/// PIDs from a `kthread start` answer ("started N: [a, b]").
fn started(out: &str) -> Vec<u32> {
    let list = out.split_once('[').and_then(|(_, r)| r.split_once(']')).unwrap_or_else(|| panic!("{out}")).0;
    list.split(',').map(|p| p.trim().parse().unwrap()).collect()
}

fn task(tasks: &[Task], pid: u32) -> Option<&Task> {
    tasks.iter().find(|t| t.pid == pid)
}

/// busy_ms per CPU from `runqueues`.
fn busy_ms(q: &mut Qemu) -> Vec<u64> {
    q.command("runqueues").lines().skip(1).map(|l| l.split_whitespace().nth(5).unwrap().parse().unwrap()).collect()
}

#[test]
fn ps_shows_idle_tasks_init_and_kthreadd_with_their_parents() {
    let mut q = Qemu::boot();
    let tasks = ps(&mut q);
    let idle: Vec<&Task> = tasks.iter().filter(|t| t.pid == 0).collect();
    assert_eq!(idle.len(), 4, "one idle task per core: {tasks:?}");
    for (cpu, t) in idle.iter().enumerate() {
        assert_eq!(t.cmd, format!("[swapper/{cpu}]"));
        assert_eq!((t.ppid, t.cpu, t.state), (0, cpu, 'I'));
    }
    let init = task(&tasks, 1).expect("PID 1");
    assert_eq!((init.cmd.as_str(), init.ppid), ("[init]", 0));
    let kthreadd = task(&tasks, 2).expect("PID 2");
    assert_eq!((kthreadd.cmd.as_str(), kthreadd.ppid), ("[kthreadd]", 0));
    let shell = tasks.iter().find(|t| t.cmd == "[kshell]").expect("the shell thread");
    assert_eq!(shell.ppid, 1, "init starts the shell");
    assert_eq!(shell.state, 'R', "the shell is running ps");
    let tree = q.command("pstree");
    assert!(tree.starts_with("swapper/0(0)\n  init(1)\n    kshell(3)\n  kthreadd(2)\n"), "{tree}");
}

#[test]
fn a_thousand_kernel_threads_leave_slabs_and_pids_as_they_were() {
    let mut q = Qemu::boot();
    let slab_before = q.command("slabinfo");
    let free_before = field(&q.command("sysctl kernel.pids_free"), "kernel.pids_free =");
    let active = |s: &str| -> u64 {
        let line = s.lines().find(|l| l.starts_with("task_struct")).unwrap_or_else(|| panic!("{s}"));
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    let stacks = |s: &str| field(s, "# kernel stacks in use:");
    q.send(b"kthread churn 1000\r");
    let out = q.expect_within("kernel threads in", Duration::from_secs(120));
    assert!(out.contains("churned 1000"), "{out}");
    q.expect(common::PROMPT);
    // The last threads may still be on their way out (a dead task's
    // descriptor goes when its CPU switches away from it): allow a moment.
    let mut slab_after = q.command("slabinfo");
    for _ in 0..20 {
        if active(&slab_after) == active(&slab_before) {
            break;
        }
        sleep(Duration::from_millis(100));
        slab_after = q.command("slabinfo");
    }
    assert_eq!(active(&slab_after), active(&slab_before), "task_structs back in the cache:\n{slab_after}");
    assert_eq!(stacks(&slab_after), stacks(&slab_before), "kernel stacks freed");
    let free_after = field(&q.command("sysctl kernel.pids_free"), "kernel.pids_free =");
    assert_eq!(free_after, free_before, "every PID freed");
    // The PIDs moved on: the next thread gets a PID past the churn's.
    let next = started(&q.command("kthread start sleep"));
    assert!(next[0] > 1000, "{next:?}");
    q.command("kthread stop");
}

#[test]
fn cpu_bound_threads_spread_over_all_cores() {
    let mut q = Qemu::boot();
    let before = busy_ms(&mut q);
    let pids = started(&q.command("kthread start spin 8"));
    assert_eq!(pids.len(), 8);
    sleep(Duration::from_secs(3));
    let after = busy_ms(&mut q);
    let tasks = ps(&mut q);
    q.command("kthread stop");
    let deltas: Vec<u64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
    let total: u64 = deltas.iter().sum();
    for (cpu, d) in deltas.iter().enumerate() {
        // A fair share is a quarter of the busy time; allow a wide margin.
        assert!(*d * 4 >= total * 6 / 10, "core {cpu} ran {d} ms of {total} ms: {deltas:?}");
    }
    let cpus: std::collections::HashSet<usize> = pids.iter().filter_map(|p| task(&tasks, *p)).map(|t| t.cpu).collect();
    assert_eq!(cpus.len(), 4, "spinners sit on every core: {tasks:?}");
}

#[test]
fn nice_0_and_nice_10_share_a_core_in_cfs_weight_ratio() {
    let mut q = Qemu::boot();
    let fast = started(&q.command("kthread start spin 1 nice 0 cpu 2"))[0];
    let slow = started(&q.command("kthread start spin 1 nice 10 cpu 2"))[0];
    sleep(Duration::from_secs(4));
    let tasks = ps(&mut q);
    q.command("kthread stop");
    let (f, s) = (task(&tasks, fast).unwrap(), task(&tasks, slow).unwrap());
    assert_eq!((f.cpu, s.cpu, f.nice, s.nice), (2, 2, 0, 10), "{tasks:?}");
    let ratio = f.time_cs as f64 / s.time_cs.max(1) as f64;
    // Weights 1024 : 110 = 9.3.
    assert!((6.0..=13.0).contains(&ratio), "CPU time {} vs {} cs: ratio {ratio:.2}", f.time_cs, s.time_cs);
}

#[test]
fn kill_wakes_interruptible_sleepers_but_not_uninterruptible_ones() {
    let mut q = Qemu::boot();
    let d = started(&q.command("kthread start dsleep"))[0];
    let s = started(&q.command("kthread start sleep"))[0];
    // Each wakes every 50 ms, so a sample may catch it running: look until
    // both are seen asleep.
    let mut tasks = ps(&mut q);
    for _ in 0..50 {
        if task(&tasks, d).is_some_and(|t| t.state == 'D') && task(&tasks, s).is_some_and(|t| t.state == 'S') {
            break;
        }
        sleep(Duration::from_millis(20));
        tasks = ps(&mut q);
    }
    assert_eq!(task(&tasks, d).unwrap().state, 'D', "{tasks:?}");
    assert_eq!(task(&tasks, s).unwrap().state, 'S', "{tasks:?}");
    assert_eq!(q.command(&format!("kill {d} {s}")), "");
    sleep(Duration::from_millis(500));
    let mut tasks = ps(&mut q);
    for _ in 0..50 {
        if task(&tasks, d).is_some_and(|t| t.state == 'D') {
            break;
        }
        sleep(Duration::from_millis(20));
        tasks = ps(&mut q);
    }
    assert_eq!(task(&tasks, d).map(|t| t.state), Some('D'), "the uninterruptible sleeper ignores kill: {tasks:?}");
    assert!(task(&tasks, s).is_none(), "the interruptible sleeper was killed and reaped: {tasks:?}");
    assert_eq!(q.command("kthread stop"), "stopped 2\n");
    assert!(task(&ps(&mut q), d).is_none(), "kthread_stop ends it");
}

#[test]
fn orphans_are_reparented_to_init_and_reaped() {
    let mut q = Qemu::boot();
    let reaped_before = field(&q.command("sysctl kernel.init_reaped"), "kernel.init_reaped =");
    let parent = started(&q.command("kthread start orphan"))[0];
    sleep(Duration::from_millis(150));
    let tasks = ps(&mut q);
    let children: Vec<&Task> = tasks.iter().filter(|t| t.cmd == "[orphan-child]").collect();
    assert_eq!(children.len(), 3, "{tasks:?}");
    assert!(task(&tasks, parent).is_none(), "the parent exited: {tasks:?}");
    assert!(children.iter().all(|c| c.ppid == 1), "orphans belong to init: {tasks:?}");
    sleep(Duration::from_millis(1000));
    let tasks = ps(&mut q);
    assert!(tasks.iter().all(|t| t.cmd != "[orphan-child]" && t.state != 'Z'), "reaped, no zombies: {tasks:?}");
    let reaped_after = field(&q.command("sysctl kernel.init_reaped"), "kernel.init_reaped =");
    assert_eq!(reaped_after, reaped_before + 3);
    q.command("kthread stop");
}

#[test]
fn pid_max_is_settable_within_linux_bounds_and_pids_wrap() {
    let mut q = Qemu::boot();
    assert_eq!(q.command("sysctl kernel.pid_max"), "kernel.pid_max = 32768\n");
    assert!(q.command("sysctl kernel.pid_max=300").contains("pid_max must be 301..=4194304"));
    assert!(q.command("sysctl kernel.pid_max=4194305").contains("pid_max must be 301..=4194304"));
    assert!(q.command("sysctl kernel.pid_max=abc").contains("not a number"));
    assert!(q.command("sysctl kernel.pids_free=5").contains("read-only"));
    assert_eq!(q.command("sysctl kernel.pid_max=400"), "kernel.pid_max = 400\n");
    assert_eq!(field(&q.command("sysctl kernel.pids_free"), "kernel.pids_free ="), 399 - 3);
    // 500 threads through a PID space of 400: allocation wraps past the
    // reserved PIDs and skips those in use.
    let out = q.command("kthread churn 500 20");
    assert!(out.starts_with("churned 500"), "{out}");
    let pid = started(&q.command("kthread start sleep"))[0];
    assert!((300..400).contains(&pid), "after wrapping, PIDs come from 300..400: {pid}");
    q.command("kthread stop");
    assert_eq!(q.command("sysctl kernel.pid_max=4194304"), "kernel.pid_max = 4194304\n");
}

#[test]
fn affinity_moves_a_running_thread_to_the_allowed_cpu() {
    let mut q = Qemu::boot();
    let pid = started(&q.command("kthread start spin"))[0];
    for (mask, shown, cpu) in [("0x8", "0x8", 3), ("4", "0x4", 2), ("0x1", "0x1", 0)] {
        assert_eq!(q.command(&format!("taskset {mask} {pid}")), format!("pid {pid}'s affinity mask: {shown}\n"));
        sleep(Duration::from_millis(300));
        let t = ps(&mut q).into_iter().find(|t| t.pid == pid).unwrap();
        assert_eq!((t.cpu, t.state), (cpu, 'R'), "after taskset {mask}");
    }
    assert!(q.command(&format!("taskset 0x10 {pid}")).contains("no online CPU"));
    assert!(q.command("taskset 1 0").contains("idle tasks stay"));
    assert_eq!(q.command("taskset 1 4000"), "taskset: (4000) - No such process\n");
    q.command("kthread stop");
}

#[test]
fn yielding_threads_hand_the_cpu_back_and_forth() {
    let mut q = Qemu::boot();
    let switches = |q: &mut Qemu| -> u64 {
        let out = q.command("runqueues");
        out.lines().nth(2).unwrap().split_whitespace().nth(3).unwrap().parse().unwrap()
    };
    let before = switches(&mut q);
    started(&q.command("kthread start yield 2 cpu 1"));
    sleep(Duration::from_secs(1));
    let after = switches(&mut q);
    q.command("kthread stop");
    // The tick (HZ = 250) alone would switch at most 250 times a second.
    assert!(after - before > 1000, "core 1 switched only {} times", after - before);
}

#[test]
fn slab_shrink_returns_empty_slabs() {
    let mut q = Qemu::boot();
    q.command("kthread churn 200");
    let out = q.command("slabinfo shrink");
    assert!(out.starts_with("shrink: ") && out.contains(" pages returned"), "{out}");
    let line = out.lines().find(|l| l.starts_with("task_struct")).unwrap();
    let f: Vec<u64> = line.split_whitespace().skip(1).map(|v| v.parse().unwrap()).collect();
    let (active, total, per_slab) = (f[0], f[1], f[3]);
    // Every CPU emptied its magazine first, so no slab is left without an
    // object in use: the live tasks pin at most one slab each.
    assert!(total <= active * per_slab, "{line}");
}

#[test]
fn pid_exhaustion_is_an_error_not_a_panic() {
    let mut q = Qemu::boot();
    q.command("sysctl kernel.pid_max=310");
    let free = field(&q.command("sysctl kernel.pids_free"), "kernel.pids_free =");
    let out = q.command(&format!("kthread start sleep {}", free + 5));
    assert!(out.contains("kthread: EAGAIN (11)"), "{out}");
    assert_eq!(field(&q.command("sysctl kernel.pids_free"), "kernel.pids_free ="), 0);
    assert_eq!(q.command("kthread stop"), format!("stopped {free}\n"));
    assert_eq!(field(&q.command("sysctl kernel.pids_free"), "kernel.pids_free ="), free);
    assert_eq!(q.command("echo alive"), "alive\n");
}

#[test]
fn scheduler_benchmarks_run_and_report_medians() {
    let mut q = Qemu::boot();
    for (cmd, name) in [
        ("bench kthread 20", "kthread create+run+stop: median "),
        ("bench pingpong 50", "context switch (same CPU): median "),
        ("bench wakeup 20", "wake-up across CPUs: median "),
    ] {
        let out = q.command(cmd);
        assert!(out.starts_with(name) && out.contains(" us (n="), "{out}");
    }
    assert!(q.command("bench fast").contains("usage: bench"));
    let tasks = ps(&mut q);
    assert!(tasks.iter().all(|t| !t.cmd.starts_with("[bench")), "benchmark threads are gone: {tasks:?}");
}

#[test]
fn kill_refuses_essential_tasks_and_unknown_pids() {
    let mut q = Qemu::boot();
    assert_eq!(q.command("kill 1"), "kill: (1) - Operation not permitted\n");
    assert_eq!(q.command("kill 2"), "kill: (2) - Operation not permitted\n");
    assert_eq!(q.command("kill 0"), "kill: (0) - Operation not permitted\n");
    assert_eq!(q.command("kill 4000"), "kill: (4000) - No such process\n");
    assert_eq!(q.command("kill x"), "kill: x: not a PID\n");
    assert!(q.command("kill").contains("usage: kill"));
}
