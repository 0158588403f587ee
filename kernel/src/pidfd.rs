//! Process file descriptors (Linux: kernel/pid.c `pidfd_open`,
//! kernel/fork.c `pidfd_fops`, kernel/signal.c `pidfd_send_signal`): a
//! descriptor that names one process for as long as it is open, whatever
//! PID is reused later.
//!
//! Linux's pidfd holds the process's `struct pid`. This kernel has no such
//! object, so a pidfd holds the thread-group ID with the leader's start
//! time: the process it names is the task with that PID, leading its
//! group, started at that time; once that task is reaped, nothing matches
//! any more, even if the number comes back.
//!
//! A pidfd is readable (poll) once the process has exited, that is its
//! leader is a zombie with no live thread left, and also hung up (POLLHUP)
//! once it has been reaped. Pollers wait on one queue that every process
//! exit and every reaping wakes (Linux: `pid->wait_pidfd` per process,
//! woken from `do_notify_pidfd`).

use crate::errno::Errno;
use crate::fs::file::{flags, poll, File, FileOps, Stat};
use crate::pid::Pid;
use crate::sched::task::TaskRef;
use crate::sched::wait::WaitQueueHead;
use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// `PIDFD_NONBLOCK` (O_NONBLOCK).
pub const PIDFD_NONBLOCK: u32 = flags::O_NONBLOCK;

/// Woken when any process exits or is reaped.
static PIDFD_WAIT: WaitQueueHead = WaitQueueHead::new();

/// Wakes the pollers of pidfds: a process has exited or been reaped
/// (Linux: `do_notify_pidfd`).
pub fn do_notify_pidfd() {
    PIDFD_WAIT.wake_up();
}

/// The process a pidfd names.
pub struct PidFd {
    /// Its thread-group ID; 0 until CLONE_PIDFD has made the child.
    tgid: AtomicU32,
    /// Its leader's start time.
    start_time: AtomicU64,
}

impl PidFd {
    /// A pidfd that names nothing yet (CLONE_PIDFD installs it before the
    /// child exists, so that running out of descriptors fails the clone).
    pub fn unset() -> Arc<PidFd> {
        Arc::new(PidFd { tgid: AtomicU32::new(0), start_time: AtomicU64::new(0) })
    }

    /// Makes the pidfd name `leader`'s process.
    pub fn set(&self, leader: TaskRef) {
        self.start_time.store(leader.start_time.load(Ordering::Relaxed), Ordering::Relaxed);
        self.tgid.store(leader.tgid(), Ordering::Release);
    }

    /// The thread-group ID it names (Linux: `pidfd_pid` then `pid_vnr`).
    pub fn pid(&self) -> Pid {
        self.tgid.load(Ordering::Acquire)
    }

    /// The process's leader with a reference, if it has not been reaped.
    pub fn task(&self) -> Option<TaskRef> {
        let tgid = self.pid();
        if tgid == 0 {
            return None;
        }
        let t = crate::sched::task::find_task_by_pid(tgid)?;
        if t.tgid() == tgid && t.start_time.load(Ordering::Relaxed) == self.start_time.load(Ordering::Relaxed) {
            Some(t)
        } else {
            t.put();
            None
        }
    }

    /// Whether the process has exited (all its threads), and whether it
    /// has been reaped too.
    fn exited(&self) -> (bool, bool) {
        let Some(t) = self.task() else { return (true, true) };
        let zombie = t.exit_state.load(Ordering::SeqCst) != 0
            && t.signal_struct().is_none_or(|s| s.live.load(Ordering::SeqCst) == 0);
        t.put();
        (zombie, false)
    }
}

impl FileOps for PidFd {
    fn stat(&self) -> Stat {
        // An anonymous inode (Linux: anon_inode_getfile), read-write for
        // its owner.
        Stat { dev: crate::fs::inode::anon_dev(), mode: 0o600, nlink: 1, ..Stat::default() }
    }

    fn poll(&self) -> u16 {
        match self.exited() {
            (_, true) => poll::POLLIN | poll::POLLRDNORM | poll::POLLHUP,
            (true, false) => poll::POLLIN | poll::POLLRDNORM,
            _ => 0,
        }
    }

    fn poll_wait(&self, register: &mut dyn FnMut(&WaitQueueHead)) {
        register(&PIDFD_WAIT);
    }

    fn path(&self) -> Option<String> {
        Some(String::from("anon_inode:[pidfd]"))
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }
}

/// The pidfd `file` is, or EBADF.
pub fn pidfd_of(file: &File) -> Result<&PidFd, Errno> {
    file.ops.as_any().and_then(|a| a.downcast_ref::<PidFd>()).ok_or(Errno::EBADF)
}

/// The open file of a new pidfd (Linux: `pidfd_create`): read-write, with
/// PIDFD_NONBLOCK if asked.
pub fn pidfd_file(pidfd: Arc<PidFd>, nonblock: bool) -> Arc<File> {
    File::new(pidfd, flags::O_RDWR | if nonblock { flags::O_NONBLOCK } else { 0 })
}

/// `pidfd_open(pid, flags)`: the pidfd of process `pid`, installed close-on-exec.
/// EINVAL for unknown flags, a PID <= 0 or a thread that leads no group;
/// ESRCH if there is no such task.
pub fn pidfd_open(pid: i32, flags_arg: u32) -> Result<Arc<File>, Errno> {
    if flags_arg & !PIDFD_NONBLOCK != 0 || pid <= 0 {
        return Err(Errno::EINVAL);
    }
    let t = crate::sched::task::find_task_by_pid(pid as Pid).ok_or(Errno::ESRCH)?;
    let leader = t.tgid() == t.pid();
    let pidfd = PidFd::unset();
    if leader {
        pidfd.set(t);
    }
    t.put();
    if !leader {
        return Err(Errno::EINVAL);
    }
    Ok(pidfd_file(pidfd, flags_arg & PIDFD_NONBLOCK != 0))
}
