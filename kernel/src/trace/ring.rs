//! The per-CPU trace ring (Linux: kernel/trace/ring_buffer.c, reduced): a
//! fixed number of fixed-size entries; a full ring overwrites its oldest
//! entry and counts it as overrun. Writers and readers of one ring are
//! serialised by its owner's lock (trace/mod.rs); this part is plain logic,
//! tested on the host.

use alloc::vec::Vec;

/// One CPU's ring of `T`.
pub struct Ring<T: Copy> {
    buf: Vec<T>,
    /// Entries ever written (the next one goes to `head % capacity`).
    head: u64,
    /// The oldest entry not yet consumed.
    tail: u64,
    /// Entries lost to overwriting.
    overrun: u64,
}

impl<T: Copy> Ring<T> {
    /// An empty ring with no storage (writes are dropped until [`Ring::allocate`]).
    pub const fn new() -> Self {
        Ring { buf: Vec::new(), head: 0, tail: 0, overrun: 0 }
    }

    /// Gives the ring room for `capacity` entries, filled with `fill`;
    /// false if memory is short.
    pub fn allocate(&mut self, capacity: usize, fill: T) -> bool {
        if self.buf.len() == capacity {
            return true;
        }
        let mut buf = Vec::new();
        if buf.try_reserve_exact(capacity).is_err() {
            return false;
        }
        buf.resize(capacity, fill);
        self.buf = buf;
        self.head = 0;
        self.tail = 0;
        true
    }

    /// Appends `entry`, overwriting the oldest if full.
    pub fn push(&mut self, entry: T) {
        let cap = self.buf.len() as u64;
        if cap == 0 {
            return;
        }
        self.buf[(self.head % cap) as usize] = entry;
        self.head += 1;
        if self.head - self.tail > cap {
            self.tail = self.head - cap;
            self.overrun += 1;
        }
    }

    /// The entries not yet consumed, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        let cap = self.buf.len() as u64;
        (self.tail..self.head).map(move |i| &self.buf[(i % cap) as usize])
    }

    /// Takes the oldest entry.
    pub fn pop(&mut self) -> Option<T> {
        if self.tail == self.head {
            return None;
        }
        let e = self.buf[(self.tail % self.buf.len() as u64) as usize];
        self.tail += 1;
        Some(e)
    }

    /// The oldest entry, left in place.
    pub fn peek(&self) -> Option<&T> {
        (self.tail != self.head).then(|| &self.buf[(self.tail % self.buf.len() as u64) as usize])
    }

    /// Entries held now.
    pub fn len(&self) -> usize {
        (self.head - self.tail) as usize
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.head == self.tail
    }

    /// Entries written since the last clear.
    pub fn written(&self) -> u64 {
        self.head
    }

    /// Entries lost to overwriting.
    pub fn overrun(&self) -> u64 {
        self.overrun
    }

    /// Forgets every entry.
    pub fn clear(&mut self) {
        self.head = 0;
        self.tail = 0;
        self.overrun = 0;
    }
}

impl<T: Copy> Default for Ring<T> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_ring_overwrites_the_oldest_and_counts_the_loss() {
        let mut r = Ring::new();
        r.push(1u32); // no storage yet: dropped
        assert!(r.is_empty());
        assert!(r.allocate(4, 0));
        for i in 0..10u32 {
            r.push(i);
        }
        assert_eq!(r.iter().copied().collect::<Vec<_>>(), [6, 7, 8, 9]);
        assert_eq!((r.len(), r.written(), r.overrun()), (4, 10, 6));
        assert_eq!(r.pop(), Some(6));
        assert_eq!(r.peek(), Some(&7));
        r.push(10);
        r.push(11);
        assert_eq!(r.iter().copied().collect::<Vec<_>>(), [8, 9, 10, 11]);
        r.clear();
        assert_eq!(r.pop(), None);
    }

    #[test]
    fn wrapping_many_times_keeps_every_entry_whole_and_in_order() {
        let mut r = Ring::new();
        assert!(r.allocate(7, (0u64, 0u64)));
        for i in 0..10_000u64 {
            r.push((i, !i));
        }
        let got: Vec<_> = r.iter().copied().collect();
        assert_eq!(got.len(), 7);
        for (k, (a, b)) in got.iter().enumerate() {
            assert_eq!(*a, 10_000 - 7 + k as u64);
            assert_eq!(*b, !*a);
        }
    }
}
