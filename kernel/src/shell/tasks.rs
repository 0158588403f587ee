//! The console shell's process commands: `ps`, `pstree`, `kill`, `slabinfo`,
//! `sysctl`, `runqueues` and the `kthread` demo workloads.

use super::demo;
use crate::config::NR_CPUS;
use crate::fork::{PIDS, TASK_STRUCT_CACHE};
use crate::println;
use crate::sched::core::rq_stats;
use crate::sched::task::{for_each_process, idle_task, pf, TaskRef, TaskStruct, TASKLIST};
use crate::util::list::ListHead;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use core::sync::atomic::Ordering;

/// One `ps` row, copied out under TASKLIST.
struct Row {
    pid: u32,
    ppid: u32,
    state: char,
    cpu: usize,
    nice: i32,
    nvcsw: u64,
    nivcsw: u64,
    runtime_ns: u64,
    name: String,
}

fn row(t: TaskRef, ppid: u32) -> Row {
    let comm = t.comm();
    let name = if t.has_flag(pf::PF_KTHREAD) { alloc::format!("[{comm}]") } else { String::from(comm.as_str()) };
    Row {
        pid: t.pid(),
        ppid,
        state: t.state_letter(),
        cpu: t.cpu.load(Ordering::Relaxed),
        nice: t.nice.load(Ordering::Relaxed),
        nvcsw: t.nvcsw.load(Ordering::Relaxed),
        nivcsw: t.nivcsw.load(Ordering::Relaxed),
        runtime_ns: t.runtime_ns(),
        name,
    }
}

fn parent_pid(t: TaskRef) -> u32 {
    // SAFETY: called under TASKLIST (from for_each_process); parents outlive
    // the links to their children.
    let p = unsafe { *t.real_parent.get() };
    // SAFETY: as above.
    if p.is_null() {
        0
    } else {
        unsafe { (*p).pid() }
    }
}

/// `ps`: every task, the idle tasks first.
pub fn ps(args: &[&str]) -> Result<(), &'static str> {
    if !args.is_empty() {
        return Err("takes no arguments");
    }
    let mut rows: Vec<Row> = (1..NR_CPUS).map(|c| row(idle_task(c), 0)).collect();
    for_each_process(|t| rows.push(row(t, parent_pid(t))));
    rows.sort_by_key(|r| (r.pid, r.cpu));
    println!("  PID  PPID S CPU  NI    VCSW   IVCSW      TIME CMD");
    for r in rows {
        let cs = r.runtime_ns / 10_000_000;
        println!(
            "{:>5} {:>5} {} {:>3} {:>3} {:>7} {:>7} {:>6}.{:02} {}",
            r.pid,
            r.ppid,
            r.state,
            r.cpu,
            r.nice,
            r.nvcsw,
            r.nivcsw,
            cs / 100,
            cs % 100,
            r.name
        );
    }
    Ok(())
}

/// `pstree`: the process tree from `init_task`.
pub fn pstree(args: &[&str]) -> Result<(), &'static str> {
    if !args.is_empty() {
        return Err("takes no arguments");
    }
    let mut out = String::new();
    {
        let _guard = TASKLIST.lock();
        walk_tree(crate::sched::task::init_task(), 0, &mut out);
    }
    crate::print!("{out}");
    Ok(())
}

/// Appends `t` and its descendants to `out`. Called under TASKLIST.
fn walk_tree(t: TaskRef, depth: usize, out: &mut String) {
    let _ = writeln!(out, "{:width$}{}({})", "", t.comm(), t.pid(), width = depth * 2);
    // SAFETY: under TASKLIST (caller); children are live while linked.
    unsafe {
        for link in ListHead::iter(t.children.get()) {
            walk_tree(TaskRef::from_ptr(crate::container_of!(link, TaskStruct, sibling)), depth + 1, out);
        }
    }
}

