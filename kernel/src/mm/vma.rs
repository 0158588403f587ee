//! A process's virtual memory areas (Linux: `vm_area_struct`, mm/mmap.c,
//! mm/mprotect.c): disjoint page-aligned ranges with their permissions and
//! kind, and the operations `mmap`, `munmap`, `mprotect` and `brk` need:
//! find, insert, unmap with splitting, protect with splitting and merging,
//! and finding a free gap.
//!
//! Linux keeps them in a maple tree; a `BTreeMap` keyed by start address
//! gives the same ordered lookups. Pure logic, unit-tested on the host; each
//! user address space (mm_struct.rs) owns one.

use crate::errno::Errno;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

const PAGE: u64 = 4096;

/// Access permissions (Linux: VM_READ, VM_WRITE, VM_EXEC).
pub mod prot {
    pub const READ: u8 = 1;
    pub const WRITE: u8 = 2;
    pub const EXEC: u8 = 4;
}

/// What an area holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmaKind {
    /// Part of the executable (text, data, bss).
    Image,
    /// The program break (heap).
    Heap,
    /// The user stack (grows down on demand).
    Stack,
    /// Anonymous private memory from mmap.
    Anonymous,
    /// Anonymous private memory from mmap with MAP_GROWSDOWN: a touch below
    /// it moves its start down (Linux: VM_GROWSDOWN, `expand_downwards`).
    GrowsDown,
    /// A page the kernel provides to every process (the signal-return
    /// trampoline); never copied on write, never unmapped by the process.
    Special,
    /// A shared mapping of a file (MAP_SHARED; an anonymous one is backed
    /// by a hidden tmpfs file): its pages are the file's, never copied.
    /// `object` names the file in the address space's table; `base` is the
    /// address where the file's offset 0 would be, so splitting an area
    /// keeps every page's file offset right.
    Shared { object: u32, base: u64 },
    /// A private mapping of a file (MAP_PRIVATE): the file's pages are
    /// mapped read-only and copied at the first write.
    PrivateFile { object: u32, base: u64 },
}

impl VmaKind {
    /// Whether a touch below the area grows it (Linux: VM_GROWSDOWN): the
    /// main stack and MAP_GROWSDOWN mappings.
    pub fn grows_down(&self) -> bool {
        matches!(self, VmaKind::Stack | VmaKind::GrowsDown)
    }

    /// The mapped file and the page of it at `addr`, for file mappings.
    pub fn file_page(&self, addr: u64) -> Option<(u32, u64)> {
        match *self {
            VmaKind::Shared { object, base } | VmaKind::PrivateFile { object, base } => {
                Some((object, addr.wrapping_sub(base) / 4096))
            }
            _ => None,
        }
    }
}

/// One area `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vma {
    pub start: u64,
    pub end: u64,
    pub prot: u8,
    pub kind: VmaKind,
}

impl Vma {
    /// Length in bytes.
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    /// Whether the area is empty (never stored).
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }

    /// Whether `addr` lies inside.
    pub fn contains(&self, addr: u64) -> bool {
        (self.start..self.end).contains(&addr)
    }

    /// Whether the area counts as data for RLIMIT_DATA: private and
    /// writable, and not the stack (Linux: `is_data_mapping`).
    pub fn is_data(&self) -> bool {
        self.prot & prot::WRITE != 0 && !matches!(self.kind, VmaKind::Stack | VmaKind::GrowsDown | VmaKind::Special)
    }

    /// Whether the area is committed memory (mm/overcommit.rs): private
    /// and writable, the stack included (Linux: `accountable_mapping`,
    /// VM_ACCOUNT).
    pub fn accountable(&self) -> bool {
        accountable(self.prot, self.kind)
    }
}

/// Whether an area of `prot` and `kind` is committed memory.
pub fn accountable(prot_bits: u8, kind: VmaKind) -> bool {
    prot_bits & prot::WRITE != 0 && !matches!(kind, VmaKind::Shared { .. } | VmaKind::Special)
}

/// The address-space size and the data size, in bytes, that an area
/// change must keep within (RLIMIT_AS, RLIMIT_DATA; `u64::MAX`: none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VmLimits {
    pub address_space: u64,
    pub data: u64,
}

