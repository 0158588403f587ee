//! Open files and the per-process tables that hold them (Linux: `struct
//! file`, `struct files_struct`, `struct fs_struct`).
//!
//! A [`File`] is what an fd refers to: the object (through [`FileOps`]), the
//! open flags and the position. `dup` and `fork` share one `File`; the last
//! reference closing it drops the object (a pipe end's drop tells the other
//! side). A [`FilesStruct`] maps fds to files with their close-on-exec bit
//! and is shared by CLONE_FILES; an [`FsStruct`] holds the current
//! directory and is shared by CLONE_FS.
//!
//! Locks: a table's lock is held only to look up or change slots, never
//! across a read or write, which may sleep.

use super::namespace::PathRef;
use crate::errno::Errno;
use crate::sched::mutex::Mutex;
use crate::sync::IrqSpinLock;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};

/// `open` flags (asm-generic/fcntl.h, arm64 values).
pub mod flags {
    pub const O_ACCMODE: u32 = 3;
    pub const O_RDONLY: u32 = 0;
    pub const O_WRONLY: u32 = 1;
    pub const O_RDWR: u32 = 2;
    pub const O_CREAT: u32 = 0o100;
    pub const O_EXCL: u32 = 0o200;
    pub const O_NOCTTY: u32 = 0o400;
    pub const O_TRUNC: u32 = 0o1000;
    pub const O_APPEND: u32 = 0o2000;
    pub const O_NONBLOCK: u32 = 0o4000;
    pub const O_DIRECTORY: u32 = 0o40000;
    pub const O_NOFOLLOW: u32 = 0o100000;
    pub const O_CLOEXEC: u32 = 0o2000000;
    pub const O_PATH: u32 = 0o10000000;
}

/// File type bits of `st_mode`.
pub mod mode {
    pub const S_IFMT: u32 = 0o170000;
    pub const S_IFIFO: u32 = 0o010000;
    pub const S_IFCHR: u32 = 0o020000;
    pub const S_IFBLK: u32 = 0o060000;
    pub const S_IFDIR: u32 = 0o040000;
    pub const S_IFREG: u32 = 0o100000;
    pub const S_IFLNK: u32 = 0o120000;
    pub const S_IFSOCK: u32 = 0o140000;
}

/// `d_type` values of getdents64.
pub mod dtype {
    pub const DT_FIFO: u8 = 1;
    pub const DT_CHR: u8 = 2;
    pub const DT_BLK: u8 = 6;
    pub const DT_DIR: u8 = 4;
    pub const DT_REG: u8 = 8;
    pub const DT_LNK: u8 = 10;
    pub const DT_SOCK: u8 = 12;
}

/// What `fstat` reports (Linux: `struct kstat`): timestamps in ns since the
/// Epoch (which is boot here: there is no real-time clock).
#[derive(Clone, Copy, Debug, Default)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub mode: u32,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub size: i64,
    /// 512-byte blocks allocated; `None`: as many as the size needs.
    pub blocks: Option<u64>,
    pub atime: u64,
    pub mtime: u64,
    pub ctime: u64,
}

impl Stat {
    /// The arm64 `struct stat` (asm-generic/stat.h), 128 bytes.
    pub fn to_bytes(&self) -> [u8; 128] {
        let mut b = [0u8; 128];
        b[0..8].copy_from_slice(&self.dev.to_le_bytes());
        b[8..16].copy_from_slice(&self.ino.to_le_bytes());
        b[16..20].copy_from_slice(&self.mode.to_le_bytes());
        b[20..24].copy_from_slice(&self.nlink.to_le_bytes());
        b[24..28].copy_from_slice(&self.uid.to_le_bytes());
        b[28..32].copy_from_slice(&self.gid.to_le_bytes());
        b[32..40].copy_from_slice(&self.rdev.to_le_bytes());
        b[48..56].copy_from_slice(&self.size.to_le_bytes());
        b[56..60].copy_from_slice(&4096i32.to_le_bytes()); // st_blksize
        b[64..72].copy_from_slice(&self.nr_blocks().to_le_bytes());
        for (at, t) in [(72, self.atime), (88, self.mtime), (104, self.ctime)] {
            b[at..at + 8].copy_from_slice(&(t / 1_000_000_000).to_le_bytes());
            b[at + 8..at + 16].copy_from_slice(&(t % 1_000_000_000).to_le_bytes());
        }
        b
    }

