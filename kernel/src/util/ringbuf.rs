//! A lock-free single-producer/single-consumer byte ring buffer.
//!
//! The console's receive path uses it: the UART interrupt handler is the one
//! producer, the console reader the one consumer, so neither ever waits for the
//! other and an interrupt can arrive while the reader is mid-pop.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicUsize, Ordering};

/// A ring of `N` bytes (`N` a power of two) holding up to `N` bytes.
pub struct RingBuffer<const N: usize> {
    buf: UnsafeCell<[u8; N]>,
    /// Total bytes ever pushed (written only by the producer).
    head: AtomicUsize,
    /// Total bytes ever popped (written only by the consumer).
    tail: AtomicUsize,
    /// Bytes refused because the ring was full.
    dropped: AtomicUsize,
}

// SAFETY: a slot is written by the producer only while it is outside
// [tail, head), and read by the consumer only while inside it; the Release
// store of head/tail publishes each side's access before the other side can
// see the slot change hands. Callers keep to one producer and one consumer.
unsafe impl<const N: usize> Sync for RingBuffer<N> {}

impl<const N: usize> Default for RingBuffer<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> RingBuffer<N> {
    const SIZE_IS_POWER_OF_TWO: () = assert!(N.is_power_of_two());

    /// An empty ring.
    pub const fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let _ = Self::SIZE_IS_POWER_OF_TWO;
        RingBuffer {
            buf: UnsafeCell::new([0; N]),
            head: AtomicUsize::new(0),
            tail: AtomicUsize::new(0),
            dropped: AtomicUsize::new(0),
        }
    }

    /// Producer side: appends `byte`; returns false (and counts the byte as
    /// dropped) when the ring is full.
    pub fn push(&self, byte: u8) -> bool {
        let head = self.head.load(Ordering::Relaxed);
        let tail = self.tail.load(Ordering::Acquire);
        if head.wrapping_sub(tail) == N {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        // SAFETY: slot `head` is outside [tail, head), so the consumer does not
        // touch it (see the Sync impl).
        unsafe { (*self.buf.get())[head % N] = byte };
        self.head.store(head.wrapping_add(1), Ordering::Release);
        true
    }

    /// Consumer side: takes the oldest byte.
    pub fn pop(&self) -> Option<u8> {
        let tail = self.tail.load(Ordering::Relaxed);
        let head = self.head.load(Ordering::Acquire);
        if head == tail {
            return None;
        }
        // SAFETY: slot `tail` is inside [tail, head): published by the producer's
        // Release store of head, and not reused until our store of tail below.
        let byte = unsafe { (*self.buf.get())[tail % N] };
        self.tail.store(tail.wrapping_add(1), Ordering::Release);
        Some(byte)
    }

    /// Bytes waiting to be popped.
    pub fn len(&self) -> usize {
        self.head.load(Ordering::Acquire).wrapping_sub(self.tail.load(Ordering::Acquire))
    }

    /// Whether no byte is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes refused because the ring was full.
    pub fn dropped(&self) -> usize {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::sync::Arc;
    use std::vec::Vec;

    #[test]
    fn fifo_order_and_wraparound() {
        let ring = RingBuffer::<4>::new();
        for round in 0..10u8 {
            assert!(ring.push(round));
            assert!(ring.push(round + 100));
            assert_eq!(ring.len(), 2);
            assert_eq!(ring.pop(), Some(round));
            assert_eq!(ring.pop(), Some(round + 100));
            assert_eq!(ring.pop(), None);
        }
    }

    #[test]
    fn full_ring_refuses_and_counts_drops() {
        let ring = RingBuffer::<4>::new();
        for b in 0..4 {
            assert!(ring.push(b));
        }
        assert!(!ring.push(9));
        assert_eq!(ring.dropped(), 1);
        assert_eq!(ring.len(), 4);
        assert_eq!(ring.pop(), Some(0));
        assert!(ring.push(9));
        let rest: Vec<u8> = core::iter::from_fn(|| ring.pop()).collect();
        assert_eq!(rest, [1, 2, 3, 9]);
    }

    #[test]
    fn concurrent_producer_and_consumer_lose_nothing() {
        let ring = Arc::new(RingBuffer::<64>::new());
        let producer = {
            let ring = ring.clone();
            std::thread::spawn(move || {
                for i in 0..100_000u32 {
                    while !ring.push(i as u8) {
                        std::thread::yield_now();
                    }
                }
            })
        };
        let mut expected = 0u32;
        while expected < 100_000 {
            if let Some(b) = ring.pop() {
                assert_eq!(b, expected as u8);
                expected += 1;
            }
        }
        producer.join().unwrap();
        assert!(ring.is_empty());
    }
}
