//! Linux signal numbers (aarch64 uses the generic numbering), their names as `kill -l` lists them, and
//! the messages a shell prints when a job dies of one.

/// Signal names indexed by number - 1 (SIGHUP = 1 ... SIGSYS = 31).
const NAMES: [&str; 31] = [
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM",
    "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO",
    "PWR", "SYS",
];

/// Descriptions indexed like [`NAMES`] (the text `strsignal` and shells print).
const DESCRIPTIONS: [&str; 31] = [
    "Hangup",
    "Interrupt",
    "Quit",
    "Illegal instruction",
    "Trace/breakpoint trap",
    "Aborted",
    "Bus error",
    "Floating point exception",
    "Killed",
    "User defined signal 1",
    "Segmentation fault",
    "User defined signal 2",
    "Broken pipe",
    "Alarm clock",
    "Terminated",
    "Stack fault",
    "Child exited",
    "Continued",
    "Stopped (signal)",
    "Stopped",
    "Stopped (tty input)",
    "Stopped (tty output)",
    "Urgent I/O condition",
    "CPU time limit exceeded",
    "File size limit exceeded",
    "Virtual timer expired",
    "Profiling timer expired",
    "Window changed",
    "I/O possible",
    "Power failure",
    "Bad system call",
];

pub const SIGHUP: i32 = 1;
pub const SIGINT: i32 = 2;
pub const SIGQUIT: i32 = 3;
pub const SIGKILL: i32 = 9;
pub const SIGUSR1: i32 = 10;
pub const SIGSEGV: i32 = 11;
pub const SIGUSR2: i32 = 12;
pub const SIGPIPE: i32 = 13;
pub const SIGTERM: i32 = 15;
pub const SIGCHLD: i32 = 17;
pub const SIGCONT: i32 = 18;
pub const SIGSTOP: i32 = 19;
pub const SIGTSTP: i32 = 20;
pub const SIGTTIN: i32 = 21;
pub const SIGTTOU: i32 = 22;
/// Highest signal number (real-time signals included).
pub const NSIG: i32 = 64;
/// Number of named (classic) signals.
pub const NAMED: i32 = NAMES.len() as i32;

/// The name without `SIG` prefix (`"KILL"` for 9), or `None` for a number without one.
pub fn name(sig: i32) -> Option<&'static str> {
    usize::try_from(sig).ok().and_then(|n| n.checked_sub(1)).and_then(|i| NAMES.get(i)).copied()
}

/// What a shell says about a process that died of (or was stopped by) `sig`.
pub fn description(sig: i32) -> Option<&'static str> {
    usize::try_from(sig).ok().and_then(|n| n.checked_sub(1)).and_then(|i| DESCRIPTIONS.get(i)).copied()
}

/// Parses a signal given by name (`KILL`, `SIGKILL`, `kill`, `POLL` = `IO`, `IOT` = `ABRT`) or by
/// number (`9`, range 0..=64; 0 is the "does it exist" probe).
pub fn parse(s: &[u8]) -> Option<i32> {
    if let Some(n) = crate::num::parse_u64(s) {
        return if n <= NSIG as u64 { Some(n as i32) } else { None };
    }
    let upper: alloc::vec::Vec<u8> = s.iter().map(u8::to_ascii_uppercase).collect();
    let bare = upper.strip_prefix(b"SIG").unwrap_or(&upper);
    match bare {
        b"POLL" => return Some(29),
        b"IOT" => return Some(6),
        _ => {}
    }
    NAMES.iter().position(|n| n.as_bytes() == bare).map(|i| i as i32 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for sig in 1..=NAMED {
            assert_eq!(parse(name(sig).unwrap().as_bytes()), Some(sig));
        }
        assert_eq!(name(9), Some("KILL"));
        assert_eq!(name(0), None);
        assert_eq!(name(32), None);
        assert_eq!(description(11), Some("Segmentation fault"));
    }

    #[test]
    fn parsing() {
        assert_eq!(parse(b"9"), Some(9));
        assert_eq!(parse(b"0"), Some(0));
        assert_eq!(parse(b"64"), Some(64));
        assert_eq!(parse(b"65"), None);
        assert_eq!(parse(b"SIGTERM"), Some(15));
        assert_eq!(parse(b"term"), Some(15));
        assert_eq!(parse(b"sigint"), Some(2));
        assert_eq!(parse(b"POLL"), Some(29));
        assert_eq!(parse(b"SIG"), None);
        assert_eq!(parse(b"NOPE"), None);
        assert_eq!(parse(b""), None);
    }
}
