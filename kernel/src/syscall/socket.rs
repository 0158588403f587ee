//! Socket system calls (Linux: net/socket.c, net/core/scm.c,
//! net/core/sock.c's SOL_SOCKET options): socket, socketpair, bind,
//! listen, accept4, connect, getsockname, getpeername, sendto, recvfrom,
//! setsockopt, getsockopt, shutdown, sendmsg, recvmsg.
//!
//! They turn user structures into kernel values (a `struct sockaddr_un`
//! into a [`UnixAddr`], a `struct msghdr` into an [`Iov`] and control
//! messages) and back; net/unix.rs does the rest. Only AF_UNIX exists:
//! any other family is EAFNOSUPPORT.
//!
//! arm64 layouts: `struct msghdr` is 56 bytes (name, namelen, iov,
//! iovlen, control, controllen, flags), `struct cmsghdr` 16 bytes
//! (a 64-bit length, level, type) with data aligned to 8, `struct ucred`
//! 12 bytes (pid, uid, gid).

use super::{fdget, SysResult};
use crate::errno::Errno;
use crate::fs::file::File;
use crate::mm::uaccess::{copy_from_user, copy_to_user, get_user_u32, put_user_u32};
use crate::net::unix::{Received, Scm, SocketFile, Ucred, UnixAddr, UnixSock, SCM_MAX_FD, UNIX_PATH_MAX};
use crate::net::{self, Iov};
use alloc::sync::Arc;
use alloc::vec::Vec;

/// Socket system-call numbers (the generic table).
pub mod nr_socket {
    pub const SOCKET: u64 = 198;
    pub const SOCKETPAIR: u64 = 199;
    pub const BIND: u64 = 200;
    pub const LISTEN: u64 = 201;
    pub const ACCEPT: u64 = 202;
    pub const CONNECT: u64 = 203;
    pub const GETSOCKNAME: u64 = 204;
    pub const GETPEERNAME: u64 = 205;
    pub const SENDTO: u64 = 206;
    pub const RECVFROM: u64 = 207;
    pub const SETSOCKOPT: u64 = 208;
    pub const GETSOCKOPT: u64 = 209;
    pub const SHUTDOWN: u64 = 210;
    pub const SENDMSG: u64 = 211;
    pub const RECVMSG: u64 = 212;
    pub const ACCEPT4: u64 = 242;
}

use nr_socket::*;

const SOL_SOCKET: i32 = 1;
const SO_DEBUG: i32 = 1;
const SO_REUSEADDR: i32 = 2;
const SO_TYPE: i32 = 3;
const SO_ERROR: i32 = 4;
const SO_SNDBUF: i32 = 7;
const SO_RCVBUF: i32 = 8;
const SO_KEEPALIVE: i32 = 9;
const SO_PASSCRED: i32 = 16;
const SO_PEERCRED: i32 = 17;
const SO_ACCEPTCONN: i32 = 30;
const SO_PROTOCOL: i32 = 38;
const SO_DOMAIN: i32 = 39;
const SCM_RIGHTS: i32 = 1;
const SCM_CREDENTIALS: i32 = 2;
/// `sizeof(struct sockaddr_storage)`: the most `move_addr_to_kernel` takes.
const SOCKADDR_STORAGE: usize = 128;
/// Offset of `sun_path` in `struct sockaddr_un`.
const SUN_PATH: usize = 2;
/// Size of `struct cmsghdr`.
const CMSG_HDR: usize = 16;
/// Most control bytes a send may carry (Linux: `net.core.optmem_max`).
const OPTMEM_MAX: usize = 20480;

