//! AF_UNIX sockets (Linux: net/unix/af_unix.c, net/unix/scm.c): stream,
//! datagram and sequenced-packet sockets between processes of this
//! machine, named in the abstract namespace or by a socket inode in the
//! file system, carrying bytes, open files (SCM_RIGHTS) and credentials
//! (SCM_CREDENTIALS).
//!
//! A [`UnixSock`] is Linux's `struct unix_sock`: a state (unconnected,
//! listening, connected), a peer, a receive queue of [`Skb`]s and, for a
//! listener, the queue of connections not yet accepted. Those are
//! sockets made by `connect` (Linux's "embryos"), already connected to the
//! client: the client may write before the server accepts.
//!
//! Every message in a receive queue is charged to its sender (`wmem`, the
//! bytes plus a fixed overhead per message, Linux's `truesize`) until it
//! is consumed; a sender whose charge reaches its send buffer waits (or
//! gets EAGAIN). A datagram receiver that is not connected back to the
//! sender also holds at most [`MAX_DGRAM_QLEN`] + 1 messages (Linux:
//! `net.unix.max_dgram_qlen`), a listener at most its backlog + 1
//! connections. So what one socket can pin in kernel memory is bounded by
//! its buffers, and every allocation a user can cause is fallible
//! (ENOBUFS, ENOMEM).
//!
//! Files in flight (SCM_RIGHTS) are dropped through [`defer_fput`], one
//! after another, never recursively: a socket in a queue whose queue holds
//! another socket, and so on, does not grow the kernel stack (Linux defers
//! `fput` to task work for the same reason).
//!
//! Sockets that only their own queues keep alive (a socket sent over
//! itself, then closed) are freed by the collector in garbage.rs.
//!
//! Departures from Linux: there is no MSG_OOB, no SO_RCVTIMEO/SO_SNDTIMEO, no SO_PEEK_OFF;
//! a datagram sender polling for POLLOUT on a receiver whose queue is full
//! of other senders' messages is not woken when it drains (its blocking
//! `send` is).
//!
//! Locks: each socket has one lock (Linux: `unix_state_lock` and the
//! queue's lock in one). Two are nested only in `connect`: the listener's,
//! then the connecting socket's, then the new embryo's (which nobody else
//! can see yet), the order Linux's `unix_stream_connect` uses; a listener
//! is never a connecting socket, so the order is never reversed. The name
//! tables' lock ([`NAMES`]) is taken inside a socket's lock, never around
//! one. Receives copy to user memory under the receiver's lock, like
//! pipes: lock order socket, then mm (a fault during the copy takes the
//! address space's lock). Messages (and the files they carry) are dropped
//! only after every socket lock is released.

use super::{Iov, MSG_DONTWAIT, MSG_NOSIGNAL, MSG_OOB, MSG_PEEK, MSG_WAITALL};
use super::{RCV_SHUTDOWN, SEND_SHUTDOWN, SHUTDOWN_MASK, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM};
use crate::errno::Errno;
use crate::fs::file::{mode, poll, File, FileOps, Stat};
use crate::fs::namei::{self, LastType, WalkStart};
use crate::fs::namespace::PathRef;
use crate::sched::task::state;
use crate::sched::wait::WaitQueueHead;
use crate::sync::IrqSpinLock;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// Default and largest buffer sizes (Linux: `net.core.wmem_default`,
/// `wmem_max`, `rmem_default`, `rmem_max`).
pub const WMEM_DEFAULT: usize = 212_992;
pub const WMEM_MAX: usize = 212_992;
pub const RMEM_DEFAULT: usize = 212_992;
pub const RMEM_MAX: usize = 212_992;
/// Smallest buffers `setsockopt` sets (Linux: SOCK_MIN_SNDBUF,
/// SOCK_MIN_RCVBUF on 64-bit machines).
pub const SOCK_MIN_SNDBUF: usize = 4608;
pub const SOCK_MIN_RCVBUF: usize = 2304;
/// Messages a datagram socket queues from senders it is not connected to
/// (Linux: `net.unix.max_dgram_qlen`).
pub const MAX_DGRAM_QLEN: usize = 10;
/// The largest listen backlog (Linux: `net.core.somaxconn`).
pub const SOMAXCONN: usize = 4096;
/// Most files one message carries (Linux: SCM_MAX_FD).
pub const SCM_MAX_FD: usize = 253;
/// What a message costs beyond its bytes, charged to the sender's send
/// buffer (Linux charges the `sk_buff` and its head: `truesize`).
const SKB_OVERHEAD: usize = 512;
/// Longest name (`sun_path`).
pub const UNIX_PATH_MAX: usize = 108;

/// The credentials a message carries or a peer had (Linux: `struct
/// ucred`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ucred {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

impl Ucred {
    /// The current process's (everyone is root here).
    pub fn current() -> Ucred {
        Ucred { pid: crate::sched::task::current().tgid() as i32, uid: 0, gid: 0 }
    }
}

/// A socket's name (Linux: `struct unix_address`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum UnixAddr {
    /// In the abstract namespace: the bytes after the leading NUL.
    Abstract(Vec<u8>),
    /// A file-system name, without its terminating NUL.
    Path(Vec<u8>),
}

impl UnixAddr {
    /// The `struct sockaddr_un` user space gets: the family, then the
    /// name (a path with its NUL, as Linux's `unix_getname` returns it).
    pub fn to_sockaddr(&self) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&super::AF_UNIX.to_le_bytes());
        match self {
            UnixAddr::Abstract(name) => {
                v.push(0);
                v.extend_from_slice(name);
            }
            UnixAddr::Path(p) => {
                v.extend_from_slice(p);
                v.push(0);
            }
        }
        v
    }
}

