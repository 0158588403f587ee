//! Writing a FAT volume (Linux: fs/fat/fatent.c, dir.c, namei_vfat.c,
//! file.c): the FAT's cluster chains (allocation from the FSInfo hint,
//! every FAT copy updated, the FSInfo free count kept exact), directory
//! entries with long names and generated 8.3 aliases, and file data.
//!
//! Names follow Linux's vfat default (`shortname=mixed`): a name that is
//! a valid upper-case 8.3 name is stored as the short entry alone; any
//! other name gets long-name entries and a unique short alias (`~N`).
//!
//! Like fat.rs this holds no kernel objects: the host's tests run it on
//! images in memory and check them with dosfstools. The caller serialises
//! every call that changes the volume (`&mut self`).

use super::fat::{attr, short_name_checksum, DirEnt, FatDisk, FatFs, FatType};
use crate::errno::Errno;
use alloc::vec::Vec;

/// FAT entry values.
const FREE: u32 = 0;
const EOC32: u32 = 0x0fff_ffff;
const EOC16: u32 = 0xffff;

/// Characters a short name may hold besides A-Z and 0-9.
const SHORT_EXTRA: &[u8] = b"$%'-_@~`!(){}^#&";
/// Characters no name may hold.
const BAD_CHARS: &[char] = &['"', '*', '/', ':', '<', '>', '?', '\\', '|'];

/// The longest file a FAT volume stores.
pub const MAX_FILE_SIZE: u64 = u32::MAX as u64;

/// A file's place on the volume: its first cluster, its whole chain and
/// its size.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileMap {
    pub first: u32,
    pub chain: Vec<u32>,
    pub size: u64,
}

/// A FAT date and time (Linux: `fat_time_unix2fat`) of seconds since 1970,
/// clamped to the years FAT can hold (1980-2107).
pub fn unix_to_fat(secs: u64) -> (u16, u16) {
    const MIN: u64 = 315_532_800; // 1980-01-01
    const MAX: u64 = 4_354_819_199; // 2107-12-31 23:59:59
    let secs = secs.clamp(MIN, MAX);
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil date from days since 1970 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    let date = (((year - 1980) << 9) | (month << 5) | day) as u16;
    let time = (((rem / 3600) << 11) | (((rem / 60) % 60) << 5) | ((rem % 60) / 2)) as u16;
    (date, time)
}

fn valid_short_char(c: u8) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit() || SHORT_EXTRA.contains(&c)
}

