//! A FAT volume behind the VFS (Linux: fs/fat/inode.c, namei_vfat.c,
//! dir.c, file.c): directories and files of a partition, looked up by
//! name without regard to case, as vfat does. Read-only: every operation
//! that would write answers EROFS, as Linux does on a read-only mount.
//!
//! Every file and directory is rwxr-xr-x (r-xr-xr-x with the FAT
//! read-only attribute), owned by root: Linux's vfat defaults (uid=0,
//! gid=0, umask=022), which let a program on the card be executed.
//!
//! Departure from Linux: an inode is made at each lookup (no inode
//! cache), so the same file looked up twice gives two inode objects with
//! one inode number (its first cluster, or a fresh number for an empty
//! file); nothing can be mounted on a vfat directory.
//!
//! Locks: a file's cluster chain is computed once and kept under its own
//! spin lock (taken alone); reads go to the partition's buffer cache.

use super::fat::{attr, DirEnt, FatDisk, FatFs};
use crate::block::bdev::Bdev;
use crate::errno::Errno;
use crate::fs::file::{dtype, flags, mode, DirEntry, FileOps, Stat};
use crate::fs::inode::{anon_dev, Inode, InodeRef, SetAttr, StatFs, SuperBlock};
use crate::sync::IrqSpinLock;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU64, Ordering};

/// `statfs`'s magic of FAT (Linux: MSDOS_SUPER_MAGIC).
pub const MSDOS_SUPER_MAGIC: u64 = 0x4d44;

/// A partition as the FAT code's byte-addressed disk.
pub struct PartDisk(pub Arc<Bdev>);

impl FatDisk for PartDisk {
    fn read_at(&self, pos: u64, buf: &mut [u8]) -> Result<(), Errno> {
        self.0.read_bytes(pos, buf)
    }
    fn write_at(&self, pos: u64, buf: &[u8]) -> Result<(), Errno> {
        self.0.write_bytes(pos, buf)
    }
    fn size(&self) -> u64 {
        self.0.size()
    }
}

/// A mounted volume.
pub struct Volume {
    fs: FatFs<PartDisk>,
    sb: SuperBlock,
    next_ino: AtomicU64,
}

/// A file or directory of a volume.
pub struct VfatInode {
    vol: Arc<Volume>,
    me: Weak<VfatInode>,
    parent: Option<InodeRef>,
    ent: DirEnt,
    ino: u64,
    /// The file's clusters, read from the FAT at the first read.
    chain: IrqSpinLock<Option<Arc<Vec<u32>>>>,
}

/// Mounts the FAT volume on `bdev` (Linux: `fat_fill_super`); EINVAL for
/// a partition that holds no FAT16/FAT32 volume (logged with the reason).
pub fn mount(bdev: Arc<Bdev>) -> Result<InodeRef, Errno> {
    let name = bdev.name.clone();
    let fs = FatFs::mount(PartDisk(bdev)).map_err(|e| {
        match e {
            Ok(bad) => log::error!("FAT-fs ({name}): no FAT16/FAT32 volume: {bad:?}"),
            Err(io) => log::error!("FAT-fs ({name}): cannot read the boot sector: {io:?}"),
        }
        Errno::EINVAL
    })?;
    let vol = Arc::new(Volume {
        fs,
        sb: SuperBlock { dev: anon_dev(), fs_type: "vfat", magic: MSDOS_SUPER_MAGIC },
        next_ino: AtomicU64::new(1 << 32),
    });
    let root = DirEnt {
        name: String::new(),
        attr: attr::DIRECTORY,
        first_cluster: 0,
        size: 0,
        mtime: 0,
        atime: 0,
        short: [b' '; 11],
        slot: 0,
        lfn_slots: 0,
        pos: 0,
    };
    Ok(VfatInode::new(vol, None, root, 1))
}

impl VfatInode {
    fn new(vol: Arc<Volume>, parent: Option<InodeRef>, ent: DirEnt, ino: u64) -> Arc<VfatInode> {
        Arc::new_cyclic(|me| VfatInode { vol, me: me.clone(), parent, ent, ino, chain: IrqSpinLock::new(None) })
    }

    fn is_dir(&self) -> bool {
        self.ent.is_dir()
    }

    fn entries(&self) -> Result<Vec<DirEnt>, Errno> {
        if !self.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        self.vol.fs.read_dir(self.ent.first_cluster)
    }

    fn chain(&self) -> Result<Arc<Vec<u32>>, Errno> {
        if let Some(c) = self.chain.lock().as_ref() {
            return Ok(c.clone());
        }
        let c = Arc::new(self.vol.fs.chain(self.ent.first_cluster, Some(self.ent.size as u64))?);
        if (c.len() as u64) * (self.vol.fs.geo.cluster_size as u64) < self.ent.size as u64 {
            log::error!("FAT-fs: {}: cluster chain shorter than the file", self.ent.name);
            return Err(Errno::EIO);
        }
        *self.chain.lock() = Some(c.clone());
        Ok(c)
    }

    fn read_at(&self, buf: &mut [u8], pos: u64) -> Result<usize, Errno> {
        if self.is_dir() {
            return Err(Errno::EISDIR);
        }
        if pos >= self.ent.size as u64 {
            return Ok(0);
        }
        let chain = self.chain()?;
        self.vol.fs.read_chain(&chain, self.ent.size as u64, pos, buf)
    }

    fn ino_of(&self, e: &DirEnt) -> u64 {
        if e.first_cluster != 0 {
            e.first_cluster as u64
        } else {
            self.vol.next_ino.fetch_add(1, Ordering::Relaxed)
        }
    }
}

