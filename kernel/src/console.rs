//! The serial console: formatted output on the PL011 (polled, under a lock,
//! LF -> CR LF) and input from the UART receive interrupt through a ring buffer.

use crate::board::UART;
use crate::sync::{IrqSpinLock, IrqSpinLockGuard};
use crate::util::ringbuf::RingBuffer;
use core::fmt;

static OUTPUT: IrqSpinLock<()> = IrqSpinLock::new(());
/// Received bytes: the UART interrupt handler produces, the console reader consumes.
static INPUT: RingBuffer<4096> = RingBuffer::new();

/// Writes to the console; holds the output lock while alive (unless made by
/// [`panic_writer`] while another core held it).
pub struct Writer {
    _guard: Option<IrqSpinLockGuard<'static, ()>>,
}

impl Writer {
    /// Sends bytes as they are (terminal control sequences, echo).
    pub fn write_raw(&mut self, bytes: &[u8]) {
        for &b in bytes {
            UART.write_byte(b);
        }
    }

    /// Sends text, LF translated to CR LF.
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b == b'\n' {
                UART.write_byte(b'\r');
            }
            UART.write_byte(b);
        }
    }
}

impl fmt::Write for Writer {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.write_bytes(s.as_bytes());
        Ok(())
    }
}

/// Takes the console for a sequence of writes that must not interleave.
pub fn writer() -> Writer {
    Writer { _guard: Some(OUTPUT.lock()) }
}

/// A writer for the panic path: waits briefly for the lock, then writes
/// without it (the holder may be a core that has been stopped).
pub fn panic_writer() -> Writer {
    for _ in 0..1_000_000 {
        if let Some(guard) = OUTPUT.try_lock() {
            return Writer { _guard: Some(guard) };
        }
        core::hint::spin_loop();
    }
    Writer { _guard: None }
}

/// Backend of the `print!` macros.
pub fn _print(args: fmt::Arguments) {
    use fmt::Write;
    let _ = writer().write_fmt(args);
}

/// Prints to the console.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => ($crate::console::_print(format_args!($($arg)*)));
}

/// Prints to the console, with a newline.
#[macro_export]
macro_rules! println {
    () => ($crate::print!("\n"));
    ($($arg:tt)*) => ($crate::console::_print(format_args!("{}\n", format_args!($($arg)*))));
}

/// UART interrupt handler: drain the receive FIFO into the input ring.
pub fn uart_irq(_intid: u32) {
    UART.drain_rx(|b| {
        INPUT.push(b);
    });
}

/// Waits for the next input byte, sleeping in WFI while there is none.
pub fn read_byte() -> u8 {
    use crate::arch::cpu;
    loop {
        // Test with IRQs masked, then WFI: a byte arriving in between leaves its
        // interrupt pending, which ends the WFI, so no wake-up is lost.
        cpu::local_irq_disable();
        if let Some(b) = INPUT.pop() {
            cpu::local_irq_enable();
            return b;
        }
        cpu::wait_for_interrupt();
        cpu::local_irq_enable();
    }
}

/// Input bytes lost because the ring was full.
pub fn input_dropped() -> usize {
    INPUT.dropped()
}
