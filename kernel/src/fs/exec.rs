//! `execve` (Linux: fs/exec.c `do_execve`, `begin_new_exec`,
//! fs/binfmt_elf.c `load_elf_binary`).
//!
//! The program comes from the file system (vfs.rs `open_exec`). Everything that can fail is done
//! first, on a fresh address space that is not yet in use: the stack area
//! is made and the argument and environment strings copied into it from the
//! caller's memory straight into its pages (Linux: `copy_strings`; no kernel
//! buffer grows with them), the ELF and program headers read from the file,
//! the PT_LOAD segments mapped from the file's pages (the page cache:
//! nothing is copied but a segment's last partial page before its bss) and
//! the tables (argc, argv, envp, auxv) completed. Where Linux finds a bad segment only after the point of no
//! return (and kills the process with SIGSEGV), `execve` here returns
//! Linux's error for it. Then,
//! past the point of no return, the task swaps address spaces, lets a vfork
//! parent go, closes its close-on-exec files, resets caught signals, and its
//! registers are set to start the program at its entry point.

use super::binfmt_elf::{self, ArgSource, Executable, StackLayout, StackSink, PF_W, PF_X};
use super::binfmt_script::{self, BINPRM_BUF_SIZE};
use super::tmpfs::TmpInode;
use super::vfs::ExecFile;
use crate::arch::exception::TrapFrame;
use crate::errno::Errno;
use crate::mm::filemap::MappingRef;
use crate::mm::mm_struct::{MmStruct, STACK_SIZE, STACK_TOP, TASK_SIZE};
use crate::mm::uaccess::{copy_from_user, get_user_u64, strnlen_user, to_page_end};
use crate::mm::vma::{prot, VmaKind};
use crate::sched::task::{current, pf};
use crate::util::string::find_nul;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

/// Where a position-independent (ET_DYN) static program is placed (Linux:
/// ELF_ET_DYN_BASE on arm64, 2/3 of the address space, rounded).
pub const ELF_ET_DYN_BASE: u64 = 0xaaaa_aaaa_0000;
/// AT_HWCAP: FP and ASIMD (Linux: HWCAP_FP | HWCAP_ASIMD).
const HWCAP: u64 = 0b11;
const PAGE: u64 = 4096;

/// Argument or environment strings in the calling process's memory: a
/// NULL-terminated array of pointers (Linux: `struct user_arg_ptr`). An
/// array pointer of 0 is an empty list, as Linux takes a NULL argv. The
/// caller's address space is the live one until exec's point of no return,
/// so everything is read with the user-copy routines (mm/uaccess.rs), as
/// the program's own loads would read it.
pub struct UserArgs {
    array: u64,
}

impl UserArgs {
    /// The list at user address `array` of the current process.
    pub fn new(array: u64) -> Self {
        UserArgs { array }
    }

    /// The user pointer to string `i`.
    fn string(&self, i: usize) -> Result<u64, Errno> {
        let at = (i as u64).checked_mul(8).and_then(|o| self.array.checked_add(o)).ok_or(Errno::EFAULT)?;
        get_user_u64(at)
    }
}

impl ArgSource for UserArgs {
    /// Linux: `count`. It counts up to MAX_ARG_STRINGS (2^31 - 1) and then
    /// finds the pointers do not fit; this stops as soon as they cannot.
    fn count(&self, max: usize) -> Result<usize, Errno> {
        if self.array == 0 {
            return Ok(0);
        }
        let mut n = 0;
        while self.string(n)? != 0 {
            n += 1;
            if n > max {
                return Err(Errno::E2BIG);
            }
        }
        Ok(n)
    }

    /// Linux: `strnlen_user`, touching no page past the NUL.
    fn len(&self, i: usize, max: usize) -> Result<usize, Errno> {
        strnlen_user(self.string(i)?, max, Errno::E2BIG)
    }

    fn read(&self, i: usize, offset: usize, buf: &mut [u8]) -> Result<(), Errno> {
        let at = self.string(i)?.checked_add(offset as u64).ok_or(Errno::EFAULT)?;
        copy_from_user(buf, at)
    }

