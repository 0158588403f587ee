//! What `strace` prints for a system call, without the tracing: the aarch64 table's names and
//! argument kinds, and the formatting of arguments, results, signals and exits in strace's own style
//! (`openat(AT_FDCWD, "/etc/x", O_RDONLY) = -1 ENOENT (No such file or directory)`).
//!
//! The tracee's memory is reached through [`Mem`], so the formatting is tested on the host with a
//! fake memory. Arguments that the call writes (`read`'s buffer, `wait4`'s status, `pipe2`'s
//! descriptors) are formatted at the exit stop; [`Syscall::first_out`] says where they begin, so an
//! interrupted line can be finished with `<... name resumed>` as strace does.

use crate::errno::Errno;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use core::fmt::Write;

/// Reads the tracee's memory.
pub trait Mem {
    /// Fills `buf` from `addr`; false if any of it is unreadable.
    fn read(&self, addr: u64, buf: &mut [u8]) -> bool;
}

/// How an argument is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    /// Signed decimal (an `int`).
    Int,
    /// Unsigned decimal (a size).
    Uint,
    /// A pointer: `NULL` or `0x...`.
    Ptr,
    /// A directory descriptor: `AT_FDCWD` or a number.
    DirFd,
    /// A NUL-terminated path string.
    Path,
    /// A buffer the call reads, its length in argument `n`.
    BufIn(usize),
    /// A buffer the call fills, as long as the result.
    BufOut,
    /// `open` flags.
    OpenFlags,
    /// Descriptor flags (`O_CLOEXEC`, `O_NONBLOCK`) of dup3 and pipe2: `0` when none.
    FdFlags,
    /// A file mode in octal.
    Mode,
    /// A signal number.
    Signal,
    /// `execve`'s argument vector.
    Argv,
    /// `execve`'s environment: the pointer and the count.
    Envp,
    /// `wait4`'s status word, written by the call.
    WaitStatus,
    /// `clone`'s flags (arm64 order: flags, stack, parent_tid, tls, child_tid).
    CloneFlags,
    /// `mmap`/`mprotect` protection.
    Prot,
    /// `mmap` flags.
    MapFlags,
    /// `rt_sigprocmask`'s `how`.
    SigHow,
    /// A signal set the call reads.
    SigSetIn,
    /// A signal set the call writes.
    SigSetOut,
    /// A `struct timespec` the call reads.
    TimespecIn,
    /// `pipe2`'s two descriptors, written by the call.
    PipeFds,
    /// A `struct sigaction` the call reads.
    SigactionIn,
    /// A `struct sigaction` the call writes.
    SigactionOut,
    /// A `struct stat` the call writes.
    StatOut,
    /// `lseek`'s whence.
    Whence,
    /// An `ioctl` request.
    Ioctl,
    /// `*at` flags (AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH).
    AtFlags,
    /// `wait4`'s options.
    WaitOptions,
}

/// How the result is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ret {
    /// Decimal, or `-1 ERRNO (text)`.
    Int,
    /// An address in hex (mmap, brk).
    Hex,
    /// The call does not return (`exit_group`): `?`.
    None,
}

/// One system call's description.
#[derive(Clone, Copy, Debug)]
pub struct Syscall {
    pub name: &'static str,
    pub args: &'static [Arg],
    pub ret: Ret,
}

impl Syscall {
    /// The index of the first argument shown only at the exit stop (the number of arguments if none).
    pub fn first_out(&self) -> usize {
        self.args.iter().position(|a| is_out(*a)).unwrap_or(self.args.len())
    }
}

fn is_out(a: Arg) -> bool {
    matches!(a, Arg::BufOut | Arg::WaitStatus | Arg::SigSetOut | Arg::PipeFds | Arg::SigactionOut | Arg::StatOut)
}

use Arg::*;

macro_rules! sc {
    ($name:literal, [$($a:expr),*]) => { Syscall { name: $name, args: &[$($a),*], ret: Ret::Int } };
    ($name:literal, [$($a:expr),*], $r:expr) => { Syscall { name: $name, args: &[$($a),*], ret: $r } };
}

