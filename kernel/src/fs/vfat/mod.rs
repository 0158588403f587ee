//! vfat (Linux: fs/fat/, fs/vfat/): FAT16 and FAT32 volumes with long
//! names. The on-disk format is read by fat.rs and written by write.rs;
//! inode.rs (on the board) puts a volume behind the VFS.
//!
//! Limits: FAT12 is refused.

pub mod fat;
#[cfg(target_os = "none")]
pub mod inode;
pub mod write;
