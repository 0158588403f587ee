//! The FAT16/FAT32 on-disk format (Linux: fs/fat/): the boot sector's
//! parameters, cluster chains in the FAT, directory entries with their
//! long (VFAT) names, and file data, over any byte-addressed [`FatDisk`].
//! No kernel objects here, so the host's tests run it on images in memory.
//! Writing (allocation, directory entries, file data) is in write.rs.
//! FAT12 (floppies) is refused.

use crate::errno::Errno;
use alloc::string::String;
use alloc::vec::Vec;

/// Byte-addressed storage under a FAT volume (a partition).
pub trait FatDisk: Send + Sync {
    fn read_at(&self, pos: u64, buf: &mut [u8]) -> Result<(), Errno>;
    fn write_at(&self, pos: u64, buf: &[u8]) -> Result<(), Errno>;
    /// Size of the volume in bytes.
    fn size(&self) -> u64;
}

/// FAT16 or FAT32.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FatType {
    Fat16,
    Fat32,
}

/// Why a volume is not mountable (logged; the mount gets EINVAL).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadVolume {
    NoSignature,
    BadGeometry,
    Fat12,
    TooSmall,
}

/// Directory entry attributes.
pub mod attr {
    pub const READ_ONLY: u8 = 0x01;
    pub const HIDDEN: u8 = 0x02;
    pub const SYSTEM: u8 = 0x04;
    pub const VOLUME_ID: u8 = 0x08;
    pub const DIRECTORY: u8 = 0x10;
    pub const ARCHIVE: u8 = 0x20;
    pub const LONG_NAME: u8 = 0x0f;
}

/// A mounted volume's geometry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub fat_type: FatType,
    pub bytes_per_sector: u32,
    pub cluster_size: u32,
    /// Byte offset of the first FAT, the bytes of one FAT and their number.
    pub fat_start: u64,
    pub fat_bytes: u64,
    pub nfats: u32,
    /// FAT32: byte offset of the FSInfo sector, if the volume has one.
    pub fsinfo: Option<u64>,
    /// Byte offset and entry count of the FAT16 root directory.
    pub root_start: u64,
    pub root_entries: u32,
    /// FAT32: the root directory's first cluster.
    pub root_cluster: u32,
    /// Byte offset of cluster 2.
    pub data_start: u64,
    pub clusters: u32,
    pub volume_id: u32,
}

/// Reads the boot sector's BPB (Microsoft's FAT specification, 3.1-3.3).
pub fn parse_boot_sector(b: &[u8; 512], volume_bytes: u64) -> Result<Geometry, BadVolume> {
    if b[510] != 0x55 || b[511] != 0xaa {
        return Err(BadVolume::NoSignature);
    }
    let u16at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]) as u32;
    let u32at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
    let bps = u16at(11);
    let spc = b[13] as u32;
    let reserved = u16at(14);
    let nfats = b[16] as u32;
    let root_entries = u16at(17);
    let total = if u16at(19) != 0 { u16at(19) } else { u32at(32) };
    let fat_size = if u16at(22) != 0 { u16at(22) } else { u32at(36) };
    if !matches!(bps, 512 | 1024 | 2048 | 4096)
        || spc == 0
        || !spc.is_power_of_two()
        || reserved == 0
        || nfats == 0
        || fat_size == 0
    {
        return Err(BadVolume::BadGeometry);
    }
    let root_sectors = (root_entries * 32).div_ceil(bps);
    let meta = reserved as u64 + nfats as u64 * fat_size as u64 + root_sectors as u64;
    if meta >= total as u64 || total as u64 * bps as u64 > volume_bytes {
        return Err(BadVolume::TooSmall);
    }
    let clusters = ((total as u64 - meta) / spc as u64) as u32;
    let fat_type = if clusters < 4085 {
        return Err(BadVolume::Fat12);
    } else if clusters < 65525 {
        FatType::Fat16
    } else {
        FatType::Fat32
    };
    // The FAT must hold an entry per cluster.
    let per_entry = if fat_type == FatType::Fat16 { 2 } else { 4 };
    if (clusters as u64 + 2) * per_entry > fat_size as u64 * bps as u64 {
        return Err(BadVolume::BadGeometry);
    }
    let root_cluster = if fat_type == FatType::Fat32 { u32at(44) } else { 0 };
    if fat_type == FatType::Fat32 && !(2..clusters + 2).contains(&root_cluster) {
        return Err(BadVolume::BadGeometry);
    }
    let volume_id = if fat_type == FatType::Fat32 { u32at(67) } else { u32at(39) };
    let fsinfo_sector = u16at(48);
    let fsinfo = (fat_type == FatType::Fat32 && fsinfo_sector != 0 && fsinfo_sector < reserved)
        .then_some(fsinfo_sector as u64 * bps as u64);
    Ok(Geometry {
        fat_type,
        bytes_per_sector: bps,
        cluster_size: bps * spc,
        fat_start: reserved as u64 * bps as u64,
        fat_bytes: fat_size as u64 * bps as u64,
        nfats,
        fsinfo,
        root_start: (reserved as u64 + nfats as u64 * fat_size as u64) * bps as u64,
        root_entries,
        root_cluster,
        data_start: meta * bps as u64,
        clusters,
        volume_id,
    })
}