/// Checks a name for a new entry and gives the name to store: trailing
/// dots are dropped, as Linux's vfat does. EINVAL for a character FAT
/// cannot hold, ENAMETOOLONG past 255 UTF-16 units.
pub fn check_name(name: &str) -> Result<&str, Errno> {
    let name = name.trim_end_matches('.');
    if name.is_empty() {
        return Err(Errno::EINVAL);
    }
    if name.chars().any(|c| (c as u32) < 0x20 || BAD_CHARS.contains(&c)) {
        return Err(Errno::EINVAL);
    }
    if name.encode_utf16().count() > 255 {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(name)
}

/// The 8.3 form of `name` if it is a valid upper-case short name as it
/// stands (then no long-name entries are needed).
pub fn exact_short_name(name: &str) -> Option<[u8; 11]> {
    let b = name.as_bytes();
    let (base, ext) = match name.rfind('.') {
        Some(i) => (&b[..i], &b[i + 1..]),
        None => (b, &b[..0]),
    };
    if base.is_empty() || base.len() > 8 || ext.len() > 3 || name.matches('.').count() > 1 {
        return None;
    }
    if !base.iter().chain(ext).all(|&c| valid_short_char(c)) {
        return None;
    }
    let mut out = [b' '; 11];
    out[..base.len()].copy_from_slice(base);
    out[8..8 + ext.len()].copy_from_slice(ext);
    if out[0] == 0xe5 {
        out[0] = 0x05;
    }
    Some(out)
}

/// A unique 8.3 alias for the long `name` among the short names `taken`
/// (Linux: `vfat_create_shortname`): upper case, characters a short name
/// cannot hold as `_`, the base cut to fit a `~N` tail. A name that only
/// needed its case changed keeps its letters without a tail if free.
pub fn alias_for(name: &str, taken: &[[u8; 11]]) -> Result<[u8; 11], Errno> {
    let stripped = name.trim_start_matches(['.', ' ']);
    let (base_s, ext_s) = match stripped.rfind('.') {
        Some(i) => (&stripped[..i], &stripped[i + 1..]),
        None => (stripped, ""),
    };
    let mut lossy = stripped.len() != name.len();
    let mut conv = |s: &str, max: usize| -> Vec<u8> {
        let mut out = Vec::new();
        for c in s.chars() {
            if c == ' ' || c == '.' {
                lossy = true;
                continue;
            }
            let u = c.to_ascii_uppercase();
            let byte = if u.is_ascii() && valid_short_char(u as u8) {
                u as u8
            } else {
                lossy = true;
                b'_'
            };
            if out.len() == max {
                lossy = true;
                break;
            }
            out.push(byte);
        }
        out
    };
    let base = conv(base_s, 8);
    let ext = conv(ext_s, 3);
    let mut candidate = [b' '; 11];
    candidate[8..8 + ext.len()].copy_from_slice(&ext);
    if !lossy && !base.is_empty() {
        candidate[..base.len()].copy_from_slice(&base);
        if !taken.contains(&candidate) {
            return Ok(candidate);
        }
    }
    let base: &[u8] = if base.is_empty() { b"_" } else { &base };
    for n in 1u32..1_000_000 {
        let mut tail = [0u8; 8];
        let digits = {
            let mut v = n;
            let mut d = Vec::new();
            while v > 0 {
                d.push(b'0' + (v % 10) as u8);
                v /= 10;
            }
            d.reverse();
            d
        };
        tail[0] = b'~';
        tail[1..1 + digits.len()].copy_from_slice(&digits);
        let tail = &tail[..1 + digits.len()];
        let keep = base.len().min(8 - tail.len());
        let mut c = [b' '; 11];
        c[..keep].copy_from_slice(&base[..keep]);
        c[keep..keep + tail.len()].copy_from_slice(tail);
        c[8..].copy_from_slice(&candidate[8..]);
        if !taken.contains(&c) {
            return Ok(c);
        }
    }
    Err(Errno::EEXIST)
}

/// The long-name entries of `name` for the short name `short`, in the
/// order they are stored (the last piece first).
pub fn lfn_entries(name: &str, short: &[u8; 11]) -> Vec<[u8; 32]> {
    let units: Vec<u16> = name.encode_utf16().collect();
    let count = units.len().div_ceil(13);
    let sum = short_name_checksum(short);
    let offsets = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30];
    let mut out = Vec::with_capacity(count);
    for ord in (1..=count).rev() {
        let mut e = [0u8; 32];
        e[0] = ord as u8 | if ord == count { 0x40 } else { 0 };
        e[11] = attr::LONG_NAME;
        e[13] = sum;
        for (i, o) in offsets.iter().enumerate() {
            let at = (ord - 1) * 13 + i;
            let u = match at.cmp(&units.len()) {
                core::cmp::Ordering::Less => units[at],
                core::cmp::Ordering::Equal => 0,
                core::cmp::Ordering::Greater => 0xffff,
            };
            e[*o..*o + 2].copy_from_slice(&u.to_le_bytes());
        }
        out.push(e);
    }
    out
}

