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

/// Auxiliary vector keys (include/uapi/linux/auxvec.h).
pub mod auxv {
    pub const AT_NULL: u64 = 0;
    pub const AT_PHDR: u64 = 3;
    pub const AT_PHENT: u64 = 4;
    pub const AT_PHNUM: u64 = 5;
    pub const AT_PAGESZ: u64 = 6;
    pub const AT_BASE: u64 = 7;
    pub const AT_FLAGS: u64 = 8;
    pub const AT_ENTRY: u64 = 9;
    pub const AT_UID: u64 = 11;
    pub const AT_EUID: u64 = 12;
    pub const AT_GID: u64 = 13;
    pub const AT_EGID: u64 = 14;
    pub const AT_PLATFORM: u64 = 15;
    pub const AT_HWCAP: u64 = 16;
    pub const AT_CLKTCK: u64 = 17;
    pub const AT_SECURE: u64 = 23;
    pub const AT_RANDOM: u64 = 25;
    pub const AT_EXECFN: u64 = 31;
}

/// The platform string arm64 Linux reports in AT_PLATFORM.
pub const ELF_PLATFORM: &[u8] = b"aarch64";
/// Most bytes of argument and environment strings accepted (Linux allows a
/// quarter of the stack limit; 128 KiB is its historical MAX_ARG_PAGES).
pub const MAX_ARG_BYTES: usize = 128 * 1024;

/// The auxiliary vector entries that describe `exe` and the process, in
/// Linux's order; [`create_elf_tables`] adds AT_PLATFORM, AT_RANDOM and
/// AT_EXECFN, whose addresses are on the new stack. `load_bias` is where an
/// ET_DYN image was placed (0 for ET_EXEC); `clock_ticks` is USER_HZ.
pub fn standard_auxv(exe: &Executable, load_bias: u64, hwcap: u64, clock_ticks: u64) -> [(u64, u64); 13] {
    use auxv::*;
    [
        (AT_HWCAP, hwcap),
        (AT_PAGESZ, 4096),
        (AT_CLKTCK, clock_ticks),
        (AT_PHDR, load_bias + exe.phdr_vaddr),
        (AT_PHENT, exe.phent as u64),
        (AT_PHNUM, exe.phnum as u64),
        (AT_BASE, 0),
        (AT_FLAGS, 0),
        (AT_ENTRY, load_bias + exe.entry),
        (AT_UID, 0),
        (AT_EUID, 0),
        (AT_GID, 0),
        (AT_EGID, 0),
    ]
}

/// The top of a new user stack as `execve` lays it out (Linux:
/// `create_elf_tables` and the strings `copy_strings` put above it), ready
/// to be copied to `[sp, top)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackImage {
    /// The initial stack pointer: 16-byte aligned, pointing at argc.
    pub sp: u64,
    /// The bytes from `sp` up to the stack top.
    pub bytes: alloc::vec::Vec<u8>,
}

