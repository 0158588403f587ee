//! User-memory copies with unprivileged loads and stores (uaccess.S) and
//! the exception table that lets a fault in one return an error (Linux:
//! arch/arm64/include/asm/uaccess.h, arch/arm64/mm/extable.c).
//!
//! A fault on a listed instruction is first resolved as the program's own
//! access would be ([`fixup_user_access`]: demand paging, copy-on-write);
//! only when the address space refuses does the copy stop and report how
//! much it left.

use crate::mm::mm_struct::{Access, TASK_SIZE};

extern "C" {
    fn __arch_copy_from_user(dst: *mut u8, src: u64, n: usize) -> usize;
    fn __arch_copy_to_user(dst: u64, src: *const u8, n: usize) -> usize;
    static __ex_table_start: [u64; 0];
    static __ex_table_end: [u64; 0];
}

/// Whether `[addr, addr + len)` lies in the user half (Linux: `access_ok`).
fn user_range(addr: u64, len: usize) -> bool {
    addr.checked_add(len as u64).is_some_and(|end| end <= TASK_SIZE)
}

/// Copies `dst.len()` bytes from user address `src` of the live address
/// space (TTBR0); the bytes not copied, 0 when all were.
pub fn raw_copy_from_user(dst: &mut [u8], src: u64) -> usize {
    if !user_range(src, dst.len()) {
        return dst.len();
    }
    // SAFETY: `dst` is ours to fill; the user side is reached only with
    // LDTR, whose faults the exception table catches.
    unsafe { __arch_copy_from_user(dst.as_mut_ptr(), src, dst.len()) }
}

/// Copies `src` to user address `dst` of the live address space; the bytes
/// not copied.
pub fn raw_copy_to_user(dst: u64, src: &[u8]) -> usize {
    if !user_range(dst, src.len()) {
        return src.len();
    }
    // SAFETY: `src` is readable; the user side is reached only with STTR.
    unsafe { __arch_copy_to_user(dst, src.as_ptr(), src.len()) }
}

/// The fixup address for a faulting instruction at `pc`, if it is a user
/// access of uaccess.S (Linux: `search_exception_tables`).
fn search_exception_table(pc: u64) -> Option<u64> {
    // SAFETY: the linker script brackets the table with these symbols; it
    // holds (instruction, fixup) pairs of u64.
    let table = unsafe {
        let start = __ex_table_start.as_ptr();
        let len = __ex_table_end.as_ptr().offset_from(start) as usize;
        core::slice::from_raw_parts(start, len)
    };
    table.chunks_exact(2).find(|e| e[0] == pc).map(|e| e[1])
}

/// A data abort taken in the kernel at `pc`: if `pc` is a user access, the
/// fault is resolved through the current address space (Linux:
/// `do_page_fault` for a kernel-mode user access, then `fixup_exception`)
/// and `Some(pc)` is returned to retry it, or `Some(fixup)` to end the copy;
/// `None` for a fault that is a kernel bug.
pub fn fixup_user_access(pc: u64, far: u64, write: bool, resolvable: bool) -> Option<u64> {
    let fixup = search_exception_table(pc)?;
    if !resolvable || far >= TASK_SIZE {
        return Some(fixup);
    }
    let Some(mm) = crate::sched::task::current().mm() else { return Some(fixup) };
    // Only the live tables can be fixed by faulting in: anything else would
    // fault again forever.
    if mm.ttbr0() != super::mmu::ttbr0() {
        return Some(fixup);
    }
    let access = if write { Access::Write } else { Access::Read };
    match mm.handle_mm_fault(far, access) {
        Ok(()) => Some(pc),
        // No page: once the OOM killer has made room the access runs again
        // (it says no where it may not sleep or the task is dying).
        Err(crate::errno::Errno::ENOMEM) if crate::mm::oom_kill::out_of_memory() => Some(pc),
        Err(_) => Some(fixup),
    }
}
