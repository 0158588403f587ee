//! Files and programs (Linux: fs/): the VFS (inodes and super blocks,
//! mounts, the path walk, operations by name), tmpfs (the root, with the
//! initramfs unpacked into it), /dev and /proc, executable loading, open
//! files and fd tables, pipes and the console tty.

pub mod binfmt_elf;
pub mod binfmt_script;
pub mod cpio;
pub mod n_tty;
pub mod path;
pub mod vfat;

#[cfg(target_os = "none")]
pub mod dcache;
#[cfg(target_os = "none")]
pub mod devfs;
#[cfg(target_os = "none")]
pub mod exec;
#[cfg(target_os = "none")]
pub mod file;
#[cfg(target_os = "none")]
pub mod inode;
#[cfg(target_os = "none")]
pub mod locks;
#[cfg(target_os = "none")]
pub mod namei;
#[cfg(target_os = "none")]
pub mod namespace;
#[cfg(target_os = "none")]
pub mod pipe;
#[cfg(target_os = "none")]
pub mod proc_sys;
#[cfg(target_os = "none")]
pub mod procfs;
#[cfg(target_os = "none")]
pub mod signalfd;
#[cfg(target_os = "none")]
pub mod tmpfs;
#[cfg(target_os = "none")]
pub mod tty;
#[cfg(target_os = "none")]
pub mod vfs;
