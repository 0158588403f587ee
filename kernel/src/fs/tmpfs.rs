//! tmpfs (Linux: mm/shmem.c): a file system in memory, the root file
//! system of this kernel, with the initramfs unpacked into it at boot
//! ([`populate_rootfs`], Linux: init/initramfs.c).
//!
//! Directories hold a name -> inode map and a link to their parent;
//! regular files hold their data in pages from the page allocator, one
//! per 4 KiB of the file, a hole where nothing was written. Each mount has
//! a size limit in pages (`size=`, default half of RAM): a write that needs
//! a page past it fails with ENOSPC. Pages in use by every tmpfs are
//! counted for `/proc/meminfo`'s `Shmem`.
//!
//! Departure from Linux: a file unpacked from the built-in archive keeps
//! reading the archive's bytes, which are in the kernel image anyway,
//! until it is first changed; only then is it copied into pages (counted
//! against the limit from that moment).
//!
//! Lock order: the mount's rename lock, then directory maps (two at once
//! in address order), then an inode's file data, then its attributes.

use super::file::{dtype, flags, mode, DirEntry, FileOps, Stat};
use super::inode::{
    anon_dev, FileInode, Inode, InodeFile, InodeRef, SetAttr, StatFs, SuperBlock, RENAME_EXCHANGE, RENAME_NOREPLACE,
};
use crate::errno::Errno;
use crate::mm::frame::PAGE_SIZE;
use crate::mm::{page, phys_to_virt};
use crate::sync::IrqSpinLock;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// TMPFS_MAGIC (Linux: magic.h).
pub const TMPFS_MAGIC: u64 = 0x0102_1994;
/// Largest file (Linux: MAX_LFS_FILESIZE; smaller here).
const MAX_FILE_SIZE: u64 = 1 << 40;

/// Pages held by every tmpfs file (meminfo's `Shmem`).
static SHMEM_PAGES: AtomicUsize = AtomicUsize::new(0);

/// Pages in tmpfs files now.
pub fn shmem_pages() -> usize {
    SHMEM_PAGES.load(Ordering::Relaxed)
}

fn now() -> u64 {
    crate::time::uptime_ns()
}

/// One mounted tmpfs (Linux: `struct shmem_sb_info`).
pub struct Tmpfs {
    sb: SuperBlock,
    /// Size limit in pages.
    max_pages: usize,
    used_pages: AtomicUsize,
    next_ino: AtomicU64,
    inodes: AtomicUsize,
    /// Held across a rename (Linux: `s_vfs_rename_mutex`), so two renames
    /// never lock the same pair of directories in opposite orders.
    rename_lock: IrqSpinLock<()>,
}

impl Tmpfs {
    /// A new, empty tmpfs of at most `max_pages` pages; returns its root.
    pub fn new_root(max_pages: usize) -> Arc<TmpInode> {
        Self::new_typed("tmpfs", max_pages)
    }

    /// The same, under another type name (devtmpfs).
    pub fn new_typed(fs_type: &'static str, max_pages: usize) -> Arc<TmpInode> {
        let fs = Arc::new(Tmpfs {
            sb: SuperBlock { dev: anon_dev(), fs_type, magic: TMPFS_MAGIC },
            max_pages,
            used_pages: AtomicUsize::new(0),
            next_ino: AtomicU64::new(1),
            inodes: AtomicUsize::new(0),
            rename_lock: IrqSpinLock::new(()),
        });
        TmpInode::new(&fs, mode::S_IFDIR | 0o755, Kind::Dir(IrqSpinLock::new(DirData::default())), Weak::new())
    }

    /// The default size: half of RAM (Linux: shmem's default `size=50%`).
    pub fn default_pages() -> usize {
        crate::mm::phys::stats().total / 2
    }

    /// Takes `n` pages of the limit: ENOSPC past it.
    fn charge(&self, n: usize) -> Result<(), Errno> {
        self.used_pages
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| u.checked_add(n).filter(|&t| t <= self.max_pages))
            .map(|_| ())
            .map_err(|_| Errno::ENOSPC)?;
        SHMEM_PAGES.fetch_add(n, Ordering::Relaxed);
        Ok(())
    }

    fn uncharge(&self, n: usize) {
        self.used_pages.fetch_sub(n, Ordering::AcqRel);
        SHMEM_PAGES.fetch_sub(n, Ordering::Relaxed);
    }
}

/// A directory's entries.
#[derive(Default)]
pub struct DirData {
    children: BTreeMap<String, Arc<TmpInode>>,
}

/// A regular file's data.
#[derive(Default)]
struct FileData {
    size: u64,
    /// Physical page of each 4 KiB of the file, 0 for a hole.
    pages: Vec<u64>,
    /// Unchanged contents from the built-in archive (see the module docs);
    /// while set, `pages` is empty and `size` is its length.
    archive: Option<&'static [u8]>,
}

