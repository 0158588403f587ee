//! Physical page-frame allocator: one bit per 4 KiB frame over the physical
//! address range the firmware reports (Linux keeps `struct page`s and a buddy
//! allocator; a bitmap is enough for this kernel's needs so far).
//!
//! Every frame starts out reserved; [`FrameAllocator::add_free_range`] hands
//! RAM to it and [`FrameAllocator::reserve_range`] takes back what is in use
//! (the kernel image, the firmware's spin table). Single frames come from a
//! next-fit search, so allocation does not rescan the start of RAM each time;
//! contiguous runs from a first-fit search.
//!
//! Pure logic: unit-tested on the host.

/// Size of a page frame.
pub const PAGE_SIZE: usize = 4096;
const BITS: usize = u64::BITS as usize;

/// Errors of [`FrameAllocator::free`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The address is not page-aligned or not a frame of RAM given to the allocator.
    BadAddress,
    /// The frame is already free.
    DoubleFree,
}

/// A bitmap frame allocator over physical frames `[0, nr_frames)`.
pub struct FrameAllocator<'a> {
    /// Bit set = frame free.
    bitmap: &'a mut [u64],
    nr_frames: usize,
    free: usize,
    /// Frames ever given to the allocator as RAM (free or in use).
    managed: usize,
    /// Next-fit hint: where the next single-frame search starts.
    next: usize,
    /// The RAM ranges (frame numbers, `[first, last)`) given to the allocator:
    /// only frames inside them may be freed.
    ram: [(usize, usize); MAX_RAM_RANGES],
    nr_ram: usize,
}

/// How many separate RAM ranges the allocator records: as many as the device
/// tree reader keeps (`fdt::MAX_RANGES`).
pub const MAX_RAM_RANGES: usize = 16;

impl<'a> FrameAllocator<'a> {
    /// An allocator for `nr_frames` frames whose bitmap lives in `bitmap`
    /// (which must have at least `nr_frames` bits). Every frame starts reserved.
    pub fn new(bitmap: &'a mut [u64], nr_frames: usize) -> Self {
        assert!(bitmap.len() * BITS >= nr_frames, "frame bitmap too small");
        bitmap.fill(0);
        FrameAllocator { bitmap, nr_frames, free: 0, managed: 0, next: 0, ram: [(0, 0); MAX_RAM_RANGES], nr_ram: 0 }
    }

    fn is_free(&self, frame: usize) -> bool {
        self.bitmap[frame / BITS] & (1 << (frame % BITS)) != 0
    }

    fn set_free(&mut self, frame: usize, free: bool) {
        let word = &mut self.bitmap[frame / BITS];
        if free {
            *word |= 1 << (frame % BITS);
        } else {
            *word &= !(1 << (frame % BITS));
        }
    }

    /// Gives the RAM in `[start, end)` (shrunk to whole frames, clipped to the
    /// managed range) to the allocator as free. Returns the frames added.
    pub fn add_free_range(&mut self, start: u64, end: u64) -> usize {
        let first = (start as usize).div_ceil(PAGE_SIZE);
        let last = ((end as usize) / PAGE_SIZE).min(self.nr_frames);
        if first < last {
            assert!(self.nr_ram < MAX_RAM_RANGES, "more than {MAX_RAM_RANGES} RAM ranges");
            self.ram[self.nr_ram] = (first, last);
            self.nr_ram += 1;
        }
        let added = self.set_range(first, last, true);
        self.free += added;
        self.managed += added;
        added
    }

    /// Marks every frame touching `[start, end)` as in use (the range grown to
    /// whole frames). Returns how many free frames it took.
    pub fn reserve_range(&mut self, start: u64, end: u64) -> usize {
        let first = start as usize / PAGE_SIZE;
        let last = (end as usize).div_ceil(PAGE_SIZE).min(self.nr_frames);
        let taken = self.set_range(first, last, false);
        self.free -= taken;
        taken
    }

    /// Marks frames `[first, last)` free or used a bitmap word at a time;
    /// returns how many changed state.
    fn set_range(&mut self, first: usize, last: usize, free: bool) -> usize {
        let mut changed = 0;
        let mut frame = first;
        while frame < last {
            let bit = frame % BITS;
            let run = (BITS - bit).min(last - frame);
            let mask = if run == BITS { u64::MAX } else { ((1u64 << run) - 1) << bit };
            let word = &mut self.bitmap[frame / BITS];
            let before = *word;
            *word = if free { before | mask } else { before & !mask };
            changed += (before ^ *word).count_ones() as usize;
            frame += run;
        }
        changed
    }

