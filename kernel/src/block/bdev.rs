//! Registered block devices and their nodes (Linux: block/genhd.c,
//! block/bdev.c, block/fops.c, block/ioctl.c): a disk and each partition
//! of it are a [`Bdev`], a range of the disk's sectors read and written
//! through the disk's one [`BufferCache`] (keyed by the disk's own sector
//! numbers, so a partition and the whole disk never hold two copies of a
//! sector). Each gets a node in /dev (`S_IFBLK`, major 179 for the SD card
//! as on Linux); opening one gives a seekable file with the
//! `BLKGETSIZE64`, `BLKGETSIZE`, `BLKSSZGET` and `BLKFLSBUF` ioctls.
//! Transfers that reach the device (cache misses, write-backs) are counted
//! per disk and per partition for `/proc/diskstats`.
//!
//! Locks: [`BDEVS`] is taken alone (to find a device); a disk's cache lock
//! is a mutex held across its transfers, which sleep for the controller
//! (mmc.rs), and is taken before the controller's.

use super::cache::{BufferCache, SECTOR};
use super::BlockDevice;
use crate::errno::Errno;
use crate::fs::devfs::mkdev;
use crate::fs::file::{mode, FileOps, Stat};
use crate::sched::mutex::Mutex;
use crate::sync::IrqSpinLock;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// The major number of SD/MMC block devices (Linux: MMC_BLOCK_MAJOR).
pub const MMC_BLOCK_MAJOR: u64 = 179;
/// Sectors the buffer cache of a disk keeps (2 MiB).
const CACHE_SECTORS: usize = 4096;

/// Transfer counters (Linux: `struct disk_stats`).
#[derive(Default)]
pub struct IoStats {
    reads: AtomicU64,
    read_sectors: AtomicU64,
    read_ns: AtomicU64,
    writes: AtomicU64,
    write_sectors: AtomicU64,
    write_ns: AtomicU64,
}

/// A disk with its cache.
pub struct Disk {
    dev: Box<dyn BlockDevice>,
    cache: Mutex<BufferCache>,
    /// Bytes in `cache`, kept beside it for `/proc/meminfo`, which must not
    /// wait for a transfer.
    cached: AtomicUsize,
    /// The whole disk's counters, and each partition's with its range.
    stats: Arc<IoStats>,
    part_stats: IrqSpinLock<Vec<(u64, u64, Arc<IoStats>)>>,
}

impl Disk {
    /// Runs `f` on the cache, under its lock.
    fn with_cache<R>(&self, f: impl FnOnce(&mut BufferCache) -> R) -> R {
        let mut cache = self.cache.lock();
        let r = f(&mut cache);
        self.cached.store(cache.len() * SECTOR, Ordering::Relaxed);
        r
    }

    fn account(&self, write: bool, lba: u64, sectors: u64, ns: u64) {
        let count = |s: &IoStats| {
            let (n, sec, t) = if write {
                (&s.writes, &s.write_sectors, &s.write_ns)
            } else {
                (&s.reads, &s.read_sectors, &s.read_ns)
            };
            n.fetch_add(1, Ordering::Relaxed);
            sec.fetch_add(sectors, Ordering::Relaxed);
            t.fetch_add(ns, Ordering::Relaxed);
        };
        count(&self.stats);
        for (start, end, s) in self.part_stats.lock().iter() {
            if (*start..*end).contains(&lba) {
                count(s);
            }
        }
    }
}

/// The disk as the cache sees it: its device, with each transfer counted.
impl BlockDevice for Disk {
    fn nr_sectors(&self) -> u64 {
        self.dev.nr_sectors()
    }
    fn read_sectors(&self, lba: u64, buf: &mut [u8]) -> Result<(), Errno> {
        let t = crate::time::uptime_ns();
        let r = self.dev.read_sectors(lba, buf);
        self.account(false, lba, (buf.len() / SECTOR) as u64, crate::time::uptime_ns() - t);
        r
    }
    fn write_sectors(&self, lba: u64, buf: &[u8]) -> Result<(), Errno> {
        let t = crate::time::uptime_ns();
        let r = self.dev.write_sectors(lba, buf);
        self.account(true, lba, (buf.len() / SECTOR) as u64, crate::time::uptime_ns() - t);
        r
    }
}

/// A disk or a partition of one (Linux: `struct block_device`).
pub struct Bdev {
    /// The name in /dev and /proc/partitions.
    pub name: String,
    pub rdev: u64,
    disk: Arc<Disk>,
    /// First sector on the disk.
    start: u64,
    sectors: u64,
    stats: Arc<IoStats>,
}

static BDEVS: IrqSpinLock<Vec<Arc<Bdev>>> = IrqSpinLock::new(Vec::new());

