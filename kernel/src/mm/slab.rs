//! The slab allocator: caches of equal-sized kernel objects carved out of
//! naturally aligned runs of pages (Linux: mm/slab.c and mm/slub.c —
//! `kmem_cache_create`, `kmem_cache_alloc`, `kmem_cache_free`,
//! `kmem_cache_shrink`, `/proc/slabinfo`).
//!
//! This module owns [`KmemCache`] (one cache of one object size), the
//! [`PageSource`] trait it takes its pages from, and the slab statistics.
//!
//! # Layout
//!
//! A slab is `pages_per_slab` pages (a power of two, chosen so at least
//! [`MIN_OBJS_PER_SLAB`] objects fit, at most [`MAX_PAGES_PER_SLAB`]) aligned to
//! its own size, so the slab of an object is found by masking its address
//! (Linux finds it through `struct page`: `virt_to_slab`). The slab header sits
//! on-slab at the start (like the old SLAB's on-slab `struct slab`): a magic
//! word keyed by the slab's address and the owning cache's id (one load tells
//! a slab of this cache from a foreign pointer), a bitmap of
//! objects handed out to callers (to catch double frees), and, under the
//! cache's lock, the free list, the in-use count and the list links. Objects
//! follow the header, each rounded up to the cache's alignment (at least 8
//! bytes, the size of the free-list pointer a free object holds in its first
//! word). Freed objects are reused last-in first-out.
//!
//! # Lists and the lock
//!
//! Each cache keeps partial, full and free (empty) slabs on intrusive lists
//! through the headers (Linux SLAB's `slabs_partial`/`slabs_full`/`slabs_free`)
//! under its [`IrqSpinLock`]. At most [`MAX_FREE_SLABS`] empty slabs are kept;
//! further empty slabs go back to the page source at once. The page source is
//! only called with the cache lock dropped, so the two never nest.
//!
//! # Per-core magazines
//!
//! The fast path is a per-core stack of up to [`MAGAZINE_SIZE`] object
//! pointers (Linux SLAB's `array_cache`): `alloc` pops from this core's
//! magazine, `free` pushes to it, with no lock on the magazine (debug builds
//! add the `busy` check below). The one shared write on the fast path is an
//! atomic bit flip in the slab header's bitmap, the price of catching every
//! double free (Linux catches most only with `slub_debug`); no counter is
//! updated atomically (see Statistics). Both fast paths are inlined into
//! their callers; refills, flushes and a core without a magazine take
//! out-of-line cold paths. An empty magazine
//! is refilled with [`BATCH`] objects from
//! the lists under the lock; a full one flushes its [`BATCH`] oldest objects
//! back. A magazine is touched only by its own core with IRQs masked, and the
//! core number is read *after* masking, so a task cannot migrate between
//! choosing the magazine and using it (see [`KmemCache::alloc`]).
//!
//! Because nothing but the owning core may touch a magazine, [`KmemCache::shrink`]
//! drains only the calling core's magazine (Linux drains every core's with an
//! IPI, `on_each_cpu`); each core empties its own with
//! [`KmemCache::drain_local`] (for an IPI, the tick, or a core going offline).
//! Every magazine is drained when the cache is dropped (`&mut self` is
//! exclusive).
//!
//! # Statistics
//!
//! `active_objs` counts objects handed out to callers and not yet freed;
//! objects sitting in magazines are *not* active (Linux SLAB counts them as
//! active) and are reported separately as `cached_objs`. Neither is counted
//! on the fast path: the lists count the objects off the slabs' free lists
//! (`taken`, under the lock), each magazine its own length (written only by
//! its core, read by anyone), and [`KmemCache::stats`] derives `cached_objs`
//! as the sum of the magazine lengths and `active_objs` as `taken` minus that
//! sum (Linux sums per-CPU counters the same way). The counts are exact
//! whenever no allocation or free is in flight.
//!
//! # Errors
//!
//! [`KmemCache::free`] returns an error, and changes nothing, for a double
//! free, a pointer not in a slab of this cache, or a pointer into a slab that
//! is not an object's start. A free list found corrupted (a write after free)
//! is reported with a panic: that is memory corruption, not a bad argument.
//!
//! # Host tests
//!
//! On the host `core_id()` is always 0 and IRQ masking does nothing, so test
//! threads would share magazine 0 without exclusion. In test builds the core
//! number comes from a thread-local instead (tests give each worker thread its
//! own), and in test and debug builds every magazine carries a `busy` flag that
//! makes a second concurrent user panic before it touches the magazine: the
//! exclusivity that IRQ masking gives on the target is checked, never assumed.

use crate::arch::cpu::{local_irq_restore, local_irq_save};
use crate::config::NR_CPUS;
use crate::errno::Errno;
use crate::mm::frame::PAGE_SIZE;
use crate::sync::IrqSpinLock;
use core::cell::UnsafeCell;
use core::fmt;
use core::mem::size_of;
use core::num::NonZeroUsize;
use core::ptr::{addr_of, NonNull};
#[cfg(any(test, debug_assertions))]
use core::sync::atomic::AtomicBool;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

/// Where a cache gets its slabs' pages (the kernel: the frame allocator and
/// the linear map; host tests: std's allocator).
pub trait PageSource: Sync {
    /// Allocates `pages` contiguous pages (`pages` a power of two) and returns
    /// their virtual address, a multiple of `pages * PAGE_SIZE`; `None` when out
    /// of memory. A misaligned run is given straight back and counts as failure.
    fn alloc_pages(&self, pages: usize) -> Option<usize>;
    /// Gives back a run that [`PageSource::alloc_pages`] returned for the same `pages`.
    fn free_pages(&self, va: usize, pages: usize);
}

/// Objects a per-core magazine holds (Linux: `array_cache.limit`).
pub const MAGAZINE_SIZE: usize = 16;
/// Objects moved between a magazine and the slab lists at a time (Linux: `batchcount`).
pub const BATCH: usize = 8;
/// A slab grows (in powers of two pages) until at least this many objects fit.
pub const MIN_OBJS_PER_SLAB: usize = 8;
/// Largest slab, in pages.
pub const MAX_PAGES_PER_SLAB: usize = 32;
/// Empty slabs a cache keeps for reuse; more go back to the page source at once.
pub const MAX_FREE_SLABS: usize = 2;

/// Smallest object size and alignment: a free object holds the free-list pointer.
const MIN_ALIGN: usize = size_of::<usize>();
const BITMAP_WORDS: usize = 8;
const MAX_OBJS_PER_SLAB: usize = BITMAP_WORDS * u64::BITS as usize;
/// XORed with the slab's address and the cache id in the header while the slab belongs to a cache.
const SLAB_MAGIC: usize = 0x534c_4142_5f48_4452;