/// State (Linux: TCP_CLOSE, TCP_LISTEN, TCP_ESTABLISHED).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SockState {
    Unconnected,
    Listening,
    Connected,
}

/// One message in a receive queue (Linux: `struct sk_buff` with its
/// `unix_skb_parms`).
pub(super) struct Skb {
    data: Vec<u8>,
    /// Bytes of a stream message already read.
    off: usize,
    fds: Vec<Arc<File>>,
    cred: Ucred,
    /// The sender, charged `truesize` until the message is gone.
    owner: Arc<UnixSock>,
    truesize: usize,
}

impl Drop for Skb {
    fn drop(&mut self) {
        self.owner.wmem.fetch_sub(self.truesize, Ordering::AcqRel);
        self.owner.wait.wake_up();
        let fds = core::mem::take(&mut self.fds);
        super::garbage::unix_notinflight(&fds);
        defer_fput(fds);
    }
}

struct Inner {
    state: SockState,
    addr: Option<UnixAddr>,
    /// The socket inode of a path name, kept while bound.
    path: Option<PathRef>,
    peer: Option<Arc<UnixSock>>,
    queue: VecDeque<Skb>,
    /// Connections not yet accepted (a listener).
    backlog: VecDeque<Arc<UnixSock>>,
    max_backlog: usize,
    shutdown: u8,
    /// The pending error SO_ERROR reports (Linux: `sk_err`).
    err: Option<Errno>,
    /// Released: no file refers to it any more.
    dead: bool,
    sndbuf: usize,
    rcvbuf: usize,
    passcred: bool,
    /// SO_PEERCRED: the peer's credentials at connect or listen time.
    peercred: Option<Ucred>,
    /// SO_REUSEADDR and SO_KEEPALIVE are kept, and mean nothing here.
    reuseaddr: bool,
    keepalive: bool,
}

/// An AF_UNIX socket (Linux: `struct unix_sock`).
pub struct UnixSock {
    /// SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET.
    pub ty: u32,
    inner: IrqSpinLock<Inner>,
    /// Woken when data arrives, room appears, a connection comes or the
    /// state changes: readers, writers, acceptors, connectors and pollers
    /// sleep here.
    wait: WaitQueueHead,
    /// Bytes (with overhead) of this socket's messages in receive queues.
    wmem: AtomicUsize,
    ino: u64,
    me: Weak<UnixSock>,
}

static NEXT_INO: AtomicU64 = AtomicU64::new(0x2_0000);

/// The bound names (Linux: `unix_socket_table`): abstract names (one
/// namespace per socket type, as Linux's hash of a name includes the
/// type), and path names by their socket inode.
struct Names {
    abstract_names: BTreeMap<(u32, Vec<u8>), Weak<UnixSock>>,
    by_inode: BTreeMap<usize, Weak<UnixSock>>,
    /// The next autobind name (Linux: `ordernum`).
    next_auto: u32,
}

static NAMES: IrqSpinLock<Names> =
    IrqSpinLock::new(Names { abstract_names: BTreeMap::new(), by_inode: BTreeMap::new(), next_auto: 0 });

fn inode_key(p: &PathRef) -> usize {
    Arc::as_ptr(&p.inode) as *const () as usize
}

fn restartable(r: Result<(), Errno>) -> Result<(), Errno> {
    r.map_err(|e| if e == Errno::EINTR { Errno::ERESTARTSYS } else { e })
}

/// What a receive got.
#[derive(Default)]
pub struct Received {
    /// Bytes copied.
    pub copied: usize,
    /// The datagram's whole length (what MSG_TRUNC returns).
    pub full_len: usize,
    /// A datagram longer than the buffer was cut (MSG_TRUNC in msg_flags).
    pub truncated: bool,
    pub fds: Vec<Arc<File>>,
    /// Credentials, when the receiver asked for them (SO_PASSCRED).
    pub cred: Option<Ucred>,
    /// The sender's name, for a datagram.
    pub from: Option<UnixAddr>,
}

/// Control data a send carries.
#[derive(Default)]
pub struct Scm {
    pub fds: Vec<Arc<File>>,
    pub cred: Option<Ucred>,
}

impl UnixSock {
    /// A new unconnected socket of type `ty` (Linux: `unix_create1`).
    pub fn new(ty: u32) -> Result<Arc<UnixSock>, Errno> {
        Ok(Arc::new_cyclic(|me| UnixSock {
            ty,
            inner: IrqSpinLock::new(Inner {
                state: SockState::Unconnected,
                addr: None,
                path: None,
                peer: None,
                queue: VecDeque::new(),
                backlog: VecDeque::new(),
                max_backlog: if ty == SOCK_DGRAM { MAX_DGRAM_QLEN } else { 0 },
                shutdown: 0,
                err: None,
                dead: false,
                sndbuf: WMEM_DEFAULT,
                rcvbuf: RMEM_DEFAULT,
                passcred: false,
                peercred: None,
                reuseaddr: false,
                keepalive: false,
            }),
            wait: WaitQueueHead::new(),
            wmem: AtomicUsize::new(0),
            ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
            me: me.clone(),
        }))
    }

    fn connection_based(&self) -> bool {
        self.ty != SOCK_DGRAM
    }

    /// A connected pair (Linux: `unix_socketpair`).
    pub fn pair(ty: u32) -> Result<(Arc<UnixSock>, Arc<UnixSock>), Errno> {
        let a = UnixSock::new(ty)?;
        let b = UnixSock::new(ty)?;
        let cred = Ucred::current();
        for (x, y) in [(&a, &b), (&b, &a)] {
            let mut s = x.inner.lock();
            s.peer = Some(y.clone());
            s.peercred = Some(cred);
            if ty != SOCK_DGRAM {
                s.state = SockState::Connected;
            }
        }
        Ok((a, b))
    }

