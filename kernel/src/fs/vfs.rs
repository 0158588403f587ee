//! The file namespace (Linux: fs/namei.c, fs/open.c, reduced): one tree made
//! of the read-only initramfs with `/proc` and `/dev` mounted on it.
//!
//! - `/dev/null`, `/dev/zero`, `/dev/console` and `/dev/tty` (both the
//!   console terminal);
//! - `/proc` (procfs.rs), with `/proc/self` standing for the caller's PID;
//! - `/sys`, holding `/sys/kernel/tracing` (trace/tracefs.rs);
//! - everything else from the initramfs (ramfs.rs), which refuses writes
//!   with EROFS.

use super::file::{dtype, flags, mode, DirEntry, FileOps, Stat};
use super::path;
use super::{procfs, ramfs, tty};
use crate::errno::Errno;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// `dirfd` meaning the current directory.
pub const AT_FDCWD: i32 = -100;

/// Resolves `/proc/self` in a normalised path.
fn resolve_self(p: String) -> String {
    if p == "/proc/self" || p.starts_with("/proc/self/") {
        let pid = crate::sched::task::current().tgid();
        return format!("/proc/{pid}{}", &p["/proc/self".len()..]);
    }
    p
}

/// The normalised absolute path of `name` seen from `base` (a directory).
/// Every directory walked through must exist and be one (ENOENT,
/// ENOTDIR), as in Linux's walk.
pub fn absolute(base: &str, name: &str) -> Result<String, Errno> {
    path::normalize_with(base, name, &mut check_dir).map(resolve_self)
}

/// Whether the normalised path `p` is a directory to walk through (Ok,
/// ENOENT, ENOTDIR); cheap: nothing is opened or generated.
fn check_dir(p: &str) -> Result<(), Errno> {
    if p == "/proc/self" || p.starts_with("/proc/self/") {
        return check_dir(&resolve_self(String::from(p)));
    }
    if p == "/proc" || p.starts_with("/proc/") {
        return procfs::check_dir(&p["/proc".len()..]);
    }
    if p == "/sys" || p.starts_with("/sys/") {
        return crate::trace::tracefs::check_dir(&p["/sys".len()..]);
    }
    if p == "/dev" {
        return Ok(());
    }
    if p.starts_with("/dev/") {
        return Err(if open(p, flags::O_RDONLY).is_ok() { Errno::ENOTDIR } else { Errno::ENOENT });
    }
    match ramfs::lookup(p) {
        Some(node) if node.is_dir() => Ok(()),
        Some(_) => Err(Errno::ENOTDIR),
        None => Err(Errno::ENOENT),
    }
}

/// Opens a normalised path (Linux: `do_filp_open`).
pub fn open(p: &str, open_flags: u32) -> Result<Arc<dyn FileOps>, Errno> {
    let write = open_flags & flags::O_ACCMODE != flags::O_RDONLY;
    let creat = open_flags & flags::O_CREAT != 0;
    let ops: Arc<dyn FileOps> = if p == "/proc" || p.starts_with("/proc/") {
        if creat || (write && !procfs::writable(&p["/proc".len()..])) {
            return Err(if exists(p) { Errno::EACCES } else { Errno::ENOENT });
        }
        procfs::open(&p["/proc".len()..])?
    } else if p == "/sys" || p.starts_with("/sys/") {
        // sysfs holds only the trace directory (trace/tracefs.rs).
        crate::trace::tracefs::open(&p["/sys".len()..], write)?
    } else if p == "/dev" || p.starts_with("/dev/") {
        match &p[4..] {
            "" => Arc::new(DevDir),
            "/null" => Arc::new(Null),
            "/zero" => Arc::new(Zero),
            "/console" | "/tty" => tty::open(),
            _ => return Err(if creat { Errno::EROFS } else { Errno::ENOENT }),
        }
    } else {
        match ramfs::lookup(p) {
            Some(node) => {
                if write {
                    return Err(if node.is_dir() { Errno::EISDIR } else { Errno::EROFS });
                }
                if creat && open_flags & flags::O_EXCL != 0 {
                    return Err(Errno::EEXIST);
                }
                ramfs::RamFile::open(String::from(p), node)
            }
            None if creat => return Err(Errno::EROFS),
            None => return Err(Errno::ENOENT),
        }
    };
    if open_flags & flags::O_DIRECTORY != 0 && ops.stat().mode & mode::S_IFMT != mode::S_IFDIR {
        return Err(Errno::ENOTDIR);
    }
    Ok(ops)
}

