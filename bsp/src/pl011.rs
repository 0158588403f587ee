//! ARM PrimeCell PL011 UART: polled transmit, interrupt-driven receive.
//!
//! The receive interrupt (FIFO level or receive timeout) lets the kernel drain
//! the 16-byte hardware FIFO into a larger buffer before it overflows, so
//! input pasted as one burst is not lost. When the kernel has no room, it
//! stops draining ([`Pl011::throttle`]): the receive interrupts are masked and
//! RTS is deasserted (hardware RTS flow control is on too), so a sender that
//! honours RTS waits; QEMU's model holds its input back once the FIFO is
//! full. Bytes that still arrive into a full FIFO are lost to the hardware,
//! which flags the next byte with an overrun error: [`Pl011::drain_rx`]
//! counts those.

use crate::mmio::Mmio;
use tock_registers::{
    interfaces::{ReadWriteable, Readable, Writeable},
    register_bitfields, register_structs,
    registers::{ReadOnly, ReadWrite, WriteOnly},
};

register_bitfields! {
    u32,
    /// Flag register.
    FR [
        TXFF OFFSET(5) NUMBITS(1) [],
        RXFE OFFSET(4) NUMBITS(1) [],
        BUSY OFFSET(3) NUMBITS(1) []
    ],
    IBRD [ BAUD_DIVINT OFFSET(0) NUMBITS(16) [] ],
    FBRD [ BAUD_DIVFRAC OFFSET(0) NUMBITS(6) [] ],
    /// Line control.
    LCR_H [
        WLEN OFFSET(5) NUMBITS(2) [ FiveBit = 0, SixBit = 1, SevenBit = 2, EightBit = 3 ],
        FEN OFFSET(4) NUMBITS(1) []
    ],
    /// Control.
    CR [
        /// Hardware RTS flow control: RTS follows the receive FIFO's fill.
        RTSEN OFFSET(14) NUMBITS(1) [],
        /// Request to send (the complement of the nUARTRTS pin).
        RTS OFFSET(11) NUMBITS(1) [],
        RXE OFFSET(9) NUMBITS(1) [],
        TXE OFFSET(8) NUMBITS(1) [],
        UARTEN OFFSET(0) NUMBITS(1) []
    ],
    /// FIFO level select for the interrupts.
    IFLS [
        RXIFLSEL OFFSET(3) NUMBITS(3) [ OneEighth = 0, OneQuarter = 1, OneHalf = 2 ]
    ],
    /// Interrupt mask set/clear, and the interrupt clear register.
    INT [
        OE OFFSET(10) NUMBITS(1) [],
        RT OFFSET(6) NUMBITS(1) [],
        TX OFFSET(5) NUMBITS(1) [],
        RX OFFSET(4) NUMBITS(1) []
    ]
}

register_structs! {
    #[allow(non_snake_case)]
    pub RegisterBlock {
        (0x00 => DR: ReadWrite<u32>),
        (0x04 => _reserved0),
        (0x18 => FR: ReadOnly<u32, FR::Register>),
        (0x1c => _reserved1),
        (0x24 => IBRD: WriteOnly<u32, IBRD::Register>),
        (0x28 => FBRD: WriteOnly<u32, FBRD::Register>),
        (0x2c => LCR_H: WriteOnly<u32, LCR_H::Register>),
        (0x30 => CR: ReadWrite<u32, CR::Register>),
        (0x34 => IFLS: ReadWrite<u32, IFLS::Register>),
        (0x38 => IMSC: ReadWrite<u32, INT::Register>),
        (0x3c => _reserved2),
        (0x44 => ICR: WriteOnly<u32, INT::Register>),
        (0x48 => @END),
    }
}

/// The baud-rate divisor registers for `clock_hz` and `baud`: the integer part
/// and the 6-bit fraction of `clock / (16 * baud)`, rounded to nearest.
pub const fn baud_divisors(clock_hz: u32, baud: u32) -> (u32, u32) {
    // divisor * 64 = clock * 4 / baud; +baud/2 rounds to nearest.
    let div64 = ((clock_hz as u64) * 4 + (baud as u64) / 2) / baud as u64;
    ((div64 >> 6) as u32, (div64 & 0x3f) as u32)
}

/// A PL011 UART. Writers are serialised by the caller (the kernel's console
/// lock); the receive interrupt handler only reads DR and writes ICR.
pub struct Pl011 {
    regs: Mmio<RegisterBlock>,
}

impl Pl011 {
    /// # Safety
    /// `base` must be the mapped virtual address of a PL011 register block, and
    /// the caller must not create two drivers for the same block.
    pub const unsafe fn new(base: usize) -> Self {
        // SAFETY: forwarded contract.
        Pl011 { regs: unsafe { Mmio::new(base) } }
    }

