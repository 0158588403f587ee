//! User address spaces (Linux: `struct mm_struct`, kernel/fork.c `dup_mm`,
//! mm/memory.c `handle_mm_fault` and `do_wp_page`, mm/mmap.c, the arm64 ASID
//! allocator).
//!
//! An address space is a TTBR0 translation table tagged with an ASID, plus
//! its VMAs (mm/vma.rs). Pages are mapped on demand: a fault inside a VMA
//! with the right permission gets a zeroed page. `fork` shares every page,
//! write-protecting the private writable ones in both parent and child
//! (copy-on-write); a write fault then copies the page, or, when the page's
//! reference count (mm/page.rs) says the faulting side is its only user,
//! just makes it writable again.
//!
//! TLB maintenance: entries are tagged with the ASID, so a context switch
//! flushes nothing; changing or removing a live entry invalidates it with a
//! broadcast TLBI (every core that may have run a thread of this mm).
//!
//! Locking: `inner` (the VMAs and the page tables) is one IRQ-safe spinlock
//! per address space, taken by faults (the program's own, and those of the
//! kernel's LDTR/STTR user copies, mm/uaccess.rs), by the accessors of
//! another address space (`write_user`, exec's `exec_page`) and by
//! mmap/munmap/mprotect/brk; it nests inside no scheduler lock. Under it the
//! heap (VMA nodes, copied strings), the slab caches and the frame allocator
//! may be taken; fork holds the parent's while it fills the fresh child's,
//! which nobody else can see yet (kernel/src/sync.rs has the whole order).

use super::filemap::MappingRef;
use super::frame::PAGE_SIZE;
use super::overcommit;
use super::page::{alloc_user_page, copy_user_page, get_page, page_count, put_page};
use super::pgtable::{pte, MapError, PageTable, Table, TableMemory};
use super::phys::Gfp;
use super::phys_to_virt;
use super::vma::{accountable, prot, VmLimits, Vma, VmaKind, VmaList};
use crate::arch::mmu;
use crate::errno::Errno;
use crate::sync::IrqSpinLock;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

const PAGE: u64 = PAGE_SIZE as u64;
/// End of the user half: 48-bit virtual addresses through TTBR0.
pub const TASK_SIZE: u64 = 1 << 48;
/// Top of the initial user stack (Linux's arm64 `STACK_TOP` lies near the
/// end of the user half too); the signal trampoline page sits just above.
pub const STACK_TOP: u64 = TASK_SIZE - 0x10_0000;
/// Size of the stack area exec maps (RLIMIT_STACK's usual 8 MiB), faulted
/// in on demand; the stack grows below it on demand up to RLIMIT_STACK.
pub const STACK_SIZE: u64 = 8 << 20;
/// The least and the most room `mmap` leaves below STACK_TOP for the
/// stack's growth (Linux: mm/util.c MIN_GAP without randomization, and
/// MAX_GAP).
const MMAP_MIN_GAP: u64 = 128 << 20;
const MMAP_MAX_GAP: u64 = TASK_SIZE / 6 * 5;

/// The top of the area `mmap` places mappings in, for a process whose
/// RLIMIT_STACK is `rlimit_stack` at exec (Linux: `mmap_base`): the stack
/// may grow to its limit plus the guard gap, clamped to
/// [`MMAP_MIN_GAP`, `MMAP_MAX_GAP`].
pub fn mmap_base(rlimit_stack: u64) -> u64 {
    let gap = rlimit_stack.saturating_add(super::vma::STACK_GUARD_GAP).clamp(MMAP_MIN_GAP, MMAP_MAX_GAP);
    (STACK_TOP - gap) & !(PAGE - 1)
}
/// The signal-return trampoline (Linux arm64 uses the vDSO's
/// `__kernel_rt_sigreturn`; this kernel maps one read-only page instead).
pub const SIGPAGE: u64 = STACK_TOP;
/// The widest gap between two areas that one page-table walk steps over
/// ([`MmStruct::walk_ranges`]): 32 entries, four cache lines of a table,
/// which cost less to step over than a second walk down from the root.
const WALK_GAP: u64 = 32 * PAGE;
/// The ranges the teardown of an address space clears in one walk
/// ([`PageTable::zap_ranges`]); one with more areas than that, once joined,
/// is torn down range by range, its tables freed without the zeroed mark.
const ZAP_RANGES: usize = 32;

/// Where `mmap` looks for free space, bottom-up.
pub const MMAP_BASE: u64 = 0x10_0000_0000;

/// How a fault or an access touches memory.
/// Where `mmap` puts a mapping (its MAP_FIXED flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Anywhere free, at or above the address if one is given.
    Hint,
    /// At the address, replacing what was there (MAP_FIXED).
    Fixed,
    /// At the address, which must be free (MAP_FIXED_NOREPLACE).
    FixedNoReplace,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    Exec,
}

/// One address space.
pub struct MmStruct {
    /// Physical address of the L0 table.
    root: u64,
    /// The last table page allocated, head of the chain of all of them
    /// (mm/page.rs `set_table_link`); changed under `inner`'s lock, or
    /// before anyone else can see the address space.
    tables: AtomicU64,
    asid: u16,
    inner: IrqSpinLock<MmInner>,
    /// Pages mapped (resident), for /proc.
    pub rss: AtomicU64,
    /// Translation-table pages (Linux: `pgtables_bytes`), for the OOM
    /// killer's badness and /proc.
    pub pgtables: AtomicU64,
    /// The lowest page ever mapped in the main stack's area (`u64::MAX`:
    /// none), written under `inner`'s lock. The area spans the whole
    /// `STACK_SIZE` from exec on, while a process touches a few pages at
    /// its top: fork and exit walk the area from here up, not through the
    /// empty entries below (Linux's stack VMA starts small and grows down
    /// on faults instead).
    stack_low: AtomicU64,
}

/// The parts of an address space under its lock.
pub struct MmInner {
    pub vmas: VmaList,
    pub start_brk: u64,
    pub brk: u64,
    pub start_stack: u64,
    pub arg_start: u64,
    pub arg_end: u64,
    pub env_start: u64,
    pub env_end: u64,
    /// The program's path (`/proc/<pid>/exe`).
    pub exe: alloc::string::String,
    /// The number in `mappings` of the program's file, whose pages exec
    /// mapped (0: none), so /proc names those areas by `exe`.
    pub exe_object: u32,
    /// The files mapped here, by the number their VMAs carry
    /// (mm/filemap.rs).
    pub mappings: alloc::collections::BTreeMap<u32, MappingRef>,
    /// Pages of committed memory charged for this address space
    /// (mm/overcommit.rs); settled after every change of the areas.
    pub committed: u64,
    /// The top of the area mappings without a fixed address go in (Linux:
    /// `mm->mmap_base`, set at exec from RLIMIT_STACK by
    /// `arch_pick_mmap_layout`), so they stay clear of the stack's growth.
    /// Departure: this kernel fills that area bottom-up from
    /// [`MMAP_BASE`], not top-down from here, and a hint above it is not
    /// taken.
    pub mmap_base: u64,
}