    /// The bound name, if any.
    pub fn name(&self) -> Option<UnixAddr> {
        self.inner.lock().addr.clone()
    }

    /// The peer's name: ENOTCONN without a peer; `None` for an unbound
    /// peer (Linux: `unix_getname` with `peer`).
    pub fn peer_name(&self) -> Result<Option<UnixAddr>, Errno> {
        let peer = self.inner.lock().peer.clone().ok_or(Errno::ENOTCONN)?;
        let name = peer.inner.lock().addr.clone();
        Ok(name)
    }

    /// `bind` (Linux: `unix_bind`): `None` asks for an autobind name. A
    /// path is made first, as Linux does, so a bound socket given an
    /// existing path gets EADDRINUSE and a new one EINVAL (and the new
    /// inode is removed again).
    pub fn bind(&self, addr: Option<UnixAddr>, start: Option<&WalkStart>, umask: u32) -> Result<(), Errno> {
        match addr {
            None => self.autobind(),
            Some(UnixAddr::Abstract(name)) => {
                let me = self.me.clone();
                let mut s = self.inner.lock();
                if s.addr.is_some() {
                    return Err(Errno::EINVAL);
                }
                let mut names = NAMES.lock();
                let key = (self.ty, name);
                if names.abstract_names.get(&key).is_some_and(|w| w.strong_count() > 0) {
                    return Err(Errno::EADDRINUSE);
                }
                names.abstract_names.insert(key.clone(), me);
                let name = key.1;
                s.addr = Some(UnixAddr::Abstract(name));
                Ok(())
            }
            Some(UnixAddr::Path(path)) => {
                let start = start.ok_or(Errno::ENOENT)?;
                let text = core::str::from_utf8(&path).map_err(|_| Errno::EINVAL)?;
                let place = mknod_socket(start, text, umask)?;
                let me = self.me.clone();
                let mut s = self.inner.lock();
                if s.addr.is_some() {
                    drop(s);
                    let _ = crate::fs::vfs::unlink(start, text, false);
                    return Err(Errno::EINVAL);
                }
                NAMES.lock().by_inode.insert(inode_key(&place), me);
                s.path = Some(place);
                s.addr = Some(UnixAddr::Path(path));
                Ok(())
            }
        }
    }

    /// An abstract name of five hex digits (Linux: `unix_autobind`).
    fn autobind(&self) -> Result<(), Errno> {
        let me = self.me.clone();
        let mut s = self.inner.lock();
        if s.addr.is_some() {
            return Ok(());
        }
        let mut names = NAMES.lock();
        for _ in 0..0x100000 {
            let n = names.next_auto & 0xfffff;
            names.next_auto = names.next_auto.wrapping_add(1);
            let mut name = Vec::new();
            for shift in [16, 12, 8, 4, 0] {
                name.push(b"0123456789abcdef"[((n >> shift) & 0xf) as usize]);
            }
            let key = (self.ty, name);
            if names.abstract_names.get(&key).is_some_and(|w| w.strong_count() > 0) {
                continue;
            }
            names.abstract_names.insert(key.clone(), me);
            s.addr = Some(UnixAddr::Abstract(key.1));
            return Ok(());
        }
        Err(Errno::ENOSPC)
    }

    /// `listen` (Linux: `unix_listen`).
    pub fn listen(&self, backlog: i32) -> Result<(), Errno> {
        if self.ty == SOCK_DGRAM {
            return Err(Errno::EOPNOTSUPP);
        }
        let backlog = if backlog < 0 || backlog as usize > SOMAXCONN { SOMAXCONN } else { backlog as usize };
        {
            let mut s = self.inner.lock();
            if s.addr.is_none() || s.state == SockState::Connected {
                return Err(Errno::EINVAL);
            }
            s.state = SockState::Listening;
            s.max_backlog = backlog;
            s.peercred = Some(Ucred::current());
        }
        // A bigger backlog may let waiting connectors in.
        self.wait.wake_up();
        Ok(())
    }

    /// `connect` of a stream or seqpacket socket (Linux:
    /// `unix_stream_connect`).
    pub fn connect(self: &Arc<Self>, addr: &UnixAddr, start: Option<&WalkStart>, nonblock: bool) -> Result<(), Errno> {
        if self.ty == SOCK_DGRAM {
            let other = find_other(addr, start, self.ty)?;
            return self.dgram_connect(Some(other));
        }
        if self.inner.lock().passcred {
            self.autobind()?;
        }
        let other = find_other(addr, start, self.ty)?;
        let embryo = UnixSock::new(self.ty)?;
        let cred = Ucred::current();
        loop {
            let mut o = other.inner.lock();
            if o.dead || o.state != SockState::Listening {
                return Err(Errno::ECONNREFUSED);
            }
            if o.backlog.len() > o.max_backlog {
                drop(o);
                if nonblock {
                    return Err(Errno::EAGAIN);
                }
                restartable(other.wait.wait_event(state::TASK_INTERRUPTIBLE, || {
                    let o = other.inner.lock();
                    o.dead || o.state != SockState::Listening || o.backlog.len() <= o.max_backlog
                }))?;
                continue;
            }
            o.backlog.try_reserve(1).map_err(|_| Errno::ENOBUFS)?;
            let mut s = self.inner.lock();
            match s.state {
                SockState::Unconnected => {}
                SockState::Connected => return Err(Errno::EISCONN),
                SockState::Listening => return Err(Errno::EINVAL),
            }
            {
                let mut e = embryo.inner.lock();
                e.state = SockState::Connected;
                e.peer = Some(self.clone());
                e.peercred = Some(cred);
                e.addr = o.addr.clone();
            }
            s.state = SockState::Connected;
            s.peer = Some(embryo.clone());
            s.peercred = o.peercred;
            o.backlog.push_back(embryo);
            break;
        }
        other.wait.wake_up();
        Ok(())
    }

