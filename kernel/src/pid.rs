//! Process-ID allocation: which PIDs are in use, and which one a new task gets
//! (Linux's kernel/pid.c: `alloc_pid`/`free_pid`, `pid_max`, `RESERVED_PIDS`).
//!
//! [`PidMap`] owns a bitmap with one bit per PID in `[0, PID_MAX_LIMIT)`, kept
//! in 4 KiB chunks of [`PIDS_PER_CHUNK`] PIDs that are allocated on first use,
//! as Linux's `pidmap` pages were before it moved to an IDR. Each chunk has a
//! count of PIDs in use, so a search skips a full chunk without reading it, and
//! the bits themselves are scanned a 64-bit word at a time. Chunks are never
//! given back (Linux never freed pidmap pages either).
//!
//! The allocation policy is Linux's `idr_alloc_cyclic` in `alloc_pid`: continue
//! after the last PID handed out, skip PIDs in use, and on reaching `pid_max`
//! wrap around to [`RESERVED_PIDS`] (PIDs below it are left to daemons started
//! early; only before the cursor first passes `RESERVED_PIDS` does the search
//! wrap to 1). PID 0 is the idle task's and [`PidMap::alloc`] never returns it;
//! fixed PIDs (0, init's 1, kthreadd's 2, or `clone3`'s `set_tid`) come from
//! [`PidMap::alloc_specific`].
//!
//! There is no global instance here: the caller keeps a `PidMap` under a lock
//! (Linux's `pidmap_lock` is taken with IRQs off, so an
//! [`IrqSpinLock`](crate::sync::IrqSpinLock)). Pure logic: unit-tested on the host.

use crate::errno::Errno;
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::alloc::Layout;

/// A process ID.
///
/// Unsigned: a PID is never negative. Linux's `pid_t` is signed only because
/// `kill`/`wait4` give negative values other meanings (process groups, "any
/// child"); that belongs to the system-call layer, which converts losslessly
/// since every PID is below [`PID_MAX_LIMIT`] (2^22).
pub type Pid = u32;

/// The default `pid_max` (Linux's `PID_MAX_DEFAULT`).
pub const PID_MAX_DEFAULT: u32 = 32768;
/// The largest `pid_max` on 64-bit systems (Linux's `PID_MAX_LIMIT`, the
/// `pid_max_max` bound of the `kernel.pid_max` sysctl).
pub const PID_MAX_LIMIT: u32 = 4 * 1024 * 1024;
/// Where the search wraps to after reaching `pid_max` (Linux's `RESERVED_PIDS`).
pub const RESERVED_PIDS: u32 = 300;

/// 64-bit words in one bitmap chunk (one 4 KiB page).
const WORDS_PER_CHUNK: usize = 4096 / 8;
/// PIDs covered by one bitmap chunk.
pub const PIDS_PER_CHUNK: u32 = (WORDS_PER_CHUNK * 64) as u32;
/// Chunks needed to cover every PID below [`PID_MAX_LIMIT`].
const NR_CHUNKS: usize = (PID_MAX_LIMIT / PIDS_PER_CHUNK) as usize;

/// One page of the PID bitmap. Bit set = PID in use.
type Chunk = [u64; WORDS_PER_CHUNK];

/// The set of PIDs in use and the allocation cursor.
pub struct PidMap {
    /// The bitmap, chunk `c` covering PIDs `[c * PIDS_PER_CHUNK, (c + 1) * PIDS_PER_CHUNK)`.
    /// Missing or `None` chunks have no PID in use. Grows as chunks are needed.
    chunks: Vec<Option<Box<Chunk>>>,
    /// PIDs in use in each chunk (Linux's `pidmap.nr_free`, counted the other way).
    used: [u32; NR_CHUNKS],
    /// PIDs in use in total.
    nr_used: usize,
    /// New PIDs are below this.
    pid_max: u32,
    /// The PID most recently handed out by [`PidMap::alloc`] (0 before the first).
    last_pid: Pid,
}

impl Default for PidMap {
    fn default() -> Self {
        Self::new()
    }
}

impl PidMap {
    /// An empty map with `pid_max` = [`PID_MAX_DEFAULT`]. Allocates nothing
    /// until the first PID is taken, so it can initialise a `static`.
    pub const fn new() -> Self {
        PidMap { chunks: Vec::new(), used: [0; NR_CHUNKS], nr_used: 0, pid_max: PID_MAX_DEFAULT, last_pid: 0 }
    }