impl Bdev {
    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.sectors * SECTOR as u64
    }

    /// Reads `buf.len()` bytes at `pos`; EIO past the end.
    pub fn read_bytes(&self, pos: u64, buf: &mut [u8]) -> Result<(), Errno> {
        self.check(pos, buf.len())?;
        self.disk.with_cache(|c| c.read_bytes(&*self.disk, self.start * SECTOR as u64 + pos, buf))
    }

    /// Writes `data` at `pos` (into the cache); EIO past the end.
    pub fn write_bytes(&self, pos: u64, data: &[u8]) -> Result<(), Errno> {
        self.check(pos, data.len())?;
        self.disk.with_cache(|c| c.write_bytes(&*self.disk, self.start * SECTOR as u64 + pos, data))
    }

    /// Writes the disk's dirty sectors back (Linux: `sync_blockdev`).
    pub fn flush(&self) -> Result<(), Errno> {
        self.disk.with_cache(|c| c.flush(&*self.disk))
    }

    fn check(&self, pos: u64, len: usize) -> Result<(), Errno> {
        match pos.checked_add(len as u64) {
            Some(end) if end <= self.size() => Ok(()),
            _ => Err(Errno::EIO),
        }
    }
}

/// Registers `dev` as `name` with minor `first_minor`, and its MBR
/// partitions as `<name>p<n>` with the minors after it (Linux:
/// `add_disk` with `bdev_disk_changed`); makes their /dev nodes. A disk
/// whose sector 0 cannot be read or holds no table is registered alone.
pub fn add_disk(name: &str, major: u64, first_minor: u64, dev: Box<dyn BlockDevice>) -> Result<(), Errno> {
    let sectors = dev.nr_sectors();
    let disk = Arc::new(Disk {
        dev,
        cache: Mutex::new(BufferCache::new(CACHE_SECTORS)),
        cached: AtomicUsize::new(0),
        stats: Arc::new(IoStats::default()),
        part_stats: IrqSpinLock::new(Vec::new()),
    });
    let whole = Arc::new(Bdev {
        name: String::from(name),
        rdev: mkdev(major, first_minor),
        disk: disk.clone(),
        start: 0,
        sectors,
        stats: disk.stats.clone(),
    });
    let mut sector0 = [0u8; SECTOR];
    let mut found = Vec::new();
    match whole.read_bytes(0, &mut sector0).map(|_| super::mbr::parse(&sector0, sectors)) {
        Ok(Ok(parts)) => {
            for p in parts.iter() {
                let stats = Arc::new(IoStats::default());
                disk.part_stats.lock().push((p.start, p.start + p.sectors, stats.clone()));
                found.push(Arc::new(Bdev {
                    name: format!("{name}p{}", p.number),
                    rdev: mkdev(major, first_minor + p.number as u64),
                    disk: disk.clone(),
                    start: p.start,
                    sectors: p.sectors,
                    stats,
                }));
            }
            let names: Vec<&str> = found.iter().map(|b| b.name.as_str()).collect();
            log::info!(" {name}: {}", names.join(" "));
            for p in parts.beyond_end.iter() {
                log::warn!(
                    "{name}: p{} (sectors {}..{}) extends beyond the end of the disk ({sectors} sectors): not used",
                    p.number,
                    p.start,
                    p.start + p.sectors
                );
            }
        }
        Ok(Err(super::mbr::MbrError::Gpt)) => log::warn!("{name}: GPT partition table not supported"),
        Ok(Err(super::mbr::MbrError::NoSignature)) => log::info!("{name}: no partition table"),
        Err(e) => log::error!("{name}: cannot read the partition table: {e:?}"),
    }
    let mut all = Vec::new();
    all.push(whole);
    all.extend(found);
    for b in &all {
        make_node(b);
    }
    let mut list = BDEVS.lock();
    list.try_reserve(all.len()).map_err(|_| Errno::ENOMEM)?;
    list.extend(all);
    Ok(())
}

/// The /dev node of `b` (Linux: devtmpfs's `devtmpfs_create_node`).
fn make_node(b: &Bdev) {
    let root = crate::fs::namespace::root();
    let start = crate::fs::namei::WalkStart { root: root.clone(), dir: root };
    let made = crate::fs::namei::path_lookup(&start, "/dev", true)
        .and_then(|dev| dev.inode.create(&b.name, mode::S_IFBLK | 0o660, b.rdev));
    if let Err(e) = made {
        log::warn!("devtmpfs: /dev/{}: {e:?}", b.name);
    }
}

/// The device numbered `rdev`.
pub fn lookup_rdev(rdev: u64) -> Option<Arc<Bdev>> {
    BDEVS.lock().iter().find(|b| b.rdev == rdev).cloned()
}

/// Opens the block device `rdev` (Linux: `blkdev_open`); ENXIO if none.
pub fn open_rdev(rdev: u64) -> Result<Arc<dyn FileOps>, Errno> {
    let bdev = lookup_rdev(rdev).ok_or(Errno::ENXIO)?;
    Ok(Arc::new(BdevFile { bdev }))
}

/// Writes every disk's dirty sectors back (Linux: `sync` / `ksys_sync`);
/// the first error is returned, every disk is tried.
pub fn sync_all() -> Result<(), Errno> {
    let bdevs: Vec<Arc<Bdev>> = BDEVS.lock().clone();
    let mut result = Ok(());
    for b in bdevs.iter().filter(|b| b.start == 0) {
        if let Err(e) = b.flush() {
            log::error!("{}: write-back failed: {e:?}", b.name);
            result = result.and(Err(e));
        }
    }
    result
}