impl Inode for VfatInode {
    fn getattr(&self) -> Stat {
        let ro = self.ent.attr & attr::READ_ONLY != 0;
        let perm = if ro { 0o555 } else { 0o755 };
        let (ftype, nlink, size) =
            if self.is_dir() { (mode::S_IFDIR, 2, 0) } else { (mode::S_IFREG, 1, self.ent.size as i64) };
        let cs = self.vol.fs.geo.cluster_size as u64;
        let t = self.ent.mtime.saturating_mul(1_000_000_000);
        Stat {
            dev: self.vol.sb.dev,
            ino: self.ino,
            mode: ftype | perm,
            nlink,
            size,
            blocks: Some((size as u64).div_ceil(cs) * cs / 512),
            atime: t,
            mtime: t,
            ctime: t,
            ..Stat::default()
        }
    }

    fn super_block(&self) -> &SuperBlock {
        &self.vol.sb
    }

    fn statfs(&self) -> StatFs {
        let g = &self.vol.fs.geo;
        StatFs {
            magic: MSDOS_SUPER_MAGIC,
            bsize: g.cluster_size as u64,
            blocks: g.clusters as u64,
            namelen: 255,
            ..StatFs::default()
        }
    }

    fn lookup(&self, name: &str) -> Result<InodeRef, Errno> {
        let entries = self.entries()?;
        let e = entries.into_iter().find(|e| e.name.eq_ignore_ascii_case(name)).ok_or(Errno::ENOENT)?;
        let me: Option<InodeRef> = self.me.upgrade().map(|a| a as InodeRef);
        let ino = self.ino_of(&e);
        Ok(VfatInode::new(self.vol.clone(), me, e, ino))
    }

    fn parent(&self) -> Option<InodeRef> {
        self.parent.clone()
    }

    fn name_of(&self, child: &InodeRef) -> Option<String> {
        child.as_any().downcast_ref::<VfatInode>().map(|c| c.ent.name.clone())
    }

    fn open(self: Arc<Self>, path: String, open_flags: u32) -> Result<Arc<dyn FileOps>, Errno> {
        if open_flags & flags::O_ACCMODE != flags::O_RDONLY || open_flags & flags::O_TRUNC != 0 {
            return Err(Errno::EROFS);
        }
        Ok(Arc::new(VfatFile { inode: self, path }))
    }

    fn create(&self, _name: &str, _mode: u32, _rdev: u64) -> Result<InodeRef, Errno> {
        Err(Errno::EROFS)
    }
    fn mkdir(&self, _name: &str, _mode: u32) -> Result<InodeRef, Errno> {
        Err(Errno::EROFS)
    }
    fn symlink(&self, _name: &str, _target: &str) -> Result<InodeRef, Errno> {
        Err(Errno::EROFS)
    }
    fn link(&self, _name: &str, _target: &InodeRef) -> Result<(), Errno> {
        Err(Errno::EROFS)
    }
    fn unlink(&self, _name: &str) -> Result<(), Errno> {
        Err(Errno::EROFS)
    }
    fn rmdir(&self, _name: &str) -> Result<(), Errno> {
        Err(Errno::EROFS)
    }
    fn rename(&self, _old: &str, _new_dir: &InodeRef, _new: &str, _flags: u32) -> Result<(), Errno> {
        Err(Errno::EROFS)
    }
    fn setattr(&self, _attr: &SetAttr) -> Result<(), Errno> {
        Err(Errno::EROFS)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_arc(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}

/// An open file or directory of a volume.
struct VfatFile {
    inode: Arc<VfatInode>,
    path: String,
}

impl FileOps for VfatFile {
    fn read(&self, buf: &mut [u8], pos: u64, _nonblock: bool) -> Result<usize, Errno> {
        self.inode.read_at(buf, pos)
    }
    fn write_at(&self, _buf: &[u8], _pos: u64) -> Result<usize, Errno> {
        Err(Errno::EBADF)
    }
    fn stat(&self) -> Stat {
        self.inode.getattr()
    }
    fn readdir(&self) -> Result<Vec<DirEntry>, Errno> {
        let entries = self.inode.entries()?;
        let mut out = Vec::new();
        out.try_reserve_exact(entries.len()).map_err(|_| Errno::ENOMEM)?;
        for e in entries {
            let ino = self.inode.ino_of(&e);
            let dt = if e.is_dir() { dtype::DT_DIR } else { dtype::DT_REG };
            out.push(DirEntry { ino, dtype: dt, name: e.name });
        }
        Ok(out)
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

/// Mounts the card's first partition at /boot, as a Raspberry Pi OS
/// system does (its fstab line for /boot/firmware); makes /boot on the
/// root first. Failures were logged by [`mount`]; nothing is mounted.
pub fn automount_boot() {
    let Some(bdev) = crate::block::bdev::lookup_rdev(crate::fs::devfs::mkdev(crate::block::bdev::MMC_BLOCK_MAJOR, 1))
    else {
        return;
    };
    let source = alloc::format!("/dev/{}", bdev.name);
    let Ok(root) = mount(bdev) else { return };
    let top = crate::fs::namespace::root();
    let dir = match top.inode.mkdir("boot", 0o755) {
        Ok(d) => d,
        Err(Errno::EEXIST) => match top.inode.lookup("boot") {
            Ok(d) => d,
            Err(e) => return log::error!("vfat: /boot: {e:?}"),
        },
        Err(e) => return log::error!("vfat: /boot: {e:?}"),
    };
    let at = crate::fs::namespace::PathRef { mnt: top.mnt.clone(), inode: dir };
    match crate::fs::namespace::do_mount(&at, root, &source, "vfat", "") {
        Ok(()) => log::info!("vfat: {source} mounted on /boot (read-only)"),
        Err(e) => log::error!("vfat: mounting {source} on /boot: {e:?}"),
    }
}