    /// Linux: `strncpy_from_user` straight into the new stack, in small
    /// pieces that stop at the NUL, so the string is read once here and
    /// no page past its NUL is touched.
    fn copy_to<S: StackSink + ?Sized>(&self, i: usize, sink: &mut S, at: u64, room: usize) -> Result<usize, Errno> {
        let src = self.string(i)?;
        let mut off = 0;
        while off < room {
            let from = src.checked_add(off as u64).ok_or(Errno::EFAULT)?;
            let w = sink.window(at + off as u64, room - off)?;
            let n = w.len().min(64).min(to_page_end(from));
            let w = &mut w[..n];
            copy_from_user(w, from)?;
            if let Some(z) = find_nul(w) {
                return Ok(off + z + 1);
            }
            off += n;
        }
        Err(Errno::EFAULT)
    }
}

/// The argument list after `#!` interpreters took over (Linux: what
/// `remove_arg_zero` and `copy_string_kernel` leave in the bprm): kernel
/// strings in front (interpreter, its argument, the script's name, for each
/// script in turn), then the caller's argv without the `skip` strings the
/// scripts replaced.
struct ScriptArgs<'a, A: ?Sized> {
    front: &'a [Vec<u8>],
    rest: &'a A,
    skip: usize,
}

impl<A: ArgSource + ?Sized> ArgSource for ScriptArgs<'_, A> {
    fn count(&self, max: usize) -> Result<usize, Errno> {
        let n = self.front.len() + self.rest.count(max)?.saturating_sub(self.skip);
        if n > max {
            return Err(Errno::E2BIG);
        }
        Ok(n)
    }

    fn len(&self, i: usize, max: usize) -> Result<usize, Errno> {
        match self.front.get(i) {
            Some(s) if s.len() < max => Ok(s.len() + 1),
            Some(_) => Err(Errno::E2BIG),
            None => self.rest.len(i - self.front.len() + self.skip, max),
        }
    }

    fn read(&self, i: usize, offset: usize, buf: &mut [u8]) -> Result<(), Errno> {
        match self.front.get(i) {
            Some(s) => {
                for (k, b) in buf.iter_mut().enumerate() {
                    *b = s.get(offset + k).copied().unwrap_or(0);
                }
                Ok(())
            }
            None => self.rest.read(i - self.front.len() + self.skip, offset, buf),
        }
    }

    fn copy_to<S: StackSink + ?Sized>(&self, i: usize, sink: &mut S, at: u64, room: usize) -> Result<usize, Errno> {
        match self.front.get(i) {
            Some(s) if s.len() < room => {
                sink.write(at, s)?;
                sink.write(at + s.len() as u64, &[0])?;
                Ok(s.len() + 1)
            }
            Some(_) => Err(Errno::EFAULT),
            None => self.rest.copy_to(i - self.front.len() + self.skip, sink, at, room),
        }
    }
}

/// A kernel copy of `s`, allocated fallibly.
fn try_copy(s: &[u8]) -> Result<Vec<u8>, Errno> {
    let mut v = Vec::new();
    v.try_reserve_exact(s.len()).map_err(|_| Errno::ENOMEM)?;
    v.extend_from_slice(s);
    Ok(v)
}

/// What [`follow_interpreters`] found: the program that is not a script,
/// its path, and the argv strings the scripts put in front of the
/// caller's, which replace the caller's first `skip` strings.
struct Interpreted {
    file: ExecFile,
    program: String,
    front: Vec<Vec<u8>>,
    skip: usize,
}

