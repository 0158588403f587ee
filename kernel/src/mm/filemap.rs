//! File pages in address spaces (Linux: mm/filemap.c `filemap_fault`,
//! mm/shmem.c `shmem_zero_setup`).
//!
//! A file that can be mapped hands out the physical page that holds a
//! given page of its data, the page its own reads and writes use (for
//! tmpfs, its page cache is its storage): [`AddressSpace`]. A MAP_SHARED
//! mapping maps that page itself, so a write through the mapping is seen by
//! `read` and by every other mapping; a MAP_PRIVATE mapping maps it
//! read-only and copies it at the first write (mm_struct.rs). A shared
//! anonymous mapping is backed by a file of its own in an internal tmpfs
//! that no name reaches (Linux: `shm_mnt`), which is how it stays shared
//! across fork.
//!
//! An address space names its mapped files by a number
//! ([`new_object_id`]) in its table (`MmInner::mappings`), which its VMAs
//! carry, so that VMAs stay plain values.

use crate::errno::Errno;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU32, Ordering};

/// The pages of a mappable file (Linux: `struct address_space` with its
/// `vm_operations_struct->fault`).
pub trait AddressSpace: Send + Sync {
    /// The page holding page `index` of the data, made (zeroed) if it is a
    /// hole; the caller gets a reference (Linux: `find_or_create_page`).
    /// EFAULT past the end of the file (Linux sends SIGBUS there), ENOSPC
    /// or ENOMEM when no page can be had.
    fn find_or_create_page(&self, index: u64) -> Result<u64, Errno>;

    /// The page holding page `index` of the data if the file has one,
    /// without taking a reference (Linux: `find_get_page` without the
    /// get): for telling the file's own pages from private copies when
    /// /proc counts them.
    fn find_page(&self, index: u64) -> Option<u64>;

    /// For a System V shared memory segment (ipc/shm.rs): its ID and size
    /// in bytes, which `shmdt` needs to find and unmap an attachment
    /// (Linux tells them by `vm_ops == &shm_vm_ops`).
    fn sysv_shm(&self) -> Option<(i32, u64)> {
        None
    }
}

/// A mapped file, shared.
pub type MappingRef = Arc<dyn AddressSpace>;

static NEXT_OBJECT: AtomicU32 = AtomicU32::new(1);

/// A fresh number for a mapped file in an address space's table.
pub fn new_object_id() -> u32 {
    NEXT_OBJECT.fetch_add(1, Ordering::Relaxed)
}
