//! /proc (Linux: fs/proc/): per-process `stat`, `status`, `cmdline`, `comm`,
//! `maps`, `smaps_rollup`, the `exe` link and `task/<tid>/`, and the system
//! files `meminfo`, `stat`, `slabinfo`, `loadavg`, `uptime` and `version`,
//! in Linux's formats so that `ps`, `top`, `vmstat` and friends read them
//! unchanged.
//!
//! A file's text is generated when it is opened and read from that
//! snapshot. `/proc/self` is a symbolic link the path walk follows; the
//! settings of `/proc/sys` are in proc_sys.rs.

use super::file::{dtype, mode, DirEntry, FileOps, Stat};
use super::inode::{Inode, InodeRef, SuperBlock};
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
    /// `/proc/self`, a link to the caller's process.
    SelfLink,
    /// `/proc/<pid>/fd`.
    FdDir(Pid),
    /// `/proc/<pid>/task`: a directory per thread of the process.
    TaskDir(Pid),
    /// `/proc/<pid>/task/<tid>`.
    TidDir(Pid, Pid),
    /// A file of `/proc/<pid>/task/<tid>`.
    TidFile(Pid, Pid, &'static str),
    /// `/proc/<pid>/fd/<n>`: a link to what the descriptor is open on.
    FdLink(Pid, i32),
    /// `/proc/sys` and the directories below it.
    SysDir(&'static str),
    /// A setting in `/proc/sys`.
    Sysctl(&'static super::proc_sys::Sysctl),
}

const PID_FILES: [&str; 12] = [
    "cmdline",
    "comm",
    "environ",
    "exe",
    "maps",
    "oom_score",
    "oom_score_adj",
    "smaps_rollup",
    "stat",
    "statm",
    "status",
    "wchan",
];
const SYSTEM_FILES: [&str; 13] = [
    "config.gz",
    "cpuinfo",
    "diskstats",
    "filesystems",
    "interrupts",
    "loadavg",
    "meminfo",
    "mounts",
    "partitions",
    "slabinfo",
    "stat",
    "uptime",
    "version",
];
/// The files of `/proc/<pid>/task/<tid>`.
const TID_FILES: [&str; 3] = ["comm", "stat", "status"];
/// `/proc/sysvipc`'s files.
const SYSVIPC_FILES: [&str; 3] = ["msg", "sem", "shm"];
/// The inode number of `/proc/sysvipc`.
const SYSVIPC_INO: u64 = 0x1400;

fn parse(rest: &str) -> Option<Node> {
    let mut parts = rest.split('/').filter(|p| !p.is_empty());
    let Some(first) = parts.next() else { return Some(Node::Root) };
    if first == "sys" {
        let below = rest.trim_start_matches('/').trim_start_matches("sys").trim_matches('/');
        if let Some(d) = super::proc_sys::DIRS.iter().find(|d| **d == below) {
            return Some(Node::SysDir(d));
        }
        return super::proc_sys::find(below).map(Node::Sysctl);
    }
    let node = if first == "self" {
        Node::SelfLink
    } else if let Ok(pid) = first.parse::<Pid>() {
        match parts.next() {
            None => Node::PidDir(pid),
            Some("fd") => match parts.next() {
                None => Node::FdDir(pid),
                Some(n) => Node::FdLink(pid, n.parse::<i32>().ok().filter(|&n| n >= 0)?),
            },
            Some("task") => match parts.next() {
                None => Node::TaskDir(pid),
                Some(t) => {
                    let tid = t.parse::<Pid>().ok()?;
                    match parts.next() {
                        None => Node::TidDir(pid, tid),
                        Some(f) => Node::TidFile(pid, tid, TID_FILES.iter().copied().find(|&n| n == f)?),
                    }
                }
            },
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

/// The open file at `fd` of process `pid`.
fn fd_file(pid: Pid, fd: i32) -> Option<Arc<super::file::File>> {
    let t = process(pid)?;
    let files = t.files.lock().clone();
    t.put();
    files?.get(fd).ok()
}

/// The open descriptors of process `pid`.
fn open_fds(pid: Pid) -> Vec<i32> {
    let Some(t) = process(pid) else { return Vec::new() };
    let files = t.files.lock().clone();
    t.put();
    let Some(files) = files else { return Vec::new() };
    let fds = files.fds.lock();
    fds.iter().enumerate().filter(|(_, e)| e.is_some()).map(|(i, _)| i as i32).collect()
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

/// Thread `tid` of process `pid`, alive or a zombie.
fn thread(pid: Pid, tid: Pid) -> Option<TaskRef> {
    let t = find_task_by_pid(tid)?;
    if t.tgid() != pid {
        t.put();
        return None;
    }
    Some(t)
}

/// The thread IDs of process `pid`, in list order.
fn thread_ids(pid: Pid) -> Vec<Pid> {
    let Some(leader) = process(pid) else { return Vec::new() };
    let mut tids = Vec::new();
    crate::signal::for_each_thread(leader, |t| tids.push(t.pid()));
    leader.put();
    tids.sort_unstable();
    tids
}

/// Opens `/proc` + `rest` (`rest` empty or starting with `/`).
fn open(rest: &str) -> Result<Arc<dyn FileOps>, Errno> {
    let node = parse(rest).ok_or(Errno::ENOENT)?;
    let path = format!("/proc{rest}");
    match node {
        Node::Root => Ok(Arc::new(ProcDir { path, pid: None, sys: None })),
        Node::PidDir(pid) => {
            process(pid).ok_or(Errno::ENOENT)?.put();
            Ok(Arc::new(ProcDir { path, pid: Some(pid), sys: None }))
        }
        Node::SysDir(d) => Ok(Arc::new(ProcDir { path, pid: None, sys: Some(d) })),
        Node::FdDir(pid) => {
            process(pid).ok_or(Errno::ENOENT)?.put();
            Ok(Arc::new(ProcDir { path, pid: Some(pid), sys: Some("fd") }))
        }
        Node::FdLink(..) => Err(Errno::ELOOP),
        Node::TaskDir(pid) => {
            process(pid).ok_or(Errno::ENOENT)?.put();
            Ok(Arc::new(TaskDirOps { path, pid, tid: None }))
        }
        Node::TidDir(pid, tid) => {
            thread(pid, tid).ok_or(Errno::ENOENT)?.put();
            Ok(Arc::new(TaskDirOps { path, pid, tid: Some(tid) }))
        }
        Node::TidFile(pid, tid, name) => {
            let t = thread(pid, tid).ok_or(Errno::ENOENT)?;
            let data = match name {
                "stat" => task_stat(t, false).into_bytes(),
                "status" => task_status(t, false).into_bytes(),
                _ => format!("{}\n", t.comm()).into_bytes(),
            };
            t.put();
            Ok(Arc::new(ProcFile { path, data, sysctl: None }))
        }
        Node::PidFile(pid, name) => {
            let t = process(pid).ok_or(Errno::ENOENT)?;
            let data = match name {
                "stat" => task_stat(t, true).into_bytes(),
                "status" => task_status(t, true).into_bytes(),
                "cmdline" => pid_cmdline(t),
                "environ" => pid_environ(t),
                "maps" => pid_maps(t).into_bytes(),
                "smaps_rollup" => pid_smaps_rollup(t).into_bytes(),
                "statm" => pid_statm(t).into_bytes(),
                "comm" => format!("{}\n", t.comm()).into_bytes(),
                // As Linux prints it: the name alone, no newline.
                "wchan" => t.wchan().as_bytes().to_vec(),
                "oom_score" => format!("{}\n", crate::mm::oom_kill::oom_score(t)).into_bytes(),
                "oom_score_adj" => {
                    let adj = t.signal_struct().map_or(0, |s| s.oom_score_adj.load(Ordering::Relaxed));
                    t.put();
                    return Ok(Arc::new(OomScoreAdj { path, pid, data: format!("{adj}\n").into_bytes() }));
                }
                _ => {
                    t.put();
                    return Err(Errno::ELOOP); // exe: a link, see readlink
                }
            };
            t.put();
            Ok(Arc::new(ProcFile { path, data, sysctl: None }))
        }
        Node::SysvIpcDir => Ok(Arc::new(SysvIpcDir { path })),
        Node::SysvIpc(name) => {
            let data = match name {
                "sem" => crate::ipc::sem::proc_show(),
                "shm" => crate::ipc::shm::proc_show(),
                _ => crate::ipc::msg::proc_show(),
            };
            Ok(Arc::new(ProcFile { path, data: data.into_bytes(), sysctl: None }))
        }
        Node::System("config.gz") => {
            let data = crate::configs::config_gz().ok_or(Errno::ENOMEM)?;
            Ok(Arc::new(ProcFile { path, data, sysctl: None }))
        }
        Node::System(name) => {
            let data = match name {
                "meminfo" => meminfo(),
                "slabinfo" => slabinfo(),
                "stat" => proc_stat(),
                "loadavg" => loadavg(),
                "uptime" => uptime(),
                "mounts" => super::namespace::proc_mounts(),
                "cpuinfo" => cpuinfo(),
                "filesystems" => super::namespace::proc_filesystems(),
                "partitions" => crate::block::bdev::proc_partitions(),
                "diskstats" => crate::block::bdev::proc_diskstats(),
                "interrupts" => crate::irq::proc_interrupts(),
                _ => format!("Linux version 6.1.0-rpi4-rust (aarch64) #1 SMP PREEMPT {}\n", env!("CARGO_PKG_VERSION")),
            };
            Ok(Arc::new(ProcFile { path, data: data.into_bytes(), sysctl: None }))
        }
        Node::Sysctl(s) => {
            let data = s.read.map_or(Vec::new(), |read| read().into_bytes());
            Ok(Arc::new(ProcFile { path, data, sysctl: Some(s) }))
        }
        Node::SelfLink => Err(Errno::ELOOP),
    }
}

/// The target of a /proc link (`/proc/self`, `/proc/<pid>/exe`), or
/// EINVAL.
fn readlink(rest: &str) -> Result<String, Errno> {
    match parse(rest) {
        Some(Node::SelfLink) => Ok(format!("{}", crate::sched::task::current().tgid())),
        Some(Node::FdLink(pid, fd)) => {
            let file = fd_file(pid, fd).ok_or(Errno::ENOENT)?;
            let st = file.stat();
            Ok(match file.ops.path() {
                Some(p) => p,
                None if st.mode & mode::S_IFMT == mode::S_IFIFO => format!("pipe:[{}]", st.ino),
                None => format!("anon_inode:[{}]", st.ino),
            })
        }
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

/// The inode number of `/proc/sys` (`dir` empty) or a directory in it:
/// one per entry of the directory table, so no two collide.
fn sys_dir_ino(dir: &str) -> u64 {
    0x1204 + super::proc_sys::DIRS.iter().position(|d| *d == dir).unwrap_or(0) as u64
}

/// The inode number of a setting: by its place in the table.
fn sysctl_ino(s: &super::proc_sys::Sysctl) -> u64 {
    0x1300 + super::proc_sys::SYSCTLS.iter().position(|t| core::ptr::eq(t, s)).unwrap_or(0) as u64
}

/// The super block of /proc (one for every mount of it).
static PROC_SB: SuperBlock = SuperBlock { dev: 4, fs_type: "proc", magic: PROC_SUPER_MAGIC };
/// PROC_SUPER_MAGIC (Linux: magic.h).
const PROC_SUPER_MAGIC: u64 = 0x9fa0;

/// A /proc inode, named by its path below /proc (Linux makes them on
/// lookup too, from the task or the entry table).
pub struct ProcInode {
    /// Empty for the root, else `/`-prefixed.
    rest: String,
}

/// The root of a new /proc mount.
pub fn proc_root() -> InodeRef {
    Arc::new(ProcInode { rest: String::new() })
}

impl Inode for ProcInode {
    fn getattr(&self) -> Stat {
        let (ino, mode, nlink) = match parse(&self.rest) {
            Some(Node::Root) => (1, mode::S_IFDIR | 0o555, 2),
            Some(Node::PidDir(pid)) => (0x2000_0000 + pid as u64, mode::S_IFDIR | 0o555, 2),
            Some(Node::SysDir(d)) => (sys_dir_ino(d), mode::S_IFDIR | 0o555, 2),
            Some(Node::SysvIpcDir) => (SYSVIPC_INO, mode::S_IFDIR | 0o555, 2),
            Some(Node::SelfLink) => (0x1100, mode::S_IFLNK | 0o777, 1),
            Some(Node::FdDir(pid)) => (0x2800_0000 + pid as u64, mode::S_IFDIR | 0o500, 2),
            Some(Node::TaskDir(pid)) => (0x2c00_0000 + pid as u64, mode::S_IFDIR | 0o555, 2),
            Some(Node::TidDir(_, tid)) => (0x6000_0000 + tid as u64, mode::S_IFDIR | 0o555, 2),
            Some(Node::TidFile(_, tid, name)) => {
                let index = TID_FILES.iter().position(|n| *n == name).unwrap_or(0) as u64;
                (0x7000_0000 + tid as u64 * 4 + index, mode::S_IFREG | 0o444, 1)
            }
            Some(Node::FdLink(pid, fd)) => (0x5000_0000 + ((pid as u64) << 12) + fd as u64, mode::S_IFLNK | 0o700, 1),
            Some(Node::PidFile(pid, name)) => {
                // As readdir numbers them.
                let index = PID_FILES.iter().position(|n| *n == name).unwrap_or(0) as u64;
                let kind = match name {
                    "exe" => mode::S_IFLNK | 0o777,
                    "oom_score_adj" => mode::S_IFREG | 0o644,
                    _ => mode::S_IFREG | 0o444,
                };
                (0x3000_0000 + pid as u64 * 16 + index, kind, 1)
            }
            Some(Node::Sysctl(s)) => {
                let perm = match (s.read.is_some(), s.write.is_some()) {
                    (true, true) => 0o644,
                    (true, false) => 0o444,
                    _ => 0o200,
                };
                (sysctl_ino(s), mode::S_IFREG | perm, 1)
            }
            _ => (0x1000 + self.rest.len() as u64, mode::S_IFREG | 0o444, 1),
        };
        let size = if mode & mode::S_IFMT == mode::S_IFLNK { self.readlink().map_or(0, |t| t.len() as i64) } else { 0 };
        Stat { dev: PROC_SB.dev, ino, mode, nlink, size, ..Stat::default() }
    }

    fn super_block(&self) -> &SuperBlock {
        &PROC_SB
    }

    fn lookup(&self, name: &str) -> Result<InodeRef, Errno> {
        match parse(&self.rest) {
            Some(
                Node::Root
                | Node::PidDir(_)
                | Node::SysDir(_)
                | Node::FdDir(_)
                | Node::SysvIpcDir
                | Node::TaskDir(_)
                | Node::TidDir(..),
            ) => {}
            _ => return Err(Errno::ENOTDIR),
        }
        let rest = format!("{}/{name}", self.rest);
        match parse(&rest).ok_or(Errno::ENOENT)? {
            Node::PidDir(pid) | Node::PidFile(pid, _) | Node::FdDir(pid) | Node::TaskDir(pid) => {
                process(pid).ok_or(Errno::ENOENT)?.put()
            }
            Node::TidDir(pid, tid) | Node::TidFile(pid, tid, _) => thread(pid, tid).ok_or(Errno::ENOENT)?.put(),
            Node::FdLink(pid, fd) => {
                fd_file(pid, fd).ok_or(Errno::ENOENT)?;
            }
            _ => {}
        }
        Ok(Arc::new(ProcInode { rest }))
    }

    fn parent(&self) -> Option<InodeRef> {
        let at = self.rest.rfind('/')?;
        Some(Arc::new(ProcInode { rest: String::from(&self.rest[..at]) }))
    }

    fn name_of(&self, child: &InodeRef) -> Option<String> {
        let c = child.as_any().downcast_ref::<ProcInode>()?;
        c.rest.rsplit('/').next().map(String::from)
    }

    fn readlink(&self) -> Result<String, Errno> {
        readlink(&self.rest)
    }

    fn open(self: Arc<Self>, _path: String, open_flags: u32) -> Result<Arc<dyn FileOps>, Errno> {
        let write = open_flags & super::file::flags::O_ACCMODE != super::file::flags::O_RDONLY;
        let read = open_flags & super::file::flags::O_ACCMODE != super::file::flags::O_WRONLY;
        let node = parse(&self.rest);
        // Write-only settings refuse readers, root too (Linux's
        // `proc_sys_permission` checks the mode itself).
        if let Some(Node::Sysctl(s)) = &node {
            if read && s.read.is_none() {
                return Err(Errno::EACCES);
            }
        }
        let takes_writes = match node {
            Some(Node::Sysctl(s)) => s.write.is_some(),
            Some(Node::PidFile(_, name)) => name == "oom_score_adj",
            _ => false,
        };
        if write && !takes_writes {
            return Err(if self.getattr().mode & mode::S_IFMT == mode::S_IFDIR {
                Errno::EISDIR
            } else {
                Errno::EACCES
            });
        }
        open(&self.rest)
    }

    fn as_any_arc(self: Arc<Self>) -> Arc<dyn core::any::Any + Send + Sync> {
        self
    }

    fn as_any(&self) -> &dyn core::any::Any {
        self
    }
}

/// A generated file; a setting of /proc/sys takes writes.
struct ProcFile {
    path: String,
    data: Vec<u8>,
    sysctl: Option<&'static super::proc_sys::Sysctl>,
}

impl FileOps for ProcFile {
    fn read(&self, buf: &mut [u8], pos: u64, _nonblock: bool) -> Result<usize, Errno> {
        Ok(read_snapshot(&self.data, buf, pos))
    }
    /// A write sets the value from the whole buffer (Linux:
    /// `proc_sys_write`, which also reads the number from offset 0).
    fn write_at(&self, buf: &[u8], _pos: u64) -> Result<usize, Errno> {
        let write = self.sysctl.and_then(|s| s.write).ok_or(Errno::EINVAL)?;
        let text = core::str::from_utf8(buf).map_err(|_| Errno::EINVAL)?;
        write(text)?;
        Ok(buf.len())
    }
    fn append(&self, buf: &[u8]) -> Result<(usize, u64), Errno> {
        self.write_at(buf, 0).map(|n| (n, n as u64))
    }
    fn stat(&self) -> Stat {
        Stat { dev: 4, ino: 0x4000_0000, mode: mode::S_IFREG | 0o444, nlink: 1, ..Stat::default() }
    }
    fn seekable(&self) -> bool {
        true
    }
    fn path(&self) -> Option<String> {
        Some(self.path.clone())
    }
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
        Stat { dev: 4, ino: 0x4000_0001, mode: mode::S_IFREG | 0o644, nlink: 1, ..Stat::default() }
    }
    fn seekable(&self) -> bool {
        true
    }
    fn path(&self) -> Option<String> {
        Some(self.path.clone())
    }
}

/// A /proc directory: the root, `/proc/<pid>`, `/proc/<pid>/fd` (`sys`
/// is `fd` then) or one in `/proc/sys`.
struct ProcDir {
    path: String,
    pid: Option<Pid>,
    sys: Option<&'static str>,
}

impl FileOps for ProcDir {
    fn stat(&self) -> Stat {
        let ino = self.pid.map_or(3_000_000, |p| 0x2000_0000 + p as u64);
        Stat { dev: 4, ino, mode: mode::S_IFDIR | 0o555, nlink: 2, ..Stat::default() }
    }
    fn read(&self, _buf: &mut [u8], _pos: u64, _nonblock: bool) -> Result<usize, Errno> {
        Err(Errno::EISDIR)
    }
    fn readdir(&self) -> Result<Vec<DirEntry>, Errno> {
        let mut list = Vec::new();
        if let (Some("fd"), Some(pid)) = (self.sys, self.pid) {
            for fd in open_fds(pid) {
                let ino = 0x5000_0000 + ((pid as u64) << 12) + fd as u64;
                list.push(DirEntry { ino, dtype: dtype::DT_LNK, name: format!("{fd}") });
            }
            return Ok(list);
        }
        if let Some(dir) = self.sys {
            if dir.is_empty() {
                for d in super::proc_sys::DIRS.iter().filter(|d| !d.is_empty()) {
                    list.push(DirEntry { ino: sys_dir_ino(d), dtype: dtype::DT_DIR, name: (*d).into() });
                }
            }
            for s in super::proc_sys::SYSCTLS {
                if let Some(name) = s.path.strip_prefix(dir).and_then(|r| r.strip_prefix('/')) {
                    list.push(DirEntry { ino: sysctl_ino(s), dtype: dtype::DT_REG, name: name.into() });
                }
            }
            return Ok(list);
        }
        match self.pid {
            Some(pid) => {
                for (i, name) in PID_FILES.iter().enumerate() {
                    let dtype = if *name == "exe" { dtype::DT_LNK } else { dtype::DT_REG };
                    list.push(DirEntry { ino: 0x3000_0000 + pid as u64 * 16 + i as u64, dtype, name: (*name).into() });
                }
                list.push(DirEntry { ino: 0x2800_0000 + pid as u64, dtype: dtype::DT_DIR, name: "fd".into() });
                list.push(DirEntry { ino: 0x2c00_0000 + pid as u64, dtype: dtype::DT_DIR, name: "task".into() });
            }
            None => {
                for (i, name) in SYSTEM_FILES.iter().enumerate() {
                    list.push(DirEntry { ino: 0x1000 + i as u64, dtype: dtype::DT_REG, name: (*name).into() });
                }
                list.push(DirEntry { ino: 0x1100, dtype: dtype::DT_LNK, name: "self".into() });
                list.push(DirEntry { ino: SYSVIPC_INO, dtype: dtype::DT_DIR, name: "sysvipc".into() });
                list.push(DirEntry { ino: sys_dir_ino(""), dtype: dtype::DT_DIR, name: "sys".into() });
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
    /// The root lists its own files first, then the processes by PID, each
    /// at position FIRST_PROCESS_ENTRY + PID (Linux: `proc_pid_readdir`'s
    /// TGID_OFFSET), so a listing read in pieces while processes come and
    /// go resumes after the last PID it gave: none twice, none that lived
    /// throughout left out.
    fn readdir_positioned(&self) -> Option<Result<Vec<(u64, DirEntry)>, Errno>> {
        const FIRST_PROCESS_ENTRY: u64 = 256;
        if self.pid.is_some() || self.sys.is_some() {
            return None;
        }
        Some(self.readdir().map(|entries| {
            let (mut pids, mut fixed): (Vec<_>, Vec<_>) =
                entries.into_iter().partition(|e| e.name.parse::<u64>().is_ok());
            fixed.sort_by(|a, b| a.name.cmp(&b.name));
            let fixed = fixed.into_iter().enumerate().map(|(i, e)| (2 + i as u64, e));
            let base = FIRST_PROCESS_ENTRY.max(2 + fixed.len() as u64);
            pids.sort_by_key(|e| e.name.parse::<u64>().unwrap_or(0));
            fixed.chain(pids.into_iter().map(|e| (base + e.name.parse::<u64>().unwrap_or(0), e))).collect()
        }))
    }
    fn seekable(&self) -> bool {
        true
    }
    fn path(&self) -> Option<String> {
        Some(self.path.clone())
    }
}

/// `/proc/<pid>/task` (a directory per thread, `tid` None) and
/// `/proc/<pid>/task/<tid>` (its files).
struct TaskDirOps {
    path: String,
    pid: Pid,
    tid: Option<Pid>,
}

impl FileOps for TaskDirOps {
    fn stat(&self) -> Stat {
        let ino = self.tid.map_or(0x2c00_0000 + self.pid as u64, |tid| 0x6000_0000 + tid as u64);
        Stat { dev: 4, ino, mode: mode::S_IFDIR | 0o555, nlink: 2, ..Stat::default() }
    }
    fn read(&self, _buf: &mut [u8], _pos: u64, _nonblock: bool) -> Result<usize, Errno> {
        Err(Errno::EISDIR)
    }
    fn readdir(&self) -> Result<Vec<DirEntry>, Errno> {
        Ok(match self.tid {
            None => thread_ids(self.pid)
                .into_iter()
                .map(|tid| DirEntry { ino: 0x6000_0000 + tid as u64, dtype: dtype::DT_DIR, name: format!("{tid}") })
                .collect(),
            Some(tid) => TID_FILES
                .iter()
                .enumerate()
                .map(|(i, name)| DirEntry {
                    ino: 0x7000_0000 + tid as u64 * 4 + i as u64,
                    dtype: dtype::DT_REG,
                    name: (*name).into(),
                })
                .collect(),
        })
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
        Stat { dev: 4, ino: SYSVIPC_INO, mode: mode::S_IFDIR | 0o555, nlink: 2, ..Stat::default() }
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

/// Linux's `/proc/<pid>/stat` line (fs/proc/array.c, `do_task_stat`):
/// for the process (`whole`: its ID, all its threads' times) or for one
/// thread (`/proc/<pid>/task/<tid>/stat`: the thread's ID and times).
fn task_stat(t: TaskRef, whole: bool) -> String {
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
    // whole = 1), or the thread's own.
    let (utime, stime) = match &sig {
        Some(s) if whole => s.group_times(t),
        _ => (t.utime_ns(), t.stime_ns()),
    };
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
        pid = if whole { t.tgid() } else { t.pid() },
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
    let actions = h.action();
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
/// `/proc/<pid>/status`, or `/proc/<pid>/task/<tid>/status` (`whole`
/// false: the thread's own ID in `Pid`).
fn task_status(t: TaskRef, whole: bool) -> String {
    let mm = t.mm();
    let kb = |pages: u64| pages * PAGE_SIZE as u64 / 1024;
    let (ignored, caught) = handler_masks(t);
    let shared = t.signal_struct().map_or(0, |s| s.shared_pending.signal.load(Ordering::Relaxed));
    let fds = t.files.lock().as_ref().map_or(0, |f| f.count());
    let mut s = String::new();
    let _ = writeln!(s, "Name:\t{}", t.comm());
    let _ = writeln!(s, "State:\t{}", state_name(t.state_letter()));
    let _ = writeln!(s, "Tgid:\t{}", t.tgid());
    let _ = writeln!(s, "Pid:\t{}", if whole { t.tgid() } else { t.pid() });
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
    // Signals queued for the user (everyone is root: all of them) and the
    // process's RLIMIT_SIGPENDING (Linux: task_sig's SigQ).
    let sigq_limit = t.signal_struct().map_or(0, |g| g.rlimit(crate::signal::RLIMIT_SIGPENDING));
    let _ = writeln!(s, "SigQ:\t{}/{}", crate::signal::queued_signals(), sigq_limit);
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
    user_strings(t, |i| (i.arg_start, i.arg_end))
}

/// `/proc/<pid>/environ`: the environment strings, NUL-separated.
fn pid_environ(t: TaskRef) -> Vec<u8> {
    user_strings(t, |i| (i.env_start, i.env_end))
}

/// `/proc/<pid>/maps` (Linux: `show_map_vma`): one line per VMA; file
/// mappings show their offset; the program's areas are named by its path,
/// other file mappings by nothing, as a mapping does not keep its file's
/// name here.
fn pid_maps(t: TaskRef) -> String {
    use crate::mm::vma::{prot, VmaKind};
    let Some(mm) = t.mm() else { return String::new() };
    let inner = mm.lock();
    let mut s = String::new();
    for v in inner.vmas.iter() {
        let bit = |b: u8, c: char| if v.prot & b != 0 { c } else { '-' };
        let shared = if matches!(v.kind, VmaKind::Shared { .. }) { 's' } else { 'p' };
        let offset = v.kind.file_page(v.start).map_or(0, |(_, page)| page * PAGE_SIZE as u64);
        let name = match v.kind {
            VmaKind::Image => inner.exe.as_str(),
            VmaKind::PrivateFile { object, .. } if object == inner.exe_object => inner.exe.as_str(),
            VmaKind::Heap => "[heap]",
            VmaKind::Stack => "[stack]",
            VmaKind::Special => "[sigpage]",
            _ => "",
        };
        let line = format!(
            "{:08x}-{:08x} {}{}{}{} {:08x} 00:00 0",
            v.start,
            v.end,
            bit(prot::READ, 'r'),
            bit(prot::WRITE, 'w'),
            bit(prot::EXEC, 'x'),
            shared,
            offset
        );
        if name.is_empty() {
            let _ = writeln!(s, "{line}");
        } else {
            let _ = writeln!(s, "{line:<72} {name}");
        }
    }
    s
}

/// The page counts of `/proc/<pid>/smaps_rollup`, in bytes; the `pss`
/// figures are scaled by [`PSS_SHIFT`] (Linux: `struct mem_size_stats`).
#[derive(Default)]
struct MemSizeStats {
    resident: u64,
    shared_clean: u64,
    shared_dirty: u64,
    private_clean: u64,
    private_dirty: u64,
    anonymous: u64,
    pss: u64,
    pss_dirty: u64,
    pss_anon: u64,
    pss_file: u64,
    pss_shmem: u64,
}

/// Fixed-point shift of the proportional set size sums (Linux: PSS_SHIFT).
const PSS_SHIFT: u32 = 12;

/// `/proc/<pid>/smaps_rollup` (Linux: `show_smaps_rollup`): the pages
/// mapped in the whole address space, each counted as Linux's
/// `smaps_account` does: shared when more than one address space maps it,
/// its proportional share (Pss) its size over the number of mappers.
///
/// Departures from Linux: the number of mappers is the page's reference
/// count, less the page cache's own reference for a file's page (Linux
/// keeps a separate map count); there are no hardware dirty bits, so an
/// anonymous page counts as dirty (as a written one would in Linux), a
/// file page mapped privately as clean (it is never written through such
/// a mapping) and a shared file page as dirty when mapped writable. The
/// signal-return page, the kernel's, is not counted (as Linux leaves out
/// a VM_PFNMAP page).
fn pid_smaps_rollup(t: TaskRef) -> String {
    use crate::mm::mm_struct::MmInner;
    use crate::mm::pgtable::pte;
    use crate::mm::vma::{Vma, VmaKind};
    let Some(mm) = t.mm() else { return String::new() };
    let page = PAGE_SIZE as u64;
    let mut mss = MemSizeStats::default();
    let (mut first, mut last) = (None, 0);
    {
        let inner = mm.lock();
        for v in inner.vmas.iter() {
            first.get_or_insert(v.start);
            last = v.end;
        }
    }
    mm.for_each_mapped_page(|inner: &MmInner, v: &Vma, va: u64, entry: u64| {
        if v.kind == VmaKind::Special {
            return;
        }
        let pa = pte::addr(entry);
        let cached = v
            .kind
            .file_page(va)
            .and_then(|(object, index)| inner.mappings.get(&object)?.find_page(index))
            .is_some_and(|p| p == pa);
        let count = crate::mm::page::page_count(pa) as u64;
        let mapcount = if cached { count.saturating_sub(1) } else { count }.max(1);
        let shmem = cached && matches!(v.kind, VmaKind::Shared { .. });
        let dirty = !cached || shmem && pte::writable(entry);
        let pss = (page << PSS_SHIFT) / mapcount;
        mss.resident += page;
        mss.pss += pss;
        if dirty {
            mss.pss_dirty += pss;
        }
        if !cached {
            mss.anonymous += page;
            mss.pss_anon += pss;
        } else if shmem {
            mss.pss_shmem += pss;
        } else {
            mss.pss_file += pss;
        }
        match (mapcount > 1, dirty) {
            (true, false) => mss.shared_clean += page,
            (true, true) => mss.shared_dirty += page,
            (false, false) => mss.private_clean += page,
            (false, true) => mss.private_dirty += page,
        }
    });
    let header = format!("{:08x}-{:08x} ---p 00000000 00:00 0", first.unwrap_or(0), last);
    let mut s = format!("{header:<72} [rollup]\n");
    let kb = |bytes: u64| bytes >> 10;
    let pss_kb = |pss: u64| pss >> (10 + PSS_SHIFT);
    for (name, value) in [
        ("Rss:", kb(mss.resident)),
        ("Pss:", pss_kb(mss.pss)),
        ("Pss_Dirty:", pss_kb(mss.pss_dirty)),
        ("Pss_Anon:", pss_kb(mss.pss_anon)),
        ("Pss_File:", pss_kb(mss.pss_file)),
        ("Pss_Shmem:", pss_kb(mss.pss_shmem)),
        ("Shared_Clean:", kb(mss.shared_clean)),
        ("Shared_Dirty:", kb(mss.shared_dirty)),
        ("Private_Clean:", kb(mss.private_clean)),
        ("Private_Dirty:", kb(mss.private_dirty)),
        ("Referenced:", kb(mss.resident)),
        ("Anonymous:", kb(mss.anonymous)),
        ("LazyFree:", 0),
        ("AnonHugePages:", 0),
        ("ShmemPmdMapped:", 0),
        ("FilePmdMapped:", 0),
        ("Shared_Hugetlb:", 0),
        ("Private_Hugetlb:", 0),
        ("Swap:", 0),
        ("SwapPss:", 0),
        ("Locked:", 0),
    ] {
        let _ = writeln!(s, "{name:<16}{value:>8} kB");
    }
    s
}

/// `/proc/<pid>/statm`: size, resident, shared, text, lib, data, dt in
/// pages (shared, lib and dt are not counted: 0).
fn pid_statm(t: TaskRef) -> String {
    use crate::mm::vma::VmaKind;
    let Some(mm) = t.mm() else { return String::from("0 0 0 0 0 0 0\n") };
    let page = PAGE_SIZE as u64;
    let (size, text, data) = {
        let inner = mm.lock();
        let mut size = 0;
        let mut text = 0;
        let mut data = 0;
        for v in inner.vmas.iter() {
            size += v.len() / page;
            match v.kind {
                VmaKind::PrivateFile { object, .. }
                    if object == inner.exe_object && v.prot & crate::mm::vma::prot::EXEC != 0 =>
                {
                    text += v.len() / page
                }
                VmaKind::Image if v.prot & crate::mm::vma::prot::EXEC != 0 => text += v.len() / page,
                VmaKind::Image | VmaKind::Heap | VmaKind::Stack | VmaKind::Anonymous => data += v.len() / page,
                _ => {}
            }
        }
        (size, text, data)
    };
    format!("{size} {} 0 {text} 0 {data} 0\n", mm.rss.load(Ordering::Relaxed))
}

/// `/proc/cpuinfo` as Linux prints it on arm64: one block per online
/// core (Cortex-A72: implementer 0x41, part 0xd08, r0p3); BogoMIPS from
/// the timer frequency, as Linux computes it; the features are the
/// HWCAPs execve reports.
fn cpuinfo() -> String {
    let rate = crate::time::frequency();
    let mut s = String::new();
    for cpu in 0..crate::smp::online_count() {
        let _ = write!(
            s,
            "processor\t: {cpu}\nBogoMIPS\t: {}.{:02}\nFeatures\t: fp asimd\nCPU implementer\t: 0x41\n\
             CPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n",
            rate / 500_000,
            (rate / 5_000) % 100
        );
    }
    s
}

/// The bytes of the task's user memory between the addresses `range`
/// picks (argument or environment strings), at most 64 KiB.
fn user_strings(t: TaskRef, range: impl FnOnce(&crate::mm::mm_struct::MmInner) -> (u64, u64)) -> Vec<u8> {
    let Some(mm) = t.mm() else { return Vec::new() };
    let (start, end) = range(&mm.lock());
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
    // The disks' buffer caches (Linux counts a block device's page cache).
    let _ = writeln!(s, "Buffers:        {:8} kB", crate::block::bdev::buffers_bytes() / 1024);
    // tmpfs pages are in the page cache and counted as Shmem, as Linux
    // counts them.
    let shmem = super::tmpfs::shmem_pages();
    let _ = writeln!(s, "Cached:         {:8} kB", kb(shmem));
    let _ = writeln!(s, "Slab:           {:8} kB", heap_total / 1024);
    let _ = writeln!(s, "KernelStack:    {:8} kB", stacks);
    let _ = writeln!(s, "Shmem:          {:8} kB", kb(shmem));
    // Linux's order: the overcommit figures come after the others.
    let _ = writeln!(s, "CommitLimit:    {:8} kB", kb(crate::mm::overcommit::commit_limit_pages() as usize));
    let _ = writeln!(s, "Committed_AS:   {:8} kB", kb(crate::mm::overcommit::committed_pages() as usize));
    s
}

/// `/proc/slabinfo` in Linux's version 2.1 format (mm/slab_common.c
/// `slab_show`): every slab cache, the task_struct cache and the kmalloc
/// caches of the kernel heap. The tunables are 0, as SLUB prints them;
/// objects in the per-CPU magazines count as active, as Linux's per-CPU
/// slabs do.
fn slabinfo() -> String {
    let mut s = String::from(
        "slabinfo - version: 2.1\n# name            <active_objs> <num_objs> <objsize> <objperslab> \
         <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> \
         <sharedavail>\n",
    );
    let caches = core::iter::once(&crate::fork::TASK_STRUCT_CACHE).chain(crate::mm::heap::KMALLOC.iter());
    for cache in caches {
        let st = cache.stats();
        let _ = writeln!(
            s,
            "{:<17} {:>6} {:>6} {:>6} {:>4} {:>4} : tunables {:>4} {:>4} {:>4} : slabdata {:>6} {:>6} {:>6}",
            st.name,
            st.active_objs + st.cached_objs,
            st.num_objs,
            st.object_size,
            st.objs_per_slab,
            st.pages_per_slab,
            0,
            0,
            0,
            st.num_slabs - st.free_slabs,
            st.num_slabs,
            0
        );
    }
    s
}

/// `/proc/stat` (Linux: fs/proc/stat.c `show_stat`): the time of all CPUs
/// and of each, in USER_HZ ticks (user, nice, system, idle, iowait, irq,
/// softirq, steal, guest, guest_nice: sched/cputime.rs says which are
/// kept), then interrupts, context switches, boot time, forks, and the
/// tasks running and blocked, as `top` and `vmstat` read them.
///
/// Departure from Linux: `intr` gives the total only, without the count
/// of each interrupt number, which is not kept; `softirq` is not printed.
fn proc_stat() -> String {
    use crate::sched::cputime::{kcpustat_cpu, CpuTimes};
    let online = crate::smp::online_count();
    let tick = |ns: u64| ns / NS_PER_TICK;
    let line = |name: &str, t: &CpuTimes| {
        format!("{name} {} {} {} {} 0 0 0 0 0 0\n", tick(t.user), tick(t.nice), tick(t.system), tick(t.idle))
    };
    let cpus: Vec<CpuTimes> = (0..online).map(kcpustat_cpu).collect();
    // The total is summed in ticks, as Linux sums per-CPU counters: the
    // cpu line then equals the sum of the cpuN lines.
    let mut s = format!(
        "cpu  {} {} {} {} 0 0 0 0 0 0\n",
        cpus.iter().map(|t| tick(t.user)).sum::<u64>(),
        cpus.iter().map(|t| tick(t.nice)).sum::<u64>(),
        cpus.iter().map(|t| tick(t.system)).sum::<u64>(),
        cpus.iter().map(|t| tick(t.idle)).sum::<u64>()
    );
    for (i, t) in cpus.iter().enumerate() {
        s.push_str(&line(&format!("cpu{i}"), t));
    }
    let irqs: u64 = crate::smp::CPUS.iter().map(|c| c.irqs.load(Ordering::Relaxed)).sum();
    let ctxt: u64 = (0..crate::config::NR_CPUS).map(|c| crate::sched::core::rq_stats(c).nr_switches).sum();
    let running: usize = (0..crate::config::NR_CPUS).map(|c| crate::sched::core::rq_stats(c).nr_running).sum();
    let mut blocked = 0;
    for_each_process(|t| {
        if t.state_letter() == 'D' {
            blocked += 1;
        }
    });
    let btime = crate::timekeeping::realtime_at(0) / 1_000_000_000;
    let forks = crate::fork::TOTAL_FORKS.load(Ordering::Relaxed);
    let _ = write!(
        s,
        "intr {irqs}\nctxt {ctxt}\nbtime {btime}\nprocesses {forks}\nprocs_running {}\nprocs_blocked {blocked}\n",
        running.max(1)
    );
    s
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
