//! The global allocator. Requests up to 2 KiB come from power-of-two size classes (16 B .. 2 KiB),
//! each with a free list; class blocks are carved from chunks obtained by growing the heap with `brk`
//! (or, if `brk` cannot grow, from anonymous `mmap`s). Larger requests get their own `mmap` and are
//! returned with `munmap`.
//!
//! The programs are single-threaded (the runtime never creates threads, and `fork` copies the whole
//! heap), so the allocator state needs no lock.

use crate::sys;
use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::ptr::null_mut;

const PAGE: usize = 4096;
const MIN_CLASS_SHIFT: u32 = 4;
const MAX_CLASS_SHIFT: u32 = 11;
const CLASSES: usize = (MAX_CLASS_SHIFT - MIN_CLASS_SHIFT + 1) as usize;
const CHUNK: usize = 64 * 1024;

struct State {
    /// Head of each class's free list; a free block stores the next pointer in its first word.
    free: [*mut u8; CLASSES],
    /// Unused part of the current chunk.
    bump: usize,
    bump_end: usize,
    /// Current program break (0 = not yet asked).
    brk: usize,
}

/// The allocator; see the module docs.
pub struct Heap {
    state: UnsafeCell<State>,
}

// SAFETY: the runtime is single-threaded (see module docs), so `state` is never accessed concurrently.
unsafe impl Sync for Heap {}

#[global_allocator]
static HEAP: Heap =
    Heap { state: UnsafeCell::new(State { free: [null_mut(); CLASSES], bump: 0, bump_end: 0, brk: 0 }) };

fn class_of(layout: &Layout) -> Option<usize> {
    let size = layout.size().max(layout.align()).max(1 << MIN_CLASS_SHIFT);
    let shift = usize::BITS - (size - 1).leading_zeros();
    if shift <= MAX_CLASS_SHIFT {
        Some((shift - MIN_CLASS_SHIFT) as usize)
    } else {
        None
    }
}

fn mmap_anon(len: usize) -> *mut u8 {
    const PROT_READ_WRITE: usize = 3;
    const MAP_PRIVATE_ANONYMOUS: usize = 0x22;
    // SAFETY: an anonymous private mapping at a kernel-chosen address touches no existing memory.
    let ret = unsafe { sys::syscall6(sys::MMAP, 0, len, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, usize::MAX, 0) };
    match sys::check(ret) {
        Ok(addr) => addr as *mut u8,
        Err(_) => null_mut(),
    }
}

impl State {
    /// Makes `len` more bytes available at `bump`, from brk if it can grow contiguously, else mmap.
    fn refill(&mut self, len: usize) -> bool {
        if self.brk == 0 {
            self.brk = sys::plain(sys::BRK, 0, 0, 0).unwrap_or(0);
        }
        if self.brk != 0 {
            let want = self.brk + len;
            let got = sys::plain(sys::BRK, want, 0, 0).unwrap_or(0);
            if got >= want {
                if self.bump_end != self.brk {
                    self.bump = self.brk;
                }
                self.bump_end = got;
                self.brk = got;
                return true;
            }
        }
        let p = mmap_anon(len);
        if p.is_null() {
            return false;
        }
        self.bump = p as usize;
        self.bump_end = p as usize + len;
        true
    }

    fn alloc_class(&mut self, class: usize) -> *mut u8 {
        let head = self.free[class];
        if !head.is_null() {
            // SAFETY: blocks on the free list are ours, unused, and at least 16 bytes, aligned to 16.
            self.free[class] = unsafe { *(head as *mut *mut u8) };
            return head;
        }
        let size = 1usize << (class as u32 + MIN_CLASS_SHIFT);
        let mut start = (self.bump + size - 1) & !(size - 1);
        if start + size > self.bump_end || self.bump == 0 {
            if !self.refill(CHUNK) {
                return null_mut();
            }
            start = (self.bump + size - 1) & !(size - 1);
            if start + size > self.bump_end {
                return null_mut();
            }
        }
        self.bump = start + size;
        start as *mut u8
    }
}

// SAFETY: blocks handed out are disjoint (each comes from the bump region once or from a free list it
// was put on by `dealloc`), sized and aligned to at least the layout, as `GlobalAlloc` requires.
unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: single-threaded (module docs) and not re-entered: nothing here allocates.
        let state = unsafe { &mut *self.state.get() };
        match class_of(&layout) {
            Some(class) => state.alloc_class(class),
            None if layout.align() <= PAGE => mmap_anon(layout.size().next_multiple_of(PAGE)),
            None => null_mut(),
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as in `alloc`.
        let state = unsafe { &mut *self.state.get() };
        match class_of(&layout) {
            Some(class) => {
                // SAFETY: `ptr` is a block of this class (same layout as at allocation), no longer used,
                // large and aligned enough to hold a pointer.
                unsafe { *(ptr as *mut *mut u8) = state.free[class] };
                state.free[class] = ptr;
            }
            None => {
                // SAFETY: large blocks are whole mappings of this rounded length made by `alloc`.
                unsafe { sys::syscall3(sys::MUNMAP, ptr as usize, layout.size().next_multiple_of(PAGE), 0) };
            }
        }
    }
}