/// Whether something exists at the normalised path.
pub fn exists(p: &str) -> bool {
    open(p, flags::O_RDONLY).is_ok() || readlink(p).is_ok()
}

/// `stat` of a normalised path.
pub fn stat(p: &str) -> Result<Stat, Errno> {
    if let Ok(target) = readlink(p) {
        return Ok(Stat {
            dev: 4,
            ino: 0x5000_0000,
            mode: mode::S_IFLNK | 0o777,
            nlink: 1,
            rdev: 0,
            size: target.len() as i64,
            mtime: 0,
        });
    }
    open(p, flags::O_RDONLY).map(|f| f.stat())
}

/// The target of a symbolic link (only /proc has them).
pub fn readlink(p: &str) -> Result<String, Errno> {
    if let Some(rest) = p.strip_prefix("/proc") {
        return procfs::readlink(rest);
    }
    if ramfs::lookup(p).is_some() || p.starts_with("/dev") {
        return Err(Errno::EINVAL);
    }
    Err(Errno::ENOENT)
}

/// `/dev`.
struct DevDir;

impl FileOps for DevDir {
    fn stat(&self) -> Stat {
        Stat { dev: 2, ino: 2_000_000, mode: mode::S_IFDIR | 0o755, nlink: 2, rdev: 0, size: 0, mtime: 0 }
    }
    fn read(&self, _buf: &mut [u8], _pos: u64, _nonblock: bool) -> Result<usize, Errno> {
        Err(Errno::EISDIR)
    }
    fn readdir(&self) -> Result<Vec<DirEntry>, Errno> {
        Ok(["console", "null", "tty", "zero"]
            .iter()
            .enumerate()
            .map(|(i, n)| DirEntry { ino: 2_000_001 + i as u64, dtype: dtype::DT_CHR, name: String::from(*n) })
            .collect())
    }
    fn seekable(&self) -> bool {
        true
    }
    fn path(&self) -> Option<String> {
        Some(String::from("/dev"))
    }
}

/// `/dev/null` (1:3): reads end at once, writes vanish.
struct Null;

impl FileOps for Null {
    fn read(&self, _buf: &mut [u8], _pos: u64, _nonblock: bool) -> Result<usize, Errno> {
        Ok(0)
    }
    fn write(&self, buf: &[u8], _nonblock: bool) -> Result<usize, Errno> {
        Ok(buf.len())
    }
    fn stat(&self) -> Stat {
        Stat { dev: 2, ino: 2_000_002, mode: mode::S_IFCHR | 0o666, nlink: 1, rdev: (1 << 8) | 3, size: 0, mtime: 0 }
    }
    fn path(&self) -> Option<String> {
        Some(String::from("/dev/null"))
    }
}

/// `/dev/zero` (1:5).
struct Zero;

impl FileOps for Zero {
    fn read(&self, buf: &mut [u8], _pos: u64, _nonblock: bool) -> Result<usize, Errno> {
        buf.fill(0);
        Ok(buf.len())
    }
    fn write(&self, buf: &[u8], _nonblock: bool) -> Result<usize, Errno> {
        Ok(buf.len())
    }
    fn stat(&self) -> Stat {
        Stat { dev: 2, ino: 2_000_004, mode: mode::S_IFCHR | 0o666, nlink: 1, rdev: (1 << 8) | 5, size: 0, mtime: 0 }
    }
    fn path(&self) -> Option<String> {
        Some(String::from("/dev/zero"))
    }
}