    /// `st_blocks`.
    pub fn nr_blocks(&self) -> u64 {
        self.blocks.unwrap_or((self.size.max(0) as u64).div_ceil(512))
    }
}

/// One directory entry for getdents64.
#[derive(Clone, Debug)]
pub struct DirEntry {
    pub ino: u64,
    pub dtype: u8,
    pub name: String,
}

/// Readiness for poll (`POLLIN`, `POLLOUT`, `POLLHUP`...).
pub mod poll {
    pub const POLLIN: u16 = 0x001;
    pub const POLLPRI: u16 = 0x002;
    pub const POLLOUT: u16 = 0x004;
    pub const POLLERR: u16 = 0x008;
    pub const POLLHUP: u16 = 0x010;
    pub const POLLNVAL: u16 = 0x020;
    pub const POLLRDNORM: u16 = 0x040;
    pub const POLLWRNORM: u16 = 0x100;

    /// A file's readiness as poll reports it: normal data readable or
    /// writable goes with POLLIN and POLLOUT, as every Linux file reports it.
    pub fn with_norm(mask: u16) -> u16 {
        let mut m = mask;
        if mask & POLLIN != 0 {
            m |= POLLRDNORM;
        }
        if mask & POLLOUT != 0 {
            m |= POLLWRNORM;
        }
        m
    }
}

/// What an open file can do (Linux: `struct file_operations`). Reads and
/// writes use kernel buffers; the system-call layer copies to and from user
/// memory. Blocking operations sleep interruptibly and return ERESTARTSYS
/// when a signal arrives.
pub trait FileOps: Send + Sync {
    /// A pipe's ring size in bytes (`F_GETPIPE_SZ`), or with `Some(size)`
    /// the ring resized to hold at least `size` (`F_SETPIPE_SZ`), returning
    /// the new size; EBADF, the default, for anything but a pipe.
    fn pipe_size(&self, _new: Option<usize>) -> Result<usize, Errno> {
        Err(Errno::EBADF)
    }
    /// Reads at `pos` (ignored by streams); `nonblock`: EAGAIN instead of
    /// sleeping.
    fn read(&self, _buf: &mut [u8], _pos: u64, _nonblock: bool) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }
    fn write(&self, _buf: &[u8], _nonblock: bool) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }
    /// Reads up to `count` bytes straight into user memory at `buf` (Linux:
    /// `read_iter` on a user `iov_iter`), for a stream that copies from its
    /// own memory (pipes); `None`, the default: the system call reads into
    /// a kernel buffer with [`Self::read`] and copies that out.
    fn read_user(&self, _buf: u64, _count: usize, _nonblock: bool) -> Option<Result<usize, Errno>> {
        None
    }
    /// Writes `count` bytes straight from user memory at `buf`; `None`: the
    /// system call copies them into a kernel buffer for [`Self::write`].
    fn write_user(&self, _buf: u64, _count: usize, _nonblock: bool) -> Option<Result<usize, Errno>> {
        None
    }
    /// Writes at `pos` (seekable files; Linux: `f_op->write_iter` with a
    /// position).
    /// The default: the position is ignored, as by the generated files of
    /// /proc and /sys that take writes ([`Self::write`]).
    fn write_at(&self, buf: &[u8], _pos: u64) -> Result<usize, Errno> {
        self.write(buf, false)
    }
    /// Writes at the end, the end found and the data written in one step
    /// (O_APPEND); returns the bytes written and the new end.
    /// The default: [`Self::write_at`] at 0, the end after the bytes.
    fn append(&self, buf: &[u8]) -> Result<(usize, u64), Errno> {
        self.write_at(buf, 0).map(|n| (n, n as u64))
    }
    /// The inode behind the file, for the calls that change one through an
    /// fd (fchmod, ftruncate, fstatfs, locks).
    fn inode(&self) -> Option<super::inode::InodeRef> {
        None
    }
    fn ioctl(&self, _cmd: u32, _arg: u64) -> Result<u64, Errno> {
        Err(Errno::ENOTTY)
    }
    fn stat(&self) -> Stat;
    /// Directory entries, for directories.
    fn readdir(&self) -> Result<Vec<DirEntry>, Errno> {
        Err(Errno::ENOTDIR)
    }
    /// Directory entries with the getdents position of each (2 and up, in
    /// increasing order), for a directory whose listing resumes by a key
    /// of its own rather than by place in name order; None: `readdir`'s
    /// entries in name order.
    fn readdir_positioned(&self) -> Option<Result<Vec<(u64, DirEntry)>, Errno>> {
        None
    }
    /// Readiness now.
    fn poll(&self) -> u16 {
        poll::POLLIN | poll::POLLOUT
    }
    /// Calls `register` with each wait queue woken when the readiness may
    /// have changed (Linux: `poll_wait` in `f_op->poll`); files that are
    /// always ready have none.
    fn poll_wait(&self, _register: &mut dyn FnMut(&crate::sched::wait::WaitQueueHead)) {}
    /// Whether a read is answered in full, however long (the memory devices:
    /// /dev/zero, /dev/urandom), as a regular file's is: `read` then goes on
    /// past one kernel buffer instead of returning what the first gave.
    fn fills_reads(&self) -> bool {
        false
    }
    /// Whether the position means something (regular files, directories).
    fn seekable(&self) -> bool {
        false
    }
    /// The path this was opened by, for /proc and `getcwd`.
    fn path(&self) -> Option<String> {
        None
    }
    /// The concrete object, for the calls that only work on one kind of
    /// file (the socket calls find their socket here, as Linux's
    /// `sock_from_file` compares `f_op`).
    fn as_any(&self) -> Option<&dyn core::any::Any> {
        None
    }
}