/// The magic word of a live slab at `slab` owned by the cache with id `id`.
/// Equal for one slab address only when the ids are equal, so one compare
/// checks both that a slab is live and whose it is; ids are never 0, so a cache
/// that has no id yet matches no slab. Computed as `slab ^ magic_key(id)`, the
/// key kept in the cache so `free` need not build the constant.
const fn slab_magic(slab: usize, id: usize) -> usize {
    slab ^ magic_key(id)
}

/// The part of [`slab_magic`] that depends on the cache only.
const fn magic_key(id: usize) -> usize {
    SLAB_MAGIC ^ id
}

/// Cache ids are assigned when a cache makes its first slab (0: none yet).
static NEXT_CACHE_ID: AtomicUsize = AtomicUsize::new(1);

/// Which list a slab is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SlabList {
    Partial = 0,
    Full = 1,
    Free = 2,
}

/// The on-slab header at the start of every slab.
#[repr(C, align(64))]
struct SlabHeader {
    /// [`slab_magic`] of the slab's address and the owning cache's id while the
    /// slab is live, 0 once given back.
    magic: AtomicUsize,
    /// Bit set: the object is handed out to a caller (not free, not in a magazine).
    handed_out: [AtomicU64; BITMAP_WORDS],
    /// Touched only with the owning cache's lock held.
    state: UnsafeCell<SlabState>,
}

/// The lock-protected part of a slab header.
struct SlabState {
    /// First free object (its first word links to the next), 0 if none.
    freelist: usize,
    /// Objects off the free list (handed out or in a magazine).
    inuse: usize,
    next: usize,
    prev: usize,
    list: SlabList,
}

const SLAB_HEADER_SIZE: usize = size_of::<SlabHeader>();
const _: () = assert!(SLAB_HEADER_SIZE == 128, "slab header grew");

/// The header of the slab at `slab`.
///
/// # Safety
/// `slab` must be the address of a readable, initialised slab header that stays
/// allocated for `'a`.
unsafe fn header<'a>(slab: usize) -> &'a SlabHeader {
    // SAFETY: forwarded contract; the header is aligned because slabs are page-aligned.
    unsafe { &*(slab as *const SlabHeader) }
}

/// The lock-protected state of the slab at `slab`.
///
/// # Safety
/// `slab` must be a live slab of a cache whose lock the caller holds (or owns
/// exclusively, off every list), and no other reference to its state may be live.
unsafe fn state<'a>(slab: usize) -> &'a mut SlabState {
    // SAFETY: forwarded contract: the lock makes this the only access to the state.
    unsafe { &mut *header(slab).state.get() }
}

/// Object size and slab shape of a cache.
#[derive(Clone, Copy, Debug)]
struct Geometry {
    /// Object size rounded up to the alignment (never 0: the divisor of an
    /// object's offset, with no zero check on the fast paths).
    size: NonZeroUsize,
    /// Offset of the first object in the slab.
    first: usize,
    objs: usize,
    pages: usize,
    slab_bytes: usize,
}

impl Geometry {
    const fn new(object_size: usize, align: usize) -> Result<Self, Errno> {
        if object_size == 0 || (align != 0 && !align.is_power_of_two()) || align > PAGE_SIZE {
            return Err(Errno::EINVAL);
        }
        let align = if align < MIN_ALIGN { MIN_ALIGN } else { align };
        let size = if object_size < MIN_ALIGN { MIN_ALIGN } else { object_size };
        let Some(size) = size.checked_next_multiple_of(align) else { return Err(Errno::EINVAL) };
        let Some(nz_size) = NonZeroUsize::new(size) else { return Err(Errno::EINVAL) };
        let first = SLAB_HEADER_SIZE.next_multiple_of(align);
        let mut pages = 1;
        while pages < MAX_PAGES_PER_SLAB
            && pages * PAGE_SIZE < first.saturating_add(MIN_OBJS_PER_SLAB.saturating_mul(size))
        {
            pages *= 2;
        }
        let slab_bytes = pages * PAGE_SIZE;
        if size > slab_bytes - first {
            return Err(Errno::EINVAL);
        }
        let objs = (slab_bytes - first) / size;
        let objs = if objs > MAX_OBJS_PER_SLAB { MAX_OBJS_PER_SLAB } else { objs };
        Ok(Geometry { size: nz_size, first, objs, pages, slab_bytes })
    }

    /// The slab holding address `addr`.
    fn slab_of(&self, addr: usize) -> usize {
        addr & !(self.slab_bytes - 1)
    }

    /// Index of the object starting at `addr` in the slab at `slab`, if an object starts there.
    #[inline]
    fn index_of(&self, slab: usize, addr: usize) -> Option<usize> {
        // An address in the header wraps to a huge offset, whose index is out of range.
        let offset = addr.wrapping_sub(slab + self.first);
        let index = offset / self.size;
        (offset % self.size == 0 && index < self.objs).then_some(index)
    }

    /// The handed-out bit of object `index` (below `objs`): its word and mask.
    #[inline]
    fn bit_of(index: usize) -> (usize, u64) {
        // `% BITMAP_WORDS` changes nothing for an index below `MAX_OBJS_PER_SLAB`
        // and lets the compiler drop the bounds check.
        ((index / 64) % BITMAP_WORDS, 1u64 << (index % 64))
    }
}

/// The cache's slab lists; exists only inside the cache's lock.
struct Lists {
    heads: [usize; 3],
    counts: [usize; 3],
    /// Objects off the slabs' free lists (handed out or in magazines).
    taken: usize,
}

impl Lists {
    const fn new() -> Self {
        Lists { heads: [0; 3], counts: [0; 3], taken: 0 }
    }

    /// Puts `slab` at the head of `list`.
    ///
    /// # Safety
    /// `slab` is a live slab of this cache on no list; every slab on the lists is live.
    unsafe fn link(&mut self, slab: usize, list: SlabList) {
        let head = self.heads[list as usize];
        // SAFETY: the caller's contract; `&mut self` means the lock is held.
        let st = unsafe { state(slab) };
        st.next = head;
        st.prev = 0;
        st.list = list;
        if head != 0 {
            // SAFETY: `head` is a live slab on a list, not `slab`.
            unsafe { state(head) }.prev = slab;
        }
        self.heads[list as usize] = slab;
        self.counts[list as usize] += 1;
    }

    /// Takes `slab` off its list.
    ///
    /// # Safety
    /// `slab` is a live slab on one of these lists.
    unsafe fn unlink(&mut self, slab: usize) {
        // SAFETY: the caller's contract; `&mut self` means the lock is held.
        let (prev, next, list) = {
            let st = unsafe { state(slab) };
            (st.prev, st.next, st.list)
        };
        if prev != 0 {
            // SAFETY: neighbours on a list are live slabs of this cache.
            unsafe { state(prev) }.next = next;
        } else {
            self.heads[list as usize] = next;
        }
        if next != 0 {
            // SAFETY: as above.
            unsafe { state(next) }.prev = prev;
        }
        self.counts[list as usize] -= 1;
    }