/// A short directory entry.
pub fn short_entry(short: &[u8; 11], attrs: u8, first: u32, size: u32, now: u64) -> [u8; 32] {
    let mut e = [0u8; 32];
    e[..11].copy_from_slice(short);
    e[11] = attrs;
    let (date, time) = unix_to_fat(now);
    e[14..16].copy_from_slice(&time.to_le_bytes());
    e[16..18].copy_from_slice(&date.to_le_bytes());
    e[18..20].copy_from_slice(&date.to_le_bytes());
    e[20..22].copy_from_slice(&((first >> 16) as u16).to_le_bytes());
    e[22..24].copy_from_slice(&time.to_le_bytes());
    e[24..26].copy_from_slice(&date.to_le_bytes());
    e[26..28].copy_from_slice(&(first as u16).to_le_bytes());
    e[28..32].copy_from_slice(&size.to_le_bytes());
    e
}

/// Fields of a short entry to rewrite in place.
#[derive(Clone, Copy, Debug, Default)]
pub struct EntryUpdate {
    pub first: Option<u32>,
    pub size: Option<u32>,
    pub attr: Option<u8>,
    pub mtime: Option<u64>,
    pub atime: Option<u64>,
}

impl<D: FatDisk> FatFs<D> {
    fn entry_bytes(&self) -> u64 {
        if self.geo.fat_type == FatType::Fat16 {
            2
        } else {
            4
        }
    }

    fn eoc(&self) -> u32 {
        if self.geo.fat_type == FatType::Fat16 {
            EOC16
        } else {
            EOC32
        }
    }

    fn valid_cluster(&self, c: u32) -> bool {
        (2..self.geo.clusters + 2).contains(&c)
    }

    /// The raw FAT entry of `cluster` (28 bits on FAT32).
    pub fn fat_entry(&self, cluster: u32) -> Result<u32, Errno> {
        let at = self.geo.fat_start + cluster as u64 * self.entry_bytes();
        let mut b = [0u8; 4];
        let n = self.entry_bytes() as usize;
        self.disk.read_at(at, &mut b[..n])?;
        Ok(u32::from_le_bytes(b) & 0x0fff_ffff)
    }

    /// Sets the FAT entry of `cluster` in every copy of the FAT; FAT32's
    /// top four bits are kept, as the specification asks.
    pub fn set_fat(&mut self, cluster: u32, value: u32) -> Result<(), Errno> {
        let n = self.entry_bytes() as usize;
        let at = self.geo.fat_start + cluster as u64 * n as u64;
        let bytes = if self.geo.fat_type == FatType::Fat32 {
            let mut old = [0u8; 4];
            self.disk.read_at(at, &mut old)?;
            ((u32::from_le_bytes(old) & 0xf000_0000) | (value & 0x0fff_ffff)).to_le_bytes()
        } else {
            (value & 0xffff).to_le_bytes()
        };
        for copy in 0..self.geo.nfats as u64 {
            self.disk.write_at(at + copy * self.geo.fat_bytes, &bytes[..n])?;
        }
        Ok(())
    }

    /// Reads FSInfo's free count and hint (FAT32), if its signatures are
    /// there and the values fit the volume.
    pub fn read_fsinfo(&mut self) -> Result<(), Errno> {
        let Some(at) = self.geo.fsinfo else { return Ok(()) };
        let mut b = [0u8; 512];
        self.disk.read_at(at, &mut b)?;
        let u32at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        if u32at(0) != 0x4161_5252 || u32at(484) != 0x6141_7272 || u32at(508) != 0xaa55_0000 {
            self.geo.fsinfo = None;
            return Ok(());
        }
        let free = u32at(488);
        if free <= self.geo.clusters {
            self.free = Some(free);
        }
        let hint = u32at(492);
        if self.valid_cluster(hint) {
            self.next_free = hint;
        }
        Ok(())
    }

    /// Writes the free count and hint into FSInfo.
    fn write_fsinfo(&self) -> Result<(), Errno> {
        let (Some(at), Some(free)) = (self.geo.fsinfo, self.free) else { return Ok(()) };
        let mut b = [0u8; 8];
        b[..4].copy_from_slice(&free.to_le_bytes());
        b[4..].copy_from_slice(&self.next_free.to_le_bytes());
        self.disk.write_at(at + 488, &b)
    }

