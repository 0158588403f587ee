//! System V shared memory (Linux: ipc/shm.c): `shmget`, `shmat`, `shmdt`,
//! `shmctl`, and `/proc/sysvipc/shm`.
//!
//! A segment is a nameless file of the internal tmpfs that shared
//! anonymous mappings use (fs/tmpfs.rs `shmem_file`, Linux's `shm_mnt`),
//! wrapped in a [`ShmSegment`]. `shmat` maps the segment itself as a
//! MAP_SHARED file mapping, so every attachment, in any process, maps the
//! file's own pages. Each attachment is an entry of its address space's
//! table of mapped files (`MmInner::mappings`), which holds a reference to
//! the segment: fork copies the table (the child's attachments), exec and
//! exit drop the address space and with it the references, and `shmdt`
//! unmaps the areas, after which the entry goes. So `shm_nattch` is the
//! count of references beyond the table's own, and a segment marked for
//! destruction (IPC_RMID), whose table entry then holds it only weakly, is
//! freed with its last attachment: its pages and its charge of committed
//! memory go with the last reference, and its ID leaves the table the next
//! time the table is looked at ([`lock_ns`]).
//!
//! Departures from Linux: `shm_nattch` counts attachments per address
//! space (an attachment split in two by `munmap` still counts once); the
//! last-detach time and PID change at `shmdt` only, not when exit or exec
//! drops an attachment. Everyone is root, so no permission check fails
//! (no EACCES), and SHM_LOCK/SHM_UNLOCK only set and clear SHM_LOCKED.
//!
//! Lock order: an address space's lock < `SHM_NS` < a tmpfs file's data.
//! Nothing takes an address space's lock under `SHM_NS`, and no reference
//! to a segment is dropped under it.

use super::{
    ipc_parse_version, IpcIds, IpcPerm, IPCMNI, IPC_CREAT, IPC_INFO, IPC_PRIVATE, IPC_RMID, IPC_SET, IPC_STAT,
};
use crate::errno::Errno;
use crate::fs::tmpfs::TmpInode;
use crate::mm::filemap::AddressSpace;
use crate::mm::mm_struct::{FileMap, Placement, STACK_SIZE, STACK_TOP};
use crate::mm::overcommit;
use crate::mm::vma::{prot, VmLimits};
use crate::pid::Pid;
use crate::sched::task::current;
use crate::sync::IrqSpinLock;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::fmt::Write;
use core::sync::atomic::{AtomicI32, Ordering};

const PAGE: u64 = 4096;
/// Linux's defaults (include/uapi/linux/shm.h).
pub const SHMMIN: u64 = 1;
pub const SHMMAX: u64 = u64::MAX - (1 << 24);
pub const SHMALL: u64 = u64::MAX - (1 << 24);
pub const SHMMNI: usize = 4096;
/// Attachment addresses are multiples of this (arm64: a page).
pub const SHMLBA: u64 = PAGE;

/// `shmget` flags beyond the common ones.
pub const SHM_NORESERVE: u32 = 0o10000;
/// `shmat` flags.
pub const SHM_RDONLY: u32 = 0o10000;
pub const SHM_RND: u32 = 0o20000;
pub const SHM_REMAP: u32 = 0o40000;
pub const SHM_EXEC: u32 = 0o100000;
/// Mode bits: marked for destruction, locked in memory.
pub const SHM_DEST: u32 = 0o1000;
pub const SHM_LOCKED: u32 = 0o2000;
/// `shmctl` commands beyond the common ones.
const SHM_LOCK: u32 = 11;
const SHM_UNLOCK: u32 = 12;
const SHM_STAT: u32 = 13;
const SHM_INFO: u32 = 14;
const SHM_STAT_ANY: u32 = 15;

/// The memory of a segment: what its attachments map.
pub struct ShmSegment {
    file: Arc<TmpInode>,
    size: u64,
    /// Its ID, set once it is in the table.
    id: AtomicI32,
    /// Pages charged as committed memory at `shmget`, given back when the
    /// segment is freed (Linux: `shmem_acct_size`, `shmem_unacct_size`).
    charged: u64,
}

impl AddressSpace for ShmSegment {
    fn find_or_create_page(&self, index: u64) -> Result<u64, Errno> {
        self.file.find_or_create_page(index)
    }