    /// `connect` of a datagram socket: `None` (AF_UNSPEC) disconnects
    /// (Linux: `unix_dgram_connect`).
    pub fn dgram_connect(self: &Arc<Self>, other: Option<Arc<UnixSock>>) -> Result<(), Errno> {
        if other.is_some() && self.inner.lock().passcred {
            self.autobind()?;
        }
        let old = {
            let mut s = self.inner.lock();
            core::mem::replace(&mut s.peer, other)
        };
        if let Some(old) = old {
            // Senders that waited for room in our queue because we were
            // not connected to them may find it now.
            old.wait.wake_up();
        }
        self.wait.wake_up();
        Ok(())
    }

    /// `accept` (Linux: `unix_accept`): the next connection.
    pub fn accept(&self, nonblock: bool) -> Result<Arc<UnixSock>, Errno> {
        if self.ty == SOCK_DGRAM {
            return Err(Errno::EOPNOTSUPP);
        }
        loop {
            {
                let mut s = self.inner.lock();
                if s.state != SockState::Listening {
                    return Err(Errno::EINVAL);
                }
                if let Some(n) = s.backlog.pop_front() {
                    drop(s);
                    self.wait.wake_up();
                    return Ok(n);
                }
            }
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            restartable(self.wait.wait_event(state::TASK_INTERRUPTIBLE, || {
                let s = self.inner.lock();
                s.state != SockState::Listening || !s.backlog.is_empty()
            }))?;
        }
    }

    /// `shutdown` (Linux: `unix_shutdown`); `how` is SHUT_RD, SHUT_WR or
    /// SHUT_RDWR.
    pub fn shutdown(&self, how: u32) -> Result<(), Errno> {
        if how > 2 {
            return Err(Errno::EINVAL);
        }
        let mask = (how + 1) as u8;
        let peer = {
            let mut s = self.inner.lock();
            s.shutdown |= mask;
            if self.connection_based() {
                s.peer.clone()
            } else {
                None
            }
        };
        self.wait.wake_up();
        if let Some(peer) = peer {
            let peer_mask = (if mask & RCV_SHUTDOWN != 0 { SEND_SHUTDOWN } else { 0 })
                | (if mask & SEND_SHUTDOWN != 0 { RCV_SHUTDOWN } else { 0 });
            peer.inner.lock().shutdown |= peer_mask;
            peer.wait.wake_up();
        }
        Ok(())
    }

    /// Sends a message (Linux: `unix_stream_sendmsg`, `unix_dgram_sendmsg`,
    /// `unix_seqpacket_sendmsg`). `dest`: the name from `sendto`.
    pub fn sendmsg(
        self: &Arc<Self>,
        src: &mut Iov<'_>,
        dest: Option<(&UnixAddr, Option<&WalkStart>)>,
        scm: Scm,
        flags: u32,
        nonblock: bool,
    ) -> Result<usize, Errno> {
        if flags & MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let nonblock = nonblock || flags & MSG_DONTWAIT != 0;
        if !scm.fds.is_empty() && super::garbage::inflight() > super::garbage::INFLIGHT_TRIGGER_GC {
            super::garbage::unix_gc();
        }
        let result = match self.ty {
            SOCK_STREAM => {
                if dest.is_some() {
                    let connected = self.inner.lock().state == SockState::Connected;
                    return Err(if connected { Errno::EISCONN } else { Errno::EOPNOTSUPP });
                }
                self.stream_send(src, scm, nonblock)
            }
            SOCK_SEQPACKET => {
                if self.inner.lock().state != SockState::Connected {
                    return Err(Errno::ENOTCONN);
                }
                self.dgram_send(src, None, scm, nonblock)
            }
            _ => self.dgram_send(src, dest, scm, nonblock),
        };
        if result == Err(Errno::EPIPE) && flags & MSG_NOSIGNAL == 0 && self.ty != SOCK_DGRAM {
            let _ = crate::signal::send_signal(
                crate::sched::task::current(),
                crate::signal::SigInfo::kernel(crate::signal::SIGPIPE),
                false,
            );
        }
        result
    }

    /// Waits until this socket's messages in flight leave room in its send
    /// buffer (Linux: `sock_alloc_send_pskb`).
    fn wait_for_sndbuf(&self, nonblock: bool) -> Result<(), Errno> {
        let room = || {
            let s = self.inner.lock();
            self.wmem.load(Ordering::Acquire) < s.sndbuf || s.shutdown & SEND_SHUTDOWN != 0 || s.err.is_some()
        };
        if room() {
            return Ok(());
        }
        if nonblock {
            return Err(Errno::EAGAIN);
        }
        restartable(self.wait.wait_event(state::TASK_INTERRUPTIBLE, room))
    }

    /// A message of `len` bytes from `src`, charged to this socket.
    fn build_skb(
        self: &Arc<Self>,
        src: &mut Iov<'_>,
        len: usize,
        fds: Vec<Arc<File>>,
        cred: Ucred,
    ) -> Result<Skb, Errno> {
        let mut data = Vec::new();
        data.try_reserve_exact(len).map_err(|_| Errno::ENOBUFS)?;
        data.resize(len, 0);
        let truesize = len + SKB_OVERHEAD;
        self.wmem.fetch_add(truesize, Ordering::AcqRel);
        super::garbage::unix_inflight(&fds);
        let skb = Skb { data, off: 0, fds, cred, owner: self.clone(), truesize };
        let mut skb = skb;
        src.copy_out(&mut skb.data)?;
        Ok(skb)
    }