    /// Free clusters (counted from the FAT the first time if FSInfo did
    /// not say).
    pub fn free_clusters(&mut self) -> Result<u32, Errno> {
        if let Some(f) = self.free {
            return Ok(f);
        }
        let mut free = 0;
        self.scan_fat(2, |_, v| {
            if v == FREE {
                free += 1;
            }
            false
        })?;
        self.free = Some(free);
        Ok(free)
    }

    /// Calls `f(cluster, entry)` for clusters from `start` to the end of
    /// the FAT, a sector at a time, until it answers true; gives that
    /// cluster.
    fn scan_fat(&self, start: u32, mut f: impl FnMut(u32, u32) -> bool) -> Result<Option<u32>, Errno> {
        let n = self.entry_bytes() as usize;
        let end = self.geo.clusters + 2;
        let mut buf = [0u8; 512];
        let per = (512 / n) as u32;
        let mut c = start;
        while c < end {
            let chunk_first = c - c % per;
            let at = self.geo.fat_start + chunk_first as u64 * n as u64;
            let len = (((end - chunk_first).min(per)) as usize) * n;
            self.disk.read_at(at, &mut buf[..len])?;
            while c < end && c < chunk_first + per {
                let i = (c - chunk_first) as usize * n;
                let v = if n == 2 {
                    u16::from_le_bytes([buf[i], buf[i + 1]]) as u32
                } else {
                    u32::from_le_bytes([buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]) & 0x0fff_ffff
                };
                if f(c, v) {
                    return Ok(Some(c));
                }
                c += 1;
            }
        }
        Ok(None)
    }

    /// Allocates up to `n` clusters and appends them to the chain ending
    /// at `last` (none: a new chain); each is marked the end of the chain
    /// before the previous one links to it, so the FAT never holds a
    /// broken chain. `zero`: the clusters are cleared (directories).
    /// Fewer than `n` come back only when the volume is full.
    pub fn alloc_clusters(&mut self, n: usize, mut last: Option<u32>, zero: bool) -> Result<Vec<u32>, Errno> {
        let mut got = Vec::new();
        got.try_reserve(n).map_err(|_| Errno::ENOMEM)?;
        let mut free = self.free_clusters()?;
        while got.len() < n && free > 0 {
            let hint = if self.valid_cluster(self.next_free) { self.next_free } else { 2 };
            let found = match self.scan_fat(hint, |_, v| v == FREE)? {
                Some(c) => Some(c),
                None if hint > 2 => self.scan_fat(2, |_, v| v == FREE)?,
                None => None,
            };
            let Some(c) = found else {
                // The count was wrong: the FAT has no free entry.
                free = 0;
                break;
            };
            self.set_fat(c, self.eoc())?;
            if let Some(prev) = last {
                self.set_fat(prev, c)?;
            }
            if zero {
                let cs = self.geo.cluster_size as usize;
                let mut z = Vec::new();
                z.try_reserve(cs).map_err(|_| Errno::ENOMEM)?;
                z.resize(cs, 0);
                self.disk.write_at(self.cluster_pos(c), &z)?;
            }
            free -= 1;
            // The next search starts after it (FSInfo's hint must name a
            // cluster of the volume).
            self.next_free = if self.valid_cluster(c + 1) { c + 1 } else { 2 };
            last = Some(c);
            got.push(c);
        }
        self.free = Some(free);
        self.write_fsinfo()?;
        Ok(got)
    }

    /// Frees the chain from `first` (a loop or a link out of the volume
    /// ends the walk: what was freed stays free).
    pub fn free_chain(&mut self, first: u32) -> Result<(), Errno> {
        let mut c = first;
        let mut freed = 0u32;
        while self.valid_cluster(c) && freed < self.geo.clusters {
            let next = self.fat_entry(c)?;
            if next == FREE {
                break;
            }
            self.set_fat(c, FREE)?;
            freed += 1;
            c = next;
        }
        if let Some(f) = self.free.as_mut() {
            *f = (*f + freed).min(self.geo.clusters);
        }
        self.write_fsinfo()
    }