    fn find_page(&self, index: u64) -> Option<u64> {
        self.file.find_page(index)
    }

    fn sysv_shm(&self) -> Option<(i32, u64)> {
        Some((self.id.load(Ordering::Relaxed), self.size))
    }
}

impl Drop for ShmSegment {
    fn drop(&mut self) {
        overcommit::vm_acct_memory(-(self.charged as i64));
    }
}

/// A segment's table entry (Linux: `struct shmid_kernel`).
struct Shm {
    /// The table's own reference; None once marked for destruction.
    seg: Option<Arc<ShmSegment>>,
    /// The segment while anyone has it attached.
    weak: Weak<ShmSegment>,
    size: u64,
    cpid: Pid,
    lpid: Pid,
    atime: u64,
    dtime: u64,
    ctime: u64,
}

impl Shm {
    /// Attachments (Linux: `shm_nattch`).
    fn nattch(&self) -> u64 {
        (self.weak.strong_count() - self.seg.is_some() as usize) as u64
    }

    /// Pages of the segment in memory.
    fn rss_pages(&self) -> u64 {
        self.weak.upgrade().map_or(0, |s| s.file.pages_in_use())
    }
}

static SHM_NS: IrqSpinLock<IpcIds<Shm>> = IrqSpinLock::new(IpcIds::new(SHMMNI));

/// The table, locked, without the segments marked for destruction whose
/// last attachment has gone (Linux: `shm_destroy` from `shm_close`).
fn lock_ns() -> crate::sync::IrqSpinLockGuard<'static, IpcIds<Shm>> {
    let mut ns = SHM_NS.lock();
    ns.retain(|s| s.seg.is_some() || s.weak.strong_count() > 0);
    ns
}

fn now_sec() -> u64 {
    crate::timekeeping::ktime_get_real_ns() / 1_000_000_000
}

/// A new segment of `size` bytes, its memory charged unless `noreserve`
/// says not to (Linux: `newseg`); EINVAL for a size out of range, ENOMEM
/// when the memory cannot be committed.
fn newseg(size: u64, noreserve: bool) -> Result<Arc<ShmSegment>, Errno> {
    if !(SHMMIN..=SHMMAX).contains(&size) {
        return Err(Errno::EINVAL);
    }
    let pages = size.div_ceil(PAGE);
    let charged = if noreserve && overcommit::mode() != overcommit::OVERCOMMIT_NEVER { 0 } else { pages };
    overcommit::vm_enough_memory(charged, 0)?;
    let file = crate::fs::tmpfs::shmem_file(size).inspect_err(|_| overcommit::vm_acct_memory(-(charged as i64)))?;
    Ok(Arc::new(ShmSegment { file, size, id: AtomicI32::new(-1), charged }))
}

/// `shmget(key, size, shmflg)`.
pub fn shmget(key: i32, size: u64, flags: u32) -> Result<i32, Errno> {
    // The segment is made before the table is locked (no reference may be
    // dropped under the lock), only when one may be needed.
    let exists = key != IPC_PRIVATE && lock_ns().iter().any(|(_, e)| e.perm.key == key);
    let mut fresh = if exists || (key != IPC_PRIVATE && flags & IPC_CREAT == 0) {
        None
    } else {
        Some(newseg(size, flags & SHM_NORESERVE != 0)?)
    };
    let result = {
        let mut ns = lock_ns();
        let total: u64 = ns.iter().map(|(_, e)| e.obj.size.div_ceil(PAGE)).sum();
        let result = ns.ipcget(
            key,
            flags,
            || {
                let seg = fresh.take().ok_or(Errno::ENOENT)?;
                if total.checked_add(size.div_ceil(PAGE)).is_none_or(|t| t > SHMALL) {
                    fresh = Some(seg);
                    return Err(Errno::ENOSPC);
                }
                let weak = Arc::downgrade(&seg);
                Ok(Shm {
                    seg: Some(seg),
                    weak,
                    size,
                    cpid: current().tgid(),
                    lpid: 0,
                    atime: 0,
                    dtime: 0,
                    ctime: now_sec(),
                })
            },
            // An existing segment must be at least as large (Linux:
            // shm_more_checks).
            |s| if s.size < size { Err(Errno::EINVAL) } else { Ok(()) },
        );
        if let Ok(id) = result {
            if let Some(seg) = ns.get(id).and_then(|e| e.obj.seg.as_ref()) {
                seg.id.store(id, Ordering::Relaxed);
            }
        }
        result
    };
    drop(fresh); // unused (the key existed after all, or the table is full)
    result
}