syscalls! {
    a;
    SOCKET => sys_socket(a[0] as u32, a[1] as u32, a[2] as u32),
    SOCKETPAIR => sys_socketpair(a[0] as u32, a[1] as u32, a[2] as u32, a[3]),
    BIND => sys_bind(a[0], a[1], a[2] as u32),
    LISTEN => sock(a[0]).and_then(|s| s.listen(a[1] as i32)).map(|_| 0),
    ACCEPT => sys_accept4(a[0], a[1], a[2], 0),
    ACCEPT4 => sys_accept4(a[0], a[1], a[2], a[3] as u32),
    CONNECT => sys_connect(a[0], a[1], a[2] as u32),
    GETSOCKNAME => sys_getname(a[0], a[1], a[2], false),
    GETPEERNAME => sys_getname(a[0], a[1], a[2], true),
    SENDTO => sys_sendto(a[0], a[1], a[2] as usize, a[3] as u32, a[4], a[5] as u32),
    RECVFROM => sys_recvfrom(a[0], a[1], a[2] as usize, a[3] as u32, a[4], a[5]),
    SETSOCKOPT => sys_setsockopt(a[0], a[1] as i32, a[2] as i32, a[3], a[4] as u32),
    GETSOCKOPT => sys_getsockopt(a[0], a[1] as i32, a[2] as i32, a[3], a[4]),
    SHUTDOWN => sock(a[0]).and_then(|s| s.shutdown(a[1] as u32)).map(|_| 0),
    SENDMSG => sys_sendmsg(a[0], a[1], a[2] as u32),
    RECVMSG => sys_recvmsg(a[0], a[1], a[2] as u32),
}

/// The socket open at `fd`: EBADF, or ENOTSOCK for another file (Linux:
/// `sockfd_lookup`).
fn sock_file(fd: u64) -> Result<(Arc<File>, Arc<UnixSock>), Errno> {
    let file = fdget(fd)?;
    let sock = file
        .ops
        .as_any()
        .and_then(|a| a.downcast_ref::<SocketFile>())
        .map(|s| s.sock.clone())
        .ok_or(Errno::ENOTSOCK)?;
    Ok((file, sock))
}

fn sock(fd: u64) -> Result<Arc<UnixSock>, Errno> {
    sock_file(fd).map(|(_, s)| s)
}

/// Splits a `socket`/`socketpair` type into (type, O_* status flags,
/// close-on-exec), with Linux's checks (`__sys_socket`, `unix_create`).
fn check_socket(domain: u32, type_flags: u32, protocol: u32) -> Result<(u32, u32, bool), Errno> {
    let ty = type_flags & 0xf;
    if type_flags & !(0xf | net::SOCK_NONBLOCK | net::SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    if ty >= net::SOCK_MAX {
        return Err(Errno::EINVAL);
    }
    if domain >= net::AF_MAX {
        return Err(Errno::EAFNOSUPPORT);
    }
    if domain != net::AF_UNIX as u32 {
        return Err(Errno::EAFNOSUPPORT);
    }
    if protocol != 0 && protocol != net::AF_UNIX as u32 {
        return Err(Errno::EPROTONOSUPPORT);
    }
    let ty = match ty {
        net::SOCK_STREAM | net::SOCK_DGRAM | net::SOCK_SEQPACKET => ty,
        // Linux's AF_UNIX takes SOCK_RAW as SOCK_DGRAM.
        net::SOCK_RAW => net::SOCK_DGRAM,
        _ => return Err(Errno::ESOCKTNOSUPPORT),
    };
    Ok((ty, type_flags & net::SOCK_NONBLOCK, type_flags & net::SOCK_CLOEXEC != 0))
}

fn install(file: Arc<File>, cloexec: bool) -> Result<i32, Errno> {
    super::fs::files()?.install(file, cloexec, 0, super::fs::nofile_limit())
}

fn sys_socket(domain: u32, type_flags: u32, protocol: u32) -> SysResult {
    let (ty, status, cloexec) = check_socket(domain, type_flags, protocol)?;
    let sock = UnixSock::new(ty)?;
    Ok(install(SocketFile::open(sock, status), cloexec)? as u64)
}

fn sys_socketpair(domain: u32, type_flags: u32, protocol: u32, sv: u64) -> SysResult {
    let (ty, status, cloexec) = check_socket(domain, type_flags, protocol)?;
    let (a, b) = UnixSock::pair(ty)?;
    let (fa, fb) = (SocketFile::open(a, status), SocketFile::open(b, status));
    let table = super::fs::files()?;
    let limit = super::fs::nofile_limit();
    let x = table.install(fa, cloexec, 0, limit)?;
    let y = match table.install(fb, cloexec, 0, limit) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = table.close(x);
            return Err(e);
        }
    };
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&x.to_le_bytes());
    out[4..].copy_from_slice(&y.to_le_bytes());
    if let Err(e) = copy_to_user(sv, &out) {
        let _ = table.close(x);
        let _ = table.close(y);
        return Err(e);
    }
    Ok(0)
}

