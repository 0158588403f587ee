//! BCM2711 GPIO: pin function selection, the BCM2711 pull-up/down registers
//! (GPIO_PUP_PDN_CNTRL, not the BCM2835's GPPUD sequence), and output pins as
//! embedded-hal `OutputPin`s (the activity LED on GPIO 42).

use crate::mmio::Mmio;
use core::convert::Infallible;
use tock_registers::{
    interfaces::{Readable, Writeable},
    register_structs,
    registers::{ReadOnly, ReadWrite, WriteOnly},
};

register_structs! {
    #[allow(non_snake_case)]
    pub RegisterBlock {
        (0x00 => GPFSEL: [ReadWrite<u32>; 6]),
        (0x18 => _reserved0),
        (0x1c => GPSET: [WriteOnly<u32>; 2]),
        (0x24 => _reserved1),
        (0x28 => GPCLR: [WriteOnly<u32>; 2]),
        (0x30 => _reserved2),
        (0x34 => GPLEV: [ReadOnly<u32>; 2]),
        (0x3c => _reserved3),
        (0xe4 => PUP_PDN_CNTRL: [ReadWrite<u32>; 4]),
        (0xf4 => @END),
    }
}

/// Pin functions (GPFSEL encodings).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Function {
    Input = 0b000,
    Output = 0b001,
    Alt0 = 0b100,
    Alt1 = 0b101,
    Alt2 = 0b110,
    Alt3 = 0b111,
    Alt4 = 0b011,
    Alt5 = 0b010,
}

/// Pull resistor settings (GPIO_PUP_PDN_CNTRL encodings).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Pull {
    None = 0b00,
    Up = 0b01,
    Down = 0b10,
}

/// (register index, shift) of a pin's 3-bit function field.
pub const fn fsel_position(pin: u32) -> (usize, u32) {
    ((pin / 10) as usize, (pin % 10) * 3)
}

/// (register index, shift) of a pin's 2-bit pull field.
pub const fn pull_position(pin: u32) -> (usize, u32) {
    ((pin / 16) as usize, (pin % 16) * 2)
}

/// The GPIO controller. Function and pull changes are read-modify-write:
/// callers serialise them; GPSET/GPCLR writes are per pin and need no lock.
pub struct Gpio {
    regs: Mmio<RegisterBlock>,
}

impl Gpio {
    /// Number of GPIO pins on the BCM2711.
    pub const PINS: u32 = 58;

    /// # Safety
    /// `base` must be the mapped virtual address of the GPIO block.
    pub const unsafe fn new(base: usize) -> Self {
        // SAFETY: forwarded contract.
        Gpio { regs: unsafe { Mmio::new(base) } }
    }

    /// Selects `function` for `pin`.
    pub fn set_function(&self, pin: u32, function: Function) {
        let (i, shift) = fsel_position(pin);
        let reg = &self.regs.GPFSEL[i];
        reg.set((reg.get() & !(0b111 << shift)) | ((function as u32) << shift));
    }

    /// Sets the pull resistor of `pin`.
    pub fn set_pull(&self, pin: u32, pull: Pull) {
        let (i, shift) = pull_position(pin);
        let reg = &self.regs.PUP_PDN_CNTRL[i];
        reg.set((reg.get() & !(0b11 << shift)) | ((pull as u32) << shift));
    }

    /// Drives output `pin` high or low.
    pub fn write(&self, pin: u32, high: bool) {
        let bank = (pin / 32) as usize;
        let bit = 1 << (pin % 32);
        if high {
            self.regs.GPSET[bank].set(bit);
        } else {
            self.regs.GPCLR[bank].set(bit);
        }
    }

    /// The level of `pin` (GPLEV): for an output, what it drives.
    pub fn level(&self, pin: u32) -> bool {
        self.regs.GPLEV[(pin / 32) as usize].get() & (1 << (pin % 32)) != 0
    }

    /// Routes GPIO 14/15 (header pins 8/10) to UART0 (ALT0) with no pulls,
    /// and returns GPIO 30-33, where the firmware connects UART0 to the
    /// Bluetooth chip (ALT3), to inputs: the PL011 serves the header alone.
    pub fn map_pl011_uart(&self) {
        for pin in 30..=33 {
            self.set_function(pin, Function::Input);
        }
        for pin in [14, 15] {
            self.set_pull(pin, Pull::None);
            self.set_function(pin, Function::Alt0);
        }
    }
}

/// One GPIO pin configured as an output (embedded-hal `OutputPin`).
pub struct OutputPin<'a> {
    gpio: &'a Gpio,
    pin: u32,
}

impl<'a> OutputPin<'a> {
    /// Makes `pin` an output, initially low.
    pub fn new(gpio: &'a Gpio, pin: u32) -> Self {
        gpio.write(pin, false);
        gpio.set_function(pin, Function::Output);
        OutputPin { gpio, pin }
    }

    /// A handle on `pin`, already an output, without touching its setup.
    pub fn attach(gpio: &'a Gpio, pin: u32) -> Self {
        OutputPin { gpio, pin }
    }
}

impl embedded_hal::digital::ErrorType for OutputPin<'_> {
    type Error = Infallible;
}

impl embedded_hal::digital::StatefulOutputPin for OutputPin<'_> {
    fn is_set_high(&mut self) -> Result<bool, Infallible> {
        Ok(self.gpio.level(self.pin))
    }
    fn is_set_low(&mut self) -> Result<bool, Infallible> {
        Ok(!self.gpio.level(self.pin))
    }
}

impl embedded_hal::digital::OutputPin for OutputPin<'_> {
    fn set_low(&mut self) -> Result<(), Infallible> {
        self.gpio.write(self.pin, false);
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Infallible> {
        self.gpio.write(self.pin, true);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uart_and_led_pin_fields() {
        assert_eq!(fsel_position(14), (1, 12));
        assert_eq!(fsel_position(15), (1, 15));
        assert_eq!(fsel_position(42), (4, 6));
        assert_eq!(pull_position(14), (0, 28));
        assert_eq!(pull_position(42), (2, 20));
    }

    #[test]
    fn register_block_layout() {
        assert_eq!(core::mem::size_of::<RegisterBlock>(), 0xf4);
    }
}
