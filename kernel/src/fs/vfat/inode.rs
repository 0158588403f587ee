//! A FAT volume behind the VFS (Linux: fs/fat/inode.c, namei_vfat.c,
//! dir.c, file.c): directories and files of a partition, looked up by
//! name without regard to case, as vfat does, created, written, truncated,
//! renamed and removed through write.rs.
//!
//! Every file and directory is rwxr-xr-x (r-xr-xr-x with the FAT
//! read-only attribute), owned by root: Linux's vfat defaults (uid=0,
//! gid=0, umask=022), which let a program on the card be executed. As
//! there, chmod sets or clears the read-only attribute (a mode without
//! write bits, or with the owner's) and ignores other modes; chown to
//! another owner, symlinks, hard links and device nodes are EPERM.
//!
//! Inodes (Linux: `fat_iget` by `i_pos`): a live inode is found again by
//! the volume position of its short directory entry, so every open of a
//! file shares its size and cluster chain; a rename moves it to its new
//! position. An unlinked file that is still open keeps its clusters until
//! its inode goes (Linux: `fat_evict_inode`).
//!
//! Locks: the volume's `fs` lock, a mutex (its holder sleeps while the card
//! works), serialises everything that touches the disk (it is taken before
//! the partition's buffer cache lock); under it
//! the inode cache's lock, then an inode's `st` (its in-memory fields),
//! are taken, never two `st` at once. An inode is never dropped while the
//! inode cache's lock is held; one dropped under `fs` leaves its clusters
//! on the orphan list, freed by the next operation.

use super::fat::{attr, short_name_text, DirEnt, FatDisk, FatFs};
use super::write::{EntryUpdate, FileMap};
use crate::block::bdev::Bdev;
use crate::errno::Errno;
use crate::fs::file::{dtype, flags, mode, DirEntry, FileOps, Stat};
use crate::fs::inode::{
    anon_dev, FileInode, Inode, InodeFile, InodeRef, SetAttr, StatFs, SuperBlock, RENAME_NOREPLACE,
};
use crate::sched::mutex::Mutex;
use crate::sync::IrqSpinLock;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;

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
    fs: Mutex<FatFs<PartDisk>>,
    sb: SuperBlock,
    cluster_size: u64,
    clusters: u64,
    /// Live inodes by the position of their short entry (the root: 0).
    icache: IrqSpinLock<BTreeMap<u64, Weak<VfatInode>>>,
    /// First clusters of unlinked files whose inode went while `fs` was
    /// held.
    orphans: IrqSpinLock<Vec<u32>>,
}

impl Volume {
    /// Frees the orphans' clusters (under `fs`).
    fn reap(&self, fs: &mut FatFs<PartDisk>) -> Result<(), Errno> {
        let list = core::mem::take(&mut *self.orphans.lock());
        for c in list {
            fs.free_chain(c)?;
        }
        Ok(())
    }
}

impl Drop for Volume {
    /// The last inode of an unmounted volume went: its dirty sectors
    /// reach the card (Linux: `sync_filesystem` at umount).
    fn drop(&mut self) {
        let mut fs = self.fs.lock();
        let list = core::mem::take(&mut *self.orphans.lock());
        for c in list {
            let _ = fs.free_chain(c);
        }
        if let Err(e) = fs.disk.0.flush() {
            log::error!("FAT-fs ({}): write-back at unmount failed: {e:?}", fs.disk.0.name);
        }
    }
}

/// The in-memory fields of an inode.
struct IState {
    /// The directory holding the entry (none for the root).
    parent: Option<Arc<VfatInode>>,
    /// The entry as on disk (the root's is made up).
    ent: DirEnt,
    /// The file's clusters, read from the FAT at the first use.
    chain: Option<Vec<u32>>,
    /// Change time, ns (FAT keeps none: the modification time at first).
    ctime: u64,
    /// The entry was removed; the clusters go with the inode.
    unlinked: bool,
}

/// A file or directory of a volume.
pub struct VfatInode {
    vol: Arc<Volume>,
    me: Weak<VfatInode>,
    ino: u64,
    dir: bool,
    st: IrqSpinLock<IState>,
}

/// Seconds since 1970 now, for the times FAT keeps.
fn now_secs() -> u64 {
    crate::timekeeping::ktime_get_real_ns() / 1_000_000_000
}