/// `shmat(shmid, shmaddr, shmflg)`: maps the segment, at `addr` if given
/// (rounded down with SHM_RND), read-only with SHM_RDONLY; returns where.
pub fn shmat(id: i32, addr: u64, flags: u32, limits: VmLimits) -> Result<u64, Errno> {
    if id < 0 {
        return Err(Errno::EINVAL);
    }
    let mut addr = addr;
    if addr != 0 {
        if !addr.is_multiple_of(SHMLBA) {
            if flags & SHM_RND == 0 {
                return Err(Errno::EINVAL);
            }
            addr &= !(SHMLBA - 1);
            if addr == 0 && flags & SHM_REMAP != 0 {
                return Err(Errno::EINVAL);
            }
        }
    } else if flags & SHM_REMAP != 0 {
        return Err(Errno::EINVAL);
    }
    let mut prot_bits = if flags & SHM_RDONLY != 0 { prot::READ } else { prot::READ | prot::WRITE };
    if flags & SHM_EXEC != 0 {
        prot_bits |= prot::EXEC;
    }
    let seg = {
        let ns = lock_ns();
        let e = ns.get(id).ok_or(Errno::EINVAL)?;
        e.obj.weak.upgrade().ok_or(Errno::EIDRM)?
    };
    let len = seg.size.next_multiple_of(PAGE);
    let placement = match (addr, flags & SHM_REMAP != 0) {
        (0, _) => Placement::Hint,
        (_, true) => Placement::Fixed,
        (_, false) => Placement::FixedNoReplace,
    };
    if placement != Placement::Hint
        && (addr < PAGE || addr.checked_add(len).is_none_or(|end| end > STACK_TOP - STACK_SIZE))
    {
        return Err(if placement == Placement::FixedNoReplace { Errno::EINVAL } else { Errno::ENOMEM });
    }
    let mm = crate::mm::uaccess::current_mm()?;
    let mapping: crate::mm::filemap::MappingRef = seg;
    let file = FileMap { mapping, pgoff: 0, shared: true };
    let at = mm
        .mmap_region(addr, len, prot_bits, placement, limits, Some(file), false, false)
        // Something is mapped there and SHM_REMAP was not given.
        .map_err(|e| if e == Errno::EEXIST { Errno::EINVAL } else { e })?;
    if let Some(e) = lock_ns().get_mut(id) {
        e.obj.atime = now_sec();
        e.obj.lpid = current().tgid();
    }
    Ok(at)
}

/// `shmdt(shmaddr)`: unmaps the attachment that starts at `addr`.
pub fn shmdt(addr: u64) -> Result<(), Errno> {
    if !addr.is_multiple_of(PAGE) {
        return Err(Errno::EINVAL);
    }
    let mm = crate::mm::uaccess::current_mm()?;
    // The segment stays referenced here until its times are updated, so
    // a segment marked for destruction goes after that, not under the lock.
    let seg = mm.shm_detach(addr)?;
    if let Some((id, _)) = seg.sysv_shm() {
        let mut ns = SHM_NS.lock();
        if let Some(e) = ns.get_mut(id) {
            e.obj.dtime = now_sec();
            e.obj.lpid = current().tgid();
        }
    }
    drop(seg);
    Ok(())
}

/// `struct shmid64_ds` (112 bytes on arm64).
fn shmid64_ds(perm: &IpcPerm, s: &Shm) -> [u8; 112] {
    let mut b = [0u8; 112];
    b[..48].copy_from_slice(&perm.to_bytes());
    for (o, v) in [(48, s.size), (56, s.atime), (64, s.dtime), (72, s.ctime), (88, s.nattch())] {
        b[o..o + 8].copy_from_slice(&v.to_le_bytes());
    }
    b[80..84].copy_from_slice(&s.cpid.to_le_bytes());
    b[84..88].copy_from_slice(&s.lpid.to_le_bytes());
    b
}