/// The description of system call `nr` of the generic aarch64 table, if this table has it.
pub fn lookup(nr: u64) -> Option<Syscall> {
    Some(match nr {
        17 => sc!("getcwd", [BufOut, Uint]),
        23 => sc!("dup", [Int]),
        24 => sc!("dup3", [Int, Int, FdFlags]),
        25 => sc!("fcntl", [Int, Int, Uint]),
        29 => sc!("ioctl", [Int, Ioctl, Ptr]),
        48 => sc!("faccessat", [DirFd, Path, Int]),
        49 => sc!("chdir", [Path]),
        56 => sc!("openat", [DirFd, Path, OpenFlags, Mode]),
        57 => sc!("close", [Int]),
        59 => sc!("pipe2", [PipeFds, FdFlags]),
        61 => sc!("getdents64", [Int, Ptr, Uint]),
        62 => sc!("lseek", [Int, Int, Whence]),
        63 => sc!("read", [Int, BufOut, Uint]),
        64 => sc!("write", [Int, BufIn(2), Uint]),
        65 => sc!("readv", [Int, Ptr, Int]),
        66 => sc!("writev", [Int, Ptr, Int]),
        73 => sc!("ppoll", [Ptr, Uint, Ptr, Ptr, Uint]),
        78 => sc!("readlinkat", [DirFd, Path, BufOut, Uint]),
        79 => sc!("newfstatat", [DirFd, Path, StatOut, AtFlags]),
        80 => sc!("fstat", [Int, StatOut]),
        93 => sc!("exit", [Int], Ret::None),
        94 => sc!("exit_group", [Int], Ret::None),
        96 => sc!("set_tid_address", [Ptr]),
        98 => sc!("futex", [Ptr, Int, Int, Ptr]),
        99 => sc!("set_robust_list", [Ptr, Uint]),
        101 => sc!("nanosleep", [TimespecIn, Ptr]),
        113 => sc!("clock_gettime", [Int, Ptr]),
        115 => sc!("clock_nanosleep", [Int, Int, TimespecIn, Ptr]),
        117 => sc!("ptrace", [Int, Int, Ptr, Ptr]),
        124 => sc!("sched_yield", []),
        128 => sc!("restart_syscall", []),
        129 => sc!("kill", [Int, Signal]),
        130 => sc!("tkill", [Int, Signal]),
        131 => sc!("tgkill", [Int, Int, Signal]),
        132 => sc!("sigaltstack", [Ptr, Ptr]),
        133 => sc!("rt_sigsuspend", [SigSetIn, Uint]),
        134 => sc!("rt_sigaction", [Signal, SigactionIn, SigactionOut, Uint]),
        135 => sc!("rt_sigprocmask", [SigHow, SigSetIn, SigSetOut, Uint]),
        139 => sc!("rt_sigreturn", []),
        154 => sc!("setpgid", [Int, Int]),
        155 => sc!("getpgid", [Int]),
        157 => sc!("setsid", []),
        160 => sc!("uname", [Ptr]),
        163 => sc!("getrlimit", [Int, Ptr]),
        167 => sc!("prctl", [Int, Uint, Uint, Uint, Uint]),
        172 => sc!("getpid", []),
        173 => sc!("getppid", []),
        174 => sc!("getuid", []),
        175 => sc!("geteuid", []),
        176 => sc!("getgid", []),
        177 => sc!("getegid", []),
        178 => sc!("gettid", []),
        214 => sc!("brk", [Ptr], Ret::Hex),
        215 => sc!("munmap", [Ptr, Uint]),
        220 => sc!("clone", [CloneFlags, Ptr, Ptr, Ptr, Ptr]),
        221 => sc!("execve", [Path, Argv, Envp]),
        222 => sc!("mmap", [Ptr, Uint, Prot, MapFlags, Int, Uint], Ret::Hex),
        226 => sc!("mprotect", [Ptr, Uint, Prot]),
        260 => sc!("wait4", [Int, WaitStatus, WaitOptions, Ptr]),
        261 => sc!("prlimit64", [Int, Int, Ptr, Ptr]),
        278 => sc!("getrandom", [Ptr, Uint, Uint]),
        _ => return None,
    })
}

/// The name strace gives an unknown call: `syscall_0x1c2`.
pub fn unknown_name(nr: u64) -> String {
    format!("syscall_{nr:#x}")
}

/// strace's default string limit (`-s 32`).
pub const STRING_LIMIT: usize = 32;