/// Follows `#!` lines from the file at `path` (named `filename` by the
/// caller) to a program that is not a script (Linux: `exec_binprm`'s loop
/// over `load_script`): returns that program, its path, and the strings
/// that go in front of the caller's argv with how many of the caller's
/// strings they replace. A script is named in argv as its runner was
/// asked for it: the caller's `filename`, then each interpreter as its
/// `#!` line wrote it (Linux: `bprm->interp`). Errors:
/// ENOEXEC for a `#!` line without an interpreter, the interpreter's own
/// (ENOENT, EACCES), ELOOP past [`binfmt_script::MAX_DEPTH`] interpreters.
fn follow_interpreters(path: &str, filename: &str) -> Result<Interpreted, Errno> {
    let mut file = super::vfs::open_exec(path)?;
    let mut name = String::from(path);
    // How the next script is named in argv: made when a script is found.
    let mut shown: Option<Vec<u8>> = None;
    let mut front: Vec<Vec<u8>> = Vec::new();
    let mut skip = 0;
    for depth in 1.. {
        let mut head = [0u8; BINPRM_BUF_SIZE];
        let n = (file.inode.size().min(BINPRM_BUF_SIZE as u64)) as usize;
        file.inode.read_exact_at(&mut head[..n], 0)?;
        let interp = match binfmt_script::parse(&head) {
            None => break,
            Some(parsed) => parsed?,
        };
        let interp_name = core::str::from_utf8(interp.name).map_err(|_| Errno::ENOENT)?;
        if interp_name.is_empty() {
            // Linux looks the empty name up as is, finds the current
            // directory, and refuses to run it.
            return Err(Errno::EACCES);
        }
        let interp_path = crate::syscall::fs::resolve_at(super::vfs::AT_FDCWD, interp_name)?;
        let next = super::vfs::open_exec(&interp_path)?;
        // argv[0] gives way to: interpreter, argument, script.
        if front.is_empty() {
            skip = 1;
        } else {
            front.remove(0);
        }
        let mut added = Vec::new();
        added.try_reserve_exact(3 + front.len()).map_err(|_| Errno::ENOMEM)?;
        added.push(try_copy(interp.name)?);
        if let Some(arg) = interp.arg {
            added.push(try_copy(arg)?);
        }
        let script = match shown.take() {
            Some(s) => s,
            None => try_copy(filename.as_bytes())?,
        };
        added.push(script);
        shown = Some(try_copy(interp.name)?);
        added.append(&mut front);
        front = added;
        file = next;
        name = interp_path;
        if depth > binfmt_script::MAX_DEPTH {
            return Err(Errno::ELOOP);
        }
    }
    Ok(Interpreted { file, program: name, front, skip })
}

/// The pages of the address space exec is building, written in place
/// through the kernel's linear map: the page last looked up is kept, so
/// the strings and tables, which go to a few neighbouring pages, cost one
/// page-table lookup per page rather than one per write.
struct NewPages<'a> {
    mm: &'a MmStruct,
    /// The user address of the page kept, or 1 (no page).
    page: u64,
    kva: *mut u8,
}

impl<'a> NewPages<'a> {
    fn new(mm: &'a MmStruct) -> Self {
        NewPages { mm, page: 1, kva: core::ptr::null_mut() }
    }

    /// The kernel address of the page at `page`.
    #[inline]
    fn page(&mut self, page: u64) -> Result<*mut u8, Errno> {
        if page == self.page {
            return Ok(self.kva);
        }
        self.look_up(page)
    }

    #[cold]
    #[inline(never)]
    fn write_unaligned(&mut self, addr: u64, v: u64) -> Result<(), Errno> {
        self.write(addr, &v.to_le_bytes())
    }

    #[cold]
    #[inline(never)]
    fn look_up(&mut self, page: u64) -> Result<*mut u8, Errno> {
        self.kva = self.mm.exec_page(page)?;
        self.page = page;
        Ok(self.kva)
    }
}

impl StackSink for NewPages<'_> {
    fn window(&mut self, addr: u64, len: usize) -> Result<&mut [u8], Errno> {
        let page = addr & !(PAGE - 1);
        let kva = self.page(page)?;
        let off = (addr - page) as usize;
        let n = len.min(PAGE as usize - off);
        // SAFETY: `kva` is the linear-map address of the page at `page` in
        // `mm`, which nothing else can reach before exec installs it, so
        // the page stays mapped there and nobody else writes it
        // (MmStruct::exec_page); `off + n` is within the page.
        Ok(unsafe { core::slice::from_raw_parts_mut(kva.add(off), n) })
    }

    #[inline]
    fn write_u64(&mut self, addr: u64, v: u64) -> Result<(), Errno> {
        if !addr.is_multiple_of(8) {
            return self.write_unaligned(addr, v);
        }
        let page = addr & !(PAGE - 1);
        let kva = self.page(page)?;
        // SAFETY: as in `window`; the word is 8-byte aligned in the page.
        unsafe { (kva.add((addr - page) as usize) as *mut u64).write(v.to_le()) };
        Ok(())
    }
}