impl VmLimits {
    /// No limit.
    pub const NONE: VmLimits = VmLimits { address_space: u64::MAX, data: u64::MAX };
}

/// The most areas one address space may have (Linux's default
/// `vm.max_map_count`): a process cutting its memory into ever more areas
/// gets ENOMEM instead of using up the kernel heap.
pub const MAX_MAP_COUNT: usize = 65530;

/// How close below another area a growing-down area may come (Linux's
/// `stack_guard_gap`, 256 pages).
pub const STACK_GUARD_GAP: u64 = 256 * PAGE;

/// The areas of one address space.
#[derive(Clone, Debug, Default)]
pub struct VmaList {
    areas: BTreeMap<u64, Vma>,
}

fn check_range(start: u64, len: u64) -> Result<u64, Errno> {
    if !start.is_multiple_of(PAGE) || len == 0 {
        return Err(Errno::EINVAL);
    }
    let len = len.checked_next_multiple_of(PAGE).ok_or(Errno::EINVAL)?;
    let end = start.checked_add(len).ok_or(Errno::EINVAL)?;
    Ok(end)
}

impl VmaList {
    /// No areas.
    pub const fn new() -> Self {
        VmaList { areas: BTreeMap::new() }
    }

    /// Whether `len` more bytes (data if `data`) fit `limits`, once
    /// `[skip_start, skip_end)` is gone (what MAP_FIXED replaces) (Linux:
    /// `may_expand_vm`): ENOMEM if not.
    pub fn may_expand(
        &self,
        skip_start: u64,
        skip_end: u64,
        len: u64,
        data: bool,
        limits: VmLimits,
    ) -> Result<(), Errno> {
        let (mut total, mut data_vm) = (0u64, 0u64);
        for v in self.areas.values() {
            let overlap = v.end.min(skip_end).saturating_sub(v.start.max(skip_start));
            let kept = v.len() - overlap;
            total += kept;
            if v.is_data() {
                data_vm += kept;
            }
        }
        if total.saturating_add(len) > limits.address_space {
            return Err(Errno::ENOMEM);
        }
        if data && data_vm.saturating_add(len) > limits.data {
            return Err(Errno::ENOMEM);
        }
        Ok(())
    }

    /// Bytes of committed memory in the areas (mm/overcommit.rs).
    pub fn committed(&self) -> u64 {
        self.areas.values().filter(|v| v.accountable()).map(|v| v.len()).sum()
    }

    /// Bytes of `[start, end)` that giving `prot_bits` would newly make
    /// committed memory (what mprotect must ask for).
    pub fn newly_committed(&self, start: u64, end: u64, prot_bits: u8) -> u64 {
        self.areas
            .values()
            .filter(|v| v.start < end && start < v.end && !v.accountable() && accountable(prot_bits, v.kind))
            .map(|v| v.end.min(end) - v.start.max(start))
            .sum()
    }

    /// Total size of the areas, bytes.
    pub fn total(&self) -> u64 {
        self.areas.values().map(|v| v.len()).sum()
    }

    /// The areas in address order.
    pub fn iter(&self) -> impl Iterator<Item = &Vma> {
        self.areas.values()
    }

    /// The area containing `addr` (Linux: `find_vma` + containment check).
    pub fn find(&self, addr: u64) -> Option<&Vma> {
        self.areas.range(..=addr).next_back().map(|(_, v)| v).filter(|v| v.contains(addr))
    }

    /// Whether any area overlaps `[start, end)`.
    fn overlaps(&self, start: u64, end: u64) -> bool {
        self.areas.range(..end).next_back().is_some_and(|(_, v)| v.end > start)
    }

