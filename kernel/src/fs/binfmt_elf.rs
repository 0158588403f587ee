//! Reading static AArch64 ELF executables for `execve` (Linux:
//! fs/binfmt_elf.c): the header checks, the PT_LOAD segments to map, the
//! entry point and where the program headers will be in memory (AT_PHDR).
//!
//! Only static executables are accepted: a PT_INTERP segment (a dynamic
//! program asking for ld.so) is `ENOEXEC` here. Offsets and sizes are checked
//! against the file, so a damaged file gives an error, never a fault. Pure
//! logic, unit-tested on the host.

use crate::errno::Errno;

const ELFMAG: &[u8; 4] = b"\x7fELF";
const ELFCLASS64: u8 = 2;
const ELFDATA2LSB: u8 = 1;
const EV_CURRENT: u8 = 1;
/// e_type: a fixed-address executable, or a position-independent one.
pub const ET_EXEC: u16 = 2;
pub const ET_DYN: u16 = 3;
/// e_machine of AArch64.
pub const EM_AARCH64: u16 = 183;
const EHDR_SIZE: usize = 64;
const PHDR_SIZE: usize = 56;

/// Program header types.
pub const PT_LOAD: u32 = 1;
pub const PT_INTERP: u32 = 3;
pub const PT_PHDR: u32 = 6;
pub const PT_GNU_STACK: u32 = 0x6474_e551;
/// Segment permission bits (p_flags).
pub const PF_X: u32 = 1;
pub const PF_W: u32 = 2;
pub const PF_R: u32 = 4;

/// Most PT_LOAD segments accepted (static binaries have 2 to 4).
pub const MAX_LOADS: usize = 8;

/// A segment to map: `[vaddr, vaddr + memsz)` with the first `filesz` bytes
/// from the file at `offset`, the rest zero (bss).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Load {
    pub vaddr: u64,
    pub memsz: u64,
    pub offset: u64,
    pub filesz: u64,
    /// PF_R | PF_W | PF_X.
    pub flags: u32,
}

/// What `execve` needs from an executable.
#[derive(Clone, Copy, Debug)]
pub struct Executable {
    pub e_type: u16,
    pub entry: u64,
    pub loads: [Load; MAX_LOADS],
    pub nr_loads: usize,
    /// Program header table: where it is in memory once loaded (AT_PHDR),
    /// the size of one entry (AT_PHENT) and the count (AT_PHNUM).
    pub phdr_vaddr: u64,
    pub phent: u16,
    pub phnum: u16,
    /// PT_GNU_STACK asked for an executable stack.
    pub exec_stack: bool,
}

impl Executable {
    /// The segments to map.
    pub fn loads(&self) -> &[Load] {
        &self.loads[..self.nr_loads]
    }
}

fn u16_at(b: &[u8], off: usize) -> Result<u16, Errno> {
    b.get(off..off + 2).map(|s| u16::from_le_bytes([s[0], s[1]])).ok_or(Errno::ENOEXEC)
}

fn u32_at(b: &[u8], off: usize) -> Result<u32, Errno> {
    b.get(off..off + 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]])).ok_or(Errno::ENOEXEC)
}

fn u64_at(b: &[u8], off: usize) -> Result<u64, Errno> {
    Ok(u32_at(b, off)? as u64 | (u32_at(b, off + 4)? as u64) << 32)
}