    /// Writes `data` at `pos` of the file `f`, allocating clusters as
    /// needed; a gap between the old end and `pos` reads as zeros. A full
    /// volume gives a short write, or ENOSPC if nothing fit; EFBIG past
    /// FAT's 4 GiB limit.
    pub fn write_file(&mut self, f: &mut FileMap, pos: u64, data: &[u8]) -> Result<usize, Errno> {
        if data.is_empty() {
            return Ok(0);
        }
        if pos >= MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        let data = &data[..data.len().min((MAX_FILE_SIZE - pos) as usize)];
        if pos > f.size {
            self.zero_fill(f, pos)?;
            if f.size < pos {
                return Err(Errno::ENOSPC);
            }
        }
        let cs = self.geo.cluster_size as u64;
        let end = pos + data.len() as u64;
        self.grow(f, end.div_ceil(cs) as usize)?;
        let have = f.chain.len() as u64 * cs;
        if have <= pos {
            return Err(Errno::ENOSPC);
        }
        let n = (end.min(have) - pos) as usize;
        self.write_chain(&f.chain, pos, &data[..n])?;
        f.size = f.size.max(pos + n as u64);
        Ok(n)
    }

    /// Extends `f` with zeros up to `to` (as far as the volume allows).
    fn zero_fill(&mut self, f: &mut FileMap, to: u64) -> Result<(), Errno> {
        let zeros = [0u8; 4096];
        while f.size < to {
            let at = f.size;
            let n = (to - at).min(zeros.len() as u64) as usize;
            let cs = self.geo.cluster_size as u64;
            self.grow(f, (at + n as u64).div_ceil(cs) as usize)?;
            let have = f.chain.len() as u64 * cs;
            if have <= at {
                return Ok(());
            }
            let n = (at + n as u64).min(have) - at;
            self.write_chain(&f.chain, at, &zeros[..n as usize])?;
            f.size = at + n;
        }
        Ok(())
    }

    /// Makes `f`'s chain at least `clusters` long, as far as space allows.
    fn grow(&mut self, f: &mut FileMap, clusters: usize) -> Result<(), Errno> {
        if f.chain.len() >= clusters {
            return Ok(());
        }
        let more = self.alloc_clusters(clusters - f.chain.len(), f.chain.last().copied(), false)?;
        if f.first == 0 {
            f.first = more.first().copied().unwrap_or(0);
        }
        f.chain.try_reserve(more.len()).map_err(|_| Errno::ENOMEM)?;
        f.chain.extend(more);
        Ok(())
    }

    /// Writes bytes at `pos` of the chain; consecutive clusters in one go.
    fn write_chain(&self, chain: &[u32], pos: u64, data: &[u8]) -> Result<(), Errno> {
        let cs = self.geo.cluster_size as u64;
        let mut done = 0;
        while done < data.len() {
            let at = pos + done as u64;
            let idx = (at / cs) as usize;
            let off = at % cs;
            let first = *chain.get(idx).ok_or(Errno::EIO)?;
            let mut run = 1;
            while idx + run < chain.len() && chain[idx + run] == first + run as u32 {
                run += 1;
            }
            let n = ((run as u64 * cs - off) as usize).min(data.len() - done);
            self.disk.write_at(self.cluster_pos(first) + off, &data[done..done + n])?;
            done += n;
        }
        Ok(())
    }