    fn stream_send(self: &Arc<Self>, src: &mut Iov<'_>, scm: Scm, nonblock: bool) -> Result<usize, Errno> {
        let peer = {
            let s = self.inner.lock();
            let peer = s.peer.clone().ok_or(Errno::ENOTCONN)?;
            if s.shutdown & SEND_SHUTDOWN != 0 {
                return Err(Errno::EPIPE);
            }
            peer
        };
        let cred = scm.cred.unwrap_or_else(Ucred::current);
        let mut fds = Some(scm.fds);
        let total = src.remaining();
        let mut sent = 0;
        let partial = |sent: usize, e: Errno| if sent > 0 { Ok(sent) } else { Err(e) };
        while sent < total {
            let sndbuf = self.inner.lock().sndbuf;
            let size = (total - sent).min((sndbuf / 2).saturating_sub(64).max(1));
            if let Err(e) = self.wait_for_sndbuf(nonblock) {
                return partial(sent, e);
            }
            if self.inner.lock().shutdown & SEND_SHUTDOWN != 0 {
                return partial(sent, Errno::EPIPE);
            }
            let skb = match self.build_skb(src, size, fds.take().unwrap_or_default(), cred) {
                Ok(skb) => skb,
                Err(e) => return partial(sent, e),
            };
            let refused = {
                let mut p = peer.inner.lock();
                if p.dead || p.shutdown & RCV_SHUTDOWN != 0 {
                    Some((skb, Errno::EPIPE))
                } else if p.queue.try_reserve(1).is_err() {
                    Some((skb, Errno::ENOBUFS))
                } else {
                    p.queue.push_back(skb);
                    None
                }
            };
            if let Some((skb, e)) = refused {
                drop(skb);
                return partial(sent, e);
            }
            peer.wait.wake_up();
            sent += size;
        }
        Ok(sent)
    }

    fn dgram_send(
        self: &Arc<Self>,
        src: &mut Iov<'_>,
        dest: Option<(&UnixAddr, Option<&WalkStart>)>,
        scm: Scm,
        nonblock: bool,
    ) -> Result<usize, Errno> {
        let len = src.remaining();
        let (sndbuf, passcred) = {
            let s = self.inner.lock();
            (s.sndbuf, s.passcred)
        };
        if len > sndbuf.saturating_sub(32) {
            return Err(Errno::EMSGSIZE);
        }
        if passcred && dest.is_some() {
            self.autobind()?;
        }
        let (other, connected) = match dest {
            Some((addr, start)) => (find_other(addr, start, self.ty)?, false),
            None => (self.inner.lock().peer.clone().ok_or(Errno::ENOTCONN)?, true),
        };
        self.wait_for_sndbuf(nonblock)?;
        let cred = scm.cred.unwrap_or_else(Ucred::current);
        let mut skb = Some(self.build_skb(src, len, scm.fds, cred)?);
        loop {
            let mut o = other.inner.lock();
            if o.dead {
                drop(o);
                if connected {
                    // Linux: the dead peer is forgotten, and the send refused.
                    let mut s = self.inner.lock();
                    if s.peer.as_ref().is_some_and(|p| Arc::ptr_eq(p, &other)) {
                        s.peer = None;
                    }
                }
                return Err(if self.ty == SOCK_SEQPACKET { Errno::EPIPE } else { Errno::ECONNREFUSED });
            }
            let peer_of_other = o.peer.clone();
            let ours = peer_of_other.as_ref().is_some_and(|p| Arc::ptr_eq(p, self));
            if peer_of_other.is_some() && !ours {
                return Err(Errno::EPERM);
            }
            if o.shutdown & RCV_SHUTDOWN != 0 {
                return Err(Errno::EPIPE);
            }
            let is_self = Arc::ptr_eq(&other, self);
            if !is_self && !ours && o.queue.len() > o.max_backlog {
                drop(o);
                if nonblock {
                    return Err(Errno::EAGAIN);
                }
                restartable(other.wait.wait_event(state::TASK_INTERRUPTIBLE, || {
                    let o = other.inner.lock();
                    o.dead || o.shutdown & RCV_SHUTDOWN != 0 || o.queue.len() <= o.max_backlog
                }))?;
                continue;
            }
            o.queue.try_reserve(1).map_err(|_| Errno::ENOBUFS)?;
            o.queue.push_back(skb.take().ok_or(Errno::EINVAL)?);
            break;
        }
        other.wait.wake_up();
        Ok(len)
    }

    /// Receives a message (Linux: `unix_stream_recvmsg`,
    /// `unix_dgram_recvmsg`, `unix_seqpacket_recvmsg`).
    pub fn recvmsg(&self, dst: &mut Iov<'_>, flags: u32, nonblock: bool) -> Result<Received, Errno> {
        if flags & MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let nonblock = nonblock || flags & MSG_DONTWAIT != 0;
        let got = match self.ty {
            SOCK_STREAM => self.stream_recv(dst, flags, nonblock)?,
            _ => {
                if self.ty == SOCK_SEQPACKET && self.inner.lock().state != SockState::Connected {
                    return Err(Errno::ENOTCONN);
                }
                self.dgram_recv(dst, flags, nonblock)?
            }
        };
        // Files taken out of a message are no longer in flight (a peek
        // only copied them).
        if flags & MSG_PEEK == 0 {
            super::garbage::unix_notinflight(&got.fds);
        }
        Ok(got)
    }

