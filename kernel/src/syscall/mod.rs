//! The system-call layer (Linux: arch/arm64/kernel/syscall.c and the
//! generic table include/uapi/asm-generic/unistd.h).
//!
//! `svc #0` from EL0 arrives here with the number in x8 and the arguments in
//! x0-x5; the result, or `-errno`, goes back in x0. An unknown number
//! returns ENOSYS and is logged once per number. Every user pointer goes
//! through mm/uaccess.rs, so a bad one is EFAULT, never a kernel fault.
//!
//! - `fs`: files, pipes, directories, the tty ioctls;
//! - `fs_namei`: changes to the file tree and to attributes, mounts;
//! - `process`: clone, execve, exit, wait4, identities, process groups;
//! - `signal`: kill, sigaction, masks, sigsuspend, sigreturn;
//! - `mm`: brk, mmap, munmap, mprotect;
//! - `misc`: time, sleeping, scheduling, limits, uname, getrandom, futex;
//! - `socket`: AF_UNIX sockets (socket, bind, connect, sendmsg, ...);
//! - `sys`: priorities, groups, personality, scheduling policy, I/O
//!   priorities, the kernel log (`syslog`);
//! - `ptrace`: ptrace and process_vm_readv/writev.
//!
//! Each module lists its calls with [`syscalls!`]; they are gathered at
//! build time into [`SYS_CALL_TABLE`], indexed by number (Linux:
//! `sys_call_table`), so a call costs one load and one indirect branch to
//! reach its handler. Two modules claiming one number fail the build.

/// A system call's handler: the six argument registers in, x0 out (the
/// result, or a negated errno: [`syscall_return`]).
type Handler = fn(&[u64; 6]) -> u64;

/// What x0 holds after a system call (Linux's `long` return): the value,
/// or the negated errno.
#[inline(always)]
fn syscall_return(result: SysResult) -> u64 {
    match result {
        Ok(v) => v,
        Err(e) => (-(e as i64)) as u64,
    }
}

/// Declares a module's system calls as `number => expression` arms, the
/// expression reading the arguments through the identifier given first:
///
/// ```ignore
/// syscalls! {
///     a;
///     nr::GETPID => Ok(current().tgid() as u64),
///     nr::DUP3 => sys_dup3(a[0], a[1], a[2] as u32),
/// }
/// ```
///
/// Makes `CALLS`, one handler per number, for [`SYS_CALL_TABLE`].
macro_rules! syscalls {
    ($a:ident; $($($nr:path)|+ => $e:expr,)*) => {
        /// This module's system calls and their handlers.
        pub(super) const CALLS: &[(u64, super::Handler)] = &[$($((
            $nr,
            {
                // (`unreachable_code`, `diverging_sub_expression`: exit and
                // exit_group never return.)
                #[allow(unused_variables, unreachable_code, clippy::diverging_sub_expression)]
                fn handler($a: &[u64; 6]) -> u64 {
                    let result: super::SysResult = $e;
                    super::syscall_return(result)
                }
                handler
            },
        ),)+)*];
    };
}

pub(crate) mod fs;
mod fs_namei;
mod ipc;
mod misc;
mod mm;
mod prctl;
mod process;
mod ptrace;
mod select;
mod signal;
mod socket;
mod sys;
mod time;

use crate::arch::exception::TrapFrame;
use crate::errno::Errno;
use core::sync::atomic::{AtomicU64, Ordering};

/// What a system call returns to user space.
pub type SysResult = Result<u64, Errno>;

