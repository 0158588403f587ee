//! AArch64 translation tables, 4 KiB granule, 48-bit virtual addresses, four
//! levels (L0..L3; Linux: pgd, pud, pmd, pte).
//!
//! [`PageTable::map`] installs a range with the largest blocks alignment
//! allows (1 GiB at L1, 2 MiB at L2, 4 KiB pages at L3) and
//! [`PageTable::translate`] walks a virtual address. Tables are reached
//! through a [`TableMemory`], so the same code edits real tables through the
//! kernel's linear map and fake ones in host unit tests.

use crate::mm::frame::PAGE_SIZE;

/// Entries in one table.
pub const ENTRIES: usize = 512;
/// One translation table (any level).
pub type Table = [u64; ENTRIES];

const VALID: u64 = 1 << 0;
const TABLE_OR_PAGE: u64 = 1 << 1;
const ATTR_INDEX_SHIFT: u64 = 2;
const AP_EL0: u64 = 1 << 6;
const AP_READ_ONLY: u64 = 1 << 7;
const SH_INNER: u64 = 3 << 8;
const ACCESS_FLAG: u64 = 1 << 10;
const NOT_GLOBAL: u64 = 1 << 11;
const PXN: u64 = 1 << 53;
const UXN: u64 = 1 << 54;
const ADDRESS_MASK: u64 = 0x0000_ffff_ffff_f000;

/// Memory types, as indexes into MAIR_EL1 (set up in boot.S).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryType {
    /// Device-nGnRE: MMIO registers.
    Device = 0,
    /// Normal, write-back cacheable.
    Normal = 1,
    /// Normal, non-cacheable.
    NormalUncached = 2,
}

/// What a mapping allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attributes {
    pub memory: MemoryType,
    pub writable: bool,
    /// Executable at EL1.
    pub kernel_exec: bool,
    /// Accessible from EL0.
    pub user: bool,
    /// Executable at EL0.
    pub user_exec: bool,
    /// Valid in every address space (kernel mappings), not tagged with an ASID.
    pub global: bool,
}

impl Attributes {
    /// Kernel code: read-only, executable.
    pub const KERNEL_TEXT: Attributes = Attributes::kernel(MemoryType::Normal, false, true);
    /// Kernel constants: read-only, never executable.
    pub const KERNEL_RODATA: Attributes = Attributes::kernel(MemoryType::Normal, false, false);
    /// Kernel data and the linear map of RAM: read-write, never executable.
    pub const KERNEL_DATA: Attributes = Attributes::kernel(MemoryType::Normal, true, false);
    /// MMIO: device memory, read-write, never executable.
    pub const DEVICE: Attributes = Attributes::kernel(MemoryType::Device, true, false);

    const fn kernel(memory: MemoryType, writable: bool, kernel_exec: bool) -> Self {
        Attributes { memory, writable, kernel_exec, user: false, user_exec: false, global: true }
    }

    /// The attribute bits of a leaf descriptor.
    pub const fn descriptor_bits(self) -> u64 {
        let mut bits = ACCESS_FLAG | ((self.memory as u64) << ATTR_INDEX_SHIFT);
        if !matches!(self.memory, MemoryType::Device) {
            bits |= SH_INNER;
        }
        if !self.writable {
            bits |= AP_READ_ONLY;
        }
        if self.user {
            bits |= AP_EL0;
        }
        if !self.kernel_exec {
            bits |= PXN;
        }
        if !self.user_exec {
            bits |= UXN;
        }
        if !self.global {
            bits |= NOT_GLOBAL;
        }
        bits
    }

    /// Decodes the attribute bits of a leaf descriptor.
    pub const fn from_descriptor(desc: u64) -> Self {
        let memory = match (desc >> ATTR_INDEX_SHIFT) & 7 {
            0 => MemoryType::Device,
            2 => MemoryType::NormalUncached,
            _ => MemoryType::Normal,
        };
        Attributes {
            memory,
            writable: desc & AP_READ_ONLY == 0,
            kernel_exec: desc & PXN == 0,
            user: desc & AP_EL0 != 0,
            user_exec: desc & UXN == 0,
            global: desc & NOT_GLOBAL == 0,
        }
    }
}

/// Why a mapping could not be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// No memory for a new table.
    OutOfMemory,
    /// Part of the range is mapped already.
    AlreadyMapped,
    /// An address or the length is not page-aligned.
    Misaligned,
}