    /// New PIDs are below this.
    pub fn pid_max(&self) -> u32 {
        self.pid_max
    }

    /// Sets `pid_max` (the `kernel.pid_max` sysctl), which must be in
    /// `RESERVED_PIDS + 1 ..= PID_MAX_LIMIT`, else `EINVAL`. PIDs in use at or
    /// above a lowered maximum stay valid until freed; the search for new ones
    /// restarts at [`RESERVED_PIDS`] if the cursor was beyond the new maximum.
    pub fn set_pid_max(&mut self, pid_max: u32) -> Result<(), Errno> {
        if !(RESERVED_PIDS + 1..=PID_MAX_LIMIT).contains(&pid_max) {
            return Err(Errno::EINVAL);
        }
        self.pid_max = pid_max;
        self.last_pid = self.last_pid.min(pid_max - 1);
        Ok(())
    }

    /// PIDs in use, including PID 0 if reserved and any at or above `pid_max`.
    pub fn in_use(&self) -> usize {
        self.nr_used
    }

    /// PIDs in `[1, pid_max)` not in use. PID 0 never counts. After the search
    /// has wrapped, free PIDs below [`RESERVED_PIDS`] are counted although only
    /// [`PidMap::alloc_specific`] hands them out.
    pub fn free_count(&self) -> usize {
        let limit = self.pid_max as usize;
        let full_chunks = limit / PIDS_PER_CHUNK as usize;
        let mut used: usize = self.used[..full_chunks].iter().map(|&n| n as usize).sum();
        if let Some(chunk) = self.chunk(full_chunks) {
            let bits = limit % PIDS_PER_CHUNK as usize;
            let words = &chunk[..bits / 64];
            used += words.iter().map(|w| w.count_ones() as usize).sum::<usize>();
            if !bits.is_multiple_of(64) {
                used += (chunk[bits / 64] & ((1u64 << (bits % 64)) - 1)).count_ones() as usize;
            }
        }
        if self.is_allocated(0) {
            used -= 1;
        }
        limit - 1 - used
    }

    /// Whether `pid` is in use (false for PIDs out of range).
    pub fn is_allocated(&self, pid: Pid) -> bool {
        if pid >= PID_MAX_LIMIT {
            return false;
        }
        let (c, w, bit) = split(pid);
        self.chunk(c).is_some_and(|chunk| chunk[w] & bit != 0)
    }

    /// Bitmap chunks allocated so far.
    pub fn chunks_allocated(&self) -> usize {
        self.chunks.iter().filter(|c| c.is_some()).count()
    }

    /// Allocates a new PID: the first free one after the last handed out,
    /// wrapping from `pid_max` to [`RESERVED_PIDS`]. `EAGAIN` if every PID the
    /// search covers is in use (as Linux's `alloc_pid`), `ENOMEM` if a bitmap
    /// chunk cannot be allocated.
    pub fn alloc(&mut self) -> Result<Pid, Errno> {
        let start = self.last_pid.saturating_add(1).min(self.pid_max);
        let wrap = if self.last_pid >= RESERVED_PIDS { RESERVED_PIDS } else { 1 };
        let pid = self.find_free(start, self.pid_max).or_else(|| self.find_free(wrap, start)).ok_or(Errno::EAGAIN)?;
        self.mark_used(pid)?;
        self.last_pid = pid;
        Ok(pid)
    }

    /// Takes the fixed PID `pid` (0 for the idle task, 1 for init, ...), which
    /// must be below `pid_max` (else `EINVAL`) and free (else `EEXIST`).
    /// Does not move the cursor [`PidMap::alloc`] continues from.
    pub fn alloc_specific(&mut self, pid: Pid) -> Result<(), Errno> {
        if pid >= self.pid_max {
            return Err(Errno::EINVAL);
        }
        if self.is_allocated(pid) {
            return Err(Errno::EEXIST);
        }
        self.mark_used(pid)
    }

    /// Returns `pid` to the free set (Linux's `free_pid`). `EINVAL` if it is
    /// out of range or not in use (a double free).
    pub fn free(&mut self, pid: Pid) -> Result<(), Errno> {
        if !self.is_allocated(pid) {
            return Err(Errno::EINVAL);
        }
        let (c, w, bit) = split(pid);
        if let Some(Some(chunk)) = self.chunks.get_mut(c) {
            chunk[w] &= !bit;
        }
        self.used[c] -= 1;
        self.nr_used -= 1;
        Ok(())
    }

