//! The BCM2711 power-management watchdog, the Pi's reset path.
//!
//! Reset: arm the watchdog with a short timeout and request a full reset in
//! PM_RSTC. Power off: the same, after writing the "halt" partition (63) into
//! PM_RSTS; the firmware sees it on the next boot and stays halted (the Linux
//! bcm2835 watchdog driver does the same). QEMU started with `-no-reboot` exits
//! on either.

use crate::mmio::Mmio;
use tock_registers::{
    interfaces::{Readable, Writeable},
    register_structs,
    registers::ReadWrite,
};

register_structs! {
    #[allow(non_snake_case)]
    pub RegisterBlock {
        (0x00 => _reserved0),
        (0x1c => RSTC: ReadWrite<u32>),
        (0x20 => RSTS: ReadWrite<u32>),
        (0x24 => WDOG: ReadWrite<u32>),
        (0x28 => @END),
    }
}

const PASSWORD: u32 = 0x5a00_0000;
const RSTC_WRCFG_CLR: u32 = 0xffff_ffcf;
const RSTC_WRCFG_FULL_RESET: u32 = 0x0000_0020;
/// Watchdog ticks (16 per ms) before the reset.
const TIMEOUT_TICKS: u32 = 10;

/// The boot partition bits of PM_RSTS for `partition` (its bits spread over
/// every other bit of 0..=10).
pub const fn rsts_partition_bits(partition: u32) -> u32 {
    let mut bits = 0;
    let mut i = 0;
    while i < 6 {
        if partition & (1 << i) != 0 {
            bits |= 1 << (2 * i);
        }
        i += 1;
    }
    bits
}

/// The partition the firmware treats as "halt".
pub const HALT_PARTITION: u32 = 63;

/// The watchdog block, used by one core on the way down.
pub struct Watchdog {
    regs: Mmio<RegisterBlock>,
}

impl Watchdog {
    /// # Safety
    /// `base` must be the mapped virtual address of the power manager block.
    pub const unsafe fn new(base: usize) -> Self {
        // SAFETY: forwarded contract.
        Watchdog { regs: unsafe { Mmio::new(base) } }
    }

    fn reset_with_partition(&self, partition: u32) {
        let r = &*self.regs;
        let rsts = (r.RSTS.get() & !rsts_partition_bits(HALT_PARTITION)) | rsts_partition_bits(partition);
        r.RSTS.set(PASSWORD | rsts);
        r.WDOG.set(PASSWORD | TIMEOUT_TICKS);
        r.RSTC.set(PASSWORD | (r.RSTC.get() & RSTC_WRCFG_CLR) | RSTC_WRCFG_FULL_RESET);
    }

    /// Resets the SoC; the firmware boots again.
    pub fn reboot(&self) {
        self.reset_with_partition(0);
    }

    /// Resets into the firmware's halt state.
    pub fn power_off(&self) {
        self.reset_with_partition(HALT_PARTITION);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halt_partition_sets_every_other_bit() {
        assert_eq!(rsts_partition_bits(HALT_PARTITION), 0x555);
        assert_eq!(rsts_partition_bits(0), 0);
        assert_eq!(rsts_partition_bits(1), 1);
        assert_eq!(rsts_partition_bits(2), 4);
    }
}