/// Access to the memory holding translation tables.
pub trait TableMemory {
    /// A new zeroed table; returns its physical address.
    fn alloc_table(&mut self) -> Option<u64>;
    /// The table at physical address `pa`.
    fn table(&mut self, pa: u64) -> &mut Table;
    /// Gives back a table that is no longer linked (user address spaces).
    fn free_table(&mut self, _pa: u64) {}
}

/// Leaf descriptors of user pages (Linux: `pte_t` and its helpers): always
/// 4 KiB pages, Normal memory, not global (tagged with the address space's
/// ASID), never executable at EL1.
pub mod pte {
    use super::*;

    /// Whether the entry maps something.
    pub const fn present(e: u64) -> bool {
        e & VALID != 0
    }
    /// The physical address it maps.
    pub const fn addr(e: u64) -> u64 {
        e & ADDRESS_MASK
    }
    /// Whether EL0 may write through it.
    pub const fn writable(e: u64) -> bool {
        e & AP_READ_ONLY == 0
    }
    /// Without write permission (copy-on-write sharing).
    pub const fn wrprotect(e: u64) -> u64 {
        e | AP_READ_ONLY
    }
    /// With write permission.
    pub const fn mkwrite(e: u64) -> u64 {
        e & !AP_READ_ONLY
    }
    /// A user page at `pa`.
    pub const fn user_page(pa: u64, writable: bool, exec: bool) -> u64 {
        let attrs = Attributes {
            memory: MemoryType::Normal,
            writable,
            kernel_exec: false,
            user: true,
            user_exec: exec,
            global: false,
        };
        pa | attrs.descriptor_bits() | VALID | TABLE_OR_PAGE
    }
    /// The same page with new permissions.
    pub const fn with_prot(e: u64, writable: bool, exec: bool) -> u64 {
        user_page(addr(e), writable, exec)
    }
    /// The same page, out of EL0's reach (PROT_NONE): it stays mapped, for
    /// the kernel's bookkeeping, so its data survives a later mprotect.
    pub const fn no_access(e: u64) -> u64 {
        (e & !AP_EL0) | AP_READ_ONLY | UXN
    }
    /// Whether EL0 may access it at all.
    pub const fn user_accessible(e: u64) -> bool {
        e & AP_EL0 != 0
    }
}

/// Size of the region one entry at `level` maps.
pub const fn level_size(level: usize) -> u64 {
    1 << (39 - 9 * level)
}

/// Index of `va` in a table at `level`.
pub const fn level_index(va: u64, level: usize) -> usize {
    ((va >> (39 - 9 * level)) & (ENTRIES as u64 - 1)) as usize
}

/// A translation table tree rooted at an L0 table.
pub struct PageTable<'m, M: TableMemory> {
    root: u64,
    memory: &'m mut M,
}

impl<'m, M: TableMemory> PageTable<'m, M> {
    /// A new, empty tree.
    pub fn new(memory: &'m mut M) -> Result<Self, MapError> {
        let root = memory.alloc_table().ok_or(MapError::OutOfMemory)?;
        Ok(PageTable { root, memory })
    }

    /// The existing tree whose L0 table is at `root`.
    pub fn from_root(root: u64, memory: &'m mut M) -> Self {
        PageTable { root, memory }
    }

    /// Physical address of the L0 table (for TTBRn_EL1).
    pub fn root(&self) -> u64 {
        self.root
    }

    /// Maps `[va, va + len)` to `[pa, pa + len)`. With `blocks`, uses 1 GiB and
    /// 2 MiB blocks wherever `va`, `pa` and the remaining length allow.
    pub fn map(&mut self, va: u64, pa: u64, len: u64, attrs: Attributes, blocks: bool) -> Result<(), MapError> {
        let page = PAGE_SIZE as u64;
        if !va.is_multiple_of(page) || !pa.is_multiple_of(page) || !len.is_multiple_of(page) {
            return Err(MapError::Misaligned);
        }
        let mut offset = 0;
        while offset < len {
            let (v, p) = (va + offset, pa + offset);
            let level = (1..=3)
                .find(|&level| {
                    let size = level_size(level);
                    (level == 3 || blocks) && v % size == 0 && p % size == 0 && len - offset >= size
                })
                .unwrap_or(3);
            self.map_one(v, p, level, attrs)?;
            offset += level_size(level);
        }
        Ok(())
    }