    fn chunk(&self, c: usize) -> Option<&Chunk> {
        self.chunks.get(c).and_then(|chunk| chunk.as_deref())
    }

    /// The lowest free PID in `[lo, hi)`, if any.
    fn find_free(&self, lo: Pid, hi: Pid) -> Option<Pid> {
        let mut pid = lo;
        while pid < hi {
            let c = (pid / PIDS_PER_CHUNK) as usize;
            let base = c as u32 * PIDS_PER_CHUNK;
            let end = (base + PIDS_PER_CHUNK).min(hi);
            if self.used[c] == PIDS_PER_CHUNK {
                pid = end;
                continue;
            }
            let Some(chunk) = self.chunk(c) else {
                return Some(pid);
            };
            let mut w = ((pid - base) / 64) as usize;
            // Free bits of the first word, from `pid` up.
            let mut free = !chunk[w] & (!0u64 << (pid % 64));
            loop {
                if free != 0 {
                    let found = base + w as u32 * 64 + free.trailing_zeros();
                    if found < end {
                        return Some(found);
                    }
                    break;
                }
                w += 1;
                if w == WORDS_PER_CHUNK || base + w as u32 * 64 >= end {
                    break;
                }
                free = !chunk[w];
            }
            pid = end;
        }
        None
    }

    /// Sets `pid`'s bit (which must be clear), allocating its chunk if needed.
    fn mark_used(&mut self, pid: Pid) -> Result<(), Errno> {
        let (c, w, bit) = split(pid);
        if self.chunks.len() <= c {
            self.chunks.try_reserve(c + 1 - self.chunks.len()).map_err(|_| Errno::ENOMEM)?;
            self.chunks.resize_with(c + 1, || None);
        }
        let chunk = match &mut self.chunks[c] {
            Some(chunk) => chunk,
            slot => slot.insert(new_chunk()?),
        };
        chunk[w] |= bit;
        self.used[c] += 1;
        self.nr_used += 1;
        Ok(())
    }
}

/// `pid`'s chunk index, word index in the chunk and bit mask in the word.
fn split(pid: Pid) -> (usize, usize, u64) {
    let c = (pid / PIDS_PER_CHUNK) as usize;
    let w = ((pid % PIDS_PER_CHUNK) / 64) as usize;
    (c, w, 1u64 << (pid % 64))
}

