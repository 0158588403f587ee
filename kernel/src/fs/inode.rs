//! VFS objects (Linux: include/linux/fs.h): the super block of a mounted
//! file system and the inode with its operations.
//!
//! An inode is an `Arc<dyn Inode>`: the trait is Linux's
//! `inode_operations` (lookup, create, mkdir, unlink, rename, ...) plus
//! `getattr`/`setattr`, and `open` hands out the `file_operations` of an
//! open file (file.rs, [`FileOps`]). An operation a file system does not
//! have answers with the error Linux's VFS gives when the pointer in
//! `inode_operations` is NULL (EPERM for mkdir, EACCES for create, ...).
//!
//! Departure from Linux: there is no separate dentry object. A directory
//! of tmpfs keeps its own name -> inode map (which is what Linux's dcache
//! holds for tmpfs, whose dentries are never dropped), /proc and /dev
//! compute their entries; the path walk asks them through the dentry
//! cache (dcache.rs), which remembers answers, negative ones included, by
//! directory and name.

use super::file::{DirEntry, FileOps, Stat};
use crate::errno::Errno;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU64, Ordering};

/// An inode, shared.
pub type InodeRef = Arc<dyn Inode>;

/// What a mounted file system says about itself (Linux: `struct
/// super_block` with its `statfs`).
pub struct SuperBlock {
    /// The device number `st_dev` shows.
    pub dev: u64,
    /// The file system type (`tmpfs`, `proc`, `devtmpfs`).
    pub fs_type: &'static str,
    /// The file system magic number of `statfs` (Linux: magic.h).
    pub magic: u64,
}

/// `statfs` answers (Linux: `struct kstatfs`).
#[derive(Clone, Copy, Debug, Default)]
pub struct StatFs {
    pub magic: u64,
    pub bsize: u64,
    pub blocks: u64,
    pub bfree: u64,
    pub files: u64,
    pub ffree: u64,
    pub namelen: u64,
}

/// Changes `setattr` makes (Linux: `struct iattr`); `None` leaves a field.
#[derive(Clone, Copy, Debug, Default)]
pub struct SetAttr {
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    pub atime: Option<u64>,
    pub mtime: Option<u64>,
}

/// `renameat2` flags.
pub const RENAME_NOREPLACE: u32 = 1;
pub const RENAME_EXCHANGE: u32 = 2;

/// Next device number for file systems that have no device (Linux:
/// `get_anon_bdev`, major 0).
pub fn anon_dev() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(16);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The operations of an inode (Linux: `struct inode_operations` with the
/// inode's attributes).
pub trait Inode: Send + Sync + Any {
    /// Attributes (Linux: `getattr`).
    fn getattr(&self) -> Stat;
    /// The type bits of the mode (cheaper than `getattr` where the file
    /// system knows them without locks).
    fn file_type(&self) -> u32 {
        self.getattr().mode & super::file::mode::S_IFMT
    }
    /// The file system this inode belongs to.
    fn super_block(&self) -> &SuperBlock;
    /// `statfs` of that file system.
    fn statfs(&self) -> StatFs {
        StatFs { magic: self.super_block().magic, bsize: 4096, namelen: 255, ..StatFs::default() }
    }
    /// The child `name` of a directory (never `.` or `..`).
    fn lookup(&self, _name: &str) -> Result<InodeRef, Errno> {
        Err(Errno::ENOTDIR)
    }
    /// The parent directory within this file system (`..`); the root of
    /// the file system has none.
    fn parent(&self) -> Option<InodeRef> {
        None
    }
    /// The name of the directory `child` in this directory (for getcwd).
    fn name_of(&self, _child: &InodeRef) -> Option<String> {
        None
    }
    /// For a directory whose lookups the dentry cache may keep
    /// (dcache.rs): its device and an inode number never given to another
    /// directory of that device while the cache may hold entries for it.
    /// None (the default): every lookup asks the file system.
    fn dcache_id(&self) -> Option<(u64, u64)> {
        None
    }
    /// Whether something may be mounted on this directory: a file system
    /// that counts its mounts ([`Inode::note_mount`]) answers exactly and
    /// spares the walk a look at the mount table; the default says "maybe".
    fn may_be_mountpoint(&self) -> bool {
        true
    }
    /// A mount on this directory was made (+1) or removed (-1).
    fn note_mount(&self, _delta: i32) {}
    /// The target of a symbolic link.
    fn readlink(&self) -> Result<String, Errno> {
        Err(Errno::EINVAL)
    }
    /// An open file of this inode; `path` is the name it was opened by.
    fn open(self: Arc<Self>, path: String, flags: u32) -> Result<Arc<dyn FileOps>, Errno>;
    /// Makes a regular file, a device node or a FIFO `name` with `mode`
    /// (type and permission bits).
    fn create(&self, _name: &str, _mode: u32, _rdev: u64) -> Result<InodeRef, Errno> {
        Err(Errno::EACCES)
    }
    fn mkdir(&self, _name: &str, _mode: u32) -> Result<InodeRef, Errno> {
        Err(Errno::EPERM)
    }
    fn symlink(&self, _name: &str, _target: &str) -> Result<InodeRef, Errno> {
        Err(Errno::EPERM)
    }
    /// A new name for `target` (which the VFS checked is on the same file
    /// system and not a directory).
    fn link(&self, _name: &str, _target: &InodeRef) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }
    fn unlink(&self, _name: &str) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }
    fn rmdir(&self, _name: &str) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }
    /// Moves `old` of this directory to `new` in `new_dir` (same file
    /// system), with `RENAME_*` flags.
    fn rename(&self, _old: &str, _new_dir: &InodeRef, _new: &str, _flags: u32) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }
    /// Changes attributes (chmod, chown, truncate, utimes).
    fn setattr(&self, _attr: &SetAttr) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }
    /// The concrete inode, for a file system's operations that take a
    /// second inode of its own (link, rename).
    fn as_any(&self) -> &dyn Any;
    /// The same, shared (to keep a concrete inode, as a mapping does).
    fn as_any_arc(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
}

