//! Pipes (Linux: fs/pipe.c): a 64 KiB ring shared by a read end and a write
//! end.
//!
//! A reader sleeps while the pipe is empty and a writer exists; with no
//! writer left it reads end-of-file. A writer sleeps while the ring is full;
//! with no reader left it gets EPIPE and SIGPIPE. Writes of up to PIPE_BUF
//! bytes are atomic: they wait until the whole write fits. Sleeps are
//! interruptible and restartable (ERESTARTSYS).

use super::file::{mode, poll, FileOps, Stat};
use crate::errno::Errno;
use crate::sched::task::state;
use crate::sched::wait::WaitQueueHead;
use crate::sync::IrqSpinLock;
use alloc::boxed::Box;
use alloc::sync::Arc;
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

/// A new pipe: (read end, write end).
pub fn create() -> Result<(Arc<PipeEnd>, Arc<PipeEnd>), Errno> {
    let mut buf = alloc::vec::Vec::new();
    buf.try_reserve_exact(PIPE_SIZE).map_err(|_| Errno::ENOMEM)?;
    buf.resize(PIPE_SIZE, 0u8);
    let buf = buf.into_boxed_slice();
    let pipe = Arc::new(Pipe {
        ring: IrqSpinLock::new(Ring { buf, head: 0, len: 0, readers: 1, writers: 1 }),
        rd_wait: WaitQueueHead::new(),
        wr_wait: WaitQueueHead::new(),
        ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
    });
    Ok((Arc::new(PipeEnd { pipe: pipe.clone(), write: false }), Arc::new(PipeEnd { pipe, write: true })))
}

/// One end; dropping it (the last fd closed) tells the other side.
pub struct PipeEnd {
    pipe: Arc<Pipe>,
    write: bool,
}

fn restartable(r: Result<(), Errno>) -> Result<(), Errno> {
    r.map_err(|e| if e == Errno::EINTR { Errno::ERESTARTSYS } else { e })
}

impl FileOps for PipeEnd {
    fn read(&self, buf: &mut [u8], _pos: u64, nonblock: bool) -> Result<usize, Errno> {
        if buf.is_empty() {
            return Ok(0);
        }
        let p = &self.pipe;
        loop {
            {
                let mut r = p.ring.lock();
                if r.len > 0 {
                    let n = buf.len().min(r.len);
                    for (i, b) in buf[..n].iter_mut().enumerate() {
                        *b = r.buf[(r.head + i) % PIPE_SIZE];
                    }
                    r.head = (r.head + n) % PIPE_SIZE;
                    r.len -= n;
                    drop(r);
                    p.wr_wait.wake_up();
                    return Ok(n);
                }
                if r.writers == 0 {
                    return Ok(0);
                }
            }
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            restartable(p.rd_wait.wait_event(state::TASK_INTERRUPTIBLE, || {
                let r = p.ring.lock();
                r.len > 0 || r.writers == 0
            }))?;
        }
    }

    fn write(&self, buf: &[u8], nonblock: bool) -> Result<usize, Errno> {
        let p = &self.pipe;
        let mut done = 0;
        while done < buf.len() {
            let want = if buf.len() <= PIPE_BUF { buf.len() } else { 1 };
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
                let room = PIPE_SIZE - r.len;
                if room >= want {
                    let n = room.min(buf.len() - done);
                    let tail = (r.head + r.len) % PIPE_SIZE;
                    for (i, &b) in buf[done..done + n].iter().enumerate() {
                        r.buf[(tail + i) % PIPE_SIZE] = b;
                    }
                    r.len += n;
                    done += n;
                    drop(r);
                    p.rd_wait.wake_up();
                    continue;
                }
            }
            if nonblock {
                return if done > 0 { Ok(done) } else { Err(Errno::EAGAIN) };
            }
            let waited = p.wr_wait.wait_event(state::TASK_INTERRUPTIBLE, || {
                let r = p.ring.lock();
                r.readers == 0 || PIPE_SIZE - r.len >= want
            });
            if let Err(e) = restartable(waited) {
                return if done > 0 { Ok(done) } else { Err(e) };
            }
        }
        Ok(done)
    }

    fn stat(&self) -> Stat {
        Stat { dev: 3, ino: self.pipe.ino, mode: mode::S_IFIFO | 0o600, nlink: 1, ..Stat::default() }
    }

    fn poll_wait(&self, register: &mut dyn FnMut(&WaitQueueHead)) {
        register(&self.pipe.rd_wait);
        register(&self.pipe.wr_wait);
    }

    fn poll(&self) -> u16 {
        let r = self.pipe.ring.lock();
        if self.write {
            // Writable means a write of PIPE_BUF bytes, which is atomic,
            // goes in whole: a non-blocking writer told POLLOUT must not get
            // EAGAIN (Linux's pipes count free slots of a page).
            let mut m = if PIPE_SIZE - r.len >= PIPE_BUF { poll::POLLOUT } else { 0 };
            if r.readers == 0 {
                m |= poll::POLLERR;
            }
            m
        } else {
            let mut m = if r.len > 0 { poll::POLLIN } else { 0 };
            if r.writers == 0 {
                m |= poll::POLLHUP;
            }
            m
        }
    }
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        {
            let mut r = self.pipe.ring.lock();
            if self.write {
                r.writers -= 1;
            } else {
                r.readers -= 1;
            }
        }
        self.pipe.rd_wait.wake_up();
        self.pipe.wr_wait.wake_up();
    }
}