/// Mounted volumes by device number: a partition mounted twice is one
/// volume (Linux: `sget` finds the super block of a mounted device), so
/// two mounts never allocate the same clusters.
static VOLUMES: IrqSpinLock<Vec<(u64, Weak<Volume>)>> = IrqSpinLock::new(Vec::new());

/// Mounts the FAT volume on `bdev` (Linux: `fat_fill_super`), or gives
/// the root of the volume already mounted from it; EINVAL for a partition
/// that holds no FAT16/FAT32 volume (logged with the reason).
pub fn mount(bdev: Arc<Bdev>) -> Result<InodeRef, Errno> {
    let rdev = bdev.rdev;
    let live = VOLUMES.lock().iter().find(|(r, _)| *r == rdev).and_then(|(_, v)| v.upgrade());
    if let Some(vol) = live {
        let root = vol.icache.lock().get(&0).and_then(|w| w.upgrade());
        return Ok(root.unwrap_or_else(|| new_root(vol)));
    }
    let name = bdev.name.clone();
    let fs = FatFs::mount(PartDisk(bdev)).map_err(|e| {
        match e {
            Ok(bad) => log::error!("FAT-fs ({name}): no FAT16/FAT32 volume: {bad:?}"),
            Err(io) => log::error!("FAT-fs ({name}): cannot read the boot sector: {io:?}"),
        }
        Errno::EINVAL
    })?;
    let vol = Arc::new(Volume {
        cluster_size: fs.geo.cluster_size as u64,
        clusters: fs.geo.clusters as u64,
        fs: Mutex::new(fs),
        sb: SuperBlock { dev: anon_dev(), fs_type: "vfat", magic: MSDOS_SUPER_MAGIC },
        icache: IrqSpinLock::new(BTreeMap::new()),
        orphans: IrqSpinLock::new(Vec::new()),
    });
    let mut list = VOLUMES.lock();
    list.retain(|(_, v)| v.strong_count() > 0);
    list.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    list.push((rdev, Arc::downgrade(&vol)));
    drop(list);
    Ok(new_root(vol))
}