    /// Moves `slab` to `list` if it is not there already.
    ///
    /// # Safety
    /// `slab` is a live slab on one of these lists.
    unsafe fn move_to(&mut self, slab: usize, list: SlabList) {
        // SAFETY: the caller's contract.
        if unsafe { state(slab) }.list != list {
            // SAFETY: the caller's contract.
            unsafe {
                self.unlink(slab);
                self.link(slab, list);
            }
        }
    }

    /// Takes a free object off a partial slab, else an empty one.
    ///
    /// # Safety
    /// Every slab on the lists is a live slab of the cache with geometry `geo`.
    unsafe fn take_object(&mut self, geo: &Geometry) -> Option<usize> {
        let slab = match self.heads {
            [partial, _, _] if partial != 0 => partial,
            [_, _, free] if free != 0 => free,
            _ => return None,
        };
        // SAFETY: `slab` is on a list, so live; the lock is held.
        let st = unsafe { state(slab) };
        let obj = st.freelist;
        // SAFETY: `obj` is a free object of this slab (partial and empty slabs
        // have one); its first word is the free-list link and nobody else uses it.
        let next = unsafe { (obj as *const usize).read() };
        assert!(
            next == 0 || (geo.slab_of(next) == slab && geo.index_of(slab, next).is_some()),
            "slab: free list corrupted at {obj:#x} (write after free?)"
        );
        st.freelist = next;
        st.inuse += 1;
        let list = if st.inuse == geo.objs { SlabList::Full } else { SlabList::Partial };
        self.taken += 1;
        // SAFETY: `slab` is live and on a list.
        unsafe { self.move_to(slab, list) };
        Some(obj)
    }

    /// Returns `obj` to its slab's free list; returns the slab if it became
    /// empty and must go back to the page source (it is then off every list).
    ///
    /// # Safety
    /// `obj` is an object of a live slab of this cache, taken by `take_object`
    /// and not returned since.
    unsafe fn put_object(&mut self, obj: usize, geo: &Geometry) -> Option<usize> {
        let slab = geo.slab_of(obj);
        // SAFETY: the caller's contract; the lock is held.
        let st = unsafe { state(slab) };
        // SAFETY: the object is ours again and aligned for a usize; its first word becomes the link.
        unsafe { (obj as *mut usize).write(st.freelist) };
        st.freelist = obj;
        st.inuse -= 1;
        self.taken -= 1;
        let empty = st.inuse == 0;
        if empty && self.counts[SlabList::Free as usize] >= MAX_FREE_SLABS {
            // SAFETY: `slab` is live and on a list.
            unsafe { self.unlink(slab) };
            return Some(slab);
        }
        let list = if empty { SlabList::Free } else { SlabList::Partial };
        // SAFETY: `slab` is live and on a list.
        unsafe { self.move_to(slab, list) };
        None
    }
}

/// One core's magazine: a stack of free objects (Linux: `struct array_cache`).
struct CpuCache {
    /// Objects on the stack. Written only by the owning core with IRQs masked
    /// (or through `&mut KmemCache`), with plain loads and stores, never a
    /// read-modify-write; read by [`KmemCache::stats`] on any core.
    count: AtomicUsize,
    /// The stack; touched only under the same rule as the writes of `count`.
    objs: UnsafeCell<[usize; MAGAZINE_SIZE]>,
    /// Set while a core uses the magazine: a second user panics instead of racing.
    #[cfg(any(test, debug_assertions))]
    busy: AtomicBool,
}

impl CpuCache {
    const fn new() -> Self {
        CpuCache {
            count: AtomicUsize::new(0),
            objs: UnsafeCell::new([0; MAGAZINE_SIZE]),
            #[cfg(any(test, debug_assertions))]
            busy: AtomicBool::new(false),
        }
    }

    /// Borrows the magazine.
    ///
    /// # Safety
    /// Nothing else may use the magazine until the guard is dropped: it is this
    /// core's with IRQs masked until then, or the caller owns it exclusively.
    #[inline]
    unsafe fn claim(&self, name: &str) -> Magazine<'_> {
        #[cfg(any(test, debug_assertions))]
        assert!(
            !self.busy.swap(true, core::sync::atomic::Ordering::Acquire),
            "slab {name}: a core's magazine used by two contexts at once"
        );
        let _ = name;
        Magazine {
            count: &self.count,
            // SAFETY: the caller's contract makes this the only access to the stack.
            objs: unsafe { &mut *self.objs.get() },
            #[cfg(any(test, debug_assertions))]
            busy: &self.busy,
        }
    }
}

/// A claimed magazine (see [`CpuCache::claim`]).
struct Magazine<'a> {
    count: &'a AtomicUsize,
    objs: &'a mut [usize; MAGAZINE_SIZE],
    #[cfg(any(test, debug_assertions))]
    busy: &'a AtomicBool,
}

impl Magazine<'_> {
    #[inline]
    fn len(&self) -> usize {
        self.count.load(Relaxed)
    }

    /// Pushes `obj`; the magazine must not be full.
    #[inline]
    fn push(&mut self, obj: usize) {
        let n = self.len();
        debug_assert!(n < MAGAZINE_SIZE, "push onto a full magazine");
        // `% MAGAZINE_SIZE` changes nothing for `n` below it and drops the bounds check.
        self.objs[n % MAGAZINE_SIZE] = obj;
        // A plain store: only the claimer writes the count.
        self.count.store(n + 1, Relaxed);
    }

    /// Pushes `obj` unless the magazine is full; says whether it did.
    #[inline]
    fn try_push(&mut self, obj: usize) -> bool {
        let n = self.len();
        if n >= MAGAZINE_SIZE {
            return false;
        }
        self.objs[n] = obj;
        self.count.store(n + 1, Relaxed);
        true
    }

    #[inline]
    fn pop(&mut self) -> Option<usize> {
        let n = self.len().checked_sub(1)?;
        self.count.store(n, Relaxed);
        Some(self.objs[n % MAGAZINE_SIZE])
    }
}

impl Drop for Magazine<'_> {
    #[inline]
    fn drop(&mut self) {
        #[cfg(any(test, debug_assertions))]
        self.busy.store(false, core::sync::atomic::Ordering::Release);
    }
}

/// Number of the executing core, indexing the magazines (Linux: `smp_processor_id`).
#[cfg(not(test))]
fn this_core() -> usize {
    crate::arch::cpu::core_id()
}

/// Test builds: a per-thread pretend core number (see the module docs).
#[cfg(test)]
fn this_core() -> usize {
    tests::TEST_CORE.with(|c| c.get())
}

/// Errors of [`KmemCache::free`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlabError {
    /// The pointer is not in a slab of this cache.
    ForeignObject,
    /// The pointer is in a slab of this cache but not at the start of an object.
    Misaligned,
    /// The object is not allocated (already freed).
    DoubleFree,
}