/// A quoted string as strace shows it: printable ASCII as is, `\n`, `\t`, `\"`, `\\` and the rest as
/// octal escapes; `...` after the closing quote if cut at `limit`.
pub fn quote(bytes: &[u8], limit: usize, out: &mut String) {
    let cut = bytes.len() > limit;
    let shown = if cut { &bytes[..limit] } else { bytes };
    out.push('"');
    for (i, &b) in shown.iter().enumerate() {
        match b {
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\r' => out.push_str("\\r"),
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                // strace shortens an octal escape unless a digit follows.
                let next_digit = shown.get(i + 1).is_some_and(|n| n.is_ascii_digit());
                if next_digit {
                    let _ = write!(out, "\\{b:03o}");
                } else {
                    let _ = write!(out, "\\{b:o}");
                }
            }
        }
    }
    out.push('"');
    if cut {
        out.push_str("...");
    }
}

/// A NUL-terminated string of the tracee (up to `max` bytes), quoted; the address in hex if it
/// cannot be read.
fn c_string(mem: &dyn Mem, addr: u64, max: usize, limit: usize, out: &mut String) {
    if addr == 0 {
        out.push_str("NULL");
        return;
    }
    let mut bytes = alloc::vec::Vec::new();
    let mut chunk = [0u8; 64];
    'outer: while bytes.len() < max {
        let at = addr + bytes.len() as u64;
        // Read up to the end of the page, so a string near an unmapped page is still readable.
        let room = (4096 - (at % 4096)) as usize;
        let mut n = room.min(chunk.len());
        // A string ending just before unreadable memory: byte by byte.
        if !mem.read(at, &mut chunk[..n]) {
            n = 1;
        }
        if !mem.read(at, &mut chunk[..n]) {
            if bytes.is_empty() {
                let _ = write!(out, "{addr:#x}");
                return;
            }
            break;
        }
        for &b in &chunk[..n] {
            if b == 0 {
                break 'outer;
            }
            bytes.push(b);
        }
    }
    quote(&bytes, limit, out);
}

/// A signal's name (`SIGTERM`), or its number.
pub fn signal_name(sig: i64) -> String {
    match crate::signal::name(sig as i32) {
        Some(n) if sig > 0 => format!("SIG{n}"),
        _ if (34..=64).contains(&sig) => format!("SIGRT_{}", sig - 32),
        _ => format!("{sig}"),
    }
}

/// Flags as `A|B|0x...`: named bits first, the rest in hex; `zero` when none.
fn flags(value: u64, names: &[(u64, &str)], zero: &str, out: &mut String) {
    let mut rest = value;
    let mut first = true;
    for &(bit, name) in names {
        if bit != 0 && rest & bit == bit {
            if !first {
                out.push('|');
            }
            out.push_str(name);
            rest &= !bit;
            first = false;
        }
    }
    if rest != 0 || first {
        if !first {
            out.push('|');
        }
        if rest == 0 {
            out.push_str(zero);
        } else {
            let _ = write!(out, "{rest:#x}");
        }
    }
}

fn open_flags(v: u64, out: &mut String) {
    let acc = match v & 3 {
        0 => "O_RDONLY",
        1 => "O_WRONLY",
        2 => "O_RDWR",
        _ => "0x3",
    };
    out.push_str(acc);
    let rest = v & !3;
    if rest != 0 {
        out.push('|');
        flags(
            rest,
            &[
                (0o100, "O_CREAT"),
                (0o200, "O_EXCL"),
                (0o400, "O_NOCTTY"),
                (0o1000, "O_TRUNC"),
                (0o2000, "O_APPEND"),
                (0o4000, "O_NONBLOCK"),
                (0o40000, "O_DIRECTORY"),
                (0o100000, "O_NOFOLLOW"),
                (0o2000000, "O_CLOEXEC"),
                (0o200000, "O_LARGEFILE"),
            ],
            "0",
            out,
        );
    }
}

/// A signal set as strace shows it: `[INT CHLD]`, `~[KILL STOP]` when most are set, `[]`.
fn sigset(set: u64, out: &mut String) {
    let (invert, bits) = if set.count_ones() > 32 { (true, !set) } else { (false, set) };
    if invert {
        out.push('~');
    }
    out.push('[');
    let mut first = true;
    for sig in 1..=64i64 {
        if bits & (1 << (sig - 1)) != 0 {
            if !first {
                out.push(' ');
            }
            let name = signal_name(sig);
            out.push_str(name.strip_prefix("SIG").unwrap_or(&name));
            first = false;
        }
    }
    out.push(']');
}

