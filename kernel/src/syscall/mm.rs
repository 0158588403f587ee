//! Memory system calls (Linux: mm/mmap.c, mm/mprotect.c): brk, mmap and
//! munmap of anonymous private memory, mprotect, madvise (advice only).

use super::{nr, SysResult};
use crate::errno::Errno;
use crate::mm::mm_struct::{Placement, STACK_SIZE, STACK_TOP};
use crate::mm::uaccess::current_mm;
use crate::mm::vma::{prot, VmLimits};

const PAGE: u64 = 4096;
const PROT_MASK: u64 = 7;
const MAP_SHARED: u64 = 0x01;
const MAP_PRIVATE: u64 = 0x02;
const MAP_FIXED: u64 = 0x10;
const MAP_ANONYMOUS: u64 = 0x20;
const MAP_NORESERVE: u64 = 0x4000;
const MAP_GROWSDOWN: u64 = 0x0100;
const MAP_STACK: u64 = 0x20000;
const MAP_POPULATE: u64 = 0x8000;
const MAP_FIXED_NOREPLACE: u64 = 0x10_0000;

pub fn dispatch(number: u64, a: &[u64; 6]) -> Option<SysResult> {
    Some(match number {
        nr::BRK => current_mm().map(|mm| mm.set_brk(a[0], vm_limits())),
        nr::MMAP => sys_mmap(a[0], a[1], a[2], a[3], a[4] as i64),
        nr::MUNMAP => sys_munmap(a[0], a[1]),
        nr::MPROTECT => sys_mprotect(a[0], a[1], a[2]),
        nr::MADVISE => Ok(0),
        _ => return None,
    })
}

/// The caller's RLIMIT_AS and RLIMIT_DATA.
fn vm_limits() -> VmLimits {
    let Some(s) = crate::sched::task::current().signal_struct() else { return VmLimits::NONE };
    VmLimits { address_space: s.rlimit(crate::signal::RLIMIT_AS), data: s.rlimit(crate::signal::RLIMIT_DATA) }
}

/// `vm.overcommit_memory` 0 (Linux: OVERCOMMIT_GUESS, `__vm_enough_memory`):
/// a private writable mapping without MAP_NORESERVE larger than all RAM
/// (there is no swap) is refused at once; anything smaller is allowed and
/// the OOM killer settles the rest. Modes 1 and 2 are not offered.
fn vm_enough_memory(len: u64) -> Result<(), Errno> {
    let ram = crate::mm::phys::stats().total as u64 * PAGE;
    if len > ram {
        return Err(Errno::ENOMEM);
    }
    Ok(())
}

fn prot_bits(p: u64) -> u8 {
    let mut bits = 0;
    if p & 1 != 0 {
        bits |= prot::READ;
    }
    if p & 2 != 0 {
        bits |= prot::WRITE;
    }
    if p & 4 != 0 {
        bits |= prot::EXEC;
    }
    bits
}

/// `mmap` for anonymous private memory (file and shared mappings: ENODEV
/// and EINVAL; the initramfs has no page cache to share).
fn sys_mmap(addr: u64, len: u64, prot_arg: u64, flags: u64, fd: i64) -> SysResult {
    let known = MAP_SHARED
        | MAP_PRIVATE
        | MAP_FIXED
        | MAP_ANONYMOUS
        | MAP_NORESERVE
        | MAP_GROWSDOWN
        | MAP_STACK
        | MAP_POPULATE
        | MAP_FIXED_NOREPLACE;
    let placement = if flags & MAP_FIXED != 0 {
        Placement::Fixed
    } else if flags & MAP_FIXED_NOREPLACE != 0 {
        Placement::FixedNoReplace
    } else {
        Placement::Hint
    };
    let fixed = placement != Placement::Hint;
    if len == 0 || prot_arg & !PROT_MASK != 0 || flags & !known != 0 || (fixed && !addr.is_multiple_of(PAGE)) {
        return Err(Errno::EINVAL);
    }
    // A hint is only a hint: rounded up to a page, as Linux does.
    let addr = if fixed { addr } else { addr.checked_next_multiple_of(PAGE).unwrap_or(0) };
    if flags & (MAP_SHARED | MAP_PRIVATE) != MAP_PRIVATE {
        return Err(Errno::EINVAL);
    }
    if flags & MAP_ANONYMOUS == 0 {
        return Err(if fd < 0 { Errno::EBADF } else { Errno::ENODEV });
    }
    let len = len.checked_add(PAGE - 1).ok_or(Errno::ENOMEM)? & !(PAGE - 1);
    if len > STACK_TOP - STACK_SIZE {
        return Err(Errno::ENOMEM);
    }
    let mm = current_mm()?;
    if fixed && (addr.checked_add(len).is_none_or(|end| end > STACK_TOP - STACK_SIZE) || addr < PAGE) {
        return Err(Errno::ENOMEM);
    }
    if prot_arg & 2 != 0 && flags & MAP_NORESERVE == 0 {
        vm_enough_memory(len)?;
    }
    mm.mmap_area(addr, len, prot_bits(prot_arg), placement, vm_limits())
}

fn sys_munmap(addr: u64, len: u64) -> SysResult {
    if !addr.is_multiple_of(PAGE) || len == 0 {
        return Err(Errno::EINVAL);
    }
    current_mm()?.unmap_area(addr, len).map(|_| 0)
}

fn sys_mprotect(addr: u64, len: u64, prot_arg: u64) -> SysResult {
    if !addr.is_multiple_of(PAGE) || prot_arg & !PROT_MASK != 0 {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Ok(0);
    }
    current_mm()?.protect_area(addr, len, prot_bits(prot_arg)).map(|_| 0)
}
