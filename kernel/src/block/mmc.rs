//! The SD card as a block device (Linux: drivers/mmc/core/block.c): the
//! EMMC2 host (bsp::emmc) probed at boot, its card registered as
//! `mmcblk0`, transfers split into the controller's 65535-block limit,
//! every controller error reported as EIO with one log line saying what
//! happened.
//!
//! Locking: [`HOST`] serialises the controller. It is an IRQ-masking spin
//! lock held across a transfer, because reads reach it from `File::read`,
//! which holds the file position's spin lock (fs/file.rs), where sleeping
//! is not allowed. So waits for the controller poll with interrupts masked
//! (bounded: 100 ms per command, 1 s per data block). QEMU's controller
//! completes each step at the register access, so no time is spent
//! spinning there; on a board a transfer keeps its core busy for its
//! duration. Lock order: a disk's buffer cache (bdev.rs) < HOST < mailbox.

use super::BlockDevice;
use crate::errno::Errno;
use crate::sync::IrqSpinLock;
use bsp::emmc::{EmmcRegs, SdEnv, SdError, Sdhci, BLOCK_SIZE};

/// Blocks per command (the SDHCI block count register is 16 bits).
const MAX_BLOCKS: usize = 0xffff;

// SAFETY: the linear-map alias of EMMC2, mapped as device memory with the
// whole peripheral window (mm/kmap.rs); this is its only driver instance.
static HOST: IrqSpinLock<Sdhci<EmmcRegs>> =
    IrqSpinLock::new(Sdhci::new(unsafe { EmmcRegs::new(crate::mm::phys_to_virt(bsp::memory_map::EMMC2 as u64)) }, 0));

/// Time and waiting for the driver: the uptime clock, and a CPU relax hint
/// (the host lock masks interrupts, see the module docs).
struct KernelEnv;

impl SdEnv for KernelEnv {
    fn now_us(&self) -> u64 {
        crate::time::uptime_ns() / 1000
    }
    fn relax(&self) {
        core::hint::spin_loop();
    }
}

/// The card in the slot.
pub struct MmcDisk {
    sectors: u64,
}

/// Logs an SD error once, as Linux's `mmcblk0: error -110 ...` lines do,
/// and turns it into EIO.
fn to_errno(op: &str, lba: u64, e: SdError) -> Errno {
    log::error!("mmcblk0: {op} error at sector {lba}: {e:?}");
    Errno::EIO
}

impl BlockDevice for MmcDisk {
    fn nr_sectors(&self) -> u64 {
        self.sectors
    }

    fn read_sectors(&self, lba: u64, buf: &mut [u8]) -> Result<(), Errno> {
        for (i, chunk) in buf.chunks_mut(MAX_BLOCKS * BLOCK_SIZE).enumerate() {
            let at = lba + (i * MAX_BLOCKS) as u64;
            HOST.lock().read_blocks(at, chunk, &KernelEnv).map_err(|e| to_errno("read", at, e))?;
        }
        Ok(())
    }

    fn write_sectors(&self, lba: u64, buf: &[u8]) -> Result<(), Errno> {
        for (i, chunk) in buf.chunks(MAX_BLOCKS * BLOCK_SIZE).enumerate() {
            let at = lba + (i * MAX_BLOCKS) as u64;
            HOST.lock().write_blocks(at, chunk, &KernelEnv).map_err(|e| to_errno("write", at, e))?;
        }
        Ok(())
    }
}

/// Initialises a host and the card (Linux: `sdhci_add_host` then
/// `mmc_rescan`); logs one line either way. EMMC2 is asked first (the slot
/// of a board), then EMMC (where QEMU's `raspi4b` attaches the card). The
/// base clock comes from the controller's capabilities or, when those
/// leave it out (the BCM2711's EMMC2), the firmware's EMMC2 clock.
pub fn probe() -> Option<MmcDisk> {
    let fallback = crate::board::clock_rate(bsp::mailbox::clock::EMMC2).unwrap_or(100_000_000);
    let mut host = HOST.lock();
    for (name, base) in [("EMMC2", bsp::memory_map::EMMC2), ("EMMC", bsp::memory_map::EMMC)] {
        // SAFETY: the linear-map alias of an SDHCI block inside the mapped
        // peripheral window; HOST's lock makes this the one instance in use.
        *host = Sdhci::new(unsafe { EmmcRegs::new(crate::mm::phys_to_virt(base as u64)) }, fallback);
        match host.init(&KernelEnv) {
            Ok(card) => {
                let card_name = core::str::from_utf8(&card.name).unwrap_or("?");
                log::info!(
                    "mmc0: new {} SD card {card_name} on {name}: mmcblk0, {} MiB",
                    if card.high_capacity { "high capacity" } else { "standard capacity" },
                    card.blocks / 2048
                );
                return Some(MmcDisk { sectors: card.blocks });
            }
            Err(SdError::NoCard) => continue,
            Err(e) => {
                log::error!("mmc0: the SD card on {name} did not initialise: {e:?}");
                return None;
            }
        }
    }
    log::info!("mmc0: no SD card");
    None
}
