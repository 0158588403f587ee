//! `strace [-f] [-o FILE] CMD [ARGS...]` and `strace [-f] [-o FILE] -p PID`: traces the system
//! calls of a program (started here, or attached to) with `ptrace`, printing each as strace does:
//! `openat(AT_FDCWD, "/x", O_RDONLY)    = -1 ENOENT (No such file or directory)`, signals as
//! `--- SIGCHLD {...} ---` and the end as `+++ exited with 0 +++`. `-f` follows forks and clones
//! (`[pid N] ` before each line once there is more than one process); `-o` writes the trace to FILE
//! instead of standard error. The decoding is `uparse::strace`'s.
//!
//! A call whose exit another process's line comes before is cut with ` <unfinished ...>` and finished
//! later with `<... name resumed>`, as strace does. Departures from strace: the `[pid N]` prefix is not
//! padded; structures not listed in `uparse::strace` are shown as addresses.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;
use rt::sys::{check, syscall4, syscall6};
use rt::{eprintln, Bytes, Errno};
use uparse::strace::{self, Mem};

rt::entry!(main);

const PTRACE: usize = 117;
const PROCESS_VM_READV: usize = 270;
const PTRACE_TRACEME: usize = 0;
const PTRACE_SYSCALL: usize = 24;
const PTRACE_ATTACH: usize = 16;
const PTRACE_SETOPTIONS: usize = 0x4200;
const PTRACE_GETEVENTMSG: usize = 0x4201;
const PTRACE_GETSIGINFO: usize = 0x4202;
const PTRACE_GETREGSET: usize = 0x4204;
const NT_PRSTATUS: usize = 1;
const O_TRACESYSGOOD: usize = 0x1;
const O_TRACEFORK: usize = 0x2;
const O_TRACEVFORK: usize = 0x4;
const O_TRACECLONE: usize = 0x8;
const O_TRACEEXEC: usize = 0x10;
const WALL: i32 = 0x4000_0000;
const SIGSTOP: i32 = 19;
const SIGTRAP: i32 = 5;

fn ptrace(req: usize, pid: i32, addr: usize, data: usize) -> rt::Result<usize> {
    // SAFETY: the requests used here write only to `data` when it points to a buffer of ours of the
    // size the request fills (GETREGSET's iovec, GETSIGINFO's 128 bytes, GETEVENTMSG's word).
    check(unsafe { syscall4(PTRACE, req, pid as usize, addr, data) })
}

/// A tracee's memory, read with `process_vm_readv`.
struct Remote(i32);

impl Mem for Remote {
    fn read(&self, addr: u64, buf: &mut [u8]) -> bool {
        let local = [buf.as_mut_ptr() as usize, buf.len()];
        let remote = [addr as usize, buf.len()];
        // SAFETY: the local iovec describes `buf`, which the kernel fills; the remote one is the
        // tracee's and only read.
        let r = unsafe {
            syscall6(PROCESS_VM_READV, self.0 as usize, local.as_ptr() as usize, 1, remote.as_ptr() as usize, 1, 0)
        };
        r == buf.len() as isize
    }
}

/// The registers of a stopped tracee: x0-x30, sp, pc, pstate.
fn regs(pid: i32) -> Option<[u64; 34]> {
    let mut r = [0u64; 34];
    let iov = [r.as_mut_ptr() as usize, core::mem::size_of_val(&r)];
    ptrace(PTRACE_GETREGSET, pid, NT_PRSTATUS, iov.as_ptr() as usize).ok().map(|_| r)
}

/// One traced task.
struct Tracee {
    pid: i32,
    /// Between the syscall-enter and the syscall-exit stop.
    in_syscall: bool,
    nr: u64,
    args: [u64; 6],
    /// Its entry line was cut by another process's line.
    unfinished: bool,
    /// Created by a traced fork: its first SIGSTOP is not a real signal.
    fresh: bool,
}

/// Where the trace goes, and who owns the line being written.
struct Out {
    fd: i32,
    /// The tracee whose call's line is open (printed up to its output arguments).
    open: Option<i32>,
    /// Columns written on the open line.
    col: usize,
    /// Print `[pid N] ` (with -f, once a second process is traced).
    prefix: bool,
}

