//! Files and programs. So far the two formats `execve` will read, both
//! pure logic: the initramfs archive (cpio "newc") that holds the programs,
//! and the static AArch64 ELF executables themselves.

pub mod binfmt_elf;
pub mod cpio;
pub mod n_tty;
