//! The file namespace's operations by name (Linux: fs/namei.c's `do_*`,
//! fs/open.c): open with create, mkdir, mknod, unlink, rmdir, rename,
//! link, symlink, and the tree built at boot.
//!
//! At boot ([`init`]) a tmpfs becomes the root and the built-in initramfs
//! is unpacked into it (Linux: `populate_rootfs`); `/proc` (procfs.rs) and
//! `/dev` (devfs.rs, a devtmpfs) and `/sys` (the trace directory,
//! trace/tracefs.rs) are mounted on it. The system calls
//! (syscall/fs.rs, syscall/fs_namei.rs) turn their arguments into a
//! [`WalkStart`] and names; the checks that do not depend on the file
//! system (types, mount points, `.` and `..`) are made here, with Linux's
//! errors, and the rest by the inode operations.

use super::file::{flags, mode, File};
use super::inode::{file_type, is_dir, same_inode, InodeRef};
use super::namei::{self, LastType, WalkStart};
use super::namespace::{self, PathRef};
use super::tmpfs::{TmpInode, Tmpfs};
use crate::errno::Errno;
use alloc::string::String;
use alloc::sync::Arc;

/// `dirfd` meaning the current directory.
pub const AT_FDCWD: i32 = -100;

/// The archive the build linked in (kernel/build.rs), as Linux's built-in
/// initramfs (`CONFIG_INITRAMFS_SOURCE`).
static INITRAMFS: &[u8] = include_bytes!(env!("INITRAMFS_PATH"));

/// Builds the tree: a tmpfs root with the initramfs unpacked into it,
/// `/proc`, `/dev` and `/sys` mounted. Returns the number of files unpacked.
pub fn init() -> usize {
    let root = Tmpfs::new_root(Tmpfs::default_pages());
    let files = super::tmpfs::populate_rootfs(&root, INITRAMFS);
    let root_ref: InodeRef = root.clone();
    namespace::init_mount_tree(root_ref.clone(), "rootfs", "tmpfs", "");
    let top = namespace::root();
    for (dir, perm) in [("proc", 0o555), ("dev", 0o755), ("sys", 0o555), ("tmp", 0o1777)] {
        match root_ref.mkdir(dir, perm) {
            Ok(_) | Err(Errno::EEXIST) => {}
            Err(e) => log::error!("rootfs: /{dir}: {e:?}"),
        }
    }
    let mount = |dir: &str, inode: InodeRef, source: &str, fs_type: &'static str, options: &str| {
        let at = root_ref.lookup(dir).map(|inode| PathRef { mnt: top.mnt.clone(), inode });
        if let Err(e) = at.and_then(|at| namespace::do_mount(&at, inode, source, fs_type, options)) {
            log::error!("mounting {fs_type} on /{dir}: {e:?}");
        }
    };
    mount("proc", super::procfs::proc_root(), "proc", "proc", "");
    mount("dev", super::devfs::devtmpfs(), "devtmpfs", "devtmpfs", "");
    mount("sys", crate::trace::tracefs::sys_root(), "sysfs", "sysfs", "");
    files
}

/// A name for what `name` opened from `start`, for /proc and messages:
/// absolute, with `.` and `..` resolved as text.
pub fn display_path(start: &WalkStart, name: &str) -> String {
    let base = if name.starts_with('/') {
        String::from("/")
    } else {
        namei::d_path(&start.dir, &start.root).unwrap_or_else(|_| String::from("/"))
    };
    super::path::normalize(&base, name).unwrap_or_else(|_| String::from(name))
}

/// Opens `name` (Linux: `do_filp_open`): O_CREAT makes a regular file with
/// `perm` less the umask, O_EXCL refuses an existing one, O_NOFOLLOW
/// refuses a final link (ELOOP), O_DIRECTORY wants a directory, O_TRUNC
/// empties a regular file.
pub fn open(start: &WalkStart, name: &str, open_flags: u32, perm: u32, umask: u32) -> Result<Arc<File>, Errno> {
    let follow = open_flags & flags::O_NOFOLLOW == 0;
    let write = open_flags & flags::O_ACCMODE != flags::O_RDONLY;
    // Linux (since 6.4) refuses the pair outright.
    if open_flags & flags::O_CREAT != 0 && open_flags & flags::O_DIRECTORY != 0 {
        return Err(Errno::EINVAL);
    }
    let place = if open_flags & flags::O_CREAT != 0 {
        let parent = namei::path_parent(start, name)?;
        if parent.last_type != LastType::Norm || parent.trailing_slash {
            return Err(Errno::EISDIR);
        }
        match namei::lookup_child(&parent.dir, &parent.last)? {
            Some(_) if open_flags & flags::O_EXCL != 0 => return Err(Errno::EEXIST),
            Some(existing) => {
                if file_type(&existing.inode) == mode::S_IFLNK && follow {
                    // Departure from Linux: a dangling link's target is
                    // not created (ENOENT).
                    namei::path_lookup(start, name, true)?
                } else {
                    existing
                }
            }
            None => {
                let inode = parent.dir.inode.create(&parent.last, mode::S_IFREG | (perm & 0o7777 & !umask), 0)?;
                PathRef { mnt: parent.dir.mnt.clone(), inode }
            }
        }
    } else {
        namei::path_lookup(start, name, follow)?
    };
    let ftype = file_type(&place.inode);
    if ftype == mode::S_IFLNK && open_flags & flags::O_PATH == 0 {
        return Err(Errno::ELOOP);
    }
    if ftype == mode::S_IFDIR && (write || open_flags & flags::O_CREAT != 0) {
        return Err(Errno::EISDIR);
    }
    if open_flags & flags::O_DIRECTORY != 0 && ftype != mode::S_IFDIR {
        return Err(Errno::ENOTDIR);
    }
    let ops = place.inode.clone().open(display_path(start, name), open_flags)?;
    Ok(File::with_path(ops, open_flags, place))
}