    /// Allocates one frame; returns its physical address.
    pub fn alloc(&mut self) -> Option<u64> {
        if self.free == 0 {
            return None;
        }
        let words = self.nr_frames.div_ceil(BITS);
        let start_word = self.next / BITS;
        for i in 0..=words {
            let w = (start_word + i) % words;
            let mut bits = self.bitmap[w];
            if i == 0 {
                // Start at the hint; the bits below it come last (i == words).
                bits &= !0u64 << (self.next % BITS);
            }
            if bits != 0 {
                let frame = w * BITS + bits.trailing_zeros() as usize;
                if frame >= self.nr_frames {
                    continue;
                }
                self.set_free(frame, false);
                self.free -= 1;
                self.next = frame + 1;
                return Some((frame * PAGE_SIZE) as u64);
            }
        }
        None
    }

    /// Allocates `count` physically contiguous frames starting at a multiple of
    /// `align` frames (a power of two); returns the first frame's address.
    pub fn alloc_contiguous(&mut self, count: usize, align: usize) -> Option<u64> {
        assert!(align.is_power_of_two() && count > 0);
        if count > self.free {
            return None;
        }
        let mut start = 0;
        while start + count <= self.nr_frames {
            match (start..start + count).rev().find(|&f| !self.is_free(f)) {
                // Restart after the used frame, at the next aligned position.
                Some(used) => start = (used + 1).next_multiple_of(align),
                None => {
                    for frame in start..start + count {
                        self.set_free(frame, false);
                    }
                    self.free -= count;
                    return Some((start * PAGE_SIZE) as u64);
                }
            }
        }
        None
    }

    /// Returns the frame at `addr` to the allocator.
    pub fn free(&mut self, addr: u64) -> Result<(), FrameError> {
        let addr = addr as usize;
        let frame = addr / PAGE_SIZE;
        let is_ram = self.ram[..self.nr_ram].iter().any(|&(first, last)| (first..last).contains(&frame));
        if !addr.is_multiple_of(PAGE_SIZE) || !is_ram {
            return Err(FrameError::BadAddress);
        }
        if self.is_free(frame) {
            return Err(FrameError::DoubleFree);
        }
        self.set_free(frame, true);
        self.free += 1;
        Ok(())
    }

    /// Returns `count` contiguous frames starting at `addr`.
    pub fn free_contiguous(&mut self, addr: u64, count: usize) -> Result<(), FrameError> {
        for i in 0..count {
            self.free(addr + (i * PAGE_SIZE) as u64)?;
        }
        Ok(())
    }

    /// Free frames.
    pub fn free_frames(&self) -> usize {
        self.free
    }

    /// Frames of RAM under management (free plus in use).
    pub fn total_frames(&self) -> usize {
        self.managed
    }

    /// Frames of managed RAM in use (allocated or reserved).
    pub fn used_frames(&self) -> usize {
        self.managed - self.free
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec;

    const P: u64 = PAGE_SIZE as u64;

    fn allocator(bitmap: &mut [u64], frames: usize) -> FrameAllocator<'_> {
        let mut a = FrameAllocator::new(bitmap, frames);
        a.add_free_range(0, frames as u64 * P);
        a
    }

    #[test]
    fn nothing_is_free_until_ram_is_added() {
        let mut bm = [0u64; 2];
        let mut a = FrameAllocator::new(&mut bm, 100);
        assert_eq!(a.alloc(), None);
        assert_eq!(a.add_free_range(10 * P + 1, 20 * P), 9, "partial first frame is not usable");
        assert_eq!(a.total_frames(), 9);
        assert_eq!(a.alloc(), Some(11 * P));
    }

    #[test]
    fn reserved_ranges_are_never_handed_out() {
        let mut bm = [0u64; 1];
        let mut a = allocator(&mut bm, 64);
        assert_eq!(a.reserve_range(0, 1), 1, "a partial frame reserves the whole frame");
        assert_eq!(a.reserve_range(8 * P, 16 * P + 5), 9);
        assert_eq!(a.free_frames(), 64 - 10);
        let mut got = vec![];
        while let Some(f) = a.alloc() {
            got.push(f / P);
        }
        assert_eq!(got.len(), 54);
        assert!(got.iter().all(|&f| f != 0 && !(8..=16).contains(&f)));
        assert_eq!(a.used_frames(), 64);
    }