/// Maps the PT_LOAD segments of `exe` into `mm` and completes the initial
/// stack; returns the entry point.
///
/// Each segment's whole pages of file data are mapped from the file's
/// pages (Linux: `elf_map`): a read-only or text page is the page-cache
/// page itself, shared by every process running the program; a writable
/// segment's pages are copied at the first write. Where the file data
/// ends inside a page and zeroes (bss) follow, that page is a private
/// anonymous page holding a copy of the data and zeroes after it (Linux:
/// `padzero` writes the zeroes into a private copy too), so the file's page
/// is never changed; the whole pages of bss beyond it are anonymous
/// memory, zeroed on demand (Linux: `set_brk`'s anonymous area).
fn load_elf_binary(
    mm: &MmStruct,
    pages: &mut NewPages,
    file: &Arc<TmpInode>,
    exe: &Executable,
    layout: &StackLayout,
) -> Result<u64, Errno> {
    let bias = binfmt_elf::load_bias(exe, ELF_ET_DYN_BASE);
    let mapping: MappingRef = file.clone();
    let object = crate::mm::filemap::new_object_id();
    let mut mapped_file = false;
    let mut brk = 0;
    for load in exe.loads() {
        // Linux's errors for a segment that cannot be placed; nothing here
        // may wrap (a dev build checks for overflow).
        let (start, end) = binfmt_elf::segment_pages(load, bias, TASK_SIZE, STACK_TOP - STACK_SIZE)?;
        if start == end {
            continue; // an empty segment maps nothing (Linux: elf_map of size 0)
        }
        let mut p = prot::READ;
        if load.flags & PF_W != 0 {
            p |= prot::WRITE;
        }
        if load.flags & PF_X != 0 {
            p |= prot::EXEC;
        }
        // Where the file's data ends in memory; the segment's vaddr and
        // offset agree modulo the page size (binfmt_elf::parse).
        let data_end = bias.wrapping_add(load.vaddr).wrapping_add(load.filesz);
        let file_end = if load.memsz > load.filesz { data_end & !(PAGE - 1) } else { end };
        // Segments that overlap are refused (Linux maps each later one over
        // the earlier ones with MAP_FIXED).
        let overlap = |e: Errno| match e {
            Errno::EEXIST => Errno::ENOEXEC,
            e => e,
        };
        if file_end > start {
            let pgoff = load.offset / PAGE;
            mm.map_private_file(start, file_end - start, p, object, &mapping, pgoff).map_err(overlap)?;
            mapped_file = true;
        }
        if file_end < end {
            mm.map_area(file_end, end - file_end, p, VmaKind::Image).map_err(overlap)?;
            if data_end > file_end {
                // The data in the last partial page, read straight into
                // the new page; the rest of the page stays zero.
                let len = (data_end - file_end) as usize;
                let tail = pages.window(file_end, len)?;
                file.read_exact_at(tail, load.offset + load.filesz - len as u64)?;
                if load.flags & PF_X != 0 {
                    crate::arch::cache::sync_icache_range(tail.as_ptr() as usize, len);
                }
            }
        }
        brk = brk.max(end);
    }
    let mut random = [0u8; 16];
    crate::random::get_random_bytes(&mut random);
    let auxv = binfmt_elf::standard_auxv(exe, bias, HWCAP, super::procfs::USER_HZ);
    binfmt_elf::create_elf_tables(pages, layout, &auxv, random)?;
    let mut inner = mm.lock();
    if mapped_file {
        inner.exe_object = object;
    }
    inner.start_brk = brk;
    inner.brk = brk;
    inner.start_stack = layout.sp;
    inner.arg_start = layout.arg_start;
    inner.arg_end = layout.arg_end;
    inner.env_start = layout.env_start;
    inner.env_end = layout.env_end;
    Ok(bias.wrapping_add(exe.entry))
}