    /// The files in this socket's queue, by address (for the collector,
    /// garbage.rs).
    pub(super) fn queued_files(&self) -> Vec<usize> {
        let s = self.inner.lock();
        let mut out = Vec::new();
        for skb in &s.queue {
            if out.try_reserve(skb.fds.len()).is_err() {
                break;
            }
            out.extend(skb.fds.iter().map(|f| Arc::as_ptr(f) as usize));
        }
        out
    }

    /// Takes the whole receive queue (the collector drops it, with no
    /// lock held).
    pub(super) fn purge_queue(&self) -> VecDeque<Skb> {
        core::mem::take(&mut self.inner.lock().queue)
    }

    /// Waits for something to read; `Ok` to look again.
    fn wait_readable(&self) -> Result<(), Errno> {
        restartable(self.wait.wait_event(state::TASK_INTERRUPTIBLE, || {
            let s = self.inner.lock();
            !s.queue.is_empty() || s.shutdown & RCV_SHUTDOWN != 0 || s.err.is_some() || s.dead
        }))
    }

    fn stream_recv(&self, dst: &mut Iov<'_>, flags: u32, nonblock: bool) -> Result<Received, Errno> {
        let peek = flags & MSG_PEEK != 0;
        let want = dst.remaining();
        let target = if flags & MSG_WAITALL != 0 { want } else { want.min(1) };
        let mut out = Received::default();
        // With MSG_PEEK: which message, and how far into it, to look next.
        let mut peek_at = (0usize, 0usize);
        // The sender of the first bytes, whose name recvmsg reports.
        let mut sender: Option<Arc<UnixSock>> = None;
        loop {
            let mut done_skb = None;
            {
                let mut s = self.inner.lock();
                if s.state != SockState::Connected {
                    return Err(Errno::EINVAL);
                }
                let passcred = s.passcred;
                let index = if peek { peek_at.0 } else { 0 };
                if let Some(skb) = s.queue.get_mut(index) {
                    let start = if peek { skb.off + peek_at.1 } else { skb.off };
                    // A message carrying files, or another sender's
                    // credentials, starts a read of its own.
                    let glued =
                        out.copied > 0 && (!skb.fds.is_empty() || passcred && out.cred.is_some_and(|c| c != skb.cred));
                    if glued || out.copied >= want {
                        break;
                    }
                    let n = (skb.data.len() - start).min(want - out.copied);
                    if let Err(e) = dst.copy_in(&skb.data[start..start + n]) {
                        if out.copied == 0 {
                            return Err(e);
                        }
                        break;
                    }
                    if out.copied == 0 {
                        if passcred {
                            out.cred = Some(skb.cred);
                        }
                        sender = Some(skb.owner.clone());
                    }
                    out.copied += n;
                    let carried = !skb.fds.is_empty();
                    if carried {
                        if peek {
                            out.fds.try_reserve(skb.fds.len()).map_err(|_| Errno::ENOMEM)?;
                            out.fds.extend(skb.fds.iter().cloned());
                        } else {
                            out.fds = core::mem::take(&mut skb.fds);
                        }
                    }
                    if peek {
                        if start + n == skb.data.len() {
                            peek_at = (peek_at.0 + 1, 0);
                        } else {
                            peek_at.1 += n;
                        }
                    } else {
                        skb.off += n;
                        if skb.off == skb.data.len() {
                            done_skb = s.queue.pop_front();
                        }
                    }
                    if carried {
                        drop(s);
                        drop(done_skb);
                        break;
                    }
                } else {
                    if out.copied >= target {
                        break;
                    }
                    if let Some(e) = s.err.take() {
                        if out.copied > 0 {
                            s.err = Some(e);
                            break;
                        }
                        return Err(e);
                    }
                    if s.shutdown & RCV_SHUTDOWN != 0 {
                        break;
                    }
                    if nonblock {
                        if out.copied > 0 {
                            break;
                        }
                        return Err(Errno::EAGAIN);
                    }
                    drop(s);
                    if let Err(e) = self.wait_readable() {
                        if out.copied > 0 {
                            break;
                        }
                        return Err(e);
                    }
                    continue;
                }
            }
            drop(done_skb);
            if out.copied >= want {
                break;
            }
        }
        out.full_len = out.copied;
        // Linux: `unix_copy_addr` of the first message's sender, locked
        // after ours is released.
        out.from = sender.and_then(|s| s.inner.lock().addr.clone());
        Ok(out)
    }

    fn dgram_recv(&self, dst: &mut Iov<'_>, flags: u32, nonblock: bool) -> Result<Received, Errno> {
        let peek = flags & MSG_PEEK != 0;
        loop {
            let mut taken = None;
            let mut out = Received::default();
            {
                let mut s = self.inner.lock();
                let passcred = s.passcred;
                if let Some(skb) = s.queue.front_mut() {
                    let n = skb.data.len().min(dst.remaining());
                    dst.copy_in(&skb.data[..n])?;
                    out.copied = n;
                    out.full_len = skb.data.len();
                    out.truncated = n < skb.data.len();
                    if passcred {
                        out.cred = Some(skb.cred);
                    }
                    if peek {
                        out.fds.try_reserve(skb.fds.len()).map_err(|_| Errno::ENOMEM)?;
                        out.fds.extend(skb.fds.iter().cloned());
                    } else {
                        out.fds = core::mem::take(&mut skb.fds);
                    }
                    let owner = skb.owner.clone();
                    if !peek {
                        taken = s.queue.pop_front();
                    }
                    drop(s);
                    out.from = owner.inner.lock().addr.clone();
                } else {
                    if let Some(e) = s.err.take() {
                        return Err(e);
                    }
                    if s.shutdown & RCV_SHUTDOWN != 0 {
                        return Ok(out);
                    }
                    if nonblock {
                        return Err(Errno::EAGAIN);
                    }
                    drop(s);
                    self.wait_readable()?;
                    continue;
                }
            }
            // Room in our queue: senders waiting for it may go on.
            self.wait.wake_up();
            drop(taken);
            return Ok(out);
        }
    }

