//! Block devices (Linux: block/): the [`BlockDevice`] trait a disk driver
//! implements, MBR partitions, and the buffer cache between them and the
//! file systems.
//!
//! On the board (`target_os = "none"`): the SD card (mmc.rs) is registered
//! as `mmcblk0` with one `mmcblk0p<n>` per partition (bdev.rs); each has a
//! node in /dev (major 179, as Linux's mmcblk), `/proc/partitions` lists
//! them, and [`sync_all`] writes every dirty buffer back.

pub mod cache;
pub mod mbr;

#[cfg(target_os = "none")]
pub mod bdev;
#[cfg(target_os = "none")]
pub mod mmc;

use crate::errno::Errno;

/// A disk of 512-byte sectors (Linux: `struct gendisk` with its queue).
/// Transfers are whole sectors within the device; errors are EIO.
pub trait BlockDevice: Send + Sync {
    /// Size in sectors.
    fn nr_sectors(&self) -> u64;
    fn read_sectors(&self, lba: u64, buf: &mut [u8]) -> Result<(), Errno>;
    fn write_sectors(&self, lba: u64, buf: &[u8]) -> Result<(), Errno>;
}

/// Finds the disks (Linux: the driver initcalls before init runs): the SD
/// card, if one is in the slot, becomes `mmcblk0` with its partitions,
/// and its first partition is mounted at /boot.
#[cfg(target_os = "none")]
pub fn init() {
    if let Some(card) = mmc::probe() {
        if let Err(e) = bdev::add_disk("mmcblk0", bdev::MMC_BLOCK_MAJOR, 0, alloc::boxed::Box::new(card)) {
            log::error!("mmcblk0: not registered: {e:?}");
        }
        crate::fs::vfat::inode::automount_boot();
    }
}
