//! Pipes (Linux: fs/pipe.c): a 64 KiB ring shared by a read end and a write
//! end, for pipe(2) and for named pipes (FIFOs) on tmpfs, whose opens
//! [`Fifo::open`] pairs up (Linux: `fifo_open`).
//!
//! A reader sleeps while the pipe is empty and a writer exists; with no
//! writer left it reads end-of-file. A writer sleeps while the ring is full;
//! with no reader left it gets EPIPE and SIGPIPE. Writes of up to PIPE_BUF
//! bytes are atomic: they wait until the whole write fits. Sleeps are
//! interruptible and restartable (ERESTARTSYS).
//!
//! read(2) and write(2) copy straight between user memory and the ring
//! (`read_user`, `write_user`: LDTR/STTR through arch/aarch64/uaccess.rs),
//! with no kernel buffer between. The copy runs under the ring's lock, so
//! a user page fault during it is resolved with that lock held: the fault
//! path takes the address space's lock and the frame allocator's, never a
//! pipe's (lock order: pipe ring, then mm, then frames). A fault the
//! address space cannot resolve consumes nothing from the ring (a read) or
//! adds nothing of that piece (a write), and is EFAULT when nothing was
//! transferred yet.

use super::file::{mode, poll, FileOps, Stat};
use crate::arch::uaccess::{raw_copy_from_user, raw_copy_to_user};
use crate::errno::Errno;
use crate::sched::task::state;
use crate::sched::wait::WaitQueueHead;
use crate::sync::IrqSpinLock;
use alloc::boxed::Box;
use alloc::sync::{Arc, Weak};
use core::sync::atomic::{AtomicU64, Ordering};

/// Capacity (Linux's default: 16 pages).
pub const PIPE_SIZE: usize = 65536;
/// Writes up to this size are atomic.
pub const PIPE_BUF: usize = 4096;

struct Ring {
    buf: Box<[u8]>,
    head: usize,
    len: usize,
    readers: usize,
    writers: usize,
    /// Opens of each side so far: a FIFO opener waits for the other
    /// side's count to move (Linux: `r_counter`, `w_counter`), so a partner
    /// that opened and closed at once still lets it go.
    r_counter: u64,
    w_counter: u64,
}

impl Ring {
    /// Bytes the ring holds at most (Linux: `pipe->max_usage` pages).
    fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// The `n` bytes from the head, as at most two pieces of the ring.
    fn data(&self, n: usize) -> [&[u8]; 2] {
        let first = n.min(self.capacity() - self.head);
        [&self.buf[self.head..self.head + first], &self.buf[..n - first]]
    }

    /// Room for `n` bytes after the tail, as at most two pieces.
    fn room(&mut self, n: usize) -> [&mut [u8]; 2] {
        let tail = (self.head + self.len) % self.capacity();
        let first = n.min(self.capacity() - tail);
        let (low, high) = self.buf.split_at_mut(tail);
        [&mut high[..first], &mut low[..n - first]]
    }
}

/// Where a read puts its bytes, where a write takes them from.
enum Buffer<'a> {
    Kernel(&'a mut [u8]),
    User(u64),
}

impl Buffer<'_> {
    /// Copies `src` to offset `at`; EFAULT for a user buffer that faults.
    fn put(&mut self, at: usize, src: &[u8]) -> Result<(), Errno> {
        if src.is_empty() {
            return Ok(()); // the second piece of a ring that did not wrap
        }
        match self {
            Buffer::Kernel(b) => {
                b[at..at + src.len()].copy_from_slice(src);
                Ok(())
            }
            Buffer::User(addr) => match raw_copy_to_user(*addr + at as u64, src) {
                0 => Ok(()),
                _ => Err(Errno::EFAULT),
            },
        }
    }
}

/// Where a write takes its bytes from.
enum Source<'a> {
    Kernel(&'a [u8]),
    User(u64),
}

impl Source<'_> {
    /// Fills `dst` from offset `at`; EFAULT for a user buffer that faults.
    fn get(&self, at: usize, dst: &mut [u8]) -> Result<(), Errno> {
        if dst.is_empty() {
            return Ok(()); // the second piece of a ring that did not wrap
        }
        match self {
            Source::Kernel(b) => {
                dst.copy_from_slice(&b[at..at + dst.len()]);
                Ok(())
            }
            Source::User(addr) => match raw_copy_from_user(dst, *addr + at as u64) {
                0 => Ok(()),
                _ => Err(Errno::EFAULT),
            },
        }
    }
}

