//! The dentry cache (Linux: fs/dcache.c `d_lookup`, `d_add`, `d_invalidate`):
//! the path walk's answers to "what is `name` in directory `dir`", kept by
//! (directory, name), including "nothing" (negative entries), so a walk
//! through the same directories, or a repeated search for a missing name
//! (a shell trying each directory of PATH), does not ask the file system.
//!
//! Departures from Linux: there is no dentry object that the rest of the
//! VFS holds; the cache is a fixed table of [`NR_BUCKETS`] slots, one entry
//! each, indexed by a hash of (device, inode number of the directory, name),
//! a newer entry replacing an older one in its slot (Linux keeps every
//! dentry on a hash chain and an LRU list and shrinks them under memory
//! pressure). The table is allocated once, so the cache never grows the
//! heap; names longer than [`DNAME_INLINE_LEN`] are not cached (Linux
//! allocates those). Only file systems whose directories say how to name
//! them ([`Inode::dcache_id`]: tmpfs, whose inode numbers are never reused
//! within a mount) are cached; /proc, whose entries come and go with the
//! processes, is asked every time (Linux revalidates its dentries).
//!
//! Consistency: a file system calls [`d_invalidate`] after every change of
//! a directory's names (create, mkdir, mknod, symlink, link, unlink, rmdir,
//! rename, both names of a rename). A lookup that missed records the
//! invalidation count before asking the file system and enters its answer
//! only if no invalidation happened meanwhile, under the slot's lock, which
//! the invalidation takes too; so an answer older than a change is never
//! entered after the change's invalidation. Mounts need no invalidation: the
//! cache holds the file system's own child, and the walk crosses mount
//! points after it (namespace.rs `follow_mount`); an unmounted file
//! system's entries are dropped ([`d_shrink_dev`]), so the cache keeps none
//! of its inodes alive.
//!
//! Locking: each slot is an IRQ-safe spinlock, a leaf: nothing is taken
//! under it, and an inode an entry released is dropped after it is
//! unlocked.

use super::inode::InodeRef;
use crate::errno::Errno;
use crate::sync::IrqSpinLock;
use core::sync::atomic::{AtomicU64, Ordering};

/// Slots in the table (a power of two).
pub const NR_BUCKETS: usize = 1024;
/// Longest name cached (Linux: DNAME_INLINE_LEN is 32 on 64-bit; a few
/// bytes more here, so that typical file names fit).
pub const DNAME_INLINE_LEN: usize = 40;

/// One cached answer.
struct Dentry {
    /// The directory: its device and inode number; dev 0 marks a free slot.
    dev: u64,
    ino: u64,
    len: u8,
    name: [u8; DNAME_INLINE_LEN],
    /// The child, or None for a name that is not there (negative).
    inode: Option<InodeRef>,
}

impl Dentry {
    const EMPTY: Dentry = Dentry { dev: 0, ino: 0, len: 0, name: [0; DNAME_INLINE_LEN], inode: None };

    fn is(&self, dev: u64, ino: u64, name: &[u8]) -> bool {
        self.dev == dev && self.ino == ino && &self.name[..self.len as usize] == name
    }
}

static TABLE: [IrqSpinLock<Dentry>; NR_BUCKETS] = [const { IrqSpinLock::new(Dentry::EMPTY) }; NR_BUCKETS];
/// Invalidations so far (Linux's `rename_lock` seqcount plays this part
/// for its lockless walk).
static INVALIDATIONS: AtomicU64 = AtomicU64::new(0);

/// A hash of the directory and the name, eight bytes of the name at a
/// time (Linux: `full_name_hash` works a word at a time too).
fn d_hash(dev: u64, ino: u64, name: &[u8]) -> usize {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = (dev.wrapping_mul(K) ^ ino).wrapping_mul(K);
    let mut chunks = name.chunks_exact(8);
    for c in &mut chunks {
        let word = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h ^ word).wrapping_mul(K).rotate_left(29);
    }
    let mut last = [0u8; 8];
    last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    h = (h ^ u64::from_le_bytes(last) ^ name.len() as u64).wrapping_mul(K);
    (h >> 32) as usize & (NR_BUCKETS - 1)
}

/// The child `name` of directory `dir`, from the cache or from the file
/// system (Linux: `lookup_fast`, then `lookup_slow` with `d_add`): ENOENT
/// for a name that is not there.
pub fn d_lookup(dir: &InodeRef, name: &str) -> Result<InodeRef, Errno> {
    let Some((dev, ino)) = dir.dcache_id().filter(|_| name.len() <= DNAME_INLINE_LEN) else {
        return dir.lookup(name);
    };
    let bucket = &TABLE[d_hash(dev, ino, name.as_bytes())];
    {
        let d = bucket.lock();
        if d.is(dev, ino, name.as_bytes()) {
            return d.inode.clone().ok_or(Errno::ENOENT);
        }
    }
    let seen = INVALIDATIONS.load(Ordering::Acquire);
    let answer = dir.lookup(name);
    let entry = match &answer {
        Ok(child) => Some(child.clone()),
        Err(Errno::ENOENT) => None,
        Err(_) => return answer,
    };
    let mut d = bucket.lock();
    if INVALIDATIONS.load(Ordering::Acquire) != seen {
        return answer; // a change may have raced with the lookup
    }
    let old = d.inode.take();
    d.dev = dev;
    d.ino = ino;
    d.len = name.len() as u8;
    d.name[..name.len()].copy_from_slice(name.as_bytes());
    d.inode = entry;
    drop(d);
    drop(old);
    answer
}

/// Forgets what the cache knows of `name` in the directory `(dev, ino)`
/// (Linux: `d_invalidate`, and the `d_delete`/`d_move`/`d_instantiate`
/// updates); the file system calls it after changing the directory.
pub fn d_invalidate(dev: u64, ino: u64, name: &str) {
    let bucket = &TABLE[d_hash(dev, ino, name.as_bytes())];
    let mut d = bucket.lock();
    INVALIDATIONS.fetch_add(1, Ordering::AcqRel);
    let old = if d.is(dev, ino, name.as_bytes()) {
        d.dev = 0;
        d.inode.take()
    } else {
        None
    };
    drop(d);
    drop(old);
}

/// Forgets every entry of the file system on device `dev`, which is being
/// unmounted, so that the cache keeps none of its inodes alive (Linux:
/// `shrink_dcache_for_umount`).
pub fn d_shrink_dev(dev: u64) {
    for bucket in TABLE.iter() {
        let mut d = bucket.lock();
        let old = if d.dev == dev {
            d.dev = 0;
            d.inode.take()
        } else {
            None
        };
        drop(d);
        drop(old);
    }
}