enum Kind {
    Dir(IrqSpinLock<DirData>),
    File(IrqSpinLock<FileData>),
    Symlink(String),
    /// A device node (character device), by device number.
    Device(u64),
    /// A block device node, by device number (block/bdev.rs).
    BlockDevice(u64),
    /// A socket's name in the file system (net/unix.rs binds to it).
    Socket,
    /// A named pipe (mkfifo): its pipe exists while an end is open.
    Fifo(super::pipe::Fifo),
}

struct Meta {
    mode: u32,
    nlink: u32,
    uid: u32,
    gid: u32,
    atime: u64,
    mtime: u64,
    ctime: u64,
}

/// A tmpfs inode (Linux: `struct shmem_inode_info`).
pub struct TmpInode {
    fs: Arc<Tmpfs>,
    ino: u64,
    me: Weak<TmpInode>,
    /// A directory's parent (`..`); none for the root and other kinds.
    parent: IrqSpinLock<Weak<TmpInode>>,
    /// Mounts on this directory.
    mounts: core::sync::atomic::AtomicU32,
    meta: IrqSpinLock<Meta>,
    kind: Kind,
}

impl TmpInode {
    fn new(fs: &Arc<Tmpfs>, mode: u32, kind: Kind, parent: Weak<TmpInode>) -> Arc<TmpInode> {
        let t = now();
        let nlink = if matches!(kind, Kind::Dir(_)) { 2 } else { 1 };
        fs.inodes.fetch_add(1, Ordering::Relaxed);
        Arc::new_cyclic(|me| TmpInode {
            fs: fs.clone(),
            ino: fs.next_ino.fetch_add(1, Ordering::Relaxed),
            me: me.clone(),
            parent: IrqSpinLock::new(parent),
            mounts: core::sync::atomic::AtomicU32::new(0),
            meta: IrqSpinLock::new(Meta { mode, nlink, uid: 0, gid: 0, atime: t, mtime: t, ctime: t }),
            kind,
        })
    }

    fn this(&self) -> Arc<TmpInode> {
        self.me.upgrade().expect("a tmpfs inode in use is alive")
    }