/// A `struct sockaddr` of `len` bytes at `addr`, copied in (Linux:
/// `move_addr_to_kernel`).
fn read_sockaddr(addr: u64, len: u32) -> Result<Vec<u8>, Errno> {
    let len = len as usize;
    if len > SOCKADDR_STORAGE {
        return Err(Errno::EINVAL);
    }
    let mut raw = super::kbuf(len)?;
    if len > 0 {
        copy_from_user(&mut raw, addr)?;
    }
    Ok(raw)
}

fn family(raw: &[u8]) -> Option<u16> {
    raw.get(..2).map(|b| u16::from_le_bytes([b[0], b[1]]))
}

/// A `struct sockaddr_un` as a name (Linux: `unix_validate_addr`,
/// `unix_mkname_bsd`): EINVAL for another family or no name; a path ends
/// at its first NUL.
fn parse_unix_addr(raw: &[u8]) -> Result<UnixAddr, Errno> {
    if raw.len() <= SUN_PATH || raw.len() > SUN_PATH + UNIX_PATH_MAX {
        return Err(Errno::EINVAL);
    }
    if family(raw) != Some(net::AF_UNIX) {
        return Err(Errno::EINVAL);
    }
    let name = &raw[SUN_PATH..];
    if name[0] == 0 {
        return Ok(UnixAddr::Abstract(name[1..].to_vec()));
    }
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    Ok(UnixAddr::Path(name[..end].to_vec()))
}

/// Where a path name is walked from: the caller's root and directory.
fn start_for(addr: &UnixAddr) -> Result<Option<crate::fs::namei::WalkStart>, Errno> {
    match addr {
        UnixAddr::Path(p) => {
            let text = core::str::from_utf8(p).map_err(|_| Errno::ENOENT)?;
            super::fs::walk_start(crate::fs::vfs::AT_FDCWD, text).map(Some)
        }
        UnixAddr::Abstract(_) => Ok(None),
    }
}

fn sys_bind(fd: u64, addr: u64, len: u32) -> SysResult {
    let sock = sock(fd)?;
    let raw = read_sockaddr(addr, len)?;
    if raw.len() == SUN_PATH && family(&raw) == Some(net::AF_UNIX) {
        return sock.bind(None, None, 0).map(|_| 0);
    }
    let name = parse_unix_addr(&raw)?;
    let start = start_for(&name)?;
    sock.bind(Some(name), start.as_ref(), super::fs::current_umask()).map(|_| 0)
}

fn sys_connect(fd: u64, addr: u64, len: u32) -> SysResult {
    let (file, sock) = sock_file(fd)?;
    let raw = read_sockaddr(addr, len)?;
    if sock.ty == net::SOCK_DGRAM {
        if raw.len() < 2 {
            return Err(Errno::EINVAL);
        }
        if family(&raw) == Some(net::AF_UNSPEC) {
            return sock.dgram_connect(None).map(|_| 0);
        }
    }
    let name = parse_unix_addr(&raw)?;
    let start = start_for(&name)?;
    sock.connect(&name, start.as_ref(), file.nonblock()).map(|_| 0)
}