/// A program [`open_exec`] found: its file, and how to name it.
pub struct ExecFile {
    pub inode: Arc<TmpInode>,
    /// Where the walk ended and the root it started from, if it followed
    /// a symbolic link or ended outside tmpfs: only then may the file's
    /// name differ from the one walked.
    linked: Option<(PathRef, PathRef)>,
}

impl ExecFile {
    /// The name of the file an `execve` of `path` runs, symbolic links resolved: what
    /// /proc/<pid>/exe reads (Linux: the `d_path` of `mm->exe_file`), `/bin/busybox` for a run of
    /// `/bin/ash`. A run of `/proc/self/exe` so names the program itself, not the link, and a second
    /// run of it from there finds the program again instead of looping. A walk of the absolute,
    /// normalised `path` through tmpfs that followed no link ended at `path` itself, so that is its
    /// name, and no walk back up is made; `path` is also the answer where the name cannot be made.
    pub fn exe_path(&self, path: String) -> String {
        match &self.linked {
            Some((place, root)) => namei::d_path(place, root).unwrap_or(path),
            None => path,
        }
    }
}

/// The program at `path` (absolute, normalised), for execve, which maps its pages
/// from the file (Linux: `do_open_execat`): EACCES for anything but a
/// regular file with an execute bit. A file of another file system (vfat
/// on the SD card) is read whole into a nameless tmpfs file, whose pages
/// exec maps instead (departure: Linux maps any file system's page cache).
pub fn open_exec(path: &str) -> Result<ExecFile, Errno> {
    let root = namespace::root();
    let start = WalkStart { root: root.clone(), dir: root };
    let (place, links) = namei::path_lookup_counting_links(&start, path)?;
    let st = place.inode.getattr();
    if st.mode & mode::S_IFMT != mode::S_IFREG || st.mode & 0o111 == 0 {
        return Err(Errno::EACCES);
    }
    let (inode, tmpfs) = match place.inode.clone().as_any_arc().downcast::<TmpInode>() {
        Ok(inode) => (inode, true),
        Err(_) => {
            let size = u64::try_from(st.size).map_err(|_| Errno::ENOEXEC)?;
            let file = place.inode.clone().open(String::from(path), flags::O_RDONLY)?;
            let copy = super::tmpfs::shmem_file(0)?;
            let mut chunk = alloc::vec::Vec::new();
            chunk.try_reserve_exact(64 * 1024).map_err(|_| Errno::ENOMEM)?;
            chunk.resize(64 * 1024, 0);
            let mut done = 0;
            while done < size {
                let n = match file.read(&mut chunk, done, false)? {
                    0 => break,
                    n => n,
                };
                copy.append_bytes(&chunk[..n])?;
                done += n as u64;
            }
            (copy, false)
        }
    };
    // Another file system may spell a name otherwise than it was looked up
    // (vfat ignores case): its files are named by the walk back up.
    let linked = (links > 0 || !tmpfs).then_some((place, start.root));
    Ok(ExecFile { inode, linked })
}

/// `mkdir` (Linux: `do_mkdirat`).
pub fn mkdir(start: &WalkStart, name: &str, perm: u32, umask: u32) -> Result<(), Errno> {
    let parent = namei::path_parent(start, name)?;
    if parent.last_type != LastType::Norm {
        return Err(Errno::EEXIST);
    }
    parent.dir.inode.mkdir(&parent.last, perm & 0o7777 & !umask).map(|_| ())
}

/// `mknod` of a regular file, a character device, a named pipe or a
/// socket's name (Linux: `do_mknodat`).
pub fn mknod(start: &WalkStart, name: &str, mode_bits: u32, rdev: u64, umask: u32) -> Result<(), Errno> {
    let ftype = mode_bits & mode::S_IFMT;
    let ftype = if ftype == 0 { mode::S_IFREG } else { ftype };
    if !matches!(ftype, mode::S_IFREG | mode::S_IFCHR | mode::S_IFBLK | mode::S_IFSOCK | mode::S_IFIFO) {
        return Err(if ftype == mode::S_IFDIR { Errno::EPERM } else { Errno::EINVAL });
    }
    let parent = namei::path_parent(start, name)?;
    if parent.last_type != LastType::Norm || parent.trailing_slash {
        return Err(Errno::EEXIST);
    }
    if namei::lookup_child(&parent.dir, &parent.last)?.is_some() {
        return Err(Errno::EEXIST);
    }
    parent.dir.inode.create(&parent.last, ftype | (mode_bits & 0o7777 & !umask), rdev).map(|_| ())
}