/// A file to map (Linux: the `struct file` and `pgoff` of `do_mmap`).
pub struct FileMap {
    pub mapping: MappingRef,
    /// The file page at the start of the mapping.
    pub pgoff: u64,
    /// MAP_SHARED (else MAP_PRIVATE).
    pub shared: bool,
}

/// An address space shared by the tasks that use it (Linux: `mm_users`).
pub type Mm = Arc<MmStruct>;

/// Allocated ASIDs, one bit each; 0 is the reserved (kernel-thread) table's.
static ASIDS: IrqSpinLock<AsidMap> = IrqSpinLock::new(AsidMap {
    bits: {
        let mut bits = [0; 1024];
        bits[0] = 1;
        bits
    },
    next: 1,
});

struct AsidMap {
    bits: [u64; 1024],
    next: usize,
}

impl AsidMap {
    fn alloc(&mut self) -> Option<u16> {
        for i in 0..65536 {
            let id = (self.next + i) % 65536;
            if self.bits[id / 64] & (1 << (id % 64)) == 0 {
                self.bits[id / 64] |= 1 << (id % 64);
                self.next = id + 1;
                return Some(id as u16);
            }
        }
        None
    }
    fn free(&mut self, id: u16) {
        self.bits[id as usize / 64] &= !(1 << (id % 64));
    }
}

/// The physical page holding the signal trampoline, shared by every process.
static SIGPAGE_FRAME: spin::Once<u64> = spin::Once::new();

/// `mov x8, #139 (rt_sigreturn); svc #0`.
const SIGRETURN_CODE: [u32; 2] = [0xd280_1168, 0xd400_0001];

fn sigpage_frame() -> Result<u64, Errno> {
    SIGPAGE_FRAME
        .try_call_once(|| {
            let pa = alloc_user_page().ok_or(Errno::ENOMEM)?;
            let va = phys_to_virt(pa);
            // SAFETY: a fresh page owned by this static forever (its count of
            // 1 is never dropped).
            unsafe { core::ptr::copy_nonoverlapping(SIGRETURN_CODE.as_ptr(), va as *mut u32, 2) };
            crate::arch::cache::sync_icache_range(va, 8);
            Ok(pa)
        })
        .copied()
}

/// Table memory of one user address space: zeroed frames that stop at the
/// reserve (mm/phys.rs `Gfp::User`), reached through the linear map, each
/// put on the address space's chain of table pages and counted in its
/// `pgtables` as it is allocated.
struct UserTables<'a> {
    chain: &'a AtomicU64,
    count: &'a AtomicU64,
}

impl TableMemory for UserTables<'_> {
    fn alloc_table(&mut self) -> Option<u64> {
        let pa = super::phys::alloc_zeroed_frame_gfp(Gfp::User)?;
        let head = self.chain.load(Ordering::Relaxed);
        super::page::set_table_link(pa, (head != 0).then_some(head));
        self.chain.store(pa, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        // The empty table must be visible before the entry that links it:
        // another core's table walker may follow that entry at once (Linux:
        // __pte_alloc's smp_wmb).
        core::sync::atomic::fence(Ordering::Release);
        Some(pa)
    }

    fn table(&mut self, pa: u64) -> &mut Table {
        // SAFETY: `pa` is a table page of this address space, which the
        // caller has locked (or nobody else can see yet).
        unsafe { &mut *(phys_to_virt(pa) as *mut Table) }
    }
}

fn map_error(e: MapError) -> Errno {
    match e {
        MapError::OutOfMemory => Errno::ENOMEM,
        _ => Errno::EFAULT,
    }
}

impl MmStruct {
    /// A new address space with only the signal trampoline (Linux: `mm_alloc`).
    pub fn new() -> Result<Mm, Errno> {
        let sigpage = sigpage_frame()?;
        let asid = ASIDS.lock().alloc().ok_or(Errno::EAGAIN)?;
        let chain = AtomicU64::new(0);
        let pgtables = AtomicU64::new(0);
        let root = match PageTable::new(&mut UserTables { chain: &chain, count: &pgtables }) {
            Ok(pt) => pt.root(),
            Err(_) => {
                ASIDS.lock().free(asid);
                return Err(Errno::ENOMEM);
            }
        };
        let mm = Arc::new(MmStruct {
            root,
            tables: chain,
            asid,
            inner: IrqSpinLock::new(MmInner {
                vmas: VmaList::new(),
                start_brk: 0,
                brk: 0,
                start_stack: 0,
                arg_start: 0,
                arg_end: 0,
                env_start: 0,
                env_end: 0,
                exe: alloc::string::String::new(),
                exe_object: 0,
                mappings: alloc::collections::BTreeMap::new(),
                committed: 0,
                mmap_base: mmap_base(STACK_SIZE),
            }),
            rss: AtomicU64::new(0),
            pgtables: AtomicU64::new(pgtables.into_inner()),
            stack_low: AtomicU64::new(u64::MAX),
        });
        {
            let mut inner = mm.inner.lock();
            inner.vmas.insert(SIGPAGE, PAGE, prot::READ | prot::EXEC, VmaKind::Special)?;
            let mut tables = mm.tables();
            let mut pt = PageTable::from_root(root, &mut tables);
            let slot = pt.pte_mut(SIGPAGE, true).map_err(map_error)?.ok_or(Errno::ENOMEM)?;
            get_page(sigpage);
            *slot = pte::user_page(sigpage, false, true);
        }
        Ok(mm)
    }

    /// TTBR0_EL1 for this address space: table | ASID << 48.
    pub fn ttbr0(&self) -> u64 {
        self.root | (self.asid as u64) << 48
    }

    /// The ASID.
    pub fn asid(&self) -> u16 {
        self.asid
    }

