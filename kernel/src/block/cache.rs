//! The buffer cache (Linux: fs/buffer.c's `buffer_head`s over a block
//! device's page cache): 512-byte sectors of one device, kept in a bounded
//! set, written back when flushed or when a dirty one is evicted.
//!
//! - Reads look in the cache first; each run of sectors that is not cached
//!   is read from the device in one transfer. Short runs are kept (metadata:
//!   FAT sectors, directories), long runs pass through (streaming file data
//!   would only push the metadata out).
//! - Writes of up to [`WRITE_BACK_MAX`] sectors go into the cache dirty;
//!   longer ones go straight to the device, and cached copies of those
//!   sectors take the new data and become clean.
//! - [`BufferCache::flush`] writes the dirty sectors in ascending order,
//!   a run of consecutive ones in one transfer (Linux's writeback sorts and
//!   merges in the block layer's elevator).
//! - Eviction takes the least recently used sector, found through an
//!   index by last use (O(log n), where a scan of every buffer cost some
//!   400,000 instructions per 4 KiB read once the cache was full); a dirty
//!   victim is written first, and if that fails nothing is evicted and the
//!   caller gets the error (data is never dropped silently).
//!
//! The cache holds no lock: its owner serialises calls (block/mod.rs).

use super::BlockDevice;
use crate::errno::Errno;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// The size of a sector.
pub const SECTOR: usize = 512;
/// Writes longer than this many sectors bypass the cache.
pub const WRITE_BACK_MAX: usize = 64;
/// Read misses longer than this many sectors are not kept.
pub const READ_KEEP_MAX: usize = 16;

struct Buf {
    data: Box<[u8; SECTOR]>,
    dirty: bool,
    last_use: u64,
}

/// A bounded write-back cache of one device's sectors.
pub struct BufferCache {
    capacity: usize,
    bufs: BTreeMap<u64, Buf>,
    /// The sectors by last use (`Buf::last_use` to LBA): the first is the
    /// eviction victim.
    lru: BTreeMap<u64, u64>,
    clock: u64,
    /// Counters for /proc/diskstats-like reports and the tests.
    pub stats: CacheStats,
}

/// What the cache did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub writebacks: u64,
}

impl BufferCache {
    /// A cache of at most `capacity` sectors (at least one).
    pub fn new(capacity: usize) -> Self {
        BufferCache {
            capacity: capacity.max(1),
            bufs: BTreeMap::new(),
            lru: BTreeMap::new(),
            clock: 0,
            stats: CacheStats::default(),
        }
    }

    /// Sectors cached now.
    pub fn len(&self) -> usize {
        self.bufs.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.bufs.is_empty()
    }

