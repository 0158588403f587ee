//! Files and directories: open, stat, getdents64, getcwd, chdir, and the calls that change the
//! tree (mkdir, unlink, rename, link, symlink, chmod, utimensat) or the mounts (mount, umount, statfs).

use crate::cstr::to_c;
use crate::sys::{self, check, syscall3, syscall4, syscall6};
use crate::{Errno, Result};
use alloc::vec::Vec;

/// `dirfd` meaning "relative to the current directory".
pub const AT_FDCWD: i32 = -100;
/// Do not follow a final symbolic link (`newfstatat`).
pub const AT_SYMLINK_NOFOLLOW: u32 = 0x100;

pub const O_RDONLY: u32 = 0;
pub const O_WRONLY: u32 = 1;
pub const O_RDWR: u32 = 2;
pub const O_CREAT: u32 = 0o100;
pub const O_EXCL: u32 = 0o200;
pub const O_NOCTTY: u32 = 0o400;
pub const O_TRUNC: u32 = 0o1000;
pub const O_APPEND: u32 = 0o2000;
pub const O_NONBLOCK: u32 = 0o4000;
/// aarch64 value (differs from x86).
pub const O_DIRECTORY: u32 = 0o40000;
pub const O_CLOEXEC: u32 = 0o2000000;

/// File type bits of `st_mode`.
pub const S_IFMT: u32 = 0o170000;
pub const S_IFSOCK: u32 = 0o140000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFBLK: u32 = 0o060000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFIFO: u32 = 0o010000;

/// Opens `path` relative to the current directory.
pub fn open(path: &[u8], flags: u32, mode: u32) -> Result<i32> {
    let c = to_c(path)?;
    // SAFETY: `c` is a NUL-terminated path that outlives the call.
    check(unsafe { syscall4(sys::OPENAT, AT_FDCWD as usize, c.as_ptr() as usize, flags as usize, mode as usize) })
        .map(|fd| fd as i32)
}

/// `struct stat` as the generic (aarch64) Linux ABI lays it out: 128 bytes.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub mode: u32,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pad1: u64,
    pub size: i64,
    pub blksize: i32,
    pad2: i32,
    pub blocks: i64,
    pub atime: i64,
    pub atime_nsec: u64,
    pub mtime: i64,
    pub mtime_nsec: u64,
    pub ctime: i64,
    pub ctime_nsec: u64,
    unused: [u32; 2],
}

const _: () = assert!(core::mem::size_of::<Stat>() == 128);

impl Stat {
    /// The `S_IF*` type bits.
    pub fn file_type(&self) -> u32 {
        self.mode & S_IFMT
    }

    /// True for a directory.
    pub fn is_dir(&self) -> bool {
        self.file_type() == S_IFDIR
    }
}

/// `newfstatat(AT_FDCWD, path, flags)`; `flags` may be [`AT_SYMLINK_NOFOLLOW`].
pub fn stat_at(path: &[u8], flags: u32) -> Result<Stat> {
    let c = to_c(path)?;
    let mut st = Stat::default();
    // SAFETY: `c` is NUL-terminated; the kernel writes one `struct stat` (128 bytes) into `st`.
    check(unsafe {
        syscall4(sys::NEWFSTATAT, AT_FDCWD as usize, c.as_ptr() as usize, &mut st as *mut Stat as usize, flags as usize)
    })?;
    Ok(st)
}

/// `stat(2)`: follows symbolic links.
pub fn stat(path: &[u8]) -> Result<Stat> {
    stat_at(path, 0)
}

/// `lstat(2)`: does not follow a final symbolic link.
pub fn lstat(path: &[u8]) -> Result<Stat> {
    stat_at(path, AT_SYMLINK_NOFOLLOW)
}

/// `fstat(2)`.
pub fn fstat(fd: i32) -> Result<Stat> {
    let mut st = Stat::default();
    // SAFETY: the kernel writes one `struct stat` into `st`.
    check(unsafe { syscall3(sys::FSTAT, fd as usize, &mut st as *mut Stat as usize, 0) })?;
    Ok(st)
}

/// One directory entry.
#[derive(Clone, Debug)]
pub struct DirEntry {
    pub ino: u64,
    /// `DT_*` type (0 = unknown).
    pub kind: u8,
    pub name: Vec<u8>,
}

