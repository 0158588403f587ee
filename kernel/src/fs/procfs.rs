//! /proc (Linux: fs/proc/): per-process `stat`, `status`, `cmdline`, `comm`
//! and the `exe` link, and the system files `meminfo`, `slabinfo`,
//! `loadavg`, `uptime` and `version`, in Linux's formats so that `ps` and
//! friends read them unchanged.
//!
//! A file's text is generated when it is opened and read from that
//! snapshot. `/proc/self` is resolved by the path walk (vfs.rs).

use super::file::{dtype, mode, DirEntry, FileOps, Stat};
use crate::errno::Errno;
use crate::mm::frame::PAGE_SIZE;
use crate::mm::mm_struct::Access;
use crate::pid::Pid;
use crate::sched::task::{find_task_by_pid, for_each_process, TaskRef};
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt::Write;
use core::sync::atomic::Ordering;

/// Clock ticks per second as user space counts them (Linux: USER_HZ).
pub const USER_HZ: u64 = 100;
const NS_PER_TICK: u64 = 1_000_000_000 / USER_HZ;

/// What a /proc path names.
enum Node {
    Root,
    PidDir(Pid),
    PidFile(Pid, &'static str),
    System(&'static str),
    /// `/proc/sysvipc` and its files.
    SysvIpcDir,
    SysvIpc(&'static str),
}

const PID_FILES: [&str; 7] = ["cmdline", "comm", "exe", "oom_score", "oom_score_adj", "stat", "status"];
const SYSTEM_FILES: [&str; 5] = ["loadavg", "meminfo", "slabinfo", "uptime", "version"];
/// `/proc/sysvipc`'s files (no `shm` yet: there is no System V shared memory).
const SYSVIPC_FILES: [&str; 2] = ["msg", "sem"];

fn parse(rest: &str) -> Option<Node> {
    let mut parts = rest.split('/').filter(|p| !p.is_empty());
    let Some(first) = parts.next() else { return Some(Node::Root) };
    let node = if let Ok(pid) = first.parse::<Pid>() {
        match parts.next() {
            None => Node::PidDir(pid),
            Some(f) => Node::PidFile(pid, PID_FILES.iter().copied().find(|&n| n == f)?),
        }
    } else if first == "sysvipc" {
        match parts.next() {
            None => Node::SysvIpcDir,
            Some(f) => Node::SysvIpc(SYSVIPC_FILES.iter().copied().find(|&n| n == f)?),
        }
    } else {
        Node::System(SYSTEM_FILES.iter().copied().find(|&n| n == first)?)
    };
    parts.next().is_none().then_some(node)
}

/// A process (thread-group leader) with `pid`, alive or a zombie.
fn process(pid: Pid) -> Option<TaskRef> {
    let t = find_task_by_pid(pid)?;
    if t.tgid() != pid {
        t.put();
        return None;
    }
    Some(t)
}

/// Opens `/proc` + `rest` (`rest` empty or starting with `/`).
pub fn open(rest: &str) -> Result<Arc<dyn FileOps>, Errno> {
    let node = parse(rest).ok_or(Errno::ENOENT)?;
    let path = format!("/proc{rest}");
    match node {
        Node::Root => Ok(Arc::new(ProcDir { path, pid: None })),
        Node::PidDir(pid) => {
            process(pid).ok_or(Errno::ENOENT)?.put();
            Ok(Arc::new(ProcDir { path, pid: Some(pid) }))
        }
        Node::PidFile(pid, name) => {
            let t = process(pid).ok_or(Errno::ENOENT)?;
            let data = match name {
                "stat" => pid_stat(t).into_bytes(),
                "status" => pid_status(t).into_bytes(),
                "cmdline" => pid_cmdline(t),
                "comm" => format!("{}\n", t.comm()).into_bytes(),
                "oom_score" => format!("{}\n", crate::mm::oom_kill::oom_score(t)).into_bytes(),
                "oom_score_adj" => {
                    let adj = t.signal_struct().map_or(0, |s| s.oom_score_adj.load(Ordering::Relaxed));
                    t.put();
                    return Ok(Arc::new(OomScoreAdj { path, pid, data: format!("{adj}\n").into_bytes() }));
                }
                _ => {
                    t.put();
                    return Err(Errno::EINVAL); // exe: a link, see readlink
                }
            };
            t.put();
            Ok(Arc::new(ProcFile { path, data }))
        }
        Node::SysvIpcDir => Ok(Arc::new(SysvIpcDir { path })),
        Node::SysvIpc(name) => {
            let data = if name == "sem" { crate::ipc::sem::proc_show() } else { crate::ipc::msg::proc_show() };
            Ok(Arc::new(ProcFile { path, data: data.into_bytes() }))
        }
        Node::System(name) => {
            let data = match name {
                "meminfo" => meminfo(),
                "slabinfo" => slabinfo(),
                "loadavg" => loadavg(),
                "uptime" => uptime(),
                _ => format!("Linux version 6.1.0-rpi4-rust (aarch64) #1 SMP PREEMPT {}\n", env!("CARGO_PKG_VERSION")),
            };
            Ok(Arc::new(ProcFile { path, data: data.into_bytes() }))
        }
    }
}

/// Whether `/proc` + `rest` is a directory one can walk through: Ok, ENOENT
/// or ENOTDIR, without generating any file's contents.
pub fn check_dir(rest: &str) -> Result<(), Errno> {
    match parse(rest).ok_or(Errno::ENOENT)? {
        Node::Root | Node::SysvIpcDir => Ok(()),
        Node::PidDir(pid) => {
            process(pid).ok_or(Errno::ENOENT)?.put();
            Ok(())
        }
        Node::PidFile(..) | Node::System(_) | Node::SysvIpc(_) => Err(Errno::ENOTDIR),
    }
}

/// The target of a /proc link (`/proc/<pid>/exe`), or EINVAL.
pub fn readlink(rest: &str) -> Result<String, Errno> {
    match parse(rest) {
        Some(Node::PidFile(pid, "exe")) => {
            let t = process(pid).ok_or(Errno::ENOENT)?;
            let exe = t.mm().map(|mm| mm.lock().exe.clone());
            t.put();
            exe.ok_or(Errno::ENOENT)
        }
        Some(_) => Err(Errno::EINVAL),
        None => Err(Errno::ENOENT),
    }
}

/// Copies what of `data` lies at `pos` into `buf`: a read of a file whose
/// text was generated at open.
fn read_snapshot(data: &[u8], buf: &mut [u8], pos: u64) -> usize {
    let start = (pos as usize).min(data.len());
    let n = buf.len().min(data.len() - start);
    buf[..n].copy_from_slice(&data[start..start + n]);
    n
}

/// A generated file.
struct ProcFile {
    path: String,
    data: Vec<u8>,
}

impl FileOps for ProcFile {
    fn read(&self, buf: &mut [u8], pos: u64, _nonblock: bool) -> Result<usize, Errno> {
        Ok(read_snapshot(&self.data, buf, pos))
    }
    fn stat(&self) -> Stat {
        Stat { dev: 4, ino: 0x4000_0000, mode: mode::S_IFREG | 0o444, nlink: 1, rdev: 0, size: 0, mtime: 0 }
    }
    fn seekable(&self) -> bool {
        true
    }
    fn path(&self) -> Option<String> {
        Some(self.path.clone())
    }
}

/// Whether `/proc` + `rest` may be opened for writing: only
/// `/proc/<pid>/oom_score_adj`.
pub fn writable(rest: &str) -> bool {
    matches!(parse(rest), Some(Node::PidFile(_, "oom_score_adj")))
}

/// `/proc/<pid>/oom_score_adj` (Linux: `oom_score_adj_write`): reads as a
/// snapshot; a write of -1000..=1000 sets the process's value (for
/// mm/oom_kill.rs). Linux asks for CAP_SYS_RESOURCE to lower it; every
/// process here is root.
struct OomScoreAdj {
    path: String,
    pid: Pid,
    data: Vec<u8>,
}

impl FileOps for OomScoreAdj {
    fn read(&self, buf: &mut [u8], pos: u64, _nonblock: bool) -> Result<usize, Errno> {
        Ok(read_snapshot(&self.data, buf, pos))
    }
    fn write(&self, buf: &[u8], _nonblock: bool) -> Result<usize, Errno> {
        use crate::mm::oom_kill::{OOM_SCORE_ADJ_MAX, OOM_SCORE_ADJ_MIN};
        let text = core::str::from_utf8(buf).map_err(|_| Errno::EINVAL)?;
        let adj: i32 = text.trim().parse().map_err(|_| Errno::EINVAL)?;
        if !(OOM_SCORE_ADJ_MIN..=OOM_SCORE_ADJ_MAX).contains(&adj) {
            return Err(Errno::EINVAL);
        }
        let t = process(self.pid).ok_or(Errno::ESRCH)?;
        let signal = t.signal_struct();
        t.put();
        signal.ok_or(Errno::ESRCH)?.oom_score_adj.store(adj, Ordering::Relaxed);
        Ok(buf.len())
    }
    fn stat(&self) -> Stat {
        Stat { dev: 4, ino: 0x4000_0001, mode: mode::S_IFREG | 0o644, nlink: 1, rdev: 0, size: 0, mtime: 0 }
    }
    fn seekable(&self) -> bool {
        true
    }
    fn path(&self) -> Option<String> {
        Some(self.path.clone())
    }
}

/// `/proc` or `/proc/<pid>`.
struct ProcDir {
    path: String,
    pid: Option<Pid>,
}

impl FileOps for ProcDir {
    fn stat(&self) -> Stat {
        let ino = self.pid.map_or(3_000_000, |p| 0x2000_0000 + p as u64);
        Stat { dev: 4, ino, mode: mode::S_IFDIR | 0o555, nlink: 2, rdev: 0, size: 0, mtime: 0 }
    }
    fn read(&self, _buf: &mut [u8], _pos: u64, _nonblock: bool) -> Result<usize, Errno> {
        Err(Errno::EISDIR)
    }
    fn readdir(&self) -> Result<Vec<DirEntry>, Errno> {
        let mut list = Vec::new();
        match self.pid {
            Some(pid) => {
                for (i, name) in PID_FILES.iter().enumerate() {
                    let dtype = if *name == "exe" { dtype::DT_LNK } else { dtype::DT_REG };
                    list.push(DirEntry { ino: 0x3000_0000 + pid as u64 * 8 + i as u64, dtype, name: (*name).into() });
                }
            }
            None => {
                for (i, name) in SYSTEM_FILES.iter().enumerate() {
                    list.push(DirEntry { ino: 0x1000 + i as u64, dtype: dtype::DT_REG, name: (*name).into() });
                }
                list.push(DirEntry { ino: 0x1100, dtype: dtype::DT_LNK, name: "self".into() });
                list.push(DirEntry { ino: 0x1200, dtype: dtype::DT_DIR, name: "sysvipc".into() });
                for_each_process(|t| {
                    if t.pid() != 0 && t.pid() == t.tgid() {
                        list.push(DirEntry {
                            ino: 0x2000_0000 + t.pid() as u64,
                            dtype: dtype::DT_DIR,
                            name: format!("{}", t.pid()),
                        });
                    }
                });
            }
        }
        Ok(list)
    }
    fn seekable(&self) -> bool {
        true
    }
    fn path(&self) -> Option<String> {
        Some(self.path.clone())
    }
}

/// `/proc/sysvipc`.
struct SysvIpcDir {
    path: String,
}

impl FileOps for SysvIpcDir {
    fn stat(&self) -> Stat {
        Stat { dev: 4, ino: 0x1200, mode: mode::S_IFDIR | 0o555, nlink: 2, rdev: 0, size: 0, mtime: 0 }
    }
    fn read(&self, _buf: &mut [u8], _pos: u64, _nonblock: bool) -> Result<usize, Errno> {
        Err(Errno::EISDIR)
    }
    fn readdir(&self) -> Result<Vec<DirEntry>, Errno> {
        Ok(SYSVIPC_FILES
            .iter()
            .enumerate()
            .map(|(i, name)| DirEntry { ino: 0x1210 + i as u64, dtype: dtype::DT_REG, name: (*name).into() })
            .collect())
    }
    fn seekable(&self) -> bool {
        true
    }
    fn path(&self) -> Option<String> {
        Some(self.path.clone())
    }
}

fn ticks(ns: u64) -> u64 {
    ns / NS_PER_TICK
}

fn parent_tgid(t: TaskRef) -> Pid {
    let _guard = crate::sched::task::TASKLIST.lock();
    // Released (or claimed for release): its parent link may be stale.
    if t.exit_state.load(Ordering::Relaxed) & crate::sched::task::exit_state::EXIT_DEAD != 0 {
        return 0;
    }
    // SAFETY: under TASKLIST; the parent outlives the link.
    let parent = unsafe { *t.real_parent.get() };
    if parent.is_null() {
        0
    } else {
        // SAFETY: as above.
        unsafe { (*parent).tgid() }
    }
}

/// Threads in `t`'s group.
fn thread_count(t: TaskRef) -> usize {
    t.signal_struct().map_or(1, |s| s.live.load(Ordering::Relaxed).max(1))
}

/// Linux's `/proc/<pid>/stat` line (fs/proc/array.c, `do_task_stat`).
fn pid_stat(t: TaskRef) -> String {
    let mm = t.mm();
    let (vsize, rss) = mm.as_ref().map_or((0, 0), |m| (m.total_vm(), m.rss.load(Ordering::Relaxed)));
    let (start_stack, arg_start, arg_end, env_start, env_end, start_brk) =
        mm.as_ref().map_or((0, 0, 0, 0, 0, 0), |m| {
            let i = m.lock();
            (i.start_stack, i.arg_start, i.arg_end, i.env_start, i.env_end, i.start_brk)
        });
    let sig = t.signal_struct();
    let (cutime, cstime) =
        sig.as_ref().map_or((0, 0), |s| (s.cutime.load(Ordering::Relaxed), s.cstime.load(Ordering::Relaxed)));
    // The whole process's time, all its threads' (Linux: do_task_stat with
    // whole = 1).
    let (utime, stime) = sig.as_ref().map_or((t.utime_ns(), t.stime_ns()), |s| s.group_times(t));
    let tty_nr = if t.session() != 0 && t.session() == super::tty::session() { super::tty::CONSOLE_RDEV } else { 0 };
    let tpgid = if tty_nr != 0 { super::tty::foreground_pgrp() as i64 } else { -1 };
    let nice = t.nice.load(Ordering::Relaxed);
    let pending = t.pending.signal.load(Ordering::Relaxed);
    let (ignored, caught) = handler_masks(t);
    let exit_code = if t.exit_state.load(Ordering::Relaxed) != 0 { t.exit_code.load(Ordering::Relaxed) } else { 0 };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{pid} ({comm}) {state} {ppid} {pgrp} {session} {tty_nr} {tpgid} {flags} 0 0 0 0 {utime} {stime} {cutime} {cstime} \
         {prio} {nice} {threads} 0 {start} {vsize} {rss} 18446744073709551615 0 0 {start_stack} 0 0 {pending} {blocked} \
         {ignored} {caught} 0 0 0 {exit_signal} {cpu} 0 0 0 0 0 0 0 {start_brk} {arg_start} {arg_end} {env_start} {env_end} \
         {exit_code}",
        pid = t.tgid(),
        comm = t.comm(),
        state = t.state_letter(),
        ppid = parent_tgid(t),
        pgrp = t.pgrp(),
        session = t.session(),
        flags = t.flags.load(Ordering::Relaxed) & 0x7fff_ffff,
        utime = ticks(utime),
        stime = ticks(stime),
        cutime = ticks(cutime),
        cstime = ticks(cstime),
        prio = 20 + nice,
        threads = thread_count(t),
        start = ticks(t.start_time.load(Ordering::Relaxed)),
        blocked = t.blocked.load(Ordering::Relaxed),
        exit_signal = t.exit_signal.load(Ordering::Relaxed).max(0),
        cpu = t.cpu.load(Ordering::Relaxed),
    );
    s
}

/// (ignored, caught) signal masks of `t`'s handler table.
fn handler_masks(t: TaskRef) -> (u64, u64) {
    let Some(h) = t.sighand() else { return (0, 0) };
    let actions = h.action.lock();
    let mut ignored = 0;
    let mut caught = 0;
    for (i, a) in actions.iter().enumerate() {
        match a.handler {
            crate::signal::SIG_DFL => {}
            crate::signal::SIG_IGN => ignored |= 1 << i,
            _ => caught |= 1 << i,
        }
    }
    (ignored, caught)
}

fn state_name(letter: char) -> &'static str {
    match letter {
        'R' => "R (running)",
        'S' => "S (sleeping)",
        'D' => "D (disk sleep)",
        'T' => "T (stopped)",
        't' => "t (tracing stop)",
        'Z' => "Z (zombie)",
        'X' => "X (dead)",
        _ => "I (idle)",
    }
}

/// Linux's `/proc/<pid>/status` (the fields this kernel knows).
fn pid_status(t: TaskRef) -> String {
    let mm = t.mm();
    let kb = |pages: u64| pages * PAGE_SIZE as u64 / 1024;
    let (ignored, caught) = handler_masks(t);
    let shared = t.signal_struct().map_or(0, |s| s.shared_pending.signal.load(Ordering::Relaxed));
    let fds = t.files.lock().as_ref().map_or(0, |f| f.count());
    let mut s = String::new();
    let _ = writeln!(s, "Name:\t{}", t.comm());
    let _ = writeln!(s, "State:\t{}", state_name(t.state_letter()));
    let _ = writeln!(s, "Tgid:\t{}", t.tgid());
    let _ = writeln!(s, "Pid:\t{}", t.tgid());
    let _ = writeln!(s, "PPid:\t{}", parent_tgid(t));
    let _ = writeln!(s, "TracerPid:\t{}", crate::ptrace::tracer_pid(t));
    let _ = writeln!(s, "Uid:\t0\t0\t0\t0");
    let _ = writeln!(s, "Gid:\t0\t0\t0\t0");
    let _ = writeln!(s, "FDSize:\t{}", fds.next_power_of_two().max(64));
    if let Some(m) = &mm {
        let _ = writeln!(s, "VmSize:\t{:8} kB", m.total_vm() / 1024);
        let _ = writeln!(s, "VmRSS:\t{:8} kB", kb(m.rss.load(Ordering::Relaxed)));
    }
    let _ = writeln!(s, "Threads:\t{}", thread_count(t));
    let _ = writeln!(s, "SigPnd:\t{:016x}", t.pending.signal.load(Ordering::Relaxed));
    let _ = writeln!(s, "ShdPnd:\t{shared:016x}");
    let _ = writeln!(s, "SigBlk:\t{:016x}", t.blocked.load(Ordering::Relaxed));
    let _ = writeln!(s, "SigIgn:\t{ignored:016x}");
    let _ = writeln!(s, "SigCgt:\t{caught:016x}");
    let _ = writeln!(s, "Cpus_allowed:\t{:x}", t.cpus_allowed.load(Ordering::Relaxed));
    let _ = writeln!(s, "voluntary_ctxt_switches:\t{}", t.nvcsw.load(Ordering::Relaxed));
    let _ = writeln!(s, "nonvoluntary_ctxt_switches:\t{}", t.nivcsw.load(Ordering::Relaxed));
    s
}

/// The arguments, NUL-separated, read from the process's own memory.
fn pid_cmdline(t: TaskRef) -> Vec<u8> {
    let Some(mm) = t.mm() else { return Vec::new() };
    let (start, end) = {
        let i = mm.lock();
        (i.arg_start, i.arg_end)
    };
    let len = end.saturating_sub(start).min(64 * 1024) as usize;
    let mut out = Vec::with_capacity(len);
    let _ = mm.access(start, len, Access::Read, |p, n| {
        // SAFETY: `p` points to `n` readable bytes of a locked user page.
        out.extend_from_slice(unsafe { core::slice::from_raw_parts(p, n) })
    });
    out
}

fn meminfo() -> String {
    let st = crate::mm::phys::stats();
    let kb = |pages: usize| pages * PAGE_SIZE / 1024;
    let (heap_total, _) = crate::mm::heap::stats();
    let stacks = crate::mm::vmstack::stacks_in_use() * crate::smp::STACK_SIZE / 1024;
    let mut s = String::new();
    let _ = writeln!(s, "MemTotal:       {:8} kB", kb(st.total));
    let _ = writeln!(s, "MemFree:        {:8} kB", kb(st.free));
    let _ = writeln!(s, "MemAvailable:   {:8} kB", kb(st.free));
    let _ = writeln!(s, "Buffers:        {:8} kB", 0);
    let _ = writeln!(s, "Cached:         {:8} kB", 0);
    let _ = writeln!(s, "Slab:           {:8} kB", heap_total / 1024);
    let _ = writeln!(s, "KernelStack:    {:8} kB", stacks);
    s
}

fn slabinfo() -> String {
    format!("{}\n{}\n", crate::mm::slab::slabinfo_header(), crate::fork::TASK_STRUCT_CACHE.stats())
}

fn loadavg() -> String {
    let (a, b, c) = crate::sched::loadavg::get();
    let fmt = |v: u64| format!("{}.{:02}", v >> 11, ((v & 2047) * 100) >> 11);
    let mut running = 0;
    let mut total = 0;
    let mut last = 0;
    for_each_process(|t| {
        if t.pid() != 0 {
            total += 1;
            last = last.max(t.pid());
            if t.state_letter() == 'R' {
                running += 1;
            }
        }
    });
    format!("{} {} {} {running}/{total} {last}\n", fmt(a), fmt(b), fmt(c))
}

fn uptime() -> String {
    let ns = crate::time::uptime_ns();
    let idle: u64 = (0..crate::config::NR_CPUS).map(|c| crate::sched::task::idle_task(c).runtime_ns()).sum();
    format!(
        "{}.{:02} {}.{:02}\n",
        ns / 1_000_000_000,
        ns / 10_000_000 % 100,
        idle / 1_000_000_000,
        idle / 10_000_000 % 100
    )
}