fn read_u64(mem: &dyn Mem, addr: u64) -> Option<u64> {
    let mut b = [0u8; 8];
    mem.read(addr, &mut b).then(|| u64::from_le_bytes(b))
}

fn read_i32(mem: &dyn Mem, addr: u64) -> Option<i32> {
    let mut b = [0u8; 4];
    mem.read(addr, &mut b).then(|| i32::from_le_bytes(b))
}

fn ptr(v: u64, out: &mut String) {
    if v == 0 {
        out.push_str("NULL");
    } else {
        let _ = write!(out, "{v:#x}");
    }
}

/// A wait status as strace decodes it: `[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]`.
pub fn wait_status(s: i32, out: &mut String) {
    out.push_str("[{");
    if s & 0x7f == 0 {
        let _ = write!(out, "WIFEXITED(s) && WEXITSTATUS(s) == {}", (s >> 8) & 0xff);
    } else if s & 0xff == 0x7f {
        let _ = write!(out, "WIFSTOPPED(s) && WSTOPSIG(s) == {}", signal_name(((s >> 8) & 0xff) as i64));
        if s >> 16 != 0 {
            let _ = write!(out, " && s>>16 == {}", s >> 16);
        }
    } else if s == 0xffff {
        out.push_str("WIFCONTINUED(s)");
    } else {
        let _ = write!(out, "WIFSIGNALED(s) && WTERMSIG(s) == {}", signal_name((s & 0x7f) as i64));
        if s & 0x80 != 0 {
            out.push_str(" && WCOREDUMP(s)");
        }
    }
    out.push_str("}]");
}