    /// Moves the start of the growing area (the stack, a MAP_GROWSDOWN
    /// mapping) just above the unmapped `addr` down to `addr`'s page, for a
    /// fault there (Linux:
    /// `expand_downwards`, `acct_stack_growth`): EFAULT (the fault's
    /// SIGSEGV) when no such area is above, when the page is below
    /// `mmap_min_addr`, when it comes within [`STACK_GUARD_GAP`] of an
    /// accessible area below, or when the area would pass `max_size`
    /// (RLIMIT_STACK) or the address-space limit of `limits`. Returns the
    /// grown area.
    pub fn expand_down(&mut self, addr: u64, max_size: u64, limits: VmLimits) -> Result<Vma, Errno> {
        let start = addr & !(PAGE - 1);
        let above = self.areas.range(addr..).next().map(|(_, v)| *v).ok_or(Errno::EFAULT)?;
        if !above.kind.grows_down() || self.find(addr).is_some() || start < PAGE {
            return Err(Errno::EFAULT);
        }
        if let Some((_, below)) = self.areas.range(..addr).next_back() {
            if !below.kind.grows_down() && below.prot != 0 && addr - below.end < STACK_GUARD_GAP {
                return Err(Errno::EFAULT);
            }
        }
        let grow = above.start - start;
        let total: u64 = self.areas.values().map(Vma::len).sum();
        if above.end - start > max_size || total.saturating_add(grow) > limits.address_space {
            return Err(Errno::EFAULT);
        }
        self.areas.remove(&above.start);
        let grown = Vma { start, ..above };
        self.areas.insert(start, grown);
        Ok(grown)
    }

    /// Adds an area over `[start, start + len)` (len rounded up to pages);
    /// `EEXIST` if it overlaps another, `EINVAL` if misaligned or empty,
    /// `ENOMEM` at [`MAX_MAP_COUNT`] areas.
    pub fn insert(&mut self, start: u64, len: u64, prot: u8, kind: VmaKind) -> Result<Vma, Errno> {
        let end = check_range(start, len)?;
        if self.overlaps(start, end) {
            return Err(Errno::EEXIST);
        }
        self.room_for(1)?;
        let vma = Vma { start, end, prot, kind };
        self.areas.insert(start, vma);
        Ok(vma)
    }

    /// ENOMEM if `more` areas would pass [`MAX_MAP_COUNT`].
    fn room_for(&self, more: usize) -> Result<(), Errno> {
        if self.areas.len() + more > MAX_MAP_COUNT {
            Err(Errno::ENOMEM)
        } else {
            Ok(())
        }
    }

    /// How many areas splitting at `start` and `end` adds (one per boundary
    /// that falls inside an area).
    fn splits(&self, start: u64, end: u64) -> usize {
        [start, end].iter().filter(|&&a| self.find(a).is_some_and(|v| v.start != a)).count()
    }

    /// Splits areas so that `start` and `end` fall on area boundaries.
    fn split_at(&mut self, addr: u64) {
        if let Some(v) = self.find(addr).copied() {
            if v.start != addr {
                self.areas.insert(v.start, Vma { end: addr, ..v });
                self.areas.insert(addr, Vma { start: addr, ..v });
            }
        }
    }

    /// Removes `[start, start + len)` from every area, splitting the ones it
    /// cuts (Linux: `do_munmap`); returns the ranges removed, for the caller
    /// to unmap and free. Unmapping nothing is not an error, as in Linux.
    pub fn unmap(&mut self, start: u64, len: u64) -> Result<Vec<(u64, u64)>, Errno> {
        let end = check_range(start, len)?;
        self.room_for(self.splits(start, end))?;
        self.split_at(start);
        self.split_at(end);
        let inside: Vec<u64> = self.areas.range(start..end).map(|(&k, _)| k).collect();
        Ok(inside.into_iter().filter_map(|k| self.areas.remove(&k)).map(|v| (v.start, v.end)).collect())
    }

    /// How far from `start` towards `end` the areas cover without a gap:
    /// `start` itself if it is not mapped.
    pub fn covered_until(&self, start: u64, end: u64) -> u64 {
        let mut at = start;
        while at < end {
            match self.find(at) {
                Some(v) => at = v.end,
                None => return at,
            }
        }
        end
    }

    /// Changes the permissions of `[start, start + len)` (Linux:
    /// `mprotect`): `ENOMEM` if part of the range is unmapped; neighbours
    /// left with equal attributes are merged again.
    pub fn protect(&mut self, start: u64, len: u64, prot: u8) -> Result<(), Errno> {
        let end = check_range(start, len)?;
        // Every byte must be covered.
        if self.covered_until(start, end) < end {
            return Err(Errno::ENOMEM);
        }
        self.room_for(self.splits(start, end))?;
        self.split_at(start);
        self.split_at(end);
        for (_, v) in self.areas.range_mut(start..end) {
            v.prot = prot;
        }
        self.merge_around(start, end);
        Ok(())
    }

