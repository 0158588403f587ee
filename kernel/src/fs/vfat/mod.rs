//! vfat (Linux: fs/fat/, fs/vfat/): FAT16 and FAT32 volumes with long
//! names. The on-disk format is read by fat.rs; inode.rs (on the board)
//! puts a volume behind the VFS.
//!
//! Limits: mounts are read-only (EROFS for anything that would write);
//! FAT12 is refused.

pub mod fat;
#[cfg(target_os = "none")]
pub mod inode;