/// `kill <pid>...`
pub fn kill(args: &[&str]) -> Result<(), &'static str> {
    if args.is_empty() {
        return Err("which PID?");
    }
    for arg in args {
        let Ok(pid) = arg.parse::<u32>() else {
            println!("kill: {arg}: not a PID");
            continue;
        };
        if let Err(e) = crate::exit::kill_pid(pid) {
            let why = match e {
                crate::errno::Errno::ESRCH => "No such process",
                crate::errno::Errno::EPERM => "Operation not permitted",
                _ => e.name(),
            };
            println!("kill: ({pid}) - {why}");
        }
    }
    Ok(())
}

/// `taskset <mask> <pid>`: restrict a task to the CPUs in `mask` (hex or
/// decimal; bit n = CPU n).
pub fn taskset(args: &[&str]) -> Result<(), &'static str> {
    let [mask, pid] = args else { return Err("taskset <mask> <pid>") };
    let mask = match mask.strip_prefix("0x") {
        Some(hex) => u8::from_str_radix(hex, 16),
        None => mask.parse(),
    }
    .map_err(|_| "mask must be a number (bit n = CPU n)")?;
    let pid: u32 = pid.parse().map_err(|_| "not a PID")?;
    let Some(task) = crate::sched::task::find_task_by_pid(pid) else {
        println!("taskset: ({pid}) - No such process");
        return Ok(());
    };
    let result = if task.has_flag(pf::PF_IDLE) {
        Err("idle tasks stay on their CPU")
    } else {
        crate::sched::core::set_cpus_allowed(task, mask).map_err(|_| "the mask holds no online CPU")
    };
    task.put();
    result?;
    println!("pid {pid}'s affinity mask: {mask:#x}");
    Ok(())
}

/// `slabinfo [shrink]`: the slab caches, as /proc/slabinfo lists them;
/// `shrink` first returns empty slabs to the page allocator.
pub fn slabinfo(args: &[&str]) -> Result<(), &'static str> {
    match args {
        [] => {}
        ["shrink"] => println!("shrink: {} pages returned", crate::fork::shrink_caches()),
        _ => return Err("slabinfo [shrink]"),
    }
    println!("{}", crate::mm::slab::slabinfo_header());
    println!("{}", TASK_STRUCT_CACHE.stats());
    for cache in &crate::mm::heap::KMALLOC {
        println!("{}", cache.stats());
    }
    println!("# kernel stacks in use: {}", crate::mm::vmstack::stacks_in_use());
    Ok(())
}

/// A sysctl key: its name, how to read it and, if it can be set, how.
/// `kernel.pid_max` and `kernel.sched_child_runs_first` are Linux's; the
/// others are this kernel's counters.
struct Sysctl {
    name: &'static str,
    read: fn() -> u64,
    write: Option<SysctlWrite>,
}

/// Sets a sysctl value, or says why not.
type SysctlWrite = fn(u32) -> Result<(), &'static str>;

const SYSCTLS: &[Sysctl] = &[
    Sysctl {
        name: "kernel.pid_max",
        read: || PIDS.lock().pid_max() as u64,
        write: Some(|n| PIDS.lock().set_pid_max(n).map_err(|_| "pid_max must be 301..=4194304")),
    },
    Sysctl {
        name: "kernel.sched_child_runs_first",
        read: || crate::sched::core::SCHED_CHILD_RUNS_FIRST.load(Ordering::Relaxed) as u64,
        write: Some(|n| match n {
            0 | 1 => {
                crate::sched::core::SCHED_CHILD_RUNS_FIRST.store(n == 1, Ordering::Relaxed);
                Ok(())
            }
            _ => Err("0 or 1"),
        }),
    },
    Sysctl { name: "kernel.pids_in_use", read: || PIDS.lock().in_use() as u64, write: None },
    Sysctl { name: "kernel.pids_free", read: || PIDS.lock().free_count() as u64, write: None },
    Sysctl {
        name: "kernel.init_reaped",
        read: || crate::initproc::REAPED_BY_INIT.load(Ordering::Relaxed),
        write: None,
    },
];