    /// Sets the size of `f` (Linux: `fat_truncate_blocks` when shrinking):
    /// clusters past the new end are freed; growing fills with zeros
    /// (ENOSPC if the volume cannot hold it; what fit stays).
    pub fn truncate_file(&mut self, f: &mut FileMap, size: u64) -> Result<(), Errno> {
        if size > MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        if size > f.size {
            self.zero_fill(f, size)?;
            return if f.size < size { Err(Errno::ENOSPC) } else { Ok(()) };
        }
        let keep = size.div_ceil(self.geo.cluster_size as u64) as usize;
        if keep < f.chain.len() {
            let rest = f.chain[keep];
            if keep == 0 {
                f.first = 0;
            } else {
                self.set_fat(f.chain[keep - 1], self.eoc())?;
            }
            f.chain.truncate(keep);
            self.free_chain(rest)?;
        }
        f.size = size;
        Ok(())
    }

    /// The first cluster of a directory (0: the root) as the FAT sees it.
    fn dir_first(&self, dir: u32) -> u32 {
        if dir == 0 && self.geo.fat_type == FatType::Fat32 {
            self.geo.root_cluster
        } else {
            dir
        }
    }

    /// The short names a directory holds (`.` and `..` included).
    pub fn short_names(&self, dir: u32) -> Result<Vec<[u8; 11]>, Errno> {
        let (raw, _) = self.dir_raw(dir)?;
        let mut out = Vec::new();
        for e in raw.chunks_exact(32) {
            if e[0] == 0 {
                break;
            }
            if e[0] == 0xe5 || e[11] & 0x3f == attr::LONG_NAME {
                continue;
            }
            out.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
            out.push(e[..11].try_into().unwrap_or([b' '; 11]));
        }
        Ok(out)
    }

    /// Adds the entry `name` to the directory `dir` (0: the root) for a
    /// file or directory whose data starts at `first`; gives it as read
    /// back. The directory grows by a cluster when it has no run of free
    /// slots long enough (ENOSPC: the FAT16 root is full, or the volume).
    pub fn add_entry(
        &mut self,
        dir: u32,
        name: &str,
        attrs: u8,
        first: u32,
        size: u32,
        now: u64,
    ) -> Result<DirEnt, Errno> {
        let name = check_name(name)?;
        let (short, lfn) = match exact_short_name(name) {
            Some(s) => (s, Vec::new()),
            None => {
                let s = alias_for(name, &self.short_names(dir)?)?;
                (s, lfn_entries(name, &s))
            }
        };
        let mut slots = Vec::new();
        slots.try_reserve(lfn.len() + 1).map_err(|_| Errno::ENOMEM)?;
        slots.extend(lfn);
        slots.push(short_entry(&short, attrs, first, size, now));
        let need = slots.len();
        let (start, clusters) = loop {
            let (raw, clusters) = self.dir_raw(dir)?;
            let mut run = 0;
            let mut found = None;
            let mut ended = false;
            for (i, e) in raw.chunks_exact(32).enumerate() {
                ended |= e[0] == 0;
                if ended || e[0] == 0xe5 {
                    run += 1;
                    if run == need {
                        found = Some(i + 1 - need);
                        break;
                    }
                } else {
                    run = 0;
                }
            }
            if let Some(s) = found {
                break (s, clusters);
            }
            if clusters.is_empty() {
                return Err(Errno::ENOSPC);
            }
            // A directory holds at most 65536 entries.
            let per = self.geo.cluster_size as usize / 32;
            let more = (need - run).div_ceil(per);
            if (clusters.len() + more) * per > 65_536 {
                return Err(Errno::ENOSPC);
            }
            let got = self.alloc_clusters(more, clusters.last().copied(), true)?;
            if got.len() < more {
                if let Some(&g) = got.first() {
                    self.set_fat(*clusters.last().unwrap_or(&g), self.eoc())?;
                    self.free_chain(g)?;
                }
                return Err(Errno::ENOSPC);
            }
        };
        for (k, e) in slots.iter().enumerate() {
            self.disk.write_at(self.slot_pos(&clusters, (start + k) as u32), e)?;
        }
        let mut back = super::fat::parse_dir(&{
            let mut raw = Vec::new();
            raw.try_reserve(need * 32).map_err(|_| Errno::ENOMEM)?;
            for e in &slots {
                raw.extend_from_slice(e);
            }
            raw
        })?;
        let mut ent = back.pop().ok_or(Errno::EIO)?;
        ent.slot = (start + need - 1) as u32;
        ent.pos = self.slot_pos(&clusters, ent.slot);
        Ok(ent)
    }

