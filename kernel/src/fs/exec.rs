//! `execve` (Linux: fs/exec.c `do_execve`, `begin_new_exec`,
//! fs/binfmt_elf.c `load_elf_binary`).
//!
//! The program comes from the file system (vfs.rs `read_exec`). Everything that can fail is done
//! first, on a fresh address space that is not yet in use: the PT_LOAD
//! segments are mapped (data copied into pages, bss left zero), the stack
//! area is made and the initial stack (argc, argv, envp, auxv) written. Then,
//! past the point of no return, the task swaps address spaces, lets a vfork
//! parent go, closes its close-on-exec files, resets caught signals, and its
//! registers are set to start the program at its entry point.

use super::binfmt_elf::{self, Executable, PF_W, PF_X};
use crate::arch::exception::TrapFrame;
use crate::errno::Errno;
use crate::mm::mm_struct::{Mm, MmStruct, STACK_SIZE, STACK_TOP};
use crate::mm::vma::{prot, VmaKind};
use crate::sched::task::{current, pf};
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

/// Where a position-independent (ET_DYN) static program is placed (Linux:
/// ELF_ET_DYN_BASE on arm64, 2/3 of the address space, rounded).
pub const ELF_ET_DYN_BASE: u64 = 0xaaaa_aaaa_0000;
/// AT_HWCAP: FP and ASIMD (Linux: HWCAP_FP | HWCAP_ASIMD).
const HWCAP: u64 = 0b11;
const PAGE: u64 = 4096;

/// Most arguments plus environment strings (Linux: MAX_ARG_STRINGS is far
/// larger; the byte limit binds first).
pub const MAX_ARG_STRINGS: usize = 32 * 1024;

/// Builds the address space of `exe` with its arguments; returns it with
/// the entry point and the initial stack pointer.
fn load_elf_binary(
    path: &str,
    data: &[u8],
    exe: &Executable,
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
) -> Result<(Mm, u64, u64), Errno> {
    let bias = if exe.e_type == binfmt_elf::ET_DYN { ELF_ET_DYN_BASE } else { 0 };
    let mm = MmStruct::new()?;
    let mut brk = 0;
    for load in exe.loads() {
        let start = (bias + load.vaddr) & !(PAGE - 1);
        let end = (bias + load.vaddr + load.memsz).div_ceil(PAGE) * PAGE;
        let mut p = prot::READ;
        if load.flags & PF_W != 0 {
            p |= prot::WRITE;
        }
        if load.flags & PF_X != 0 {
            p |= prot::EXEC;
        }
        mm.map_area(start, end - start, p, VmaKind::Image).map_err(|_| Errno::ENOEXEC)?;
        let file = &data[load.offset as usize..(load.offset + load.filesz) as usize];
        mm.exec_write(bias + load.vaddr, file)?;
        if load.flags & PF_X != 0 {
            mm.sync_icache(start, (end - start) as usize)?;
        }
        brk = brk.max(end);
    }
    mm.map_area(STACK_TOP - STACK_SIZE, STACK_SIZE, prot::READ | prot::WRITE, VmaKind::Stack)?;
    let mut random = [0u8; 16];
    crate::random::get_random_bytes(&mut random);
    let auxv = binfmt_elf::standard_auxv(exe, bias, HWCAP, super::procfs::USER_HZ);
    let argv_refs: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
    let envp_refs: Vec<&[u8]> = envp.iter().map(|a| a.as_slice()).collect();
    let image = binfmt_elf::create_elf_tables(STACK_TOP, path.as_bytes(), &argv_refs, &envp_refs, &auxv, random)?;
    mm.exec_write(image.sp, &image.bytes)?;
    {
        let mut inner = mm.lock();
        inner.start_brk = brk;
        inner.brk = brk;
        inner.start_stack = image.sp;
        // The strings lie above the tables: random bytes, the platform,
        // then argv, envp and the file name (create_elf_tables).
        let area: u64 = 16 + binfmt_elf::ELF_PLATFORM.len() as u64 + 1;
        let args: u64 = argv.iter().map(|a| a.len() as u64 + 1).sum();
        let envs: u64 = envp.iter().map(|a| a.len() as u64 + 1).sum();
        let base = STACK_TOP - (area + args + envs + path.len() as u64 + 1);
        inner.arg_start = base + area;
        inner.arg_end = inner.arg_start + args;
        inner.env_start = inner.arg_end;
        inner.env_end = inner.env_start + envs;
        inner.exe = alloc::string::String::from(path);
    }
    Ok((mm, bias + exe.entry, image.sp))
}

/// Replaces the current program with the one at `path` (normalised,
/// absolute) (Linux: `do_execve`). On success `frame` starts the new
/// program; on failure nothing has changed.
pub fn do_execve(path: &str, argv: Vec<Vec<u8>>, envp: Vec<Vec<u8>>, frame: &mut TrapFrame) -> Result<(), Errno> {
    let data = super::vfs::read_exec(path)?;
    if argv.len() + envp.len() > MAX_ARG_STRINGS {
        return Err(Errno::E2BIG);
    }
    let exe = binfmt_elf::parse(&data)?;
    let (mm, entry, sp) = load_elf_binary(path, &data, &exe, &argv, &envp)?;
    drop(data);

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
