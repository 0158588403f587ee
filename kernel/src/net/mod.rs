//! Sockets (Linux: net/socket.c, net/unix/): the constants of the socket
//! ABI, the buffers a message is copied from and to, and the one address
//! family this kernel has, AF_UNIX (unix.rs). Every other family is
//! refused with EAFNOSUPPORT, as a Linux built without it refuses it.
//!
//! The system calls (syscall/socket.rs) parse user structures (socket
//! addresses, `msghdr`, control messages) and hand the socket layer an
//! [`Iov`]: the user's iovec, or a kernel buffer when read(2)/write(2)
//! arrive through the generic file path.

pub mod garbage;
pub mod unix;

use crate::arch::uaccess::{raw_copy_from_user, raw_copy_to_user};
use crate::errno::Errno;
use alloc::vec::Vec;

/// Address families (linux/socket.h).
pub const AF_UNSPEC: u16 = 0;
pub const AF_UNIX: u16 = 1;
/// One past the highest family number Linux knows.
pub const AF_MAX: u32 = 46;

/// Socket types (linux/net.h).
pub const SOCK_STREAM: u32 = 1;
pub const SOCK_DGRAM: u32 = 2;
pub const SOCK_RAW: u32 = 3;
pub const SOCK_SEQPACKET: u32 = 5;
/// One past the highest type number.
pub const SOCK_MAX: u32 = 11;
/// Type flags (the O_NONBLOCK and O_CLOEXEC values).
pub const SOCK_NONBLOCK: u32 = crate::fs::file::flags::O_NONBLOCK;
pub const SOCK_CLOEXEC: u32 = crate::fs::file::flags::O_CLOEXEC;

/// `send`/`recv` flags (linux/socket.h).
pub const MSG_OOB: u32 = 1;
pub const MSG_PEEK: u32 = 2;
pub const MSG_CTRUNC: u32 = 8;
pub const MSG_TRUNC: u32 = 0x20;
pub const MSG_DONTWAIT: u32 = 0x40;
pub const MSG_EOR: u32 = 0x80;
pub const MSG_WAITALL: u32 = 0x100;
pub const MSG_NOSIGNAL: u32 = 0x4000;
pub const MSG_CMSG_CLOEXEC: u32 = 0x4000_0000;

/// `shutdown` bits of a socket (Linux: RCV_SHUTDOWN, SEND_SHUTDOWN).
pub const RCV_SHUTDOWN: u8 = 1;
pub const SEND_SHUTDOWN: u8 = 2;
pub const SHUTDOWN_MASK: u8 = 3;

/// Where a message comes from or goes to (Linux: `struct iov_iter`): a
/// user iovec, or a kernel buffer. Copies advance through it; `left` is
/// what remains.
pub struct Iov<'a> {
    kind: IovKind<'a>,
    left: usize,
}

enum IovKind<'a> {
    /// (base, length) pieces of user memory, the current piece and the
    /// offset in it.
    User { segs: Vec<(u64, usize)>, seg: usize, off: usize },
    /// A kernel buffer to send from, and how much of it was taken.
    From(&'a [u8], usize),
    /// A kernel buffer to receive into, and how much was put there.
    Into(&'a mut [u8], usize),
}

impl<'a> Iov<'a> {
    /// The user iovec `segs`.
    pub fn user(segs: Vec<(u64, usize)>) -> Iov<'static> {
        let left = segs.iter().map(|s| s.1).sum();
        Iov { kind: IovKind::User { segs, seg: 0, off: 0 }, left }
    }

    /// Sends the bytes of `buf`.
    pub fn from_kernel(buf: &'a [u8]) -> Iov<'a> {
        Iov { left: buf.len(), kind: IovKind::From(buf, 0) }
    }

    /// Receives into `buf`.
    pub fn into_kernel(buf: &'a mut [u8]) -> Iov<'a> {
        Iov { left: buf.len(), kind: IovKind::Into(buf, 0) }
    }

    /// Bytes not yet copied.
    pub fn remaining(&self) -> usize {
        self.left
    }

    /// Fills `dst` from the next bytes (a send); EFAULT when user memory
    /// faults (how far it got is then unknown, as in Linux).
    pub fn copy_out(&mut self, dst: &mut [u8]) -> Result<(), Errno> {
        if dst.len() > self.left {
            return Err(Errno::EFAULT);
        }
        match &mut self.kind {
            IovKind::From(buf, at) => {
                dst.copy_from_slice(&buf[*at..*at + dst.len()]);
                *at += dst.len();
            }
            IovKind::Into(..) => return Err(Errno::EFAULT),
            IovKind::User { segs, seg, off } => {
                let mut done = 0;
                while done < dst.len() {
                    let (base, len) = segs[*seg];
                    let n = (len - *off).min(dst.len() - done);
                    if raw_copy_from_user(&mut dst[done..done + n], base + *off as u64) != 0 {
                        return Err(Errno::EFAULT);
                    }
                    done += n;
                    *off += n;
                    if *off == len {
                        *seg += 1;
                        *off = 0;
                    }
                }
            }
        }
        self.left -= dst.len();
        Ok(())
    }

    /// Puts `src` at the next place (a receive); EFAULT when user memory
    /// faults.
    pub fn copy_in(&mut self, src: &[u8]) -> Result<(), Errno> {
        if src.len() > self.left {
            return Err(Errno::EFAULT);
        }
        match &mut self.kind {
            IovKind::Into(buf, at) => {
                buf[*at..*at + src.len()].copy_from_slice(src);
                *at += src.len();
            }
            IovKind::From(..) => return Err(Errno::EFAULT),
            IovKind::User { segs, seg, off } => {
                let mut done = 0;
                while done < src.len() {
                    let (base, len) = segs[*seg];
                    let n = (len - *off).min(src.len() - done);
                    if raw_copy_to_user(base + *off as u64, &src[done..done + n]) != 0 {
                        return Err(Errno::EFAULT);
                    }
                    done += n;
                    *off += n;
                    if *off == len {
                        *seg += 1;
                        *off = 0;
                    }
                }
            }
        }
        self.left -= src.len();
        Ok(())
    }
}