/// Formats argument `i` of `sc` with the registers `regs` (x0-x5) and, at the exit stop, the
/// result `ret`.
pub fn format_arg(sc: &Syscall, i: usize, regs: &[u64; 6], ret: Option<i64>, mem: &dyn Mem, out: &mut String) {
    let v = regs[i];
    let failed = ret.is_none_or(|r| r < 0);
    match sc.args[i] {
        Int => {
            let _ = write!(out, "{}", v as i64 as i32);
        }
        Uint => {
            let _ = write!(out, "{v}");
        }
        Ptr => ptr(v, out),
        DirFd => {
            if v as i32 == -100 {
                out.push_str("AT_FDCWD");
            } else {
                let _ = write!(out, "{}", v as i32);
            }
        }
        Path => c_string(mem, v, 4096, 4096, out),
        BufIn(n) => buffer(mem, v, regs[n] as usize, out),
        BufOut => match ret {
            Some(r) if r >= 0 => buffer(mem, v, r as usize, out),
            _ => ptr(v, out),
        },
        OpenFlags => open_flags(v, out),
        FdFlags => flags(v, &[(0o4000, "O_NONBLOCK"), (0o2000000, "O_CLOEXEC")], "0", out),
        Mode => {
            let _ = write!(out, "{v:#o}");
        }
        Signal => out.push_str(&signal_name(v as i64)),
        Argv => argv(mem, v, out),
        Envp => {
            let count = (0..4096u64).take_while(|&k| read_u64(mem, v + 8 * k).is_some_and(|p| p != 0)).count();
            let _ = write!(out, "{v:#x} /* {count} var{} */", if count == 1 { "" } else { "s" });
        }
        WaitStatus => match (ret, read_i32(mem, v)) {
            (Some(r), Some(s)) if r > 0 && v != 0 => wait_status(s, out),
            _ => ptr(v, out),
        },
        CloneFlags => {
            // clone(flags, stack, ...): strace shows child_stack first.
            out.push_str("child_stack=");
            ptr(regs[1], out);
            out.push_str(", flags=");
            let sig = v & 0xff;
            let names = [
                (0x100, "CLONE_VM"),
                (0x200, "CLONE_FS"),
                (0x400, "CLONE_FILES"),
                (0x800, "CLONE_SIGHAND"),
                (0x2000, "CLONE_PTRACE"),
                (0x4000, "CLONE_VFORK"),
                (0x8000, "CLONE_PARENT"),
                (0x10000, "CLONE_THREAD"),
                (0x40000, "CLONE_SYSVSEM"),
                (0x80000, "CLONE_SETTLS"),
                (0x100000, "CLONE_PARENT_SETTID"),
                (0x200000, "CLONE_CHILD_CLEARTID"),
                (0x1000000, "CLONE_CHILD_SETTID"),
            ];
            let high = v & !0xff;
            if high != 0 {
                flags(high, &names, "0", out);
                if sig != 0 {
                    out.push('|');
                }
            }
            if sig != 0 || high == 0 {
                out.push_str(&signal_name(sig as i64));
            }
            if v & 0x100000 != 0 {
                out.push_str(", parent_tid=");
                ptr(regs[2], out);
            }
            if v & 0x80000 != 0 {
                let _ = write!(out, ", tls={:#x}", regs[3]);
            }
            if v & 0x1200000 != 0 {
                out.push_str(", child_tidptr=");
                ptr(regs[4], out);
            }
        }
        Prot => flags(v, &[(1, "PROT_READ"), (2, "PROT_WRITE"), (4, "PROT_EXEC")], "PROT_NONE", out),
        MapFlags => {
            let kind = match v & 0xf {
                1 => "MAP_SHARED",
                2 => "MAP_PRIVATE",
                3 => "MAP_SHARED_VALIDATE",
                _ => "0",
            };
            out.push_str(kind);
            let rest = v & !0xf;
            if rest != 0 {
                out.push('|');
                flags(
                    rest,
                    &[
                        (0x10, "MAP_FIXED"),
                        (0x20, "MAP_ANONYMOUS"),
                        (0x100, "MAP_GROWSDOWN"),
                        (0x4000, "MAP_NORESERVE"),
                        (0x8000, "MAP_POPULATE"),
                        (0x20000, "MAP_STACK"),
                        (0x100000, "MAP_FIXED_NOREPLACE"),
                    ],
                    "0",
                    out,
                );
            }
        }
        SigHow => out.push_str(match v {
            0 => "SIG_BLOCK",
            1 => "SIG_UNBLOCK",
            2 => "SIG_SETMASK",
            _ => "0x?",
        }),
        SigSetIn => match (v, read_u64(mem, v)) {
            (0, _) => out.push_str("NULL"),
            (_, Some(set)) => sigset(set, out),
            _ => ptr(v, out),
        },
        SigSetOut => match (v, read_u64(mem, v)) {
            (0, _) => out.push_str("NULL"),
            (_, Some(set)) if !failed => sigset(set, out),
            _ => ptr(v, out),
        },
        TimespecIn => match (read_u64(mem, v), read_u64(mem, v + 8)) {
            (Some(s), Some(ns)) if v != 0 => {
                let _ = write!(out, "{{tv_sec={}, tv_nsec={}}}", s as i64, ns as i64);
            }
            _ => ptr(v, out),
        },
        PipeFds => match (read_i32(mem, v), read_i32(mem, v + 4)) {
            (Some(a), Some(b)) if !failed => {
                let _ = write!(out, "[{a}, {b}]");
            }
            _ => ptr(v, out),
        },
        SigactionIn => sigaction(mem, v, out),
        SigactionOut => {
            if failed {
                ptr(v, out)
            } else {
                sigaction(mem, v, out)
            }
        }
        StatOut => {
            let mut st = [0u8; 128];
            if v == 0 || failed || !mem.read(v, &mut st) {
                ptr(v, out);
            } else {
                let mode = u32::from_le_bytes(st[16..20].try_into().unwrap());
                let size = i64::from_le_bytes(st[48..56].try_into().unwrap());
                let kind = match mode & 0o170000 {
                    0o040000 => "S_IFDIR",
                    0o020000 => "S_IFCHR",
                    0o010000 => "S_IFIFO",
                    0o120000 => "S_IFLNK",
                    0o140000 => "S_IFSOCK",
                    0o060000 => "S_IFBLK",
                    _ => "S_IFREG",
                };
                let _ = write!(out, "{{st_mode={kind}|{:#o}, st_size={size}, ...}}", mode & 0o7777);
            }
        }
        Whence => out.push_str(match v {
            0 => "SEEK_SET",
            1 => "SEEK_CUR",
            2 => "SEEK_END",
            _ => "?",
        }),
        Ioctl => {
            let name = match v {
                0x5401 => "TCGETS",
                0x5402 => "TCSETS",
                0x5403 => "TCSETSW",
                0x540e => "TIOCSCTTY",
                0x540f => "TIOCGPGRP",
                0x5410 => "TIOCSPGRP",
                0x5413 => "TIOCGWINSZ",
                _ => "",
            };
            if name.is_empty() {
                let _ = write!(out, "{v:#x}");
            } else {
                out.push_str(name);
            }
        }
        AtFlags => flags(v, &[(0x100, "AT_SYMLINK_NOFOLLOW"), (0x1000, "AT_EMPTY_PATH")], "0", out),
        WaitOptions => flags(
            v,
            &[(1, "WNOHANG"), (2, "WSTOPPED"), (8, "WCONTINUED"), (0x4000_0000, "__WALL"), (0x8000_0000, "__WCLONE")],
            "0",
            out,
        ),
    }
}

