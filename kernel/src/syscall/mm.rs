//! Memory system calls (Linux: mm/mmap.c, mm/mprotect.c, mm/madvise.c,
//! mm/msync.c): brk, mmap (anonymous, shared anonymous, and tmpfs files
//! shared or private), munmap, mprotect, madvise, msync.

use super::{nr, SysResult};
use crate::errno::Errno;
use crate::mm::mm_struct::{FileMap, Placement, STACK_SIZE, STACK_TOP};
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

syscalls! {
    a;
    nr::BRK => current_mm().map(|mm| mm.set_brk(a[0], vm_limits())),
    nr::MMAP => sys_mmap(a[0], a[1], a[2], a[3], a[4] as i64, a[5]),
    nr::MUNMAP => sys_munmap(a[0], a[1]),
    nr::MPROTECT => sys_mprotect(a[0], a[1], a[2]),
    nr::MADVISE => sys_madvise(a[0], a[1], a[2]),
    nr::MSYNC => sys_msync(a[0], a[1], a[2]),
    nr::MREMAP => sys_mremap(a[0], a[1], a[2], a[3], a[4]),
}

/// The caller's RLIMIT_AS and RLIMIT_DATA.
pub(super) fn vm_limits() -> VmLimits {
    let Some(s) = crate::sched::task::current().signal_struct() else { return VmLimits::NONE };
    VmLimits { address_space: s.rlimit(crate::signal::RLIMIT_AS), data: s.rlimit(crate::signal::RLIMIT_DATA) }
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

/// `mmap`: anonymous memory, private or shared (backed by a nameless tmpfs
/// file, so fork shares it), and tmpfs files, shared or private (their
/// pages mapped from the file's page cache; mm/filemap.rs). Other files
/// are ENODEV.
fn sys_mmap(addr: u64, len: u64, prot_arg: u64, flags: u64, fd: i64, offset: u64) -> SysResult {
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
    let shared = match flags & (MAP_SHARED | MAP_PRIVATE) {
        MAP_SHARED => true,
        MAP_PRIVATE => false,
        _ => return Err(Errno::EINVAL),
    };
    let len = len.checked_add(PAGE - 1).ok_or(Errno::ENOMEM)? & !(PAGE - 1);
    if len > STACK_TOP - STACK_SIZE {
        return Err(Errno::ENOMEM);
    }
    let mm = current_mm()?;
    if fixed && (addr.checked_add(len).is_none_or(|end| end > STACK_TOP - STACK_SIZE) || addr < PAGE) {
        return Err(Errno::ENOMEM);
    }
    let file = if flags & MAP_ANONYMOUS != 0 {
        if shared && flags & MAP_GROWSDOWN != 0 {
            return Err(Errno::EINVAL); // as Linux: shared memory never grows
        }
        if shared {
            let object = crate::fs::tmpfs::shmem_file(len)?;
            Some(FileMap { mapping: object, pgoff: 0, shared: true })
        } else {
            None
        }
    } else {
        if !offset.is_multiple_of(PAGE) {
            return Err(Errno::EINVAL);
        }
        let file = super::fdget(u64::try_from(fd).map_err(|_| Errno::EBADF)?)?;
        let inode = file.path.as_ref().map(|p| p.inode.clone()).ok_or(Errno::ENODEV)?;
        let Ok(tmp) = inode.as_any_arc().downcast::<crate::fs::tmpfs::TmpInode>() else {
            return Err(Errno::ENODEV);
        };
        // Linux's checks: a readable file, and a writable one for a shared
        // writable mapping.
        if !file.readable() || shared && prot_arg & 2 != 0 && !file.writable() {
            return Err(Errno::EACCES);
        }
        Some(FileMap { mapping: tmp, pgoff: offset / PAGE, shared })
    };
    let growsdown = flags & (MAP_GROWSDOWN | MAP_ANONYMOUS) == MAP_GROWSDOWN | MAP_ANONYMOUS;
    mm.mmap_region(addr, len, prot_bits(prot_arg), placement, vm_limits(), file, flags & MAP_NORESERVE != 0, growsdown)
}

/// `mremap` with MREMAP_MAYMOVE and MREMAP_FIXED (MREMAP_DONTUNMAP and a
/// zero old length, which duplicate a shared mapping, are EINVAL here).
fn sys_mremap(old: u64, old_len: u64, new_len: u64, flags: u64, new_addr: u64) -> SysResult {
    const MREMAP_MAYMOVE: u64 = 1;
    const MREMAP_FIXED: u64 = 2;
    if !old.is_multiple_of(PAGE) || flags & !(MREMAP_MAYMOVE | MREMAP_FIXED) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & MREMAP_FIXED != 0 && (flags & MREMAP_MAYMOVE == 0 || !new_addr.is_multiple_of(PAGE)) {
        return Err(Errno::EINVAL);
    }
    let round = |n: u64| n.checked_add(PAGE - 1).map(|n| n & !(PAGE - 1));
    let (old_len, new_len) = (round(old_len).ok_or(Errno::EINVAL)?, round(new_len).ok_or(Errno::EINVAL)?);
    if old_len == 0 || new_len == 0 {
        return Err(Errno::EINVAL);
    }
    if new_len > STACK_TOP - STACK_SIZE {
        return Err(Errno::ENOMEM);
    }
    let fixed = (flags & MREMAP_FIXED != 0).then_some(new_addr);
    current_mm()?.mremap(old, old_len, new_len, flags & MREMAP_MAYMOVE != 0, fixed)
}

/// `madvise`: MADV_DONTNEED drops the pages of the range; other advice is
/// accepted and changes nothing.
fn sys_madvise(addr: u64, len: u64, advice: u64) -> SysResult {
    const MADV_DONTNEED: u64 = 4;
    if !addr.is_multiple_of(PAGE) {
        return Err(Errno::EINVAL);
    }
    let len = len.checked_add(PAGE - 1).ok_or(Errno::EINVAL)? & !(PAGE - 1);
    if advice == MADV_DONTNEED && len > 0 {
        current_mm()?.madvise_dontneed(addr, len)?;
    }
    Ok(0)
}

/// `msync`: the pages of a tmpfs mapping are the file's, so there is
/// nothing to write back; the arguments are checked as Linux does.
fn sys_msync(addr: u64, len: u64, flags: u64) -> SysResult {
    const MS_ASYNC: u64 = 1;
    const MS_INVALIDATE: u64 = 2;
    const MS_SYNC: u64 = 4;
    if !addr.is_multiple_of(PAGE)
        || flags & !(MS_ASYNC | MS_INVALIDATE | MS_SYNC) != 0
        || flags & MS_ASYNC != 0 && flags & MS_SYNC != 0
    {
        return Err(Errno::EINVAL);
    }
    let len = len.checked_add(PAGE - 1).ok_or(Errno::ENOMEM)? & !(PAGE - 1);
    if len > 0 && !current_mm()?.range_mapped(addr, len) {
        return Err(Errno::ENOMEM);
    }
    Ok(0)
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