/// One name in a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEnt {
    /// The long name, or the short one as Linux shows it (lower case where
    /// the entry's NT flags say so).
    pub name: String,
    pub attr: u8,
    pub first_cluster: u32,
    pub size: u32,
    /// Modification time, seconds since 1970 (FAT keeps local time; taken as UTC).
    pub mtime: u64,
    /// Last access date, seconds since 1970.
    pub atime: u64,
    /// The 8.3 name as stored.
    pub short: [u8; 11],
    /// Index of the short entry in its directory, and how many long-name
    /// entries come right before it.
    pub slot: u32,
    pub lfn_slots: u32,
    /// Byte offset of the short entry on the volume (read_dir's; parse_dir
    /// leaves it 0).
    pub pos: u64,
}

impl DirEnt {
    pub fn is_dir(&self) -> bool {
        self.attr & attr::DIRECTORY != 0
    }
}

/// The checksum of an 8.3 name that its long-name entries carry.
pub fn short_name_checksum(name: &[u8; 11]) -> u8 {
    name.iter().fold(0u8, |sum, &c| sum.rotate_right(1).wrapping_add(c))
}

/// The 8.3 name as text: base, a dot and the extension if there is one;
/// NT flag 0x08 lowers the base, 0x10 the extension.
pub fn short_name_text(name: &[u8; 11], nt: u8) -> String {
    let mut base: Vec<u8> = name[..8].to_vec();
    if base[0] == 0x05 {
        base[0] = 0xe5;
    }
    let trim = |v: &[u8]| {
        let end = v.iter().rposition(|&c| c != b' ').map_or(0, |p| p + 1);
        v[..end].to_vec()
    };
    let mut base = trim(&base);
    let mut ext = trim(&name[8..]);
    if nt & 0x08 != 0 {
        base.make_ascii_lowercase();
    }
    if nt & 0x10 != 0 {
        ext.make_ascii_lowercase();
    }
    let mut s: String = base.iter().map(|&c| c as char).collect();
    if !ext.is_empty() {
        s.push('.');
        s.extend(ext.iter().map(|&c| c as char));
    }
    s
}

/// Seconds since 1970 of a FAT date and time.
pub fn fat_time(date: u16, time: u16) -> u64 {
    let year = 1980 + (date >> 9) as u64;
    let month = ((date >> 5) & 0xf).clamp(1, 12) as u64;
    let day = (date & 0x1f).max(1) as u64;
    // Days from 1970-01-01 to the date (civil calendar).
    let (y, m) = if month <= 2 { (year - 1, month + 9) } else { (year, month - 3) };
    let era_days = 365 * y + y / 4 - y / 100 + y / 400 + (153 * m + 2) / 5 + day - 1;
    let days = era_days - 719_468; // 1970-03-01 based offset of 1970-01-01
    days * 86_400 + (time >> 11) as u64 * 3600 + ((time >> 5) & 0x3f) as u64 * 60 + (time & 0x1f) as u64 * 2
}

/// Collects the long-name pieces before a short entry.
#[derive(Default)]
pub struct LfnAssembler {
    units: Vec<u16>,
    checksum: u8,
    /// The next ordinal expected (counting down to 1); 0: none in progress.
    expect: u8,
}