/// A zeroed bitmap chunk straight from the heap (`Box::new` would build it on
/// the stack first, and abort rather than fail when memory runs out).
fn new_chunk() -> Result<Box<Chunk>, Errno> {
    let layout = Layout::new::<Chunk>();
    // SAFETY: `layout` has a non-zero size (4 KiB).
    let ptr = unsafe { alloc::alloc::alloc_zeroed(layout) }.cast::<Chunk>();
    if ptr.is_null() {
        return Err(Errno::ENOMEM);
    }
    // SAFETY: `ptr` is non-null, was allocated by the global allocator with
    // `Chunk`'s layout (as `Box<Chunk>` expects) and is owned by nobody else;
    // all-zero bytes are a valid `[u64; N]`.
    Ok(unsafe { Box::from_raw(ptr) })
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::time::Instant;
    use std::vec;

    fn map_with_max(pid_max: u32) -> PidMap {
        let mut m = PidMap::new();
        m.set_pid_max(pid_max).unwrap();
        m
    }

    #[test]
    fn first_pids_are_sequential_from_one() {
        let mut m = PidMap::new();
        assert_eq!(m.pid_max(), PID_MAX_DEFAULT);
        assert_eq!(m.chunks_allocated(), 0);
        m.alloc_specific(0).unwrap();
        let got: vec::Vec<Pid> = (0..5).map(|_| m.alloc().unwrap()).collect();
        assert_eq!(got, [1, 2, 3, 4, 5]);
        assert!(m.is_allocated(0) && m.is_allocated(5) && !m.is_allocated(6));
        assert_eq!(m.in_use(), 6);
    }

    #[test]
    fn fixed_pids_are_checked_and_skipped_by_alloc() {
        let mut m = PidMap::new();
        assert_eq!(m.alloc_specific(0), Ok(()));
        assert_eq!(m.alloc_specific(2), Ok(()));
        assert_eq!(m.alloc_specific(2), Err(Errno::EEXIST));
        assert_eq!(m.alloc_specific(PID_MAX_DEFAULT), Err(Errno::EINVAL));
        assert_eq!(m.alloc_specific(u32::MAX), Err(Errno::EINVAL));
        assert_eq!(m.alloc(), Ok(1));
        assert_eq!(m.alloc(), Ok(3), "2 is taken");
        assert_eq!(m.alloc_specific(1000), Ok(()));
        assert_eq!(m.alloc(), Ok(4), "alloc_specific does not move the cursor");
    }

    #[test]
    fn wraps_to_reserved_pids_skipping_pids_in_use() {
        let mut m = map_with_max(400);
        for pid in 1..400 {
            assert_eq!(m.alloc(), Ok(pid));
        }
        for pid in [5, 299, 300, 302, 350] {
            m.free(pid).unwrap();
        }
        m.free(399).unwrap();
        assert_eq!(m.alloc(), Ok(300), "wraps to RESERVED_PIDS, not to 1 nor to the freed 399");
        assert_eq!(m.alloc(), Ok(302));
        assert_eq!(m.alloc(), Ok(350));
        assert_eq!(m.alloc(), Ok(399), "the search reaches last_pid's successors up to pid_max");
        assert_eq!(m.alloc(), Err(Errno::EAGAIN), "5 and 299 are below RESERVED_PIDS");
        assert!(!m.is_allocated(5) && !m.is_allocated(299));
    }

    #[test]
    fn before_passing_reserved_pids_the_search_wraps_to_one() {
        let mut m = map_with_max(400);
        assert_eq!(m.alloc(), Ok(1));
        assert_eq!(m.alloc(), Ok(2));
        for pid in 3..400 {
            m.alloc_specific(pid).unwrap();
        }
        m.free(1).unwrap();
        assert_eq!(m.alloc(), Ok(1), "as Linux: pid_min stays 1 until the cursor passes RESERVED_PIDS");
        assert_eq!(m.alloc(), Err(Errno::EAGAIN));
    }

    #[test]
    fn exhaustion_is_eagain_and_a_freed_pid_comes_back() {
        let mut m = map_with_max(400);
        m.alloc_specific(0).unwrap();
        while m.alloc().is_ok() {}
        assert_eq!(m.in_use(), 400);
        assert_eq!(m.free_count(), 0);
        assert_eq!(m.alloc(), Err(Errno::EAGAIN), "still EAGAIN, no panic");
        m.free(333).unwrap();
        assert_eq!(m.free_count(), 1);
        assert_eq!(m.alloc(), Ok(333));
        assert_eq!(m.alloc(), Err(Errno::EAGAIN));
        m.free(399).unwrap();
        assert_eq!(m.alloc(), Ok(399), "last_pid itself is searched too");
    }

    #[test]
    fn bad_frees_are_einval() {
        let mut m = PidMap::new();
        assert_eq!(m.free(7), Err(Errno::EINVAL), "never allocated, chunk absent");
        let pid = m.alloc().unwrap();
        assert_eq!(m.free(pid + 1), Err(Errno::EINVAL), "never allocated, chunk present");
        assert_eq!(m.free(pid), Ok(()));
        assert_eq!(m.free(pid), Err(Errno::EINVAL), "double free");
        assert_eq!(m.free(PID_MAX_LIMIT), Err(Errno::EINVAL));
        assert_eq!(m.free(u32::MAX), Err(Errno::EINVAL));
        assert_eq!(m.in_use(), 0);
        assert_eq!(m.free_count(), PID_MAX_DEFAULT as usize - 1);
    }

    #[test]
    fn set_pid_max_bounds() {
        let mut m = PidMap::new();
        assert_eq!(m.set_pid_max(0), Err(Errno::EINVAL));
        assert_eq!(m.set_pid_max(RESERVED_PIDS), Err(Errno::EINVAL));
        assert_eq!(m.set_pid_max(PID_MAX_LIMIT + 1), Err(Errno::EINVAL));
        assert_eq!(m.set_pid_max(u32::MAX), Err(Errno::EINVAL));
        assert_eq!(m.pid_max(), PID_MAX_DEFAULT, "unchanged by rejected values");
        assert_eq!(m.set_pid_max(RESERVED_PIDS + 1), Ok(()));
        assert_eq!(m.set_pid_max(PID_MAX_LIMIT), Ok(()));
        assert_eq!(m.pid_max(), PID_MAX_LIMIT);
    }

    #[test]
    fn lowering_pid_max_keeps_old_pids_and_bounds_new_ones() {
        let mut m = PidMap::new();
        for pid in 1..=1000 {
            assert_eq!(m.alloc(), Ok(pid));
        }
        m.set_pid_max(500).unwrap();
        assert!(m.is_allocated(800), "PIDs above the new max stay valid");
        assert_eq!(m.free_count(), 0);
        assert_eq!(m.alloc(), Err(Errno::EAGAIN));
        assert_eq!(m.alloc_specific(600), Err(Errno::EINVAL));
        m.free(800).unwrap();
        assert_eq!(m.free_count(), 0, "800 is above pid_max");
        assert_eq!(m.alloc(), Err(Errno::EAGAIN), "800 is not handed out");
        m.free(450).unwrap();
        assert_eq!(m.free_count(), 1);
        assert_eq!(m.alloc(), Ok(450), "the clamped cursor wraps to RESERVED_PIDS");
        assert_eq!(m.in_use(), 999);
        m.set_pid_max(1200).unwrap();
        assert_eq!(m.free_count(), 1199 - 999);
        assert_eq!(m.alloc(), Ok(800), "continues after last_pid (450), reaching the freed 800");
        assert_eq!(m.alloc(), Ok(1001), "and on up to the raised max");
    }

    #[test]
    fn free_count_is_exact_through_a_sequence() {
        let mut m = map_with_max(70000);
        let mut expect = 69999;
        assert_eq!(m.free_count(), expect);
        m.alloc_specific(0).unwrap();
        assert_eq!(m.free_count(), expect, "PID 0 never counts");
        for _ in 0..40000 {
            m.alloc().unwrap();
            expect -= 1;
        }
        assert_eq!(m.free_count(), expect);
        let freed = (1..40000).step_by(3).count();
        assert_eq!(freed, 13333);
        for pid in (1..40000).step_by(3) {
            m.free(pid).unwrap();
            expect += 1;
        }
        assert_eq!(m.free_count(), expect);
        m.alloc_specific(69999).unwrap();
        m.alloc_specific(65536).unwrap();
        m.alloc_specific(65600).unwrap();
        expect -= 3;
        assert_eq!(m.free_count(), expect);
        m.set_pid_max(65537).unwrap();
        assert_eq!(m.free_count(), 65536 - (40000 - freed) - 1, "65536 counts, 65600 and 69999 do not");
        m.set_pid_max(65601).unwrap();
        assert_eq!(m.free_count(), 65600 - (40000 - freed) - 2, "65536 and 65600 count");
        assert_eq!(m.in_use(), 1 + 40000 - freed + 3);
    }

    #[test]
    fn bitmap_chunks_are_allocated_lazily() {
        let mut m = map_with_max(PID_MAX_LIMIT);
        assert_eq!(m.chunks_allocated(), 0);
        m.alloc().unwrap();
        assert_eq!(m.chunks_allocated(), 1);
        m.alloc_specific(PID_MAX_LIMIT - 1).unwrap();
        assert_eq!(m.chunks_allocated(), 2, "only the chunks touched, not those between");
        for _ in 0..PIDS_PER_CHUNK {
            m.alloc().unwrap();
        }
        assert_eq!(m.chunks_allocated(), 3);
        assert!(!m.is_allocated(3 * PIDS_PER_CHUNK), "absent chunk reads as free");
    }

    #[test]
    fn every_pid_up_to_the_limit_is_allocated_quickly() {
        let mut m = map_with_max(PID_MAX_LIMIT);
        let t = Instant::now();
        for pid in 1..PID_MAX_LIMIT {
            assert_eq!(m.alloc(), Ok(pid));
        }
        assert_eq!(m.alloc(), Err(Errno::EAGAIN));
        let elapsed = t.elapsed();
        assert_eq!(m.in_use(), PID_MAX_LIMIT as usize - 1);
        assert_eq!(m.free_count(), 0);
        assert_eq!(m.chunks_allocated(), NR_CHUNKS);
        m.free(PID_MAX_LIMIT / 2 + 7).unwrap();
        assert_eq!(m.alloc(), Ok(PID_MAX_LIMIT / 2 + 7));
        assert!(elapsed.as_secs_f64() < 2.0, "took {elapsed:?}");
    }
}