/// `DT_*` values of [`DirEntry::kind`].
pub const DT_DIR: u8 = 4;
pub const DT_REG: u8 = 8;
pub const DT_LNK: u8 = 10;

/// One `getdents64` call: fills `buf` with `struct linux_dirent64` records; returns the bytes used.
pub fn getdents64(fd: i32, buf: &mut [u8]) -> Result<usize> {
    // SAFETY: the kernel writes at most buf.len() bytes into the exclusively borrowed buffer.
    check(unsafe { syscall3(sys::GETDENTS64, fd as usize, buf.as_mut_ptr() as usize, buf.len()) })
}

/// Decodes the records `getdents64` put in `buf[..len]`, appending them to `out`.
/// Stops at a malformed record (reclen too small or past the end) instead of reading out of bounds.
pub fn parse_dirents(buf: &[u8], out: &mut Vec<DirEntry>) {
    // struct linux_dirent64 { u64 d_ino; i64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
    let mut off = 0;
    while off + 19 <= buf.len() {
        let rec = &buf[off..];
        let reclen = u16::from_ne_bytes([rec[16], rec[17]]) as usize;
        if reclen < 19 || reclen > rec.len() {
            break;
        }
        let ino = u64::from_ne_bytes(rec[..8].try_into().unwrap_or([0; 8]));
        let name_area = &rec[19..reclen];
        let name_len = name_area.iter().position(|&b| b == 0).unwrap_or(name_area.len());
        out.push(DirEntry { ino, kind: rec[18], name: name_area[..name_len].to_vec() });
        off += reclen;
    }
}

/// Every entry of directory `path` (including `.` and `..`), in the order the kernel returns them.
pub fn read_dir(path: &[u8]) -> Result<Vec<DirEntry>> {
    let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)?;
    let mut entries = Vec::new();
    let mut buf = alloc::vec![0u8; 4096];
    let result = loop {
        match getdents64(fd, &mut buf) {
            Ok(0) => break Ok(entries),
            Ok(n) => parse_dirents(&buf[..n], &mut entries),
            Err(Errno::EINTR) => {}
            Err(e) => break Err(e),
        }
    };
    let _ = crate::io::close(fd);
    result
}

/// Reads a whole file.
pub fn read_file(path: &[u8]) -> Result<Vec<u8>> {
    let fd = open(path, O_RDONLY | O_CLOEXEC, 0)?;
    let result = crate::io::read_to_end(fd);
    let _ = crate::io::close(fd);
    result
}

/// The current working directory.
pub fn getcwd() -> Result<Vec<u8>> {
    let mut buf = alloc::vec![0u8; 4096];
    // SAFETY: the kernel writes at most buf.len() bytes, including the NUL, into `buf`.
    check(unsafe { syscall3(sys::GETCWD, buf.as_mut_ptr() as usize, buf.len(), 0) })?;
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    buf.truncate(len);
    Ok(buf)
}

/// Changes the current working directory.
pub fn chdir(path: &[u8]) -> Result<()> {
    let c = to_c(path)?;
    // SAFETY: `c` is a NUL-terminated path that outlives the call.
    check(unsafe { syscall3(sys::CHDIR, c.as_ptr() as usize, 0, 0) }).map(drop)
}

/// `unlinkat` flag: remove a directory.
pub const AT_REMOVEDIR: u32 = 0x200;
/// `renameat2` flag: fail with EEXIST instead of replacing.
pub const RENAME_NOREPLACE: u32 = 1;

/// `mkdir(2)`.
pub fn mkdir(path: &[u8], mode: u32) -> Result<()> {
    let c = to_c(path)?;
    // SAFETY: `c` is a NUL-terminated path that outlives the call.
    check(unsafe { syscall3(sys::MKDIRAT, AT_FDCWD as usize, c.as_ptr() as usize, mode as usize) }).map(drop)
}

/// `unlinkat(AT_FDCWD, path, flags)`: a file, or with [`AT_REMOVEDIR`] an empty directory.
pub fn unlink_at(path: &[u8], flags: u32) -> Result<()> {
    let c = to_c(path)?;
    // SAFETY: `c` is a NUL-terminated path that outlives the call.
    check(unsafe { syscall3(sys::UNLINKAT, AT_FDCWD as usize, c.as_ptr() as usize, flags as usize) }).map(drop)
}