    #[test]
    fn ranges_spanning_bitmap_words_count_exactly() {
        let mut bm = [0u64; 4];
        let mut a = FrameAllocator::new(&mut bm, 250);
        assert_eq!(a.add_free_range(3 * P, 200 * P), 197);
        assert_eq!(a.add_free_range(0, 10 * P), 3, "frames already free are not counted twice");
        assert_eq!(a.reserve_range(60 * P, 130 * P), 70);
        assert_eq!(a.reserve_range(64 * P, 128 * P), 0, "a whole word already in use");
        assert_eq!(a.free_frames(), 200 - 70);
        assert_eq!(a.alloc_contiguous(70, 1), Some(130 * P), "the hole is really in use");
    }

    #[test]
    fn free_makes_frames_reusable_and_catches_mistakes() {
        let mut bm = [0u64; 1];
        let mut a = allocator(&mut bm, 4);
        let f: vec::Vec<u64> = (0..4).map(|_| a.alloc().unwrap()).collect();
        assert_eq!(a.alloc(), None);
        a.free(f[2]).unwrap();
        assert_eq!(a.free(f[2]), Err(FrameError::DoubleFree));
        assert_eq!(a.free(f[1] + 8), Err(FrameError::BadAddress));
        assert_eq!(a.free(100 * P), Err(FrameError::BadAddress));
        assert_eq!(a.alloc(), Some(f[2]));
        assert_eq!(a.free_frames(), 0);
    }

    #[test]
    fn frames_that_were_never_ram_cannot_be_freed() {
        let mut bm = [0u64; 4];
        let mut a = FrameAllocator::new(&mut bm, 256);
        a.add_free_range(16 * P, 64 * P);
        a.add_free_range(128 * P, 192 * P);
        // A hole between RAM ranges (MMIO, say) and a frame below RAM.
        assert_eq!(a.free(100 * P), Err(FrameError::BadAddress));
        assert_eq!(a.free(0), Err(FrameError::BadAddress));
        assert_eq!(a.free_frames(), 112);
        // Reserved RAM may be given back.
        a.reserve_range(20 * P, 21 * P);
        assert_eq!(a.free(20 * P), Ok(()));
        assert_eq!(a.free_frames(), 112);
    }

    #[test]
    fn next_fit_does_not_restart_at_the_bottom() {
        let mut bm = [0u64; 4];
        let mut a = allocator(&mut bm, 200);
        let first = a.alloc().unwrap();
        let second = a.alloc().unwrap();
        a.free(first).unwrap();
        assert_eq!(a.alloc(), Some(second + P), "continues after the last allocation");
        // ...and wraps around when it reaches the end.
        while a.free_frames() > 1 {
            a.alloc().unwrap();
        }
        assert_eq!(a.alloc(), Some(first));
    }

    #[test]
    fn contiguous_runs_respect_alignment_and_holes() {
        let mut bm = [0u64; 2];
        let mut a = allocator(&mut bm, 128);
        a.reserve_range(5 * P, 6 * P);
        let run = a.alloc_contiguous(8, 8).unwrap();
        assert_eq!(run, 8 * P, "skips the hole at frame 5 and aligns to 8");
        let run2 = a.alloc_contiguous(3, 1).unwrap();
        assert_eq!(run2, 0);
        assert_eq!(a.alloc_contiguous(200, 1), None);
        a.free_contiguous(run, 8).unwrap();
        assert_eq!(a.alloc_contiguous(8, 8), Some(8 * P));
        assert_eq!(a.free_frames(), 128 - 1 - 8 - 3);
    }

    #[test]
    fn frames_past_the_end_of_the_last_word_are_never_returned() {
        let mut bm = [0u64; 1];
        let mut a = allocator(&mut bm, 3);
        assert_eq!(a.add_free_range(0, 64 * P), 0, "clipped to the managed range");
        for _ in 0..3 {
            assert!(a.alloc().is_some());
        }
        assert_eq!(a.alloc(), None);
    }
}