fn buffer(mem: &dyn Mem, addr: u64, len: usize, out: &mut String) {
    let n = len.min(STRING_LIMIT + 1);
    let mut buf = vec![0u8; n];
    if addr == 0 || !mem.read(addr, &mut buf) {
        ptr(addr, out);
        return;
    }
    let cut = len > STRING_LIMIT;
    quote(&buf[..n.min(STRING_LIMIT)], STRING_LIMIT, out);
    if cut {
        out.push_str("...");
    }
}

fn argv(mem: &dyn Mem, addr: u64, out: &mut String) {
    if addr == 0 {
        out.push_str("NULL");
        return;
    }
    out.push('[');
    for k in 0..4096u64 {
        match read_u64(mem, addr + 8 * k) {
            Some(0) => break,
            Some(p) => {
                if k > 0 {
                    out.push_str(", ");
                }
                c_string(mem, p, 4096, STRING_LIMIT, out);
            }
            None => {
                let _ = write!(out, "{addr:#x}");
                break;
            }
        }
    }
    out.push(']');
}

fn sigaction(mem: &dyn Mem, addr: u64, out: &mut String) {
    let mut b = [0u8; 32];
    if addr == 0 {
        out.push_str("NULL");
        return;
    }
    if !mem.read(addr, &mut b) {
        ptr(addr, out);
        return;
    }
    let word = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
    let (handler, fl, restorer, mask) = (word(0), word(8), word(16), word(24));
    out.push_str("{sa_handler=");
    match handler {
        0 => out.push_str("SIG_DFL"),
        1 => out.push_str("SIG_IGN"),
        h => {
            let _ = write!(out, "{h:#x}");
        }
    }
    out.push_str(", sa_mask=");
    sigset(mask, out);
    out.push_str(", sa_flags=");
    flags(
        fl,
        &[
            (1, "SA_NOCLDSTOP"),
            (2, "SA_NOCLDWAIT"),
            (4, "SA_SIGINFO"),
            (0x0400_0000, "SA_RESTORER"),
            (0x0800_0000, "SA_ONSTACK"),
            (0x1000_0000, "SA_RESTART"),
            (0x4000_0000, "SA_NODEFER"),
            (0x8000_0000, "SA_RESETHAND"),
        ],
        "0",
        out,
    );
    if fl & 0x0400_0000 != 0 {
        let _ = write!(out, ", sa_restorer={restorer:#x}");
    }
    out.push('}');
}

/// The arguments `from..to` of `sc`, each after a `, ` but the first of the call.
pub fn format_args(
    sc: &Syscall,
    from: usize,
    to: usize,
    regs: &[u64; 6],
    ret: Option<i64>,
    mem: &dyn Mem,
    out: &mut String,
) {
    for i in from..to.min(sc.args.len()) {
        // open's mode only matters with O_CREAT (or O_TMPFILE): strace leaves it out otherwise.
        if sc.args[i] == Mode && regs[2] & 0o20100100 == 0 {
            break;
        }
        if i > 0 {
            out.push_str(", ");
        }
        format_arg(sc, i, regs, ret, mem, out);
        // clone's CloneFlags already showed the stack and the tids.
        if sc.args[i] == CloneFlags {
            break;
        }
    }
}

