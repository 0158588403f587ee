//! The kernel's instances of the Raspberry Pi 4 devices, at their linear-map
//! addresses, and what the firmware tells us about the board.

use crate::arch::cache::PointOfCoherency;
use crate::mm::{phys_to_virt, virt_to_phys};
use crate::sync::IrqSpinLock;
use bsp::gic::{CpuInterface, Distributor};
use bsp::gpio::Gpio;
use bsp::mailbox::{clock, tag, Mailbox, MailboxError, PropertyMessage};
use bsp::memory_map as map;
use bsp::pl011::Pl011;
use bsp::watchdog::Watchdog;
use spin::Once;

const fn mmio(pa: usize) -> usize {
    phys_to_virt(pa as u64)
}

// SAFETY (all below): each address is the linear-map alias of that block's
// physical address, mapped as device memory by boot.S and mm/kmap.rs, and each
// block gets exactly one driver instance.
/// The serial console UART.
pub static UART: Pl011 = unsafe { Pl011::new(mmio(map::PL011_UART0)) };
// SAFETY: as above.
/// The interrupt distributor.
pub static GICD: Distributor = unsafe { Distributor::new(mmio(map::GICD)) };
// SAFETY: as above.
/// The interrupt CPU interface (banked: each core sees its own).
pub static GICC: CpuInterface = unsafe { CpuInterface::new(mmio(map::GICC)) };
// SAFETY: as above.
/// GPIO pins.
pub static GPIO: Gpio = unsafe { Gpio::new(mmio(map::GPIO)) };
// SAFETY: as above.
/// The reset/power-off watchdog.
pub static WATCHDOG: Watchdog = unsafe { Watchdog::new(mmio(map::POWER_MANAGER)) };
/// The mailbox and the one buffer it is used with. The buffer is static, not
/// on a stack: after a timed-out call the firmware may still write into it.
struct MailboxChannel {
    mailbox: Mailbox,
    msg: PropertyMessage<32>,
}

// SAFETY: as above.
static MAILBOX: IrqSpinLock<MailboxChannel> = IrqSpinLock::new(MailboxChannel {
    mailbox: unsafe { Mailbox::new(mmio(map::MAILBOX)) },
    msg: PropertyMessage::new(),
});

/// Board facts reported by the firmware.
#[derive(Clone, Copy, Debug)]
pub struct BoardInfo {
    /// Board revision code (QEMU raspi4b: 0xb03115), if the firmware answered.
    pub revision: Option<u32>,
    /// The ARM's RAM as (base, size) in bytes.
    pub arm_memory: (u64, u64),
    /// The UART reference clock in Hz.
    pub uart_clock: u32,
}

static INFO: Once<BoardInfo> = Once::new();

/// Asks the firmware for the board revision, ARM memory and UART clock in one
/// mailbox call.
pub fn query_firmware() -> Result<&'static BoardInfo, MailboxError> {
    let mut channel = MAILBOX.lock();
    let MailboxChannel { mailbox, msg } = &mut *channel;
    *msg = PropertyMessage::new();
    let rev = msg.add(tag::GET_BOARD_REVISION, &[], 1)?;
    let mem = msg.add(tag::GET_ARM_MEMORY, &[], 2)?;
    let clk = msg.add(tag::GET_CLOCK_RATE, &[clock::UART], 2)?;
    let bus = virt_to_phys(msg as *const _ as usize);
    mailbox.call(msg, bus, &PointOfCoherency)?;
    let arm_memory = match msg.response(mem) {
        Some(&[base, size]) if size > 0 => (base as u64, size as u64),
        _ => return Err(MailboxError::Rejected(tag::GET_ARM_MEMORY)),
    };
    let uart_clock = match msg.response(clk) {
        Some(&[_, rate]) if rate > 0 => rate,
        _ => crate::config::DEFAULT_UART_CLOCK,
    };
    let revision = msg.response(rev).and_then(|r| r.first().copied());
    Ok(INFO.call_once(|| BoardInfo { revision, arm_memory, uart_clock }))
}

/// The rate in Hz of the firmware clock `id` ([`clock`]), if it answers.
pub fn clock_rate(id: u32) -> Option<u32> {
    let mut channel = MAILBOX.lock();
    let MailboxChannel { mailbox, msg } = &mut *channel;
    *msg = PropertyMessage::new();
    let clk = msg.add(tag::GET_CLOCK_RATE, &[id], 2).ok()?;
    let bus = virt_to_phys(msg as *const _ as usize);
    mailbox.call(msg, bus, &PointOfCoherency).ok()?;
    match msg.response(clk) {
        Some(&[_, rate]) if rate > 0 => Some(rate),
        _ => None,
    }
}

/// What [`query_firmware`] found, once it has run.
pub fn info() -> Option<&'static BoardInfo> {
    INFO.get()
}

/// Powers the board off (Linux: `kernel_power_off`): through the watchdog,
/// which QEMU, run with `-no-reboot`, takes as the end.
pub fn power_off() -> ! {
    shutdown("Power down", Watchdog::power_off)
}

/// Restarts the board (Linux: `kernel_restart`).
pub fn restart() -> ! {
    shutdown("Restarting system", Watchdog::reboot)
}

fn shutdown(what: &str, action: fn(&Watchdog)) -> ! {
    // Dirty buffers reach the card first (Linux: `kernel_power_off` ->
    // device shutdown; user space has usually run sync already).
    let _ = crate::block::bdev::sync_all();
    crate::println!("reboot: {what}");
    UART.flush();
    action(&WATCHDOG);
    crate::arch::cpu::halt()
}