/// An open file.
pub struct File {
    pub ops: Arc<dyn FileOps>,
    /// Where it was opened (files opened by name; not pipes).
    pub path: Option<PathRef>,
    /// `O_*` status flags (access mode, O_APPEND, O_NONBLOCK).
    pub flags: AtomicU32,
    /// The file position (Linux: `f_pos` under `f_pos_lock`, a mutex: a
    /// read from a disk sleeps with it held).
    pub pos: Mutex<u64>,
}

impl File {
    /// A new open file.
    pub fn new(ops: Arc<dyn FileOps>, open_flags: u32) -> Arc<File> {
        // Flags that only steer the open itself are not the file's (Linux:
        // do_dentry_open), so F_GETFL does not report them.
        let open_only = flags::O_CLOEXEC | flags::O_CREAT | flags::O_EXCL | flags::O_NOCTTY | flags::O_TRUNC;
        Arc::new(File { ops, path: None, flags: AtomicU32::new(open_flags & !open_only), pos: Mutex::new(0) })
    }

    /// A new open file of the place `path`.
    pub fn with_path(ops: Arc<dyn FileOps>, open_flags: u32, path: PathRef) -> Arc<File> {
        let open_only = flags::O_CLOEXEC | flags::O_CREAT | flags::O_EXCL | flags::O_NOCTTY | flags::O_TRUNC;
        Arc::new(File { ops, path: Some(path), flags: AtomicU32::new(open_flags & !open_only), pos: Mutex::new(0) })
    }

    /// Attributes: the inode's for a file opened by name, else the
    /// object's.
    pub fn stat(&self) -> Stat {
        match &self.path {
            Some(p) => p.inode.getattr(),
            None => self.ops.stat(),
        }
    }

    fn access(&self) -> u32 {
        self.flags.load(Ordering::Relaxed) & flags::O_ACCMODE
    }

    /// Whether it was opened for reading.
    pub fn readable(&self) -> bool {
        self.access() != flags::O_WRONLY
    }

    /// Whether it was opened for writing.
    pub fn writable(&self) -> bool {
        self.access() != flags::O_RDONLY
    }

    /// Whether O_NONBLOCK is set.
    pub fn nonblock(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & flags::O_NONBLOCK != 0
    }