/// The column strace aligns ` = result` to.
pub const RESULT_COLUMN: usize = 40;

/// Appends `) ` and the result, padded to [`RESULT_COLUMN`] as strace does; `line_len` is the
/// length of the line so far (counting from its start, the `[pid N] ` prefix included).
pub fn format_result(ret_kind: Ret, ret: Option<i64>, line_len: usize, out: &mut String) {
    out.push_str(") ");
    let len = line_len + 2;
    for _ in len..RESULT_COLUMN {
        out.push(' ');
    }
    out.push_str("= ");
    match (ret_kind, ret) {
        (Ret::None, _) | (_, None) => out.push('?'),
        (_, Some(r)) if (-4095..0).contains(&r) => {
            let e = Errno((-r) as i32);
            match (e.name(), e.text()) {
                (Some(n), Some(t)) => {
                    let _ = write!(out, "-1 {n} ({t})");
                }
                _ if r == -512 => out.push_str("? ERESTARTSYS (To be restarted if SA_RESTART is set)"),
                _ if r == -514 => out.push_str("? ERESTARTNOHAND (To be restarted if no handler)"),
                _ if r == -516 => out.push_str("? ERESTART_RESTARTBLOCK (Interrupted by signal)"),
                _ => {
                    let _ = write!(out, "-1 errno {}", -r);
                }
            }
        }
        (Ret::Hex, Some(r)) => {
            let _ = write!(out, "{:#x}", r as u64);
        }
        (_, Some(r)) => {
            let _ = write!(out, "{r}");
        }
    }
}

/// The `si_code` name strace shows for `signo`.
pub fn si_code_name(signo: i32, code: i32) -> String {
    let name = match (signo, code) {
        (_, 0) => "SI_USER",
        (_, 0x80) => "SI_KERNEL",
        (_, -6) => "SI_TKILL",
        (_, -1) => "SI_QUEUE",
        (17, 1) => "CLD_EXITED",
        (17, 2) => "CLD_KILLED",
        (17, 3) => "CLD_DUMPED",
        (17, 4) => "CLD_TRAPPED",
        (17, 5) => "CLD_STOPPED",
        (17, 6) => "CLD_CONTINUED",
        (11, 1) => "SEGV_MAPERR",
        (11, 2) => "SEGV_ACCERR",
        (5, 1) => "TRAP_BRKPT",
        (5, 2) => "TRAP_TRACE",
        _ => return format!("{code}"),
    };
    String::from(name)
}