    /// Readiness (Linux: `unix_poll`, `unix_dgram_poll`).
    pub fn poll(&self) -> u16 {
        const POLLRDHUP: u16 = 0x2000;
        const POLLWRBAND: u16 = 0x200;
        let s = self.inner.lock();
        let mut m = 0;
        if s.err.is_some() {
            m |= poll::POLLERR;
        }
        if s.shutdown == SHUTDOWN_MASK {
            m |= poll::POLLHUP;
        }
        if s.shutdown & RCV_SHUTDOWN != 0 {
            m |= POLLRDHUP | poll::POLLIN;
        }
        if !s.queue.is_empty() || !s.backlog.is_empty() {
            m |= poll::POLLIN;
        }
        if self.connection_based() && s.state == SockState::Unconnected {
            m |= poll::POLLHUP;
        }
        let mut writable = s.state != SockState::Listening && self.wmem.load(Ordering::Acquire) * 4 <= s.sndbuf;
        if self.ty == SOCK_DGRAM {
            if let Some(peer) = s.peer.clone() {
                drop(s);
                let p = peer.inner.lock();
                let back = p.peer.as_ref().is_some_and(|x| core::ptr::eq(Arc::as_ptr(x), self));
                if !back && p.queue.len() > p.max_backlog {
                    writable = false;
                }
            }
        }
        if writable {
            m |= poll::POLLOUT | POLLWRBAND;
        }
        m
    }

    /// Releases the socket: its last file is closed, or it was a
    /// connection never accepted (`embryo`) of a listener that closed
    /// (Linux: `unix_release_sock`).
    fn release(&self, embryo: bool) {
        let (peer, queue, backlog, path) = {
            let mut s = self.inner.lock();
            s.dead = true;
            s.shutdown = SHUTDOWN_MASK;
            let peer = s.peer.take();
            let queue = core::mem::take(&mut s.queue);
            let backlog = core::mem::take(&mut s.backlog);
            let path = s.path.take();
            if let Some(UnixAddr::Abstract(name)) = &s.addr {
                let mut names = NAMES.lock();
                let key = (self.ty, name.clone());
                if names.abstract_names.get(&key).is_some_and(|w| core::ptr::eq(w.as_ptr(), self)) {
                    names.abstract_names.remove(&key);
                }
            }
            if let Some(p) = &path {
                NAMES.lock().by_inode.remove(&inode_key(p));
            }
            (peer, queue, backlog, path)
        };
        self.wait.wake_up();
        if let Some(peer) = peer {
            if self.connection_based() {
                {
                    let mut p = peer.inner.lock();
                    p.shutdown = SHUTDOWN_MASK;
                    if !queue.is_empty() || embryo {
                        p.err = Some(Errno::ECONNRESET);
                    }
                }
                peer.wait.wake_up();
            } else {
                // Datagram senders blocked on our full queue learn we are
                // gone.
                peer.wait.wake_up();
            }
        }
        for e in backlog {
            e.release(true);
        }
        drop(queue);
        drop(path);
    }

    /// Getsockopt values.
    pub fn sndbuf(&self) -> usize {
        self.inner.lock().sndbuf
    }
    pub fn rcvbuf(&self) -> usize {
        self.inner.lock().rcvbuf
    }
    /// SO_SNDBUF (Linux: `sock_setsockopt`): twice the value, within the
    /// limits.
    pub fn set_sndbuf(&self, v: u32) {
        let v = (v as usize).min(WMEM_MAX);
        self.inner.lock().sndbuf = (v * 2).max(SOCK_MIN_SNDBUF);
        self.wait.wake_up();
    }
    pub fn set_rcvbuf(&self, v: u32) {
        let v = (v as usize).min(RMEM_MAX);
        self.inner.lock().rcvbuf = (v * 2).max(SOCK_MIN_RCVBUF);
    }
    pub fn passcred(&self) -> bool {
        self.inner.lock().passcred
    }
    pub fn set_passcred(&self, on: bool) {
        self.inner.lock().passcred = on;
    }
    pub fn flag(&self, keepalive: bool) -> bool {
        let s = self.inner.lock();
        if keepalive {
            s.keepalive
        } else {
            s.reuseaddr
        }
    }
    pub fn set_flag(&self, keepalive: bool, on: bool) {
        let mut s = self.inner.lock();
        if keepalive {
            s.keepalive = on;
        } else {
            s.reuseaddr = on;
        }
    }
    /// SO_PEERCRED: the peer's credentials, if connected or listening.
    pub fn peercred(&self) -> Option<Ucred> {
        self.inner.lock().peercred
    }
    /// SO_ERROR: the pending error, cleared.
    pub fn take_error(&self) -> Option<Errno> {
        self.inner.lock().err.take()
    }
    /// SO_ACCEPTCONN.
    pub fn listening(&self) -> bool {
        self.inner.lock().state == SockState::Listening
    }
}