/// `struct shminfo64` (IPC_INFO, 72 bytes) or `struct shm_info`
/// (SHM_INFO, 48 bytes).
fn shminfo(ids: &IpcIds<Shm>, cmd: u32) -> Vec<u8> {
    let mut b = Vec::new();
    if cmd == SHM_INFO {
        let tot: u64 = ids.iter().map(|(_, e)| e.obj.size.div_ceil(PAGE)).sum();
        let rss: u64 = ids.iter().map(|(_, e)| e.obj.rss_pages()).sum();
        b.extend_from_slice(&(ids.len() as u32).to_le_bytes());
        b.extend_from_slice(&[0; 4]);
        for v in [tot, rss, 0, 0, 0] {
            b.extend_from_slice(&v.to_le_bytes());
        }
    } else {
        for v in [SHMMAX, SHMMIN, SHMMNI as u64, SHMMNI as u64, SHMALL, 0, 0, 0, 0] {
            b.extend_from_slice(&v.to_le_bytes());
        }
    }
    b
}

/// `shmctl(shmid, cmd, buf)`: `user_in` is IPC_SET's `shmid64_ds` (already
/// copied in). Returns the bytes to copy out, if any, and the result.
pub fn shmctl(id: i32, cmd: u32, user_in: &[u8]) -> Result<(Option<Vec<u8>>, i64), Errno> {
    let cmd = ipc_parse_version(cmd);
    let mut ns = lock_ns();
    match cmd {
        IPC_INFO | SHM_INFO => return Ok((Some(shminfo(&ns, cmd)), ns.max_idx().max(0) as i64)),
        SHM_STAT | SHM_STAT_ANY => {
            let (full, e) = ns.iter().find(|(full, _)| (*full as u32 % IPCMNI) as i32 == id).ok_or(Errno::EINVAL)?;
            return Ok((Some(shmid64_ds(&e.perm, &e.obj).to_vec()), full as i64));
        }
        _ => {}
    }
    if id < 0 {
        return Err(Errno::EINVAL);
    }
    let e = ns.get_mut(id).ok_or(Errno::EINVAL)?;
    match cmd {
        IPC_STAT => Ok((Some(shmid64_ds(&e.perm, &e.obj).to_vec()), 0)),
        IPC_SET => {
            if user_in.len() < 48 {
                return Err(Errno::EINVAL);
            }
            e.perm.set_from(user_in);
            e.obj.ctime = now_sec();
            Ok((None, 0))
        }
        SHM_LOCK => {
            e.perm.mode |= SHM_LOCKED;
            Ok((None, 0))
        }
        SHM_UNLOCK => {
            e.perm.mode &= !SHM_LOCKED;
            Ok((None, 0))
        }
        IPC_RMID => {
            // Marked for destruction and its key freed; it goes now if
            // nothing has it attached, else with its last attachment
            // (Linux: do_shm_rmid).
            e.perm.mode |= SHM_DEST;
            e.obj.ctime = now_sec();
            let seg = e.obj.seg.take();
            let unused = seg.as_ref().is_some_and(|s| Arc::strong_count(s) == 1);
            if unused {
                ns.remove(id);
            } else {
                ns.set_key_private(id);
            }
            drop(ns);
            drop(seg);
            Ok((None, 0))
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `/proc/sysvipc/shm`.
pub fn proc_show() -> String {
    let mut s = String::from(
        "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n",
    );
    let ns = lock_ns();
    for (id, e) in ns.iter() {
        let (p, m) = (&e.perm, &e.obj);
        let _ = writeln!(
            s,
            "{:>10} {:>10}  {:>4o} {:>21} {:>5} {:>5}  {:>5} {:>5} {:>5} {:>5} {:>5} {:>10} {:>10} {:>10} {:>21} {:>21}",
            p.key,
            id,
            p.mode,
            m.size,
            m.cpid,
            m.lpid,
            m.nattch(),
            p.uid,
            p.gid,
            p.cuid,
            p.cgid,
            m.atime,
            m.dtime,
            m.ctime,
            m.rss_pages() * PAGE,
            0
        );
    }
    s
}