impl Out {
    fn write(&mut self, s: &str) {
        let _ = rt::io::write_all(self.fd, s.as_bytes());
        match s.rfind('\n') {
            Some(at) => self.col = s.len() - at - 1,
            None => self.col += s.len(),
        }
    }

    /// Starts a line for `pid`, cutting another tracee's open line first.
    fn start(&mut self, pid: i32, tracees: &mut [Tracee]) {
        if let Some(other) = self.open.take() {
            if other == pid {
                self.open = Some(pid);
                return;
            }
            self.write(" <unfinished ...>\n");
            if let Some(t) = tracees.iter_mut().find(|t| t.pid == other) {
                t.unfinished = true;
            }
        }
        if self.prefix {
            let mut p = String::new();
            let _ = core::fmt::Write::write_fmt(&mut p, format_args!("[pid {pid}] "));
            self.write(&p);
        }
    }

    /// A whole line for `pid`.
    fn line(&mut self, pid: i32, text: &str, tracees: &mut [Tracee]) {
        self.start(pid, tracees);
        self.write(text);
        self.write("\n");
        self.open = None;
    }
}

fn usage() -> i32 {
    eprintln!("usage: strace [-f] [-o FILE] CMD [ARGS...]\n       strace [-f] [-o FILE] -p PID");
    2
}

/// `cmd` as a path: itself if it has a `/`, else the first of `$PATH` (default `/bin:/sbin`) that exists.
fn find_program(cmd: &[u8], env: &rt::Env) -> Option<Vec<u8>> {
    if cmd.contains(&b'/') {
        return Some(cmd.to_vec());
    }
    let path = env.get(b"PATH").unwrap_or(b"/bin:/sbin");
    path.split(|&c| c == b':').find_map(|dir| {
        let mut p = dir.to_vec();
        p.push(b'/');
        p.extend_from_slice(cmd);
        rt::fs::stat(&p).ok().map(|_| p)
    })
}

fn main(args: rt::Args, env: rt::Env) -> i32 {
    let args: Vec<&[u8]> = args.iter().skip(1).collect();
    let (mut follow, mut out_file, mut attach) = (false, None, None);
    let mut i = 0;
    while i < args.len() && args[i].starts_with(b"-") {
        match args[i] {
            b"-f" => follow = true,
            b"-o" => {
                i += 1;
                out_file = Some(*args.get(i).unwrap_or(&&b""[..]));
            }
            b"-p" => {
                i += 1;
                attach = args.get(i).and_then(|p| uparse::num::parse_i32(p));
                if attach.is_none_or(|p| p <= 0) {
                    return usage();
                }
            }
            b"--" => {
                i += 1;
                break;
            }
            _ => return usage(),
        }
        i += 1;
    }
    let cmd = &args[i..];
    if cmd.is_empty() == attach.is_none() {
        return usage();
    }
    let fd = match out_file {
        Some(path) => match rt::fs::open(path, 0o1 | 0o100 | 0o1000 | 0o2000000, 0o644) {
            Ok(fd) => fd,
            Err(e) => {
                eprintln!("strace: Can't fopen '{}': {}", Bytes(path), e);
                return 1;
            }
        },
        None => 2,
    };
    let mut options = O_TRACESYSGOOD | O_TRACEEXEC;
    if follow {
        options |= O_TRACEFORK | O_TRACEVFORK | O_TRACECLONE;
    }
    let first = match attach {
        Some(pid) => match start_attached(pid) {
            Ok(()) => pid,
            Err(e) => {
                eprintln!("strace: attach: ptrace(PTRACE_ATTACH, {}): {}", pid, e);
                return 1;
            }
        },
        None => match start_program(cmd, &env) {
            Ok(pid) => pid,
            Err(code) => return code,
        },
    };
    if ptrace(PTRACE_SETOPTIONS, first, 0, options).is_err() || ptrace(PTRACE_SYSCALL, first, 0, 0).is_err() {
        eprintln!("strace: cannot trace {}", first);
        return 1;
    }
    let mut out = Out { fd, open: None, col: 0, prefix: false };
    let tracee = Tracee { pid: first, in_syscall: false, nr: 0, args: [0; 6], unfinished: false, fresh: false };
    trace(first, alloc::vec![tracee], &mut out)
}