/// Parses and checks an executable image (the whole file).
pub fn parse(file: &[u8]) -> Result<Executable, Errno> {
    let ident = file.get(..16).ok_or(Errno::ENOEXEC)?;
    if &ident[..4] != ELFMAG || ident[4] != ELFCLASS64 || ident[5] != ELFDATA2LSB || ident[6] != EV_CURRENT {
        return Err(Errno::ENOEXEC);
    }
    let e_type = u16_at(file, 16)?;
    if (e_type != ET_EXEC && e_type != ET_DYN) || u16_at(file, 18)? != EM_AARCH64 {
        return Err(Errno::ENOEXEC);
    }
    let entry = u64_at(file, 24)?;
    let phoff = u64_at(file, 32)? as usize;
    let phent = u16_at(file, 54)?;
    let phnum = u16_at(file, 56)?;
    if u16_at(file, 52)? as usize != EHDR_SIZE || phent as usize != PHDR_SIZE || phnum == 0 {
        return Err(Errno::ENOEXEC);
    }
    let table_end = phoff.checked_add(phnum as usize * PHDR_SIZE).ok_or(Errno::ENOEXEC)?;
    if table_end > file.len() {
        return Err(Errno::ENOEXEC);
    }
    let mut exe = Executable {
        e_type,
        entry,
        loads: [Load::default(); MAX_LOADS],
        nr_loads: 0,
        phdr_vaddr: 0,
        phent,
        phnum,
        exec_stack: false,
    };
    let mut phdr_segment = None;
    for i in 0..phnum as usize {
        let ph = phoff + i * PHDR_SIZE;
        let p_type = u32_at(file, ph)?;
        let flags = u32_at(file, ph + 4)?;
        let offset = u64_at(file, ph + 8)?;
        let vaddr = u64_at(file, ph + 16)?;
        let filesz = u64_at(file, ph + 32)?;
        let memsz = u64_at(file, ph + 40)?;
        match p_type {
            PT_INTERP => return Err(Errno::ENOEXEC), // dynamic: not supported
            PT_PHDR => phdr_segment = Some(vaddr),
            PT_GNU_STACK => exe.exec_stack = flags & PF_X != 0,
            PT_LOAD => {
                let file_end = offset.checked_add(filesz).ok_or(Errno::ENOEXEC)?;
                if filesz > memsz || file_end > file.len() as u64 || vaddr.checked_add(memsz).is_none() {
                    return Err(Errno::ENOEXEC);
                }
                // Linux requires vaddr and offset to agree modulo the page size.
                if vaddr % 4096 != offset % 4096 {
                    return Err(Errno::ENOEXEC);
                }
                if exe.nr_loads == MAX_LOADS {
                    return Err(Errno::ENOEXEC);
                }
                exe.loads[exe.nr_loads] = Load { vaddr, memsz, offset, filesz, flags };
                exe.nr_loads += 1;
            }
            _ => {}
        }
    }
    if exe.nr_loads == 0 {
        return Err(Errno::ENOEXEC);
    }
    // AT_PHDR: PT_PHDR if present, else the load segment holding the table.
    exe.phdr_vaddr = match phdr_segment {
        Some(v) => v,
        None => exe
            .loads()
            .iter()
            .find(|l| (l.offset..l.offset + l.filesz).contains(&(phoff as u64)))
            .map(|l| l.vaddr + (phoff as u64 - l.offset))
            .unwrap_or(0),
    };
    Ok(exe)
}