    /// The table at `level` on the way to `va`; with `alloc`, missing
    /// tables above it are created, otherwise a missing one gives
    /// `Ok(None)`. `AlreadyMapped` if a block covers `va` above `level`.
    fn walk_to(&mut self, va: u64, level: usize, alloc: bool) -> Result<Option<u64>, MapError> {
        let mut table = self.root;
        for l in 0..level {
            let index = level_index(va, l);
            let entry = self.memory.table(table)[index];
            table = if entry & VALID == 0 {
                if !alloc {
                    return Ok(None);
                }
                let next = self.memory.alloc_table().ok_or(MapError::OutOfMemory)?;
                self.memory.table(table)[index] = next | VALID | TABLE_OR_PAGE;
                next
            } else if entry & TABLE_OR_PAGE != 0 {
                entry & ADDRESS_MASK
            } else {
                return Err(MapError::AlreadyMapped); // a block covers it
            };
        }
        Ok(Some(table))
    }

    /// Installs one leaf at `level` for `va`.
    fn map_one(&mut self, va: u64, pa: u64, level: usize, attrs: Attributes) -> Result<(), MapError> {
        let table = self.walk_to(va, level, true)?.expect("tables allocated");
        let slot = &mut self.memory.table(table)[level_index(va, level)];
        if *slot & VALID != 0 {
            return Err(MapError::AlreadyMapped);
        }
        let kind = if level == 3 { TABLE_OR_PAGE } else { 0 };
        *slot = pa | attrs.descriptor_bits() | VALID | kind;
        Ok(())
    }

    /// Removes the 4 KiB page mapping `va`; returns the physical address it
    /// mapped, or `None` if `va` was not mapped by a page (unmapped, or inside
    /// a block, which this does not split). Tables are not freed. The caller
    /// invalidates the TLB.
    pub fn unmap_page(&mut self, va: u64) -> Option<u64> {
        let slot = self.pte_mut(va, false).ok()??;
        if *slot & VALID == 0 {
            return None;
        }
        let pa = *slot & ADDRESS_MASK;
        *slot = 0;
        Some(pa)
    }

    /// The L3 (page) entry for `va`; with `alloc`, missing tables on the way
    /// are created, otherwise a missing one gives `Ok(None)`. Blocks are not
    /// split: `AlreadyMapped` if one covers `va`.
    pub fn pte_mut(&mut self, va: u64, alloc: bool) -> Result<Option<&mut u64>, MapError> {
        Ok(match self.walk_to(va, 3, alloc)? {
            Some(table) => Some(&mut self.memory.table(table)[level_index(va, 3)]),
            None => None,
        })
    }

    /// Calls `f(va, entry)` for every present page entry in `[start, end)`
    /// of a tree made of pages only (a user address space), in address
    /// order (Linux: the `zap_pte_range`/`change_pte_range` walks). Only the
    /// tables that exist are visited, each from its parent, never from the
    /// root per page: a missing table passes over its whole span, and runs
    /// of eight empty entries (one cache line) are passed over in one test.
    pub fn for_each_pte_in(&mut self, start: u64, end: u64, mut f: impl FnMut(u64, &mut u64)) {
        if start < end {
            range_walk(self.memory, self.root, 0, 0, start, end - 1, &mut f);
        }
    }

    /// Clears every entry of a tree made of pages only (a user address
    /// space) that lies in `ranges` (inclusive `(first, last)` pairs, in
    /// address order, not overlapping), the links to tables included,
    /// calling `leaf(entry)` for each present page entry first (Linux:
    /// `unmap_vmas` + `free_pgtables`). Visits each table once, from its
    /// parent, whatever number of ranges cross it. Returns the number of
    /// tables below the root it unlinked: when that is every table but the
    /// root, the whole tree is zeros again (for a tree with no entry
    /// outside `ranges`).
    pub fn zap_ranges(&mut self, ranges: &[(u64, u64)], mut leaf: impl FnMut(u64)) -> usize {
        zap_level(self.memory, self.root, 0, 0, ranges, &mut leaf)
    }

