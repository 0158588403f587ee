//! System calls that change the file tree or a file's attributes (Linux:
//! fs/namei.c, fs/open.c, fs/attr.c, fs/utimes.c, fs/statfs.c, fs/sync.c,
//! fs/namespace.c): mkdir, mknod, unlink, rmdir, symlink, link, rename,
//! truncate, fallocate, chmod, chown, utimensat, statfs, sync, mount.

use super::fs::{current_umask, lookup_at, walk_start, AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW};
use super::{fdget, nr, SysResult};
use crate::errno::Errno;
use crate::fs::inode::{InodeRef, SetAttr, StatFs};
use crate::fs::vfs::{self, AT_FDCWD};
use crate::mm::uaccess::{self, copy_from_user, copy_to_user};

const AT_REMOVEDIR: u64 = 0x200;
const AT_SYMLINK_FOLLOW: u64 = 0x400;
const UTIME_NOW: i64 = (1 << 30) - 1;
const UTIME_OMIT: i64 = (1 << 30) - 2;
const MS_RDONLY: u64 = 1;
const MS_REMOUNT: u64 = 32;
const MS_BIND: u64 = 4096;
const MNT_FORCE: u64 = 1;
const MNT_DETACH: u64 = 2;
const UMOUNT_NOFOLLOW: u64 = 8;

syscalls! {
    a;
    nr::MKDIRAT => sys_mkdirat(a[0] as i32, a[1], a[2] as u32),
    nr::MKNODAT => sys_mknodat(a[0] as i32, a[1], a[2] as u32, a[3]),
    nr::UNLINKAT => sys_unlinkat(a[0] as i32, a[1], a[2]),
    nr::SYMLINKAT => sys_symlinkat(a[0], a[1] as i32, a[2]),
    nr::LINKAT => sys_linkat(a[0] as i32, a[1], a[2] as i32, a[3], a[4]),
    nr::RENAMEAT => sys_renameat2(a[0] as i32, a[1], a[2] as i32, a[3], 0),
    nr::RENAMEAT2 => sys_renameat2(a[0] as i32, a[1], a[2] as i32, a[3], a[4] as u32),
    nr::TRUNCATE => sys_truncate(a[0], a[1] as i64),
    nr::FTRUNCATE => sys_ftruncate(a[0], a[1] as i64),
    nr::FALLOCATE => sys_fallocate(a[0], a[1] as u32, a[2] as i64, a[3] as i64),
    nr::FCHMOD => fd_inode(a[0]).and_then(|i| chmod(&i, a[1] as u32)),
    nr::FCHMODAT => sys_fchmodat(a[0] as i32, a[1], a[2] as u32),
    nr::FCHOWN => fd_inode(a[0]).and_then(|i| chown(&i, a[1] as u32, a[2] as u32)),
    nr::FCHOWNAT => sys_fchownat(a[0] as i32, a[1], a[2] as u32, a[3] as u32, a[4]),
    nr::UTIMENSAT => sys_utimensat(a[0] as i32, a[1], a[2], a[3]),
    nr::STATFS => lookup_at(AT_FDCWD, a[0], 0).and_then(|p| put_statfs(a[1], p.inode.statfs())),
    nr::FSTATFS => fd_inode(a[0]).and_then(|i| put_statfs(a[1], i.statfs())),
    // Departure from Linux: fsync and syncfs write back every dirty block
    // of every disk, not only the file's or the file system's (one buffer
    // cache per disk; vfat keeps no dirty data outside it).
    nr::SYNC => crate::block::bdev::sync_all().map(|_| 0).or(Ok(0)),
    nr::FSYNC | nr::FDATASYNC | nr::SYNCFS => fdget(a[0]).and_then(|_| crate::block::bdev::sync_all()).map(|_| 0),
    nr::FCHDIR => super::fs::sys_fchdir(a[0]),
    nr::CHROOT => super::fs::sys_chroot(a[0]),
    nr::STATX => sys_statx(a[0] as i32, a[1], a[2], a[3] as u32, a[4]),
    nr::FLOCK => super::fs::sys_flock(a[0], a[1] as u32),
    nr::MOUNT => sys_mount(a[0], a[1], a[2], a[3], a[4]),
    nr::UMOUNT2 => sys_umount2(a[0], a[1]),
}