/// The ring size `F_SETPIPE_SZ` gives for a request of `size` bytes (Linux:
/// `round_pipe_size`): a power of two of pages, at least one page; `None`
/// past 2 GiB.
pub fn round_pipe_size(size: usize) -> Option<usize> {
    if size > 1 << 31 {
        return None;
    }
    Some(size.max(4096).next_power_of_two())
}

/// The shared part (Linux: `struct pipe_inode_info`).
pub struct Pipe {
    ring: IrqSpinLock<Ring>,
    /// Readers wait here for data, writers for room.
    rd_wait: WaitQueueHead,
    wr_wait: WaitQueueHead,
    ino: u64,
}

static NEXT_INO: AtomicU64 = AtomicU64::new(0x1_0000);

/// A pipe with no ends yet (Linux: `alloc_pipe_info`).
fn alloc_pipe_info() -> Result<Arc<Pipe>, Errno> {
    let mut buf = alloc::vec::Vec::new();
    buf.try_reserve_exact(PIPE_SIZE).map_err(|_| Errno::ENOMEM)?;
    buf.resize(PIPE_SIZE, 0u8);
    let buf = buf.into_boxed_slice();
    let ring = Ring { buf, head: 0, len: 0, readers: 0, writers: 0, r_counter: 0, w_counter: 0 };
    let pipe = Pipe {
        ring: IrqSpinLock::new(ring),
        rd_wait: WaitQueueHead::new(),
        wr_wait: WaitQueueHead::new(),
        ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
    };
    Ok(Arc::new(pipe))
}

impl Pipe {
    /// A new end reading and/or writing, counted as an open of each side
    /// it has; a side that had no end wakes openers waiting for it.
    fn attach(self: &Arc<Self>, read: bool, write: bool) -> PipeEnd {
        let mut r = self.ring.lock();
        if read {
            r.readers += 1;
            r.r_counter += 1;
        }
        if write {
            r.writers += 1;
            r.w_counter += 1;
        }
        drop(r);
        self.rd_wait.wake_up();
        self.wr_wait.wake_up();
        PipeEnd { pipe: self.clone(), read, write, hup_after: 0 }
    }
}

/// A new pipe: (read end, write end).
pub fn create() -> Result<(Arc<PipeEnd>, Arc<PipeEnd>), Errno> {
    let pipe = alloc_pipe_info()?;
    let read = Arc::new(pipe.attach(true, false));
    let write = Arc::new(pipe.attach(false, true));
    Ok((read, write))
}

/// One end; dropping it (the last fd closed) tells the other side.
pub struct PipeEnd {
    pipe: Arc<Pipe>,
    read: bool,
    write: bool,
    /// A FIFO reader opened without a writer: no POLLHUP until the write
    /// side's open count moves past this (Linux: `f_version`); 0 otherwise.
    hup_after: u64,
}

/// The pipe behind a FIFO's inode (Linux: `inode->i_pipe`): made by the
/// first open, gone with its data when the last end closes.
pub struct Fifo {
    pipe: IrqSpinLock<Weak<Pipe>>,
}

impl Default for Fifo {
    fn default() -> Self {
        Fifo { pipe: IrqSpinLock::new(Weak::new()) }
    }
}

impl Fifo {
    /// The FIFO's pipe, made if no end is open.
    fn pipe(&self) -> Result<Arc<Pipe>, Errno> {
        if let Some(p) = self.pipe.lock().upgrade() {
            return Ok(p);
        }
        // Allocated outside the lock; a racing open's pipe wins.
        let fresh = alloc_pipe_info()?;
        let mut slot = self.pipe.lock();
        if let Some(p) = slot.upgrade() {
            return Ok(p);
        }
        *slot = Arc::downgrade(&fresh);
        Ok(fresh)
    }