/// Replaces the current program with the one at `path` (normalised,
/// absolute), which the caller named `filename` (Linux: `do_execve`). On
/// success `frame` starts the new program; on failure nothing has changed.
///
/// Linux's order: the file is found, then the strings are copied into the
/// new stack (E2BIG, EFAULT), then the file is read as an ELF image
/// (ENOEXEC and the segment errors).
pub fn do_execve<A: ArgSource + ?Sized, E: ArgSource + ?Sized>(
    path: &str,
    filename: &str,
    argv: &A,
    envp: &E,
    frame: &mut TrapFrame,
) -> Result<(), Errno> {
    let Interpreted { file, program, front, skip } = follow_interpreters(path, filename)?;
    let argv = ScriptArgs { front: &front, rest: argv, skip };
    let mm = MmStruct::new()?;
    mm.map_area(STACK_TOP - STACK_SIZE, STACK_SIZE, prot::READ | prot::WRITE, VmaKind::Stack)?;
    let rlimit_stack = current().signal_struct().map_or(STACK_SIZE, |s| s.rlimit(crate::signal::RLIMIT_STACK));
    mm.lock().mmap_base = crate::mm::mm_struct::mmap_base(rlimit_stack);
    let mut pages = NewPages::new(&mm);
    let layout = binfmt_elf::copy_strings(
        &mut pages,
        STACK_TOP,
        path.as_bytes(),
        &argv,
        envp,
        rlimit_stack,
        binfmt_elf::NR_STANDARD_AUXV,
    )?;
    let inode = &file.inode;
    let exe = binfmt_elf::parse_file(inode.size(), |pos, buf| inode.read_exact_at(buf, pos))?;
    let entry = load_elf_binary(&mm, &mut pages, inode, &exe, &layout)?;
    drop(front);
    let exe_path = file.exe_path(program);
    drop(file);
    mm.lock().exe = exe_path;
    let sp = layout.sp;

    // Other threads of the group die first, and a caller that is not the
    // leader takes its place (Linux: `de_thread`).
    crate::signal::de_thread()?;
    // The point of no return (Linux: `begin_new_exec`).
    let me = current();
    crate::exit::exec_take_leadership(me);
    crate::exit::mm_release(me);
    me.ttbr0.store(mm.ttbr0(), Ordering::Relaxed);
    let old = me.mm.lock().replace(mm);
    crate::arch::mmu::set_ttbr0(me.ttbr0.load(Ordering::Relaxed));
    drop(old);
    me.flags.fetch_and(!(pf::PF_KTHREAD | pf::PF_NOKILL), Ordering::SeqCst);
    // Handlers: a table shared with another process is unshared first.
    let sighand = me.sighand_ptr.lock().clone();
    if let Some(h) = sighand {
        let own = if alloc::sync::Arc::strong_count(&h) > 2 { h.copy() } else { h };
        own.flush_handlers();
        *me.sighand_ptr.lock() = Some(own);
    }
    // The new image has no alternate signal stack (POSIX; the old one's
    // memory is gone).
    me.sas.reset();
    // The descriptor table too (Linux: unshare_files in begin_new_exec): a
    // table shared by CLONE_FILES with another process must not lose that
    // process's close-on-exec descriptors.
    let files = me.files.lock().clone();
    if let Some(f) = files {
        let own = if alloc::sync::Arc::strong_count(&f) > 2 { f.copy() } else { f };
        own.close_on_exec();
        *me.files.lock() = Some(own);
    }
    me.set_comm(super::path::basename(path));
    *frame = TrapFrame { regs: [0; 31], sp_el0: sp, elr: entry, spsr: 0 };
    // A fresh user register state: TLS and FP/SIMD cleared.
    // SAFETY: writing the user thread pointer affects only user mode.
    unsafe { core::arch::asm!("msr tpidr_el0, xzr", options(nomem, nostack, preserves_flags)) };
    crate::arch::fpsimd::load(&crate::arch::fpsimd::FpState::zeroed());
    Ok(())
}