/// `sysctl [key[=value]]`.
pub fn sysctl(args: &[&str]) -> Result<(), &'static str> {
    let print = |name: &str, read: fn() -> u64| println!("{name} = {}", read());
    match args {
        [] => {
            for s in SYSCTLS {
                print(s.name, s.read);
            }
            Ok(())
        }
        [arg] => {
            let (key, value) = match arg.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim())),
                None => (arg.trim(), None),
            };
            let Some(s) = SYSCTLS.iter().find(|s| s.name == key) else {
                return Err("unknown key");
            };
            if let Some(value) = value {
                let Some(write) = s.write else { return Err("read-only key") };
                let n: u32 = value.parse().map_err(|_| "not a number")?;
                write(n)?;
            }
            print(s.name, s.read);
            Ok(())
        }
        _ => Err("one key at a time"),
    }
}

/// `runqueues`: per CPU: tasks, load, switches, migrations, busy time.
pub fn runqueues(args: &[&str]) -> Result<(), &'static str> {
    if !args.is_empty() {
        return Err("takes no arguments");
    }
    println!("cpu running   load  switches migrations    busy_ms");
    for cpu in 0..NR_CPUS {
        let s = rq_stats(cpu);
        println!(
            "{cpu:<3} {:>7} {:>6} {:>9} {:>10} {:>10}",
            s.nr_running,
            s.load_weight,
            s.nr_switches,
            s.nr_migrations,
            s.busy_ns / 1_000_000
        );
    }
    Ok(())
}

/// `kthread start <kind> [n] [nice <n>] [cpu <c>]`, `kthread stop [pid]`,
/// `kthread churn <n> [batch]`.
pub fn kthread(args: &[&str]) -> Result<(), &'static str> {
    match args {
        ["start", kind, rest @ ..] => {
            let kind = demo::Kind::parse(kind).ok_or("kinds: spin, sleep, dsleep, orphan, yield")?;
            let mut count = 1;
            let (mut nice, mut cpu) = (0, None);
            let mut it = rest.iter();
            while let Some(word) = it.next() {
                match *word {
                    "nice" => nice = it.next().and_then(|v| v.parse().ok()).ok_or("nice takes -20..19")?,
                    "cpu" => {
                        let c: usize = it.next().and_then(|v| v.parse().ok()).ok_or("cpu takes 0..3")?;
                        if c >= NR_CPUS {
                            return Err("cpu takes 0..3");
                        }
                        cpu = Some(c);
                    }
                    n => count = n.parse().map_err(|_| "count must be a number")?,
                }
            }
            if !(-20..=19).contains(&nice) {
                return Err("nice takes -20..19");
            }
            match demo::start(kind, count, nice, cpu) {
                Ok(pids) => println!("started {}: {pids:?}", pids.len()),
                Err(e) => println!("kthread: {e}"),
            }
            Ok(())
        }
        ["stop"] | ["stop", "all"] => {
            println!("stopped {}", demo::stop(None));
            Ok(())
        }
        ["stop", pid] => {
            let pid = pid.parse().map_err(|_| "stop takes a PID or all")?;
            println!("stopped {}", demo::stop(Some(pid)));
            Ok(())
        }
        ["churn", n, rest @ ..] => {
            let n: usize = n.parse().map_err(|_| "churn takes a count")?;
            let batch = match rest {
                [] => 50,
                [b] => b.parse().map_err(|_| "batch must be a number")?,
                _ => return Err("churn <n> [batch]"),
            };
            match demo::churn(n, batch.max(1)) {
                Ok(ns) => println!(
                    "churned {n} kernel threads in {} ms ({} us each)",
                    ns / 1_000_000,
                    ns / 1000 / n.max(1) as u64
                ),
                Err(e) => println!("kthread: {e}"),
            }
            Ok(())
        }
        _ => Err("start|stop|churn"),
    }
}