/// The inode of an fd opened by name (EBADF for pipes and the like, whose
/// attributes cannot change).
fn fd_inode(fd: u64) -> Result<InodeRef, Errno> {
    let file = fdget(fd)?;
    file.path.as_ref().map(|p| p.inode.clone()).ok_or(Errno::EBADF)
}

fn sys_mkdirat(dirfd: i32, pathname: u64, perm: u32) -> SysResult {
    let name = uaccess::get_path(pathname)?;
    vfs::mkdir(&walk_start(dirfd, &name)?, &name, perm, current_umask()).map(|_| 0)
}

fn sys_mknodat(dirfd: i32, pathname: u64, mode_bits: u32, dev: u64) -> SysResult {
    let name = uaccess::get_path(pathname)?;
    // The user's dev_t (major in bits 8-19 and 32-43, minor in 0-7 and
    // 20-31) in the short form this kernel uses (major << 8 | minor).
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    let rdev = crate::fs::devfs::mkdev(major, minor);
    vfs::mknod(&walk_start(dirfd, &name)?, &name, mode_bits, rdev, current_umask()).map(|_| 0)
}

fn sys_unlinkat(dirfd: i32, pathname: u64, at_flags: u64) -> SysResult {
    if at_flags & !AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    let name = uaccess::get_path(pathname)?;
    vfs::unlink(&walk_start(dirfd, &name)?, &name, at_flags & AT_REMOVEDIR != 0).map(|_| 0)
}

fn sys_symlinkat(target: u64, dirfd: i32, linkpath: u64) -> SysResult {
    let target = uaccess::get_path(target)?;
    let name = uaccess::get_path(linkpath)?;
    vfs::symlink(&walk_start(dirfd, &name)?, &target, &name).map(|_| 0)
}

fn sys_linkat(olddirfd: i32, oldpath: u64, newdirfd: i32, newpath: u64, at_flags: u64) -> SysResult {
    if at_flags & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let old = uaccess::get_path(oldpath)?;
    let new = uaccess::get_path(newpath)?;
    if old.is_empty() && at_flags & AT_EMPTY_PATH != 0 {
        // Linux needs CAP_DAC_READ_SEARCH here, which root has.
        let place = lookup_at(olddirfd, oldpath, AT_EMPTY_PATH)?;
        let start = walk_start(newdirfd, &new)?;
        return vfs::link_place(place, &start, &new).map(|_| 0);
    }
    let old_start = walk_start(olddirfd, &old)?;
    let new_start = walk_start(newdirfd, &new)?;
    vfs::link(&old_start, &old, &new_start, &new, at_flags & AT_SYMLINK_FOLLOW != 0).map(|_| 0)
}

fn sys_renameat2(olddirfd: i32, oldpath: u64, newdirfd: i32, newpath: u64, rename_flags: u32) -> SysResult {
    let old = uaccess::get_path(oldpath)?;
    let new = uaccess::get_path(newpath)?;
    let old_start = walk_start(olddirfd, &old)?;
    let new_start = walk_start(newdirfd, &new)?;
    vfs::rename(&old_start, &old, &new_start, &new, rename_flags).map(|_| 0)
}

fn truncate_inode(inode: &InodeRef, length: i64) -> SysResult {
    let length = u64::try_from(length).map_err(|_| Errno::EINVAL)?;
    match crate::fs::inode::file_type(inode) {
        crate::fs::file::mode::S_IFDIR => return Err(Errno::EISDIR),
        crate::fs::file::mode::S_IFREG => {}
        _ => return Err(Errno::EINVAL),
    }
    inode.setattr(&SetAttr { size: Some(length), ..SetAttr::default() }).map(|_| 0)
}

fn sys_truncate(pathname: u64, length: i64) -> SysResult {
    truncate_inode(&lookup_at(AT_FDCWD, pathname, 0)?.inode, length)
}

