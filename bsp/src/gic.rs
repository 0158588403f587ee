//! ARM GIC-400 (GICv2): the distributor, shared by all cores, and the CPU
//! interface, banked per core.
//!
//! Interrupt IDs: 0-15 are SGIs (software-generated, used for inter-processor
//! interrupts), 16-31 PPIs (per-core, e.g. the timers), 32+ SPIs (devices).
//! SGI and PPI registers in the distributor are banked: every core configures
//! its own. Security: on QEMU the GIC has no security extensions and all
//! interrupts are group 0; on a board the firmware's `armstub8` puts them in
//! group 1 and runs us non-secure. Writing 1 to the enable bit of GICD_CTLR and
//! GICC_CTLR enables the group this kernel can see in both cases.

use crate::mmio::Mmio;
use tock_registers::{
    interfaces::{Readable, Writeable},
    register_structs,
    registers::{ReadOnly, ReadWrite, WriteOnly},
};

register_structs! {
    #[allow(non_snake_case)]
    pub DistributorRegs {
        (0x000 => CTLR: ReadWrite<u32>),
        (0x004 => TYPER: ReadOnly<u32>),
        (0x008 => _reserved0),
        (0x100 => ISENABLER: [ReadWrite<u32>; 32]),
        (0x180 => ICENABLER: [ReadWrite<u32>; 32]),
        (0x200 => ISPENDR: [ReadWrite<u32>; 32]),
        (0x280 => ICPENDR: [ReadWrite<u32>; 32]),
        (0x300 => ISACTIVER: [ReadWrite<u32>; 32]),
        (0x380 => ICACTIVER: [ReadWrite<u32>; 32]),
        (0x400 => IPRIORITYR: [ReadWrite<u32>; 255]),
        (0x7fc => _reserved1),
        (0x800 => ITARGETSR: [ReadWrite<u32>; 255]),
        (0xbfc => _reserved2),
        (0xc00 => ICFGR: [ReadWrite<u32>; 64]),
        (0xd00 => _reserved3),
        (0xf00 => SGIR: WriteOnly<u32>),
        (0xf04 => @END),
    }
}

register_structs! {
    #[allow(non_snake_case)]
    pub CpuInterfaceRegs {
        (0x00 => CTLR: ReadWrite<u32>),
        (0x04 => PMR: ReadWrite<u32>),
        (0x08 => BPR: ReadWrite<u32>),
        (0x0c => IAR: ReadOnly<u32>),
        (0x10 => EOIR: WriteOnly<u32>),
        (0x14 => @END),
    }
}

/// First shared peripheral interrupt.
pub const SPI_BASE: u32 = 32;
/// INTIDs from 1020 up are special (1023: no interrupt pending).
pub const SPURIOUS: u32 = 1023;
/// Priority given to every interrupt (lower is more urgent); must be below the
/// priority mask.
pub const DEFAULT_PRIORITY: u8 = 0xa0;
/// Priority mask: interrupts with a priority value below it are signalled.
pub const PRIORITY_MASK: u8 = 0xf0;

/// Where an interrupt's bit lives in a bank of 1-bit-per-interrupt registers:
/// (register index, bit mask).
pub const fn bit_position(intid: u32) -> (usize, u32) {
    ((intid / 32) as usize, 1 << (intid % 32))
}

/// Where an interrupt's byte lives in a bank of 8-bit-per-interrupt registers
/// (priority, target): (register index, bit shift).
pub const fn byte_position(intid: u32) -> (usize, u32) {
    ((intid / 4) as usize, (intid % 4) * 8)
}

/// The GICD_SGIR value that sends SGI `sgi` to the cores in `target_mask`
/// (bit n = core n).
pub const fn sgir_value(sgi: u32, target_mask: u8) -> u32 {
    ((target_mask as u32) << 16) | (sgi & 0xf)
}

/// The GIC-400 distributor. Configured once at boot by one core; afterwards
/// only single-register writes (enable, disable, SGIR) that need no lock.
pub struct Distributor {
    regs: Mmio<DistributorRegs>,
}

impl Distributor {
    /// # Safety
    /// `base` must be the mapped virtual address of the GIC-400 distributor.
    pub const unsafe fn new(base: usize) -> Self {
        // SAFETY: forwarded contract.
        Distributor { regs: unsafe { Mmio::new(base) } }
    }

    /// Number of interrupt IDs the distributor implements (GICD_TYPER.ITLinesNumber).
    pub fn lines(&self) -> u32 {
        32 * ((self.regs.TYPER.get() & 0x1f) + 1)
    }