    /// Copies the present page entries of `[start, end)` into `dst`'s tree,
    /// table to table (Linux: `copy_page_range` and its `copy_p?d_range`
    /// levels): a table of `dst` is allocated where `self` has one, and
    /// `copy(va, entry)` sees each present source entry (and may change it,
    /// as fork's write-protection does) and returns the destination's, or
    /// `None` to leave that one out. Stops at the first table that cannot be
    /// allocated: what was copied so far stays in `dst` for its owner to
    /// free.
    pub fn copy_range<D: TableMemory>(
        &mut self,
        dst: &mut PageTable<'_, D>,
        start: u64,
        end: u64,
        mut copy: impl FnMut(u64, &mut u64) -> Option<u64>,
    ) -> Result<(), MapError> {
        if start >= end {
            return Ok(());
        }
        let range = (start, end - 1);
        copy_level(self.memory, dst.memory, (self.root, dst.root), 0, 0, range, &mut copy)
    }

    /// Frees every table of the tree, the root included, after calling
    /// `leaf(entry)` for each valid page entry (Linux: `free_pgtables`).
    /// Visits all 512 entries of every table: for trees whose tables are
    /// known otherwise (user address spaces keep a chain of them) use
    /// [`Self::for_each_pte_in`] over the mapped ranges instead.
    pub fn free_all(mut self, mut leaf: impl FnMut(u64)) {
        self.free_level(self.root, 0, &mut leaf);
    }

    fn free_level(&mut self, table: u64, level: usize, leaf: &mut impl FnMut(u64)) {
        for i in 0..ENTRIES {
            let entry = self.memory.table(table)[i];
            if entry & VALID == 0 {
                continue;
            }
            if level == 3 {
                leaf(entry);
            } else if entry & TABLE_OR_PAGE != 0 {
                self.free_level(entry & ADDRESS_MASK, level + 1, leaf);
            }
        }
        self.memory.free_table(table);
    }

    /// Walks `va`: the physical address it maps to, the leaf's attributes and
    /// level, or `None` if unmapped.
    pub fn translate(&mut self, va: u64) -> Option<(u64, Attributes, usize)> {
        let mut table = self.root;
        for level in 0..=3 {
            let entry = self.memory.table(table)[level_index(va, level)];
            if entry & VALID == 0 {
                return None;
            }
            let is_leaf = level == 3 || entry & TABLE_OR_PAGE == 0;
            if is_leaf {
                let size = level_size(level);
                let pa = (entry & ADDRESS_MASK & !(size - 1)) | (va & (size - 1));
                return Some((pa, Attributes::from_descriptor(entry), level));
            }
            table = entry & ADDRESS_MASK;
        }
        None
    }
}

/// The entries of a table at `level` (spanning from `base`) that the
/// inclusive range `[first, last]` covers.
fn index_range(level: usize, base: u64, (first, last): (u64, u64)) -> core::ops::RangeInclusive<usize> {
    let size = level_size(level);
    let span_last = base + (ENTRIES as u64 * size - 1);
    let lo = if first > base { ((first - base) / size) as usize } else { 0 };
    let hi = if last < span_last { ((last - base) / size) as usize } else { ENTRIES - 1 };
    lo..=hi
}

/// Whether the eight entries from `i` (a multiple of 8) are all zero: one
/// cache line of an empty stretch, passed over in one test.
fn empty_line(table: &Table, i: usize) -> bool {
    table[i..i + 8].iter().fold(0, |acc, e| acc | e) == 0
}

/// The next index to look at from `i` in a leaf table walk up to `hi`:
/// `i` itself, or past any empty cache lines that start at `i`.
fn skip_empty_lines(table: &Table, mut i: usize, hi: usize) -> usize {
    while i.is_multiple_of(8) && i + 7 <= hi && empty_line(table, i) {
        i += 8;
    }
    i
}

fn range_walk<M: TableMemory>(
    memory: &mut M,
    table: u64,
    level: usize,
    base: u64,
    first: u64,
    last: u64,
    f: &mut impl FnMut(u64, &mut u64),
) {
    let size = level_size(level);
    let range = index_range(level, base, (first, last));
    let hi = *range.end();
    let mut i = *range.start();
    while i <= hi {
        let t = memory.table(table);
        if level == 3 {
            i = skip_empty_lines(t, i, hi);
            if i > hi {
                break;
            }
            if t[i] & VALID != 0 {
                f(base + i as u64 * size, &mut t[i]);
            }
        } else {
            let entry = t[i];
            if entry & VALID != 0 && entry & TABLE_OR_PAGE != 0 {
                range_walk(memory, entry & ADDRESS_MASK, level + 1, base + i as u64 * size, first, last, f);
            }
        }
        i += 1;
    }
}

