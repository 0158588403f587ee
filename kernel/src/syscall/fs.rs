//! File system calls (Linux: fs/read_write.c, fs/open.c, fs/pipe.c,
//! fs/fcntl.c, fs/ioctl.c, fs/readdir.c, fs/stat.c, fs/select.c).

use super::{fdget, nr, SysResult};
use crate::errno::Errno;
use crate::fs::file::{flags, mode, poll, File, FilesStruct};
use crate::fs::inode::is_dir;
use crate::fs::namei::{self, WalkStart};
use crate::fs::namespace::PathRef;
use crate::fs::vfs::{self, AT_FDCWD};
use crate::mm::mm_struct::Access;
use crate::mm::uaccess::{self, copy_from_user, copy_to_user};
use crate::sched::task::current;
use crate::sched::wait::{WaitQueueEntry, WaitQueueHead};
use crate::signal::RLIMIT_NOFILE;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

/// Largest piece moved through a kernel buffer at once.
const CHUNK: usize = 64 * 1024;
pub const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
pub const AT_EMPTY_PATH: u64 = 0x1000;
const AT_NO_AUTOMOUNT: u64 = 0x800;
const F_DUPFD: u64 = 0;
const F_GETFD: u64 = 1;
const F_SETFD: u64 = 2;
const F_GETFL: u64 = 3;
const F_SETFL: u64 = 4;
const F_GETLK: u64 = 5;
const F_SETLK: u64 = 6;
const F_SETLKW: u64 = 7;
const F_DUPFD_CLOEXEC: u64 = 1030;
const F_SETPIPE_SZ: u64 = 1031;
const F_GETPIPE_SZ: u64 = 1032;
const FD_CLOEXEC: u64 = 1;
const FIONBIO: u32 = 0x5421;
const FIONCLEX: u32 = 0x5450;
const FIOCLEX: u32 = 0x5451;

syscalls! {
    a;
    nr::READ => sys_read(a[0], a[1], a[2] as usize),
    nr::WRITE => sys_write(a[0], a[1], a[2] as usize),
    nr::SENDFILE => sys_sendfile(a[0], a[1], a[2], a[3] as usize),
    nr::READV => sys_readv(a[0], a[1], a[2]),
    nr::WRITEV => sys_writev(a[0], a[1], a[2]),
    nr::PREAD64 => sys_pread64(a[0], a[1], a[2] as usize, a[3]),
    nr::FADVISE64 => sys_fadvise64(a[0], a[2] as i64, a[3]),
    nr::PWRITE64 => sys_pwrite64(a[0], a[1], a[2] as usize, a[3] as i64),
    nr::PWRITEV => sys_pwritev(a[0], a[1], a[2], a[3] as i64),
    nr::OPENAT => sys_openat(a[0] as i32, a[1], a[2] as u32, a[3] as u32),
    nr::CLOSE => sys_close(a[0]),
    nr::PIPE2 => sys_pipe2(a[0], a[1] as u32),
    nr::DUP => sys_dup(a[0]),
    nr::DUP3 => sys_dup3(a[0], a[1], a[2] as u32),
    nr::FCNTL => sys_fcntl(a[0], a[1], a[2]),
    nr::IOCTL => sys_ioctl(a[0], a[1] as u32, a[2]),
    nr::GETDENTS64 => sys_getdents64(a[0], a[1], a[2] as usize),
    nr::LSEEK => sys_lseek(a[0], a[1] as i64, a[2]),
    nr::NEWFSTATAT => sys_newfstatat(a[0] as i32, a[1], a[2], a[3]),
    nr::FSTAT => sys_fstat(a[0], a[1]),
    nr::GETCWD => sys_getcwd(a[0], a[1] as usize),
    nr::CHDIR => sys_chdir(a[0]),
    nr::FACCESSAT => sys_faccessat(a[0] as i32, a[1], a[2]),
    nr::READLINKAT => sys_readlinkat(a[0] as i32, a[1], a[2], a[3] as usize),
    nr::PPOLL => sys_ppoll(a[0], a[1] as usize, a[2], a[3], a[4]),
    nr::PSELECT6 => super::select::sys_pselect6(a[0] as i32, [a[1], a[2], a[3]], a[4], a[5]),
    nr::UMASK => sys_umask(a[0] as u32),
}

/// A zeroed kernel buffer for user data: ENOMEM, not a panic, when the heap
/// cannot grow.
pub fn kbuf(len: usize) -> Result<Vec<u8>, Errno> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| Errno::ENOMEM)?;
    v.resize(len, 0);
    Ok(v)
}

pub(super) fn files() -> Result<Arc<FilesStruct>, Errno> {
    current().files.lock().clone().ok_or(Errno::EBADF)
}

pub(super) fn nofile_limit() -> usize {
    current().signal_struct().map_or(1024, |s| s.rlimit(RLIMIT_NOFILE) as usize)
}