    /// Boot-time setup, once: every SPI disabled, not pending, default priority,
    /// routed to core 0, level-triggered; then the distributor is enabled.
    pub fn init(&self) {
        let r = &*self.regs;
        r.CTLR.set(0);
        let lines = self.lines();
        for intid in (SPI_BASE..lines).step_by(32) {
            let (i, _) = bit_position(intid);
            r.ICENABLER[i].set(u32::MAX);
            r.ICPENDR[i].set(u32::MAX);
            r.ICACTIVER[i].set(u32::MAX);
        }
        let prio = u32::from_ne_bytes([DEFAULT_PRIORITY; 4]);
        for intid in (SPI_BASE..lines).step_by(4) {
            let (i, _) = byte_position(intid);
            r.IPRIORITYR[i].set(prio);
            r.ITARGETSR[i].set(0x0101_0101);
        }
        for i in (SPI_BASE / 16) as usize..(lines / 16) as usize {
            r.ICFGR[i].set(0);
        }
        r.CTLR.set(1);
    }

    /// Per-core setup of the banked SGI/PPI registers: all disabled, default priority.
    pub fn init_banked(&self) {
        let r = &*self.regs;
        r.ICENABLER[0].set(u32::MAX);
        r.ICPENDR[0].set(u32::MAX);
        let prio = u32::from_ne_bytes([DEFAULT_PRIORITY; 4]);
        for i in 0..8 {
            r.IPRIORITYR[i].set(prio);
        }
    }

    /// Enables `intid` (for SGIs/PPIs: on the calling core).
    pub fn enable(&self, intid: u32) {
        let (i, bit) = bit_position(intid);
        self.regs.ISENABLER[i].set(bit);
    }

    /// Disables `intid`.
    pub fn disable(&self, intid: u32) {
        let (i, bit) = bit_position(intid);
        self.regs.ICENABLER[i].set(bit);
    }

    /// Routes SPI `intid` to the cores in `core_mask`.
    pub fn set_targets(&self, intid: u32, core_mask: u8) {
        let (i, shift) = byte_position(intid);
        let reg = &self.regs.ITARGETSR[i];
        reg.set((reg.get() & !(0xff << shift)) | ((core_mask as u32) << shift));
    }

    /// Sends software-generated interrupt `sgi` to the cores in `core_mask`.
    pub fn send_sgi(&self, sgi: u32, core_mask: u8) {
        self.regs.SGIR.set(sgir_value(sgi, core_mask));
    }
}

/// The GIC-400 CPU interface of the calling core: its registers are banked,
/// so every core reaching this address sees its own.
pub struct CpuInterface {
    regs: Mmio<CpuInterfaceRegs>,
}

impl CpuInterface {
    /// # Safety
    /// `base` must be the mapped virtual address of the GIC-400 CPU interface.
    pub const unsafe fn new(base: usize) -> Self {
        // SAFETY: forwarded contract.
        CpuInterface { regs: unsafe { Mmio::new(base) } }
    }

    /// Per-core setup: priority mask, no preemption grouping, interface enabled.
    pub fn init(&self) {
        let r = &*self.regs;
        r.PMR.set(PRIORITY_MASK as u32);
        r.BPR.set(0);
        r.CTLR.set(1);
    }

    /// Acknowledges the highest-priority pending interrupt: returns the raw
    /// IAR value (INTID in bits 9:0, source core of an SGI in bits 12:10).
    pub fn acknowledge(&self) -> u32 {
        self.regs.IAR.get()
    }

    /// Signals the end of handling for an IAR value returned by [`acknowledge`](Self::acknowledge).
    pub fn end_of_interrupt(&self, iar: u32) {
        self.regs.EOIR.set(iar);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_positions() {
        assert_eq!(bit_position(30), (0, 1 << 30));
        assert_eq!(bit_position(153), (4, 1 << 25));
        assert_eq!(byte_position(153), (38, 8));
        assert_eq!(byte_position(30), (7, 16));
    }

    #[test]
    fn sgir_targets_cores() {
        assert_eq!(sgir_value(1, 0b1110), 0x000e_0001);
        assert_eq!(sgir_value(0, 0b0001), 0x0001_0000);
    }

    #[test]
    fn register_block_offsets_match_the_gic400_manual() {
        assert_eq!(core::mem::size_of::<DistributorRegs>(), 0xf04);
        assert_eq!(core::mem::size_of::<CpuInterfaceRegs>(), 0x14);
    }
}