/// Forks the traced child: it asks to be traced, stops, and execs `cmd`; returns its PID once it
/// has stopped.
fn start_program(cmd: &[&[u8]], env: &rt::Env) -> Result<i32, i32> {
    let Some(path) = find_program(cmd[0], env) else {
        eprintln!("strace: Can't stat '{}': No such file or directory", Bytes(cmd[0]));
        return Err(1);
    };
    let envp: Vec<&[u8]> = env.iter().collect();
    match rt::process::fork() {
        Ok(rt::process::Fork::Child) => {
            if ptrace(PTRACE_TRACEME, 0, 0, 0).is_err() {
                rt::process::exit(1);
            }
            let _ = rt::process::kill(rt::process::getpid(), SIGSTOP);
            let e = rt::process::execve(&path, cmd, &envp);
            eprintln!("strace: exec: {}", e);
            rt::process::exit(1);
        }
        Ok(rt::process::Fork::Parent(pid)) => match rt::process::wait4(pid, WALL) {
            Ok(Some((_, st))) if st.stop_signal() == Some(SIGSTOP) => Ok(pid),
            _ => {
                eprintln!("strace: the child did not stop");
                Err(1)
            }
        },
        Err(e) => {
            eprintln!("strace: fork: {}", e);
            Err(1)
        }
    }
}

/// PTRACE_ATTACH to `pid` and wait for its SIGSTOP.
fn start_attached(pid: i32) -> Result<(), Errno> {
    ptrace(PTRACE_ATTACH, pid, 0, 0)?;
    loop {
        match rt::process::wait4(pid, WALL)? {
            Some((_, st)) if st.stop_signal() == Some(SIGSTOP) => break,
            Some((_, st)) if st.stop_signal().is_some() => {
                ptrace(7, pid, 0, st.stop_signal().unwrap_or(0) as usize)?;
            }
            _ => return Err(Errno(3)),
        }
    }
    eprintln!("strace: Process {} attached", pid);
    Ok(())
}

/// The main loop: every stop of every tracee until none is left. Returns the first tracee's exit
/// status (128 + signal if killed).
fn trace(first: i32, mut tracees: Vec<Tracee>, out: &mut Out) -> i32 {
    let mut status_of_first = 0;
    loop {
        let mut raw: i32 = 0;
        // SAFETY: wait4 writes the status word into `raw`; no rusage.
        let r = unsafe { syscall4(rt::sys::WAIT4, usize::MAX, &mut raw as *mut i32 as usize, WALL as usize, 0) };
        let pid = match check(r) {
            Ok(pid) => pid as i32,
            Err(Errno(4)) => continue, // EINTR
            Err(_) => break,           // ECHILD: nobody left
        };
        let idx = match tracees.iter().position(|t| t.pid == pid) {
            Some(i) => i,
            None => {
                // A new child whose stop came before its parent's fork event.
                tracees.push(Tracee { pid, in_syscall: false, nr: 0, args: [0; 6], unfinished: false, fresh: true });
                out.prefix = true;
                tracees.len() - 1
            }
        };
        if raw & 0x7f == 0 || ((raw & 0x7f) + 1) as i8 >= 2 {
            // Exited or killed.
            finish_open_call(out, &mut tracees, idx);
            let text = if raw & 0x7f == 0 {
                let code = (raw >> 8) & 0xff;
                if pid == first {
                    status_of_first = code;
                }
                alloc::format!("+++ exited with {code} +++")
            } else {
                let sig = raw & 0x7f;
                if pid == first {
                    status_of_first = 128 + sig;
                }
                let core = if raw & 0x80 != 0 { " (core dumped)" } else { "" };
                alloc::format!("+++ killed by {}{core} +++", strace::signal_name(sig as i64))
            };
            out.line(pid, &text, &mut tracees);
            tracees.remove(idx);
            continue;
        }
        if raw & 0xff != 0x7f {
            continue;
        }
        let sig = (raw >> 8) & 0xff;
        let event = raw >> 16;
        let mut inject = 0usize;
        if sig == SIGTRAP | 0x80 {
            syscall_stop(out, &mut tracees, idx);
        } else if event != 0 {
            // PTRACE_EVENT_FORK/VFORK/CLONE: the new tracee (EXEC needs nothing).
            if (1..=3).contains(&event) {
                let mut msg = 0u64;
                if ptrace(PTRACE_GETEVENTMSG, pid, 0, &mut msg as *mut u64 as usize).is_ok()
                    && !tracees.iter().any(|t| t.pid == msg as i32)
                {
                    tracees.push(Tracee {
                        pid: msg as i32,
                        in_syscall: false,
                        nr: 0,
                        args: [0; 6],
                        unfinished: false,
                        fresh: true,
                    });
                }
                out.prefix = true;
            }
        } else if sig == SIGSTOP && tracees[idx].fresh {
            tracees[idx].fresh = false; // the new child's first stop
        } else {
            let mut info = [0u8; 128];
            if ptrace(PTRACE_GETSIGINFO, pid, 0, info.as_mut_ptr() as usize).is_ok() {
                let mut text = String::new();
                strace::format_signal(&info, &mut text);
                out.line(pid, &text, &mut tracees);
                inject = sig as usize;
            } else {
                // A group stop (no siginfo).
                let text = alloc::format!("--- stopped by {} ---", strace::signal_name(sig as i64));
                out.line(pid, &text, &mut tracees);
            }
        }
        let _ = ptrace(PTRACE_SYSCALL, pid, 0, inject);
    }
    status_of_first
}