    /// Merges adjacent areas with equal kind and permissions, from the area
    /// before `start` through the one starting at `end`.
    fn merge_around(&mut self, start: u64, end: u64) {
        let from = self.areas.range(..start).next_back().map_or(start, |(&k, _)| k);
        let keys: Vec<u64> = self.areas.range(from..=end).map(|(&k, _)| k).collect();
        let mut current: Option<u64> = None;
        for key in keys {
            let b = self.areas[&key];
            match current.map(|c| self.areas[&c]) {
                Some(a) if a.end == b.start && a.prot == b.prot && a.kind == b.kind => {
                    self.areas.remove(&key);
                    self.areas.insert(a.start, Vma { end: b.end, ..a });
                }
                _ => current = Some(key),
            }
        }
    }

    /// The lowest free gap of `len` bytes inside `[low, high)` (Linux:
    /// `get_unmapped_area`, bottom-up).
    pub fn find_free(&self, len: u64, low: u64, high: u64) -> Option<u64> {
        let len = len.div_ceil(PAGE) * PAGE;
        let mut candidate = low.div_ceil(PAGE) * PAGE;
        for v in self.areas.values() {
            if v.end <= candidate {
                continue;
            }
            if v.start >= candidate.checked_add(len)? {
                break;
            }
            candidate = v.end;
        }
        (candidate.checked_add(len)? <= high).then_some(candidate)
    }

    /// Moves the program break from `old_brk` to `new_brk` (both rounded up
    /// to a page) in a heap that starts at `heap_start` (Linux: `brk`).
    /// Growing maps `[old, new)` as heap and is `ENOMEM` if anything is
    /// there; shrinking unmaps `[new, old)` whatever the areas there are
    /// now (a munmap or mprotect may have split the heap), and returns the
    /// ranges whose pages must go.
    pub fn set_brk(&mut self, heap_start: u64, old_brk: u64, new_brk: u64) -> Result<Vec<(u64, u64)>, Errno> {
        if new_brk < heap_start {
            return Err(Errno::ENOMEM);
        }
        let page_up = |a: u64| a.checked_next_multiple_of(PAGE).ok_or(Errno::ENOMEM);
        let (old_end, new_end) = (page_up(old_brk.max(heap_start))?, page_up(new_brk)?);
        if new_end < old_end {
            return self.unmap(new_end, old_end - new_end);
        }
        if new_end > old_end {
            if self.overlaps(old_end, new_end) {
                return Err(Errno::ENOMEM);
            }
            // Extend the heap area that ends at the old break, if any.
            // (Only a read-write one: an mprotect'ed heap tail keeps its own
            // protection, and the new memory is read-write.)
            let below = self
                .find(old_end - 1)
                .copied()
                .filter(|v| v.end == old_end && v.kind == VmaKind::Heap && v.prot == prot::READ | prot::WRITE);
            match below {
                Some(v) => {
                    self.areas.insert(v.start, Vma { end: new_end, ..v });
                }
                None => {
                    self.insert(old_end, new_end - old_end, prot::READ | prot::WRITE, VmaKind::Heap)?;
                }
            }
        }
        Ok(Vec::new())
    }
}

