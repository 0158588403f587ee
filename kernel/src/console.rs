//! The serial console: formatted output on the PL011 (polled, under a lock,
//! LF -> CR LF) and input from the UART receive interrupt.
//!
//! Input goes to one owner: the terminal user space reads (fs/tty.rs, the
//! default once init runs), or the kernel's debug monitor (shell/), which
//! reads through a ring buffer.
//!
//! Flow control (Linux: n_tty's throttling of the tty driver): the receive
//! interrupt moves bytes from the UART only while the owner has room (the
//! line discipline's `receive_room`, or space in the monitor's ring). With
//! none, input is throttled: the UART's receive interrupt is masked and RTS
//! deasserted, and the bytes wait in the UART (and, on QEMU, in the host);
//! the reader that makes room calls [`unthrottle`], which drains again. No
//! byte is dropped while a reader exists; what is lost anyway (UART
//! overruns, a canonical line longer than the tty's buffer, the monitor's
//! ring) is counted in [`input_dropped`] (the monitor's `meminfo`).
//! Ctrl-] reaches the monitor in turn with the other bytes: while user space
//! leaves a full buffer unread, it waits with them.
//!
//! Lock order: `RX` < the tty's line discipline lock < the output lock.

use crate::board::UART;
use crate::sched::wait::WaitQueueHead;
use crate::sync::{IrqSpinLock, IrqSpinLockGuard};
use crate::util::ringbuf::RingBuffer;
use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static OUTPUT: IrqSpinLock<()> = IrqSpinLock::new(());
/// Received bytes: the UART interrupt handler produces, the console reader consumes.
const INPUT_SIZE: usize = 4096;
static INPUT: RingBuffer<INPUT_SIZE> = RingBuffer::new();

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
        crate::arch::cpu::cpu_relax();
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

/// Readers waiting for input.
static INPUT_WAIT: WaitQueueHead = WaitQueueHead::new();

/// Who reads the console's input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// The kernel debug monitor (the console shell).
    Monitor,
    /// The terminal of user space.
    Tty,
}

static OWNER_IS_TTY: AtomicBool = AtomicBool::new(false);

/// Hands the console's input to `owner`.
pub fn set_owner(owner: Owner) {
    OWNER_IS_TTY.store(owner == Owner::Tty, Ordering::Release);
    INPUT_WAIT.wake_up();
}

/// Who reads the console's input now.
pub fn owner() -> Owner {
    if OWNER_IS_TTY.load(Ordering::Acquire) {
        Owner::Tty
    } else {
        Owner::Monitor
    }
}

/// The key chord that takes the console from user space to the kernel's
/// debug monitor: Ctrl-] (telnet's escape character, unused by the tty).
pub const MONITOR_CHORD: u8 = 0x1d;

/// Sleeps until the monitor owns the console.
pub fn wait_for_monitor() {
    let _ = INPUT_WAIT.wait_event(crate::sched::task::state::TASK_INTERRUPTIBLE, || owner() == Owner::Monitor);
}

/// Serialises the receive path: the interrupt handler and a reader's
/// [`unthrottle`] may drain the UART from different CPUs.
static RX: IrqSpinLock<()> = IrqSpinLock::new(());
/// Input is held back in the UART until a reader makes room.
static THROTTLED: AtomicBool = AtomicBool::new(false);
/// Bytes the UART lost (overrun errors), for [`input_dropped`].
static OVERRUNS: AtomicUsize = AtomicUsize::new(0);

/// Whether the owner of the input can take one more byte now.
fn input_room() -> bool {
    if OWNER_IS_TTY.load(Ordering::Acquire) {
        crate::fs::tty::receive_room() > 0
    } else {
        INPUT.len() < INPUT_SIZE
    }
}

/// Moves bytes from the UART to the owner while it has room; throttles the
/// UART when it has none, unthrottles it when the UART is empty again.
fn receive_chars() {
    let _rx = RX.lock();
    loop {
        let drained = UART.drain_rx(input_room, |b| {
            if OWNER_IS_TTY.load(Ordering::Relaxed) {
                if b == MONITOR_CHORD {
                    set_owner(Owner::Monitor);
                } else {
                    crate::fs::tty::receive(b);
                }
            } else {
                INPUT.push(b);
            }
        });
        if drained.overruns > 0 {
            OVERRUNS.fetch_add(drained.overruns, Ordering::Relaxed);
        }
        if drained.emptied {
            if THROTTLED.swap(false, Ordering::SeqCst) {
                UART.unthrottle();
            }
            break;
        }
        if !THROTTLED.swap(true, Ordering::SeqCst) {
            UART.throttle();
        }
        // A reader that made room before seeing the flag would not call
        // unthrottle: look again now that the flag is visible.
        if !input_room() {
            break;
        }
    }
    INPUT_WAIT.wake_up();
}

/// UART interrupt handler: drain the receive FIFO to the owner and wake the
/// reader.
pub fn uart_irq(_intid: u32) {
    receive_chars();
}

/// Called by a reader that made room: takes the input held back in the UART
/// (Linux: `n_tty_check_unthrottle`).
pub fn unthrottle() {
    if THROTTLED.load(Ordering::SeqCst) {
        receive_chars();
    }
}

/// Waits for the next input byte while `still()` holds (one reader at a
/// time: the ring has a single consumer); `None` once it no longer does.
pub fn read_byte_while(mut still: impl FnMut() -> bool) -> Option<u8> {
    loop {
        let byte = INPUT.pop();
        // Room again for input held back in the UART (also before a sleep:
        // the input may have been held back for another owner).
        unthrottle();
        if let Some(b) = byte {
            return Some(b);
        }
        if !still() {
            return None;
        }
        // Sleeps interruptibly so the reader counts as S, not D; a kill only
        // ends the sleep early, and the loop waits again.
        let _ = INPUT_WAIT.wait_event(crate::sched::task::state::TASK_INTERRUPTIBLE, || !INPUT.is_empty() || !still());
    }
}

/// Input bytes lost: refused by a full monitor ring (which throttling
/// avoids), overrun in the UART, or past the end of an overlong canonical
/// line of the tty.
pub fn input_dropped() -> usize {
    INPUT.dropped() + OVERRUNS.load(Ordering::Relaxed) + crate::fs::tty::input_dropped() as usize
}