impl fmt::Display for SlabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SlabError::ForeignObject => "object not from this cache",
            SlabError::Misaligned => "pointer not at an object's start",
            SlabError::DoubleFree => "double free",
        })
    }
}

/// A snapshot of a cache's counters (a `/proc/slabinfo` line and more).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlabStats {
    /// The cache's name.
    pub name: &'static str,
    /// Objects handed out to callers and not yet freed (magazines excluded).
    pub active_objs: usize,
    /// Objects in all slabs (`num_slabs * objs_per_slab`).
    pub num_objs: usize,
    /// Free objects held in per-core magazines.
    pub cached_objs: usize,
    /// Object size, rounded up to the alignment.
    pub object_size: usize,
    /// Objects in one slab.
    pub objs_per_slab: usize,
    /// Pages in one slab.
    pub pages_per_slab: usize,
    /// Slabs the cache holds.
    pub num_slabs: usize,
    /// Slabs with some objects free and some taken.
    pub partial_slabs: usize,
    /// Slabs with every object taken.
    pub full_slabs: usize,
    /// Slabs with no object taken.
    pub free_slabs: usize,
}

/// The column header of [`SlabStats`]'s `Display` lines (Linux: `/proc/slabinfo`).
pub fn slabinfo_header() -> &'static str {
    "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>"
}

impl fmt::Display for SlabStats {
    /// `name active_objs num_objs objsize objperslab pagesperslab`, spaced as Linux does.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<17} {:>6} {:>6} {:>6} {:>4} {:>4}",
            self.name, self.active_objs, self.num_objs, self.object_size, self.objs_per_slab, self.pages_per_slab
        )
    }
}

/// A cache of equal-sized objects (Linux: `struct kmem_cache`).
pub struct KmemCache {
    name: &'static str,
    geo: Geometry,
    pages: &'static dyn PageSource,
    /// Stamped into every slab header; assigned with the first slab.
    id: AtomicUsize,
    /// `magic_key(id)`, stored with `id`.
    magic_key: AtomicUsize,
    lists: IrqSpinLock<Lists>,
    cpus: [CpuCache; NR_CPUS],
}

// SAFETY: the slab lists are behind the lock; a magazine is only touched by its
// own core with IRQs masked, which nothing else on that core can interrupt and
// no other core does (checked by `busy` in test and debug builds), or through
// `&mut self`; the rest is atomics, immutable geometry and a `Sync` page source.
unsafe impl Sync for KmemCache {}

impl KmemCache {
    /// A cache of `object_size`-byte objects aligned to `align` (a power of two
    /// up to `PAGE_SIZE`; 0 means 8), fed by `pages` (Linux: `kmem_cache_create`).
    /// `const`, so caches can be statics; no pages are taken until the first `alloc`.
    ///
    /// # Panics
    /// If [`KmemCache::try_new`] would fail (at compile time for a static).
    pub const fn new(name: &'static str, object_size: usize, align: usize, pages: &'static dyn PageSource) -> Self {
        // Not through `try_new`: a `Result<KmemCache, _>` cannot be dropped in a const fn.
        match Geometry::new(object_size, align) {
            Ok(geo) => Self::with_geometry(name, geo, pages),
            Err(_) => panic!("kmem_cache: bad object size or alignment"),
        }
    }

    /// [`KmemCache::new`] that returns `EINVAL` for a zero size, an alignment
    /// that is not a power of two or exceeds `PAGE_SIZE`, or an object too big
    /// for a slab of [`MAX_PAGES_PER_SLAB`] pages.
    pub const fn try_new(
        name: &'static str,
        object_size: usize,
        align: usize,
        pages: &'static dyn PageSource,
    ) -> Result<Self, Errno> {
        match Geometry::new(object_size, align) {
            Ok(geo) => Ok(Self::with_geometry(name, geo, pages)),
            Err(e) => Err(e),
        }
    }

    const fn with_geometry(name: &'static str, geo: Geometry, pages: &'static dyn PageSource) -> Self {
        KmemCache {
            name,
            geo,
            pages,
            id: AtomicUsize::new(0),
            magic_key: AtomicUsize::new(magic_key(0)),
            lists: IrqSpinLock::new(Lists::new()),
            cpus: [const { CpuCache::new() }; NR_CPUS],
        }
    }

    /// The cache's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Size of each object, rounded up to the alignment.
    pub fn object_size(&self) -> usize {
        self.geo.size.get()
    }

    /// Allocates an object (uninitialised memory, aligned as asked), or `None`
    /// when the page source is exhausted (Linux: `kmem_cache_alloc`).
    ///
    /// Inline: the fast path is a pop from this core's magazine and the object's
    /// handed-out bit; an empty magazine is refilled out of line.
    #[inline]
    pub fn alloc(&self) -> Option<NonNull<u8>> {
        let flags = local_irq_save();
        // SAFETY: IRQs stay masked until after the magazine guard is dropped at the end of the arm.
        let obj = match unsafe { self.local_magazine() } {
            Some(mut magazine) => magazine.pop(),
            None => None,
        };
        // Still masked: the refill lands in this core's magazine.
        let obj = obj.or_else(|| self.alloc_slow());
        local_irq_restore(flags);
        let obj = obj?;
        let slab = self.geo.slab_of(obj);
        let (word, bit) = Geometry::bit_of((obj - slab - self.geo.first) / self.geo.size);
        // SAFETY: the object was taken from a live slab of this cache, which stays
        // live while the object is off its free list.
        let was = unsafe { header(slab) }.handed_out[word].fetch_or(bit, Relaxed);
        debug_assert!(was & bit == 0, "slab {}: object {obj:#x} handed out twice", self.name);
        // SAFETY: an object lies in a slab, past its header: never at address 0.
        Some(unsafe { NonNull::new_unchecked(obj as *mut u8) })
    }

    /// [`KmemCache::alloc`] when this core's magazine is empty or missing: a
    /// refill from the slab lists. IRQs are masked by the caller.
    #[cold]
    #[inline(never)]
    fn alloc_slow(&self) -> Option<usize> {
        // SAFETY: the caller keeps IRQs masked until after the guard is dropped.
        match unsafe { self.local_magazine() } {
            Some(mut magazine) => {
                self.refill(&mut magazine, BATCH);
                magazine.pop()
            }
            None => {
                let spare = CpuCache::new();
                // SAFETY: `spare` is a local nobody else can reach.
                let mut one = unsafe { spare.claim(self.name) };
                self.refill(&mut one, 1);
                one.pop()
            }
        }
    }