/// Joins sorted, disjoint ranges `(start, end, class)` where one ends at
/// most `gap` bytes before the next begins and both have one class: a
/// page-table walk over the joined range visits the same entries, as long
/// as the gaps hold none (every present entry lies in an area), and saves
/// a walk down from the root per range joined.
pub fn join_ranges<C: PartialEq + Copy>(
    ranges: impl Iterator<Item = (u64, u64, C)>,
    gap: u64,
) -> impl Iterator<Item = (u64, u64, C)> {
    let mut ranges = ranges.peekable();
    core::iter::from_fn(move || {
        let (start, mut end, class) = ranges.next()?;
        while let Some(&(_, next_end, _)) =
            ranges.peek().filter(|&&(next, _, c)| c == class && next >= end && next - end <= gap)
        {
            end = next_end;
            ranges.next();
        }
        Some((start, end, class))
    })
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use prot::*;
    use std::vec;

    fn layout(list: &VmaList) -> Vec<(u64, u64, u8)> {
        list.iter().map(|v| (v.start, v.end, v.prot)).collect()
    }

    #[test]
    fn a_growsdown_area_grows_to_a_touch_below_it_within_its_limits() {
        let mut m = VmaList::new();
        let top = 0x4000_0000;
        m.insert(top, 0x4000, READ | WRITE, VmaKind::GrowsDown).unwrap();
        m.insert(top - 300 * 0x1000, 0x1000, READ, VmaKind::Anonymous).unwrap();
        // Just below, and further below: the start moves down to the page.
        assert_eq!(m.expand_down(top - 1, u64::MAX, VmLimits::NONE).unwrap().start, top - 0x1000);
        assert_eq!(m.expand_down(top - 0x10_123, u64::MAX, VmLimits::NONE).unwrap().start, top - 0x11000);
        assert_eq!(m.find(top - 0x8000).unwrap().end, top + 0x4000);
        // Not within the guard gap of the area below.
        assert_eq!(m.expand_down(top - 100 * 0x1000, u64::MAX, VmLimits::NONE).err(), Some(Errno::EFAULT));
        // Not past the size limit (RLIMIT_STACK) or the address-space limit.
        assert_eq!(m.expand_down(top - 0x20000, 0x20000, VmLimits::NONE).err(), Some(Errno::EFAULT));
        let as_limit = VmLimits { address_space: 0x16000 + 0x1000, data: u64::MAX };
        assert_eq!(m.expand_down(top - 0x13000, u64::MAX, as_limit).err(), Some(Errno::EFAULT));
        assert_eq!(m.expand_down(top - 0x12000, u64::MAX, as_limit).unwrap().start, top - 0x12000);
        // The main stack grows the same way.
        let mut stack = VmaList::new();
        stack.insert(top, 0x4000, READ | WRITE, VmaKind::Stack).unwrap();
        assert_eq!(stack.expand_down(top - 0x5000, 0x9000, VmLimits::NONE).unwrap().start, top - 0x5000);
        assert_eq!(stack.expand_down(top - 0x6000, 0x9000, VmLimits::NONE).err(), Some(Errno::EFAULT));
        // An ordinary area never grows.
        let mut plain = VmaList::new();
        plain.insert(top, 0x4000, READ | WRITE, VmaKind::Anonymous).unwrap();
        assert_eq!(plain.expand_down(top - 1, u64::MAX, VmLimits::NONE).err(), Some(Errno::EFAULT));
    }

    #[test]
    fn insert_find_and_overlap() {
        let mut m = VmaList::new();
        m.insert(0x400000, 0x1800, READ | EXEC, VmaKind::Image).unwrap();
        assert_eq!(m.find(0x401fff).unwrap().end, 0x402000, "length rounded up to a page");
        assert!(m.find(0x402000).is_none());
        assert!(m.find(0x3fffff).is_none());
        assert_eq!(m.insert(0x401000, 0x1000, READ, VmaKind::Anonymous).err(), Some(Errno::EEXIST));
        assert_eq!(m.insert(0x3ff000, 0x2000, READ, VmaKind::Anonymous).err(), Some(Errno::EEXIST));
        assert_eq!(m.insert(0x400123, 0x1000, READ, VmaKind::Anonymous).err(), Some(Errno::EINVAL));
        assert_eq!(m.insert(0x500000, 0, READ, VmaKind::Anonymous).err(), Some(Errno::EINVAL));
        m.insert(0x402000, 0x1000, READ | WRITE, VmaKind::Image).unwrap();
        assert_eq!(m.iter().count(), 2);
    }

    #[test]
    fn unmap_splits_and_returns_what_it_removed() {
        let mut m = VmaList::new();
        m.insert(0x10000, 0x10000, READ | WRITE, VmaKind::Anonymous).unwrap();
        let removed = m.unmap(0x14000, 0x2000).unwrap();
        assert_eq!(removed, vec![(0x14000, 0x16000)]);
        assert_eq!(layout(&m), vec![(0x10000, 0x14000, 3), (0x16000, 0x20000, 3)]);
        // Across a hole and two areas.
        let removed = m.unmap(0x12000, 0x6000).unwrap();
        assert_eq!(removed, vec![(0x12000, 0x14000), (0x16000, 0x18000)]);
        assert_eq!(layout(&m), vec![(0x10000, 0x12000, 3), (0x18000, 0x20000, 3)]);
        assert_eq!(m.unmap(0x40000, 0x1000).unwrap(), vec![], "nothing there is fine");
        assert_eq!(m.unmap(0x10001, 0x1000).err(), Some(Errno::EINVAL));
    }

    #[test]
    fn ranges_that_wrap_the_address_space_are_refused() {
        let mut m = VmaList::new();
        m.insert(0x10000, 0x4000, READ | WRITE, VmaKind::Anonymous).unwrap();
        assert_eq!(m.protect(0x10000, u64::MAX, READ), Err(Errno::EINVAL));
        assert_eq!(m.protect(0x10000, u64::MAX - 0x10000 + 1, READ), Err(Errno::EINVAL));
        assert_eq!(layout(&m), vec![(0x10000, 0x14000, 3)]);
    }

    #[test]
    fn growth_is_checked_against_the_address_space_and_data_limits() {
        let mut m = VmaList::new();
        m.insert(0x10000, 0x4000, READ | WRITE, VmaKind::Anonymous).unwrap();
        m.insert(0x20000, 0x2000, READ, VmaKind::Anonymous).unwrap();
        m.insert(0x40000, 0x8000, READ | WRITE, VmaKind::Stack).unwrap();
        let limits = |address_space, data| VmLimits { address_space, data };
        // 0xe000 mapped, of which 0x4000 data.
        assert_eq!(m.may_expand(0, 0, 0x2000, true, limits(0x10000, 0x6000)), Ok(()));
        assert_eq!(m.may_expand(0, 0, 0x2001, true, limits(0x10000, u64::MAX)), Err(Errno::ENOMEM));
        assert_eq!(m.may_expand(0, 0, 0x2001, true, limits(u64::MAX, 0x6000)), Err(Errno::ENOMEM));
        assert_eq!(m.may_expand(0, 0, 0x2001, false, limits(u64::MAX, 0x6000)), Ok(()), "read-only is not data");
        // What a fixed mapping replaces does not count twice.
        assert_eq!(m.may_expand(0x10000, 0x14000, 0x4000, true, limits(0xe000, 0x4000)), Ok(()));
        assert_eq!(m.may_expand(0x12000, 0x14000, 0x4000, true, limits(0xe000, 0x4000)), Err(Errno::ENOMEM));
        assert_eq!(m.may_expand(0, 0, u64::MAX, true, VmLimits::NONE), Ok(()), "no limit");
    }

    #[test]
    fn area_count_is_capped() {
        let mut m = VmaList::new();
        let base = 0x10_0000u64;
        // One area, then cut it by mprotect of every other page.
        m.insert(base, (MAX_MAP_COUNT as u64 + 10) * 0x2000, READ | WRITE, VmaKind::Anonymous).unwrap();
        let mut page = 0;
        let err = loop {
            match m.protect(base + page * 0x2000 + 0x1000, 0x1000, READ) {
                Ok(()) => page += 1,
                Err(e) => break e,
            }
        };
        assert_eq!(err, Errno::ENOMEM);
        assert!((MAX_MAP_COUNT - 1..=MAX_MAP_COUNT).contains(&m.iter().count()));
        // New areas fill up to the limit exactly, and no further.
        let mut at = 0x1000_0000_0000u64;
        while m.insert(at, 0x1000, READ, VmaKind::Anonymous).is_ok() {
            at += 0x2000;
        }
        assert_eq!(m.iter().count(), MAX_MAP_COUNT);
        assert_eq!(m.insert(at, 0x1000, READ, VmaKind::Anonymous).err(), Some(Errno::ENOMEM));
        assert_eq!(
            m.unmap(base + MAX_MAP_COUNT as u64 * 0x2000, 0x1000).err(),
            Some(Errno::ENOMEM),
            "a split needs room too"
        );
        // Calls that need no new area still work.
        m.protect(base, 0x1000, READ).unwrap();
    }

    #[test]
    fn coverage_stops_at_the_first_gap() {
        let mut m = VmaList::new();
        m.insert(0x10000, 0x2000, READ, VmaKind::Anonymous).unwrap();
        m.insert(0x12000, 0x1000, READ | WRITE, VmaKind::Anonymous).unwrap();
        m.insert(0x14000, 0x1000, READ, VmaKind::Anonymous).unwrap();
        assert_eq!(m.covered_until(0x10000, 0x15000), 0x13000);
        assert_eq!(m.covered_until(0x11000, 0x12800), 0x12800);
        assert_eq!(m.covered_until(0x13000, 0x15000), 0x13000);
    }

    #[test]
    fn protect_splits_then_merges_back() {
        let mut m = VmaList::new();
        m.insert(0x10000, 0x4000, READ | WRITE, VmaKind::Anonymous).unwrap();
        m.protect(0x11000, 0x1000, READ).unwrap();
        assert_eq!(layout(&m), vec![(0x10000, 0x11000, 3), (0x11000, 0x12000, 1), (0x12000, 0x14000, 3)]);
        m.protect(0x11000, 0x1000, READ | WRITE).unwrap();
        assert_eq!(layout(&m), vec![(0x10000, 0x14000, 3)], "equal neighbours merge");
        assert_eq!(m.protect(0x13000, 0x2000, READ).err(), Some(Errno::ENOMEM), "partly unmapped");
        assert_eq!(layout(&m), vec![(0x10000, 0x14000, 3)], "a failed mprotect changes nothing");
        // Different kinds never merge.
        m.insert(0x14000, 0x1000, READ | WRITE, VmaKind::Heap).unwrap();
        m.protect(0x10000, 0x5000, READ | WRITE).unwrap();
        assert_eq!(m.iter().count(), 2);
    }

    #[test]
    fn free_gaps_are_found_bottom_up() {
        let mut m = VmaList::new();
        m.insert(0x10000, 0x1000, READ, VmaKind::Anonymous).unwrap();
        m.insert(0x12000, 0x1000, READ, VmaKind::Anonymous).unwrap();
        assert_eq!(m.find_free(0x1000, 0x10000, 0x100000), Some(0x11000));
        assert_eq!(m.find_free(0x2000, 0x10000, 0x100000), Some(0x13000));
        assert_eq!(m.find_free(0x1000, 0x10800, 0x100000), Some(0x11000), "low is rounded up to a page");
        assert_eq!(m.find_free(0x100000, 0x10000, 0x100000), None);
    }

    #[test]
    fn brk_grows_shrinks_and_stops_at_neighbours() {
        let mut m = VmaList::new();
        let heap = 0x500000;
        assert_eq!(m.set_brk(heap, heap, heap).unwrap(), vec![], "an empty heap has no area");
        m.set_brk(heap, heap, heap + 0x1800).unwrap();
        assert_eq!(m.find(heap).unwrap().end, heap + 0x2000);
        m.set_brk(heap, heap + 0x1800, heap + 0x5000).unwrap();
        assert_eq!(layout(&m), vec![(heap, heap + 0x5000, 3)], "one heap area");
        assert_eq!(m.set_brk(heap, heap + 0x5000, heap + 0x1000).unwrap(), vec![(heap + 0x1000, heap + 0x5000)]);
        m.insert(heap + 0x8000, 0x1000, READ, VmaKind::Anonymous).unwrap();
        assert_eq!(m.set_brk(heap, heap + 0x1000, heap + 0x9000).err(), Some(Errno::ENOMEM));
        assert_eq!(m.set_brk(heap, heap + 0x1000, heap - 1).err(), Some(Errno::ENOMEM));
        assert_eq!(m.set_brk(heap, heap + 0x1000, heap).unwrap(), vec![(heap, heap + 0x1000)]);
        assert!(m.find(heap).is_none());
    }

    #[test]
    fn brk_growth_after_a_protected_tail_is_read_write() {
        let mut m = VmaList::new();
        let heap = 0x500000;
        m.set_brk(heap, heap, heap + 0x2000).unwrap();
        m.protect(heap + 0x1000, 0x1000, READ).unwrap();
        m.set_brk(heap, heap + 0x2000, heap + 0x3000).unwrap();
        assert_eq!(
            layout(&m),
            vec![(heap, heap + 0x1000, 3), (heap + 0x1000, heap + 0x2000, 1), (heap + 0x2000, heap + 0x3000, 3)]
        );
    }

    #[test]
    fn brk_works_on_a_heap_split_by_munmap() {
        let mut m = VmaList::new();
        let heap = 0x500000;
        m.set_brk(heap, heap, heap + 0x3000).unwrap();
        m.unmap(heap + 0x1000, 0x1000).unwrap();
        // Growing needs only [old break, new break) free.
        m.set_brk(heap, heap + 0x3000, heap + 0x4000).unwrap();
        assert_eq!(layout(&m), vec![(heap, heap + 0x1000, 3), (heap + 0x2000, heap + 0x4000, 3)]);
        // Shrinking below the hole unmaps every piece above the new break.
        assert_eq!(m.set_brk(heap, heap + 0x4000, heap + 0x800).unwrap(), vec![(heap + 0x2000, heap + 0x4000)]);
        assert_eq!(layout(&m), vec![(heap, heap + 0x1000, 3)]);
    }

    #[test]
    fn committed_memory_is_private_writable_areas() {
        let mut m = VmaList::new();
        m.insert(0x400000, 0x2000, READ | EXEC, VmaKind::Image).unwrap();
        m.insert(0x402000, 0x1000, READ | WRITE, VmaKind::Image).unwrap();
        m.insert(0x500000, 0x4000, READ | WRITE, VmaKind::Anonymous).unwrap();
        m.insert(0x600000, 0x4000, READ | WRITE, VmaKind::Shared { object: 1, base: 0x600000 }).unwrap();
        m.insert(0x700000, 0x1000, READ | WRITE, VmaKind::PrivateFile { object: 2, base: 0x700000 }).unwrap();
        m.insert(0x800000, 0x3000, READ | WRITE, VmaKind::Stack).unwrap();
        assert_eq!(m.committed(), 0x1000 + 0x4000 + 0x1000 + 0x3000, "text and shared memory are not committed");
        assert_eq!(m.total(), 0x2000 + 0x1000 + 0x4000 + 0x4000 + 0x1000 + 0x3000);
        // Making text writable would commit it; half of the anonymous area
        // is committed already.
        assert_eq!(m.newly_committed(0x400000, 0x502000, READ | WRITE), 0x2000);
        assert_eq!(m.newly_committed(0x400000, 0x502000, READ), 0);
        m.protect(0x500000, 0x2000, READ).unwrap();
        assert_eq!(m.committed(), 0x1000 + 0x2000 + 0x1000 + 0x3000);
        m.unmap(0x800000, 0x3000).unwrap();
        assert_eq!(m.committed(), 0x1000 + 0x2000 + 0x1000);
    }

    #[test]
    fn ranges_join_across_small_gaps_of_one_class() {
        let join = |r: &[(u64, u64, u8)], gap| join_ranges(r.iter().copied(), gap).collect::<Vec<_>>();
        // Text, data and bss of a program.
        let areas = [(0x40_0000, 0x40_d000, 0), (0x41_f000, 0x42_0000, 0), (0x42_0000, 0x42_3000, 0)];
        assert_eq!(join(&areas, 0x2_0000), [(0x40_0000, 0x42_3000, 0)]);
        assert_eq!(join(&areas, 0x1_0000), [(0x40_0000, 0x40_d000, 0), (0x41_f000, 0x42_3000, 0)]);
        assert_eq!(join(&areas, 0), [(0x40_0000, 0x40_d000, 0), (0x41_f000, 0x42_3000, 0)]);
        // A different class is never joined, however close.
        let mixed = [(0x1000, 0x2000, 0), (0x2000, 0x3000, 1), (0x3000, 0x4000, 1), (0x9000, 0xa000, 1)];
        assert_eq!(join(&mixed, 0x1000), [(0x1000, 0x2000, 0), (0x2000, 0x4000, 1), (0x9000, 0xa000, 1)]);
        assert_eq!(join(&[], 0x1000), []);
    }
}