#[cfg(test)]
pub mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    /// An ELF file with the given program headers (type, flags, offset,
    /// vaddr, filesz, memsz), padded to `size` bytes.
    pub fn elf(e_type: u16, entry: u64, phdrs: &[(u32, u32, u64, u64, u64, u64)], size: usize) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(b"\x7fELF\x02\x01\x01\x00");
        f.extend_from_slice(&[0; 8]);
        f.extend_from_slice(&e_type.to_le_bytes());
        f.extend_from_slice(&EM_AARCH64.to_le_bytes());
        f.extend_from_slice(&1u32.to_le_bytes());
        f.extend_from_slice(&entry.to_le_bytes());
        f.extend_from_slice(&64u64.to_le_bytes()); // phoff
        f.extend_from_slice(&0u64.to_le_bytes()); // shoff
        f.extend_from_slice(&0u32.to_le_bytes()); // flags
        f.extend_from_slice(&64u16.to_le_bytes()); // ehsize
        f.extend_from_slice(&56u16.to_le_bytes());
        f.extend_from_slice(&(phdrs.len() as u16).to_le_bytes());
        f.extend_from_slice(&[0; 6]); // shentsize, shnum, shstrndx
        for &(t, fl, off, va, fsz, msz) in phdrs {
            f.extend_from_slice(&t.to_le_bytes());
            f.extend_from_slice(&fl.to_le_bytes());
            for v in [off, va, va, fsz, msz, 0x1000] {
                f.extend_from_slice(&v.to_le_bytes());
            }
        }
        f.resize(size.max(f.len()), 0);
        f
    }

    /// A typical static musl executable: text at 0x400000, data+bss after it.
    pub fn static_exe() -> Vec<u8> {
        elf(
            ET_EXEC,
            0x400100,
            &[
                (PT_LOAD, PF_R | PF_X, 0, 0x400000, 0x1800, 0x1800),
                (PT_LOAD, PF_R | PF_W, 0x1800, 0x411800, 0x100, 0x2000),
                (PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0),
            ],
            0x1900,
        )
    }

    #[test]
    fn a_static_executable_gives_its_segments_entry_and_phdr() {
        let exe = parse(&static_exe()).unwrap();
        assert_eq!(exe.entry, 0x400100);
        assert_eq!(exe.loads().len(), 2);
        assert_eq!(exe.loads()[1], Load { vaddr: 0x411800, memsz: 0x2000, offset: 0x1800, filesz: 0x100, flags: 6 });
        assert_eq!(exe.phdr_vaddr, 0x400040, "the table sits in the first segment at file offset 64");
        assert_eq!((exe.phent, exe.phnum), (56, 3));
        assert!(!exe.exec_stack);
    }

    #[test]
    fn dynamic_foreign_and_damaged_files_are_enoexec() {
        let interp = elf(ET_DYN, 0, &[(PT_INTERP, 4, 0x200, 0x200, 20, 20), (PT_LOAD, 5, 0, 0, 0x300, 0x300)], 0x300);
        assert_eq!(parse(&interp).err(), Some(Errno::ENOEXEC), "dynamic executables need ld.so");
        let mut x86 = static_exe();
        x86[18] = 62; // EM_X86_64
        assert_eq!(parse(&x86).err(), Some(Errno::ENOEXEC));
        assert_eq!(parse(b"#!/bin/sh\n").err(), Some(Errno::ENOEXEC));
        let exe = static_exe();
        assert_eq!(parse(&exe[..0x1000]).err(), Some(Errno::ENOEXEC), "a segment past the end of the file");
        let bss_bigger = elf(ET_EXEC, 0, &[(PT_LOAD, 5, 0, 0x400000, 0x200, 0x100)], 0x200);
        assert_eq!(parse(&bss_bigger).err(), Some(Errno::ENOEXEC), "filesz > memsz");
        let misaligned = elf(ET_EXEC, 0, &[(PT_LOAD, 5, 0x10, 0x400000, 0x100, 0x100)], 0x200);
        assert_eq!(parse(&misaligned).err(), Some(Errno::ENOEXEC), "vaddr and offset disagree mod 4096");
        let none = elf(ET_EXEC, 0, &[(PT_GNU_STACK, 6, 0, 0, 0, 0)], 0x100);
        assert_eq!(parse(&none).err(), Some(Errno::ENOEXEC), "nothing to load");
        let wrap = elf(ET_EXEC, 0, &[(PT_LOAD, 5, 0, u64::MAX - 10, 0x10, 0x100)], 0x100);
        assert_eq!(parse(&wrap).err(), Some(Errno::ENOEXEC), "address overflow");
    }

    #[test]
    fn pt_phdr_wins_and_gnu_stack_x_is_seen() {
        let exe = elf(
            ET_DYN,
            0x1000,
            &[(PT_PHDR, 4, 64, 0x40, 168, 168), (PT_LOAD, 5, 0, 0, 0x1000, 0x1000), (PT_GNU_STACK, 7, 0, 0, 0, 0)],
            0x1000,
        );
        let exe = parse(&exe).unwrap();
        assert_eq!(exe.phdr_vaddr, 0x40);
        assert!(exe.exec_stack);
        assert_eq!(exe.e_type, ET_DYN, "static-pie executables are accepted");
    }
}