/// Refuses a buffer the task cannot access, before anything is consumed.
fn check_user(addr: u64, len: usize, access: Access) -> Result<(), Errno> {
    if len == 0 || uaccess::current_mm()?.access_ok(addr, len, access) {
        Ok(())
    } else {
        Err(Errno::EFAULT)
    }
}

/// Reads into user memory a kernel buffer's worth at a time with
/// `read_piece(buffer, offset into the request)`: a file opened by name
/// (regular files, which Linux reads in full) until `count` or a short
/// piece, and the memory devices until `count`; anything else (pipes,
/// terminals) once.
fn read_to_user(
    file: &File,
    buf: u64,
    count: usize,
    mut read_piece: impl FnMut(&mut [u8], usize) -> Result<usize, Errno>,
) -> SysResult {
    let whole = (file.path.is_some() && file.ops.seekable()) || file.ops.fills_reads();
    let mut kbuf = kbuf(count.min(CHUNK))?;
    let mut done = 0;
    loop {
        let want = (count - done).min(CHUNK);
        let n = match read_piece(&mut kbuf[..want], done) {
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        copy_to_user(buf + done as u64, &kbuf[..n])?;
        done += n;
        if !whole || n < want || done == count {
            break;
        }
    }
    Ok(done as u64)
}

fn sys_read(fd: u64, buf: u64, count: usize) -> SysResult {
    let file = fdget(fd)?;
    // A stream that copies straight to user memory consumes nothing when
    // the copy faults, so it needs no check of the buffer first.
    if let Some(result) = file.read_user(buf, count) {
        return result.map(|n| n as u64);
    }
    check_user(buf, count, Access::Write)?;
    read_to_user(&file, buf, count, |k, _| file.read(k))
}

fn sys_pread64(fd: u64, buf: u64, count: usize, pos: u64) -> SysResult {
    let file = fdget(fd)?;
    if !file.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    if !file.readable() {
        return Err(Errno::EBADF);
    }
    check_user(buf, count, Access::Write)?;
    read_to_user(&file, buf, count, |k, at| file.ops.read(k, pos + at as u64, false))
}

/// `posix_fadvise` (Linux: mm/fadvise.c). The advice is checked and taken
/// as a hint with nothing to do: tmpfs pages are the files themselves, and
/// the disks' buffer cache keeps no long runs of file data to drop or read
/// ahead. ESPIPE for a pipe or FIFO, EINVAL for an unknown advice or a
/// negative length, as Linux.
fn sys_fadvise64(fd: u64, len: i64, advice: u64) -> SysResult {
    const POSIX_FADV_NOREUSE: u64 = 5;
    let file = fdget(fd)?;
    if file.stat().mode & mode::S_IFMT == mode::S_IFIFO {
        return Err(Errno::ESPIPE);
    }
    if advice > POSIX_FADV_NOREUSE || len < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

fn sys_pwrite64(fd: u64, buf: u64, count: usize, pos: i64) -> SysResult {
    let file = fdget(fd)?;
    if pos < 0 {
        return Err(Errno::EINVAL);
    }
    if !file.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    if !file.writable() {
        return Err(Errno::EBADF);
    }
    check_user(buf, count, Access::Read)?;
    pwrite_from_user(&file, buf, count, pos as u64)
}

/// Writes `count` bytes from user memory at `buf` to the file at `pos`,
/// a kernel buffer's worth at a time (the file position does not move).
fn pwrite_from_user(file: &File, buf: u64, count: usize, pos: u64) -> SysResult {
    in_pieces((0..count).step_by(CHUNK), |at| {
        let len = (count - at).min(CHUNK);
        let mut data = kbuf(len)?;
        copy_from_user(&mut data, buf + at as u64)?;
        file.ops.write_at(&data, pos + at as u64).map(|n| (n, len))
    })
}

fn sys_pwritev(fd: u64, iov: u64, iovcnt: u64, pos: i64) -> SysResult {
    let file = fdget(fd)?;
    if pos < 0 {
        return Err(Errno::EINVAL);
    }
    if !file.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    if !file.writable() {
        return Err(Errno::EBADF);
    }
    let vecs = read_iovec(iov, iovcnt)?;
    for &(base, len) in &vecs {
        check_user(base, len, Access::Read)?;
    }
    let mut at = pos as u64;
    in_pieces(vecs, |(base, len)| {
        let n = pwrite_from_user(&file, base, len, at)? as usize;
        at += n as u64;
        Ok((n, len))
    })
}

/// Writes `pieces` one after another with `write`, which returns (bytes
/// written, bytes wanted): the total, stopping at a short write; an error
/// counts only when nothing was written yet (write(2)'s rule).
fn in_pieces<T>(
    pieces: impl IntoIterator<Item = T>,
    mut write: impl FnMut(T) -> Result<(usize, usize), Errno>,
) -> SysResult {
    let mut done = 0u64;
    for piece in pieces {
        match write(piece) {
            Ok((n, wanted)) => {
                done += n as u64;
                if n < wanted {
                    break;
                }
            }
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(done)
}

fn write_all(file: &File, data: &[u8]) -> SysResult {
    in_pieces(data.chunks(CHUNK), |piece| file.write(piece).map(|n| (n, piece.len())))
}

fn sys_write(fd: u64, buf: u64, count: usize) -> SysResult {
    let file = fdget(fd)?;
    if !file.writable() {
        return Err(Errno::EBADF);
    }
    write_from_user(&file, buf, count)
}

/// `sendfile(out_fd, in_fd, offset, count)` (Linux: `do_sendfile`): copies
/// up to `count` bytes from `in_fd` to `out_fd` inside the kernel, a kernel
/// buffer's worth at a time. With `offset` the copy reads from `*offset`,
/// stores the position it reached there and leaves `in_fd`'s position alone;
/// without it, it reads at and advances `in_fd`'s position, by what was
/// written. A short write ends the copy; an error counts only when nothing
/// was copied yet.
///
/// Departs from Linux: the input must be a file with a position (a regular
/// or device file). Linux 6.1 splices also from a terminal; from a pipe it
/// says EINVAL, as this kernel does for both, and BusyBox (whose `cat` tries
/// sendfile first) falls back to read and write on any error.
fn sys_sendfile(out_fd: u64, in_fd: u64, offset: u64, count: usize) -> SysResult {
    let input = fdget(in_fd)?;
    let output = fdget(out_fd)?;
    if !input.readable() || !output.writable() {
        return Err(Errno::EBADF);
    }
    if output.flags.load(Ordering::Relaxed) & flags::O_APPEND != 0 {
        return Err(Errno::EINVAL);
    }
    let mut start = None;
    if offset != 0 {
        let mut raw = [0u8; 8];
        copy_from_user(&mut raw, offset)?;
        let pos = i64::from_ne_bytes(raw);
        if !input.ops.seekable() {
            return Err(Errno::ESPIPE);
        }
        if pos < 0 {
            return Err(Errno::EINVAL);
        }
        start = Some(pos as u64);
    }
    if !input.ops.seekable() {
        return Err(Errno::EINVAL);
    }
    // Linux's MAX_RW_COUNT: a transfer stops short of 2 GiB.
    let count = count.min(0x7fff_f000);
    let mut pos = match start {
        Some(p) => p,
        None => *input.pos.lock(),
    };
    let mut buf = kbuf(count.min(CHUNK))?;
    let mut done = 0usize;
    let mut failure = None;
    while done < count {
        let want = (count - done).min(CHUNK);
        let n = match input.ops.read(&mut buf[..want], pos, input.nonblock()) {
            Ok(n) => n,
            Err(e) => {
                failure = Some(e);
                break;
            }
        };
        if n == 0 {
            break;
        }
        let written = match write_all(&output, &buf[..n]) {
            Ok(w) => w as usize,
            Err(e) => {
                failure = Some(e);
                break;
            }
        };
        done += written;
        pos += written as u64;
        if written < n || n < want {
            break;
        }
    }
    match start {
        Some(_) => copy_to_user(offset, &pos.to_ne_bytes())?,
        None => *input.pos.lock() = pos,
    }
    match failure {
        Some(e) if done == 0 => Err(e),
        _ => Ok(done as u64),
    }
}

/// Writes `count` bytes from user memory at `buf`, a kernel buffer's worth
/// at a time; a short write ends it.
fn write_from_user(file: &File, buf: u64, count: usize) -> SysResult {
    if let Some(result) = file.write_user(buf, count) {
        return result.map(|n| n as u64);
    }
    in_pieces((0..count).step_by(CHUNK), |at| {
        let len = (count - at).min(CHUNK);
        let mut data = kbuf(len)?;
        copy_from_user(&mut data, buf + at as u64)?;
        write_all(file, &data).map(|n| (n as usize, len))
    })
}

/// Reads an iovec array: (base, len) pairs.
pub(super) fn read_iovec(iov: u64, iovcnt: u64) -> Result<Vec<(u64, usize)>, Errno> {
    if iovcnt > 1024 {
        return Err(Errno::EINVAL);
    }
    let mut raw = kbuf(iovcnt as usize * 16)?;
    copy_from_user(&mut raw, iov)?;
    let mut total: usize = 0;
    raw.chunks(16)
        .map(|c| {
            let base = u64::from_le_bytes(c[..8].try_into().unwrap());
            let len = u64::from_le_bytes(c[8..].try_into().unwrap()) as usize;
            total = total.checked_add(len).filter(|&t| t <= isize::MAX as usize).ok_or(Errno::EINVAL)?;
            Ok((base, len))
        })
        .collect()
}

fn sys_writev(fd: u64, iov: u64, iovcnt: u64) -> SysResult {
    let file = fdget(fd)?;
    if !file.writable() {
        return Err(Errno::EBADF);
    }
    let vecs = read_iovec(iov, iovcnt)?;
    for &(base, len) in &vecs {
        check_user(base, len, Access::Read)?;
    }
    let total: usize = vecs.iter().map(|v| v.1).sum();
    if total <= CHUNK {
        // Gathered into one buffer, so a pipe sees one write (atomic up to
        // PIPE_BUF).
        let mut data = kbuf(total)?;
        let mut at = 0;
        for (base, len) in vecs {
            copy_from_user(&mut data[at..at + len], base)?;
            at += len;
        }
        return write_all(&file, &data);
    }
    // Larger: one piece after another, stopping at a short write.
    in_pieces(vecs, |(base, len)| write_from_user(&file, base, len).map(|n| (n as usize, len)))
}

fn sys_readv(fd: u64, iov: u64, iovcnt: u64) -> SysResult {
    let file = fdget(fd)?;
    let vecs = read_iovec(iov, iovcnt)?;
    for &(base, len) in &vecs {
        check_user(base, len, Access::Write)?;
    }
    let total: usize = vecs.iter().map(|v| v.1).sum();
    let mut kbuf = kbuf(total.min(CHUNK))?;
    let n = file.read(&mut kbuf)?;
    let mut at = 0;
    for (base, len) in vecs {
        if at >= n {
            break;
        }
        let take = len.min(n - at);
        copy_to_user(base, &kbuf[at..at + take])?;
        at += take;
    }
    Ok(n as u64)
}

/// Where a walk for `name` relative to `dirfd` starts (Linux:
/// `path_init`): the caller's root and its current directory or the
/// directory `dirfd` is open on (ENOTDIR for another file).
pub fn walk_start(dirfd: i32, name: &str) -> Result<WalkStart, Errno> {
    let fs = current().fs.lock().clone().ok_or(Errno::ENOENT)?;
    let root = fs.root.lock().clone();
    if name.starts_with('/') || dirfd == AT_FDCWD {
        let dir = fs.cwd.lock().clone();
        return Ok(WalkStart { root, dir });
    }
    let file = fdget(dirfd as u64)?;
    let dir = file.path.clone().ok_or(Errno::ENOTDIR)?;
    if !is_dir(&dir.inode) {
        return Err(Errno::ENOTDIR);
    }
    Ok(WalkStart { root, dir })
}

/// The caller's file-creation mask.
pub fn current_umask() -> u32 {
    current().fs.lock().as_ref().map_or(0o022, |f| f.umask.load(Ordering::Relaxed))
}

/// The absolute name of the existing file `name` relative to `dirfd`
/// (execve's program).
pub fn resolve_at(dirfd: i32, name: &str) -> Result<String, Errno> {
    // An absolute name without `.` or `..` is walked by execve itself as it
    // is (errors included); any other is checked here, where the current
    // directory is known.
    let plain = name.starts_with('/') && !name.split('/').any(|c| c == "." || c == "..");
    if plain {
        return crate::fs::path::normalize("/", name);
    }
    let start = walk_start(dirfd, name)?;
    namei::path_lookup(&start, name, true)?;
    Ok(vfs::display_path(&start, name))
}

/// The place `name` names relative to `dirfd`, with the `*at` flags
/// AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH (the empty name: `dirfd` itself).
pub fn lookup_at(dirfd: i32, pathname: u64, at_flags: u64) -> Result<PathRef, Errno> {
    let name = uaccess::get_path(pathname)?;
    if name.is_empty() && at_flags & AT_EMPTY_PATH != 0 {
        if dirfd == AT_FDCWD {
            return Ok(walk_start(dirfd, ".")?.dir);
        }
        return fdget(dirfd as u64)?.path.clone().ok_or(Errno::EBADF);
    }
    let start = walk_start(dirfd, &name)?;
    namei::path_lookup(&start, &name, at_flags & AT_SYMLINK_NOFOLLOW == 0)
}

fn sys_openat(dirfd: i32, pathname: u64, open_flags: u32, perm: u32) -> SysResult {
    let name = uaccess::get_path(pathname)?;
    let start = walk_start(dirfd, &name)?;
    let file = vfs::open(&start, &name, open_flags, perm, current_umask())?;
    let fd = files()?.install(file, open_flags & flags::O_CLOEXEC != 0, 0, nofile_limit())?;
    Ok(fd as u64)
}

fn sys_close(fd: u64) -> SysResult {
    let file = files()?.close(fd as i32)?;
    drop(file);
    Ok(0)
}

fn sys_pipe2(fds: u64, pipe_flags: u32) -> SysResult {
    if pipe_flags & !(flags::O_CLOEXEC | flags::O_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    check_user(fds, 8, Access::Write)?;
    let (r, w) = crate::fs::pipe::create()?;
    let status = pipe_flags & flags::O_NONBLOCK;
    let cloexec = pipe_flags & flags::O_CLOEXEC != 0;
    let table = files()?;
    let limit = nofile_limit();
    let rfd = table.install(File::new(r, flags::O_RDONLY | status), cloexec, 0, limit)?;
    let wfd = match table.install(File::new(w, flags::O_WRONLY | status), cloexec, 0, limit) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = table.close(rfd);
            return Err(e);
        }
    };
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&rfd.to_le_bytes());
    out[4..].copy_from_slice(&wfd.to_le_bytes());
    if let Err(e) = copy_to_user(fds, &out) {
        let _ = table.close(rfd);
        let _ = table.close(wfd);
        return Err(e);
    }
    Ok(0)
}

fn sys_dup(fd: u64) -> SysResult {
    let file = fdget(fd)?;
    Ok(files()?.install(file, false, 0, nofile_limit())? as u64)
}

fn sys_dup3(old: u64, new: u64, dup_flags: u32) -> SysResult {
    // The descriptors are unsigned ints in Linux's ABI: the upper halves of
    // the registers do not count.
    let (old, new) = (old as u32, new as u32);
    if dup_flags & !flags::O_CLOEXEC != 0 || old == new {
        return Err(Errno::EINVAL);
    }
    let file = fdget(old as u64)?;
    let new_fd = i32::try_from(new).map_err(|_| Errno::EBADF)?;
    let replaced = files()?.install_at(new_fd, file, dup_flags & flags::O_CLOEXEC != 0, nofile_limit())?;
    drop(replaced);
    Ok(new as u64)
}

fn sys_fcntl(fd: u64, cmd: u64, arg: u64) -> SysResult {
    let table = files()?;
    let file = table.get(fd as i32)?;
    match cmd {
        F_DUPFD | F_DUPFD_CLOEXEC => {
            let min = usize::try_from(arg).map_err(|_| Errno::EINVAL)?;
            if min >= nofile_limit() {
                return Err(Errno::EINVAL);
            }
            Ok(table.install(file, cmd == F_DUPFD_CLOEXEC, min, nofile_limit())? as u64)
        }
        F_GETFD => Ok(table.cloexec(fd as i32)? as u64 * FD_CLOEXEC),
        F_SETFD => table.set_cloexec(fd as i32, arg & FD_CLOEXEC != 0).map(|_| 0),
        F_GETFL => Ok(file.flags.load(Ordering::Relaxed) as u64),
        F_GETLK | F_SETLK | F_SETLKW => fcntl_lock(&table, &file, cmd, arg),
        F_GETPIPE_SZ => file.ops.pipe_size(None).map(|n| n as u64),
        // The size is an unsigned int in Linux: the upper half of the register is ignored.
        F_SETPIPE_SZ => file.ops.pipe_size(Some(arg as u32 as usize)).map(|n| n as u64),
        F_SETFL => {
            let settable = flags::O_APPEND | flags::O_NONBLOCK;
            let old = file.flags.load(Ordering::Relaxed);
            file.flags.store((old & !settable) | (arg as u32 & settable), Ordering::Relaxed);
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// POSIX record locks (Linux: `fcntl_getlk`, `fcntl_setlk`): the arm64
/// `struct flock` is l_type (u16), l_whence (u16), l_start, l_len (i64),
/// l_pid (i32), 32 bytes.
fn fcntl_lock(table: &FilesStruct, file: &File, cmd: u64, arg: u64) -> SysResult {
    use crate::fs::locks::{self, PosixLock, F_RDLCK, F_UNLCK, F_WRLCK};
    let inode = file.path.as_ref().map(|p| p.inode.clone()).ok_or(Errno::EINVAL)?;
    let mut raw = [0u8; 32];
    copy_from_user(&mut raw, arg)?;
    let l_type = u16::from_le_bytes([raw[0], raw[1]]);
    let whence = u16::from_le_bytes([raw[2], raw[3]]);
    let l_start = i64::from_le_bytes(raw[8..16].try_into().unwrap());
    let l_len = i64::from_le_bytes(raw[16..24].try_into().unwrap());
    let base = match whence {
        0 => 0,
        1 => *file.pos.lock() as i64,
        2 => file.stat().size,
        _ => return Err(Errno::EINVAL),
    };
    let start = base.checked_add(l_start).ok_or(Errno::EINVAL)?;
    let (start, end) = match l_len {
        0 => (start, u64::MAX as i128),
        n if n > 0 => (start, start as i128 + n as i128 - 1),
        n => (start + n, start as i128 - 1),
    };
    if start < 0 {
        return Err(Errno::EINVAL);
    }
    let end = end.min(u64::MAX as i128) as u64;
    let want = PosixLock {
        owner: table.lock_owner(),
        pid: current().tgid() as i32,
        write: l_type == F_WRLCK,
        start: start as u64,
        end,
    };
    match l_type {
        F_RDLCK | F_WRLCK | F_UNLCK => {}
        _ => return Err(Errno::EINVAL),
    }
    if cmd == F_GETLK {
        if l_type == F_UNLCK {
            return Err(Errno::EINVAL);
        }
        let mut out = raw;
        match locks::posix_test(&inode, &want) {
            None => out[0..2].copy_from_slice(&F_UNLCK.to_le_bytes()),
            Some(l) => {
                out[0..2].copy_from_slice(&(if l.write { F_WRLCK } else { F_RDLCK }).to_le_bytes());
                out[2..4].copy_from_slice(&0u16.to_le_bytes());
                out[8..16].copy_from_slice(&(l.start as i64).to_le_bytes());
                let len = if l.end == u64::MAX { 0 } else { (l.end - l.start + 1) as i64 };
                out[16..24].copy_from_slice(&len.to_le_bytes());
                out[24..28].copy_from_slice(&l.pid.to_le_bytes());
            }
        }
        copy_to_user(arg, &out)?;
        return Ok(0);
    }
    if l_type == F_RDLCK && !file.readable() || l_type == F_WRLCK && !file.writable() {
        return Err(Errno::EBADF);
    }
    locks::posix_lock(&inode, want, l_type == F_UNLCK, cmd == F_SETLKW).map(|_| 0)
}

/// `flock` (Linux: fs/locks.c `SYSCALL_DEFINE2(flock)`).
pub fn sys_flock(fd: u64, op: u32) -> SysResult {
    let file = fdget(fd)?;
    let inode = file.path.as_ref().map(|p| p.inode.clone()).ok_or(Errno::EINVAL)?;
    crate::fs::locks::flock(&inode, file.lock_owner(), op).map(|_| 0)
}

fn sys_ioctl(fd: u64, cmd: u32, arg: u64) -> SysResult {
    let table = files()?;
    let file = table.get(fd as i32)?;
    match cmd {
        FIOCLEX | FIONCLEX => table.set_cloexec(fd as i32, cmd == FIOCLEX).map(|_| 0),
        FIONBIO => {
            let on = uaccess::get_user_u32(arg)? != 0;
            if on {
                file.flags.fetch_or(flags::O_NONBLOCK, Ordering::Relaxed);
            } else {
                file.flags.fetch_and(!flags::O_NONBLOCK, Ordering::Relaxed);
            }
            Ok(0)
        }
        _ => file.ops.ioctl(cmd, arg),
    }
}

fn sys_getdents64(fd: u64, dirp: u64, count: usize) -> SysResult {
    let file = fdget(fd)?;
    let stat = file.stat();
    if stat.mode & mode::S_IFMT != mode::S_IFDIR {
        return Err(Errno::ENOTDIR);
    }
    check_user(dirp, count, Access::Write)?;
    // Each entry with its position: the file's own (a /proc listing resumes
    // by PID), else its place in name order after "." and "..".
    let entries = match file.ops.readdir_positioned() {
        Some(list) => list?,
        None => {
            let mut entries = file.ops.readdir()?;
            entries.sort_by(|a, b| a.name.cmp(&b.name));
            entries.into_iter().enumerate().map(|(i, e)| (i as u64 + 2, e)).collect()
        }
    };
    let dots = [(stat.ino, "."), (stat.ino, "..")];
    let mut pos = file.pos.lock();
    let mut out = Vec::new();
    let mut next = *pos;
    let all = dots
        .iter()
        .enumerate()
        .map(|(i, &(ino, name))| (i as u64, ino, crate::fs::file::dtype::DT_DIR, name))
        .chain(entries.iter().map(|(at, e)| (*at, e.ino, e.dtype, e.name.as_str())));
    for (at, ino, dtype, name) in all.filter(|&(at, ..)| at >= *pos) {
        let reclen = (19 + name.len() + 1).div_ceil(8) * 8;
        if out.len() + reclen > count {
            if out.is_empty() {
                return Err(Errno::EINVAL);
            }
            break;
        }
        let start = out.len();
        out.resize(start + reclen, 0);
        out[start..start + 8].copy_from_slice(&ino.to_le_bytes());
        out[start + 8..start + 16].copy_from_slice(&((at + 1) as i64).to_le_bytes());
        out[start + 16..start + 18].copy_from_slice(&(reclen as u16).to_le_bytes());
        out[start + 18] = dtype;
        out[start + 19..start + 19 + name.len()].copy_from_slice(name.as_bytes());
        next = at + 1;
    }
    copy_to_user(dirp, &out)?;
    *pos = next;
    Ok(out.len() as u64)
}

fn sys_lseek(fd: u64, offset: i64, whence: u64) -> SysResult {
    const SEEK_DATA: u64 = 3;
    const SEEK_HOLE: u64 = 4;
    let file = fdget(fd)?;
    if !file.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    let mut pos = file.pos.lock();
    let size = || file.stat().size;
    let new = match whence {
        0 => offset,
        1 => (*pos as i64).checked_add(offset).ok_or(Errno::EINVAL)?,
        2 => size().checked_add(offset).ok_or(Errno::EINVAL)?,
        // The whole file counts as data (holes read as zeros and are
        // reported as data, which Linux allows).
        SEEK_DATA | SEEK_HOLE => {
            let size = size();
            if offset < 0 || offset >= size {
                return Err(Errno::ENXIO);
            }
            if whence == SEEK_DATA {
                offset
            } else {
                size
            }
        }
        _ => return Err(Errno::EINVAL),
    };
    if new < 0 {
        return Err(Errno::EINVAL);
    }
    *pos = new as u64;
    Ok(new as u64)
}

fn sys_newfstatat(dirfd: i32, pathname: u64, statbuf: u64, at_flags: u64) -> SysResult {
    if at_flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT) != 0 {
        return Err(Errno::EINVAL);
    }
    let stat = lookup_at(dirfd, pathname, at_flags)?.inode.getattr();
    copy_to_user(statbuf, &stat.to_bytes())?;
    Ok(0)
}

fn sys_fstat(fd: u64, statbuf: u64) -> SysResult {
    let stat = fdget(fd)?.stat();
    copy_to_user(statbuf, &stat.to_bytes())?;
    Ok(0)
}

fn sys_getcwd(buf: u64, size: usize) -> SysResult {
    let fs = current().fs.lock().clone().ok_or(Errno::ENOENT)?;
    let (cwd, root) = (fs.cwd.lock().clone(), fs.root.lock().clone());
    let cwd = namei::d_path(&cwd, &root)?;
    if cwd.len() + 1 > size {
        return Err(Errno::ERANGE);
    }
    let mut bytes = cwd.into_bytes();
    bytes.push(0);
    copy_to_user(buf, &bytes)?;
    Ok(bytes.len() as u64)
}

/// Makes `place` the current directory (or the root, for chroot).
fn set_fs_place(place: PathRef, root: bool) -> SysResult {
    if !is_dir(&place.inode) {
        return Err(Errno::ENOTDIR);
    }
    let fs = current().fs.lock().clone().ok_or(Errno::ENOENT)?;
    let old = if root {
        core::mem::replace(&mut *fs.root.lock(), place)
    } else {
        core::mem::replace(&mut *fs.cwd.lock(), place)
    };
    drop(old);
    Ok(0)
}

fn sys_chdir(pathname: u64) -> SysResult {
    set_fs_place(lookup_at(AT_FDCWD, pathname, 0)?, false)
}

pub fn sys_fchdir(fd: u64) -> SysResult {
    let place = fdget(fd)?.path.clone().ok_or(Errno::ENOTDIR)?;
    set_fs_place(place, false)
}

pub fn sys_chroot(pathname: u64) -> SysResult {
    set_fs_place(lookup_at(AT_FDCWD, pathname, 0)?, true)
}

/// `faccessat` for root (Linux: `do_faccessat` with CAP_DAC_OVERRIDE):
/// reading and writing are allowed; executing needs an execute bit on
/// anything but a directory.
fn sys_faccessat(dirfd: i32, pathname: u64, amode: u64) -> SysResult {
    const X_OK: u64 = 1;
    if amode & !7 != 0 {
        return Err(Errno::EINVAL);
    }
    let st = lookup_at(dirfd, pathname, 0)?.inode.getattr();
    let is_dir = st.mode & mode::S_IFMT == mode::S_IFDIR;
    if amode & X_OK != 0 && !is_dir && st.mode & 0o111 == 0 {
        return Err(Errno::EACCES);
    }
    Ok(0)
}

fn sys_readlinkat(dirfd: i32, pathname: u64, buf: u64, size: usize) -> SysResult {
    if size as i64 <= 0 {
        return Err(Errno::EINVAL);
    }
    let place = lookup_at(dirfd, pathname, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)?;
    let target = place.inode.readlink()?;
    let n = target.len().min(size);
    copy_to_user(buf, &target.as_bytes()[..n])?;
    Ok(n as u64)
}

/// `ppoll` (Linux: fs/select.c `do_sys_poll`): the readiness of each fd;
/// with none ready, the caller sleeps on every file's wait queues until one
/// of them is woken, the timeout passes or a signal comes. With a signal
/// mask, that mask is the caller's while it waits, as in `rt_sigsuspend`:
/// it stays until a handler has run when a signal ends the wait, and goes
/// back at once otherwise (Linux: `set_user_sigmask`,
/// `restore_saved_sigmask_unless`).
fn sys_ppoll(fds: u64, nfds: usize, tmo: u64, sigmask: u64, sigsetsize: u64) -> SysResult {
    let _wchan = crate::wchan!("poll_schedule_timeout");
    if nfds > nofile_limit() {
        return Err(Errno::EINVAL);
    }
    if sigmask != 0 {
        super::signal::set_user_sigmask(sigmask, sigsetsize)?;
    }
    let result = do_ppoll(fds, nfds, tmo);
    if sigmask != 0 {
        super::signal::restore_saved_sigmask_unless(result == Err(Errno::ERESTARTNOHAND));
    }
    result
}

fn do_ppoll(fds: u64, nfds: usize, tmo: u64) -> SysResult {
    let mut raw = kbuf(nfds * 8)?;
    copy_from_user(&mut raw, fds)?;
    let deadline = if tmo == 0 {
        None
    } else {
        let mut ts = [0u8; 16];
        copy_from_user(&mut ts, tmo)?;
        let ns = super::misc::timespec_ns(&ts)?;
        Some(crate::time::uptime_ns().saturating_add(ns))
    };
    let ready = do_poll(&mut raw, deadline, poll::POLLERR | poll::POLLHUP)?;
    copy_to_user(fds, &raw)?;
    Ok(ready as u64)
}

/// The wait of `poll`, `ppoll` and `pselect6` (Linux: `do_poll`) over
/// `raw`, an array of `struct pollfd` in kernel memory whose `revents` it
/// fills: a descriptor counts as ready when its file reports one of its
/// `events` or of `always` (poll adds POLLERR and POLLHUP; select asks
/// for exactly what its sets mean). Returns how many are ready, once one
/// is, the `deadline` (uptime, ns) passes or a signal comes. The caller
/// sleeps in TASK_INTERRUPTIBLE even with no descriptor to wait on (`pause`
/// is `ppoll(NULL, 0, NULL, NULL)` in glibc and musl).
pub(super) fn do_poll(raw: &mut [u8], deadline: Option<u64>, always: u16) -> Result<usize, Errno> {
    let table = files()?;
    // The files, held for the whole call (their wait queues live in them).
    let polled: Vec<Option<Arc<File>>> = raw
        .chunks(8)
        .map(|pfd| {
            let fd = i32::from_le_bytes(pfd[..4].try_into().unwrap());
            if fd < 0 {
                None
            } else {
                table.get(fd).ok()
            }
        })
        .collect();
    let mut queues: Vec<*const WaitQueueHead> = Vec::new();
    for f in polled.iter().flatten() {
        f.ops.poll_wait(&mut |q| queues.push(q as *const WaitQueueHead));
    }
    // One entry per queue, made before any is linked: they must not move.
    let mut entries: Vec<WaitQueueEntry> = queues.iter().map(|_| WaitQueueEntry::new()).collect();
    let result = loop {
        // Asleep before the test, queued or not: with no queue only the
        // timer or a signal ends the wait, and both wake TASK_INTERRUPTIBLE.
        crate::sched::task::set_current_state(crate::sched::task::state::TASK_INTERRUPTIBLE);
        for (q, e) in queues.iter().zip(entries.iter_mut()) {
            // SAFETY: the queue belongs to a file `polled` keeps alive.
            unsafe { (**q).prepare_to_wait(e, crate::sched::task::state::TASK_INTERRUPTIBLE) };
        }
        let mut ready = 0;
        for (pfd, file) in raw.chunks_mut(8).zip(&polled) {
            let fd = i32::from_le_bytes(pfd[..4].try_into().unwrap());
            let events = u16::from_le_bytes(pfd[4..6].try_into().unwrap());
            let revents = match file {
                _ if fd < 0 => 0,
                Some(f) => poll::with_norm(f.ops.poll()) & (events | always),
                None => poll::POLLNVAL,
            };
            pfd[6..8].copy_from_slice(&revents.to_le_bytes());
            if revents != 0 {
                ready += 1;
            }
        }
        let now = crate::time::uptime_ns();
        if ready > 0 || deadline.is_some_and(|d| now >= d) {
            break Ok(ready);
        }
        if crate::sched::task::signal_pending() {
            // EINTR after a handler; started over (with the whole timeout:
            // the time left is not kept) when none runs (Linux:
            // ERESTARTNOHAND in do_sys_poll).
            break Err(Errno::ERESTARTNOHAND);
        }
        match deadline {
            Some(d) => {
                crate::sched::core::schedule_timeout_prepared(d - now);
            }
            None => crate::sched::core::schedule(),
        }
    };
    crate::sched::task::__set_current_state(crate::sched::task::state::TASK_RUNNING);
    for (q, e) in queues.iter().zip(entries.iter_mut()) {
        // SAFETY: as above.
        unsafe { (**q).finish_wait(e) };
    }
    result
}

fn sys_umask(mask: u32) -> SysResult {
    let fs = current().fs.lock().clone().ok_or(Errno::EINVAL)?;
    Ok(fs.umask.swap(mask & 0o777, Ordering::Relaxed) as u64)
}