    /// Programs 8N1 at `baud` from a `clock_hz` reference clock, FIFOs on,
    /// receive interrupts (FIFO level and timeout) unmasked.
    pub fn init(&self, clock_hz: u32, baud: u32) {
        let r = &*self.regs;
        self.flush();
        r.CR.set(0);
        r.ICR.set(0x7ff);
        let (ibrd, fbrd) = baud_divisors(clock_hz, baud);
        r.IBRD.write(IBRD::BAUD_DIVINT.val(ibrd));
        r.FBRD.write(FBRD::BAUD_DIVFRAC.val(fbrd));
        r.LCR_H.write(LCR_H::WLEN::EightBit + LCR_H::FEN::SET);
        r.IFLS.write(IFLS::RXIFLSEL::OneEighth);
        r.IMSC.write(INT::RX::SET + INT::RT::SET);
        r.CR.write(CR::UARTEN::SET + CR::TXE::SET + CR::RXE::SET + CR::RTS::SET + CR::RTSEN::SET);
    }

    /// Sends one byte, waiting while the transmit FIFO is full.
    pub fn write_byte(&self, byte: u8) {
        let r = &*self.regs;
        while r.FR.is_set(FR::TXFF) {
            core::hint::spin_loop();
        }
        r.DR.set(byte as u32);
    }

    /// Waits until everything written has left the UART.
    pub fn flush(&self) {
        while self.regs.FR.is_set(FR::BUSY) {
            core::hint::spin_loop();
        }
    }

    /// Takes one received byte, if the receive FIFO holds one.
    pub fn read_byte(&self) -> Option<u8> {
        let r = &*self.regs;
        if r.FR.is_set(FR::RXFE) {
            None
        } else {
            Some(r.DR.get() as u8)
        }
    }

    /// Interrupt handler body: acknowledges the receive interrupts, then moves
    /// received bytes to `sink` while `room()` says there is room for one
    /// more. Returns whether the FIFO was emptied, and how many overrun errors
    /// (bytes the hardware lost because its FIFO was full) it reported.
    ///
    /// Acknowledge first, drain second: a byte that arrives after the last read
    /// raises a fresh interrupt. The other order can clear the interrupt of a
    /// byte that came in between, and a UART (QEMU's) that signals only when
    /// the FIFO goes from empty to non-empty would then never interrupt again.
    /// For the same reason a caller that stopped early must call this again
    /// itself once it has room: no interrupt comes for bytes already waiting.
    pub fn drain_rx(&self, mut room: impl FnMut() -> bool, mut sink: impl FnMut(u8)) -> RxDrain {
        let r = &*self.regs;
        r.ICR.write(INT::RX::SET + INT::RT::SET + INT::OE::SET);
        let mut overruns = 0;
        loop {
            if r.FR.is_set(FR::RXFE) {
                return RxDrain { emptied: true, overruns };
            }
            if !room() {
                return RxDrain { emptied: false, overruns };
            }
            let data = r.DR.get();
            if data & DR_OE != 0 {
                overruns += 1;
            }
            sink(data as u8);
        }
    }

    /// Stops taking input: masks the receive interrupts and deasserts RTS
    /// (Linux: the driver's `throttle`).
    pub fn throttle(&self) {
        let r = &*self.regs;
        r.IMSC.modify(INT::RX::CLEAR + INT::RT::CLEAR);
        r.CR.modify(CR::RTS::CLEAR);
    }

    /// Takes input again: asserts RTS and unmasks the receive interrupts
    /// (Linux: `unthrottle`).
    pub fn unthrottle(&self) {
        let r = &*self.regs;
        r.CR.modify(CR::RTS::SET);
        r.IMSC.modify(INT::RX::SET + INT::RT::SET);
    }
}

/// The overrun error flag that comes with a received byte in DR.
const DR_OE: u32 = 1 << 11;

/// What [`Pl011::drain_rx`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RxDrain {
    /// The receive FIFO is empty (else the caller ran out of room).
    pub emptied: bool,
    /// Overrun errors reported with the bytes read.
    pub overruns: usize,
}

#[cfg(test)]
mod tests {
    use super::baud_divisors;

    #[test]
    fn divisors_for_115200_from_48mhz() {
        // 48e6 / (16 * 115200) = 26.0417 -> IBRD 26, FBRD round(0.0417 * 64) = 3.
        assert_eq!(baud_divisors(48_000_000, 115_200), (26, 3));
    }

    #[test]
    fn divisors_for_other_clocks() {
        // 3 MHz, 115200: 1.6276 -> 1, round(0.6276 * 64) = 40.
        assert_eq!(baud_divisors(3_000_000, 115_200), (1, 40));
        // An exact divisor has no fraction.
        assert_eq!(baud_divisors(16 * 9600 * 10, 9600), (10, 0));
    }
}