/// Writes a socket address to `addr` with its length at `lenp` (Linux:
/// `move_addr_to_user`): at most the caller's length is copied, the full
/// length is reported.
fn put_sockaddr(addr: u64, lenp: u64, bytes: &[u8]) -> Result<(), Errno> {
    if addr == 0 || lenp == 0 {
        return Ok(());
    }
    let len = get_user_u32(lenp)? as i32;
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let n = bytes.len().min(len as usize);
    if n > 0 {
        copy_to_user(addr, &bytes[..n])?;
    }
    put_user_u32(lenp, bytes.len() as u32)
}

/// The name user space sees for `name`: just the family when unbound.
fn sockaddr_of(name: Option<UnixAddr>) -> Vec<u8> {
    match name {
        Some(n) => n.to_sockaddr(),
        None => net::AF_UNIX.to_le_bytes().to_vec(),
    }
}

fn sys_getname(fd: u64, addr: u64, lenp: u64, peer: bool) -> SysResult {
    let sock = sock(fd)?;
    let name = if peer { sock.peer_name()? } else { sock.name() };
    let len = get_user_u32(lenp)? as i32;
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    put_sockaddr(addr, lenp, &sockaddr_of(name)).map(|_| 0)
}

fn sys_accept4(fd: u64, addr: u64, lenp: u64, accept_flags: u32) -> SysResult {
    if accept_flags & !(net::SOCK_NONBLOCK | net::SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let (file, sock) = sock_file(fd)?;
    let new = sock.accept(file.nonblock())?;
    let peer = new.peer_name().unwrap_or(None);
    let newfile = SocketFile::open(new, accept_flags & net::SOCK_NONBLOCK);
    if addr != 0 {
        // Linux checks the length before it installs the descriptor.
        let len = get_user_u32(lenp)? as i32;
        if len < 0 {
            return Err(Errno::EINVAL);
        }
        put_sockaddr(addr, lenp, &sockaddr_of(peer))?;
    }
    Ok(install(newfile, accept_flags & net::SOCK_CLOEXEC != 0)? as u64)
}

fn one_segment(buf: u64, len: usize) -> Result<Iov<'static>, Errno> {
    let mut segs = Vec::new();
    segs.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    segs.push((buf, len));
    Ok(Iov::user(segs))
}

fn sys_sendto(fd: u64, buf: u64, len: usize, flags: u32, addr: u64, addrlen: u32) -> SysResult {
    let (file, sock) = sock_file(fd)?;
    let mut src = one_segment(buf, len)?;
    let dest = if addr != 0 && addrlen != 0 { Some(parse_unix_addr(&read_sockaddr(addr, addrlen)?)?) } else { None };
    let start = match &dest {
        Some(d) => start_for(d)?,
        None => None,
    };
    let dest = dest.as_ref().map(|d| (d, start.as_ref()));
    sock.sendmsg(&mut src, dest, Scm::default(), flags, file.nonblock()).map(|n| n as u64)
}

fn sys_recvfrom(fd: u64, buf: u64, len: usize, flags: u32, addr: u64, lenp: u64) -> SysResult {
    let (file, sock) = sock_file(fd)?;
    let mut dst = one_segment(buf, len)?;
    let mut got = sock.recvmsg(&mut dst, flags, file.nonblock())?;
    // Files received by a call that cannot pass them are closed.
    crate::net::unix::defer_fput(core::mem::take(&mut got.fds));
    if addr != 0 {
        match got.from.clone() {
            Some(from) => put_sockaddr(addr, lenp, &from.to_sockaddr())?,
            None => put_user_u32(lenp, 0)?,
        }
    }
    Ok(result_len(&got, flags) as u64)
}