/// Builds the initial user stack below `top`: from the top down, the file
/// name (AT_EXECFN), the environment and argument strings, the platform
/// string, 16 random bytes (AT_RANDOM); then, 16-byte aligned, argc, the argv
/// pointers, NULL, the envp pointers, NULL, and the auxiliary vector (`auxv`
/// plus AT_PLATFORM, AT_RANDOM, AT_EXECFN, AT_SECURE = 0, AT_NULL).
/// `E2BIG` when the strings exceed [`MAX_ARG_BYTES`].
pub fn create_elf_tables(
    top: u64,
    filename: &[u8],
    argv: &[&[u8]],
    envp: &[&[u8]],
    auxv_in: &[(u64, u64)],
    random: [u8; 16],
) -> Result<StackImage, Errno> {
    use alloc::vec::Vec;
    let strings: usize = argv.iter().chain(envp).map(|s| s.len() + 1).sum::<usize>() + filename.len() + 1;
    if strings > MAX_ARG_BYTES {
        return Err(Errno::E2BIG);
    }
    // The strings area, bottom-up as Linux leaves it: the random bytes, the
    // platform, argv[0..], envp[0..], and the file name ending at `top`.
    let pieces: Vec<(&[u8], bool)> = [(&random[..], false), (ELF_PLATFORM, true)]
        .into_iter()
        .chain(argv.iter().chain(envp).map(|s| (*s, true)))
        .chain([(filename, true)])
        .collect();
    let area_len: usize = pieces.iter().map(|(b, nul)| b.len() + *nul as usize).sum();
    let mut area = Vec::with_capacity(area_len);
    let mut addrs = Vec::with_capacity(pieces.len());
    let base = top - area_len as u64;
    for (bytes, nul) in &pieces {
        addrs.push(base + area.len() as u64);
        area.extend_from_slice(bytes);
        if *nul {
            area.push(0);
        }
    }
    let (random_at, platform) = (addrs[0], addrs[1]);
    let arg_ptrs = &addrs[2..2 + argv.len()];
    let env_ptrs = &addrs[2 + argv.len()..2 + argv.len() + envp.len()];
    let execfn = addrs[addrs.len() - 1];

    // The tables: argc, argv[], NULL, envp[], NULL, auxv pairs.
    let mut table: Vec<u64> = Vec::new();
    table.push(argv.len() as u64);
    table.extend(arg_ptrs);
    table.push(0);
    table.extend(env_ptrs);
    table.push(0);
    for &(k, v) in auxv_in {
        table.extend([k, v]);
    }
    for (k, v) in [
        (auxv::AT_PLATFORM, platform),
        (auxv::AT_RANDOM, random_at),
        (auxv::AT_EXECFN, execfn),
        (auxv::AT_SECURE, 0),
        (auxv::AT_NULL, 0),
    ] {
        table.extend([k, v]);
    }
    let strings_bottom = top - area.len() as u64;
    let table_bytes = table.len() as u64 * 8;
    let sp = (strings_bottom - table_bytes) & !15;
    let mut bytes = Vec::with_capacity((top - sp) as usize);
    for word in &table {
        bytes.extend_from_slice(&word.to_le_bytes());
    }
    bytes.resize((strings_bottom - sp) as usize, 0); // alignment gap
    bytes.extend_from_slice(&area);
    Ok(StackImage { sp, bytes })
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

    /// Reads the NUL-terminated string at user address `addr` in `img`.
    fn string_at(img: &StackImage, top: u64, addr: u64) -> Vec<u8> {
        assert!(addr >= img.sp && addr < top, "{addr:#x} outside the stack");
        let off = (addr - img.sp) as usize;
        img.bytes[off..].iter().take_while(|&&b| b != 0).copied().collect()
    }

    fn word(img: &StackImage, index: usize) -> u64 {
        u64::from_le_bytes(img.bytes[index * 8..index * 8 + 8].try_into().unwrap())
    }

    #[test]
    fn the_initial_stack_is_laid_out_as_linux_does() {
        let top = 0x0000_ffff_ffff_f000;
        let exe = parse(&static_exe()).unwrap();
        let aux = standard_auxv(&exe, 0, 0, 100);
        let random = [7u8; 16];
        let argv: [&[u8]; 2] = [b"/bin/echo", b"hi"];
        let envp: [&[u8]; 1] = [b"HOME=/"];
        let img = create_elf_tables(top, b"/bin/echo", &argv, &envp, &aux, random).unwrap();
        assert_eq!(img.sp % 16, 0, "SP is 16-byte aligned at argc");
        assert_eq!(img.sp + img.bytes.len() as u64, top);
        assert_eq!(word(&img, 0), 2, "argc");
        assert_eq!(string_at(&img, top, word(&img, 1)), b"/bin/echo");
        assert_eq!(string_at(&img, top, word(&img, 2)), b"hi");
        assert_eq!(word(&img, 3), 0, "argv ends with NULL");
        assert_eq!(string_at(&img, top, word(&img, 4)), b"HOME=/");
        assert_eq!(word(&img, 5), 0, "envp ends with NULL");
        // The auxiliary vector, as key/value pairs up to AT_NULL.
        let mut aux_read = std::collections::BTreeMap::new();
        let mut i = 6;
        loop {
            let (k, v) = (word(&img, i), word(&img, i + 1));
            if k == auxv::AT_NULL {
                break;
            }
            aux_read.insert(k, v);
            i += 2;
        }
        assert_eq!(aux_read[&auxv::AT_ENTRY], 0x400100);
        assert_eq!(aux_read[&auxv::AT_PHDR], 0x400040);
        assert_eq!(aux_read[&auxv::AT_PHNUM], 3);
        assert_eq!(aux_read[&auxv::AT_PAGESZ], 4096);
        assert_eq!(aux_read[&auxv::AT_SECURE], 0);
        assert_eq!(string_at(&img, top, aux_read[&auxv::AT_PLATFORM]), b"aarch64");
        assert_eq!(string_at(&img, top, aux_read[&auxv::AT_EXECFN]), b"/bin/echo");
        let r = (aux_read[&auxv::AT_RANDOM] - img.sp) as usize;
        assert_eq!(&img.bytes[r..r + 16], &random);
        // Linux's order, bottom-up: random bytes, platform, argv, envp, file name.
        let (a0, a1, e0) = (word(&img, 1), word(&img, 2), word(&img, 4));
        assert!(aux_read[&auxv::AT_RANDOM] < aux_read[&auxv::AT_PLATFORM]);
        assert!(aux_read[&auxv::AT_PLATFORM] < a0 && a0 < a1 && a1 < e0 && e0 < aux_read[&auxv::AT_EXECFN]);
        // The file name is the topmost string.
        assert_eq!(aux_read[&auxv::AT_EXECFN], top - b"/bin/echo\0".len() as u64);
    }

    #[test]
    fn huge_argument_lists_are_e2big() {
        let big = std::vec![b'x'; MAX_ARG_BYTES];
        let argv: [&[u8]; 1] = [&big];
        assert_eq!(create_elf_tables(0x10_0000, b"/x", &argv, &[], &[], [0; 16]).err(), Some(Errno::E2BIG));
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
