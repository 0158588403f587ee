//! The VideoCore mailbox property interface (channel 8): how the ARM asks the
//! firmware for board facts such as the ARM memory range, the board revision and
//! clock rates.
//!
//! A request is a 16-byte aligned buffer of 32-bit words: total size, a request
//! code, a sequence of tags (id, value-buffer size, request/response code,
//! value words) and an end tag. The firmware rewrites the buffer in place. The
//! GPU does not snoop the ARM caches, so the caller supplies the cache
//! maintenance ([`DmaCoherence`]) and the buffer's bus address.

use crate::mmio::Mmio;
use tock_registers::{
    interfaces::{Readable, Writeable},
    register_structs,
    registers::{ReadOnly, WriteOnly},
};

register_structs! {
    #[allow(non_snake_case)]
    pub RegisterBlock {
        (0x00 => READ: ReadOnly<u32>),
        (0x04 => _reserved0),
        (0x18 => STATUS: ReadOnly<u32>),
        (0x1c => _reserved1),
        (0x20 => WRITE: WriteOnly<u32>),
        (0x24 => _reserved2),
        (0x38 => WRITE_STATUS: ReadOnly<u32>),
        (0x3c => @END),
    }
}

const STATUS_FULL: u32 = 1 << 31;
const STATUS_EMPTY: u32 = 1 << 30;
const REQUEST: u32 = 0;
const RESPONSE_OK: u32 = 0x8000_0000;
const TAG_RESPONSE: u32 = 0x8000_0000;
/// The property-tags channel (ARM to VideoCore).
pub const CHANNEL_PROPERTY: u32 = 8;

/// Property tags the kernel uses.
pub mod tag {
    pub const GET_BOARD_REVISION: u32 = 0x0001_0002;
    pub const GET_BOARD_SERIAL: u32 = 0x0001_0004;
    pub const GET_ARM_MEMORY: u32 = 0x0001_0005;
    pub const GET_VC_MEMORY: u32 = 0x0001_0006;
    pub const GET_CLOCK_RATE: u32 = 0x0003_0002;
}

/// Clock ids for [`tag::GET_CLOCK_RATE`].
pub mod clock {
    pub const UART: u32 = 2;
    pub const ARM: u32 = 3;
    pub const CORE: u32 = 4;
    /// The EMMC2 controller's base clock.
    pub const EMMC2: u32 = 12;
}

/// Cache maintenance around a buffer the VideoCore reads and writes.
pub trait DmaCoherence {
    /// Makes the CPU's writes to `[va, va + len)` visible to the device.
    fn before_device(&self, va: usize, len: usize);
    /// Makes the device's writes to `[va, va + len)` visible to the CPU
    /// (discarding, not writing back, any cached copy).
    fn after_device(&self, va: usize, len: usize);
}

/// Why a mailbox call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailboxError {
    /// The message does not fit in the buffer.
    TooLarge,
    /// The firmware did not answer in time.
    Timeout,
    /// The firmware answered with an error code instead of success.
    Rejected(u32),
    /// The buffer is not 16-byte aligned or not below 4 GiB.
    BadAddress,
}

/// A property message under construction or as answered, in a buffer of `N`
/// words. [`PropertyMessage::add`] returns the tag's handle for reading the
/// response.
///
/// The words fill whole 64-byte cache lines (`N` a multiple of 16) and start
/// on a line, so no other data shares a line with what the VideoCore writes:
/// cache maintenance on the buffer can never write stale CPU data over the
/// answer.
#[repr(C, align(64))]
pub struct PropertyMessage<const N: usize> {
    words: [u32; N],
    len: usize,
}

/// The position of one tag in a [`PropertyMessage`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TagHandle {
    offset: usize,
    value_words: usize,
}

impl<const N: usize> Default for PropertyMessage<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> PropertyMessage<N> {
    const WHOLE_CACHE_LINES: () = assert!(N.is_multiple_of(16), "a property buffer fills whole 64-byte lines");

    /// An empty request.
    pub const fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let _ = Self::WHOLE_CACHE_LINES;
        let mut words = [0; N];
        words[1] = REQUEST;
        PropertyMessage { words, len: 2 }
    }

    /// Appends a tag whose value buffer holds `request` and has room for
    /// `response_words` words of answer.
    pub fn add(&mut self, tag: u32, request: &[u32], response_words: usize) -> Result<TagHandle, MailboxError> {
        let value_words = request.len().max(response_words);
        // Tag header (3 words) + values, plus the end tag that must still fit.
        if self.len + 3 + value_words + 1 > N {
            return Err(MailboxError::TooLarge);
        }
        let offset = self.len;
        self.words[offset] = tag;
        self.words[offset + 1] = (value_words * 4) as u32;
        self.words[offset + 2] = REQUEST;
        self.words[offset + 3..offset + 3 + request.len()].copy_from_slice(request);
        self.words[offset + 3 + request.len()..offset + 3 + value_words].fill(0);
        self.len += 3 + value_words;
        Ok(TagHandle { offset, value_words })
    }

    /// Writes the end tag and the total size; the message is ready to send.
    pub fn finish(&mut self) -> &[u32] {
        self.words[self.len] = 0;
        let total = self.len + 1;
        self.words[0] = (total * 4) as u32;
        &self.words[..total]
    }

    /// The message words (for sending and inspection).
    pub fn words(&self) -> &[u32] {
        &self.words[..self.len + 1]
    }

    /// Whether the firmware marked the whole request successful.
    pub fn succeeded(&self) -> bool {
        self.words[1] == RESPONSE_OK
    }

    /// The value words the firmware returned for `tag`, or `None` if it did not
    /// answer that tag.
    pub fn response(&self, tag: TagHandle) -> Option<&[u32]> {
        let code = self.words[tag.offset + 2];
        if code & TAG_RESPONSE == 0 {
            return None;
        }
        let bytes = (code & !TAG_RESPONSE) as usize;
        let words = bytes.div_ceil(4).min(tag.value_words);
        Some(&self.words[tag.offset + 3..tag.offset + 3 + words])
    }

    #[cfg(test)]
    fn answer(&mut self, tag: TagHandle, values: &[u32]) {
        self.words[1] = RESPONSE_OK;
        self.words[tag.offset + 2] = TAG_RESPONSE | (values.len() * 4) as u32;
        self.words[tag.offset + 3..tag.offset + 3 + values.len()].copy_from_slice(values);
    }
}