/// What recv returns: the datagram's whole length with MSG_TRUNC.
fn result_len(got: &Received, flags: u32) -> usize {
    if flags & net::MSG_TRUNC != 0 {
        got.full_len.max(got.copied)
    } else {
        got.copied
    }
}

/// A `struct msghdr` (arm64: 56 bytes).
struct MsgHdr {
    name: u64,
    namelen: u32,
    iov: u64,
    iovlen: u64,
    control: u64,
    controllen: u64,
}

fn read_msghdr(addr: u64) -> Result<MsgHdr, Errno> {
    let mut raw = [0u8; 56];
    copy_from_user(&mut raw, addr)?;
    let u64_at = |at: usize| u64::from_le_bytes(raw[at..at + 8].try_into().unwrap());
    Ok(MsgHdr {
        name: u64_at(0),
        namelen: u32::from_le_bytes(raw[8..12].try_into().unwrap()),
        iov: u64_at(16),
        iovlen: u64_at(24),
        control: u64_at(32),
        controllen: u64_at(40),
    })
}

/// The iovec of a message: EMSGSIZE for more than UIO_MAXIOV pieces.
fn msg_iov(m: &MsgHdr) -> Result<Iov<'static>, Errno> {
    if m.iovlen > 1024 {
        return Err(Errno::EMSGSIZE);
    }
    let segs = super::fs::read_iovec(m.iov, m.iovlen)?;
    Ok(Iov::user(segs))
}

/// The control messages of a send (Linux: `__scm_send`): SCM_RIGHTS
/// (open files, EBADF for a closed descriptor, EINVAL past SCM_MAX_FD)
/// and SCM_CREDENTIALS (EINVAL for a malformed one, ESRCH for a process
/// that does not exist); messages of other levels are ignored.
fn parse_control(m: &MsgHdr) -> Result<Scm, Errno> {
    let mut scm = Scm::default();
    if m.controllen == 0 {
        return Ok(scm);
    }
    if m.controllen as usize > OPTMEM_MAX {
        return Err(Errno::ENOBUFS);
    }
    let mut raw = super::kbuf(m.controllen as usize)?;
    copy_from_user(&mut raw, m.control)?;
    let mut at = 0;
    while raw.len() - at >= CMSG_HDR {
        let len = u64::from_le_bytes(raw[at..at + 8].try_into().unwrap()) as usize;
        let level = i32::from_le_bytes(raw[at + 8..at + 12].try_into().unwrap());
        let kind = i32::from_le_bytes(raw[at + 12..at + 16].try_into().unwrap());
        if len < CMSG_HDR || len > raw.len() - at {
            return Err(Errno::EINVAL);
        }
        let data = &raw[at + CMSG_HDR..at + len];
        if level == SOL_SOCKET {
            match kind {
                SCM_RIGHTS => {
                    let n = data.len() / 4;
                    if scm.fds.len() + n > SCM_MAX_FD {
                        return Err(Errno::EINVAL);
                    }
                    scm.fds.try_reserve(n).map_err(|_| Errno::ENOMEM)?;
                    for c in data.chunks_exact(4) {
                        let fd = i32::from_le_bytes(c.try_into().unwrap());
                        scm.fds.push(fdget(fd as u32 as u64).map_err(|_| Errno::EBADF)?);
                    }
                }
                SCM_CREDENTIALS => {
                    if len != CMSG_HDR + 12 {
                        return Err(Errno::EINVAL);
                    }
                    let pid = i32::from_le_bytes(data[0..4].try_into().unwrap());
                    let uid = u32::from_le_bytes(data[4..8].try_into().unwrap());
                    let gid = u32::from_le_bytes(data[8..12].try_into().unwrap());
                    if uid == u32::MAX || gid == u32::MAX {
                        return Err(Errno::EINVAL);
                    }
                    // Root may name any process (CAP_SYS_ADMIN), which
                    // must exist.
                    if pid <= 0 || crate::sched::task::find_task_by_pid(pid as u32).is_none() {
                        return Err(Errno::ESRCH);
                    }
                    scm.cred = Some(Ucred { pid, uid, gid });
                }
                _ => return Err(Errno::EINVAL),
            }
        }
        // CMSG_ALIGN: the next header starts at a multiple of 8.
        at += len.div_ceil(8) * 8;
        if at > raw.len() {
            break;
        }
    }
    Ok(scm)
}