    /// Runs `f` with the address space locked.
    pub fn lock(&self) -> crate::sync::IrqSpinLockGuard<'_, MmInner> {
        self.inner.lock()
    }

    /// The table memory of this address space; the caller holds `inner`'s
    /// lock (or nobody else can see the address space yet).
    fn tables(&self) -> UserTables<'_> {
        UserTables { chain: &self.tables, count: &self.pgtables }
    }

    /// A copy of this address space for a child (Linux: `dup_mm`,
    /// `dup_mmap`, `copy_page_range`): the same VMAs; every page shared, and
    /// the private writable ones write-protected on both sides.
    ///
    /// `charged`: the pages [`Self::charge_copy`] committed; on success
    /// they are the child's, on failure still the caller's.
    pub fn dup(&self, charged: u64) -> Result<Mm, Errno> {
        let child = MmStruct::new()?;
        let inner = self.inner.lock();
        let mut child_inner = child.inner.lock();
        child_inner.vmas = inner.vmas.clone();
        child_inner.start_brk = inner.start_brk;
        child_inner.brk = inner.brk;
        child_inner.start_stack = inner.start_stack;
        child_inner.arg_start = inner.arg_start;
        child_inner.arg_end = inner.arg_end;
        child_inner.env_start = inner.env_start;
        child_inner.env_end = inner.env_end;
        child_inner.exe = inner.exe.clone();
        child_inner.exe_object = inner.exe_object;
        child_inner.mappings = inner.mappings.clone();
        child_inner.mmap_base = inner.mmap_base;
        let mut parent_tables = self.tables();
        let mut parent_pt = PageTable::from_root(self.root, &mut parent_tables);
        let mut child_tables = child.tables();
        let mut child_pt = PageTable::from_root(child.root, &mut child_tables);
        let mut result = Ok(());
        let mut pages = 0;
        child.stack_low.store(self.stack_low.load(Ordering::Relaxed), Ordering::Relaxed);
        // Shared mappings stay shared: both sides write the same page; every
        // other entry is write-protected (a no-op for read-only ones), so
        // neighbouring areas are copied in one walk. The kernel's page is
        // mapped by MmStruct::new already.
        let areas = inner.vmas.iter().filter(|v| v.kind != VmaKind::Special);
        for (start, end, cow) in self.walk_ranges(areas, |v| !matches!(v.kind, VmaKind::Shared { .. })) {
            result = parent_pt.copy_range(&mut child_pt, start, end, |_, entry| {
                if cow {
                    *entry = pte::wrprotect(*entry);
                }
                get_page(pte::addr(*entry));
                pages += 1;
                Some(*entry)
            });
            if result.is_err() {
                break;
            }
        }
        // The parent's writable entries just became read-only: no core may
        // keep a writable copy in its TLB.
        mmu::flush_tlb_asid(self.asid);
        child.rss.store(pages, Ordering::Relaxed);
        if result.is_ok() {
            // The charge becomes the child's, settled to what it holds (the
            // parent's areas may have changed since the charge).
            // (`committed` always holds what the areas commit: every change
            // of them settles it, committed_change.)
            let now = inner.committed;
            debug_assert_eq!(now, overcommit::pages(child_inner.vmas.committed()));
            overcommit::vm_acct_memory(now as i64 - charged as i64);
            child_inner.committed = now;
        }
        drop(child_inner);
        result.map(|_| child.clone()).map_err(map_error)
    }

    /// The part of `v` that may hold pages: all of it, but for the main
    /// stack's area only from its lowest page up (`stack_low`); None when
    /// that is nothing. Under `inner`'s lock.
    fn populated(&self, v: &super::vma::Vma) -> Option<(u64, u64)> {
        let start = match v.kind {
            VmaKind::Stack => v.start.max(self.stack_low.load(Ordering::Relaxed)),
            _ => v.start,
        };
        (start < v.end).then_some((start, v.end))
    }

    /// The ranges a walk over every entry of `areas` (in address order)
    /// visits, each with its `class`: the areas' populated parts
    /// ([`Self::populated`]), joined by [`super::vma::join_ranges`].
    fn walk_ranges<'a, C: PartialEq + Copy + 'a>(
        &'a self,
        areas: impl Iterator<Item = &'a super::vma::Vma> + 'a,
        class: impl Fn(&super::vma::Vma) -> C + 'a,
    ) -> impl Iterator<Item = (u64, u64, C)> + 'a {
        let ranges = areas.filter_map(move |v| self.populated(v).map(|(s, e)| (s, e, class(v))));
        super::vma::join_ranges(ranges, WALK_GAP)
    }

    /// Commits the memory a copy of this address space will hold (Linux:
    /// dup_mmap's `security_vm_enough_memory_mm`): the pages charged, for
    /// [`Self::dup`]; ENOMEM where vm.overcommit_memory refuses them.
    pub fn charge_copy(&self) -> Result<u64, Errno> {
        let inner = self.inner.lock();
        let pages = inner.committed;
        overcommit::vm_enough_memory(pages, overcommit::pages(inner.vmas.total()))?;
        Ok(pages)
    }

    /// Resolves a fault at `addr` (Linux: `handle_mm_fault`). `Err(EFAULT)`:
    /// no VMA or the wrong permission, the caller's SIGSEGV; `ENOMEM`: no page.
    pub fn handle_mm_fault(&self, addr: u64, access: Access) -> Result<(), Errno> {
        let mut inner = self.inner.lock();
        // The area is looked up once, by fault_locked; only a fault outside
        // every area looks again, to grow a stack down to it.
        match self.fault_locked(&inner, addr, access) {
            Err(Errno::EFAULT) if inner.vmas.find(addr).is_none() => {
                expand_stack(&mut inner, addr)?;
                self.fault_locked(&inner, addr, access).map(|_| ())
            }
            result => result.map(|_| ()),
        }
    }

    /// Makes `addr` accessible for `access` with the lock held; returns the
    /// physical address of the page.
    fn fault_locked(&self, inner: &MmInner, addr: u64, access: Access) -> Result<u64, Errno> {
        let vma = *inner.vmas.find(addr).ok_or(Errno::EFAULT)?;
        let allowed = match access {
            Access::Read => vma.prot & (prot::READ | prot::WRITE | prot::EXEC) != 0,
            Access::Write => vma.prot & prot::WRITE != 0,
            Access::Exec => vma.prot & prot::EXEC != 0,
        };
        if !allowed {
            return Err(Errno::EFAULT);
        }
        let page_va = addr & !(PAGE - 1);
        let writable = vma.prot & prot::WRITE != 0;
        let exec = vma.prot & prot::EXEC != 0;
        let mut tables = self.tables();
        let mut pt = PageTable::from_root(self.root, &mut tables);
        let slot = pt.pte_mut(page_va, true).map_err(map_error)?.ok_or(Errno::ENOMEM)?;
        if !pte::present(*slot) {
            if let Some((object, index)) = vma.kind.file_page(page_va) {
                return self.file_fault(inner, slot, vma.kind, object, index, access, writable, exec);
            }
            if vma.kind == VmaKind::Stack && page_va < exec_stack_floor(inner) && STACK_TOP - page_va > stack_limit() {
                // Past RLIMIT_STACK: the stack does not grow there (Linux:
                // acct_stack_growth refuses, and the fault is SIGSEGV).
                return Err(Errno::EFAULT);
            }
            // Demand paging: a zeroed page (Linux: `do_anonymous_page`).
            let pa = alloc_user_page().ok_or(Errno::ENOMEM)?;
            if vma.kind == VmaKind::Stack && page_va < self.stack_low.load(Ordering::Relaxed) {
                self.stack_low.store(page_va, Ordering::Relaxed);
            }
            if exec {
                // The frame may have held code before: no stale lines of
                // it may be fetched from this mapping (Linux:
                // __sync_icache_dcache for executable entries).
                crate::arch::cache::sync_icache_range(phys_to_virt(pa), PAGE_SIZE);
            }
            *slot = pte::user_page(pa, writable, exec);
            self.rss.fetch_add(1, Ordering::Relaxed);
            return Ok(pa);
        }
        let mut old = *slot;
        if !pte::user_accessible(old) {
            // Left by PROT_NONE and allowed again by the area: reopen it.
            old = pte::with_prot(old, false, exec);
            *slot = old;
            mmu::flush_tlb_user_page(self.asid, page_va);
        }
        if access == Access::Write && !pte::writable(old) {
            let old_pa = pte::addr(old);
            if matches!(vma.kind, VmaKind::Shared { .. }) {
                // The file's page, written in place (Linux: `wp_page_shared`).
                *slot = pte::mkwrite(old);
                mmu::flush_tlb_user_page(self.asid, page_va);
                return Ok(old_pa);
            }
            if page_count(old_pa) == 1 {
                // The only user left: take the page back (Linux:
                // `wp_page_reuse`).
                *slot = pte::mkwrite(old);
            } else {
                // Copy it (Linux: `wp_page_copy`), break-before-make.
                // The old page stays alive (this entry holds a reference)
                // until put_page below.
                let new_pa = copy_user_page(old_pa).ok_or(Errno::ENOMEM)?;
                if exec {
                    // Copied code must be what this mapping fetches.
                    crate::arch::cache::sync_icache_range(phys_to_virt(new_pa), PAGE_SIZE);
                }
                *slot = 0;
                mmu::flush_tlb_user_page(self.asid, page_va);
                *slot = pte::user_page(new_pa, true, exec);
                put_page(old_pa);
                return Ok(new_pa);
            }
            mmu::flush_tlb_user_page(self.asid, page_va);
        }
        Ok(pte::addr(*slot))
    }

    /// A fault on a file mapping with no page yet (Linux: `do_read_fault`,
    /// `do_shared_fault`, `do_cow_fault`): the file's page is mapped, or for
    /// a write to a private mapping, a copy of it.
    #[allow(clippy::too_many_arguments)]
    fn file_fault(
        &self,
        inner: &MmInner,
        slot: &mut u64,
        kind: VmaKind,
        object: u32,
        index: u64,
        access: Access,
        writable: bool,
        exec: bool,
    ) -> Result<u64, Errno> {
        let mapping = inner.mappings.get(&object).ok_or(Errno::EFAULT)?;
        let pa = mapping.find_or_create_page(index)?;
        let shared = matches!(kind, VmaKind::Shared { .. });
        let (pa, writable) = if shared {
            (pa, writable)
        } else if access == Access::Write {
            let Some(copy) = alloc_user_page() else {
                put_page(pa);
                return Err(Errno::ENOMEM);
            };
            // SAFETY: both frames are RAM in the linear map; the file's page
            // is held by the reference find_or_create_page gave us.
            unsafe {
                core::ptr::copy_nonoverlapping(phys_to_virt(pa) as *const u8, phys_to_virt(copy) as *mut u8, PAGE_SIZE)
            };
            put_page(pa);
            (copy, true)
        } else {
            (pa, false)
        };
        if exec {
            crate::arch::cache::sync_icache_range(phys_to_virt(pa), PAGE_SIZE);
        }
        *slot = pte::user_page(pa, writable, exec);
        self.rss.fetch_add(1, Ordering::Relaxed);
        Ok(pa)
    }

    /// Calls `f(kernel_pointer, len)` for each page-sized piece of the user
    /// range `[addr, addr + len)`, faulting pages in as `access` needs. The
    /// lock is held for each piece, so no page can go away under `f`, and
    /// interrupts wait for one page's work at most. `EFAULT` for anything
    /// outside a suitable VMA.
    pub fn access(
        &self,
        addr: u64,
        len: usize,
        access: Access,
        mut f: impl FnMut(*mut u8, usize),
    ) -> Result<(), Errno> {
        let end = addr.checked_add(len as u64).ok_or(Errno::EFAULT)?;
        if end > TASK_SIZE {
            return Err(Errno::EFAULT);
        }
        let mut at = addr;
        while at < end {
            let chunk = ((at | (PAGE - 1)) + 1).min(end) - at;
            let (inner, pa) = self.page_locked(at, access)?;
            f(phys_to_virt(pa) as *mut u8, chunk as usize);
            drop(inner);
            at += chunk;
        }
        Ok(())
    }

    /// [`Self::translate_locked`] for `addr`, taking the lock, and
    /// retrying after the OOM killer made room where a page was missing;
    /// the lock comes back held.
    fn page_locked(
        &self,
        addr: u64,
        access: Access,
    ) -> Result<(crate::sync::IrqSpinLockGuard<'_, MmInner>, u64), Errno> {
        loop {
            let inner = self.inner.lock();
            match self.translate_locked(&inner, addr, access) {
                Ok(pa) => return Ok((inner, pa)),
                Err(Errno::ENOMEM) => {
                    // No page for the fault: without the lock, the OOM
                    // killer makes room, and the page is tried again.
                    drop(inner);
                    if !super::oom_kill::out_of_memory() {
                        return Err(Errno::ENOMEM);
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The kernel (linear-map) address of the page at `page` (page
    /// aligned) of the new address space exec is building, faulted in as
    /// a read would be (an anonymous area's page is a fresh zeroed page of
    /// its own), for exec to write the stack and a segment's last partial
    /// page whatever the areas' permissions. The address stays good for the
    /// address space's life while exec alone holds it: nothing else can
    /// reach it to unmap the page, and exec maps no area over one it wrote.
    pub fn exec_page(&self, page: u64) -> Result<*mut u8, Errno> {
        if page >= TASK_SIZE {
            return Err(Errno::EFAULT);
        }
        let (inner, pa) = self.page_locked(page, Access::Read)?;
        drop(inner);
        Ok(phys_to_virt(pa) as *mut u8)
    }

    /// The physical address for `addr` if it is mapped with the permission
    /// `access` needs, faulting it in otherwise.
    fn translate_locked(&self, inner: &MmInner, addr: u64, access: Access) -> Result<u64, Errno> {
        let mut tables = self.tables();
        let mut pt = PageTable::from_root(self.root, &mut tables);
        if let Ok(Some(slot)) = pt.pte_mut(addr, false) {
            let e = *slot;
            if pte::present(e) && pte::user_accessible(e) && (access != Access::Write || pte::writable(e)) {
                return Ok(pte::addr(e) | (addr & (PAGE - 1)));
            }
        }
        self.fault_locked(inner, addr, access).map(|pa| pa | (addr & (PAGE - 1)))
    }

    /// Whether `[addr, addr + len)` lies in VMAs allowing `access`, without
    /// touching a page (Linux: `access_ok` plus the VMA check a fault
    /// would make), so a call can refuse a bad buffer before it consumes
    /// anything.
    pub fn access_ok(&self, addr: u64, len: usize, access: Access) -> bool {
        let Some(end) = addr.checked_add(len as u64) else { return false };
        if end > TASK_SIZE {
            return false;
        }
        let inner = self.inner.lock();
        let mut at = addr;
        while at < end {
            let Some(v) = inner.vmas.find(at) else { return false };
            let ok = match access {
                Access::Read => v.prot != 0,
                Access::Write => v.prot & prot::WRITE != 0,
                Access::Exec => v.prot & prot::EXEC != 0,
            };
            if !ok {
                return false;
            }
            at = v.end;
        }
        true
    }

    /// Maps a new area (Linux: `do_mmap` for anonymous private memory, and
    /// for the executable's segments at exec). Pages come on demand.
    /// Writable private areas are committed memory (mm/overcommit.rs).
    pub fn map_area(&self, start: u64, len: u64, prot_bits: u8, kind: VmaKind) -> Result<(), Errno> {
        insert_committed(&mut self.inner.lock(), start, len, prot_bits, kind)
    }

    /// Maps `[start, start + len)` privately from the file that `object`
    /// names in this address space's table (entered with `mapping` if it is
    /// not there yet), the area's first page being the file's page `pgoff`
    /// (Linux: `elf_map`, a MAP_PRIVATE `vm_mmap` of the segment at exec).
    /// Pages come on demand, the file's own until a write copies one.
    /// EEXIST if anything is mapped there.
    pub fn map_private_file(
        &self,
        start: u64,
        len: u64,
        prot_bits: u8,
        object: u32,
        mapping: &MappingRef,
        pgoff: u64,
    ) -> Result<(), Errno> {
        let mut inner = self.inner.lock();
        let base = start.wrapping_sub(pgoff.wrapping_mul(PAGE));
        let kind = VmaKind::PrivateFile { object, base };
        // A writable segment is committed memory (mm/overcommit.rs).
        insert_committed(&mut inner, start, len, prot_bits, kind)?;
        inner.mappings.entry(object).or_insert_with(|| mapping.clone());
        Ok(())
    }

    /// Calls `f(inner, vma, va, entry)` for every page mapped in the
    /// address space, with its lock held (Linux: `walk_page_vma` as
    /// /proc's smaps uses it).
    pub fn for_each_mapped_page(&self, mut f: impl FnMut(&MmInner, &super::vma::Vma, u64, u64)) {
        let inner = self.inner.lock();
        let mut tables = self.tables();
        let mut pt = PageTable::from_root(self.root, &mut tables);
        for v in inner.vmas.iter() {
            pt.for_each_pte_in(v.start, v.end, |va, slot| f(&inner, v, va, *slot));
        }
    }

    /// Maps `len` bytes of new anonymous memory (Linux: `do_mmap`) and
    /// returns where. `Placement::Hint` finds room at or above the hint
    /// (Linux: `get_unmapped_area`); `Fixed` replaces whatever was at the
    /// address; `FixedNoReplace` fails with EEXIST if anything was. One hold
    /// of the lock covers the choice and the insertion, so two threads
    /// mapping at once never pick the same gap, and nothing can take the
    /// hole a fixed mapping just made.
    /// `limits`: RLIMIT_AS and RLIMIT_DATA, checked before anything
    /// changes (ENOMEM). A private writable mapping is committed memory,
    /// which `vm.overcommit_memory` may refuse (ENOMEM; mm/overcommit.rs);
    /// `noreserve` (MAP_NORESERVE) skips that check but in mode 2.
    pub fn mmap_area(
        &self,
        addr: u64,
        len: u64,
        prot_bits: u8,
        placement: Placement,
        limits: VmLimits,
        noreserve: bool,
    ) -> Result<u64, Errno> {
        self.mmap_region(addr, len, prot_bits, placement, limits, None, noreserve, false)
    }

    /// [`MmStruct::mmap_area`] of a file, or of anonymous memory if `file`
    /// is None (Linux: `mmap_region`, whose argument list is as long);
    /// `growsdown`: anonymous memory that grows down when touched below
    /// (MAP_GROWSDOWN; ignored for files).
    #[allow(clippy::too_many_arguments)]
    pub fn mmap_region(
        &self,
        addr: u64,
        len: u64,
        prot_bits: u8,
        placement: Placement,
        limits: VmLimits,
        file: Option<FileMap>,
        noreserve: bool,
        growsdown: bool,
    ) -> Result<u64, Errno> {
        let mut inner = self.inner.lock();
        let replaced = if placement == Placement::Fixed { (addr, addr.saturating_add(len)) } else { (0, 0) };
        inner.vmas.may_expand(replaced.0, replaced.1, len, prot_bits & prot::WRITE != 0, limits)?;
        let private = file.as_ref().is_none_or(|f| !f.shared);
        let checked = !noreserve || overcommit::mode() == overcommit::OVERCOMMIT_NEVER;
        let charge = if private && checked && prot_bits & prot::WRITE != 0 { overcommit::pages(len) } else { 0 };
        committed_change(&mut inner, charge, |inner| {
            self.mmap_locked(inner, addr, len, prot_bits, placement, file, growsdown)
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn mmap_locked(
        &self,
        inner: &mut MmInner,
        addr: u64,
        len: u64,
        prot_bits: u8,
        placement: Placement,
        file: Option<FileMap>,
        growsdown: bool,
    ) -> Result<u64, Errno> {
        let start = match placement {
            Placement::Hint => {
                let low = if addr == 0 { MMAP_BASE } else { addr };
                inner
                    .vmas
                    .find_free(len, low, inner.mmap_base)
                    .or_else(|| inner.vmas.find_free(len, MMAP_BASE, inner.mmap_base))
                    .ok_or(Errno::ENOMEM)?
            }
            Placement::Fixed => {
                if touches_special(inner, addr, len) {
                    return Err(Errno::EINVAL);
                }
                for (s, e) in inner.vmas.unmap(addr, len)? {
                    self.zap_range(s, e);
                }
                addr
            }
            Placement::FixedNoReplace => addr,
        };
        let kind = match &file {
            None if growsdown => VmaKind::GrowsDown,
            None => VmaKind::Anonymous,
            Some(f) => {
                let object = super::filemap::new_object_id();
                let base = start.wrapping_sub(f.pgoff.wrapping_mul(PAGE));
                if f.shared {
                    VmaKind::Shared { object, base }
                } else {
                    VmaKind::PrivateFile { object, base }
                }
            }
        };
        inner.vmas.insert(start, len, prot_bits, kind)?;
        if let (Some(f), Some((object, _))) = (file, kind.file_page(start)) {
            inner.mappings.insert(object, f.mapping);
        }
        prune_mappings(inner);
        Ok(start)
    }

    /// Unmaps the System V shared memory attachment that starts at `addr`
    /// (Linux: `shmdt`): the first area at or above `addr` that maps a
    /// segment from its start at `addr`, and the other pieces of the same
    /// attachment up to the segment's size. Returns the segment; EINVAL
    /// if there is no such area.
    pub fn shm_detach(&self, addr: u64) -> Result<MappingRef, Errno> {
        let mut inner = self.inner.lock();
        let attachment = |inner: &MmInner, v: &Vma| match v.kind {
            VmaKind::Shared { object, base } if base == addr => {
                let mapping = inner.mappings.get(&object)?;
                mapping.sysv_shm().map(|(_, size)| (object, size, mapping.clone()))
            }
            _ => None,
        };
        let (first, object, size, segment) = inner
            .vmas
            .iter()
            .filter(|v| v.end > addr)
            .find_map(|v| attachment(&inner, v).map(|(o, s, m)| (*v, o, s, m)))
            .ok_or(Errno::EINVAL)?;
        let size = size.next_multiple_of(PAGE);
        let mut pieces = alloc::vec::Vec::new();
        for v in inner.vmas.iter().filter(|v| v.start >= first.start) {
            if v.start != first.start && v.end - addr > size {
                break;
            }
            if matches!(v.kind, VmaKind::Shared { object: o, base } if o == object && base == addr) {
                pieces.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                pieces.push((v.start, v.end));
            }
        }
        committed_change(&mut inner, 0, |inner| {
            for (start, end) in pieces {
                for (s, e) in inner.vmas.unmap(start, end - start)? {
                    self.zap_range(s, e);
                }
            }
            prune_mappings(inner);
            Ok(())
        })?;
        Ok(segment)
    }

    /// Drops the pages of the mapped range `[start, start + len)`; they
    /// come back on the next touch, zeroed for anonymous private memory,
    /// from the file for file mappings (Linux: `madvise(MADV_DONTNEED)`).
    /// ENOMEM if part of the range is not mapped; EINVAL for the kernel's
    /// own page.
    pub fn madvise_dontneed(&self, start: u64, len: u64) -> Result<(), Errno> {
        let end = start.checked_add(len).filter(|&e| e <= TASK_SIZE).ok_or(Errno::ENOMEM)?;
        let inner = self.inner.lock();
        if touches_special(&inner, start, len) {
            return Err(Errno::EINVAL);
        }
        let mut at = start;
        while at < end {
            let v = inner.vmas.find(at).ok_or(Errno::ENOMEM)?;
            at = v.end;
        }
        self.zap_range(start, end);
        Ok(())
    }

    /// Resizes or moves the mapping at `old` (Linux: `mremap`): shrinking
    /// unmaps the tail; growing extends in place when the room after it is
    /// free, else (`may_move`) moves the whole area, its page-table entries
    /// with it, to a free range or to `fixed`. The range must lie in one
    /// area (EFAULT otherwise, as Linux's `vma_to_resize`).
    pub fn mremap(
        &self,
        old: u64,
        old_len: u64,
        new_len: u64,
        may_move: bool,
        fixed: Option<u64>,
    ) -> Result<u64, Errno> {
        let mut inner = self.inner.lock();
        let vma = *inner.vmas.find(old).ok_or(Errno::EFAULT)?;
        let grow = overcommit::pages(new_len.saturating_sub(old_len));
        let charge = if vma.accountable() { grow } else { 0 };
        committed_change(&mut inner, charge, |inner| {
            self.mremap_locked(inner, vma, old, old_len, new_len, may_move, fixed)
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn mremap_locked(
        &self,
        inner: &mut MmInner,
        vma: Vma,
        old: u64,
        old_len: u64,
        new_len: u64,
        may_move: bool,
        fixed: Option<u64>,
    ) -> Result<u64, Errno> {
        let old_end = old.checked_add(old_len).ok_or(Errno::EFAULT)?;
        if old_end > vma.end || vma.kind == VmaKind::Special {
            return Err(Errno::EFAULT);
        }
        if fixed.is_none() && new_len <= old_len {
            if new_len < old_len {
                for (s, e) in inner.vmas.unmap(old + new_len, old_len - new_len)? {
                    self.zap_range(s, e);
                }
                prune_mappings(inner);
            }
            return Ok(old);
        }
        let grow = new_len - old_len.min(new_len);
        if fixed.is_none() && old_end == vma.end && inner.vmas.find_free(grow, old_end, old_end + grow) == Some(old_end)
        {
            // One area, as Linux's vma_merge leaves it: the record is
            // replaced by a longer one; the pages stay where they are.
            let _ = inner.vmas.unmap(vma.start, vma.len())?;
            if let Err(e) = inner.vmas.insert(vma.start, vma.len() + grow, vma.prot, vma.kind) {
                inner.vmas.insert(vma.start, vma.len(), vma.prot, vma.kind)?;
                return Err(e);
            }
            return Ok(old);
        }
        if !may_move {
            return Err(Errno::ENOMEM);
        }
        let new = match fixed {
            Some(at) => {
                if at < old_end && old < at.saturating_add(new_len) {
                    return Err(Errno::EINVAL);
                }
                if touches_special(inner, at, new_len) {
                    return Err(Errno::EINVAL);
                }
                for (s, e) in inner.vmas.unmap(at, new_len)? {
                    self.zap_range(s, e);
                }
                at
            }
            None => inner.vmas.find_free(new_len, MMAP_BASE, inner.mmap_base).ok_or(Errno::ENOMEM)?,
        };
        // A file mapping keeps each page's file offset.
        let kind = match vma.kind {
            VmaKind::Shared { object, base } => {
                VmaKind::Shared { object, base: base.wrapping_add(new.wrapping_sub(old)) }
            }
            VmaKind::PrivateFile { object, base } => {
                VmaKind::PrivateFile { object, base: base.wrapping_add(new.wrapping_sub(old)) }
            }
            VmaKind::Heap | VmaKind::Stack | VmaKind::Image => VmaKind::Anonymous,
            k => k,
        };
        inner.vmas.insert(new, new_len, vma.prot, kind)?;
        let moved = old_len.min(new_len);
        let mut tables = self.tables();
        let mut pt = PageTable::from_root(self.root, &mut tables);
        let mut va = 0;
        while va < moved {
            let entry = match pt.pte_mut(old + va, false) {
                Ok(Some(slot)) if pte::present(*slot) => core::mem::take(slot),
                _ => {
                    va += PAGE;
                    continue;
                }
            };
            mmu::flush_tlb_user_page(self.asid, old + va);
            match pt.pte_mut(new + va, true) {
                Ok(Some(slot)) => *slot = entry,
                _ => {
                    // No table for the new place: the page goes, as if
                    // never touched (its data is lost only if private).
                    put_page(pte::addr(entry));
                    self.rss.fetch_sub(1, Ordering::Relaxed);
                }
            }
            va += PAGE;
        }
        for (s, e) in inner.vmas.unmap(old, old_len)? {
            self.zap_range(s, e);
        }
        prune_mappings(inner);
        Ok(new)
    }

    /// Whether `[start, start + len)` is all mapped (msync's check).
    pub fn range_mapped(&self, start: u64, len: u64) -> bool {
        let inner = self.inner.lock();
        let end = start.saturating_add(len);
        let mut at = start;
        while at < end {
            match inner.vmas.find(at) {
                Some(v) => at = v.end,
                None => return false,
            }
        }
        true
    }

    /// Removes `[start, start + len)` (Linux: `do_munmap`).
    pub fn unmap_area(&self, start: u64, len: u64) -> Result<(), Errno> {
        if start.checked_add(len).is_none_or(|e| e > TASK_SIZE) {
            return Err(Errno::EINVAL);
        }
        let mut inner = self.inner.lock();
        if touches_special(&inner, start, len) {
            return Err(Errno::EINVAL);
        }
        committed_change(&mut inner, 0, |inner| {
            for (s, e) in inner.vmas.unmap(start, len)? {
                self.zap_range(s, e);
            }
            prune_mappings(inner);
            Ok(())
        })
    }

    /// Drops the pages of `[start, end)` (Linux: `zap_page_range`).
    fn zap_range(&self, start: u64, end: u64) {
        let mut tables = self.tables();
        let mut pt = PageTable::from_root(self.root, &mut tables);
        pt.for_each_pte_in(start, end, |va, slot| {
            let pa = pte::addr(*slot);
            *slot = 0;
            mmu::flush_tlb_user_page(self.asid, va);
            put_page(pa);
            self.rss.fetch_sub(1, Ordering::Relaxed);
        });
    }

    /// Changes permissions (Linux: `mprotect`). Entries lose write
    /// permission at once; they regain it by fault, which also keeps
    /// copy-on-write sharing intact. PROT_NONE pages stay mapped, out of
    /// EL0's reach, so their data is there when access comes back.
    ///
    /// As in Linux, a range with a hole is changed up to the hole, and then
    /// the call fails with ENOMEM (nothing changes if `start` itself is not
    /// mapped).
    pub fn protect_area(&self, start: u64, len: u64, prot_bits: u8) -> Result<(), Errno> {
        // Past the user half nothing is mapped (Linux: ENOMEM).
        let Some(end) = len.checked_next_multiple_of(PAGE).and_then(|l| start.checked_add(l)) else {
            return Err(Errno::ENOMEM);
        };
        if end > TASK_SIZE {
            return Err(Errno::ENOMEM);
        }
        let mut inner = self.inner.lock();
        if touches_special(&inner, start, len) {
            return Err(Errno::EINVAL);
        }
        let covered = inner.vmas.covered_until(start, end);
        if covered == start {
            return Err(Errno::ENOMEM);
        }
        let charge = overcommit::pages(inner.vmas.newly_committed(start, covered, prot_bits));
        committed_change(&mut inner, charge, |inner| inner.vmas.protect(start, covered - start, prot_bits))?;
        let result = if covered < end { Err(Errno::ENOMEM) } else { Ok(()) };
        let none = prot_bits & (prot::READ | prot::WRITE | prot::EXEC) == 0;
        let exec = prot_bits & prot::EXEC != 0;
        let mut tables = self.tables();
        let mut pt = PageTable::from_root(self.root, &mut tables);
        pt.for_each_pte_in(start, covered, |_, slot| {
            *slot = if none {
                pte::no_access(*slot) // PROT_NONE: EL0 must not even read
            } else {
                pte::with_prot(*slot, false, exec)
            };
        });
        mmu::flush_tlb_asid(self.asid);
        result
    }

    /// Moves the program break (Linux: `brk`): returns the new break, or the
    /// old one when the move is refused, as the system call does.
    /// Growth must fit `limits` (RLIMIT_AS, RLIMIT_DATA).
    pub fn set_brk(&self, new: u64, limits: VmLimits) -> u64 {
        let mut inner = self.inner.lock();
        if new < inner.start_brk || new > STACK_TOP - STACK_SIZE {
            return inner.brk;
        }
        let old_end = inner.brk.max(inner.start_brk).next_multiple_of(PAGE);
        let grow = new.next_multiple_of(PAGE).saturating_sub(old_end);
        if grow > 0 && inner.vmas.may_expand(0, 0, grow, true, limits).is_err() {
            return inner.brk;
        }
        let (start, old) = (inner.start_brk, inner.brk);
        let changed =
            committed_change(&mut inner, overcommit::pages(grow), |inner| inner.vmas.set_brk(start, old, new));
        match changed {
            Ok(freed) => {
                for (s, e) in freed {
                    self.zap_range(s, e);
                }
                inner.brk = new;
                new
            }
            Err(_) => inner.brk,
        }
    }

    /// Writes `data` to user memory as the process itself would (breaking
    /// copy-on-write sharing, EFAULT where it may not write): for the
    /// kernel's writes into another task's view, such as the TID words of
    /// clone and exit.
    pub fn write_user(&self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        let mut done = 0;
        self.access(addr, data.len(), Access::Write, |dst, n| {
            // SAFETY: `dst` points to `n` bytes of a mapped user page.
            unsafe { core::ptr::copy_nonoverlapping(data[done..].as_ptr(), dst, n) };
            done += n;
        })
    }

    /// Total size of the areas, bytes (VmSize).
    pub fn total_vm(&self) -> u64 {
        self.inner.lock().vmas.iter().map(|v| v.len()).sum()
    }
}

/// Runs `op`, a change of `inner`'s areas, after asking for `charge` pages
/// of committed memory (ENOMEM and nothing done if refused), then settles
/// the address space's share of the committed total to what its areas hold
/// afterwards, whatever `op` did (a MAP_FIXED that replaced committed
/// memory, a failure half-way).
fn committed_change<R>(
    inner: &mut MmInner,
    charge: u64,
    op: impl FnOnce(&mut MmInner) -> Result<R, Errno>,
) -> Result<R, Errno> {
    overcommit::vm_enough_memory(charge, overcommit::pages(inner.vmas.total()))?;
    let result = op(inner);
    let now = overcommit::pages(inner.vmas.committed());
    overcommit::vm_acct_memory(now as i64 - inner.committed as i64 - charge as i64);
    inner.committed = now;
    result
}

/// Adds an area, charging it as committed memory if it is (private and
/// writable) first.
fn insert_committed(inner: &mut MmInner, start: u64, len: u64, prot_bits: u8, kind: VmaKind) -> Result<(), Errno> {
    let charge = if accountable(prot_bits, kind) { overcommit::pages(len) } else { 0 };
    committed_change(inner, charge, |inner| inner.vmas.insert(start, len, prot_bits, kind).map(|_| ()))
}

/// The lowest stack page execve filled (strings, pointers, auxv), which
/// belongs to the stack whatever RLIMIT_STACK says (Linux: the stack VMA
/// holds the arguments before setup_arg_pages looks at the limit, and only
/// growth beyond it is checked); while execve is still filling the stack
/// (`start_stack` not yet set), nothing is checked.
fn exec_stack_floor(inner: &MmInner) -> u64 {
    if inner.start_stack == 0 {
        0
    } else {
        inner.start_stack & !(PAGE - 1)
    }
}

/// The current task's RLIMIT_STACK in bytes: how far below STACK_TOP the
/// stack may be faulted in, within the area exec mapped and below it.
fn stack_limit() -> u64 {
    crate::sched::task::current().signal_struct().map_or(u64::MAX, |s| s.rlimit(crate::signal::RLIMIT_STACK))
}

/// Grows the stack or MAP_GROWSDOWN area above the unmapped `addr` down to
/// it, up to the current task's RLIMIT_STACK and RLIMIT_AS (Linux:
/// `expand_stack` from the fault handler); EFAULT when there is none or it
/// may not grow. The main stack starts as the `STACK_SIZE` area exec maps
/// and grows below it like any growing area, so a limit above 8 MiB (or
/// none) gives a program more stack, as in Linux.
fn expand_stack(inner: &mut MmInner, addr: u64) -> Result<(), Errno> {
    let address_space =
        crate::sched::task::current().signal_struct().map_or(u64::MAX, |s| s.rlimit(crate::signal::RLIMIT_AS));
    let limits = VmLimits { address_space, data: u64::MAX };
    // The pages it gains are committed memory, asked for first (Linux:
    // acct_stack_growth's `security_vm_enough_memory_mm`).
    let grow = match inner.vmas.iter().find(|v| v.start > addr) {
        Some(v) if v.kind.grows_down() && v.accountable() => v.start - (addr & !(PAGE - 1)),
        _ => 0,
    };
    committed_change(inner, overcommit::pages(grow), |inner| inner.vmas.expand_down(addr, stack_limit(), limits))
        .map(|_| ())
        .map_err(|_| Errno::EFAULT)
}

/// Forgets the mapped files no VMA refers to any more.
fn prune_mappings(inner: &mut MmInner) {
    if inner.mappings.is_empty() {
        return;
    }
    let vmas = &inner.vmas;
    inner.mappings.retain(|id, _| vmas.iter().any(|v| v.kind.file_page(v.start).is_some_and(|(o, _)| o == *id)));
}

/// Whether `[start, start + len)` overlaps a kernel-provided page, which a
/// process may neither unmap nor change.
fn touches_special(inner: &MmInner, start: u64, len: u64) -> bool {
    let end = start.saturating_add(len);
    inner.vmas.iter().any(|v| v.kind == VmaKind::Special && v.start < end && start < v.end)
}

impl Drop for MmStruct {
    /// The last user is gone (Linux: `mmput` -> `exit_mmap`): every page
    /// loses a reference, the tables and the ASID are freed.
    ///
    /// Pages are found through the VMAs (every present entry lies in one:
    /// unmapping zaps what it removes) and the tables through their chain,
    /// so no table is scanned beyond the mapped ranges. The walk clears
    /// every entry it passes, links included; when it reached every table
    /// (none hangs below an area unmapped since), the tables hold only
    /// zeros and go back as zeroed frames, which the next address space
    /// takes without clearing them.
    fn drop(&mut self) {
        let inner = self.inner.lock();
        overcommit::vm_acct_memory(-(inner.committed as i64));
        let mut tables = UserTables { chain: &self.tables, count: &self.pgtables };
        let mut pt = PageTable::from_root(self.root, &mut tables);
        // Not zero-filled first: only the `n` written are read.
        let mut ranges = [const { core::mem::MaybeUninit::<(u64, u64)>::uninit() }; ZAP_RANGES];
        let mut n = 0;
        for (start, end, ()) in self.walk_ranges(inner.vmas.iter(), |_| ()) {
            if n < ZAP_RANGES {
                ranges[n].write((start, end - 1));
            }
            n += 1;
        }
        let zeroed = if n <= ZAP_RANGES {
            // SAFETY: the first `n` elements were written above.
            let ranges = unsafe { core::slice::from_raw_parts(ranges.as_ptr().cast::<(u64, u64)>(), n) };
            let unlinked = pt.zap_ranges(ranges, |entry| put_page(pte::addr(entry)));
            unlinked as u64 + 1 == self.pgtables.load(Ordering::Relaxed)
        } else {
            for (start, end, ()) in self.walk_ranges(inner.vmas.iter(), |_| ()) {
                pt.for_each_pte_in(start, end, |_, entry| put_page(pte::addr(*entry)));
            }
            false
        };
        drop(inner);
        let mut next = Some(self.tables.swap(0, Ordering::Relaxed));
        while let Some(pa) = next.filter(|&pa| pa != 0) {
            next = super::page::take_table_link(pa);
            let _ = if zeroed { super::phys::free_zeroed_frame(pa) } else { super::phys::free_frame(pa) };
        }
        mmu::flush_tlb_asid(self.asid);
        ASIDS.lock().free(self.asid);
    }
}

/// The TTBR0 value of the empty table kernel threads run with.
static RESERVED_TTBR0: AtomicU64 = AtomicU64::new(0);

/// Allocates the reserved (empty) user table; boot CPU, once.
pub fn init_reserved_table() -> u64 {
    let pa = super::phys::alloc_frame().expect("no memory for the reserved table");
    // SAFETY: a fresh frame in the linear map.
    unsafe { core::ptr::write_bytes(phys_to_virt(pa) as *mut u8, 0, PAGE_SIZE) };
    RESERVED_TTBR0.store(pa, Ordering::Relaxed);
    pa
}

/// TTBR0 for tasks without an address space.
pub fn reserved_ttbr0() -> u64 {
    RESERVED_TTBR0.load(Ordering::Relaxed)
}
