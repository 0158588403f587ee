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

#[inline]
fn u16_at(b: &[u8], off: usize) -> Result<u16, Errno> {
    b.get(off..off + 2).map(|s| u16::from_le_bytes([s[0], s[1]])).ok_or(Errno::ENOEXEC)
}

#[inline]
fn u32_at(b: &[u8], off: usize) -> Result<u32, Errno> {
    b.get(off..off + 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]])).ok_or(Errno::ENOEXEC)
}

#[inline]
fn u64_at(b: &[u8], off: usize) -> Result<u64, Errno> {
    Ok(u32_at(b, off)? as u64 | (u32_at(b, off + 4)? as u64) << 32)
}

/// Parses and checks an executable image (the whole file).
pub fn parse(file: &[u8]) -> Result<Executable, Errno> {
    parse_file(file.len() as u64, |off, buf| {
        let start = usize::try_from(off).map_err(|_| Errno::ENOEXEC)?;
        let bytes = start.checked_add(buf.len()).and_then(|end| file.get(start..end)).ok_or(Errno::ENOEXEC)?;
        buf.copy_from_slice(bytes);
        Ok(())
    })
}

/// Largest program header table read (Linux: `elf_read_phdrs` refuses one
/// over 64 KiB).
const MAX_PHDR_TABLE: usize = 65536;