/// `renameat2(AT_FDCWD, from, AT_FDCWD, to, flags)`.
pub fn rename(from: &[u8], to: &[u8], flags: u32) -> Result<()> {
    let (a, b) = (to_c(from)?, to_c(to)?);
    // SAFETY: both are NUL-terminated paths that outlive the call.
    check(unsafe {
        syscall6(
            sys::RENAMEAT2,
            AT_FDCWD as usize,
            a.as_ptr() as usize,
            AT_FDCWD as usize,
            b.as_ptr() as usize,
            flags as usize,
            0,
        )
    })
    .map(drop)
}

/// `link(2)`.
pub fn link(target: &[u8], name: &[u8]) -> Result<()> {
    let (a, b) = (to_c(target)?, to_c(name)?);
    // SAFETY: both are NUL-terminated paths that outlive the call.
    check(unsafe {
        syscall6(sys::LINKAT, AT_FDCWD as usize, a.as_ptr() as usize, AT_FDCWD as usize, b.as_ptr() as usize, 0, 0)
    })
    .map(drop)
}

/// `symlink(2)`.
pub fn symlink(target: &[u8], name: &[u8]) -> Result<()> {
    let (a, b) = (to_c(target)?, to_c(name)?);
    // SAFETY: both are NUL-terminated paths that outlive the call.
    check(unsafe { syscall3(sys::SYMLINKAT, a.as_ptr() as usize, AT_FDCWD as usize, b.as_ptr() as usize) }).map(drop)
}

/// `chmod(2)`.
pub fn chmod(path: &[u8], mode: u32) -> Result<()> {
    let c = to_c(path)?;
    // SAFETY: `c` is a NUL-terminated path that outlives the call.
    check(unsafe { syscall3(sys::FCHMODAT, AT_FDCWD as usize, c.as_ptr() as usize, mode as usize) }).map(drop)
}

/// Sets both times of `path` to now (`utimensat` with no times).
pub fn touch_times(path: &[u8]) -> Result<()> {
    let c = to_c(path)?;
    // SAFETY: `c` is a NUL-terminated path that outlives the call; a null `times` is allowed.
    check(unsafe { syscall4(sys::UTIMENSAT, AT_FDCWD as usize, c.as_ptr() as usize, 0, 0) }).map(drop)
}

/// `mount(2)`; `data` is the comma-separated option string (may be empty).
pub fn mount(source: &[u8], target: &[u8], fstype: &[u8], data: &[u8]) -> Result<()> {
    let (s, t, f, d) = (to_c(source)?, to_c(target)?, to_c(fstype)?, to_c(data)?);
    // SAFETY: all four are NUL-terminated strings that outlive the call.
    check(unsafe {
        syscall6(sys::MOUNT, s.as_ptr() as usize, t.as_ptr() as usize, f.as_ptr() as usize, 0, d.as_ptr() as usize, 0)
    })
    .map(drop)
}

/// `umount2(target, 0)`.
pub fn umount(target: &[u8]) -> Result<()> {
    let c = to_c(target)?;
    // SAFETY: `c` is a NUL-terminated path that outlives the call.
    check(unsafe { syscall3(sys::UMOUNT2, c.as_ptr() as usize, 0, 0) }).map(drop)
}

/// What `statfs` says about a file system (the fields `df` needs).
#[derive(Clone, Copy, Debug, Default)]
pub struct StatFs {
    pub fs_type: u64,
    pub bsize: u64,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
}

/// `statfs(2)`.
pub fn statfs(path: &[u8]) -> Result<StatFs> {
    let c = to_c(path)?;
    let mut raw = [0u64; 15];
    // SAFETY: the kernel writes one 120-byte `struct statfs` into `raw`.
    check(unsafe { syscall3(sys::STATFS, c.as_ptr() as usize, raw.as_mut_ptr() as usize, 0) })?;
    Ok(StatFs { fs_type: raw[0], bsize: raw[1], blocks: raw[2], bfree: raw[3], bavail: raw[4] })
}