    /// Opens the FIFO (Linux: `fifo_open`): a reader waits for a writer to
    /// open and a writer for a reader, unless the other side is open;
    /// O_NONBLOCK readers open at once, O_NONBLOCK writers without a reader
    /// get ENXIO; O_RDWR is both sides and never waits. A wait ended by a
    /// signal is ERESTARTSYS.
    pub fn open(&self, open_flags: u32) -> Result<Arc<PipeEnd>, Errno> {
        use super::file::flags;
        let pipe = self.pipe()?;
        let nonblock = open_flags & flags::O_NONBLOCK != 0;
        let (read, write) = match open_flags & flags::O_ACCMODE {
            flags::O_RDONLY => (true, false),
            flags::O_WRONLY => (false, true),
            flags::O_RDWR => (true, true),
            _ => return Err(Errno::EINVAL),
        };
        if write && !read && nonblock && pipe.ring.lock().readers == 0 {
            return Err(Errno::ENXIO);
        }
        let mut end = pipe.attach(read, write);
        if read != write {
            let partner_seen = |r: &Ring| if read { r.w_counter } else { r.r_counter };
            let (missing, seen) = {
                let r = pipe.ring.lock();
                (if read { r.writers == 0 } else { r.readers == 0 }, partner_seen(&r))
            };
            if missing && read && nonblock {
                end.hup_after = seen;
            } else if missing {
                let _wchan = crate::wchan!("wait_for_partner");
                // On a signal `end` is dropped, which undoes its counts.
                restartable(
                    pipe.rd_wait.wait_event(state::TASK_INTERRUPTIBLE, || partner_seen(&pipe.ring.lock()) != seen),
                )?;
            }
        }
        Ok(Arc::new(end))
    }
}

fn restartable(r: Result<(), Errno>) -> Result<(), Errno> {
    r.map_err(|e| if e == Errno::EINTR { Errno::ERESTARTSYS } else { e })
}

impl PipeEnd {
    /// Reads up to `count` bytes into `buf` (Linux: `pipe_read`).
    fn do_read(&self, mut buf: Buffer<'_>, count: usize, nonblock: bool) -> Result<usize, Errno> {
        if count == 0 {
            return Ok(0);
        }
        let p = &self.pipe;
        loop {
            {
                let mut r = p.ring.lock();
                if r.len > 0 {
                    let n = count.min(r.len);
                    let [first, second] = r.data(n);
                    buf.put(0, first)?;
                    buf.put(first.len(), second)?;
                    // Writers wait only for room of up to PIPE_BUF bytes
                    // (and pollers for POLLOUT, room of PIPE_BUF): with as
                    // much room before, none waits for this room (Linux
                    // wakes writers only when the pipe was full).
                    let writers_may_wait = r.capacity() - r.len < PIPE_BUF;
                    r.head = (r.head + n) % r.capacity();
                    r.len -= n;
                    drop(r);
                    if writers_may_wait {
                        p.wr_wait.wake_up();
                    }
                    return Ok(n);
                }
                if r.writers == 0 {
                    return Ok(0);
                }
            }
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            let _wchan = crate::wchan!("pipe_read");
            restartable(p.rd_wait.wait_event(state::TASK_INTERRUPTIBLE, || {
                let r = p.ring.lock();
                r.len > 0 || r.writers == 0
            }))?;
        }
    }

    /// Writes `count` bytes from `src` (Linux: `pipe_write`).
    fn do_write(&self, src: Source<'_>, count: usize, nonblock: bool) -> Result<usize, Errno> {
        let p = &self.pipe;
        let mut done = 0;
        while done < count {
            let want = if count <= PIPE_BUF { count } else { 1 };
            {
                let mut r = p.ring.lock();
                if r.readers == 0 {
                    drop(r);
                    crate::signal::send_signal(
                        crate::sched::task::current(),
                        crate::signal::SigInfo::kernel(crate::signal::SIGPIPE),
                        false,
                    )?;
                    return if done > 0 { Ok(done) } else { Err(Errno::EPIPE) };
                }
                let room = r.capacity() - r.len;
                if room >= want {
                    let n = room.min(count - done);
                    let [first, second] = r.room(n);
                    let copied = src.get(done, first).and_then(|_| src.get(done + first.len(), second));
                    if let Err(e) = copied {
                        return if done > 0 { Ok(done) } else { Err(e) };
                    }
                    // Readers (and pollers for POLLIN) wait only while
                    // the pipe is empty (Linux: `was_empty`).
                    let was_empty = r.len == 0;
                    r.len += n;
                    done += n;
                    drop(r);
                    if was_empty {
                        p.rd_wait.wake_up();
                    }
                    continue;
                }
            }
            if nonblock {
                return if done > 0 { Ok(done) } else { Err(Errno::EAGAIN) };
            }
            let _wchan = crate::wchan!("pipe_write");
            let waited = p.wr_wait.wait_event(state::TASK_INTERRUPTIBLE, || {
                let r = p.ring.lock();
                r.readers == 0 || r.capacity() - r.len >= want
            });
            if let Err(e) = restartable(waited) {
                return if done > 0 { Ok(done) } else { Err(e) };
            }
        }
        Ok(done)
    }
}