    /// Dirty sectors now.
    pub fn dirty(&self) -> usize {
        self.bufs.values().filter(|b| b.dirty).count()
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// Marks the cached sector `lba` used now; returns its buffer.
    fn touch(&mut self, lba: u64) -> Option<&mut Buf> {
        let now = self.tick();
        let b = self.bufs.get_mut(&lba)?;
        self.lru.remove(&b.last_use);
        b.last_use = now;
        self.lru.insert(now, lba);
        Some(b)
    }

    /// Reads whole sectors from `lba` into `buf`.
    pub fn read(&mut self, dev: &dyn BlockDevice, lba: u64, buf: &mut [u8]) -> Result<(), Errno> {
        let count = check(dev, lba, buf.len())?;
        let mut i = 0;
        while i < count {
            if let Some(b) = self.touch(lba + i as u64) {
                buf[i * SECTOR..(i + 1) * SECTOR].copy_from_slice(&b.data[..]);
                self.stats.hits += 1;
                i += 1;
                continue;
            }
            // A run of misses: up to the next cached sector.
            let mut j = i + 1;
            while j < count && !self.bufs.contains_key(&(lba + j as u64)) {
                j += 1;
            }
            let run = &mut buf[i * SECTOR..j * SECTOR];
            dev.read_sectors(lba + i as u64, run)?;
            self.stats.misses += (j - i) as u64;
            if j - i <= READ_KEEP_MAX {
                for k in i..j {
                    let mut data = Box::new([0u8; SECTOR]);
                    data.copy_from_slice(&buf[k * SECTOR..(k + 1) * SECTOR]);
                    self.insert(dev, lba + k as u64, data, false)?;
                }
            }
            i = j;
        }
        Ok(())
    }

    /// Writes whole sectors at `lba` from `data`.
    pub fn write(&mut self, dev: &dyn BlockDevice, lba: u64, data: &[u8]) -> Result<(), Errno> {
        let count = check(dev, lba, data.len())?;
        if count > WRITE_BACK_MAX {
            dev.write_sectors(lba, data)?;
            for (&at, b) in self.bufs.range_mut(lba..lba + count as u64) {
                let k = (at - lba) as usize;
                b.data.copy_from_slice(&data[k * SECTOR..(k + 1) * SECTOR]);
                b.dirty = false;
                // Each sector its own tick: the index is keyed by last use.
                self.clock += 1;
                self.lru.remove(&b.last_use);
                b.last_use = self.clock;
                self.lru.insert(self.clock, at);
            }
            return Ok(());
        }
        for k in 0..count {
            let src = &data[k * SECTOR..(k + 1) * SECTOR];
            if let Some(b) = self.touch(lba + k as u64) {
                b.data.copy_from_slice(src);
                b.dirty = true;
                continue;
            }
            let mut sector = Box::new([0u8; SECTOR]);
            sector.copy_from_slice(src);
            self.insert(dev, lba + k as u64, sector, true)?;
        }
        Ok(())
    }

    /// Reads `buf.len()` bytes at byte offset `pos` (any alignment).
    pub fn read_bytes(&mut self, dev: &dyn BlockDevice, pos: u64, buf: &mut [u8]) -> Result<(), Errno> {
        let mut done = 0;
        while done < buf.len() {
            let at = pos + done as u64;
            let lba = at / SECTOR as u64;
            let off = (at % SECTOR as u64) as usize;
            if off == 0 && buf.len() - done >= SECTOR {
                let whole = (buf.len() - done) / SECTOR * SECTOR;
                self.read(dev, lba, &mut buf[done..done + whole])?;
                done += whole;
                continue;
            }
            let mut sector = [0u8; SECTOR];
            self.read(dev, lba, &mut sector)?;
            let n = (SECTOR - off).min(buf.len() - done);
            buf[done..done + n].copy_from_slice(&sector[off..off + n]);
            done += n;
        }
        Ok(())
    }

    /// Writes `data` at byte offset `pos` (any alignment; partial sectors
    /// are read first).
    pub fn write_bytes(&mut self, dev: &dyn BlockDevice, pos: u64, data: &[u8]) -> Result<(), Errno> {
        let mut done = 0;
        while done < data.len() {
            let at = pos + done as u64;
            let lba = at / SECTOR as u64;
            let off = (at % SECTOR as u64) as usize;
            if off == 0 && data.len() - done >= SECTOR {
                let whole = (data.len() - done) / SECTOR * SECTOR;
                self.write(dev, lba, &data[done..done + whole])?;
                done += whole;
                continue;
            }
            let mut sector = [0u8; SECTOR];
            self.read(dev, lba, &mut sector)?;
            let n = (SECTOR - off).min(data.len() - done);
            sector[off..off + n].copy_from_slice(&data[done..done + n]);
            self.write(dev, lba, &sector)?;
            done += n;
        }
        Ok(())
    }

    /// Writes every dirty sector, in ascending order, runs merged. On an
    /// error the sectors not written stay dirty.
    pub fn flush(&mut self, dev: &dyn BlockDevice) -> Result<(), Errno> {
        let dirty: Vec<u64> = self.bufs.iter().filter(|(_, b)| b.dirty).map(|(&l, _)| l).collect();
        let mut i = 0;
        let mut run: Vec<u8> = Vec::new();
        while i < dirty.len() {
            let mut j = i + 1;
            while j < dirty.len() && dirty[j] == dirty[j - 1] + 1 && j - i < 0xffff {
                j += 1;
            }
            run.clear();
            run.try_reserve((j - i) * SECTOR).map_err(|_| Errno::ENOMEM)?;
            for lba in &dirty[i..j] {
                run.extend_from_slice(&self.bufs[lba].data[..]);
            }
            dev.write_sectors(dirty[i], &run)?;
            self.stats.writebacks += (j - i) as u64;
            for lba in &dirty[i..j] {
                if let Some(b) = self.bufs.get_mut(lba) {
                    b.dirty = false;
                }
            }
            i = j;
        }
        Ok(())
    }

    /// Drops every clean sector (the shrinker's job under memory
    /// pressure, and after a flush at unmount).
    pub fn drop_clean(&mut self) {
        self.bufs.retain(|_, b| b.dirty);
        let bufs = &self.bufs;
        self.lru.retain(|_, lba| bufs.contains_key(lba));
    }

    /// Adds a sector, evicting the least recently used one if full.
    fn insert(&mut self, dev: &dyn BlockDevice, lba: u64, data: Box<[u8; SECTOR]>, dirty: bool) -> Result<(), Errno> {
        if self.bufs.len() >= self.capacity {
            if let Some((&used, &v)) = self.lru.first_key_value() {
                let b = &self.bufs[&v];
                if b.dirty {
                    dev.write_sectors(v, &b.data[..])?;
                    self.stats.writebacks += 1;
                }
                self.bufs.remove(&v);
                self.lru.remove(&used);
            }
        }
        let last_use = self.tick();
        self.bufs.insert(lba, Buf { data, dirty, last_use });
        self.lru.insert(last_use, lba);
        Ok(())
    }
}

/// The number of sectors in `len` bytes at `lba`, checked against the device.
fn check(dev: &dyn BlockDevice, lba: u64, len: usize) -> Result<usize, Errno> {
    if !len.is_multiple_of(SECTOR) {
        return Err(Errno::EINVAL);
    }
    let count = len / SECTOR;
    if lba.checked_add(count as u64).is_none_or(|end| end > dev.nr_sectors()) {
        return Err(Errno::EIO);
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A RAM disk that logs every transfer and can fail writes.
    struct LogDisk {
        data: Mutex<Vec<u8>>,
        log: Mutex<Vec<(char, u64, usize)>>,
        fail_writes: Mutex<bool>,
    }

    impl LogDisk {
        fn new(sectors: usize) -> LogDisk {
            LogDisk {
                data: Mutex::new((0..sectors * SECTOR).map(|i| (i / SECTOR) as u8).collect()),
                log: Mutex::new(Vec::new()),
                fail_writes: Mutex::new(false),
            }
        }
        fn take_log(&self) -> Vec<(char, u64, usize)> {
            core::mem::take(&mut *self.log.lock().unwrap())
        }
        fn sector(&self, lba: u64) -> Vec<u8> {
            self.data.lock().unwrap()[lba as usize * SECTOR..(lba as usize + 1) * SECTOR].to_vec()
        }
    }

    impl BlockDevice for LogDisk {
        fn nr_sectors(&self) -> u64 {
            (self.data.lock().unwrap().len() / SECTOR) as u64
        }
        fn read_sectors(&self, lba: u64, buf: &mut [u8]) -> Result<(), Errno> {
            self.log.lock().unwrap().push(('r', lba, buf.len() / SECTOR));
            let d = self.data.lock().unwrap();
            buf.copy_from_slice(&d[lba as usize * SECTOR..lba as usize * SECTOR + buf.len()]);
            Ok(())
        }
        fn write_sectors(&self, lba: u64, buf: &[u8]) -> Result<(), Errno> {
            if *self.fail_writes.lock().unwrap() {
                return Err(Errno::EIO);
            }
            self.log.lock().unwrap().push(('w', lba, buf.len() / SECTOR));
            self.data.lock().unwrap()[lba as usize * SECTOR..lba as usize * SECTOR + buf.len()].copy_from_slice(buf);
            Ok(())
        }
    }

    fn filled(v: u8, sectors: usize) -> Vec<u8> {
        vec![v; sectors * SECTOR]
    }

    #[test]
    fn writes_stay_in_the_cache_until_flushed_then_go_in_ascending_merged_runs() {
        let disk = LogDisk::new(64);
        let mut c = BufferCache::new(32);
        c.write(&disk, 9, &filled(0xa9, 1)).unwrap();
        c.write(&disk, 3, &filled(0xa3, 2)).unwrap();
        c.write(&disk, 10, &filled(0xaa, 1)).unwrap();
        c.write(&disk, 5, &filled(0xa5, 1)).unwrap();
        assert!(disk.take_log().is_empty(), "nothing written before the flush");
        assert_eq!(disk.sector(9)[0], 9);
        // Reading a dirty sector answers from the cache.
        let mut b = filled(0, 1);
        c.read(&disk, 9, &mut b).unwrap();
        assert_eq!(b[0], 0xa9);
        assert!(disk.take_log().is_empty());
        assert_eq!(c.dirty(), 5);
        c.flush(&disk).unwrap();
        assert_eq!(disk.take_log(), [('w', 3, 3), ('w', 9, 2)]);
        assert_eq!(disk.sector(5)[0], 0xa5);
        assert_eq!(disk.sector(10)[511], 0xaa);
        assert_eq!(c.dirty(), 0);
        c.flush(&disk).unwrap();
        assert!(disk.take_log().is_empty(), "a clean cache writes nothing");
    }

    #[test]
    fn eviction_takes_the_least_recently_used_and_writes_it_back_first() {
        let disk = LogDisk::new(64);
        let mut c = BufferCache::new(3);
        c.write(&disk, 1, &filled(0xb1, 1)).unwrap();
        let mut b = filled(0, 1);
        c.read(&disk, 2, &mut b).unwrap();
        c.read(&disk, 3, &mut b).unwrap();
        // Touch 1 again: 2 is now the oldest.
        c.read(&disk, 1, &mut b).unwrap();
        disk.take_log();
        c.read(&disk, 4, &mut b).unwrap();
        assert_eq!(disk.take_log(), [('r', 4, 1)], "clean victim 2 goes without a write");
        assert_eq!(c.len(), 3);
        c.read(&disk, 2, &mut b).unwrap();
        assert_eq!(disk.take_log(), [('r', 2, 1)], "2 was evicted");
        // Reading 2 evicted 3; the oldest now is 1, which is dirty.
        c.read(&disk, 5, &mut b).unwrap();
        c.read(&disk, 6, &mut b).unwrap();
        assert_eq!(disk.take_log(), [('r', 5, 1), ('w', 1, 1), ('r', 6, 1)]);
        assert_eq!(disk.sector(1)[0], 0xb1, "the dirty victim reached the disk");
    }

    /// Random reads, writes and drops against a model that keeps the same
    /// sectors by scanning for the least recently used: the cache holds
    /// the model's set after every step, and reads give the data written.
    #[test]
    fn the_lru_index_evicts_what_a_full_scan_would() {
        let disk = LogDisk::new(256);
        let mut c = BufferCache::new(16);
        let mut model: Vec<(u64, u64)> = Vec::new(); // (lba, last use)
        let mut written = std::collections::HashMap::new();
        let (mut seed, mut now) = (0x2545_f491_4f6c_dd1du64, 0u64);
        for step in 0..5000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let lba = seed % 64;
            now += 1;
            let use_sector = |model: &mut Vec<(u64, u64)>| match model.iter_mut().find(|e| e.0 == lba) {
                Some(e) => e.1 = now,
                None => {
                    if model.len() == 16 {
                        let old = model.iter().enumerate().min_by_key(|(_, e)| e.1).unwrap().0;
                        model.remove(old);
                    }
                    model.push((lba, now));
                }
            };
            match seed >> 60 {
                0 => {
                    c.flush(&disk).unwrap();
                    c.drop_clean();
                    model.clear();
                    continue;
                }
                1..=5 => {
                    let v = (step % 251) as u8;
                    c.write(&disk, lba, &filled(v, 1)).unwrap();
                    written.insert(lba, v);
                }
                _ => {
                    let mut b = filled(0, 1);
                    c.read(&disk, lba, &mut b).unwrap();
                    let expect = written.get(&lba).copied().unwrap_or(lba as u8);
                    assert_eq!(b[0], expect, "step {step}: sector {lba}");
                }
            }
            use_sector(&mut model);
            let mut want: Vec<u64> = model.iter().map(|e| e.0).collect();
            want.sort();
            let have: Vec<u64> = c.bufs.keys().copied().collect();
            assert_eq!(have, want, "step {step}");
            assert_eq!(c.lru.len(), c.bufs.len(), "step {step}: the index covers every buffer");
        }
    }

    #[test]
    fn a_failed_write_back_keeps_the_data_dirty() {
        let disk = LogDisk::new(64);
        let mut c = BufferCache::new(2);
        c.write(&disk, 1, &filled(0xc1, 1)).unwrap();
        c.write(&disk, 2, &filled(0xc2, 1)).unwrap();
        *disk.fail_writes.lock().unwrap() = true;
        assert_eq!(c.flush(&disk), Err(Errno::EIO));
        let mut b = filled(0, 1);
        assert_eq!(c.read(&disk, 7, &mut b), Err(Errno::EIO), "no room without writing a dirty sector");
        assert_eq!(c.dirty(), 2);
        *disk.fail_writes.lock().unwrap() = false;
        c.flush(&disk).unwrap();
        assert_eq!(disk.sector(1)[0], 0xc1);
        assert_eq!(disk.sector(2)[0], 0xc2);
    }

    #[test]
    fn reads_merge_misses_and_long_runs_pass_through() {
        let disk = LogDisk::new(256);
        let mut c = BufferCache::new(64);
        let mut b = filled(0, 1);
        c.read(&disk, 12, &mut b).unwrap();
        disk.take_log();
        let mut big = filled(0, 40);
        c.read(&disk, 0, &mut big).unwrap();
        assert_eq!(disk.take_log(), [('r', 0, 12), ('r', 13, 27)]);
        assert_eq!(big[12 * SECTOR], 12);
        assert_eq!(big[39 * SECTOR], 39);
        // The 12-sector run was kept, the 27-sector one was not.
        assert_eq!(c.len(), 13);
    }

    #[test]
    fn long_writes_go_through_and_update_cached_copies() {
        let disk = LogDisk::new(256);
        let mut c = BufferCache::new(64);
        c.write(&disk, 100, &filled(0xd0, 1)).unwrap();
        c.read(&disk, 5, &mut filled(0, 1)).unwrap();
        disk.take_log();
        c.write(&disk, 90, &filled(0xee, WRITE_BACK_MAX + 1)).unwrap();
        assert_eq!(disk.take_log(), [('w', 90, WRITE_BACK_MAX + 1)]);
        assert_eq!(c.dirty(), 0, "the cached copy took the newer data and is clean");
        assert_eq!(c.lru.last_key_value().map(|(_, &l)| l), Some(100), "and is the most recently used");
        assert_eq!(c.lru.len(), c.bufs.len());
        let mut b = filled(0, 1);
        c.read(&disk, 100, &mut b).unwrap();
        assert_eq!(b[0], 0xee);
        c.flush(&disk).unwrap();
        assert!(disk.take_log().is_empty());
    }

    #[test]
    fn byte_reads_and_writes_across_sector_boundaries() {
        let disk = LogDisk::new(16);
        let mut c = BufferCache::new(16);
        let data: Vec<u8> = (0..1000).map(|i| (i % 200) as u8 + 1).collect();
        c.write_bytes(&disk, 300, &data).unwrap();
        let mut back = vec![0u8; 1000];
        c.read_bytes(&disk, 300, &mut back).unwrap();
        assert_eq!(back, data);
        c.flush(&disk).unwrap();
        let d = disk.data.lock().unwrap();
        assert_eq!(&d[300..1300], &data[..]);
        assert_eq!(d[299], 0, "the bytes around are untouched");
        assert_eq!(d[1300], 2);
    }

    #[test]
    fn transfers_past_the_end_are_eio() {
        let disk = LogDisk::new(16);
        let mut c = BufferCache::new(16);
        let mut b = filled(0, 2);
        assert_eq!(c.read(&disk, 15, &mut b), Err(Errno::EIO));
        assert_eq!(c.write(&disk, u64::MAX, &b), Err(Errno::EIO));
        assert_eq!(c.read(&disk, 0, &mut b[..100]), Err(Errno::EINVAL));
    }
}