/// `--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=5, ...} ---` from the 128 bytes of a
/// `siginfo_t`.
pub fn format_signal(info: &[u8; 128], out: &mut String) {
    let i32_at = |o: usize| i32::from_le_bytes(info[o..o + 4].try_into().unwrap());
    let signo = i32_at(0);
    let code = i32_at(8);
    let name = signal_name(signo as i64);
    let _ = write!(out, "--- {name} {{si_signo={name}, si_code={}", si_code_name(signo, code));
    if matches!(signo, 4 | 5 | 7 | 8 | 11) && code > 0 && code < 0x80 {
        let addr = u64::from_le_bytes(info[16..24].try_into().unwrap());
        let _ = write!(out, ", si_addr={addr:#x}");
    } else {
        let _ = write!(out, ", si_pid={}, si_uid={}", i32_at(16), i32_at(20) as u32);
        if signo == 17 {
            let status = i32_at(24);
            let shown = if code == 1 { format!("{status}") } else { signal_name(status as i64) };
            let _ = write!(out, ", si_status={shown}, si_utime=0, si_stime=0");
        }
    }
    out.push_str("} ---");
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// A fake tracee memory: (address, bytes) pieces.
    struct Fake(Vec<(u64, Vec<u8>)>);

    impl Mem for Fake {
        fn read(&self, addr: u64, buf: &mut [u8]) -> bool {
            for (base, data) in &self.0 {
                if addr >= *base && addr + buf.len() as u64 <= base + data.len() as u64 {
                    let off = (addr - base) as usize;
                    buf.copy_from_slice(&data[off..off + buf.len()]);
                    return true;
                }
            }
            false
        }
    }

    fn line(nr: u64, regs: [u64; 6], ret: Option<i64>, mem: &Fake) -> String {
        let sc = lookup(nr).unwrap();
        let mut out = String::from(sc.name);
        out.push('(');
        format_args(&sc, 0, sc.args.len(), &regs, ret, mem, &mut out);
        let len = out.len();
        format_result(sc.ret, ret, len, &mut out);
        out
    }

    #[test]
    fn openat_failing_reads_as_strace_prints_it() {
        let mem = Fake(alloc::vec![(0x1000, b"/etc/x\0".to_vec())]);
        let out = line(56, [(-100i64) as u64, 0x1000, 0, 0, 0, 0], Some(-2), &mem);
        assert_eq!(out, "openat(AT_FDCWD, \"/etc/x\", O_RDONLY)    = -1 ENOENT (No such file or directory)");
    }

    #[test]
    fn short_lines_are_padded_to_column_40_and_exit_group_has_no_result() {
        let mem = Fake(Vec::new());
        assert_eq!(line(94, [0; 6], None, &mem), "exit_group(0)                           = ?");
        assert_eq!(line(172, [0; 6], Some(7), &mem), "getpid()                                = 7");
    }

    #[test]
    fn write_buffers_are_quoted_escaped_and_cut_at_32_bytes() {
        let long = [b'a'; 40];
        let mem = Fake(alloc::vec![(0x2000, b"hi\n".to_vec()), (0x3000, long.to_vec())]);
        assert_eq!(line(64, [1, 0x2000, 3, 0, 0, 0], Some(3), &mem), "write(1, \"hi\\n\", 3)                     = 3");
        let out = line(64, [1, 0x3000, 40, 0, 0, 0], Some(40), &mem);
        assert!(out.starts_with("write(1, \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"..., 40) = 40"), "{out}");
        let mut q = String::new();
        quote(b"\x01\x002", 32, &mut q);
        assert_eq!(q, "\"\\1\\0002\"");
    }

    #[test]
    fn execve_shows_argv_and_counts_the_environment() {
        let mut mem = alloc::vec![(0x1000, b"/bin/echo\0".to_vec()), (0x1100, b"echo\0hi\0".to_vec())];
        let argv: Vec<u8> = [0x1100u64, 0x1105, 0].iter().flat_map(|p| p.to_le_bytes()).collect();
        mem.push((0x2000, argv));
        let envp: Vec<u8> = [0x1100u64, 0].iter().flat_map(|p| p.to_le_bytes()).collect();
        mem.push((0x3000, envp));
        let out = line(221, [0x1000, 0x2000, 0x3000, 0, 0, 0], Some(0), &Fake(mem));
        assert_eq!(out, "execve(\"/bin/echo\", [\"echo\", \"hi\"], 0x3000 /* 1 var */) = 0");
    }

    #[test]
    fn wait4_clone_and_mmap_decode_their_flags() {
        let mem = Fake(alloc::vec![(0x4000, 0i32.to_le_bytes().to_vec())]);
        let out = line(260, [u64::MAX, 0x4000, 0, 0, 0, 0], Some(9), &mem);
        assert_eq!(out, "wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 9");
        assert_eq!(line(220, [17, 0, 0, 0, 0, 0], Some(9), &mem), "clone(child_stack=NULL, flags=SIGCHLD)  = 9");
        let out = line(222, [0, 4096, 3, 0x22, u64::MAX, 0], Some(0x7000), &mem);
        assert_eq!(out, "mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7000");
        let mut s = String::new();
        wait_status(0x137f, &mut s);
        assert_eq!(s, "[{WIFSTOPPED(s) && WSTOPSIG(s) == SIGSTOP}]");
    }

    #[test]
    fn signal_lines_name_the_child_status() {
        let mut info = [0u8; 128];
        info[0..4].copy_from_slice(&17i32.to_le_bytes());
        info[8..12].copy_from_slice(&1i32.to_le_bytes());
        info[16..20].copy_from_slice(&9i32.to_le_bytes());
        let mut out = String::new();
        format_signal(&info, &mut out);
        assert_eq!(
            out,
            "--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=9, si_uid=0, si_status=0, si_utime=0, si_stime=0} ---"
        );
        let mut set = String::new();
        sigset((1 << 16) | (1 << 1), &mut set);
        assert_eq!(set, "[INT CHLD]");
    }
}