/// The mailbox registers. One call at a time: callers hold a lock across
/// [`Mailbox::call`].
pub struct Mailbox {
    regs: Mmio<RegisterBlock>,
}

/// How many status polls to wait for the firmware before giving up.
const POLL_LIMIT: u32 = 10_000_000;

impl Mailbox {
    /// # Safety
    /// `base` must be the mapped virtual address of the mailbox registers.
    pub const unsafe fn new(base: usize) -> Self {
        // SAFETY: forwarded contract.
        Mailbox { regs: unsafe { Mmio::new(base) } }
    }

    /// Sends `msg` on the property channel and waits for the answer.
    /// `bus_addr` is the address the VideoCore uses for the buffer (on the Pi 4
    /// the ARM physical address, below 1 GiB).
    pub fn call<const N: usize>(
        &self,
        msg: &mut PropertyMessage<N>,
        bus_addr: u64,
        dma: &impl DmaCoherence,
    ) -> Result<(), MailboxError> {
        if bus_addr & 0xf != 0 || bus_addr > u32::MAX as u64 {
            return Err(MailboxError::BadAddress);
        }
        msg.finish();
        let (va, len) = (msg.words.as_ptr() as usize, N * 4);
        dma.before_device(va, len);
        let r = &*self.regs;
        let mut polls = 0;
        while r.WRITE_STATUS.get() & STATUS_FULL != 0 {
            polls += 1;
            if polls > POLL_LIMIT {
                return Err(MailboxError::Timeout);
            }
            core::hint::spin_loop();
        }
        let request = bus_addr as u32 | CHANNEL_PROPERTY;
        r.WRITE.set(request);
        loop {
            while r.STATUS.get() & STATUS_EMPTY != 0 {
                polls += 1;
                if polls > POLL_LIMIT {
                    return Err(MailboxError::Timeout);
                }
                core::hint::spin_loop();
            }
            if r.READ.get() == request {
                break;
            }
        }
        dma.after_device(va, len);
        if msg.succeeded() {
            Ok(())
        } else {
            Err(MailboxError::Rejected(msg.words[1]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_tags_and_end_tag() {
        let mut msg = PropertyMessage::<32>::new();
        let rev = msg.add(tag::GET_BOARD_REVISION, &[], 1).unwrap();
        let clk = msg.add(tag::GET_CLOCK_RATE, &[clock::UART], 2).unwrap();
        let words = msg.finish();
        #[rustfmt::skip]
        let expected = [
            12 * 4, 0,                                  // size in bytes, request
            tag::GET_BOARD_REVISION, 4, 0, 0,           // tag, value bytes, code, value
            tag::GET_CLOCK_RATE, 8, 0, clock::UART, 0,  // clock id in, rate out
            0,                                          // end tag
        ];
        assert_eq!(words, &expected);
        assert_eq!(words[0] as usize, words.len() * 4);
        assert_eq!(rev.offset, 2);
        assert_eq!(clk.offset, 6);
    }

    #[test]
    fn reads_answers_and_detects_unanswered_tags() {
        let mut msg = PropertyMessage::<32>::new();
        let mem = msg.add(tag::GET_ARM_MEMORY, &[], 2).unwrap();
        let rev = msg.add(tag::GET_BOARD_REVISION, &[], 1).unwrap();
        msg.finish();
        assert!(!msg.succeeded());
        assert_eq!(msg.response(mem), None);
        msg.answer(mem, &[0, 0x3c00_0000]);
        assert!(msg.succeeded());
        assert_eq!(msg.response(mem), Some(&[0, 0x3c00_0000][..]));
        assert_eq!(msg.response(rev), None);
    }

    #[test]
    fn refuses_messages_that_do_not_fit() {
        let mut msg = PropertyMessage::<16>::new();
        assert!(msg.add(tag::GET_ARM_MEMORY, &[], 2).is_ok());
        assert!(msg.add(tag::GET_ARM_MEMORY, &[], 2).is_ok());
        assert_eq!(msg.add(tag::GET_ARM_MEMORY, &[], 2), Err(MailboxError::TooLarge));
    }

    #[test]
    fn buffer_starts_on_a_cache_line() {
        assert_eq!(core::mem::align_of::<PropertyMessage<16>>(), 64);
    }
}