/// Parses and checks an executable of `size` bytes that `read(offset,
/// buf)` fills `buf` from, reading only the ELF header and the program
/// header table (Linux: `load_elf_binary` reads the same two with
/// `elf_read`), so a program in the page cache is never copied whole.
pub fn parse_file<R>(size: u64, mut read: R) -> Result<Executable, Errno>
where
    R: FnMut(u64, &mut [u8]) -> Result<(), Errno>,
{
    if size < EHDR_SIZE as u64 {
        return Err(Errno::ENOEXEC);
    }
    let mut header = [0u8; EHDR_SIZE];
    read(0, &mut header)?;
    let head = &header[..];
    let ident = &head[..16];
    if &ident[..4] != ELFMAG || ident[4] != ELFCLASS64 || ident[5] != ELFDATA2LSB || ident[6] != EV_CURRENT {
        return Err(Errno::ENOEXEC);
    }
    let e_type = u16_at(head, 16)?;
    if (e_type != ET_EXEC && e_type != ET_DYN) || u16_at(head, 18)? != EM_AARCH64 {
        return Err(Errno::ENOEXEC);
    }
    let entry = u64_at(head, 24)?;
    let phoff = u64_at(head, 32)?;
    let phent = u16_at(head, 54)?;
    let phnum = u16_at(head, 56)?;
    if u16_at(head, 52)? as usize != EHDR_SIZE || phent as usize != PHDR_SIZE || phnum == 0 {
        return Err(Errno::ENOEXEC);
    }
    let table_len = phnum as usize * PHDR_SIZE;
    let table_end = phoff.checked_add(table_len as u64).ok_or(Errno::ENOEXEC)?;
    if table_end > size || table_len > MAX_PHDR_TABLE {
        return Err(Errno::ENOEXEC);
    }
    // A usual table (a static program has four to eight headers) is read
    // into a stack buffer; a longer one into an allocation.
    let mut small = [0u8; 8 * PHDR_SIZE];
    let mut large = alloc::vec::Vec::new();
    let table: &mut [u8] = if table_len <= small.len() {
        &mut small[..table_len]
    } else {
        large.try_reserve_exact(table_len).map_err(|_| Errno::ENOMEM)?;
        large.resize(table_len, 0);
        &mut large
    };
    read(phoff, table)?;
    let table = &*table;
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
        let ph = i * PHDR_SIZE;
        let p_type = u32_at(table, ph)?;
        let flags = u32_at(table, ph + 4)?;
        let offset = u64_at(table, ph + 8)?;
        let vaddr = u64_at(table, ph + 16)?;
        let filesz = u64_at(table, ph + 32)?;
        let memsz = u64_at(table, ph + 40)?;
        match p_type {
            PT_INTERP => return Err(Errno::ENOEXEC), // dynamic: not supported
            PT_PHDR => phdr_segment = Some(vaddr),
            PT_GNU_STACK => exe.exec_stack = flags & PF_X != 0,
            PT_LOAD => {
                // Where the segment lands in memory is checked by
                // `segment_pages`, once the load bias is known.
                let file_end = offset.checked_add(filesz).ok_or(Errno::ENOEXEC)?;
                if file_end > size {
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
            .find(|l| (l.offset..l.offset + l.filesz).contains(&phoff))
            .map(|l| l.vaddr.wrapping_add(phoff - l.offset))
            .unwrap_or(0),
    };
    Ok(exe)
}

/// The lowest address a program may map (Linux: `vm.mmap_min_addr`, its
/// CONFIG_DEFAULT_MMAP_MIN_ADDR), so a NULL pointer always faults.
pub const MMAP_MIN_ADDR: u64 = 4096;

/// Where a position-independent (ET_DYN) image goes: its first segment's
/// page at `base` (Linux: `load_bias = ELF_PAGESTART(ELF_ET_DYN_BASE -
/// vaddr)`), whatever address the file gives it. The arithmetic wraps, as
/// Linux's does; every segment's address is then checked by
/// [`segment_pages`]. ET_EXEC images are not moved (bias 0).
pub fn load_bias(exe: &Executable, base: u64) -> u64 {
    match exe.loads().first() {
        Some(first) if exe.e_type == ET_DYN => base.wrapping_sub(first.vaddr) & !(PAGE - 1),
        _ => 0,
    }
}

const PAGE: u64 = 4096;

/// The page-aligned range `[start, end)` that `load` occupies once moved
/// by `bias`, checked with Linux's errors for what `load_elf_binary`
/// refuses: `filesz > memsz` or a size that runs past the user half is
/// EINVAL (its "set_brk can never work" check), an address below
/// [`MMAP_MIN_ADDR`] EPERM (its `mmap_min_addr` check), and an area that
/// does not fit below `limit` (the kernel half, or the stack area above
/// `limit`) ENOMEM (its `get_unmapped_area`). Linux finds these after the
/// point of no return and kills the process with SIGSEGV; this kernel
/// builds the new address space first, so `execve` returns the error.
pub fn segment_pages(load: &Load, bias: u64, task_size: u64, limit: u64) -> Result<(u64, u64), Errno> {
    if load.filesz > load.memsz || load.memsz > task_size {
        return Err(Errno::EINVAL);
    }
    let addr = bias.wrapping_add(load.vaddr);
    let end = addr.checked_add(load.memsz).ok_or(Errno::EINVAL)?;
    let start = addr & !(PAGE - 1);
    let end = end.checked_next_multiple_of(PAGE).ok_or(Errno::EINVAL)?;
    if start < MMAP_MIN_ADDR {
        return Err(Errno::EPERM);
    }
    if end > limit {
        return Err(Errno::ENOMEM);
    }
    Ok((start, end))
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
/// [`ELF_PLATFORM`] with its NUL, as it goes on the stack.
const ELF_PLATFORM_Z: &[u8] = b"aarch64\0";
/// Longest single argument or environment string, its NUL included
/// (Linux: MAX_ARG_STRLEN, 32 pages).
pub const MAX_ARG_STRLEN: usize = 32 * 4096;
/// Linux's `_STK_LIM` (the default stack limit) and `ARG_MAX` (32 pages,
/// the argument space even a small stack limit allows).
const STK_LIM: u64 = 8 << 20;
const ARG_MAX: u64 = 32 * 4096;

/// How many entries [`standard_auxv`] gives.
pub const NR_STANDARD_AUXV: usize = 13;

/// The auxiliary vector entries that describe `exe` and the process, in
/// Linux's order; [`create_elf_tables`] adds AT_PLATFORM, AT_RANDOM and
/// AT_EXECFN, whose addresses are on the new stack. `load_bias` is where an
/// ET_DYN image was placed (0 for ET_EXEC); `clock_ticks` is USER_HZ.
pub fn standard_auxv(exe: &Executable, load_bias: u64, hwcap: u64, clock_ticks: u64) -> [(u64, u64); NR_STANDARD_AUXV] {
    use auxv::*;
    [
        (AT_HWCAP, hwcap),
        (AT_PAGESZ, 4096),
        (AT_CLKTCK, clock_ticks),
        (AT_PHDR, load_bias.wrapping_add(exe.phdr_vaddr)),
        (AT_PHENT, exe.phent as u64),
        (AT_PHNUM, exe.phnum as u64),
        (AT_BASE, 0),
        (AT_FLAGS, 0),
        (AT_ENTRY, load_bias.wrapping_add(exe.entry)),
        (AT_UID, 0),
        (AT_EUID, 0),
        (AT_GID, 0),
        (AT_EGID, 0),
    ]
}

/// The bytes the strings (arguments, environment and file name, NULs
/// included) may take for `argc` arguments and `envc` environment strings
/// under a stack limit of `rlimit_stack` (Linux: `bprm_stack_limits`): a
/// quarter of the limit, at most 3/4 of `_STK_LIM`, at least `ARG_MAX`, less
/// the pointers the tables will hold. E2BIG when the pointers alone do not fit.
pub fn arg_space(rlimit_stack: u64, argc: usize, envc: usize) -> Result<u64, Errno> {
    let limit = (STK_LIM / 4 * 3).min(rlimit_stack / 4).max(ARG_MAX);
    let ptrs = (argc.max(1) as u64).saturating_add(envc as u64).saturating_mul(8);
    if limit <= ptrs {
        return Err(Errno::E2BIG);
    }
    Ok(limit - ptrs)
}

/// Where `execve` reads argument or environment strings from (Linux:
/// `struct user_arg_ptr`): a user array of pointers, or kernel strings for
/// the kernel's own exec of init.
pub trait ArgSource {
    /// How many strings there are; E2BIG once there are more than `max`
    /// (Linux: `count`).
    fn count(&self, max: usize) -> Result<usize, Errno>;
    /// The length of string `i` with its NUL; E2BIG when that is more than
    /// `max` (Linux: `strnlen_user` in `copy_strings`).
    fn len(&self, i: usize, max: usize) -> Result<usize, Errno>;
    /// Copies bytes of string `i`, from `offset` on, into `buf`.
    fn read(&self, i: usize, offset: usize, buf: &mut [u8]) -> Result<(), Errno>;
    /// Copies string `i` with its NUL to `at` in `sink`, taking `room`
    /// bytes at most; returns its length with the NUL. EFAULT when it no
    /// longer fits (it grew since it was measured).
    fn copy_to<S: StackSink + ?Sized>(&self, i: usize, sink: &mut S, at: u64, room: usize) -> Result<usize, Errno> {
        let len = self.len(i, MAX_ARG_STRLEN)?;
        if len > room {
            return Err(Errno::EFAULT);
        }
        copy_string(sink, self, i, len, at)?;
        Ok(len)
    }
}

/// Kernel strings (without their NULs).
impl ArgSource for [&[u8]] {
    fn count(&self, max: usize) -> Result<usize, Errno> {
        if self.len() > max {
            return Err(Errno::E2BIG);
        }
        Ok(self.len())
    }

    fn len(&self, i: usize, max: usize) -> Result<usize, Errno> {
        let len = self[i].len() + 1;
        if len > max {
            return Err(Errno::E2BIG);
        }
        Ok(len)
    }

    fn read(&self, i: usize, offset: usize, buf: &mut [u8]) -> Result<(), Errno> {
        let s = self[i];
        for (k, b) in buf.iter_mut().enumerate() {
            *b = s.get(offset + k).copied().unwrap_or(0);
        }
        Ok(())
    }
}

/// The new program's stack, written to as exec builds it (the new address
/// space in the kernel, a buffer in the host tests).
pub trait StackSink {
    /// The bytes of the stack from `addr` on, to be written in place: `len`
    /// of them, or fewer where `addr`'s page ends first (at least one).
    fn window(&mut self, addr: u64, len: usize) -> Result<&mut [u8], Errno>;

    /// Writes `bytes` at `addr`.
    fn write(&mut self, addr: u64, bytes: &[u8]) -> Result<(), Errno> {
        let mut done = 0;
        while done < bytes.len() {
            let w = self.window(addr + done as u64, bytes.len() - done)?;
            let n = w.len();
            w.copy_from_slice(&bytes[done..done + n]);
            done += n;
        }
        Ok(())
    }

    /// Writes the word `v` at the 8-byte aligned `addr` (within one page).
    fn write_u64(&mut self, addr: u64, v: u64) -> Result<(), Errno> {
        let w = self.window(addr, 8)?;
        match w.get_mut(..8) {
            Some(w) => w.copy_from_slice(&v.to_le_bytes()),
            None => return self.write(addr, &v.to_le_bytes()),
        }
        Ok(())
    }
}

/// Page size: a [`StackSink`] window never crosses a page boundary.
pub const STACK_PAGE: u64 = 4096;

/// Where `copy_strings` put everything (Linux: `bprm->p`, `mm->arg_start`
/// and friends); the tables go between `sp` and the strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StackLayout {
    /// The initial stack pointer: 16-byte aligned, pointing at argc.
    pub sp: u64,
    /// argc as the program sees it (Linux makes an empty argv `[""]`).
    pub argc: usize,
    pub envc: usize,
    /// AT_RANDOM's 16 bytes and the AT_PLATFORM string.
    pub random: u64,
    pub platform: u64,
    pub arg_start: u64,
    pub arg_end: u64,
    pub env_start: u64,
    pub env_end: u64,
    /// The file name, the topmost string (AT_EXECFN).
    pub execfn: u64,
}

/// Words of the tables above `sp`: argc, argv[] and NULL, envp[] and NULL,
/// the auxiliary vector (`nr_auxv` pairs from [`standard_auxv`] plus the
/// five [`create_elf_tables`] adds).
fn table_words(argc: usize, envc: usize, nr_auxv: usize) -> u64 {
    (1 + argc + 1 + envc + 1 + 2 * (nr_auxv + 5)) as u64
}

/// Writes words from `addr` on, straight into the stack (the words are
/// 8-byte aligned, so none straddles a page).
struct WordWriter<'s, S: StackSink + ?Sized> {
    sink: &'s mut S,
    addr: u64,
}

impl<'s, S: StackSink + ?Sized> WordWriter<'s, S> {
    fn new(sink: &'s mut S, addr: u64) -> Self {
        WordWriter { sink, addr }
    }

    #[inline]
    fn push(&mut self, word: u64) -> Result<(), Errno> {
        self.sink.write_u64(self.addr, word)?;
        self.addr += 8;
        Ok(())
    }
}

/// Copies string `i` of `src`, `len` bytes with its NUL, to `at`, straight
/// into the stack a page at a time; the last byte is written as NUL
/// whatever the source holds by now.
fn copy_string<S: StackSink + ?Sized, A: ArgSource + ?Sized>(
    sink: &mut S,
    src: &A,
    i: usize,
    len: usize,
    at: u64,
) -> Result<(), Errno> {
    let mut off = 0;
    while off < len {
        let w = sink.window(at + off as u64, len - off)?;
        let n = w.len();
        src.read(i, off, w)?;
        off += n;
        if off == len {
            w[n - 1] = 0;
        }
    }
    Ok(())
}

/// Copies the argument and environment strings and the file name to the
/// top of the new stack below `top`, and the argv and envp pointers into
/// the table area below them (Linux: `copy_strings`, `copy_string_kernel`,
/// with `bprm_stack_limits` and the pointer half of `create_elf_tables`).
///
/// Nothing is gathered in kernel memory: each string is measured, then
/// copied from its source straight into the new stack's pages, so two
/// programs passing 32,000 arguments each cost the kernel no more heap than
/// one passing none. Errors: E2BIG for more than the stack limit allows
/// ([`arg_space`]) or a string longer than [`MAX_ARG_STRLEN`]; the source's
/// EFAULT. The strings are read twice (measured, then copied up to their
/// NUL); if one grows between the two (another thread writing it) so that
/// the strings no longer fit where they were measured to go, EFAULT, where
/// Linux, which copies the measured length, keeps what fits. With no arguments at all the
/// program gets one empty string as argv[0], as Linux gives it.
#[allow(clippy::too_many_arguments)]
pub fn copy_strings<S: StackSink + ?Sized, A: ArgSource + ?Sized, E: ArgSource + ?Sized>(
    sink: &mut S,
    top: u64,
    filename: &[u8],
    argv: &A,
    envp: &E,
    rlimit_stack: u64,
    nr_auxv: usize,
) -> Result<StackLayout, Errno> {
    // More strings than the limit has room for pointers is E2BIG already.
    let most = (STK_LIM / 4 * 3).min(rlimit_stack / 4).max(ARG_MAX) as usize / 8;
    let argc = argv.count(most)?;
    let envc = envp.count(most)?;
    let space = arg_space(rlimit_stack, argc, envc)?;
    let fname_len = filename.len() as u64 + 1;
    if fname_len > MAX_ARG_STRLEN as u64 {
        return Err(Errno::E2BIG);
    }
    let mut total = fname_len;
    let mut measure = |len: usize| -> Result<u64, Errno> {
        total += len as u64;
        if total > space {
            return Err(Errno::E2BIG);
        }
        Ok(len as u64)
    };
    let mut args_len = 0;
    for i in 0..argc {
        args_len += measure(argv.len(i, MAX_ARG_STRLEN)?)?;
    }
    if argc == 0 {
        args_len = measure(1)?; // argv[0] = ""
    }
    let mut envs_len = 0;
    for i in 0..envc {
        envs_len += measure(envp.len(i, MAX_ARG_STRLEN)?)?;
    }
    let argc_seen = argc.max(1);
    let strings = 16 + ELF_PLATFORM.len() as u64 + 1 + args_len + envs_len + fname_len;
    let bottom = top - strings;
    let sp = (bottom - table_words(argc_seen, envc, nr_auxv) * 8) & !15;
    let layout = StackLayout {
        sp,
        argc: argc_seen,
        envc,
        random: bottom,
        platform: bottom + 16,
        arg_start: bottom + 16 + ELF_PLATFORM.len() as u64 + 1,
        arg_end: bottom + 16 + ELF_PLATFORM.len() as u64 + 1 + args_len,
        env_start: bottom + 16 + ELF_PLATFORM.len() as u64 + 1 + args_len,
        env_end: top - fname_len,
        execfn: top - fname_len,
    };

    // argv: strings bottom-up from arg_start, pointers from sp + 8.
    let mut ptrs = WordWriter::new(sink, sp + 8);
    let mut at = layout.arg_start;
    for i in 0..argc {
        let len = argv.copy_to(i, ptrs.sink, at, (layout.arg_end - at) as usize)?;
        ptrs.push(at)?;
        at += len as u64;
    }
    if argc == 0 {
        ptrs.sink.write(at, &[0])?;
        ptrs.push(at)?;
    }
    ptrs.push(0)?;
    let mut at = layout.env_start;
    for i in 0..envc {
        let len = envp.copy_to(i, ptrs.sink, at, (layout.env_end - at) as usize)?;
        ptrs.push(at)?;
        at += len as u64;
    }
    ptrs.push(0)?;
    sink.write(layout.execfn, filename)?;
    sink.write(top - 1, &[0])?;
    Ok(layout)
}

/// Completes the initial stack that [`copy_strings`] began (Linux:
/// `create_elf_tables`): argc, the auxiliary vector (`auxv` plus
/// AT_PLATFORM, AT_RANDOM, AT_EXECFN, AT_SECURE = 0, AT_NULL), the random
/// bytes and the platform string.
pub fn create_elf_tables<S: StackSink + ?Sized>(
    sink: &mut S,
    layout: &StackLayout,
    auxv_in: &[(u64, u64)],
    random: [u8; 16],
) -> Result<(), Errno> {
    sink.write(layout.random, &random)?;
    sink.write(layout.platform, ELF_PLATFORM_Z)?;
    sink.write_u64(layout.sp, layout.argc as u64)?;
    let auxv_at = layout.sp + 8 * (1 + layout.argc as u64 + 1 + layout.envc as u64 + 1);
    let mut w = WordWriter::new(sink, auxv_at);
    for &(k, v) in auxv_in {
        w.push(k)?;
        w.push(v)?;
    }
    for (k, v) in [
        (auxv::AT_PLATFORM, layout.platform),
        (auxv::AT_RANDOM, layout.random),
        (auxv::AT_EXECFN, layout.execfn),
        (auxv::AT_SECURE, 0),
        (auxv::AT_NULL, 0),
    ] {
        w.push(k)?;
        w.push(v)?;
    }
    Ok(())
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
        let misaligned = elf(ET_EXEC, 0, &[(PT_LOAD, 5, 0x10, 0x400000, 0x100, 0x100)], 0x200);
        assert_eq!(parse(&misaligned).err(), Some(Errno::ENOEXEC), "vaddr and offset disagree mod 4096");
        let none = elf(ET_EXEC, 0, &[(PT_GNU_STACK, 6, 0, 0, 0, 0)], 0x100);
        assert_eq!(parse(&none).err(), Some(Errno::ENOEXEC), "nothing to load");
    }

    const TASK: u64 = 1 << 48;
    const LIMIT: u64 = TASK - (9 << 20);

    fn pages(vaddr: u64, filesz: u64, memsz: u64, bias: u64) -> Result<(u64, u64), Errno> {
        segment_pages(&Load { vaddr, memsz, offset: 0, filesz, flags: PF_R }, bias, TASK, LIMIT)
    }

    #[test]
    fn segments_are_checked_with_linux_errors_and_no_arithmetic_wraps() {
        assert_eq!(pages(0x400010, 0x10, 0x2000, 0), Ok((0x400000, 0x403000)));
        assert_eq!(pages(0x400000, 0x200, 0x100, 0), Err(Errno::EINVAL), "filesz > memsz");
        assert_eq!(pages(0x400000, 0x10, u64::MAX - 0x1000, 0), Err(Errno::EINVAL), "memsz near 2^64");
        assert_eq!(pages(0x400000, 0x10, u64::MAX, 0), Err(Errno::EINVAL));
        assert_eq!(pages(u64::MAX - 10, 0x10, 0x100, 0), Err(Errno::EINVAL), "end past 2^64");
        assert_eq!(pages(0x400000, 0, TASK, 0), Err(Errno::ENOMEM), "runs into the stack area");
        assert_eq!(pages(0, 0x10, 0x10, 0), Err(Errno::EPERM), "page 0 (mmap_min_addr)");
        assert_eq!(pages(0xfff, 0x10, 0x10, 0), Err(Errno::EPERM));
        assert_eq!(pages(LIMIT - 0x1000, 0x10, 0x2000, 0), Err(Errno::ENOMEM), "over the stack");
        assert_eq!(pages(0xffff_0000_0000_0000, 0x10, 0x10, 0), Err(Errno::ENOMEM), "kernel half");
        assert_eq!(pages(0x1000, 0, 0, 0), Ok((0x1000, 0x1000)), "an empty segment maps nothing");
        // A moved segment wraps as Linux's arithmetic does and is then checked.
        assert_eq!(pages(0xffff_ffff_ffff_f000, 0x10, 0x10, 0x2000), Ok((0x1000, 0x2000)));
        assert_eq!(pages(0xffff_ffff_ffff_f000, 0x10, 0x10, 0x1000), Err(Errno::EPERM));
    }

    #[test]
    fn a_position_independent_image_goes_at_the_base_whatever_its_vaddr() {
        let high = elf(ET_DYN, 0xffff_ffff_ffff_0100, &[(PT_LOAD, 5, 0, 0xffff_ffff_ffff_0000, 0x200, 0x200)], 0x200);
        let exe = parse(&high).unwrap();
        let bias = load_bias(&exe, 0xaaaa_aaaa_0000);
        assert_eq!(bias.wrapping_add(exe.loads()[0].vaddr), 0xaaaa_aaaa_0000);
        assert_eq!(bias.wrapping_add(exe.entry), 0xaaaa_aaaa_0100);
        assert_eq!(pages(exe.loads()[0].vaddr, 0x200, 0x200, bias), Ok((0xaaaa_aaaa_0000, 0xaaaa_aaaa_1000)));
        let fixed = parse(&static_exe()).unwrap();
        assert_eq!(load_bias(&fixed, 0xaaaa_aaaa_0000), 0, "ET_EXEC stays where it is linked");
    }

    /// A stack in a buffer: `[top - len, top)`.
    struct Stack {
        top: u64,
        bytes: Vec<u8>,
        writes: usize,
        largest: usize,
    }

    impl Stack {
        fn new(top: u64, len: usize) -> Self {
            Stack { top, bytes: std::vec![0xee; len], writes: 0, largest: 0 }
        }
        fn base(&self) -> u64 {
            self.top - self.bytes.len() as u64
        }
        fn word(&self, addr: u64) -> u64 {
            let off = (addr - self.base()) as usize;
            u64::from_le_bytes(self.bytes[off..off + 8].try_into().unwrap())
        }
        fn string(&self, addr: u64) -> Vec<u8> {
            assert!(addr >= self.base() && addr < self.top, "{addr:#x} outside the stack");
            let off = (addr - self.base()) as usize;
            self.bytes[off..].iter().take_while(|&&b| b != 0).copied().collect()
        }
    }

    impl StackSink for Stack {
        fn window(&mut self, addr: u64, len: usize) -> Result<&mut [u8], Errno> {
            let len = len.min((STACK_PAGE - addr % STACK_PAGE) as usize);
            assert!(len > 0 && addr >= self.base() && addr + len as u64 <= self.top, "{addr:#x} outside the stack");
            let off = (addr - self.base()) as usize;
            self.writes += 1;
            self.largest = self.largest.max(len);
            Ok(&mut self.bytes[off..off + len])
        }
    }

    const STACK_LIMIT: u64 = 8 << 20;

    fn build(top: u64, argv: &[&[u8]], envp: &[&[u8]], aux: &[(u64, u64)], random: [u8; 16]) -> (Stack, StackLayout) {
        let mut st = Stack::new(top, 4 << 20);
        let layout = copy_strings(&mut st, top, b"/bin/echo", argv, envp, STACK_LIMIT, aux.len()).unwrap();
        create_elf_tables(&mut st, &layout, aux, random).unwrap();
        (st, layout)
    }

    #[test]
    fn the_initial_stack_is_laid_out_as_linux_does() {
        let top = 0x0000_ffff_ffff_f000;
        let exe = parse(&static_exe()).unwrap();
        let aux = standard_auxv(&exe, 0, 0, 100);
        let random = [7u8; 16];
        let argv: [&[u8]; 2] = [b"/bin/echo", b"hi"];
        let envp: [&[u8]; 1] = [b"HOME=/"];
        let (st, layout) = build(top, &argv, &envp, &aux, random);
        let sp = layout.sp;
        let word = |i: u64| st.word(sp + 8 * i);
        assert_eq!(sp % 16, 0, "SP is 16-byte aligned at argc");
        assert_eq!(word(0), 2, "argc");
        assert_eq!(st.string(word(1)), b"/bin/echo");
        assert_eq!(st.string(word(2)), b"hi");
        assert_eq!(word(3), 0, "argv ends with NULL");
        assert_eq!(st.string(word(4)), b"HOME=/");
        assert_eq!(word(5), 0, "envp ends with NULL");
        // The auxiliary vector, as key/value pairs up to AT_NULL.
        let mut aux_read = std::collections::BTreeMap::new();
        let mut i = 6;
        loop {
            let (k, v) = (word(i), word(i + 1));
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
        assert_eq!(st.string(aux_read[&auxv::AT_PLATFORM]), b"aarch64");
        assert_eq!(st.string(aux_read[&auxv::AT_EXECFN]), b"/bin/echo");
        let r = (aux_read[&auxv::AT_RANDOM] - st.base()) as usize;
        assert_eq!(&st.bytes[r..r + 16], &random);
        // Linux's order, bottom-up: random bytes, platform, argv, envp, file name.
        let (a0, a1, e0) = (word(1), word(2), word(4));
        assert!(aux_read[&auxv::AT_RANDOM] < aux_read[&auxv::AT_PLATFORM]);
        assert!(aux_read[&auxv::AT_PLATFORM] < a0 && a0 < a1 && a1 < e0 && e0 < aux_read[&auxv::AT_EXECFN]);
        // The file name is the topmost string; the tables end below the strings.
        assert_eq!(aux_read[&auxv::AT_EXECFN], top - b"/bin/echo\0".len() as u64);
        assert!(sp + 8 * (i + 2) <= layout.random, "the tables end below the strings");
        assert_eq!((layout.arg_start, layout.arg_end, layout.env_end), (a0, e0, aux_read[&auxv::AT_EXECFN]));
    }

    #[test]
    fn an_empty_argv_becomes_one_empty_string() {
        let (st, layout) = build(0x10_0000_0000, &[], &[b"A=1"], &[], [0; 16]);
        assert_eq!(st.word(layout.sp), 1, "argc");
        assert_eq!(st.string(st.word(layout.sp + 8)), b"");
        assert_eq!(st.word(layout.sp + 16), 0);
        assert_eq!(st.string(st.word(layout.sp + 24)), b"A=1");
    }

    #[test]
    fn many_arguments_are_written_a_page_at_a_time() {
        let names: Vec<std::string::String> = (0..32_000).map(|i| std::format!("a{i}")).collect();
        let argv: Vec<&[u8]> = names.iter().map(|s| s.as_bytes()).collect();
        let (st, layout) = build(0x10_0000_0000, &argv, &[], &[], [0; 16]);
        assert_eq!(st.word(layout.sp), 32_000);
        for (i, name) in names.iter().enumerate().step_by(997) {
            assert_eq!(st.string(st.word(layout.sp + 8 * (1 + i as u64))), name.as_bytes());
        }
        assert!(st.largest <= STACK_PAGE as usize, "written a page at most at a time, not {}", st.largest);
    }

    /// argv with `n` strings of `len` bytes each (NUL included).
    fn try_args(n: usize, len: usize, rlimit: u64) -> Result<StackLayout, Errno> {
        let s = std::vec![b'x'; len - 1];
        let argv: Vec<&[u8]> = std::vec![&s[..]; n];
        let mut st = Stack::new(0x10_0000_0000, 8 << 20);
        copy_strings(&mut st, 0x10_0000_0000, b"/x", &argv[..], &[][..], rlimit, 13)
    }

    #[test]
    fn argument_space_follows_the_stack_limit_as_in_linux() {
        // 8 MiB stack: a quarter, 2 MiB, for the strings, the file name
        // ("/x\0", 3 bytes) and one pointer per string.
        assert_eq!(arg_space(8 << 20, 1, 0), Ok((2 << 20) - 8));
        assert_eq!(arg_space(1 << 20, 0, 0), Ok((256 << 10) - 8), "argc 0 still counts one pointer");
        assert_eq!(arg_space(64 << 10, 1, 0), Ok(ARG_MAX - 8), "never below 32 pages");
        assert_eq!(arg_space(1 << 30, 1, 0), Ok((6 << 20) - 8), "never above 3/4 of _STK_LIM");
        assert_eq!(arg_space(8 << 20, 1 << 18, 0), Err(Errno::E2BIG), "the pointers alone are too many");
        // Exactly at the limit, and one byte over.
        let n = 20;
        let per = ((2 << 20) - 8 * n as u64 - 3) / n as u64;
        let rest = (2 << 20) - 8 * n as u64 - 3 - per * n as u64;
        let s1 = std::vec![b'x'; per as usize - 1];
        let s2 = std::vec![b'y'; (per + rest) as usize - 1];
        let mut argv: Vec<&[u8]> = std::vec![&s1[..]; n - 1];
        argv.push(&s2);
        let mut st = Stack::new(0x10_0000_0000, 8 << 20);
        assert!(copy_strings(&mut st, 0x10_0000_0000, b"/x", &argv[..], &[][..], 8 << 20, 13).is_ok(), "at the limit");
        let longer = [&s1[..], b"z"].concat();
        argv[0] = &longer;
        let mut st = Stack::new(0x10_0000_0000, 8 << 20);
        let over = copy_strings(&mut st, 0x10_0000_0000, b"/x", &argv[..], &[][..], 8 << 20, 13);
        assert_eq!(over.err(), Some(Errno::E2BIG), "one byte over");
        // One string may not pass MAX_ARG_STRLEN, whatever the limit.
        assert!(try_args(1, MAX_ARG_STRLEN, 1 << 30).is_ok());
        assert_eq!(try_args(1, MAX_ARG_STRLEN + 1, 1 << 30).err(), Some(Errno::E2BIG));
        assert_eq!(try_args(300_000, 2, 8 << 20).err(), Some(Errno::E2BIG), "too many strings");
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
