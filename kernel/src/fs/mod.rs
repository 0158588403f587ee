//! Files and programs (Linux: fs/): the initramfs the programs come from,
//! executable loading, open files and fd tables, pipes, the console tty and
//! /proc, and path names.

pub mod binfmt_elf;
pub mod cpio;
pub mod n_tty;
pub mod path;

#[cfg(target_os = "none")]
pub mod exec;
#[cfg(target_os = "none")]
pub mod file;
#[cfg(target_os = "none")]
pub mod pipe;
#[cfg(target_os = "none")]
pub mod procfs;
#[cfg(target_os = "none")]
pub mod ramfs;
#[cfg(target_os = "none")]
pub mod tty;
#[cfg(target_os = "none")]
pub mod vfs;
