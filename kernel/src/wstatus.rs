//! The wait status word `wait4` reports (Linux: include/uapi/linux/wait.h
//! macros, kernel/exit.c): how a task ended, packed as user space decodes it.
//!
//! - exited with `code`: `(code & 0xff) << 8` (WIFEXITED, WEXITSTATUS);
//! - killed by signal `sig`: `sig & 0x7f`, plus 0x80 if it dumped core
//!   (WIFSIGNALED, WTERMSIG);
//! - stopped by `sig`: `(sig << 8) | 0x7f` (WIFSTOPPED, WSTOPSIG);
//! - continued: `0xffff` (WIFCONTINUED).

/// Status of a task that exited with `code`.
pub const fn exited(code: i32) -> i32 {
    (code & 0xff) << 8
}

/// Whether a death by a signal whose default action dumps core writes a
/// core file. Never here: the kernel writes no core files, so the 0x80 bit
/// ("core dumped") stays clear, as on Linux with RLIMIT_CORE 0 (Linux sets
/// it only after `vfs_coredump` wrote one).
pub const CORE_FILES_WRITTEN: bool = false;

/// Status of a task killed by signal `sig`; `dumps_core` for a signal whose
/// default action is to dump core (SIGSEGV, SIGQUIT, SIGABRT...), which
/// sets the 0x80 bit only if a core file was written ([`CORE_FILES_WRITTEN`]).
pub const fn signaled(sig: i32, dumps_core: bool) -> i32 {
    (sig & 0x7f) | if dumps_core && CORE_FILES_WRITTEN { 0x80 } else { 0 }
}

/// Status of a task stopped by signal `sig`.
pub const fn stopped(sig: i32) -> i32 {
    ((sig & 0xff) << 8) | 0x7f
}

/// Status of a stopped task that was continued.
pub const CONTINUED: i32 = 0xffff;

/// WIFEXITED.
pub const fn if_exited(status: i32) -> bool {
    status & 0x7f == 0
}

/// WEXITSTATUS.
pub const fn exit_status(status: i32) -> i32 {
    (status >> 8) & 0xff
}

/// WIFSIGNALED.
pub const fn if_signaled(status: i32) -> bool {
    ((status & 0x7f) + 1) as i8 >= 2
}

/// WTERMSIG.
pub const fn term_sig(status: i32) -> i32 {
    status & 0x7f
}

/// WIFSTOPPED.
pub const fn if_stopped(status: i32) -> bool {
    status & 0xff == 0x7f
}

/// WSTOPSIG.
pub const fn stop_sig(status: i32) -> i32 {
    exit_status(status)
}

/// WIFCONTINUED.
pub const fn if_continued(status: i32) -> bool {
    status == CONTINUED
}

/// `si_code` values of a child's SIGCHLD and of `waitid` (Linux's CLD_*).
pub const CLD_EXITED: i32 = 1;
pub const CLD_KILLED: i32 = 2;
pub const CLD_DUMPED: i32 = 3;
pub const CLD_STOPPED: i32 = 5;
pub const CLD_CONTINUED: i32 = 6;

/// A wait status as `siginfo` spells it: `(si_code, si_status)`, as
/// `waitid` and SIGCHLD report it (Linux: `wait_task_zombie`,
/// `wait_task_stopped`, `wait_task_continued`).
pub const fn to_siginfo(status: i32) -> (i32, i32) {
    if if_continued(status) {
        (CLD_CONTINUED, SIGCONT)
    } else if if_stopped(status) {
        (CLD_STOPPED, stop_sig(status))
    } else if if_exited(status) {
        (CLD_EXITED, exit_status(status))
    } else if status & 0x80 != 0 {
        (CLD_DUMPED, term_sig(status))
    } else {
        (CLD_KILLED, term_sig(status))
    }
}

/// SIGCONT, what a continued child reports.
pub const SIGCONT: i32 = 18;
/// SIGKILL (signal.rs has the full set).
pub const SIGKILL: i32 = 9;
/// SIGCHLD, the usual exit signal of a child.
pub const SIGCHLD: i32 = 17;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siginfo_codes_follow_the_status() {
        assert_eq!(to_siginfo(exited(7)), (CLD_EXITED, 7));
        assert_eq!(to_siginfo(signaled(9, false)), (CLD_KILLED, 9));
        assert_eq!(to_siginfo(signaled(11, true)), (CLD_KILLED, 11), "no core file is written");
        assert_eq!(to_siginfo(0x8b), (CLD_DUMPED, 11));
        assert_eq!(to_siginfo(stopped(19)), (CLD_STOPPED, 19));
        assert_eq!(to_siginfo(CONTINUED), (CLD_CONTINUED, SIGCONT));
    }

    #[test]
    fn exit_codes_round_trip_and_are_truncated_to_a_byte() {
        for code in [0, 1, 42, 255] {
            let s = exited(code);
            assert!(if_exited(s) && !if_signaled(s) && !if_stopped(s) && !if_continued(s));
            assert_eq!(exit_status(s), code);
        }
        assert_eq!(exit_status(exited(256 + 3)), 3);
        assert_eq!(exited(1), 0x100);
    }

    #[test]
    fn signals_stops_and_continues_decode_as_glibc_does() {
        let killed = signaled(SIGKILL, false);
        assert_eq!(killed, 9);
        assert!(if_signaled(killed) && !if_exited(killed) && !if_stopped(killed));
        assert_eq!(term_sig(killed), 9);
        assert_eq!(signaled(11, true), 0x0b, "no core file, no core-dumped bit");
        assert_eq!(term_sig(0x8b), 11);
        let st = stopped(19);
        assert_eq!(st, 0x137f);
        assert!(if_stopped(st) && !if_signaled(st) && !if_exited(st));
        assert_eq!(stop_sig(st), 19);
        assert!(if_continued(CONTINUED) && !if_exited(CONTINUED) && !if_signaled(CONTINUED));
    }
}