    /// Marks an entry and its long-name pieces deleted.
    pub fn remove_entry(&mut self, dir: u32, ent: &DirEnt) -> Result<(), Errno> {
        let (_, clusters) = self.dir_raw(dir)?;
        for slot in ent.slot - ent.lfn_slots..=ent.slot {
            self.disk.write_at(self.slot_pos(&clusters, slot), &[0xe5])?;
        }
        Ok(())
    }

    /// Rewrites fields of the short entry at `pos`.
    pub fn update_entry(&self, pos: u64, u: &EntryUpdate) -> Result<(), Errno> {
        let mut e = [0u8; 32];
        self.disk.read_at(pos, &mut e)?;
        if let Some(first) = u.first {
            e[20..22].copy_from_slice(&((first >> 16) as u16).to_le_bytes());
            e[26..28].copy_from_slice(&(first as u16).to_le_bytes());
        }
        if let Some(size) = u.size {
            e[28..32].copy_from_slice(&size.to_le_bytes());
        }
        if let Some(a) = u.attr {
            e[11] = a;
        }
        if let Some(t) = u.mtime {
            let (date, time) = unix_to_fat(t);
            e[22..24].copy_from_slice(&time.to_le_bytes());
            e[24..26].copy_from_slice(&date.to_le_bytes());
        }
        if let Some(t) = u.atime {
            e[18..20].copy_from_slice(&unix_to_fat(t).0.to_le_bytes());
        }
        self.disk.write_at(pos, &e)
    }

    /// Makes the directory `name` in `parent`: a zeroed cluster with `.`
    /// and `..` (`..` of a child of the root is 0, as the specification
    /// says), then the entry.
    pub fn make_dir(&mut self, parent: u32, name: &str, now: u64) -> Result<DirEnt, Errno> {
        check_name(name)?;
        let got = self.alloc_clusters(1, None, true)?;
        let Some(&c) = got.first() else { return Err(Errno::ENOSPC) };
        let made = (|| {
            let dot = short_entry(b".          ", attr::DIRECTORY, c, 0, now);
            let dotdot = short_entry(b"..         ", attr::DIRECTORY, self.dir_up(parent), 0, now);
            let pos = self.cluster_pos(c);
            self.disk.write_at(pos, &dot)?;
            self.disk.write_at(pos + 32, &dotdot)?;
            self.add_entry(parent, name, attr::DIRECTORY, c, 0, now)
        })();
        if made.is_err() {
            self.free_chain(c)?;
        }
        made
    }

    /// What `..` of a child of `parent` holds: 0 for the root.
    fn dir_up(&self, parent: u32) -> u32 {
        if self.dir_first(parent) == self.dir_first(0) {
            0
        } else {
            parent
        }
    }

    /// Points the `..` entry of the directory `dir` at `parent`.
    pub fn set_dotdot(&self, dir: u32, parent: u32) -> Result<(), Errno> {
        let pos = self.cluster_pos(dir) + 32;
        let mut e = [0u8; 11];
        self.disk.read_at(pos, &mut e)?;
        if &e != b"..         " {
            return Err(Errno::EIO);
        }
        self.update_entry(pos, &EntryUpdate { first: Some(self.dir_up(parent)), ..EntryUpdate::default() })
    }

    /// Whether the directory starting at `first` holds nothing but `.`
    /// and `..`.
    pub fn dir_is_empty(&self, first: u32) -> Result<bool, Errno> {
        Ok(self.read_dir(first)?.is_empty())
    }
}

#[cfg(test)]
mod tests;