/// A syscall-enter or -exit stop of `tracees[idx]`.
fn syscall_stop(out: &mut Out, tracees: &mut [Tracee], idx: usize) {
    let pid = tracees[idx].pid;
    let Some(r) = regs(pid) else { return };
    let mem = Remote(pid);
    if !tracees[idx].in_syscall {
        let t = &mut tracees[idx];
        t.in_syscall = true;
        t.nr = r[8];
        t.args.copy_from_slice(&r[..6]);
        t.unfinished = false;
        let (nr, args) = (t.nr, t.args);
        out.start(pid, tracees);
        let mut text = String::new();
        match strace::lookup(nr) {
            Some(sc) => {
                text.push_str(sc.name);
                text.push('(');
                strace::format_args(&sc, 0, sc.first_out(), &args, None, &mem, &mut text);
            }
            None => {
                text.push_str(&strace::unknown_name(nr));
                text.push('(');
                let _ = core::fmt::Write::write_fmt(
                    &mut text,
                    format_args!(
                        "{:#x}, {:#x}, {:#x}, {:#x}, {:#x}, {:#x}",
                        args[0], args[1], args[2], args[3], args[4], args[5]
                    ),
                );
            }
        }
        out.write(&text);
        out.open = Some(pid);
        return;
    }
    tracees[idx].in_syscall = false;
    let (nr, args) = (tracees[idx].nr, tracees[idx].args);
    let ret = r[0] as i64;
    let sc = strace::lookup(nr);
    let name = sc.map_or_else(|| strace::unknown_name(nr), |s| String::from(s.name));
    let mut text = String::new();
    if out.open != Some(pid) {
        out.start(pid, tracees);
        let _ = core::fmt::Write::write_fmt(&mut text, format_args!("<... {name} resumed>"));
    }
    if let Some(sc) = &sc {
        let mut rest = String::new();
        strace::format_args(sc, sc.first_out(), sc.args.len(), &args, Some(ret), &mem, &mut rest);
        // A resumed line starts with the first output argument, without the ", ".
        if out.open == Some(pid) {
            text.push_str(&rest);
        } else {
            text.push_str(rest.strip_prefix(", ").unwrap_or(&rest));
        }
    }
    let col = out.col + text.len();
    strace::format_result(sc.map_or(strace::Ret::Int, |s| s.ret), Some(ret), col, &mut text);
    text.push('\n');
    out.write(&text);
    out.open = None;
}

/// A tracee ends in a call (`exit_group`): its line ends with ` = ?`.
fn finish_open_call(out: &mut Out, tracees: &mut [Tracee], idx: usize) {
    let t = &tracees[idx];
    if !t.in_syscall {
        return;
    }
    let (pid, nr) = (t.pid, t.nr);
    let mut text = String::new();
    if out.open != Some(pid) {
        out.start(pid, tracees);
        let name = strace::lookup(nr).map_or_else(|| strace::unknown_name(nr), |s| String::from(s.name));
        let _ = core::fmt::Write::write_fmt(&mut text, format_args!("<... {name} resumed>"));
    }
    let col = out.col + text.len();
    strace::format_result(strace::Ret::None, None, col, &mut text);
    text.push('\n');
    out.write(&text);
    out.open = None;
    tracees[idx].in_syscall = false;
}