/// The socket `addr` names, for a connect or send of a socket of type
/// `ty` (Linux: `unix_find_other`): ECONNREFUSED for a name nobody
/// serves, EPROTOTYPE for another type, the path walk's errors for a path.
fn find_other(addr: &UnixAddr, start: Option<&WalkStart>, ty: u32) -> Result<Arc<UnixSock>, Errno> {
    let found = match addr {
        UnixAddr::Abstract(name) => NAMES.lock().abstract_names.get(&(ty, name.clone())).and_then(|w| w.upgrade()),
        UnixAddr::Path(path) => {
            let text = core::str::from_utf8(path).map_err(|_| Errno::ENOENT)?;
            let place = namei::path_lookup(start.ok_or(Errno::ENOENT)?, text, true)?;
            if crate::fs::inode::file_type(&place.inode) != mode::S_IFSOCK {
                return Err(Errno::ECONNREFUSED);
            }
            NAMES.lock().by_inode.get(&inode_key(&place)).and_then(|w| w.upgrade())
        }
    };
    let other = found.ok_or(Errno::ECONNREFUSED)?;
    if other.inner.lock().dead {
        return Err(Errno::ECONNREFUSED);
    }
    if other.ty != ty {
        return Err(Errno::EPROTOTYPE);
    }
    Ok(other)
}

/// Makes the socket inode `name` (Linux: `unix_bind_bsd`'s `vfs_mknod`
/// of S_IFSOCK): EADDRINUSE when the name exists.
fn mknod_socket(start: &WalkStart, name: &str, umask: u32) -> Result<PathRef, Errno> {
    let parent = namei::path_parent(start, name)?;
    if parent.last_type != LastType::Norm || parent.trailing_slash {
        return Err(Errno::EADDRINUSE);
    }
    if namei::lookup_child(&parent.dir, &parent.last)?.is_some() {
        return Err(Errno::EADDRINUSE);
    }
    let inode = parent.dir.inode.create(&parent.last, mode::S_IFSOCK | (0o777 & !umask), 0).map_err(|e| {
        if e == Errno::EEXIST {
            Errno::EADDRINUSE
        } else {
            e
        }
    })?;
    Ok(PathRef { mnt: parent.dir.mnt.clone(), inode })
}

/// Files whose last reference a message dropped, put down one after
/// another (see the module docs).
static DEFERRED: IrqSpinLock<Vec<Arc<File>>> = IrqSpinLock::new(Vec::new());
static DRAINING: AtomicBool = AtomicBool::new(false);

/// Drops `files` (Linux: `fput` deferred to task work): a file whose drop
/// drops more files adds them to the list instead of recursing.
pub fn defer_fput(files: Vec<Arc<File>>) {
    if files.is_empty() {
        return;
    }
    {
        let mut d = DEFERRED.lock();
        if d.try_reserve(files.len()).is_err() {
            drop(d);
            // Out of memory: put them down here (recursion bounded by the
            // memory that is left, which is none).
            drop(files);
            return;
        }
        d.extend(files);
    }
    loop {
        if DRAINING.compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire).is_err() {
            // Someone is draining (perhaps a caller of ours): it will
            // see what we added.
            return;
        }
        loop {
            let next = DEFERRED.lock().pop();
            match next {
                Some(f) => drop(f),
                None => break,
            }
        }
        DRAINING.store(false, Ordering::Release);
        if DEFERRED.lock().is_empty() {
            return;
        }
    }
}

/// Device number of the sockets' file system (Linux: sockfs).
fn sockfs_dev() -> u64 {
    static DEV: AtomicU64 = AtomicU64::new(0);
    match DEV.load(Ordering::Relaxed) {
        0 => {
            let d = crate::fs::inode::anon_dev();
            match DEV.compare_exchange(0, d, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => d,
                Err(old) => old,
            }
        }
        d => d,
    }
}

/// The open file of a socket (Linux: `struct socket` with
/// `socket_file_ops`); its drop, when the last fd closes, releases the
/// socket.
pub struct SocketFile {
    pub sock: Arc<UnixSock>,
}

impl SocketFile {
    /// An open file for `sock` with `O_*` status flags.
    pub fn open(sock: Arc<UnixSock>, status: u32) -> Arc<File> {
        File::new(Arc::new(SocketFile { sock }), crate::fs::file::flags::O_RDWR | status)
    }
}

impl FileOps for SocketFile {
    fn read(&self, buf: &mut [u8], _pos: u64, nonblock: bool) -> Result<usize, Errno> {
        let mut dst = Iov::into_kernel(buf);
        self.sock.recvmsg(&mut dst, 0, nonblock).map(|r| r.copied)
    }

    fn write(&self, buf: &[u8], nonblock: bool) -> Result<usize, Errno> {
        let mut src = Iov::from_kernel(buf);
        self.sock.sendmsg(&mut src, None, Scm::default(), 0, nonblock)
    }

    fn read_user(&self, buf: u64, count: usize, nonblock: bool) -> Option<Result<usize, Errno>> {
        let mut segs = Vec::new();
        if segs.try_reserve(1).is_err() {
            return Some(Err(Errno::ENOMEM));
        }
        segs.push((buf, count));
        let mut dst = Iov::user(segs);
        Some(self.sock.recvmsg(&mut dst, 0, nonblock).map(|r| r.copied))
    }

    fn write_user(&self, buf: u64, count: usize, nonblock: bool) -> Option<Result<usize, Errno>> {
        let mut segs = Vec::new();
        if segs.try_reserve(1).is_err() {
            return Some(Err(Errno::ENOMEM));
        }
        segs.push((buf, count));
        let mut src = Iov::user(segs);
        Some(self.sock.sendmsg(&mut src, None, Scm::default(), 0, nonblock))
    }

    fn stat(&self) -> Stat {
        Stat { dev: sockfs_dev(), ino: self.sock.ino, mode: mode::S_IFSOCK | 0o777, nlink: 1, ..Stat::default() }
    }

    fn poll(&self) -> u16 {
        self.sock.poll()
    }

    fn poll_wait(&self, register: &mut dyn FnMut(&WaitQueueHead)) {
        register(&self.sock.wait);
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        self.sock.release(false);
        if super::garbage::inflight() > 0 {
            super::garbage::unix_gc();
        }
    }
}