impl LfnAssembler {
    /// Feeds a long-name entry.
    pub fn push(&mut self, e: &[u8]) {
        let ord = e[0] & 0x3f;
        if e[0] & 0x40 != 0 {
            if ord == 0 || ord > 20 {
                self.expect = 0;
                return;
            }
            self.units = alloc::vec![0xffff; ord as usize * 13];
            self.checksum = e[13];
            self.expect = ord;
        }
        if self.expect == 0 || ord != self.expect || e[13] != self.checksum {
            self.expect = 0;
            return;
        }
        let at = (ord as usize - 1) * 13;
        let offsets = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30];
        for (i, o) in offsets.iter().enumerate() {
            self.units[at + i] = u16::from_le_bytes([e[*o], e[o + 1]]);
        }
        self.expect -= 1;
    }

    /// The long name for the short entry `short`, if the pieces were
    /// complete and belong to it; resets.
    pub fn finish(&mut self, short: &[u8; 11]) -> Option<String> {
        let complete = self.expect == 0 && !self.units.is_empty() && self.checksum == short_name_checksum(short);
        let units = core::mem::take(&mut self.units);
        self.expect = 0;
        if !complete {
            return None;
        }
        let end = units.iter().position(|&u| u == 0 || u == 0xffff).unwrap_or(units.len());
        let name: String = char::decode_utf16(units[..end].iter().copied())
            .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect();
        (!name.is_empty()).then_some(name)
    }

    /// Forgets a partial name (a deleted or odd entry came between).
    pub fn reset(&mut self) {
        self.units.clear();
        self.expect = 0;
    }
}

/// A mounted FAT volume.
pub struct FatFs<D: FatDisk> {
    pub disk: D,
    pub geo: Geometry,
    /// Free clusters, once known (FSInfo's count or a scan of the FAT).
    pub free: Option<u32>,
    /// Where the next search for a free cluster starts (FSInfo's hint).
    pub next_free: u32,
}

/// End of a cluster chain (any value at or above these).
const FAT16_EOC: u32 = 0xfff8;
const FAT32_EOC: u32 = 0x0fff_fff8;

impl<D: FatDisk> FatFs<D> {
    /// Reads and checks the boot sector.
    pub fn mount(disk: D) -> Result<Self, Result<BadVolume, Errno>> {
        let mut b = [0u8; 512];
        disk.read_at(0, &mut b).map_err(Err)?;
        let geo = parse_boot_sector(&b, disk.size()).map_err(Ok)?;
        let mut fs = FatFs { disk, geo, free: None, next_free: 2 };
        fs.read_fsinfo().map_err(Err)?;
        Ok(fs)
    }

    /// The FAT entry of `cluster`: the next cluster, or None at the end.
    /// A free, bad or out-of-range link is EIO (a corrupt chain).
    pub fn next_cluster(&self, cluster: u32) -> Result<Option<u32>, Errno> {
        let next = match self.geo.fat_type {
            FatType::Fat16 => {
                let mut b = [0u8; 2];
                self.disk.read_at(self.geo.fat_start + cluster as u64 * 2, &mut b)?;
                let v = u16::from_le_bytes(b) as u32;
                if v >= FAT16_EOC {
                    return Ok(None);
                }
                v
            }
            FatType::Fat32 => {
                let mut b = [0u8; 4];
                self.disk.read_at(self.geo.fat_start + cluster as u64 * 4, &mut b)?;
                let v = u32::from_le_bytes(b) & 0x0fff_ffff;
                if v >= FAT32_EOC {
                    return Ok(None);
                }
                v
            }
        };
        if !(2..self.geo.clusters + 2).contains(&next) {
            return Err(Errno::EIO);
        }
        Ok(Some(next))
    }

    /// The clusters of the chain from `first` (at most enough for
    /// `max_bytes`, if given); EIO for a loop or a broken link.
    pub fn chain(&self, first: u32, max_bytes: Option<u64>) -> Result<Vec<u32>, Errno> {
        let mut out = Vec::new();
        if first == 0 {
            return Ok(out);
        }
        if !(2..self.geo.clusters + 2).contains(&first) {
            return Err(Errno::EIO);
        }
        // A chain longer than the volume has clusters loops.
        let limit = max_bytes.map(|b| b.div_ceil(self.geo.cluster_size as u64) as usize);
        let mut c = first;
        loop {
            if limit.is_some_and(|l| out.len() >= l) {
                break;
            }
            if out.len() >= self.geo.clusters as usize {
                return Err(Errno::EIO);
            }
            out.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
            out.push(c);
            match self.next_cluster(c)? {
                Some(n) => c = n,
                None => break,
            }
        }
        Ok(out)
    }

    /// Byte offset of a cluster.
    pub fn cluster_pos(&self, cluster: u32) -> u64 {
        self.geo.data_start + (cluster as u64 - 2) * self.geo.cluster_size as u64
    }