/// Drops the clean sectors of every disk's cache (the shrinker under memory
/// pressure, and `vm/drop_caches`); a cache in use is skipped: its holder
/// may be the very allocation that is short of memory. Returns the bytes
/// freed.
pub fn shrink_buffers() -> usize {
    let mut freed = 0;
    let Some(bdevs) = BDEVS.try_lock() else { return 0 };
    for b in bdevs.iter().filter(|b| b.start == 0) {
        if let Some(mut cache) = b.disk.cache.try_lock() {
            let before = cache.len();
            cache.drop_clean();
            freed += (before - cache.len()) * SECTOR;
            b.disk.cached.store(cache.len() * SECTOR, Ordering::Relaxed);
        }
    }
    freed
}

/// The bytes the disks' caches hold (`/proc/meminfo`'s `Buffers`).
pub fn buffers_bytes() -> usize {
    BDEVS.lock().iter().filter(|b| b.start == 0).map(|b| b.disk.cached.load(Ordering::Relaxed)).sum()
}

/// `/proc/partitions` (Linux: `show_partition`): major, minor, size in
/// KiB, name.
pub fn proc_partitions() -> String {
    let mut out = String::from("major minor  #blocks  name\n\n");
    for b in BDEVS.lock().iter() {
        out.push_str(&format!("{:4}  {:7} {:10} {}\n", b.rdev >> 8, b.rdev & 0xff, b.sectors / 2, b.name));
    }
    out
}

/// `/proc/diskstats` (Linux: `diskstats_show`, the 20 fields of 6.1):
/// reads, merged reads, sectors read, ms reading, the same for writes, I/Os
/// in flight, ms busy, weighted ms, then discard and flush fields (none
/// here). Merges are not counted (transfers are merged before they reach
/// the device), busy time is the sum of read and write time.
pub fn proc_diskstats() -> String {
    let mut out = String::new();
    for b in BDEVS.lock().iter() {
        let s = &b.stats;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let (rms, wms) = (get(&s.read_ns) / 1_000_000, get(&s.write_ns) / 1_000_000);
        out.push_str(&format!(
            "{:4} {:7} {} {} 0 {} {} {} 0 {} {} 0 {} {} 0 0 0 0 0 0\n",
            b.rdev >> 8,
            b.rdev & 0xff,
            b.name,
            get(&s.reads),
            get(&s.read_sectors),
            rms,
            get(&s.writes),
            get(&s.write_sectors),
            wms,
            rms + wms,
            rms + wms
        ));
    }
    out
}

/// An open block device node.
struct BdevFile {
    bdev: Arc<Bdev>,
}

/// ioctl numbers (include/uapi/linux/fs.h).
const BLKGETSIZE: u32 = 0x1260;
const BLKFLSBUF: u32 = 0x1261;
const BLKSSZGET: u32 = 0x1268;
const BLKGETSIZE64: u32 = 0x8008_1272;

impl FileOps for BdevFile {
    fn read(&self, buf: &mut [u8], pos: u64, _nonblock: bool) -> Result<usize, Errno> {
        let size = self.bdev.size();
        if pos >= size {
            return Ok(0);
        }
        let n = buf.len().min((size - pos) as usize);
        self.bdev.read_bytes(pos, &mut buf[..n])?;
        Ok(n)
    }

    /// Linux: ENOSPC at or past the end, a short write across it.
    fn write_at(&self, buf: &[u8], pos: u64) -> Result<usize, Errno> {
        let size = self.bdev.size();
        if pos >= size {
            return Err(Errno::ENOSPC);
        }
        let n = buf.len().min((size - pos) as usize);
        self.bdev.write_bytes(pos, &buf[..n])?;
        Ok(n)
    }

    fn ioctl(&self, cmd: u32, arg: u64) -> Result<u64, Errno> {
        use crate::mm::uaccess::copy_to_user;
        match cmd {
            BLKGETSIZE64 => copy_to_user(arg, &self.bdev.size().to_le_bytes()).map(|_| 0),
            BLKGETSIZE => copy_to_user(arg, &self.bdev.sectors.to_le_bytes()).map(|_| 0),
            BLKSSZGET => copy_to_user(arg, &(SECTOR as i32).to_le_bytes()).map(|_| 0),
            BLKFLSBUF => self.bdev.flush().map(|_| 0),
            _ => Err(Errno::ENOTTY),
        }
    }

    /// Departure from Linux: `st_size` is the device's size (Linux shows
    /// 0 for a node), which is what `lseek(SEEK_END)` needs here.
    fn stat(&self) -> Stat {
        Stat {
            dev: 2,
            mode: mode::S_IFBLK | 0o660,
            nlink: 1,
            rdev: self.bdev.rdev,
            size: self.bdev.size() as i64,
            blocks: Some(0),
            ..Stat::default()
        }
    }

    fn seekable(&self) -> bool {
        true
    }
}