/// System-call numbers (the generic aarch64 table).
#[allow(missing_docs)]
pub mod nr {
    pub const GETCWD: u64 = 17;
    pub const FLOCK: u64 = 32;
    pub const MKNODAT: u64 = 33;
    pub const MKDIRAT: u64 = 34;
    pub const UNLINKAT: u64 = 35;
    pub const SYMLINKAT: u64 = 36;
    pub const LINKAT: u64 = 37;
    pub const RENAMEAT: u64 = 38;
    pub const UMOUNT2: u64 = 39;
    pub const MOUNT: u64 = 40;
    pub const STATFS: u64 = 43;
    pub const FSTATFS: u64 = 44;
    pub const TRUNCATE: u64 = 45;
    pub const FTRUNCATE: u64 = 46;
    pub const FALLOCATE: u64 = 47;
    pub const FCHDIR: u64 = 50;
    pub const CHROOT: u64 = 51;
    pub const FCHMOD: u64 = 52;
    pub const FCHMODAT: u64 = 53;
    pub const FCHOWNAT: u64 = 54;
    pub const FCHOWN: u64 = 55;
    pub const PWRITE64: u64 = 68;
    pub const PREADV: u64 = 69;
    pub const PWRITEV: u64 = 70;
    pub const SYNC: u64 = 81;
    pub const FSYNC: u64 = 82;
    pub const FDATASYNC: u64 = 83;
    pub const SYNCFS: u64 = 267;
    pub const UTIMENSAT: u64 = 88;
    pub const RENAMEAT2: u64 = 276;
    pub const STATX: u64 = 291;
    pub const MREMAP: u64 = 216;
    pub const DUP: u64 = 23;
    pub const DUP3: u64 = 24;
    pub const FCNTL: u64 = 25;
    pub const IOCTL: u64 = 29;
    pub const FACCESSAT: u64 = 48;
    pub const CHDIR: u64 = 49;
    pub const OPENAT: u64 = 56;
    pub const CLOSE: u64 = 57;
    pub const PIPE2: u64 = 59;
    pub const GETDENTS64: u64 = 61;
    pub const LSEEK: u64 = 62;
    pub const READ: u64 = 63;
    pub const WRITE: u64 = 64;
    pub const READV: u64 = 65;
    pub const WRITEV: u64 = 66;
    pub const PREAD64: u64 = 67;
    pub const FADVISE64: u64 = 223;
    pub const SENDFILE: u64 = 71;
    pub const PSELECT6: u64 = 72;
    pub const PPOLL: u64 = 73;
    pub const READLINKAT: u64 = 78;
    pub const NEWFSTATAT: u64 = 79;
    pub const FSTAT: u64 = 80;
    pub const CAPGET: u64 = 90;
    pub const CAPSET: u64 = 91;
    pub const EXIT: u64 = 93;
    pub const EXIT_GROUP: u64 = 94;
    pub const SET_TID_ADDRESS: u64 = 96;
    pub const UNSHARE: u64 = 97;
    pub const FUTEX: u64 = 98;
    pub const PTRACE: u64 = 117;
    pub const SET_ROBUST_LIST: u64 = 99;
    pub const NANOSLEEP: u64 = 101;
    pub const RESTART_SYSCALL: u64 = 128;
    pub const GETITIMER: u64 = 102;
    pub const SETITIMER: u64 = 103;
    pub const TIMER_CREATE: u64 = 107;
    pub const TIMER_GETTIME: u64 = 108;
    pub const TIMER_GETOVERRUN: u64 = 109;
    pub const TIMER_SETTIME: u64 = 110;
    pub const TIMER_DELETE: u64 = 111;
    pub const CLOCK_SETTIME: u64 = 112;
    pub const CLOCK_GETTIME: u64 = 113;
    pub const CLOCK_GETRES: u64 = 114;
    pub const CLOCK_NANOSLEEP: u64 = 115;
    pub const SCHED_SETAFFINITY: u64 = 122;
    pub const SCHED_GETAFFINITY: u64 = 123;
    pub const SCHED_YIELD: u64 = 124;
    pub const KILL: u64 = 129;
    pub const TKILL: u64 = 130;
    pub const TGKILL: u64 = 131;
    pub const SIGALTSTACK: u64 = 132;
    pub const RT_SIGSUSPEND: u64 = 133;
    pub const RT_SIGACTION: u64 = 134;
    pub const RT_SIGPROCMASK: u64 = 135;
    pub const RT_SIGPENDING: u64 = 136;
    pub const RT_SIGTIMEDWAIT: u64 = 137;
    pub const RT_SIGQUEUEINFO: u64 = 138;
    pub const RT_SIGRETURN: u64 = 139;
    pub const REBOOT: u64 = 142;
    pub const RT_TGSIGQUEUEINFO: u64 = 240;
    pub const SETREGID: u64 = 143;
    pub const TIMES: u64 = 153;
    pub const SETGID: u64 = 144;
    pub const SETREUID: u64 = 145;
    pub const SETUID: u64 = 146;
    pub const SETRESUID: u64 = 147;
    pub const SETRESGID: u64 = 149;
    pub const SETPGID: u64 = 154;
    pub const GETPGID: u64 = 155;
    pub const GETSID: u64 = 156;
    pub const SETSID: u64 = 157;
    pub const UNAME: u64 = 160;
    pub const SETHOSTNAME: u64 = 161;
    pub const GETRLIMIT: u64 = 163;
    pub const SETRLIMIT: u64 = 164;
    pub const GETRUSAGE: u64 = 165;
    pub const UMASK: u64 = 166;
    pub const PRCTL: u64 = 167;
    pub const GETTIMEOFDAY: u64 = 169;
    pub const SETTIMEOFDAY: u64 = 170;
    pub const ADJTIMEX: u64 = 171;
    pub const GETPID: u64 = 172;
    pub const GETPPID: u64 = 173;
    pub const GETUID: u64 = 174;
    pub const GETEUID: u64 = 175;
    pub const GETGID: u64 = 176;
    pub const GETEGID: u64 = 177;
    pub const GETTID: u64 = 178;
    pub const SYSINFO: u64 = 179;
    pub const MSGGET: u64 = 186;
    pub const MSGCTL: u64 = 187;
    pub const MSGRCV: u64 = 188;
    pub const MSGSND: u64 = 189;
    pub const SEMGET: u64 = 190;
    pub const SEMCTL: u64 = 191;
    pub const SEMTIMEDOP: u64 = 192;
    pub const SEMOP: u64 = 193;
    pub const SHMGET: u64 = 194;
    pub const SHMCTL: u64 = 195;
    pub const SHMAT: u64 = 196;
    pub const SHMDT: u64 = 197;
    pub const BRK: u64 = 214;
    pub const MUNMAP: u64 = 215;
    pub const CLONE: u64 = 220;
    pub const EXECVE: u64 = 221;
    pub const MMAP: u64 = 222;
    pub const MPROTECT: u64 = 226;
    pub const MADVISE: u64 = 233;
    pub const MSYNC: u64 = 227;
    pub const WAIT4: u64 = 260;
    pub const WAITID: u64 = 95;
    pub const PRLIMIT64: u64 = 261;
    pub const CLOCK_ADJTIME: u64 = 266;
    pub const PROCESS_VM_READV: u64 = 270;
    pub const PROCESS_VM_WRITEV: u64 = 271;
    pub const GETRANDOM: u64 = 278;
    pub const RSEQ: u64 = 293;
    pub const CLONE3: u64 = 435;
    pub const PIDFD_OPEN: u64 = 434;
    pub const PIDFD_SEND_SIGNAL: u64 = 424;
    pub const FUTEX_WAITV: u64 = 449;
    pub const SIGNALFD4: u64 = 74;
    pub const IOPRIO_SET: u64 = 30;
    pub const IOPRIO_GET: u64 = 31;
    pub const PERSONALITY: u64 = 92;
    pub const SYSLOG: u64 = 116;
    pub const SCHED_SETPARAM: u64 = 118;
    pub const SCHED_SETSCHEDULER: u64 = 119;
    pub const SCHED_GETSCHEDULER: u64 = 120;
    pub const SCHED_GETPARAM: u64 = 121;
    pub const SCHED_GET_PRIORITY_MAX: u64 = 125;
    pub const SCHED_GET_PRIORITY_MIN: u64 = 126;
    pub const SETPRIORITY: u64 = 140;
    pub const GETPRIORITY: u64 = 141;
    pub const GETRESUID: u64 = 148;
    pub const GETRESGID: u64 = 150;
    pub const GETGROUPS: u64 = 158;
    pub const SETGROUPS: u64 = 159;
}