    /// Reads from a file whose clusters are `chain` and size `size`, at
    /// `pos`; consecutive clusters are read in one go.
    pub fn read_chain(&self, chain: &[u32], size: u64, pos: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if pos >= size {
            return Ok(0);
        }
        let cs = self.geo.cluster_size as u64;
        let want = (buf.len() as u64).min(size - pos) as usize;
        let mut done = 0;
        while done < want {
            let at = pos + done as u64;
            let idx = (at / cs) as usize;
            let off = at % cs;
            let Some(&first) = chain.get(idx) else { return Err(Errno::EIO) };
            // Extend over physically consecutive clusters.
            let mut run = 1;
            while idx + run < chain.len() && chain[idx + run] == first + run as u32 {
                run += 1;
            }
            let n = ((run as u64 * cs - off) as usize).min(want - done);
            self.disk.read_at(self.cluster_pos(first) + off, &mut buf[done..done + n])?;
            done += n;
        }
        Ok(done)
    }

    /// The entries of a directory: the FAT16 root (`first_cluster` 0) or
    /// a cluster chain. `.` and `..`, volume labels and deleted entries
    /// are left out.
    pub fn read_dir(&self, first_cluster: u32) -> Result<Vec<DirEnt>, Errno> {
        let (raw, clusters) = self.dir_raw(first_cluster)?;
        let mut out = parse_dir(&raw)?;
        for e in out.iter_mut() {
            e.pos = self.slot_pos(&clusters, e.slot);
        }
        Ok(out)
    }

    /// A directory's bytes and its clusters (empty for the FAT16 root).
    pub fn dir_raw(&self, first_cluster: u32) -> Result<(Vec<u8>, Vec<u32>), Errno> {
        if first_cluster == 0 && self.geo.fat_type == FatType::Fat16 {
            let len = self.geo.root_entries as usize * 32;
            let mut v = Vec::new();
            v.try_reserve(len).map_err(|_| Errno::ENOMEM)?;
            v.resize(len, 0);
            self.disk.read_at(self.geo.root_start, &mut v)?;
            return Ok((v, Vec::new()));
        }
        let first = if first_cluster == 0 { self.geo.root_cluster } else { first_cluster };
        let chain = self.chain(first, None)?;
        let len = chain.len() * self.geo.cluster_size as usize;
        let mut v = Vec::new();
        v.try_reserve(len).map_err(|_| Errno::ENOMEM)?;
        v.resize(len, 0);
        self.read_chain(&chain, len as u64, 0, &mut v)?;
        Ok((v, chain))
    }

    /// Byte offset on the volume of entry `slot` of a directory whose
    /// clusters are `clusters` (none: the FAT16 root).
    pub fn slot_pos(&self, clusters: &[u32], slot: u32) -> u64 {
        let at = slot as u64 * 32;
        if clusters.is_empty() {
            return self.geo.root_start + at;
        }
        let cs = self.geo.cluster_size as u64;
        self.cluster_pos(clusters[(at / cs) as usize]) + at % cs
    }
}

/// The entries of a directory's raw bytes.
pub fn parse_dir(raw: &[u8]) -> Result<Vec<DirEnt>, Errno> {
    let mut out = Vec::new();
    let mut lfn = LfnAssembler::default();
    let mut lfn_slots = 0;
    for (slot, e) in raw.chunks_exact(32).enumerate() {
        match e[0] {
            0 => break,
            0xe5 => {
                lfn.reset();
                lfn_slots = 0;
                continue;
            }
            _ => {}
        }
        let a = e[11];
        if a & 0x3f == attr::LONG_NAME {
            if e[0] & 0x40 != 0 {
                lfn_slots = 0;
            }
            lfn.push(e);
            lfn_slots += 1;
            continue;
        }
        let pieces = core::mem::take(&mut lfn_slots);
        let short: [u8; 11] = e[..11].try_into().unwrap_or([b' '; 11]);
        let long = lfn.finish(&short);
        let lfn_slots = if long.is_some() { pieces } else { 0 };
        if a & attr::VOLUME_ID != 0 || &short == b".          " || &short == b"..         " {
            continue;
        }
        let hi = u16::from_le_bytes([e[20], e[21]]) as u32;
        let lo = u16::from_le_bytes([e[26], e[27]]) as u32;
        out.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        out.push(DirEnt {
            name: long.unwrap_or_else(|| short_name_text(&short, e[12])),
            attr: a,
            first_cluster: (hi << 16) | lo,
            size: u32::from_le_bytes([e[28], e[29], e[30], e[31]]),
            mtime: fat_time(u16::from_le_bytes([e[24], e[25]]), u16::from_le_bytes([e[22], e[23]])),
            atime: fat_time(u16::from_le_bytes([e[18], e[19]]), 0),
            short,
            slot: slot as u32,
            lfn_slots,
            pos: 0,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
