//! The MS-DOS partition table (Linux: block/partitions/msdos.c): the four
//! primary entries of sector 0. Extended partitions and GPT are not read
//! (a protective GPT entry, type 0xee, is reported as not supported).

/// One primary partition, in 512-byte sectors from the start of the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    /// 1..=4: the entry's slot, which names the device (`mmcblk0p<n>`).
    pub number: u8,
    pub start: u64,
    pub sectors: u64,
    /// The system id (0x0b/0x0c FAT32, 0x06/0x0e FAT16, 0x83 Linux).
    pub kind: u8,
    pub bootable: bool,
}

/// Why sector 0 holds no usable table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MbrError {
    /// No 0x55AA signature: not partitioned.
    NoSignature,
    /// A GUID partition table (protective MBR).
    Gpt,
}

/// Types of extended partitions (containers, not file systems).
const EXTENDED: [u8; 3] = [0x05, 0x0f, 0x85];

/// The primary partitions of `sector0` on a disk of `disk_sectors`.
/// Entries that are empty, extended, or reach past the end of the disk are
/// left out (Linux warns and truncates; here they are unusable); the last
/// kind is listed apart ([`heapless_parts::Parts::beyond_end`]) for the
/// caller to say so. A boot
/// sector of a file system (a "superfloppy" without a table) also carries
/// 0x55AA: its jump instruction is told apart by entries with a status byte
/// other than 0x00/0x80, as Linux's `msdos_partition` does.
pub fn parse(sector0: &[u8; 512], disk_sectors: u64) -> Result<heapless_parts::Parts, MbrError> {
    if sector0[510] != 0x55 || sector0[511] != 0xaa {
        return Err(MbrError::NoSignature);
    }
    let mut parts = heapless_parts::Parts::default();
    for slot in 0..4 {
        let e = &sector0[446 + 16 * slot..446 + 16 * (slot + 1)];
        if e[0] != 0 && e[0] != 0x80 {
            return Err(MbrError::NoSignature);
        }
        let kind = e[4];
        if kind == 0xee {
            return Err(MbrError::Gpt);
        }
        let start = u32::from_le_bytes([e[8], e[9], e[10], e[11]]) as u64;
        let sectors = u32::from_le_bytes([e[12], e[13], e[14], e[15]]) as u64;
        if kind == 0 || sectors == 0 || EXTENDED.contains(&kind) || start == 0 {
            continue;
        }
        if start.checked_add(sectors).is_none_or(|end| end > disk_sectors) {
            parts.beyond_end.push(Partition { number: slot as u8 + 1, start, sectors, kind, bootable: e[0] == 0x80 });
            continue;
        }
        parts.push(Partition { number: slot as u8 + 1, start, sectors, kind, bootable: e[0] == 0x80 });
    }
    Ok(parts)
}

/// A fixed list of at most four partitions (no allocation at probe time).
pub mod heapless_parts {
    use super::Partition;

    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct Parts {
        found: List,
        /// Entries left out because they reach past the end of the disk
        /// (a truncated image, a table copied from a larger card).
        pub beyond_end: List,
    }

    /// At most four partitions, in table order.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct List {
        items: [Option<Partition>; 4],
        len: usize,
    }

    impl List {
        pub(super) fn push(&mut self, p: Partition) {
            if self.len < 4 {
                self.items[self.len] = Some(p);
                self.len += 1;
            }
        }
        /// The partitions in table order.
        pub fn iter(&self) -> impl Iterator<Item = &Partition> {
            self.items[..self.len].iter().flatten()
        }
    }

    impl Parts {
        pub(super) fn push(&mut self, p: Partition) {
            self.found.push(p);
        }
        /// The usable partitions in table order.
        pub fn iter(&self) -> impl Iterator<Item = &Partition> {
            self.found.iter()
        }
        pub fn len(&self) -> usize {
            self.found.len
        }
        pub fn is_empty(&self) -> bool {
            self.found.len == 0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(s: &mut [u8; 512], slot: usize, status: u8, kind: u8, start: u32, len: u32) {
        let e = &mut s[446 + 16 * slot..446 + 16 * (slot + 1)];
        e[0] = status;
        e[4] = kind;
        e[8..12].copy_from_slice(&start.to_le_bytes());
        e[12..16].copy_from_slice(&len.to_le_bytes());
    }

    fn signed() -> [u8; 512] {
        let mut s = [0u8; 512];
        s[510] = 0x55;
        s[511] = 0xaa;
        s
    }

    #[test]
    fn reads_primary_partitions_in_slot_order() {
        let mut s = signed();
        entry(&mut s, 0, 0x80, 0x0c, 2048, 129024);
        entry(&mut s, 2, 0x00, 0x83, 131072, 65536);
        let parts = parse(&s, 262144).unwrap();
        let v: Vec<_> = parts.iter().copied().collect();
        assert_eq!(
            v,
            [
                Partition { number: 1, start: 2048, sectors: 129024, kind: 0x0c, bootable: true },
                Partition { number: 3, start: 131072, sectors: 65536, kind: 0x83, bootable: false },
            ]
        );
    }

    #[test]
    fn no_signature_means_no_table() {
        let mut s = signed();
        entry(&mut s, 0, 0x80, 0x0c, 2048, 100);
        s[511] = 0;
        assert_eq!(parse(&s, 4096), Err(MbrError::NoSignature));
    }

    #[test]
    fn a_bare_fat_boot_sector_is_not_a_table() {
        let mut s = signed();
        // The partition area of a FAT boot sector holds boot code.
        s[446] = 0xeb;
        assert_eq!(parse(&s, 4096), Err(MbrError::NoSignature));
    }

    #[test]
    fn protective_mbr_is_reported_as_gpt() {
        let mut s = signed();
        entry(&mut s, 0, 0, 0xee, 1, 0xffff_ffff);
        assert_eq!(parse(&s, 4096), Err(MbrError::Gpt));
    }

    #[test]
    fn empty_extended_and_out_of_disk_entries_are_skipped() {
        let mut s = signed();
        entry(&mut s, 0, 0, 0x0c, 2048, 0);
        entry(&mut s, 1, 0, 0x05, 4096, 100);
        entry(&mut s, 2, 0, 0x0c, 4000, 200); // ends past 4096
        entry(&mut s, 3, 0, 0x0e, 100, 3996); // ends exactly at the end
        let parts = parse(&s, 4096).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts.iter().next().unwrap().number, 4);
        let beyond: Vec<u8> = parts.beyond_end.iter().map(|p| p.number).collect();
        assert_eq!(beyond, [3], "the entry past the end is reported");
    }
}