    /// Reads at the file position and advances it.
    pub fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        if !self.readable() {
            return Err(Errno::EBADF);
        }
        if self.ops.seekable() {
            let mut pos = self.pos.lock();
            let n = self.ops.read(buf, *pos, self.nonblock())?;
            *pos += n as u64;
            Ok(n)
        } else {
            self.ops.read(buf, 0, self.nonblock())
        }
    }

    /// Reads into user memory without a kernel buffer, for streams that can
    /// ([`FileOps::read_user`]); `None` for the others.
    pub fn read_user(&self, buf: u64, count: usize) -> Option<Result<usize, Errno>> {
        if !self.readable() {
            return Some(Err(Errno::EBADF));
        }
        if self.ops.seekable() {
            return None;
        }
        self.ops.read_user(buf, count, self.nonblock())
    }

    /// Writes from user memory without a kernel buffer, for streams that
    /// can ([`FileOps::write_user`]); `None` for the others.
    pub fn write_user(&self, buf: u64, count: usize) -> Option<Result<usize, Errno>> {
        if !self.writable() {
            return Some(Err(Errno::EBADF));
        }
        self.ops.write_user(buf, count, self.nonblock())
    }

    /// Writes.
    pub fn write(&self, buf: &[u8]) -> Result<usize, Errno> {
        if !self.writable() {
            return Err(Errno::EBADF);
        }
        if self.ops.seekable() {
            let mut pos = self.pos.lock();
            if self.flags.load(Ordering::Relaxed) & flags::O_APPEND != 0 {
                let (n, end) = self.ops.append(buf)?;
                *pos = end;
                Ok(n)
            } else {
                let n = self.ops.write_at(buf, *pos)?;
                *pos += n as u64;
                Ok(n)
            }
        } else {
            self.ops.write(buf, self.nonblock())
        }
    }
}

impl Drop for File {
    /// The last reference: the open file's flock lock goes (Linux:
    /// `locks_remove_file` in `__fput`).
    fn drop(&mut self) {
        if let Some(p) = &self.path {
            super::locks::flock_release(&p.inode, self as *const File as usize);
        }
    }
}

impl File {
    /// The owner of this open file's flock locks.
    pub fn lock_owner(&self) -> usize {
        self as *const File as usize
    }
}

/// One fd slot.
#[derive(Clone)]
pub struct FdEntry {
    pub file: Arc<File>,
    pub cloexec: bool,
}

/// The fd table (Linux: `struct files_struct`).
pub struct FilesStruct {
    pub fds: IrqSpinLock<Vec<Option<FdEntry>>>,
}

/// Highest number of fds (RLIMIT_NOFILE's hard limit here).
pub const NR_OPEN: usize = 4096;

impl FilesStruct {
    /// An empty table.
    pub fn new() -> Arc<FilesStruct> {
        Arc::new(FilesStruct { fds: IrqSpinLock::new(Vec::new()) })
    }

    /// A copy sharing the open files (fork without CLONE_FILES, Linux:
    /// `dup_fd`).
    pub fn copy(&self) -> Arc<FilesStruct> {
        Arc::new(FilesStruct { fds: IrqSpinLock::new(self.fds.lock().clone()) })
    }

    /// The file at `fd`.
    #[inline]
    pub fn get(&self, fd: i32) -> Result<Arc<File>, Errno> {
        let fds = self.fds.lock();
        usize::try_from(fd)
            .ok()
            .and_then(|i| fds.get(i))
            .and_then(|e| e.as_ref())
            .map(|e| e.file.clone())
            .ok_or(Errno::EBADF)
    }

    /// Installs `file` at the lowest free fd at or above `min` (Linux:
    /// `get_unused_fd_flags` + `fd_install`); EMFILE past `limit`.
    pub fn install(&self, file: Arc<File>, cloexec: bool, min: usize, limit: usize) -> Result<i32, Errno> {
        let mut fds = self.fds.lock();
        let limit = limit.min(NR_OPEN);
        let slot = (min..limit).find(|&i| fds.get(i).is_none_or(|e| e.is_none())).ok_or(Errno::EMFILE)?;
        if fds.len() <= slot {
            fds.resize(slot + 1, None);
        }
        fds[slot] = Some(FdEntry { file, cloexec });
        Ok(slot as i32)
    }

    /// Puts `file` at exactly `fd`, closing what was there (dup3).
    pub fn install_at(
        &self,
        fd: i32,
        file: Arc<File>,
        cloexec: bool,
        limit: usize,
    ) -> Result<Option<Arc<File>>, Errno> {
        let i = usize::try_from(fd).map_err(|_| Errno::EBADF)?;
        if i >= limit.min(NR_OPEN) {
            return Err(Errno::EBADF);
        }
        let old = {
            let mut fds = self.fds.lock();
            if fds.len() <= i {
                fds.resize(i + 1, None);
            }
            fds[i].replace(FdEntry { file, cloexec }).map(|e| e.file)
        };
        if let Some(f) = &old {
            self.release_posix_locks(f);
        }
        Ok(old)
    }