    /// Returns `obj` to the cache (Linux: `kmem_cache_free`). A double free, a
    /// pointer from another cache or not at an object's start is refused with
    /// an error and changes nothing.
    ///
    /// Inline: the fast path is the checks, the handed-out bit and a push onto
    /// this core's magazine; a full magazine is flushed out of line.
    ///
    /// # Safety
    /// The `pages_per_slab`-aligned block holding `obj` must be readable, which
    /// holds for any pointer some cache's `alloc` returned, unless its slab has
    /// since gone back to the page source. If `obj` is an object of this cache,
    /// the caller must not use it after this call.
    #[inline]
    pub unsafe fn free(&self, obj: NonNull<u8>) -> Result<(), SlabError> {
        let addr = obj.as_ptr() as usize;
        let slab = self.geo.slab_of(addr);
        let raw = slab as *const SlabHeader;
        // SAFETY: the caller guarantees the block, and so its first word, is readable
        // and page-aligned; it is read as an atomic, valid for any bytes, before anything
        // assumes a slab header is there.
        let magic = unsafe { &*addr_of!((*raw).magic) };
        // Before the cache has an id its magic matches no slab (ids are never 0).
        if magic.load(Relaxed) != slab ^ self.magic_key.load(Relaxed) {
            return Err(SlabError::ForeignObject);
        }
        // SAFETY: the magic says this is a live slab of this cache, which stays live
        // while `obj` is handed out; a stale `obj` is excluded by the caller.
        let hdr = unsafe { header(slab) };
        let index = self.geo.index_of(slab, addr).ok_or(SlabError::Misaligned)?;
        let (word, bit) = Geometry::bit_of(index);
        if hdr.handed_out[word].fetch_and(!bit, Relaxed) & bit == 0 {
            return Err(SlabError::DoubleFree);
        }
        let flags = local_irq_save();
        // SAFETY: IRQs stay masked until after the magazine guard is dropped at the end of the arm.
        let pushed = match unsafe { self.local_magazine() } {
            Some(mut magazine) => magazine.try_push(addr),
            None => false,
        };
        if !pushed {
            self.free_slow(addr);
        }
        local_irq_restore(flags);
        Ok(())
    }

    /// [`KmemCache::free`] when this core's magazine is full or missing: a flush
    /// to the slab lists. IRQs are masked by the caller.
    #[cold]
    #[inline(never)]
    fn free_slow(&self, addr: usize) {
        // SAFETY: the caller keeps IRQs masked until after the guard is dropped.
        match unsafe { self.local_magazine() } {
            Some(mut magazine) => {
                self.flush(&mut magazine, BATCH);
                magazine.push(addr);
            }
            None => {
                let spare = CpuCache::new();
                // SAFETY: `spare` is a local nobody else can reach.
                let mut one = unsafe { spare.claim(self.name) };
                one.push(addr);
                self.flush(&mut one, 1);
            }
        }
    }

    /// Empties this core's magazine into the slabs; returns the pages that went
    /// back to the page source as a result (Linux: `do_drain`, run on each core).
    pub fn drain_local(&self) -> usize {
        let flags = local_irq_save();
        // SAFETY: IRQs stay masked until after the magazine guard is dropped at the end of the arm.
        let pages = match unsafe { self.local_magazine() } {
            Some(mut magazine) => {
                let n = magazine.len();
                self.flush(&mut magazine, n)
            }
            None => 0,
        };
        local_irq_restore(flags);
        pages
    }

    /// Drains this core's magazine and gives every empty slab back to the page
    /// source; returns the pages given back (Linux: `kmem_cache_shrink`). Other
    /// cores' magazines are theirs to drain ([`KmemCache::drain_local`]).
    pub fn shrink(&self) -> usize {
        let mut pages = self.drain_local();
        loop {
            let slab = {
                let mut lists = self.lists.lock();
                let slab = lists.heads[SlabList::Free as usize];
                if slab == 0 {
                    break;
                }
                // SAFETY: `slab` heads the free list, so it is a live slab of this cache.
                unsafe { lists.unlink(slab) };
                slab
            };
            self.release_slab(slab);
            pages += self.geo.pages;
        }
        pages
    }

    /// The cache's counters (exact when nothing is in flight): the magazines'
    /// lengths summed, the rest from the lists.
    pub fn stats(&self) -> SlabStats {
        let (counts, taken) = {
            let lists = self.lists.lock();
            (lists.counts, lists.taken)
        };
        let cached: usize = self.cpus.iter().map(|cpu| cpu.count.load(Relaxed)).sum();
        let num_slabs = counts.iter().sum::<usize>();
        SlabStats {
            name: self.name,
            active_objs: taken.saturating_sub(cached),
            num_objs: num_slabs * self.geo.objs,
            cached_objs: cached,
            object_size: self.geo.size.get(),
            objs_per_slab: self.geo.objs,
            pages_per_slab: self.geo.pages,
            num_slabs,
            partial_slabs: counts[SlabList::Partial as usize],
            full_slabs: counts[SlabList::Full as usize],
            free_slabs: counts[SlabList::Free as usize],
        }
    }

    /// This core's magazine, or `None` if the core number has no magazine.
    ///
    /// # Safety
    /// IRQs must be masked on this core until the returned guard is dropped.
    #[inline]
    unsafe fn local_magazine(&self) -> Option<Magazine<'_>> {
        // Read after IRQs were masked: the task cannot move to another core now.
        let cpu = self.cpus.get(this_core())?;
        // SAFETY: only this core touches this magazine, and only with IRQs masked, so
        // no interrupt handler or preempting task on this core can be inside it; the
        // guard ends before the caller unmasks. (Test builds: `busy` excludes threads
        // that share a pretend core number.)
        Some(unsafe { cpu.claim(self.name) })
    }

    /// Tops `magazine` up to `want` objects from the slab lists, growing the
    /// cache by a slab if no slab has a free object. Leaves it empty only when
    /// the page source is exhausted.
    fn refill(&self, magazine: &mut Magazine<'_>, want: usize) {
        let mut new_slab = None;
        loop {
            {
                let mut lists = self.lists.lock();
                if let Some(slab) = new_slab.take() {
                    // SAFETY: a fresh slab of this cache, on no list.
                    unsafe { lists.link(slab, SlabList::Free) };
                }
                while magazine.len() < want {
                    // SAFETY: the lists hold only live slabs of this cache.
                    match unsafe { lists.take_object(&self.geo) } {
                        Some(obj) => magazine.push(obj),
                        None => break,
                    }
                }
            }
            if magazine.len() > 0 {
                return;
            }
            match self.new_slab() {
                Some(slab) => new_slab = Some(slab),
                None => return,
            }
        }
    }

    /// Returns the `n` oldest objects of `magazine` to their slabs; returns the
    /// pages given back because slabs became empty beyond [`MAX_FREE_SLABS`].
    fn flush(&self, magazine: &mut Magazine<'_>, n: usize) -> usize {
        let count = magazine.len();
        let n = n.min(count);
        let mut release = [0usize; MAGAZINE_SIZE];
        let mut nr_release = 0;
        {
            let mut lists = self.lists.lock();
            for &obj in &magazine.objs[..n] {
                // SAFETY: magazine objects were taken from live slabs of this cache.
                if let Some(slab) = unsafe { lists.put_object(obj, &self.geo) } {
                    release[nr_release] = slab;
                    nr_release += 1;
                }
            }
        }
        magazine.objs.copy_within(n..count, 0);
        magazine.count.store(count - n, Relaxed);
        for &slab in &release[..nr_release] {
            self.release_slab(slab);
        }
        nr_release * self.geo.pages
    }

    /// Gets pages for a slab and lays it out: header, then every object on the free list.
    fn new_slab(&self) -> Option<usize> {
        let geo = &self.geo;
        let va = self.pages.alloc_pages(geo.pages)?;
        if va == 0 || !va.is_multiple_of(geo.slab_bytes) {
            if va != 0 {
                self.pages.free_pages(va, geo.pages);
            }
            return None;
        }
        let id = match self.id.load(Relaxed) {
            0 => {
                let new = NEXT_CACHE_ID.fetch_add(1, Relaxed);
                self.id.compare_exchange(0, new, Relaxed, Relaxed).map_or_else(|current| current, |_| new)
            }
            id => id,
        };
        // Every grower stores the same id's key, before any object of its slab is handed out.
        self.magic_key.store(magic_key(id), Relaxed);
        let hdr = SlabHeader {
            magic: AtomicUsize::new(slab_magic(va, id)),
            handed_out: [const { AtomicU64::new(0) }; BITMAP_WORDS],
            state: UnsafeCell::new(SlabState {
                freelist: va + geo.first,
                inuse: 0,
                next: 0,
                prev: 0,
                list: SlabList::Free,
            }),
        };
        // SAFETY: the page source gave us `slab_bytes` writable bytes at `va`, aligned
        // to the slab size, which nobody else uses; the header and every object fit.
        unsafe {
            (va as *mut SlabHeader).write(hdr);
            for i in 0..geo.objs {
                let obj = va + geo.first + i * geo.size.get();
                let next = if i + 1 < geo.objs { obj + geo.size.get() } else { 0 };
                (obj as *mut usize).write(next);
            }
        }
        Some(va)
    }

    /// Gives an empty slab, off every list, back to the page source.
    fn release_slab(&self, slab: usize) {
        // SAFETY: the slab is live until the `free_pages` below.
        unsafe { header(slab) }.magic.store(0, Relaxed);
        self.pages.free_pages(slab, self.geo.pages);
    }
}

