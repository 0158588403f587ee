//! The SD card as a block device (Linux: drivers/mmc/core/block.c): the
//! EMMC2 host (bsp::emmc) probed at boot, its card registered as
//! `mmcblk0`, transfers split into the controller's 65535-block limit,
//! every controller error reported as EIO with one log line saying what
//! happened.
//!
//! Completion is interrupt-driven (Linux: `sdhci_irq`): a wait for a
//! command or a data block arms the controller's interrupt and sleeps in
//! TASK_UNINTERRUPTIBLE on [`SD_WAIT`] (`/proc/<pid>/wchan`: `mmc_wait`);
//! [`mmc_irq`] disarms the controller and wakes it (bsp::emmc explains
//! the protocol). A caller that cannot sleep (interrupts masked: early boot,
//! a spin lock held) polls instead, bounded like every wait: 100 ms per
//! command, 1 s per data block. QEMU's controller completes each step at the
//! register access, so there a wait mostly finds its event already latched
//! and does not sleep; its interrupts still come, and `/proc/interrupts`
//! counts them.
//!
//! Locking: [`HOST`] is a mutex (its holder sleeps) serialising the
//! controller. Lock order: a disk's buffer cache (bdev.rs) < HOST < mailbox.

use super::BlockDevice;
use crate::errno::Errno;
use crate::sched::mutex::Mutex;
use crate::sched::task::{can_sleep, state};
use crate::sched::wait::{WaitQueueEntry, WaitQueueHead};
use bsp::emmc::{EmmcRegs, SdEnv, SdError, Sdhci, BLOCK_SIZE};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Blocks per command (the SDHCI block count register is 16 bits).
const MAX_BLOCKS: usize = 0xffff;

// SAFETY: the linear-map alias of EMMC2, mapped as device memory with the
// whole peripheral window (mm/kmap.rs); this is its only driver instance.
static HOST: Mutex<Sdhci<EmmcRegs>> =
    Mutex::new(Sdhci::new(unsafe { EmmcRegs::new(crate::mm::phys_to_virt(bsp::memory_map::EMMC2 as u64)) }, 0));

/// The linear-map address of the host in use (for the interrupt handler);
/// 0 before a card is found.
static ACTIVE_BASE: AtomicUsize = AtomicUsize::new(0);
/// Set by [`mmc_irq`], consumed by the waiter.
static IRQ_SEEN: AtomicBool = AtomicBool::new(false);
/// Where a task waiting for the controller sleeps.
static SD_WAIT: WaitQueueHead = WaitQueueHead::new();

/// The controller's interrupt (Linux: `sdhci_irq`): turn its signals off so
/// the line drops, and wake the waiter, which reads the latched status.
fn mmc_irq(_intid: u32) {
    let base = ACTIVE_BASE.load(Ordering::Acquire);
    if base != 0 {
        // SAFETY: `base` is the mapped SDHCI block probe() found; writing
        // IRPT_EN only masks its signals, which the waiter re-arms under
        // HOST, so this access races with nothing that it could break.
        bsp::emmc::disarm(&unsafe { EmmcRegs::new(base) });
    }
    IRQ_SEEN.store(true, Ordering::Release);
    SD_WAIT.wake_up();
}

/// Time and waiting for the driver: the uptime clock, and sleeps until the
/// controller's interrupt (see the module docs).
struct KernelEnv;

impl SdEnv for KernelEnv {
    fn now_us(&self) -> u64 {
        crate::time::uptime_ns() / 1000
    }
    fn relax(&self) {
        crate::arch::cpu::cpu_relax();
    }
    fn wait_irq(&self, timeout_us: u64) {
        if !can_sleep() || ACTIVE_BASE.load(Ordering::Relaxed) == 0 {
            return self.relax();
        }
        let _wchan = crate::wchan!("mmc_wait");
        let mut entry = WaitQueueEntry::new();
        SD_WAIT.prepare_to_wait(&mut entry, state::TASK_UNINTERRUPTIBLE);
        if !IRQ_SEEN.swap(false, Ordering::AcqRel) {
            // A late interrupt is caught by the next look at the status;
            // the timeout bounds a lost one.
            crate::sched::core::schedule_timeout_prepared(timeout_us.max(1) * 1000);
            IRQ_SEEN.store(false, Ordering::Relaxed);
        }
        SD_WAIT.finish_wait(&mut entry);
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
                ACTIVE_BASE.store(crate::mm::phys_to_virt(base as u64), Ordering::Release);
                let irq = bsp::memory_map::irq::EMMC;
                if let Err(e) = crate::irq::request_irq(irq, mmc_irq, "mmc0") {
                    log::warn!("mmc0: interrupt {irq}: {e:?}; completion is polled");
                }
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