fn sys_ftruncate(fd: u64, length: i64) -> SysResult {
    let file = fdget(fd)?;
    let inode = file.path.as_ref().map(|p| p.inode.clone()).ok_or(Errno::EINVAL)?;
    if !file.writable() {
        return Err(Errno::EINVAL);
    }
    truncate_inode(&inode, length)
}

/// `fallocate` mode 0: the range's pages are allocated and the size grows
/// to cover it (EOPNOTSUPP for other modes).
fn sys_fallocate(fd: u64, mode: u32, offset: i64, len: i64) -> SysResult {
    let file = fdget(fd)?;
    if offset < 0 || len <= 0 {
        return Err(Errno::EINVAL);
    }
    if !file.writable() {
        return Err(Errno::EBADF);
    }
    if mode != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let inode = file.path.as_ref().map(|p| p.inode.clone()).ok_or(Errno::ESPIPE)?;
    match crate::fs::inode::file_type(&inode) {
        crate::fs::file::mode::S_IFDIR => return Err(Errno::EISDIR),
        crate::fs::file::mode::S_IFREG => {}
        _ => return Err(Errno::ENODEV),
    }
    let tmp = inode.as_any().downcast_ref::<crate::fs::tmpfs::TmpInode>().ok_or(Errno::EOPNOTSUPP)?;
    tmp.allocate(offset as u64, len as u64).map(|_| 0)
}

fn chmod(inode: &InodeRef, mode: u32) -> SysResult {
    inode.setattr(&SetAttr { mode: Some(mode & 0o7777), ..SetAttr::default() }).map(|_| 0)
}

/// chown; -1 (as u32) leaves an id. Changing the owner of a regular file
/// clears its set-user-ID bit and, if group-executable, set-group-ID
/// (Linux: `should_remove_suid`).
fn chown(inode: &InodeRef, uid: u32, gid: u32) -> SysResult {
    let st = inode.getattr();
    let mut attr =
        SetAttr { uid: (uid != u32::MAX).then_some(uid), gid: (gid != u32::MAX).then_some(gid), ..SetAttr::default() };
    if st.mode & crate::fs::file::mode::S_IFMT == crate::fs::file::mode::S_IFREG
        && (attr.uid.is_some() || attr.gid.is_some())
    {
        let mut m = st.mode & 0o7777 & !0o4000;
        if m & 0o010 != 0 {
            m &= !0o2000;
        }
        if m != st.mode & 0o7777 {
            attr.mode = Some(m);
        }
    }
    inode.setattr(&attr).map(|_| 0)
}

fn sys_fchmodat(dirfd: i32, pathname: u64, mode: u32) -> SysResult {
    chmod(&lookup_at(dirfd, pathname, 0)?.inode, mode)
}

fn sys_fchownat(dirfd: i32, pathname: u64, uid: u32, gid: u32, at_flags: u64) -> SysResult {
    if at_flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    chown(&lookup_at(dirfd, pathname, at_flags)?.inode, uid, gid)
}

/// `utimensat`: a null `times` sets both to now; UTIME_NOW and UTIME_OMIT
/// per field. A null `pathname` means `dirfd` itself (the form glibc's
/// futimens uses).
fn sys_utimensat(dirfd: i32, pathname: u64, times: u64, at_flags: u64) -> SysResult {
    if at_flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let now = crate::time::uptime_ns();
    let (atime, mtime) = if times == 0 {
        (Some(now), Some(now))
    } else {
        let mut raw = [0u8; 32];
        copy_from_user(&mut raw, times)?;
        let field = |b: &[u8]| -> Result<Option<u64>, Errno> {
            let sec = i64::from_le_bytes(b[..8].try_into().unwrap());
            let nsec = i64::from_le_bytes(b[8..16].try_into().unwrap());
            match nsec {
                UTIME_NOW => Ok(Some(now)),
                UTIME_OMIT => Ok(None),
                n if (0..1_000_000_000).contains(&n) => {
                    Ok(Some((sec.max(0) as u64).saturating_mul(1_000_000_000).saturating_add(n as u64)))
                }
                _ => Err(Errno::EINVAL),
            }
        };
        (field(&raw[..16])?, field(&raw[16..])?)
    };
    let inode = if pathname == 0 {
        if dirfd == AT_FDCWD {
            return Err(Errno::EFAULT);
        }
        fd_inode(dirfd as u64)?
    } else {
        lookup_at(dirfd, pathname, at_flags)?.inode
    };
    if atime.is_none() && mtime.is_none() {
        return Ok(0);
    }
    inode.setattr(&SetAttr { atime, mtime, ..SetAttr::default() }).map(|_| 0)
}