/// Numbers already reported as unknown, one bit each (numbers below 512).
static REPORTED: [AtomicU64; 8] = [const { AtomicU64::new(0) }; 8];

fn unknown(number: u64) -> SysResult {
    let (word, bit) = ((number / 64) as usize, number % 64);
    let fresh = match REPORTED.get(word) {
        Some(w) => w.fetch_or(1 << bit, Ordering::Relaxed) & (1 << bit) == 0,
        None => true,
    };
    if fresh {
        let me = crate::sched::task::current();
        log::info!("{}[{}]: system call {number} not implemented (ENOSYS)", me.comm(), me.pid());
    }
    Err(Errno::ENOSYS)
}

/// Runs the system call in `frame` and stores its result in x0 (Linux:
/// `invoke_syscall`). Returns whether x0 is a system call's result, which a
/// signal may turn into a restart (not after rt_sigreturn, which restores
/// the interrupted code's x0).
pub fn invoke(frame: &mut TrapFrame) -> bool {
    let me = crate::sched::task::current();
    let number = frame.regs[8];
    // SAFETY: only the task itself touches its syscall registers (and its
    // tracer, while it is stopped).
    unsafe {
        let regs = &mut *me.user_regs.get();
        regs.orig_x0 = frame.regs[0];
        regs.syscallno = number;
    }
    // Tracing (ptrace.rs): one load and a branch when not traced.
    if me.ptrace.work.load(Ordering::Relaxed) & crate::ptrace::WORK_SYSCALL_TRACE != 0 {
        return invoke_traced(me, number, frame);
    }
    invoke_syscall(number, frame)
}