impl Drop for KmemCache {
    /// Drains every magazine and gives back every empty slab (Linux:
    /// `kmem_cache_destroy`). Slabs with objects still handed out are leaked,
    /// with a warning: their memory is still in use.
    fn drop(&mut self) {
        for cpu in &self.cpus {
            // SAFETY: `&mut self` is exclusive: no core is using any magazine.
            let mut magazine = unsafe { cpu.claim(self.name) };
            let n = magazine.len();
            self.flush(&mut magazine, n);
        }
        self.shrink();
        let stats = self.stats();
        if stats.num_slabs != 0 {
            log::warn!(
                "kmem_cache_destroy {}: {} objects still in use, {} slabs leaked",
                self.name,
                stats.active_objs,
                stats.num_slabs
            );
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::alloc::{alloc, dealloc, Layout};
    use std::boxed::Box;
    use std::cell::Cell;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    use std::vec::Vec;

    std::thread_local! {
        /// The pretend core number of this thread (see the module docs).
        pub(super) static TEST_CORE: Cell<usize> = const { Cell::new(0) };
    }

    /// Pages from std's allocator, aligned to the run size, with the runs
    /// outstanding tracked and an optional limit.
    struct TestPages {
        runs: Mutex<HashMap<usize, usize>>,
        limit: usize,
    }

    impl TestPages {
        fn new(limit: usize) -> &'static TestPages {
            Box::leak(Box::new(TestPages { runs: Mutex::new(HashMap::new()), limit }))
        }

        fn outstanding(&self) -> usize {
            self.runs.lock().unwrap().values().sum()
        }
    }

    impl PageSource for TestPages {
        fn alloc_pages(&self, pages: usize) -> Option<usize> {
            assert!(pages.is_power_of_two());
            let mut runs = self.runs.lock().unwrap();
            if runs.values().sum::<usize>() + pages > self.limit {
                return None;
            }
            let layout = Layout::from_size_align(pages * PAGE_SIZE, pages * PAGE_SIZE).unwrap();
            // SAFETY: the layout has a non-zero size.
            let va = unsafe { alloc(layout) } as usize;
            assert_ne!(va, 0);
            runs.insert(va, pages);
            Some(va)
        }

        fn free_pages(&self, va: usize, pages: usize) {
            let had = self.runs.lock().unwrap().remove(&va);
            assert_eq!(had, Some(pages), "freeing a run that was not handed out");
            let layout = Layout::from_size_align(pages * PAGE_SIZE, pages * PAGE_SIZE).unwrap();
            // SAFETY: allocated above with this layout.
            unsafe { dealloc(va as *mut u8, layout) };
        }
    }

    const UNLIMITED: usize = usize::MAX / 2;

    fn free(cache: &KmemCache, obj: NonNull<u8>) {
        // SAFETY: the tests only free pointers into live slabs or memory they own.
        unsafe { cache.free(obj) }.unwrap();
    }

    #[test]
    fn geometry_for_several_sizes() {
        let src = TestPages::new(0);
        // (object size, rounded size, objects per slab, pages per slab); the header is 128 bytes.
        for (size, rounded, objs, pages) in [
            (1, 8, 496, 1),
            (8, 8, 496, 1),
            (64, 64, 62, 1),
            (200, 200, 19, 1),
            (1000, 1000, 8, 2),
            (3000, 3000, 10, 8),
        ] {
            let s = KmemCache::new("t", size, 8, src).stats();
            assert_eq!((s.object_size, s.objs_per_slab, s.pages_per_slab), (rounded, objs, pages), "size {size}");
        }
        let s = KmemCache::new("t", 24, 16, src).stats();
        assert_eq!((s.object_size, s.objs_per_slab), (32, 124));
        let s = KmemCache::new("t", 4096, 4096, src).stats();
        assert_eq!((s.object_size, s.objs_per_slab, s.pages_per_slab), (4096, 15, 16), "header takes a whole page");
    }

    #[test]
    fn bad_parameters_are_refused() {
        let src = TestPages::new(0);
        assert!(matches!(KmemCache::try_new("t", 0, 8, src), Err(Errno::EINVAL)));
        assert!(matches!(KmemCache::try_new("t", 8, 24, src), Err(Errno::EINVAL)));
        assert!(matches!(KmemCache::try_new("t", 8, 2 * PAGE_SIZE, src), Err(Errno::EINVAL)));
        assert!(matches!(KmemCache::try_new("t", MAX_PAGES_PER_SLAB * PAGE_SIZE, 8, src), Err(Errno::EINVAL)));
        assert!(matches!(KmemCache::try_new("t", usize::MAX, 8, src), Err(Errno::EINVAL)));
        assert!(matches!(KmemCache::try_new("t", usize::MAX / 4, 8, src), Err(Errno::EINVAL)));
        let biggest = MAX_PAGES_PER_SLAB * PAGE_SIZE - SLAB_HEADER_SIZE;
        assert_eq!(KmemCache::try_new("t", biggest, 8, src).unwrap().stats().objs_per_slab, 1);
    }

    #[test]
    fn static_cache_can_be_built_at_compile_time() {
        struct NoPages;
        impl PageSource for NoPages {
            fn alloc_pages(&self, _: usize) -> Option<usize> {
                None
            }
            fn free_pages(&self, _: usize, _: usize) {
                unreachable!()
            }
        }
        static CACHE: KmemCache = KmemCache::new("static", 40, 8, &NoPages);
        assert_eq!(CACHE.object_size(), 40);
        assert!(CACHE.alloc().is_none(), "no pages: None, not a panic");
    }

    #[test]
    fn freed_object_comes_back_first() {
        let cache = KmemCache::new("t", 48, 8, TestPages::new(UNLIMITED));
        let a = cache.alloc().unwrap();
        let b = cache.alloc().unwrap();
        free(&cache, a);
        assert_eq!(cache.alloc(), Some(a));
        free(&cache, b);
        free(&cache, a);
        assert_eq!(cache.alloc(), Some(a));
        assert_eq!(cache.alloc(), Some(b));
    }

    #[test]
    fn objects_are_aligned_and_disjoint() {
        for (size, align) in [(8, 0), (24, 16), (100, 64), (1000, 8), (200, 256)] {
            let cache = KmemCache::new("t", size, align, TestPages::new(UNLIMITED));
            let per_slab = cache.stats().objs_per_slab;
            let mut objs: Vec<usize> =
                (0..3 * per_slab + 5).map(|_| cache.alloc().unwrap().as_ptr() as usize).collect();
            for (i, &o) in objs.iter().enumerate() {
                assert_eq!(o % align.max(8), 0, "size {size} align {align}");
                // SAFETY: `o` is an object of `size` bytes that we own.
                unsafe { core::ptr::write_bytes(o as *mut u8, i as u8, size) };
            }
            for (i, &o) in objs.iter().enumerate() {
                // SAFETY: as above.
                let bytes = unsafe { core::slice::from_raw_parts(o as *const u8, size) };
                assert!(bytes.iter().all(|&b| b == i as u8), "object {i} overwritten");
            }
            objs.sort();
            assert!(objs.windows(2).all(|w| w[0] + size <= w[1]), "objects overlap");
            assert_eq!(cache.stats().num_slabs, 4);
            for o in objs {
                free(&cache, NonNull::new(o as *mut u8).unwrap());
            }
        }
    }

    #[test]
    fn stats_are_exact_and_shrink_returns_every_page() {
        let src = TestPages::new(UNLIMITED);
        let cache = KmemCache::new("obj1000", 1000, 8, src);
        let base = SlabStats {
            name: "obj1000",
            active_objs: 0,
            num_objs: 0,
            cached_objs: 0,
            object_size: 1000,
            objs_per_slab: 8,
            pages_per_slab: 2,
            num_slabs: 0,
            partial_slabs: 0,
            full_slabs: 0,
            free_slabs: 0,
        };
        assert_eq!(cache.stats(), base);

        // One object: a batch of 8 (the whole slab) moves to the magazine.
        let one = cache.alloc().unwrap();
        let s = SlabStats { active_objs: 1, num_objs: 8, cached_objs: 7, num_slabs: 1, full_slabs: 1, ..base };
        assert_eq!(cache.stats(), s);
        free(&cache, one);
        assert_eq!(cache.stats(), SlabStats { active_objs: 0, cached_objs: 8, ..s });
        assert_eq!(cache.shrink(), 2);
        assert_eq!(cache.stats(), base);
        assert_eq!(src.outstanding(), 0);

        // Five full slabs.
        let objs: Vec<_> = (0..40).map(|_| cache.alloc().unwrap()).collect();
        let s = SlabStats { active_objs: 40, num_objs: 40, num_slabs: 5, full_slabs: 5, ..base };
        assert_eq!(cache.stats(), s);
        assert_eq!(src.outstanding(), 10);
        // Freeing all: three flushes of the 8 oldest empty three slabs; two are
        // kept, one goes back at once; 16 objects stay in the magazine.
        for &o in &objs {
            free(&cache, o);
        }
        let s = SlabStats {
            active_objs: 0,
            cached_objs: 16,
            num_slabs: 4,
            num_objs: 32,
            full_slabs: 2,
            free_slabs: 2,
            ..s
        };
        assert_eq!(cache.stats(), s);
        assert_eq!(src.outstanding(), 8);
        // Reallocating reuses those objects: no new pages.
        let again: Vec<_> = (0..32).map(|_| cache.alloc().unwrap()).collect();
        assert_eq!(src.outstanding(), 8);
        assert_eq!(cache.stats().active_objs, 32);
        for o in again {
            free(&cache, o);
        }
        assert_eq!(cache.shrink(), 8);
        assert_eq!(src.outstanding(), 0);
        assert_eq!(cache.stats(), base);
        assert_eq!(cache.shrink(), 0);
    }

    #[test]
    fn bad_frees_are_refused_and_change_nothing() {
        let src = TestPages::new(UNLIMITED);
        let cache = KmemCache::new("t", 48, 8, src);
        let other = KmemCache::new("other", 64, 8, src);
        let never_grown = KmemCache::new("empty", 64, 8, src);
        let a = cache.alloc().unwrap();
        let b = other.alloc().unwrap();
        let before = cache.stats();
        // SAFETY: every pointer below lies in a live slab or in memory we own.
        unsafe {
            assert_eq!(cache.free(b), Err(SlabError::ForeignObject));
            assert_eq!(never_grown.free(a), Err(SlabError::ForeignObject));
            assert_eq!(cache.free(a.byte_add(8)), Err(SlabError::Misaligned));
            let slab = a.as_ptr() as usize & !(PAGE_SIZE - 1);
            assert_eq!(cache.free(NonNull::new(slab as *mut u8).unwrap()), Err(SlabError::Misaligned));
            let tail = slab + SLAB_HEADER_SIZE + 82 * 48; // just past the last of 82 objects
            assert_eq!(cache.free(NonNull::new(tail as *mut u8).unwrap()), Err(SlabError::Misaligned));
            // A page that is no slab, even one whose second word forges this cache's id.
            let plain = Box::leak(Box::new(Page([0; PAGE_SIZE])));
            assert_eq!(cache.free(NonNull::new(&mut plain.0[64] as *mut u8).unwrap()), Err(SlabError::ForeignObject));
            plain.0[8..16].copy_from_slice(&cache.id.load(Relaxed).to_ne_bytes());
            assert_eq!(cache.free(NonNull::new(&mut plain.0[128] as *mut u8).unwrap()), Err(SlabError::ForeignObject));
            // A never-allocated object of this cache (in the magazine) is a double free.
            let c = cache.alloc().unwrap();
            assert_eq!(cache.free(c.byte_sub(48)), Err(SlabError::DoubleFree));
            free(&cache, c);
            assert_eq!(cache.stats(), before);
            free(&cache, a);
            assert_eq!(cache.free(a), Err(SlabError::DoubleFree));
            // Also once the object is back on its slab's free list.
            assert!(cache.shrink() > 0);
            assert_eq!(cache.stats().num_slabs, 0);
            let d = cache.alloc().unwrap();
            free(&cache, d);
            cache.drain_local();
            assert_eq!(cache.free(d), Err(SlabError::DoubleFree));
            assert_eq!(cache.stats().active_objs, 0);
        }
        free(&other, b);
    }

    #[repr(align(4096))]
    struct Page([u8; PAGE_SIZE]);

    #[test]
    fn exhausted_page_source_gives_none() {
        let src = TestPages::new(4);
        let cache = KmemCache::new("t", 1000, 8, src);
        let objs: Vec<_> = core::iter::from_fn(|| cache.alloc()).collect();
        assert_eq!(objs.len(), 16, "two slabs of two pages");
        assert!(cache.alloc().is_none());
        free(&cache, objs[3]);
        assert_eq!(cache.alloc(), Some(objs[3]));
        for o in objs {
            free(&cache, o);
        }
        assert_eq!(cache.shrink(), 4);
        assert_eq!(src.outstanding(), 0);
    }

    #[test]
    fn misaligned_page_source_counts_as_exhausted() {
        struct Crooked(&'static TestPages);
        impl PageSource for Crooked {
            fn alloc_pages(&self, pages: usize) -> Option<usize> {
                // Twice the run, aligned to twice its size, handed out from the second page: misaligned.
                Some(self.0.alloc_pages(pages * 2)? + PAGE_SIZE)
            }
            fn free_pages(&self, va: usize, pages: usize) {
                self.0.free_pages(va - PAGE_SIZE, pages * 2)
            }
        }
        let src = TestPages::new(UNLIMITED);
        let cache = KmemCache::new("t", 1000, 8, Box::leak(Box::new(Crooked(src))));
        assert!(cache.alloc().is_none());
        assert_eq!(src.outstanding(), 0);
    }

    #[test]
    fn dropping_a_cache_returns_its_pages() {
        let src = TestPages::new(UNLIMITED);
        let cache = KmemCache::new("t", 200, 8, src);
        let objs: Vec<_> = (0..100).map(|_| cache.alloc().unwrap()).collect();
        for o in objs {
            free(&cache, o);
        }
        assert!(src.outstanding() > 0);
        drop(cache);
        assert_eq!(src.outstanding(), 0);
    }

    #[test]
    fn slabinfo_line_matches_linux_layout() {
        let cache = KmemCache::new("dentry", 192, 8, TestPages::new(UNLIMITED));
        let o = cache.alloc().unwrap();
        assert_eq!(
            slabinfo_header(),
            "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>"
        );
        assert_eq!(std::format!("{}", cache.stats()), "dentry                 1     20    192   20    1");
        free(&cache, o);
    }

    #[test]
    fn two_threads_on_one_pretend_core_are_caught() {
        let cache = KmemCache::new("t", 64, 8, TestPages::new(UNLIMITED));
        // SAFETY: IRQ masking is a no-op on the host; the `busy` flag under test stands in for it.
        let _held = unsafe { cache.local_magazine() }.unwrap();
        let r = std::thread::scope(|s| s.spawn(|| cache.alloc().map(|o| o.as_ptr() as usize)).join());
        assert!(r.is_err(), "a second user of magazine 0 must panic, not race");
    }

    #[test]
    fn threads_stress_with_cross_core_frees() {
        const ROUNDS: usize = 20_000;
        let src = TestPages::new(UNLIMITED);
        let cache = KmemCache::new("stress", 56, 8, src);
        let words = 56 / 8;
        let handoff: Arc<Mutex<Vec<usize>>> = Arc::new(Mutex::new(Vec::new()));
        let fill = |o: usize, tag: u64| {
            for w in 0..words {
                // SAFETY: `o` is a live 56-byte object owned by the caller.
                unsafe { (o as *mut u64).add(w).write(tag ^ w as u64) };
            }
        };
        let check = |o: usize, tag: u64| {
            for w in 0..words {
                // SAFETY: as above.
                assert_eq!(unsafe { (o as *const u64).add(w).read() }, tag ^ w as u64, "object {o:#x} corrupted");
            }
        };
        std::thread::scope(|s| {
            for core in 0..NR_CPUS {
                let (cache, handoff) = (&cache, handoff.clone());
                s.spawn(move || {
                    TEST_CORE.with(|c| c.set(core));
                    let mut mine: Vec<(usize, u64)> = Vec::new();
                    let mut seed = core as u64 + 1;
                    for round in 0..ROUNDS {
                        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                        let tag = ((core as u64) << 48) | round as u64;
                        match (seed >> 33) % 4 {
                            0 | 1 => {
                                let o = cache.alloc().unwrap().as_ptr() as usize;
                                fill(o, tag);
                                mine.push((o, tag));
                            }
                            2 if !mine.is_empty() => {
                                let (o, tag) = mine.swap_remove((seed >> 40) as usize % mine.len());
                                check(o, tag);
                                free(cache, NonNull::new(o as *mut u8).unwrap());
                            }
                            _ => {
                                // Hand an object to another thread, free one another thread made.
                                if let Some((o, tag)) = mine.pop() {
                                    check(o, tag);
                                    fill(o, 0xdead_0000_0000);
                                    handoff.lock().unwrap().push(o);
                                }
                                let theirs = handoff.lock().unwrap().pop();
                                if let Some(o) = theirs {
                                    check(o, 0xdead_0000_0000);
                                    free(cache, NonNull::new(o as *mut u8).unwrap());
                                }
                            }
                        }
                    }
                    for (o, tag) in mine {
                        check(o, tag);
                        free(cache, NonNull::new(o as *mut u8).unwrap());
                    }
                    // This pretend core's last act, as a core going offline would.
                    cache.drain_local();
                });
            }
        });
        let left = std::mem::take(&mut *handoff.lock().unwrap());
        let s = cache.stats();
        assert_eq!((s.active_objs, s.cached_objs), (left.len(), 0), "every pretend core drained");
        assert!(s.num_slabs > 1);
        for o in left {
            check(o, 0xdead_0000_0000);
            free(&cache, NonNull::new(o as *mut u8).unwrap());
        }
        assert_eq!(cache.stats().active_objs, 0);
        let held = src.outstanding();
        assert_eq!(cache.shrink(), held);
        assert_eq!(src.outstanding(), 0);
        assert_eq!(cache.stats().num_slabs, 0);
    }
}