/// [`PageTable::zap_ranges`] for one table at `level`, spanning from `base`:
/// `ranges` are the ones that cross it.
fn zap_level<M: TableMemory>(
    memory: &mut M,
    table: u64,
    level: usize,
    base: u64,
    ranges: &[(u64, u64)],
    leaf: &mut impl FnMut(u64),
) -> usize {
    let size = level_size(level);
    let mut unlinked = 0;
    // Entries below `done` were handled for an earlier range: neighbouring
    // ranges can share an entry above the page level.
    let mut done = 0;
    for (k, &range) in ranges.iter().enumerate() {
        let indexes = index_range(level, base, range);
        let hi = *indexes.end();
        let mut i = (*indexes.start()).max(done);
        while i <= hi {
            let t = memory.table(table);
            if level == 3 {
                i = skip_empty_lines(t, i, hi);
                if i > hi {
                    break;
                }
                let entry = core::mem::take(&mut t[i]);
                if entry & VALID != 0 {
                    leaf(entry);
                }
            } else {
                let entry = t[i];
                if entry & VALID != 0 && entry & TABLE_OR_PAGE != 0 {
                    let entry_base = base + i as u64 * size;
                    let entry_last = entry_base + (size - 1);
                    // This range and the later ones that start inside the entry.
                    let n = ranges[k..].iter().take_while(|r| r.0 <= entry_last).count();
                    let below = &ranges[k..k + n];
                    unlinked += 1 + zap_level(memory, entry & ADDRESS_MASK, level + 1, entry_base, below, leaf);
                    memory.table(table)[i] = 0;
                }
            }
            i += 1;
        }
        done = hi + 1;
    }
    unlinked
}