/// The root directory's inode (position 0 in the inode cache).
fn new_root(vol: Arc<Volume>) -> Arc<VfatInode> {
    let ent = DirEnt {
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
    let root = VfatInode::new(vol.clone(), None, ent, 1);
    vol.icache.lock().insert(0, Arc::downgrade(&root));
    root
}

/// The VFS's time (ns) as FAT seconds.
fn secs(ns: u64) -> u64 {
    ns / 1_000_000_000
}

impl VfatInode {
    fn new(vol: Arc<Volume>, parent: Option<Arc<VfatInode>>, ent: DirEnt, ino: u64) -> Arc<VfatInode> {
        let dir = ent.is_dir();
        let ctime = ent.mtime.saturating_mul(1_000_000_000);
        Arc::new_cyclic(|me| VfatInode {
            vol,
            me: me.clone(),
            ino,
            dir,
            st: IrqSpinLock::new(IState { parent, ent, chain: None, ctime, unlinked: false }),
        })
    }

    fn this(&self) -> Arc<VfatInode> {
        self.me.upgrade().expect("an inode in use is alive")
    }

    /// The inode of the entry `e` of this directory: the live one if
    /// there is one (Linux: `fat_iget`), else a new one. Under `fs`.
    fn iget(&self, e: DirEnt) -> Arc<VfatInode> {
        let mut cache = self.vol.icache.lock();
        if let Some(live) = cache.get(&e.pos).and_then(|w| w.upgrade()) {
            return live;
        }
        let pos = e.pos;
        let inode = VfatInode::new(self.vol.clone(), Some(self.this()), e, pos / 32);
        cache.insert(pos, Arc::downgrade(&inode));
        inode
    }

    /// The live inode of the entry at `pos`, if any.
    fn live(&self, pos: u64) -> Option<Arc<VfatInode>> {
        self.vol.icache.lock().get(&pos).and_then(|w| w.upgrade())
    }

    fn first_cluster(&self) -> u32 {
        self.st.lock().ent.first_cluster
    }

    /// This directory's entries (under `fs`); ENOENT once it was removed.
    fn entries(&self, fs: &FatFs<PartDisk>) -> Result<Vec<DirEnt>, Errno> {
        if !self.dir {
            return Err(Errno::ENOTDIR);
        }
        let (first, gone) = {
            let st = self.st.lock();
            (st.ent.first_cluster, st.unlinked)
        };
        if gone {
            return Err(Errno::ENOENT);
        }
        fs.read_dir(first)
    }

    /// The entry `name` (without regard to case), by its long name or its
    /// 8.3 alias, as vfat looks names up (`vfat_find`).
    fn find(&self, fs: &FatFs<PartDisk>, name: &str) -> Result<Option<DirEnt>, Errno> {
        let name = name.trim_end_matches('.');
        Ok(self
            .entries(fs)?
            .into_iter()
            .find(|e| e.name.eq_ignore_ascii_case(name) || short_name_text(&e.short, 0).eq_ignore_ascii_case(name)))
    }

    /// The file's place on the volume, its chain read if not yet (under `fs`).
    fn file_map(&self, fs: &FatFs<PartDisk>) -> Result<FileMap, Errno> {
        let (first, size, chain) = {
            let mut st = self.st.lock();
            (st.ent.first_cluster, st.ent.size as u64, st.chain.take())
        };
        let chain = match chain {
            Some(c) => c,
            None => {
                let c = fs.chain(first, Some(size))?;
                if (c.len() as u64) * self.vol.cluster_size < size {
                    log::error!("FAT-fs: {}: cluster chain shorter than the file", self.st.lock().ent.name);
                    return Err(Errno::EIO);
                }
                c
            }
        };
        // An empty file with a cluster (left by another system) starts over.
        let first = if chain.is_empty() { 0 } else { first };
        Ok(FileMap { first, chain, size })
    }

    /// Takes back a file's place after a change and rewrites its entry
    /// (size, first cluster, modification time, archive bit) unless it
    /// was unlinked.
    fn put_map(&self, fs: &FatFs<PartDisk>, map: FileMap) -> Result<(), Errno> {
        let now = now_secs();
        let (pos, attrs, write_entry) = {
            let mut st = self.st.lock();
            st.ent.first_cluster = map.first;
            st.ent.size = map.size as u32;
            st.ent.mtime = now;
            st.ent.attr |= attr::ARCHIVE;
            st.chain = Some(map.chain);
            st.ctime = now * 1_000_000_000;
            (st.ent.pos, st.ent.attr, !st.unlinked)
        };
        if !write_entry {
            return Ok(());
        }
        let u = EntryUpdate {
            first: Some(map.first),
            size: Some(map.size as u32),
            attr: Some(attrs),
            mtime: Some(now),
            ..EntryUpdate::default()
        };
        fs.update_entry(pos, &u)
    }

    fn read_at(&self, buf: &mut [u8], pos: u64) -> Result<usize, Errno> {
        if self.dir {
            return Err(Errno::EISDIR);
        }
        let fs = self.vol.fs.lock();
        let map = self.file_map(&fs)?;
        let r = fs.read_chain(&map.chain, map.size, pos, buf);
        self.st.lock().chain = Some(map.chain);
        r
    }

    /// Writes at `pos` (None: at the end); the bytes written and the end.
    fn write_at(&self, buf: &[u8], pos: Option<u64>) -> Result<(usize, u64), Errno> {
        if self.dir {
            return Err(Errno::EISDIR);
        }
        let mut fs = self.vol.fs.lock();
        self.vol.reap(&mut fs)?;
        let mut map = self.file_map(&fs)?;
        let at = pos.unwrap_or(map.size);
        let r = fs.write_file(&mut map, at, buf);
        self.put_map(&fs, map)?;
        let n = r?;
        Ok((n, at + n as u64))
    }

    fn truncate(&self, size: u64) -> Result<(), Errno> {
        let mut fs = self.vol.fs.lock();
        self.vol.reap(&mut fs)?;
        let mut map = self.file_map(&fs)?;
        let r = fs.truncate_file(&mut map, size);
        self.put_map(&fs, map)?;
        r
    }

    /// Sets this directory's modification time to now after its entries
    /// changed (the root has no entry to keep it).
    fn touch(&self, fs: &FatFs<PartDisk>) -> Result<(), Errno> {
        let now = now_secs();
        let pos = {
            let mut st = self.st.lock();
            st.ent.mtime = now;
            st.ctime = now * 1_000_000_000;
            st.ent.pos
        };
        if pos == 0 {
            return Ok(());
        }
        fs.update_entry(pos, &EntryUpdate { mtime: Some(now), ..EntryUpdate::default() })
    }

    /// Removes the entry `e` of this directory; its clusters are freed now
    /// or, if its inode is in use, when that goes.
    fn drop_entry(&self, fs: &mut FatFs<PartDisk>, e: &DirEnt) -> Result<(), Errno> {
        fs.remove_entry(self.first_cluster(), e)?;
        let live = {
            let mut cache = self.vol.icache.lock();
            let w = cache.remove(&e.pos);
            w.and_then(|w| w.upgrade())
        };
        match live {
            Some(inode) => {
                inode.st.lock().unlinked = true;
                // Dropped under `fs`: if this was the last user, the
                // clusters go to the orphan list.
                drop(inode);
            }
            None if e.first_cluster != 0 => fs.free_chain(e.first_cluster)?,
            None => {}
        }
        Ok(())
    }

    /// Whether `dir` is this directory or lies below it.
    fn is_ancestor_of(&self, dir: &Arc<VfatInode>) -> bool {
        let mut at = Some(dir.clone());
        while let Some(d) = at {
            if core::ptr::eq(Arc::as_ptr(&d), self) {
                return true;
            }
            at = d.st.lock().parent.clone();
        }
        false
    }
}

impl Drop for VfatInode {
    fn drop(&mut self) {
        let (unlinked, pos, first) = {
            let st = self.st.lock();
            (st.unlinked, st.ent.pos, st.ent.first_cluster)
        };
        if !unlinked {
            let mut cache = self.vol.icache.lock();
            if cache.get(&pos).is_some_and(|w| core::ptr::eq(w.as_ptr(), self)) {
                cache.remove(&pos);
            }
            return;
        }
        if first == 0 {
            return;
        }
        match self.vol.fs.try_lock() {
            Some(mut fs) => {
                if let Err(e) = fs.free_chain(first) {
                    log::error!("FAT-fs: freeing an unlinked file's clusters: {e:?}");
                }
            }
            None => self.vol.orphans.lock().push(first),
        }
    }
}

fn downcast(inode: &InodeRef) -> Result<Arc<VfatInode>, Errno> {
    inode.as_any().downcast_ref::<VfatInode>().map(|v| v.this()).ok_or(Errno::EXDEV)
}

impl Inode for VfatInode {
    fn getattr(&self) -> Stat {
        let st = self.st.lock();
        let ro = st.ent.attr & attr::READ_ONLY != 0 && !self.dir;
        let perm = if ro { 0o555 } else { 0o755 };
        let (ftype, nlink, size) =
            if self.dir { (mode::S_IFDIR, 2, 0) } else { (mode::S_IFREG, 1, st.ent.size as i64) };
        let cs = self.vol.cluster_size;
        let ns = |s: u64| s.saturating_mul(1_000_000_000);
        Stat {
            dev: self.vol.sb.dev,
            ino: self.ino,
            mode: ftype | perm,
            nlink: if st.unlinked { 0 } else { nlink },
            size,
            blocks: Some((size as u64).div_ceil(cs) * cs / 512),
            atime: ns(st.ent.atime),
            mtime: ns(st.ent.mtime),
            ctime: st.ctime,
            ..Stat::default()
        }
    }

    fn file_type(&self) -> u32 {
        if self.dir {
            mode::S_IFDIR
        } else {
            mode::S_IFREG
        }
    }

    fn super_block(&self) -> &SuperBlock {
        &self.vol.sb
    }

    fn statfs(&self) -> StatFs {
        let mut fs = self.vol.fs.lock();
        let _ = self.vol.reap(&mut fs);
        let free = fs.free_clusters().unwrap_or(0) as u64;
        StatFs {
            magic: MSDOS_SUPER_MAGIC,
            bsize: self.vol.cluster_size,
            blocks: self.vol.clusters,
            bfree: free,
            namelen: 255,
            ..StatFs::default()
        }
    }

    fn lookup(&self, name: &str) -> Result<InodeRef, Errno> {
        let fs = self.vol.fs.lock();
        let e = self.find(&fs, name)?.ok_or(Errno::ENOENT)?;
        Ok(self.iget(e))
    }

    fn parent(&self) -> Option<InodeRef> {
        self.st.lock().parent.clone().map(|p| p as InodeRef)
    }

    fn name_of(&self, child: &InodeRef) -> Option<String> {
        child.as_any().downcast_ref::<VfatInode>().map(|c| c.st.lock().ent.name.clone())
    }

    fn open(self: Arc<Self>, path: String, open_flags: u32) -> Result<Arc<dyn FileOps>, Errno> {
        if !self.dir && open_flags & flags::O_TRUNC != 0 && open_flags & flags::O_ACCMODE != flags::O_RDONLY {
            self.truncate(0)?;
        }
        Ok(Arc::new(InodeFile { inode: self, path }))
    }

    /// Regular files only (Linux's vfat has no mknod: EPERM); the mode's
    /// permission bits are not kept (vfat_create ignores them).
    fn create(&self, name: &str, fmode: u32, _rdev: u64) -> Result<InodeRef, Errno> {
        if fmode & mode::S_IFMT != mode::S_IFREG {
            return Err(Errno::EPERM);
        }
        let mut fs = self.vol.fs.lock();
        self.vol.reap(&mut fs)?;
        if self.find(&fs, name)?.is_some() {
            return Err(Errno::EEXIST);
        }
        let e = fs.add_entry(self.first_cluster(), name, attr::ARCHIVE, 0, 0, now_secs())?;
        self.touch(&fs)?;
        Ok(self.iget(e))
    }

    fn mkdir(&self, name: &str, _mode: u32) -> Result<InodeRef, Errno> {
        let mut fs = self.vol.fs.lock();
        self.vol.reap(&mut fs)?;
        if self.find(&fs, name)?.is_some() {
            return Err(Errno::EEXIST);
        }
        let e = fs.make_dir(self.first_cluster(), name, now_secs())?;
        self.touch(&fs)?;
        Ok(self.iget(e))
    }

    fn symlink(&self, _name: &str, _target: &str) -> Result<InodeRef, Errno> {
        Err(Errno::EPERM)
    }

    fn link(&self, _name: &str, _target: &InodeRef) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }

    fn unlink(&self, name: &str) -> Result<(), Errno> {
        let mut fs = self.vol.fs.lock();
        self.vol.reap(&mut fs)?;
        let e = self.find(&fs, name)?.ok_or(Errno::ENOENT)?;
        if e.is_dir() {
            return Err(Errno::EISDIR);
        }
        self.drop_entry(&mut fs, &e)?;
        self.touch(&fs)
    }

    fn rmdir(&self, name: &str) -> Result<(), Errno> {
        let mut fs = self.vol.fs.lock();
        self.vol.reap(&mut fs)?;
        let e = self.find(&fs, name)?.ok_or(Errno::ENOENT)?;
        if !e.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if !fs.dir_is_empty(e.first_cluster)? {
            return Err(Errno::ENOTEMPTY);
        }
        self.drop_entry(&mut fs, &e)?;
        self.touch(&fs)
    }

    /// Linux's vfat_rename2: RENAME_EXCHANGE is EINVAL; a target is
    /// replaced as POSIX says; the new entry keeps the data, size,
    /// attributes and modification time, and a moved directory's `..`
    /// follows it.
    fn rename(&self, old: &str, new_dir: &InodeRef, new: &str, rename_flags: u32) -> Result<(), Errno> {
        if rename_flags & !RENAME_NOREPLACE != 0 {
            return Err(Errno::EINVAL);
        }
        let new_dir = downcast(new_dir)?;
        let old_dir = self.this();
        let same_dir = Arc::ptr_eq(&old_dir, &new_dir);
        let mut fs = self.vol.fs.lock();
        self.vol.reap(&mut fs)?;
        let src = self.find(&fs, old)?.ok_or(Errno::ENOENT)?;
        if new_dir.st.lock().unlinked {
            return Err(Errno::ENOENT);
        }
        // A directory with a live directory below it is live itself.
        let moving = self.live(src.pos);
        if moving.as_ref().is_some_and(|m| m.dir && m.is_ancestor_of(&new_dir)) {
            return Err(Errno::EINVAL);
        }
        let target = new_dir.find(&fs, new)?;
        if let Some(t) = &target {
            if t.pos == src.pos {
                // The same entry: nothing to do, or a change of case.
                if t.name == new.trim_end_matches('.') {
                    return Ok(());
                }
            } else {
                if rename_flags & RENAME_NOREPLACE != 0 {
                    return Err(Errno::EEXIST);
                }
                match (src.is_dir(), t.is_dir()) {
                    (true, false) => return Err(Errno::ENOTDIR),
                    (false, true) => return Err(Errno::EISDIR),
                    (true, true) if !fs.dir_is_empty(t.first_cluster)? => return Err(Errno::ENOTEMPTY),
                    _ => {}
                }
            }
        }
        // The new name first (it may fail: ENOSPC, EINVAL), then the target
        // goes, then the old name.
        let new_first = new_dir.first_cluster();
        let made = fs.add_entry(new_first, new, src.attr, src.first_cluster, src.size, now_secs())?;
        fs.update_entry(made.pos, &EntryUpdate { mtime: Some(src.mtime), ..EntryUpdate::default() })?;
        // Adding an entry moves none: the slots read before still hold.
        if let Some(t) = target.filter(|t| t.pos != src.pos) {
            new_dir.drop_entry(&mut fs, &t)?;
        }
        fs.remove_entry(self.first_cluster(), &src)?;
        if src.is_dir() && !same_dir {
            fs.set_dotdot(src.first_cluster, new_first)?;
        }
        if let Some(inode) = moving {
            let mut cache = self.vol.icache.lock();
            cache.remove(&src.pos);
            cache.insert(made.pos, Arc::downgrade(&inode));
            let mut st = inode.st.lock();
            let keep = st.ent.clone();
            st.ent = DirEnt { mtime: keep.mtime, atime: keep.atime, ..made };
            st.ent.first_cluster = keep.first_cluster;
            st.ent.size = keep.size;
            st.ent.attr = keep.attr;
            st.parent = Some(new_dir.clone());
            st.ctime = now_secs() * 1_000_000_000;
        }
        self.touch(&fs)?;
        if !same_dir {
            new_dir.touch(&fs)?;
        }
        Ok(())
    }

    /// Linux's fat_setattr: chown to another owner and mode bits FAT
    /// cannot show are EPERM; a mode whose read and execute bits differ
    /// from the file's, or with only some write bits, is ignored; write
    /// bits set or clear the read-only attribute of a file.
    fn setattr(&self, a: &SetAttr) -> Result<(), Errno> {
        if a.uid.is_some_and(|u| u != 0) || a.gid.is_some_and(|g| g != 0) {
            return Err(Errno::EPERM);
        }
        if a.mode.is_some_and(|m| m & !0o777 != 0) {
            return Err(Errno::EPERM);
        }
        if let Some(size) = a.size {
            if self.dir {
                return Err(Errno::EISDIR);
            }
            self.truncate(size)?;
        }
        let fs = self.vol.fs.lock();
        let mut u = EntryUpdate::default();
        let pos = {
            let mut st = self.st.lock();
            if let Some(m) = a.mode.filter(|_| !self.dir) {
                let perm = m & !0o022;
                let rx_same = perm & 0o555 == 0o555;
                let w = perm & 0o222;
                if rx_same && (w == 0 || w == 0o200) {
                    let ro = if w == 0 { attr::READ_ONLY } else { 0 };
                    st.ent.attr = (st.ent.attr & !attr::READ_ONLY) | ro;
                    u.attr = Some(st.ent.attr);
                }
            }
            if let Some(t) = a.mtime {
                st.ent.mtime = secs(t);
                u.mtime = Some(st.ent.mtime);
            }
            if let Some(t) = a.atime {
                st.ent.atime = secs(t);
                u.atime = Some(st.ent.atime);
            }
            st.ctime = crate::timekeeping::ktime_get_real_ns();
            if st.unlinked {
                return Ok(());
            }
            st.ent.pos
        };
        if pos == 0 {
            return Ok(());
        }
        fs.update_entry(pos, &u)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_arc(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}

impl FileInode for VfatInode {
    fn read_at(&self, buf: &mut [u8], pos: u64) -> Result<usize, Errno> {
        VfatInode::read_at(self, buf, pos)
    }
    fn write_at(&self, buf: &[u8], pos: Option<u64>) -> Result<(usize, u64), Errno> {
        VfatInode::write_at(self, buf, pos)
    }
    fn read_dir(&self) -> Result<Vec<DirEntry>, Errno> {
        let entries = {
            let fs = self.vol.fs.lock();
            self.entries(&fs)?
        };
        let mut out = Vec::new();
        out.try_reserve_exact(entries.len()).map_err(|_| Errno::ENOMEM)?;
        for e in entries {
            let ino = self.live(e.pos).map_or(e.pos / 32, |i| i.ino);
            let dt = if e.is_dir() { dtype::DT_DIR } else { dtype::DT_REG };
            out.push(DirEntry { ino, dtype: dt, name: e.name });
        }
        Ok(out)
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
        Ok(()) => log::info!("vfat: {source} mounted on /boot"),
        Err(e) => log::error!("vfat: mounting {source} on /boot: {e:?}"),
    }
}