/// `statx` (Linux: fs/stat.c): the basic fields (STATX_BASIC_STATS), no
/// birth time; the result mask says so.
fn sys_statx(dirfd: i32, pathname: u64, at_flags: u64, mask: u32, buf: u64) -> SysResult {
    const AT_NO_AUTOMOUNT: u64 = 0x800;
    const AT_STATX_SYNC_TYPE: u64 = 0x6000;
    const STATX_BASIC_STATS: u32 = 0x7ff;
    const STATX_RESERVED: u32 = 0x8000_0000;
    if at_flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE) != 0
        || at_flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE
        || mask & STATX_RESERVED != 0
    {
        return Err(Errno::EINVAL);
    }
    let st = lookup_at(dirfd, pathname, at_flags)?.inode.getattr();
    let mut b = [0u8; 256];
    let put32 = |b: &mut [u8; 256], at: usize, v: u32| b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    let put64 = |b: &mut [u8; 256], at: usize, v: u64| b[at..at + 8].copy_from_slice(&v.to_le_bytes());
    put32(&mut b, 0, STATX_BASIC_STATS);
    put32(&mut b, 4, 4096);
    put32(&mut b, 16, st.nlink);
    put32(&mut b, 20, st.uid);
    put32(&mut b, 24, st.gid);
    b[28..30].copy_from_slice(&(st.mode as u16).to_le_bytes());
    put64(&mut b, 32, st.ino);
    put64(&mut b, 40, st.size as u64);
    put64(&mut b, 48, st.nr_blocks());
    for (at, t) in [(64, st.atime), (96, st.ctime), (112, st.mtime)] {
        put64(&mut b, at, t / 1_000_000_000);
        put32(&mut b, at + 8, (t % 1_000_000_000) as u32);
    }
    put32(&mut b, 128, (st.rdev >> 8) as u32);
    put32(&mut b, 132, (st.rdev & 0xff) as u32);
    put32(&mut b, 136, (st.dev >> 8) as u32);
    put32(&mut b, 140, (st.dev & 0xff) as u32);
    copy_to_user(buf, &b)?;
    Ok(0)
}