/// Whether `a` and `b` are the same inode.
pub fn same_inode(a: &InodeRef, b: &InodeRef) -> bool {
    core::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b))
}

/// The type bits of an inode.
pub fn file_type(inode: &InodeRef) -> u32 {
    inode.file_type()
}

/// Whether the inode is a directory.
pub fn is_dir(inode: &InodeRef) -> bool {
    file_type(inode) == super::file::mode::S_IFDIR
}

/// What an inode of a file system that stores files (tmpfs, vfat) gives
/// [`InodeFile`], its open regular file or directory.
pub trait FileInode: Inode + Sized {
    /// Reads at `pos`; the bytes read (EISDIR for a directory).
    fn read_at(&self, buf: &mut [u8], pos: u64) -> Result<usize, Errno>;
    /// Writes at `pos` (None: at the end); the bytes written and the end.
    fn write_at(&self, buf: &[u8], pos: Option<u64>) -> Result<(usize, u64), Errno>;
    /// A directory's entries (ENOTDIR for anything else).
    fn read_dir(&self) -> Result<Vec<DirEntry>, Errno>;
}

/// An open regular file or directory that reads, writes and lists through
/// its inode (Linux: the `file` of a disk file system with
/// `generic_file_read_iter` and friends), opened by the name `path`.
pub struct InodeFile<I> {
    pub inode: Arc<I>,
    pub path: String,
}

impl<I: FileInode> FileOps for InodeFile<I> {
    fn read(&self, buf: &mut [u8], pos: u64, _nonblock: bool) -> Result<usize, Errno> {
        self.inode.read_at(buf, pos)
    }
    fn write_at(&self, buf: &[u8], pos: u64) -> Result<usize, Errno> {
        self.inode.write_at(buf, Some(pos)).map(|(n, _)| n)
    }
    fn append(&self, buf: &[u8]) -> Result<(usize, u64), Errno> {
        self.inode.write_at(buf, None)
    }
    fn stat(&self) -> Stat {
        self.inode.getattr()
    }
    fn readdir(&self) -> Result<Vec<DirEntry>, Errno> {
        self.inode.read_dir()
    }
    fn seekable(&self) -> bool {
        true
    }
    fn path(&self) -> Option<String> {
        Some(self.path.clone())
    }
    fn inode(&self) -> Option<InodeRef> {
        Some(self.inode.clone())
    }
}