fn sys_sendmsg(fd: u64, msg: u64, flags: u32) -> SysResult {
    let (file, sock) = sock_file(fd)?;
    let m = read_msghdr(msg)?;
    let mut src = msg_iov(&m)?;
    let dest =
        if m.name != 0 && m.namelen != 0 { Some(parse_unix_addr(&read_sockaddr(m.name, m.namelen)?)?) } else { None };
    let start = match &dest {
        Some(d) => start_for(d)?,
        None => None,
    };
    let scm = parse_control(&m)?;
    let dest = dest.as_ref().map(|d| (d, start.as_ref()));
    sock.sendmsg(&mut src, dest, scm, flags, file.nonblock()).map(|n| n as u64)
}

/// Writes one control message at `at` of the caller's buffer if it fits;
/// returns the space it took (CMSG_SPACE), or `None` when it does not fit.
fn put_cmsg(m: &MsgHdr, at: usize, kind: i32, data: &[u8]) -> Result<Option<usize>, Errno> {
    let len = CMSG_HDR + data.len();
    let space = len.div_ceil(8) * 8;
    if (m.controllen as usize) < at + len {
        return Ok(None);
    }
    let mut out = super::kbuf(len)?;
    out[..8].copy_from_slice(&(len as u64).to_le_bytes());
    out[8..12].copy_from_slice(&SOL_SOCKET.to_le_bytes());
    out[12..16].copy_from_slice(&kind.to_le_bytes());
    out[16..].copy_from_slice(data);
    copy_to_user(m.control + at as u64, &out)?;
    Ok(Some(space.min(m.controllen as usize - at)))
}

fn sys_recvmsg(fd: u64, msg: u64, flags: u32) -> SysResult {
    let (file, sock) = sock_file(fd)?;
    let m = read_msghdr(msg)?;
    let mut dst = msg_iov(&m)?;
    let mut got = sock.recvmsg(&mut dst, flags, file.nonblock())?;
    let mut msg_flags = 0u32;
    if got.truncated {
        msg_flags |= net::MSG_TRUNC;
    }
    // The sender's name.
    let namelen = match (&got.from, m.name) {
        (Some(from), name) if name != 0 => {
            let bytes = from.to_sockaddr();
            let n = bytes.len().min(m.namelen as usize);
            copy_to_user(name, &bytes[..n])?;
            bytes.len() as u32
        }
        _ => 0,
    };
    // Credentials first, then files (Linux: `scm_recv`).
    let mut used = 0usize;
    if let Some(c) = got.cred {
        let mut data = [0u8; 12];
        data[0..4].copy_from_slice(&c.pid.to_le_bytes());
        data[4..8].copy_from_slice(&c.uid.to_le_bytes());
        data[8..12].copy_from_slice(&c.gid.to_le_bytes());
        match put_cmsg(&m, used, SCM_CREDENTIALS, &data)? {
            Some(n) => used += n,
            None => msg_flags |= net::MSG_CTRUNC,
        }
    }
    if !got.fds.is_empty() {
        let room = (m.controllen as usize).saturating_sub(used + CMSG_HDR) / 4;
        let fds = core::mem::take(&mut got.fds);
        let fit = if (m.controllen as usize) < used + CMSG_HDR { 0 } else { room.min(fds.len()) };
        if fit < fds.len() {
            msg_flags |= net::MSG_CTRUNC;
        }
        let cloexec = flags & net::MSG_CMSG_CLOEXEC != 0;
        let mut numbers: Vec<u8> = Vec::new();
        numbers.try_reserve(fit * 4).map_err(|_| Errno::ENOMEM)?;
        let mut rest = Vec::new();
        rest.try_reserve(fds.len()).map_err(|_| Errno::ENOMEM)?;
        for (i, f) in fds.into_iter().enumerate() {
            if i >= fit {
                rest.push(f);
                continue;
            }
            match install(f, cloexec) {
                Ok(n) => numbers.extend_from_slice(&n.to_le_bytes()),
                Err(_) => msg_flags |= net::MSG_CTRUNC,
            }
        }
        crate::net::unix::defer_fput(rest);
        if !numbers.is_empty() {
            if let Some(n) = put_cmsg(&m, used, SCM_RIGHTS, &numbers)? {
                used += n;
            }
        }
    }
    // msg_namelen, msg_controllen, msg_flags.
    put_user_u32(msg + 8, namelen)?;
    copy_to_user(msg + 40, &(used as u64).to_le_bytes())?;
    put_user_u32(msg + 48, msg_flags)?;
    Ok(result_len(&got, flags) as u64)
}