fn copy_level<S: TableMemory, D: TableMemory>(
    src: &mut S,
    dst: &mut D,
    (src_table, dst_table): (u64, u64),
    level: usize,
    base: u64,
    range: (u64, u64),
    copy: &mut impl FnMut(u64, &mut u64) -> Option<u64>,
) -> Result<(), MapError> {
    let size = level_size(level);
    let indexes = index_range(level, base, range);
    let hi = *indexes.end();
    let mut i = *indexes.start();
    while i <= hi {
        let t = src.table(src_table);
        if level == 3 {
            i = skip_empty_lines(t, i, hi);
            if i > hi {
                break;
            }
            if t[i] & VALID != 0 {
                if let Some(entry) = copy(base + i as u64 * size, &mut t[i]) {
                    dst.table(dst_table)[i] = entry;
                }
            }
        } else {
            let entry = t[i];
            if entry & VALID != 0 && entry & TABLE_OR_PAGE != 0 {
                let existing = dst.table(dst_table)[i];
                let next = if existing & VALID != 0 {
                    existing & ADDRESS_MASK
                } else {
                    let next = dst.alloc_table().ok_or(MapError::OutOfMemory)?;
                    dst.table(dst_table)[i] = next | VALID | TABLE_OR_PAGE;
                    next
                };
                let pair = (entry & ADDRESS_MASK, next);
                copy_level(src, dst, pair, level + 1, base + i as u64 * size, range, copy)?;
            }
        }
        i += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::boxed::Box;
    use std::vec::Vec;

    /// Tables in host memory, at fake physical addresses 0x1000_0000 + n * 4 KiB.
    #[derive(Default)]
    struct FakeMemory {
        tables: Vec<Box<Table>>,
        limit: Option<usize>,
    }

    const FAKE_BASE: u64 = 0x1000_0000;

    impl TableMemory for FakeMemory {
        fn alloc_table(&mut self) -> Option<u64> {
            if self.limit.is_some_and(|l| self.tables.len() >= l) {
                return None;
            }
            self.tables.push(Box::new([0; ENTRIES]));
            Some(FAKE_BASE + (self.tables.len() as u64 - 1) * PAGE_SIZE as u64)
        }
        fn table(&mut self, pa: u64) -> &mut Table {
            &mut self.tables[((pa - FAKE_BASE) / PAGE_SIZE as u64) as usize]
        }
    }

    const KVA: u64 = 0xffff_0000_0000_0000;

    #[test]
    fn blocks_where_aligned_pages_elsewhere() {
        let mut mem = FakeMemory::default();
        let mut pt = PageTable::new(&mut mem).unwrap();
        // 0x80000..0x20_0000 (pages), then 2 MiB blocks up to 1 GiB, then a 1 GiB block.
        pt.map(KVA + 0x8_0000, 0x8_0000, 0x8000_0000 - 0x8_0000, Attributes::KERNEL_DATA, true).unwrap();
        assert_eq!(pt.translate(KVA + 0x8_0123).map(|t| (t.0, t.2)), Some((0x8_0123, 3)));
        assert_eq!(pt.translate(KVA + 0x20_0000).map(|t| (t.0, t.2)), Some((0x20_0000, 2)));
        assert_eq!(pt.translate(KVA + 0x4000_1234).map(|t| (t.0, t.2)), Some((0x4000_1234, 1)));
        assert_eq!(pt.translate(KVA + 0x7_f000), None);
        assert_eq!(pt.translate(KVA + 0x8000_0000), None);
        // L0 + L1 + L2 (first GiB) + L3 (first 2 MiB).
        assert_eq!(mem.tables.len(), 4);
    }

    #[test]
    fn without_blocks_everything_is_pages() {
        let mut mem = FakeMemory::default();
        let mut pt = PageTable::new(&mut mem).unwrap();
        pt.map(0x20_0000, 0x20_0000, 0x20_0000, Attributes::KERNEL_TEXT, false).unwrap();
        assert_eq!(pt.translate(0x3f_ffff).map(|t| t.2), Some(3));
    }

    #[test]
    fn attributes_round_trip_through_descriptors() {
        for attrs in [Attributes::KERNEL_TEXT, Attributes::KERNEL_RODATA, Attributes::KERNEL_DATA, Attributes::DEVICE] {
            let mut mem = FakeMemory::default();
            let mut pt = PageTable::new(&mut mem).unwrap();
            pt.map(KVA, 0x1000, 0x1000, attrs, true).unwrap();
            assert_eq!(pt.translate(KVA).unwrap().1, attrs);
        }
        let text = Attributes::KERNEL_TEXT.descriptor_bits();
        assert_eq!(text & PXN, 0, "kernel text is executable at EL1");
        assert_ne!(text & UXN, 0, "but never at EL0");
        assert_ne!(text & AP_READ_ONLY, 0);
        let data = Attributes::KERNEL_DATA.descriptor_bits();
        assert_ne!(data & PXN, 0, "data is never executable");
        assert_eq!(data & AP_READ_ONLY, 0);
        assert_eq!(Attributes::DEVICE.descriptor_bits() & SH_INNER, 0);
    }

    #[test]
    fn overlapping_and_misaligned_maps_are_refused() {
        let mut mem = FakeMemory::default();
        let mut pt = PageTable::new(&mut mem).unwrap();
        pt.map(0, 0, 0x20_0000, Attributes::KERNEL_DATA, true).unwrap();
        assert_eq!(pt.map(0x1000, 0x1000, 0x1000, Attributes::KERNEL_DATA, true), Err(MapError::AlreadyMapped));
        pt.map(0x40_0000, 0, 0x1000, Attributes::KERNEL_DATA, true).unwrap();
        assert_eq!(pt.map(0x40_0000, 0, 0x1000, Attributes::KERNEL_DATA, true), Err(MapError::AlreadyMapped));
        assert_eq!(pt.map(0x123, 0, 0x1000, Attributes::KERNEL_DATA, true), Err(MapError::Misaligned));
    }

    #[test]
    fn unmap_removes_only_pages() {
        let mut mem = FakeMemory::default();
        let mut pt = PageTable::new(&mut mem).unwrap();
        pt.map(KVA, 0x5000, 0x2000, Attributes::KERNEL_DATA, false).unwrap();
        pt.map(KVA + 0x4000_0000, 0, 0x4000_0000, Attributes::KERNEL_DATA, true).unwrap();
        assert_eq!(pt.unmap_page(KVA + 0x1000), Some(0x6000));
        assert_eq!(pt.translate(KVA + 0x1000), None);
        assert_eq!(pt.translate(KVA).map(|t| t.0), Some(0x5000), "the neighbour stays");
        assert_eq!(pt.unmap_page(KVA + 0x1000), None, "already unmapped");
        assert_eq!(pt.unmap_page(KVA + 0x4000_0000), None, "blocks are not split");
        assert_eq!(pt.unmap_page(KVA + 0x8000_0000), None, "never mapped");
        // The page can be mapped again.
        pt.map(KVA + 0x1000, 0x9000, 0x1000, Attributes::KERNEL_DATA, false).unwrap();
        assert_eq!(pt.translate(KVA + 0x1000).map(|t| t.0), Some(0x9000));
    }

    #[test]
    fn user_pages_walk_protect_and_free() {
        let mut mem = FakeMemory::default();
        let mut pt = PageTable::new(&mut mem).unwrap();
        for (i, va) in [0x40_0000u64, 0x40_1000, 0x7fff_f000_0000].into_iter().enumerate() {
            let e = pt.pte_mut(va, true).unwrap().unwrap();
            assert!(!pte::present(*e));
            *e = pte::user_page(0x10_0000 + i as u64 * 0x1000, true, i == 0);
        }
        assert!(pt.pte_mut(0x50_0000, false).unwrap().is_none_or(|e| !pte::present(*e)));
        assert!(pt.pte_mut(0x1_0000_0000, false).unwrap().is_none(), "no tables there");
        let mut seen = std::vec::Vec::new();
        pt.for_each_pte_in(0, 1 << 48, |va, e| {
            seen.push((va, pte::addr(*e)));
            *e = pte::wrprotect(*e);
        });
        assert_eq!(seen, [(0x40_0000, 0x10_0000), (0x40_1000, 0x10_1000), (0x7fff_f000_0000, 0x10_2000)]);
        let (pa, attrs, level) = pt.translate(0x40_0123).unwrap();
        assert_eq!((pa, level), (0x10_0123, 3));
        assert!(attrs.user && attrs.user_exec && !attrs.writable && !attrs.global && !attrs.kernel_exec);
        let e = *pt.pte_mut(0x40_1000, false).unwrap().unwrap();
        assert!(!pte::writable(e) && pte::writable(pte::mkwrite(e)));
        assert!(!Attributes::from_descriptor(e).user_exec);
        let mut leaves = 0;
        pt.free_all(|_| leaves += 1);
        assert_eq!(leaves, 3);
    }

    /// A user tree with pages at `vas` (page i maps 0x10_0000 + i pages).
    fn user_tree(mem: &mut FakeMemory, vas: &[u64]) -> u64 {
        let mut pt = PageTable::new(mem).unwrap();
        for (i, &va) in vas.iter().enumerate() {
            *pt.pte_mut(va, true).unwrap().unwrap() = pte::user_page(0x10_0000 + i as u64 * 0x1000, true, false);
        }
        pt.root()
    }

    fn pages_in(pt: &mut PageTable<'_, FakeMemory>, start: u64, end: u64) -> Vec<(u64, u64)> {
        let mut seen = Vec::new();
        pt.for_each_pte_in(start, end, |va, e| seen.push((va, pte::addr(*e))));
        seen
    }

    #[test]
    fn ranged_walk_sees_only_present_pages_inside_the_range() {
        let mut mem = FakeMemory::default();
        // Both ends of one L3 table, the next table's first entry, a far
        // page: empty cache lines and missing tables lie between them.
        let vas = [0x40_0000, 0x40_8000, 0x5f_f000, 0x60_0000, 0x7fff_ffe0_0000];
        let root = user_tree(&mut mem, &vas);
        let mut pt = PageTable::from_root(root, &mut mem);
        let all: Vec<_> = vas.iter().enumerate().map(|(i, &va)| (va, 0x10_0000 + i as u64 * 0x1000)).collect();
        assert_eq!(pages_in(&mut pt, 0, 1 << 48), all);
        assert_eq!(pages_in(&mut pt, 0x40_1000, 0x60_0000), all[1..3], "end is exclusive, start inclusive");
        assert_eq!(pages_in(&mut pt, 0x40_8000, 0x40_9000), all[1..2], "a single page");
        assert_eq!(pages_in(&mut pt, 0x5f_f000, 0x7fff_ffe0_1000), all[2..], "across tables");
        assert!(pages_in(&mut pt, 0x1_0000_0000, 0x2_0000_0000).is_empty(), "no tables there");
        assert!(pages_in(&mut pt, 0x40_0000, 0x40_0000).is_empty(), "an empty range");
        // Entries can be changed in place.
        pt.for_each_pte_in(0x40_0000, 0x40_1000, |_, e| *e = 0);
        assert_eq!(pages_in(&mut pt, 0, 1 << 48), all[1..]);
    }

    #[test]
    fn zap_ranges_leaves_every_table_zero_and_counts_the_tables_it_unlinked() {
        let mut mem = FakeMemory::default();
        // Two ranges share the low L1, L2 and one L3 table; a third is at the
        // top of the address space, under tables of its own.
        let vas = [0x40_0000, 0x40_3000, 0x40_5000, 0x5f_f000, 0x60_0000, 0x7fff_ffe0_0000];
        let root = user_tree(&mut mem, &vas);
        let tables = mem.tables.len();
        let mut pt = PageTable::from_root(root, &mut mem);
        let ranges = [(0x40_0000, 0x40_3fff), (0x40_5000, 0x60_0fff), (0x7fff_ffe0_0000, 0x7fff_ffff_ffff)];
        let mut seen = Vec::new();
        assert_eq!(pt.zap_ranges(&ranges, |e| seen.push(pte::addr(e))), tables - 1, "every table but the root");
        let all: Vec<u64> = (0..vas.len() as u64).map(|i| 0x10_0000 + i * 0x1000).collect();
        assert_eq!(seen, all, "each page once, in address order");
        assert!(mem.tables.iter().all(|t| t.iter().all(|&e| e == 0)), "links and pages cleared");
    }

    #[test]
    fn zap_ranges_counts_short_when_a_table_lies_outside_the_ranges() {
        let mut mem = FakeMemory::default();
        let vas = [0x40_0000, 0x8000_0000];
        let root = user_tree(&mut mem, &vas);
        let tables = mem.tables.len();
        let mut pt = PageTable::from_root(root, &mut mem);
        let mut seen = Vec::new();
        // The second page's L2 and L3 tables are not reached.
        assert_eq!(pt.zap_ranges(&[(0x40_0000, 0x40_0fff)], |e| seen.push(pte::addr(e))), tables - 3);
        assert_eq!(seen, [0x10_0000]);
        let left = mem.tables.iter().filter(|t| t.iter().any(|&e| e != 0)).count();
        assert_eq!(left, 3, "the L1's link to the far L2, that L2's to its L3, and its page stay");
    }

    #[test]
    fn copy_range_copies_table_to_table_and_lets_the_caller_change_both_sides() {
        let mut src = FakeMemory::default();
        let vas = [0x40_0000, 0x40_1000, 0x60_0000, 0x7fff_ffe0_0000];
        let root = user_tree(&mut src, &vas);
        let mut parent = PageTable::from_root(root, &mut src);
        let mut dst = FakeMemory::default();
        let mut child = PageTable::new(&mut dst).unwrap();
        // Everything but 0x40_1000, write-protected on both sides.
        parent
            .copy_range(&mut child, 0x40_0000, 0x40_2000, |va, e| {
                *e = pte::wrprotect(*e);
                (va != 0x40_1000).then_some(*e)
            })
            .unwrap();
        parent.copy_range(&mut child, 0x60_0000, 1 << 48, |_, e| Some(*e)).unwrap();
        let child_root = child.root();
        let copied = pages_in(&mut child, 0, 1 << 48);
        assert_eq!(copied, [(0x40_0000, 0x10_0000), (0x60_0000, 0x10_2000), (0x7fff_ffe0_0000, 0x10_3000)]);
        let e = *parent.pte_mut(0x40_1000, false).unwrap().unwrap();
        assert!(!pte::writable(e), "the source entry was changed");
        // L0 + L1 + L2 + two L3 in the low GiB; L1 + L2 + L3 at the top.
        assert_eq!(dst.tables.len(), 8);
        let mut child = PageTable::from_root(child_root, &mut dst);
        assert!(!pte::writable(*child.pte_mut(0x40_0000, false).unwrap().unwrap()));
    }

    #[test]
    fn copy_range_stops_when_out_of_table_memory() {
        let mut src = FakeMemory::default();
        let root = user_tree(&mut src, &[0x40_0000, 0x7fff_ffe0_0000]);
        let mut parent = PageTable::from_root(root, &mut src);
        let mut dst = FakeMemory { limit: Some(3), ..Default::default() };
        let mut child = PageTable::new(&mut dst).unwrap();
        let mut copied = 0;
        let result = parent.copy_range(&mut child, 0, 1 << 48, |_, e| {
            copied += 1;
            Some(*e)
        });
        assert_eq!(result, Err(MapError::OutOfMemory));
        assert_eq!(copied, 0, "no L3 table, nothing copied");
    }

    #[test]
    fn running_out_of_table_memory_is_an_error() {
        let mut mem = FakeMemory { limit: Some(2), ..Default::default() };
        let mut pt = PageTable::new(&mut mem).unwrap();
        assert_eq!(pt.map(0, 0, 0x1000, Attributes::KERNEL_DATA, true), Err(MapError::OutOfMemory));
    }
}