    /// Removes `fd`; the file is returned so it is dropped outside the lock.
    pub fn close(&self, fd: i32) -> Result<Arc<File>, Errno> {
        let file = {
            let mut fds = self.fds.lock();
            let slot = usize::try_from(fd).ok().and_then(|i| fds.get_mut(i)).ok_or(Errno::EBADF)?;
            slot.take().map(|e| e.file).ok_or(Errno::EBADF)?
        };
        self.release_posix_locks(&file);
        Ok(file)
    }

    /// The owner of the POSIX locks taken through this table (Linux:
    /// `current->files`).
    pub fn lock_owner(&self) -> usize {
        self as *const FilesStruct as usize
    }

    /// A close drops the table's POSIX locks on the file (Linux:
    /// `locks_remove_posix` in `filp_flush`).
    fn release_posix_locks(&self, file: &File) {
        if let Some(p) = &file.path {
            super::locks::posix_release(&p.inode, self.lock_owner());
        }
    }

    /// The close-on-exec bit of `fd`.
    pub fn cloexec(&self, fd: i32) -> Result<bool, Errno> {
        let fds = self.fds.lock();
        usize::try_from(fd)
            .ok()
            .and_then(|i| fds.get(i))
            .and_then(|e| e.as_ref())
            .map(|e| e.cloexec)
            .ok_or(Errno::EBADF)
    }

    /// Sets the close-on-exec bit of `fd`.
    pub fn set_cloexec(&self, fd: i32, on: bool) -> Result<(), Errno> {
        let mut fds = self.fds.lock();
        let e = usize::try_from(fd).ok().and_then(|i| fds.get_mut(i)).and_then(|e| e.as_mut()).ok_or(Errno::EBADF)?;
        e.cloexec = on;
        Ok(())
    }

    /// Closes every close-on-exec fd (Linux: `do_close_on_exec`).
    pub fn close_on_exec(&self) {
        let closed: Vec<FdEntry> = {
            let mut fds = self.fds.lock();
            fds.iter_mut().filter(|e| e.as_ref().is_some_and(|e| e.cloexec)).filter_map(|e| e.take()).collect()
        };
        for e in &closed {
            self.release_posix_locks(&e.file);
        }
        drop(closed);
    }

    /// Closes everything (exit, Linux: `close_files`).
    pub fn close_all(&self) {
        let all = core::mem::take(&mut *self.fds.lock());
        for e in all.iter().flatten() {
            self.release_posix_locks(&e.file);
        }
        drop(all);
    }

    /// Open fds, for /proc.
    pub fn count(&self) -> usize {
        self.fds.lock().iter().filter(|e| e.is_some()).count()
    }
}

impl Drop for FilesStruct {
    /// The table's last user is gone (exit, exec's unshare): its POSIX
    /// locks go.
    fn drop(&mut self) {
        self.close_all();
    }
}

/// Filesystem context (Linux: `struct fs_struct`): the root and the
/// current directory, shared by CLONE_FS.
pub struct FsStruct {
    pub root: IrqSpinLock<PathRef>,
    pub cwd: IrqSpinLock<PathRef>,
    /// File-creation mask (Linux keeps it here too).
    pub umask: AtomicU32,
}

impl FsStruct {
    /// At the root of the tree.
    pub fn new() -> Arc<FsStruct> {
        let root = super::namespace::root();
        Arc::new(FsStruct {
            root: IrqSpinLock::new(root.clone()),
            cwd: IrqSpinLock::new(root),
            umask: AtomicU32::new(0o022),
        })
    }

    /// A copy (fork without CLONE_FS, Linux: `copy_fs_struct`).
    pub fn copy(&self) -> Arc<FsStruct> {
        Arc::new(FsStruct {
            root: IrqSpinLock::new(self.root.lock().clone()),
            cwd: IrqSpinLock::new(self.cwd.lock().clone()),
            umask: AtomicU32::new(self.umask.load(Ordering::Relaxed)),
        })
    }
}