    fn dir(&self) -> Result<&IrqSpinLock<DirData>, Errno> {
        match &self.kind {
            Kind::Dir(d) => Ok(d),
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn is_dir(&self) -> bool {
        matches!(self.kind, Kind::Dir(_))
    }

    /// Marks a change of the contents (mtime and ctime).
    fn touch(&self) {
        let t = now();
        let mut m = self.meta.lock();
        m.mtime = t;
        m.ctime = t;
    }

    /// Tells the dentry cache that `name` in this directory changed; after
    /// the change, never before (dcache.rs).
    fn d_invalidate(&self, name: &str) {
        super::dcache::d_invalidate(self.fs.sb.dev, self.ino, name);
    }

    fn touch_ctime(&self) {
        self.meta.lock().ctime = now();
    }

    /// A child inode made in this directory, with the caller's `mode`.
    fn add_child(&self, name: &str, mode: u32, kind: Kind) -> Result<Arc<TmpInode>, Errno> {
        check_name(name)?;
        let dir = self.dir()?;
        let mut d = dir.lock();
        if self.meta.lock().nlink == 0 {
            return Err(Errno::ENOENT); // a removed directory
        }
        if d.children.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        let is_dir = matches!(kind, Kind::Dir(_));
        let child = TmpInode::new(&self.fs, mode, kind, self.me.clone());
        d.children.insert(String::from(name), child.clone());
        drop(d);
        self.d_invalidate(name);
        if is_dir {
            self.meta.lock().nlink += 1;
        }
        self.touch();
        Ok(child)
    }

    /// Adds a file with the archive's bytes as its contents (the initramfs).
    fn add_archive_file(&self, name: &str, mode: u32, data: &'static [u8], mtime: u64) -> Result<(), Errno> {
        let kind =
            Kind::File(IrqSpinLock::new(FileData { size: data.len() as u64, pages: Vec::new(), archive: Some(data) }));
        let child = match self.add_child(name, mode, kind) {
            Ok(c) => c,
            Err(Errno::EEXIST) => return Ok(()),
            Err(e) => return Err(e),
        };
        let mut m = child.meta.lock();
        m.mtime = mtime;
        m.atime = mtime;
        m.ctime = mtime;
        Ok(())
    }

    /// The directory `name`, made if missing (unpacking).
    fn ensure_dir(&self, name: &str, mode: u32) -> Result<Arc<TmpInode>, Errno> {
        if let Some(c) = self.dir()?.lock().children.get(name) {
            return if c.is_dir() { Ok(c.clone()) } else { Err(Errno::ENOTDIR) };
        }
        self.add_child(name, mode, Kind::Dir(IrqSpinLock::new(DirData::default())))
    }

    /// The mode (type and permission bits).
    pub fn mode(&self) -> u32 {
        self.meta.lock().mode
    }

    /// A regular file's size in bytes (0 for other kinds).
    pub fn size(&self) -> u64 {
        match &self.kind {
            Kind::File(d) => d.lock().size,
            _ => 0,
        }
    }

    /// Fills `buf` from byte `pos` of a regular file, for execve's reads of
    /// the ELF headers and of a segment's last partial page: ENOEXEC if the
    /// file ends first (Linux: `elf_read`'s short read).
    pub fn read_exact_at(&self, buf: &mut [u8], pos: u64) -> Result<(), Errno> {
        let Kind::File(data) = &self.kind else { return Err(Errno::EACCES) };
        let d = data.lock();
        let end = pos.checked_add(buf.len() as u64).filter(|&e| e <= d.size).ok_or(Errno::ENOEXEC)?;
        match d.archive {
            Some(bytes) => buf.copy_from_slice(&bytes[pos as usize..end as usize]),
            None => read_pages(&d, buf, pos),
        }
        Ok(())
    }
}

impl Drop for TmpInode {
    fn drop(&mut self) {
        if let Kind::File(data) = &self.kind {
            let mut d = data.lock();
            free_from(&self.fs, &mut d, 0);
        }
        self.fs.inodes.fetch_sub(1, Ordering::Relaxed);
    }
}

fn check_name(name: &str) -> Result<(), Errno> {
    if name.len() > 255 {
        return Err(Errno::ENAMETOOLONG);
    }
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// The bytes of a page.
fn page_bytes(pa: u64) -> &'static mut [u8] {
    // SAFETY: `pa` is a page a tmpfs file owns (one reference); the linear
    // map covers it, and the file's data lock serialises writers.
    unsafe { core::slice::from_raw_parts_mut(phys_to_virt(pa) as *mut u8, PAGE_SIZE) }
}

/// Copies from the file's pages at `pos` into `buf` (within the size).
fn read_pages(d: &FileData, buf: &mut [u8], pos: u64) {
    let mut done = 0;
    while done < buf.len() {
        let at = pos as usize + done;
        let (index, off) = (at / PAGE_SIZE, at % PAGE_SIZE);
        let n = (PAGE_SIZE - off).min(buf.len() - done);
        match d.pages.get(index).copied().filter(|&pa| pa != 0) {
            Some(pa) => buf[done..done + n].copy_from_slice(&page_bytes(pa)[off..off + n]),
            None => buf[done..done + n].fill(0),
        }
        done += n;
    }
}

/// Frees every page from byte `size` on (rounded up) and zeroes the tail of
/// the page `size` ends in.
fn free_from(fs: &Tmpfs, d: &mut FileData, size: u64) {
    let keep = (size as usize).div_ceil(PAGE_SIZE);
    let mut freed = 0;
    for pa in d.pages.drain(keep.min(d.pages.len())..) {
        if pa != 0 {
            page::put_page(pa);
            freed += 1;
        }
    }
    if freed > 0 {
        fs.uncharge(freed);
    }
    let off = size as usize % PAGE_SIZE;
    if off != 0 {
        if let Some(&pa) = d.pages.get(keep - 1).filter(|&&pa| pa != 0) {
            page_bytes(pa)[off..].fill(0);
        }
    }
}

/// Copies the archive's bytes into pages: the file is about to change.
fn materialize(fs: &Tmpfs, d: &mut FileData) -> Result<(), Errno> {
    let Some(bytes) = d.archive else { return Ok(()) };
    d.archive = None;
    if let Err(e) = write_pages(fs, d, bytes, 0) {
        free_from(fs, d, 0);
        d.archive = Some(bytes);
        return Err(e);
    }
    Ok(())
}

/// Writes `buf` at `pos`, allocating pages; a page that cannot be had ends
/// the write short (an error if nothing was written). Grows the size.
fn write_pages(fs: &Tmpfs, d: &mut FileData, buf: &[u8], pos: u64) -> Result<usize, Errno> {
    let end = pos.checked_add(buf.len() as u64).ok_or(Errno::EFBIG)?;
    if end > MAX_FILE_SIZE {
        return Err(Errno::EFBIG);
    }
    let last_page = (end as usize).div_ceil(PAGE_SIZE);
    let have = d.pages.len();
    if have < last_page {
        d.pages.try_reserve(last_page - have).map_err(|_| Errno::ENOMEM)?;
    }
    let mut done = 0;
    let mut error = None;
    while done < buf.len() {
        let at = pos as usize + done;
        let (index, off) = (at / PAGE_SIZE, at % PAGE_SIZE);
        let n = (PAGE_SIZE - off).min(buf.len() - done);
        if d.pages.len() <= index {
            d.pages.resize(index + 1, 0);
        }
        if d.pages[index] == 0 {
            if let Err(e) = fs.charge(1) {
                error = Some(e);
                break;
            }
            match page::alloc_user_page() {
                Some(pa) => d.pages[index] = pa,
                None => {
                    fs.uncharge(1);
                    error = Some(Errno::ENOMEM);
                    break;
                }
            }
        }
        page_bytes(d.pages[index])[off..off + n].copy_from_slice(&buf[done..done + n]);
        done += n;
    }
    // Pages past the size that a failed write left as holes.
    while d.pages.last() == Some(&0) && d.pages.len() * PAGE_SIZE > d.size.max((pos as usize + done) as u64) as usize {
        d.pages.pop();
    }
    if done > 0 {
        d.size = d.size.max(pos + done as u64);
        Ok(done)
    } else {
        match error {
            Some(e) => Err(e),
            None => Ok(0),
        }
    }
}

impl TmpInode {
    fn read_at(&self, buf: &mut [u8], pos: u64) -> Result<usize, Errno> {
        let data = match &self.kind {
            Kind::File(d) => d,
            Kind::Dir(_) => return Err(Errno::EISDIR),
            _ => return Err(Errno::EINVAL),
        };
        let d = data.lock();
        if pos >= d.size {
            return Ok(0);
        }
        let n = buf.len().min((d.size - pos) as usize);
        match d.archive {
            Some(bytes) => buf[..n].copy_from_slice(&bytes[pos as usize..pos as usize + n]),
            None => read_pages(&d, &mut buf[..n], pos),
        }
        drop(d);
        self.meta.lock().atime = now();
        Ok(n)
    }

    /// Adds `buf` at the end of a regular file (exec's copy of a program
    /// from another file system, vfs.rs `open_exec`).
    pub fn append_bytes(&self, buf: &[u8]) -> Result<(), Errno> {
        self.write_at(buf, None).map(|_| ())
    }

    /// Writes at `pos`, or at the end when `pos` is None; returns the bytes
    /// written and where they end.
    fn write_at(&self, buf: &[u8], pos: Option<u64>) -> Result<(usize, u64), Errno> {
        let Kind::File(data) = &self.kind else { return Err(Errno::EINVAL) };
        let mut d = data.lock();
        let pos = pos.unwrap_or(d.size);
        if buf.is_empty() {
            return Ok((0, pos));
        }
        materialize(&self.fs, &mut d)?;
        let n = write_pages(&self.fs, &mut d, buf, pos)?;
        drop(d);
        self.touch();
        Ok((n, pos + n as u64))
    }

    fn truncate(&self, size: u64) -> Result<(), Errno> {
        let data = match &self.kind {
            Kind::File(d) => d,
            Kind::Dir(_) => return Err(Errno::EISDIR),
            _ => return Err(Errno::EINVAL),
        };
        if size > MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        let mut d = data.lock();
        if d.archive.is_some() && size != d.size {
            materialize(&self.fs, &mut d)?;
        }
        if size < d.size {
            free_from(&self.fs, &mut d, size);
        }
        d.size = size;
        drop(d);
        self.touch();
        Ok(())
    }

    /// Pages of the file in use (for st_blocks, and the resident size of
    /// System V shared memory).
    pub fn pages_in_use(&self) -> u64 {
        match &self.kind {
            Kind::File(d) => {
                let d = d.lock();
                match d.archive {
                    Some(b) => (b.len() as u64).div_ceil(PAGE_SIZE as u64),
                    None => d.pages.iter().filter(|&&pa| pa != 0).count() as u64,
                }
            }
            _ => 0,
        }
    }

    /// Allocates the pages of `[offset, offset + len)` (fallocate mode 0).
    pub fn allocate(&self, offset: u64, len: u64) -> Result<(), Errno> {
        let Kind::File(data) = &self.kind else { return Err(Errno::ENODEV) };
        let end = offset.checked_add(len).filter(|&e| e <= MAX_FILE_SIZE).ok_or(Errno::EFBIG)?;
        let mut d = data.lock();
        materialize(&self.fs, &mut d)?;
        let first = offset as usize / PAGE_SIZE;
        let last = (end as usize).div_ceil(PAGE_SIZE);
        let have = d.pages.len();
        if have < last {
            d.pages.try_reserve(last - have).map_err(|_| Errno::ENOMEM)?;
            d.pages.resize(last, 0);
        }
        for index in first..last {
            if d.pages[index] == 0 {
                self.fs.charge(1)?;
                match page::alloc_user_page() {
                    Some(pa) => d.pages[index] = pa,
                    None => {
                        self.fs.uncharge(1);
                        return Err(Errno::ENOMEM);
                    }
                }
            }
        }
        d.size = d.size.max(end);
        drop(d);
        self.touch();
        Ok(())
    }
}

impl crate::mm::filemap::AddressSpace for TmpInode {
    fn find_or_create_page(&self, index: u64) -> Result<u64, Errno> {
        let Kind::File(data) = &self.kind else { return Err(Errno::ENODEV) };
        let mut d = data.lock();
        materialize(&self.fs, &mut d)?;
        let index = usize::try_from(index).map_err(|_| Errno::EFAULT)?;
        if index >= (d.size as usize).div_ceil(PAGE_SIZE) {
            return Err(Errno::EFAULT);
        }
        if d.pages.len() <= index {
            let more = index + 1 - d.pages.len();
            d.pages.try_reserve(more).map_err(|_| Errno::ENOMEM)?;
            d.pages.resize(index + 1, 0);
        }
        if d.pages[index] == 0 {
            self.fs.charge(1)?;
            match page::alloc_user_page() {
                Some(pa) => d.pages[index] = pa,
                None => {
                    self.fs.uncharge(1);
                    return Err(Errno::ENOMEM);
                }
            }
        }
        let pa = d.pages[index];
        page::get_page(pa);
        Ok(pa)
    }

    fn find_page(&self, index: u64) -> Option<u64> {
        let Kind::File(data) = &self.kind else { return None };
        let d = data.lock();
        usize::try_from(index).ok().and_then(|i| d.pages.get(i).copied()).filter(|&pa| pa != 0)
    }
}

/// The internal tmpfs of shared anonymous memory (Linux: `shm_mnt`).
static SHM_ROOT: spin::Once<Arc<TmpInode>> = spin::Once::new();

/// A nameless file of `size` bytes backing a shared anonymous mapping
/// (Linux: `shmem_zero_setup`).
pub fn shmem_file(size: u64) -> Result<Arc<TmpInode>, Errno> {
    let root = SHM_ROOT.call_once(|| Tmpfs::new_root(Tmpfs::default_pages()));
    let file = TmpInode::new(
        &root.fs,
        mode::S_IFREG | 0o600,
        Kind::File(IrqSpinLock::new(FileData { size, pages: Vec::new(), archive: None })),
        Weak::new(),
    );
    file.meta.lock().nlink = 0;
    Ok(file)
}

fn downcast(inode: &InodeRef) -> Result<Arc<TmpInode>, Errno> {
    inode.as_any().downcast_ref::<TmpInode>().map(|t| t.this()).ok_or(Errno::EXDEV)
}

fn is_empty_dir(node: &TmpInode) -> bool {
    match &node.kind {
        Kind::Dir(d) => d.lock().children.is_empty(),
        _ => false,
    }
}

impl Inode for TmpInode {
    fn getattr(&self) -> Stat {
        let (size, blocks) = match &self.kind {
            Kind::File(d) => {
                let size = d.lock().size as i64;
                (size, self.pages_in_use() * 8)
            }
            Kind::Dir(d) => (((d.lock().children.len() + 2) * 20) as i64, 0),
            Kind::Symlink(t) => (t.len() as i64, 0),
            Kind::Device(_) | Kind::BlockDevice(_) | Kind::Socket | Kind::Fifo(_) => (0, 0),
        };
        let m = self.meta.lock();
        Stat {
            dev: self.fs.sb.dev,
            ino: self.ino,
            mode: m.mode,
            nlink: m.nlink,
            uid: m.uid,
            gid: m.gid,
            rdev: match self.kind {
                Kind::Device(r) | Kind::BlockDevice(r) => r,
                _ => 0,
            },
            size,
            blocks: Some(blocks),
            atime: m.atime,
            mtime: m.mtime,
            ctime: m.ctime,
        }
    }

    fn file_type(&self) -> u32 {
        match &self.kind {
            Kind::Dir(_) => mode::S_IFDIR,
            Kind::File(_) => mode::S_IFREG,
            Kind::Symlink(_) => mode::S_IFLNK,
            Kind::Device(_) => mode::S_IFCHR,
            Kind::BlockDevice(_) => mode::S_IFBLK,
            Kind::Socket => mode::S_IFSOCK,
            Kind::Fifo(_) => mode::S_IFIFO,
        }
    }

    fn super_block(&self) -> &SuperBlock {
        &self.fs.sb
    }

    fn statfs(&self) -> StatFs {
        let used = self.fs.used_pages.load(Ordering::Relaxed) as u64;
        let files = self.fs.inodes.load(Ordering::Relaxed) as u64;
        let max_inodes = (self.fs.max_pages as u64).max(files);
        StatFs {
            magic: TMPFS_MAGIC,
            bsize: PAGE_SIZE as u64,
            blocks: self.fs.max_pages as u64,
            bfree: (self.fs.max_pages as u64).saturating_sub(used),
            files: max_inodes,
            ffree: max_inodes - files,
            namelen: 255,
        }
    }

    fn lookup(&self, name: &str) -> Result<InodeRef, Errno> {
        let d = self.dir()?.lock();
        d.children.get(name).map(|c| c.clone() as InodeRef).ok_or(Errno::ENOENT)
    }

    fn dcache_id(&self) -> Option<(u64, u64)> {
        // Inode numbers come from a counter of the mount and are never
        // reused.
        self.is_dir().then_some((self.fs.sb.dev, self.ino))
    }

    fn may_be_mountpoint(&self) -> bool {
        self.mounts.load(Ordering::Acquire) != 0
    }

    fn note_mount(&self, delta: i32) {
        if delta > 0 {
            self.mounts.fetch_add(1, Ordering::AcqRel);
        } else {
            self.mounts.fetch_sub(1, Ordering::AcqRel);
        }
    }

    fn parent(&self) -> Option<InodeRef> {
        self.parent.lock().upgrade().map(|p| p as InodeRef)
    }

    fn name_of(&self, child: &InodeRef) -> Option<String> {
        let d = self.dir().ok()?.lock();
        d.children.iter().find(|(_, c)| core::ptr::addr_eq(Arc::as_ptr(c), Arc::as_ptr(child))).map(|(n, _)| n.clone())
    }

    fn readlink(&self) -> Result<String, Errno> {
        match &self.kind {
            Kind::Symlink(t) => Ok(t.clone()),
            _ => Err(Errno::EINVAL),
        }
    }

    fn open(self: Arc<Self>, path: String, open_flags: u32) -> Result<Arc<dyn FileOps>, Errno> {
        match self.kind {
            Kind::Device(rdev) => super::devfs::open_rdev(rdev),
            Kind::BlockDevice(rdev) => crate::block::bdev::open_rdev(rdev),
            Kind::Symlink(_) => Err(Errno::ELOOP),
            // Linux: a socket inode has no file operations to open.
            Kind::Socket => Err(Errno::ENXIO),
            Kind::Fifo(ref fifo) => Ok(fifo.open(open_flags)?),
            Kind::Dir(_) => Ok(Arc::new(InodeFile { inode: self, path })),
            Kind::File(_) => {
                if open_flags & flags::O_TRUNC != 0 && open_flags & flags::O_ACCMODE != flags::O_RDONLY {
                    self.truncate(0)?;
                }
                Ok(Arc::new(InodeFile { inode: self, path }))
            }
        }
    }

    fn create(&self, name: &str, mode: u32, rdev: u64) -> Result<InodeRef, Errno> {
        let kind = match mode & mode::S_IFMT {
            mode::S_IFREG => Kind::File(IrqSpinLock::new(FileData::default())),
            mode::S_IFCHR => Kind::Device(rdev),
            mode::S_IFBLK => Kind::BlockDevice(rdev),
            mode::S_IFSOCK => Kind::Socket,
            mode::S_IFIFO => Kind::Fifo(super::pipe::Fifo::default()),
            _ => return Err(Errno::EPERM),
        };
        Ok(self.add_child(name, mode, kind)?)
    }

    fn mkdir(&self, name: &str, mode: u32) -> Result<InodeRef, Errno> {
        Ok(self.add_child(name, mode::S_IFDIR | (mode & 0o7777), Kind::Dir(IrqSpinLock::new(DirData::default())))?)
    }

    fn symlink(&self, name: &str, target: &str) -> Result<InodeRef, Errno> {
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        Ok(self.add_child(name, mode::S_IFLNK | 0o777, Kind::Symlink(String::from(target)))?)
    }

    fn link(&self, name: &str, target: &InodeRef) -> Result<(), Errno> {
        check_name(name)?;
        let target = downcast(target)?;
        let mut d = self.dir()?.lock();
        if d.children.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        {
            let mut m = target.meta.lock();
            if m.nlink == 0 {
                return Err(Errno::ENOENT);
            }
            m.nlink += 1;
            m.ctime = now();
        }
        d.children.insert(String::from(name), target);
        drop(d);
        self.d_invalidate(name);
        self.touch();
        Ok(())
    }

    fn unlink(&self, name: &str) -> Result<(), Errno> {
        let mut d = self.dir()?.lock();
        let child = d.children.get(name).ok_or(Errno::ENOENT)?;
        if child.is_dir() {
            return Err(Errno::EISDIR);
        }
        let child = d.children.remove(name).expect("present");
        drop(d);
        self.d_invalidate(name);
        {
            let mut m = child.meta.lock();
            m.nlink = m.nlink.saturating_sub(1);
            m.ctime = now();
        }
        self.touch();
        Ok(())
    }

    fn rmdir(&self, name: &str) -> Result<(), Errno> {
        let mut d = self.dir()?.lock();
        let child = d.children.get(name).ok_or(Errno::ENOENT)?;
        if !child.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if !is_empty_dir(child) {
            return Err(Errno::ENOTEMPTY);
        }
        let child = d.children.remove(name).expect("present");
        drop(d);
        self.d_invalidate(name);
        child.meta.lock().nlink = 0;
        self.meta.lock().nlink -= 1;
        self.touch();
        Ok(())
    }

    fn rename(&self, old: &str, new_dir: &InodeRef, new: &str, rename_flags: u32) -> Result<(), Errno> {
        check_name(new)?;
        let new_dir = downcast(new_dir)?;
        let old_dir = self.this();
        let _guard = self.fs.rename_lock.lock();
        if Arc::ptr_eq(&old_dir, &new_dir) {
            let mut d = old_dir.dir()?.lock();
            let moving = d.children.get(old).cloned().ok_or(Errno::ENOENT)?;
            let existing = d.children.get(new).cloned();
            let plan = plan_rename(&moving, existing.as_ref(), &old_dir, &new_dir, rename_flags)?;
            if plan == Plan::Nothing {
                return Ok(());
            }
            d.children.remove(old);
            if let Some(other) = existing.clone().filter(|_| plan == Plan::Exchange) {
                d.children.insert(String::from(old), other);
            }
            d.children.insert(String::from(new), moving.clone());
            drop(d);
            old_dir.d_invalidate(old);
            new_dir.d_invalidate(new);
            finish_rename(&moving, existing, &old_dir, &new_dir, plan);
            return Ok(());
        }
        // Both maps, locked in address order.
        let (mut src, mut dst);
        if Arc::as_ptr(&old_dir) < Arc::as_ptr(&new_dir) {
            src = old_dir.dir()?.lock();
            dst = new_dir.dir()?.lock();
        } else {
            dst = new_dir.dir()?.lock();
            src = old_dir.dir()?.lock();
        }
        let moving = src.children.get(old).cloned().ok_or(Errno::ENOENT)?;
        let existing = dst.children.get(new).cloned();
        if new_dir.meta.lock().nlink == 0 {
            return Err(Errno::ENOENT);
        }
        let plan = plan_rename(&moving, existing.as_ref(), &old_dir, &new_dir, rename_flags)?;
        if plan == Plan::Nothing {
            return Ok(());
        }
        src.children.remove(old);
        if let Some(other) = existing.clone().filter(|_| plan == Plan::Exchange) {
            src.children.insert(String::from(old), other);
        }
        dst.children.insert(String::from(new), moving.clone());
        drop(src);
        drop(dst);
        old_dir.d_invalidate(old);
        new_dir.d_invalidate(new);
        finish_rename(&moving, existing, &old_dir, &new_dir, plan);
        Ok(())
    }

    fn setattr(&self, attr: &SetAttr) -> Result<(), Errno> {
        if let Some(size) = attr.size {
            self.truncate(size)?;
        }
        let t = now();
        let mut m = self.meta.lock();
        if let Some(mode) = attr.mode {
            m.mode = (m.mode & mode::S_IFMT) | (mode & 0o7777);
        }
        if let Some(uid) = attr.uid {
            m.uid = uid;
        }
        if let Some(gid) = attr.gid {
            m.gid = gid;
        }
        if let Some(a) = attr.atime {
            m.atime = a;
        }
        if let Some(mt) = attr.mtime {
            m.mtime = mt;
        }
        m.ctime = t;
        Ok(())
    }

    fn as_any_arc(self: Arc<Self>) -> Arc<dyn core::any::Any + Send + Sync> {
        self
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Whether `dir` is `node` or lies below it.
fn is_ancestor(node: &Arc<TmpInode>, dir: &Arc<TmpInode>) -> bool {
    let mut at = Some(dir.clone());
    while let Some(d) = at {
        if Arc::ptr_eq(&d, node) {
            return true;
        }
        at = d.parent.lock().upgrade();
    }
    false
}

/// What a rename does, once checked.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// Old and new name are links to one inode (Linux does nothing).
    Nothing,
    /// Moves, replacing what the new name had, if anything.
    Move,
    /// Swaps the two (RENAME_EXCHANGE).
    Exchange,
}

/// The checks of a rename (Linux: `vfs_rename`'s and `shmem_rename2`'s).
fn plan_rename(
    moving: &Arc<TmpInode>,
    existing: Option<&Arc<TmpInode>>,
    old_dir: &Arc<TmpInode>,
    new_dir: &Arc<TmpInode>,
    rename_flags: u32,
) -> Result<Plan, Errno> {
    if rename_flags & RENAME_EXCHANGE != 0 {
        let other = existing.ok_or(Errno::ENOENT)?;
        if Arc::ptr_eq(other, moving) {
            return Ok(Plan::Nothing);
        }
        if moving.is_dir() && is_ancestor(moving, new_dir) || other.is_dir() && is_ancestor(other, old_dir) {
            return Err(Errno::EINVAL);
        }
        return Ok(Plan::Exchange);
    }
    if moving.is_dir() && is_ancestor(moving, new_dir) {
        return Err(Errno::EINVAL);
    }
    if let Some(other) = existing {
        if rename_flags & RENAME_NOREPLACE != 0 {
            return Err(Errno::EEXIST);
        }
        if Arc::ptr_eq(other, moving) {
            return Ok(Plan::Nothing);
        }
        // The target an ancestor of the source (`rename("d/sub", "d")`):
        // not empty, and its map may be the one this rename holds.
        if other.is_dir() && is_ancestor(other, old_dir) {
            return Err(Errno::ENOTEMPTY);
        }
        match (moving.is_dir(), other.is_dir()) {
            (true, false) => return Err(Errno::ENOTDIR),
            (false, true) => return Err(Errno::EISDIR),
            (true, true) if !is_empty_dir(other) => return Err(Errno::ENOTEMPTY),
            _ => {}
        }
    }
    Ok(Plan::Move)
}

/// Link counts, parent links and times after the maps changed.
fn finish_rename(
    moving: &Arc<TmpInode>,
    existing: Option<Arc<TmpInode>>,
    old_dir: &Arc<TmpInode>,
    new_dir: &Arc<TmpInode>,
    plan: Plan,
) {
    let same = Arc::ptr_eq(old_dir, new_dir);
    if moving.is_dir() {
        *moving.parent.lock() = Arc::downgrade(new_dir);
        if !same {
            adjust_nlink(old_dir, -1);
            adjust_nlink(new_dir, 1);
        }
    }
    moving.touch_ctime();
    if let Some(other) = existing {
        if plan == Plan::Exchange {
            if other.is_dir() {
                *other.parent.lock() = Arc::downgrade(old_dir);
                if !same {
                    adjust_nlink(new_dir, -1);
                    adjust_nlink(old_dir, 1);
                }
            }
            other.touch_ctime();
        } else if other.is_dir() {
            other.meta.lock().nlink = 0;
            adjust_nlink(new_dir, -1);
        } else {
            let mut m = other.meta.lock();
            m.nlink = m.nlink.saturating_sub(1);
            m.ctime = now();
        }
    }
    old_dir.touch();
    if !same {
        new_dir.touch();
    }
}

fn adjust_nlink(dir: &TmpInode, delta: i32) {
    let mut m = dir.meta.lock();
    m.nlink = m.nlink.saturating_add_signed(delta);
}

impl FileInode for TmpInode {
    fn read_at(&self, buf: &mut [u8], pos: u64) -> Result<usize, Errno> {
        TmpInode::read_at(self, buf, pos)
    }
    fn write_at(&self, buf: &[u8], pos: Option<u64>) -> Result<(usize, u64), Errno> {
        TmpInode::write_at(self, buf, pos)
    }
    fn read_dir(&self) -> Result<Vec<DirEntry>, Errno> {
        let d = self.dir()?.lock();
        let mut out = Vec::new();
        out.try_reserve_exact(d.children.len()).map_err(|_| Errno::ENOMEM)?;
        for (name, c) in &d.children {
            let dt = match &c.kind {
                Kind::Dir(_) => dtype::DT_DIR,
                Kind::File(_) => dtype::DT_REG,
                Kind::Symlink(_) => dtype::DT_LNK,
                Kind::Device(_) => dtype::DT_CHR,
                Kind::BlockDevice(_) => dtype::DT_BLK,
                Kind::Socket => dtype::DT_SOCK,
                Kind::Fifo(_) => dtype::DT_FIFO,
            };
            out.push(DirEntry { ino: c.ino, dtype: dt, name: name.clone() });
        }
        Ok(out)
    }
}

/// Unpacks the built-in archive into the tmpfs whose root is `root`
/// (Linux: `populate_rootfs`); returns the number of files. A damaged
/// archive is unpacked up to the damage; directories implied by a path
/// are made.
pub fn populate_rootfs(root: &Arc<TmpInode>, archive: &'static [u8]) -> usize {
    let mut files = 0;
    for entry in super::cpio::Archive::new(archive).entries() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                log::error!("initramfs: damaged archive: {e:?}");
                break;
            }
        };
        let path = entry.path();
        if path.is_empty() {
            continue;
        }
        let mut parts = path.split('/').filter(|p| !p.is_empty() && *p != ".").peekable();
        let mut dir = root.clone();
        let mut ok = true;
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                let mtime = entry.mtime as u64 * 1_000_000_000;
                let r = match entry.mode & mode::S_IFMT {
                    mode::S_IFDIR => dir.ensure_dir(part, entry.mode).map(|_| ()),
                    mode::S_IFLNK => match core::str::from_utf8(entry.data) {
                        Ok(t) => dir.symlink(part, t).map(|_| ()),
                        Err(_) => Err(Errno::EINVAL),
                    },
                    mode::S_IFREG => {
                        files += 1;
                        dir.add_archive_file(part, entry.mode, entry.data, mtime)
                    }
                    _ => Err(Errno::EINVAL),
                };
                if let Err(e) = r {
                    log::warn!("initramfs: {path}: {e:?}");
                }
                break;
            }
            match dir.ensure_dir(part, mode::S_IFDIR | 0o755) {
                Ok(d) => dir = d,
                Err(e) => {
                    log::warn!("initramfs: {path}: {e:?}");
                    ok = false;
                    break;
                }
            }
        }
        let _ = ok;
    }
    files
}