/// [`invoke`] for a task whose tracer asked for syscall stops (Linux:
/// `syscall_trace_enter`/`syscall_trace_exit` around the call). Only a task
/// traced at entry gets the exit stop.
#[cold]
#[inline(never)]
fn invoke_traced(me: crate::sched::task::TaskRef, number: u64, frame: &mut TrapFrame) -> bool {
    if number == crate::ptrace::NO_SYSCALL {
        frame.regs[0] = (-(Errno::ENOSYS as i64)) as u64;
    }
    if crate::ptrace::syscall_trace_enter(frame) {
        crate::ptrace::syscall_trace_exit(frame);
        return true;
    }
    // The tracer may have changed the number and the arguments.
    // SAFETY: as in `invoke`.
    let number = unsafe { (*me.user_regs.get()).syscallno };
    let restartable = invoke_syscall(number, frame);
    crate::ptrace::syscall_trace_exit(frame);
    restartable
}

/// Runs system call `number` with the arguments in x0-x5 (Linux: `invoke_syscall`).
#[inline(always)]
fn invoke_syscall(number: u64, frame: &mut TrapFrame) -> bool {
    // The common case: one load from the table and an indirect call, the
    // handler reading the arguments in place in the frame.
    if let Some(Some(handler)) = SYS_CALL_TABLE.get(number as usize) {
        let args = frame.regs.first_chunk::<6>().expect("x0-x5");
        frame.regs[0] = handler(args);
        return true;
    }
    invoke_special(number, frame)
}

/// The calls the table does not hold: those that need the whole trap frame
/// (rt_sigreturn, execve, clone, clone3), rseq, and unknown numbers.
#[inline(never)]
fn invoke_special(number: u64, frame: &mut TrapFrame) -> bool {
    let a = [frame.regs[0], frame.regs[1], frame.regs[2], frame.regs[3], frame.regs[4], frame.regs[5]];
    let result = match number {
        nr::RT_SIGRETURN => {
            frame.regs[0] = crate::signal::sys_rt_sigreturn(frame);
            return false;
        }
        nr::EXECVE | nr::CLONE | nr::CLONE3 => process::dispatch(number, &a, frame),
        // Probed by C libraries, which fall back quietly: not worth a log line.
        nr::RSEQ => Err(Errno::ENOSYS),
        _ => unknown(number),
    };
    frame.regs[0] = syscall_return(result);
    true
}

/// One past the highest system-call number in the table.
const NR_SYSCALLS: usize = 512;

/// Every module's calls, placed at their numbers (Linux: `sys_call_table`);
/// None: not implemented (ENOSYS).
static SYS_CALL_TABLE: [Option<Handler>; NR_SYSCALLS] = build_table(&[
    fs::CALLS,
    fs_namei::CALLS,
    process::CALLS,
    signal::CALLS,
    mm::CALLS,
    misc::CALLS,
    time::CALLS,
    ipc::CALLS,
    sys::CALLS,
    ptrace::CALLS,
    socket::CALLS,
]);

/// Places each module's handlers at their numbers; a number claimed twice
/// or past the table stops the build.
const fn build_table(modules: &[&[(u64, Handler)]]) -> [Option<Handler>; NR_SYSCALLS] {
    let mut table: [Option<Handler>; NR_SYSCALLS] = [None; NR_SYSCALLS];
    let mut m = 0;
    while m < modules.len() {
        let calls = modules[m];
        let mut i = 0;
        while i < calls.len() {
            let (number, handler) = calls[i];
            assert!((number as usize) < NR_SYSCALLS, "system-call number past the table");
            assert!(table[number as usize].is_none(), "two handlers for one system call");
            assert!(!is_special(number), "a call that needs the trap frame goes through invoke_special");
            table[number as usize] = Some(handler);
            i += 1;
        }
        m += 1;
    }
    table
}

/// Numbers [`invoke_special`] handles, never in the table.
const fn is_special(number: u64) -> bool {
    matches!(number, nr::RT_SIGRETURN | nr::EXECVE | nr::CLONE | nr::CLONE3 | nr::RSEQ)
}

pub use fs::kbuf;

/// The current task's open file at `fd` (Linux: `fdget`): one lock, the
/// table's, and one reference, the file's; the task's own table is read
/// without taking a reference to it.
fn fdget(fd: u64) -> Result<alloc::sync::Arc<crate::fs::file::File>, Errno> {
    crate::sched::task::current().own_files().ok_or(Errno::EBADF)?.get(fd as i32)
}