fn sys_setsockopt(fd: u64, level: i32, name: i32, val: u64, len: u32) -> SysResult {
    let sock = sock(fd)?;
    if level != SOL_SOCKET {
        return Err(Errno::EOPNOTSUPP);
    }
    if (len as i32) < 4 {
        return Err(Errno::EINVAL);
    }
    let v = get_user_u32(val)?;
    match name {
        SO_SNDBUF => sock.set_sndbuf(v),
        SO_RCVBUF => sock.set_rcvbuf(v),
        SO_PASSCRED => sock.set_passcred(v != 0),
        SO_REUSEADDR => sock.set_flag(false, v != 0),
        SO_KEEPALIVE => sock.set_flag(true, v != 0),
        // Only CAP_NET_ADMIN may, and root has it; nothing is debugged.
        SO_DEBUG => {}
        _ => return Err(Errno::ENOPROTOOPT),
    }
    Ok(0)
}

fn sys_getsockopt(fd: u64, level: i32, name: i32, val: u64, lenp: u64) -> SysResult {
    let sock = sock(fd)?;
    if level != SOL_SOCKET {
        return Err(Errno::EOPNOTSUPP);
    }
    let len = get_user_u32(lenp)? as i32;
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let int = |v: u32| v.to_le_bytes().to_vec();
    let bytes = match name {
        SO_TYPE => int(sock.ty),
        SO_ERROR => int(sock.take_error().map_or(0, |e| e as u32)),
        SO_SNDBUF => int(sock.sndbuf() as u32),
        SO_RCVBUF => int(sock.rcvbuf() as u32),
        SO_PASSCRED => int(sock.passcred() as u32),
        SO_REUSEADDR => int(sock.flag(false) as u32),
        SO_KEEPALIVE => int(sock.flag(true) as u32),
        SO_DEBUG => int(0),
        SO_ACCEPTCONN => int(sock.listening() as u32),
        SO_DOMAIN => int(net::AF_UNIX as u32),
        SO_PROTOCOL => int(0),
        SO_PEERCRED => {
            // No peer: pid 0 and the invalid ids (Linux: `cred_to_ucred`
            // of no credentials).
            let c = sock.peercred().unwrap_or(Ucred { pid: 0, uid: u32::MAX, gid: u32::MAX });
            let mut b = Vec::new();
            b.extend_from_slice(&c.pid.to_le_bytes());
            b.extend_from_slice(&c.uid.to_le_bytes());
            b.extend_from_slice(&c.gid.to_le_bytes());
            b
        }
        _ => return Err(Errno::ENOPROTOOPT),
    };
    let n = bytes.len().min(len as usize);
    copy_to_user(val, &bytes[..n])?;
    put_user_u32(lenp, n as u32)?;
    Ok(0)
}