/// `symlink` (Linux: `do_symlinkat`).
pub fn symlink(start: &WalkStart, target: &str, name: &str) -> Result<(), Errno> {
    if target.is_empty() {
        return Err(Errno::ENOENT);
    }
    let parent = namei::path_parent(start, name)?;
    if parent.last_type != LastType::Norm || parent.trailing_slash {
        return Err(Errno::EEXIST);
    }
    parent.dir.inode.symlink(&parent.last, target).map(|_| ())
}

/// `unlink` or `rmdir` (Linux: `do_unlinkat`, `do_rmdir`).
pub fn unlink(start: &WalkStart, name: &str, dir: bool) -> Result<(), Errno> {
    let parent = namei::path_parent(start, name)?;
    match parent.last_type {
        LastType::Norm => {}
        LastType::Dot if dir => return Err(Errno::EINVAL),
        LastType::DotDot if dir => return Err(Errno::ENOTEMPTY),
        LastType::Root if dir => return Err(Errno::EBUSY),
        _ => return Err(Errno::EISDIR),
    }
    let victim = namei::lookup_raw(&parent.dir, &parent.last)?;
    let victim_place = PathRef { mnt: parent.dir.mnt.clone(), inode: victim.clone() };
    if dir {
        if !is_dir(&victim) {
            return Err(Errno::ENOTDIR);
        }
        if namespace::is_mountpoint(&victim_place) {
            return Err(Errno::EBUSY);
        }
        parent.dir.inode.rmdir(&parent.last)
    } else {
        if parent.trailing_slash {
            return Err(if is_dir(&victim) { Errno::EISDIR } else { Errno::ENOTDIR });
        }
        if is_dir(&victim) {
            return Err(Errno::EISDIR);
        }
        parent.dir.inode.unlink(&parent.last)
    }
}

/// `link` (Linux: `do_linkat`): `old` (a link followed if `follow`) gets
/// the new name `new`.
pub fn link(old_start: &WalkStart, old: &str, new_start: &WalkStart, new: &str, follow: bool) -> Result<(), Errno> {
    link_place(namei::path_lookup(old_start, old, follow)?, new_start, new)
}

/// `link` of the place `target` (linkat with AT_EMPTY_PATH).
pub fn link_place(target: PathRef, new_start: &WalkStart, new: &str) -> Result<(), Errno> {
    let parent = namei::path_parent(new_start, new)?;
    if parent.last_type != LastType::Norm || parent.trailing_slash {
        return Err(Errno::EEXIST);
    }
    if is_dir(&target.inode) {
        return Err(Errno::EPERM);
    }
    if !Arc::ptr_eq(&target.mnt, &parent.dir.mnt) {
        return Err(Errno::EXDEV);
    }
    if namei::lookup_child(&parent.dir, &parent.last)?.is_some() {
        return Err(Errno::EEXIST);
    }
    parent.dir.inode.link(&parent.last, &target.inode)
}

/// `rename` (Linux: `do_renameat2`).
pub fn rename(
    old_start: &WalkStart,
    old: &str,
    new_start: &WalkStart,
    new: &str,
    rename_flags: u32,
) -> Result<(), Errno> {
    use super::inode::{RENAME_EXCHANGE, RENAME_NOREPLACE};
    if rename_flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE) != 0
        || rename_flags & RENAME_NOREPLACE != 0 && rename_flags & RENAME_EXCHANGE != 0
    {
        return Err(Errno::EINVAL);
    }
    let from = namei::path_parent(old_start, old)?;
    let to = namei::path_parent(new_start, new)?;
    if from.last_type != LastType::Norm {
        return Err(Errno::EBUSY);
    }
    if to.last_type != LastType::Norm {
        return Err(if rename_flags & RENAME_NOREPLACE != 0 { Errno::EEXIST } else { Errno::EBUSY });
    }
    if !Arc::ptr_eq(&from.dir.mnt, &to.dir.mnt) {
        return Err(Errno::EXDEV);
    }
    let moving = namei::lookup_raw(&from.dir, &from.last)?;
    if (from.trailing_slash || to.trailing_slash) && !is_dir(&moving) {
        return Err(Errno::ENOTDIR);
    }
    let target = match namei::lookup_raw(&to.dir, &to.last) {
        Ok(t) => Some(t),
        Err(Errno::ENOENT) => None,
        Err(e) => return Err(e),
    };
    let busy =
        |inode: &InodeRef| namespace::is_mountpoint(&PathRef { mnt: from.dir.mnt.clone(), inode: inode.clone() });
    if busy(&moving) || target.as_ref().is_some_and(|t| busy(t) && !same_inode(t, &moving)) {
        return Err(Errno::EBUSY);
    }
    from.dir.inode.rename(&from.last, &to.dir.inode, &to.last, rename_flags)
}
