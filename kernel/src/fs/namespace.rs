//! Mounts (Linux: fs/namespace.c): which file system's root covers which
//! directory. One mount table for the whole system (Linux gives each mount
//! namespace its own; this kernel has one namespace).
//!
//! A place in the tree is a [`PathRef`]: a mount and an inode of the file
//! system mounted there (Linux: `struct path`, vfsmount + dentry). Walking
//! into a directory something is mounted on lands on the mounted root
//! ([`follow_mount`]); `..` from a mounted root goes to the directory it
//! covers first ([`follow_up`]).
//!
//! Lock: `MOUNTS` is taken alone, never while an inode lock is held.

use super::inode::{same_inode, InodeRef};
use crate::errno::Errno;
use crate::sync::IrqSpinLock;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Once;

/// A mounted file system (Linux: `struct mount`).
pub struct Mount {
    pub id: u64,
    /// The root of the mounted file system.
    pub root: InodeRef,
    /// Where it is mounted; none for the root mount.
    pub mountpoint: Option<PathRef>,
    /// What `/proc/mounts` shows: source, type, options.
    pub source: String,
    pub fs_type: &'static str,
    pub options: String,
}

/// A place in the tree (Linux: `struct path`).
#[derive(Clone)]
pub struct PathRef {
    pub mnt: Arc<Mount>,
    pub inode: InodeRef,
}

impl PathRef {
    /// Whether both name the same place.
    pub fn same(&self, other: &PathRef) -> bool {
        Arc::ptr_eq(&self.mnt, &other.mnt) && same_inode(&self.inode, &other.inode)
    }

    /// Whether this is the root of its mount.
    pub fn is_mount_root(&self) -> bool {
        same_inode(&self.inode, &self.mnt.root)
    }
}

/// Every mount, oldest first.
static MOUNTS: IrqSpinLock<Vec<Arc<Mount>>> = IrqSpinLock::new(Vec::new());
static ROOT: Once<PathRef> = Once::new();
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Makes `root` the root of the tree (Linux: `init_mount_tree`).
pub fn init_mount_tree(root: InodeRef, source: &str, fs_type: &'static str, options: &str) {
    let mnt = Arc::new(Mount {
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        root: root.clone(),
        mountpoint: None,
        source: String::from(source),
        fs_type,
        options: String::from(options),
    });
    MOUNTS.lock().push(mnt.clone());
    ROOT.call_once(|| PathRef { mnt, inode: root });
}

/// The root of the tree.
pub fn root() -> PathRef {
    ROOT.get().expect("the mount tree exists from boot").clone()
}

/// Mounts the file system whose root is `root` on the directory `at`
/// (Linux: `do_new_mount`).
pub fn do_mount(at: &PathRef, root: InodeRef, source: &str, fs_type: &'static str, options: &str) -> Result<(), Errno> {
    if !super::inode::is_dir(&at.inode) {
        return Err(Errno::ENOTDIR);
    }
    let mut source_s = String::new();
    source_s.try_reserve(source.len()).map_err(|_| Errno::ENOMEM)?;
    source_s.push_str(source);
    let mnt = Arc::new(Mount {
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        root,
        mountpoint: Some(at.clone()),
        source: source_s,
        fs_type,
        options: String::from(options),
    });
    let mut mounts = MOUNTS.lock();
    mounts.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    at.inode.note_mount(1);
    mounts.push(mnt);
    Ok(())
}

/// Unmounts the mount whose root `at` is (Linux: `do_umount`): EINVAL if
/// `at` is no mount's root, EBUSY for the root of the tree, a mount with
/// mounts on it, or one still in use (an open file, a current directory).
pub fn do_umount(at: PathRef) -> Result<(), Errno> {
    if !at.is_mount_root() {
        return Err(Errno::EINVAL);
    }
    let mnt = at.mnt.clone();
    drop(at);
    if mnt.mountpoint.is_none() {
        return Err(Errno::EBUSY);
    }
    let mut mounts = MOUNTS.lock();
    if mounts.iter().any(|m| m.mountpoint.as_ref().is_some_and(|p| Arc::ptr_eq(&p.mnt, &mnt))) {
        return Err(Errno::EBUSY);
    }
    // References: the table's and ours; any other is a user.
    if Arc::strong_count(&mnt) > 2 {
        return Err(Errno::EBUSY);
    }
    mounts.retain(|m| !Arc::ptr_eq(m, &mnt));
    if let Some(at) = &mnt.mountpoint {
        at.inode.note_mount(-1);
    }
    drop(mounts);
    super::dcache::d_shrink_dev(mnt.root.super_block().dev);
    Ok(())
}

/// The place `p` is if something is mounted on it: the root of the last
/// mount there (Linux: `follow_mount`).
pub fn follow_mount(mut p: PathRef) -> PathRef {
    loop {
        if !p.inode.may_be_mountpoint() {
            return p;
        }
        let above = {
            let mounts = MOUNTS.lock();
            mounts
                .iter()
                .rev()
                .find(|m| m.mountpoint.as_ref().is_some_and(|at| at.same(&p)))
                .map(|m| PathRef { mnt: m.clone(), inode: m.root.clone() })
        };
        match above {
            Some(next) => p = next,
            None => return p,
        }
    }
}

/// The place whose `..` is the same as `p`'s: below every mount whose root
/// `p` is (Linux: `follow_up` in `follow_dotdot`).
pub fn follow_up(mut p: PathRef) -> PathRef {
    while p.is_mount_root() {
        match &p.mnt.mountpoint {
            Some(at) => p = at.clone(),
            None => break,
        }
    }
    p
}

/// Whether any mount is under `dir` directly (renaming or removing a
/// mount point is EBUSY).
pub fn is_mountpoint(p: &PathRef) -> bool {
    MOUNTS.lock().iter().any(|m| m.mountpoint.as_ref().is_some_and(|at| at.same(p)))
}

/// `/proc/mounts` (Linux: `show_vfsmnt`): one line per mount.
pub fn proc_mounts() -> String {
    let mounts: Vec<Arc<Mount>> = MOUNTS.lock().clone();
    let root = root();
    let mut out = String::new();
    for m in mounts {
        let place = PathRef { mnt: m.clone(), inode: m.root.clone() };
        let at = super::namei::d_path(&place, &root).unwrap_or_else(|_| String::from("?"));
        let opts = if m.options.is_empty() { String::from("rw") } else { alloc::format!("rw,{}", m.options) };
        out.push_str(&alloc::format!("{} {} {} {} 0 0\n", m.source, at, m.fs_type, opts));
    }
    out
}

/// The file system types `mount` knows (`/proc/filesystems`).
pub fn proc_filesystems() -> String {
    String::from("nodev\ttmpfs\nnodev\tproc\nnodev\tdevtmpfs\n")
}