impl FileOps for PipeEnd {
    fn read(&self, buf: &mut [u8], _pos: u64, nonblock: bool) -> Result<usize, Errno> {
        let count = buf.len();
        self.do_read(Buffer::Kernel(buf), count, nonblock)
    }

    fn write(&self, buf: &[u8], nonblock: bool) -> Result<usize, Errno> {
        self.do_write(Source::Kernel(buf), buf.len(), nonblock)
    }

    fn read_user(&self, buf: u64, count: usize, nonblock: bool) -> Option<Result<usize, Errno>> {
        Some(self.do_read(Buffer::User(buf), count, nonblock))
    }

    fn write_user(&self, buf: u64, count: usize, nonblock: bool) -> Option<Result<usize, Errno>> {
        Some(self.do_write(Source::User(buf), count, nonblock))
    }

    fn stat(&self) -> Stat {
        Stat { dev: 3, ino: self.pipe.ino, mode: mode::S_IFIFO | 0o600, nlink: 1, ..Stat::default() }
    }

    fn poll_wait(&self, register: &mut dyn FnMut(&WaitQueueHead)) {
        register(&self.pipe.rd_wait);
        register(&self.pipe.wr_wait);
    }

    fn pipe_size(&self, new: Option<usize>) -> Result<usize, Errno> {
        let Some(want) = new else { return Ok(self.pipe.ring.lock().capacity()) };
        let size = round_pipe_size(want).ok_or(Errno::EINVAL)?;
        // Past /proc/sys/fs/pipe-max-size Linux needs CAP_SYS_RESOURCE, which
        // every process has here (cred.rs: all run as root).
        // The new ring is allocated before the lock: allocation may sleep.
        let mut buf = alloc::vec::Vec::new();
        buf.try_reserve_exact(size).map_err(|_| Errno::ENOMEM)?;
        buf.resize(size, 0u8);
        let mut buf = buf.into_boxed_slice();
        let mut r = self.pipe.ring.lock();
        if r.len > size {
            return Err(Errno::EBUSY);
        }
        let len = r.len;
        let [a, b] = r.data(len);
        buf[..a.len()].copy_from_slice(a);
        buf[a.len()..len].copy_from_slice(b);
        r.buf = buf;
        r.head = 0;
        drop(r);
        // A larger ring is room for writers that waited.
        self.pipe.wr_wait.wake_up();
        Ok(size)
    }

    fn poll(&self) -> u16 {
        let r = self.pipe.ring.lock();
        let mut m = 0;
        if self.write {
            // Writable means a write of PIPE_BUF bytes, which is atomic,
            // goes in whole: a non-blocking writer told POLLOUT must not get
            // EAGAIN (Linux's pipes count free slots of a page).
            if r.capacity() - r.len >= PIPE_BUF {
                m |= poll::POLLOUT;
            }
            if r.readers == 0 {
                m |= poll::POLLERR;
            }
        }
        if self.read {
            if r.len > 0 {
                m |= poll::POLLIN;
            }
            if r.writers == 0 && r.w_counter != self.hup_after {
                m |= poll::POLLHUP;
            }
        }
        m
    }
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        {
            let mut r = self.pipe.ring.lock();
            if self.write {
                r.writers -= 1;
            }
            if self.read {
                r.readers -= 1;
            }
        }
        self.pipe.rd_wait.wake_up();
        self.pipe.wr_wait.wake_up();
    }
}