/// The arm64 `struct statfs` (asm-generic/statfs.h, 120 bytes).
fn put_statfs(buf: u64, st: StatFs) -> SysResult {
    let mut b = [0u8; 120];
    let fields: [u64; 7] = [st.magic, st.bsize, st.blocks, st.bfree, st.bfree, st.files, st.ffree];
    for (i, v) in fields.iter().enumerate() {
        b[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
    }
    // f_fsid (8 bytes at 56) zero; f_namelen, f_frsize, f_flags.
    b[64..72].copy_from_slice(&st.namelen.to_le_bytes());
    b[72..80].copy_from_slice(&st.bsize.to_le_bytes());
    copy_to_user(buf, &b)?;
    Ok(0)
}

/// A `size=` option: bytes with an optional k, m, g suffix, or a
/// percentage of RAM; in pages, at least one.
fn parse_size(v: &str) -> Result<usize, Errno> {
    let total_pages = crate::mm::phys::stats().total;
    let (num, mult) = match v.as_bytes().last() {
        Some(b'%') => {
            let pct: usize = v[..v.len() - 1].parse().map_err(|_| Errno::EINVAL)?;
            return Ok((total_pages.saturating_mul(pct) / 100).max(1));
        }
        Some(b'k' | b'K') => (&v[..v.len() - 1], 1usize << 10),
        Some(b'm' | b'M') => (&v[..v.len() - 1], 1 << 20),
        Some(b'g' | b'G') => (&v[..v.len() - 1], 1 << 30),
        _ => (v, 1),
    };
    let n: usize = num.parse().map_err(|_| Errno::EINVAL)?;
    Ok(n.checked_mul(mult).ok_or(Errno::EINVAL)?.div_ceil(4096).max(1))
}

/// `mount(source, target, type, flags, data)` (Linux: `do_mount`): new
/// mounts of tmpfs (`size=`, `mode=`), proc, devtmpfs and vfat (a block
/// device as the source; always read-only, see fs/vfat/); bind mounts,
/// remounts and read-only mounts of the others are not supported (EINVAL).
fn sys_mount(source: u64, target: u64, fstype: u64, mount_flags: u64, data: u64) -> SysResult {
    let source_ptr = source;
    if mount_flags & (MS_REMOUNT | MS_BIND) != 0 {
        return Err(Errno::EINVAL);
    }
    let at = lookup_at(AT_FDCWD, target, 0)?;
    let fs_type = uaccess::get_path(fstype)?;
    if mount_flags & MS_RDONLY != 0 && fs_type != "vfat" {
        return Err(Errno::EINVAL);
    }
    let source = if source == 0 { alloc::string::String::from("none") } else { uaccess::get_path(source)? };
    let options = if data == 0 {
        alloc::string::String::new()
    } else {
        let raw = uaccess::strndup_user(data, 4096, Errno::EINVAL)?;
        alloc::string::String::from_utf8(raw).map_err(|_| Errno::EINVAL)?
    };
    let (root, fs_type): (InodeRef, &'static str) = match fs_type.as_str() {
        "tmpfs" => {
            let mut pages = crate::fs::tmpfs::Tmpfs::default_pages();
            let mut mode = 0o1777;
            for opt in options.split(',').filter(|o| !o.is_empty()) {
                match opt.split_once('=') {
                    Some(("size", v)) => pages = parse_size(v)?,
                    Some(("mode", v)) => mode = u32::from_str_radix(v, 8).map_err(|_| Errno::EINVAL)? & 0o7777,
                    _ => return Err(Errno::EINVAL),
                }
            }
            let root = crate::fs::tmpfs::Tmpfs::new_root(pages);
            use crate::fs::inode::Inode;
            root.setattr(&SetAttr { mode: Some(mode), ..SetAttr::default() })?;
            (root, "tmpfs")
        }
        "proc" => (crate::fs::procfs::proc_root(), "proc"),
        "devtmpfs" => (crate::fs::devfs::devtmpfs(), "devtmpfs"),
        "vfat" => {
            // Linux: `lookup_bdev`: ENOTBLK for anything but a block node.
            let dev = lookup_at(AT_FDCWD, source_ptr, 0)?;
            let st = dev.inode.getattr();
            if st.mode & crate::fs::file::mode::S_IFMT != crate::fs::file::mode::S_IFBLK {
                return Err(Errno::ENOTBLK);
            }
            let bdev = crate::block::bdev::lookup_rdev(st.rdev).ok_or(Errno::ENXIO)?;
            (crate::fs::vfat::inode::mount(bdev)?, "vfat")
        }
        _ => return Err(Errno::ENODEV),
    };
    crate::fs::namespace::do_mount(&at, root, &source, fs_type, &options).map(|_| 0)
}

fn sys_umount2(target: u64, umount_flags: u64) -> SysResult {
    if umount_flags & !(MNT_FORCE | MNT_DETACH | UMOUNT_NOFOLLOW) != 0 {
        return Err(Errno::EINVAL);
    }
    let follow = if umount_flags & UMOUNT_NOFOLLOW != 0 { AT_SYMLINK_NOFOLLOW } else { 0 };
    let at = lookup_at(AT_FDCWD, target, follow)?;
    crate::fs::namespace::do_umount(at).map(|_| 0)
}
