//! The shell's state: variables (all exported), `$?`, `$!`, terminal and job-control settings, and
//! the job table.

use crate::jobs::Job;
use alloc::vec::Vec;
use rt::process;
use rt::signal::{self, Disposition};
use uparse::shell::Environment;

/// Signals an interactive shell ignores itself and restores to default in its children.
pub const JOB_CONTROL_SIGNALS: [i32; 5] =
    [signal::SIGINT, signal::SIGQUIT, signal::SIGTSTP, signal::SIGTTIN, signal::SIGTTOU];

/// Search path used when `PATH` is unset.
pub const DEFAULT_PATH: &[u8] = b"/bin:/sbin:/tests:/boot/bin";

pub struct Shell {
    /// `NAME`, `value` pairs; every variable is exported to commands.
    pub vars: Vec<(Vec<u8>, Vec<u8>)>,
    /// `$?`.
    pub status: i32,
    pub pid: i32,
    /// `$!`.
    pub last_background: Option<i32>,
    /// Reading from a terminal: prompts, job notices.
    pub interactive: bool,
    /// The terminal accepted TIOCSPGRP: jobs get their own process groups and the terminal.
    pub job_control: bool,
    /// The shell's own process group (the terminal's foreground group between jobs).
    pub pgid: i32,
    /// Terminal settings to restore after a foreground job.
    pub termios: Option<rt::tty::Termios>,
    pub jobs: Vec<Job>,
    /// Statuses of background processes already reported, newest last, for `wait PID`.
    pub finished: Vec<(i32, rt::process::WaitStatus)>,
    /// Set by `exit`.
    pub exit_requested: Option<i32>,
}

impl Shell {
    pub fn new(env: rt::Env) -> Shell {
        let vars = env
            .iter()
            .filter_map(|e| {
                let eq = e.iter().position(|&b| b == b'=')?;
                Some((e[..eq].to_vec(), e[eq + 1..].to_vec()))
            })
            .collect();
        let pid = process::getpid();
        Shell {
            vars,
            status: 0,
            pid,
            last_background: None,
            interactive: false,
            job_control: false,
            pgid: process::getpgid(0).unwrap_or(pid),
            termios: None,
            jobs: Vec::new(),
            finished: Vec::new(),
            exit_requested: None,
        }
    }

    /// Sets up a terminal session: ignore the job-control signals, lead a process group and make it
    /// the terminal's foreground group. Without TIOCSPGRP (ENOTTY or no controlling terminal), the
    /// shell still prompts but runs without job control.
    pub fn init_interactive(&mut self) {
        self.interactive = true;
        for sig in JOB_CONTROL_SIGNALS {
            let _ = signal::sigaction(sig, Disposition::Ignore, 0);
        }
        if self.pgid != self.pid && process::setpgid(0, 0).is_ok() {
            self.pgid = self.pid;
        }
        self.job_control = rt::tty::tcsetpgrp(0, self.pgid).is_ok();
        self.termios = rt::tty::tcgets(0).ok();
    }

    pub fn var(&self, name: &[u8]) -> Option<&[u8]> {
        self.vars.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice())
    }

    pub fn set_var(&mut self, name: &[u8], value: &[u8]) {
        match self.vars.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value.to_vec(),
            None => self.vars.push((name.to_vec(), value.to_vec())),
        }
    }

    pub fn unset_var(&mut self, name: &[u8]) {
        self.vars.retain(|(n, _)| n != name);
    }

    /// `NAME=value` strings for execve, with `extra` overriding.
    pub fn environment(&self, extra: &[(Vec<u8>, Vec<u8>)]) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = Vec::new();
        for (n, v) in self.vars.iter().filter(|(n, _)| !extra.iter().any(|(e, _)| e == n)).chain(extra.iter()) {
            let mut s = n.clone();
            s.push(b'=');
            s.extend_from_slice(v);
            out.push(s);
        }
        out
    }

    /// Gives the terminal back to the shell and restores its settings (after a foreground job).
    pub fn reclaim_terminal(&self) {
        if self.job_control {
            let _ = rt::tty::tcsetpgrp(0, self.pgid);
            if let Some(t) = &self.termios {
                let _ = rt::tty::tcsets(0, t);
            }
        }
    }
}

impl Environment for Shell {
    fn var(&self, name: &[u8]) -> Option<Vec<u8>> {
        Shell::var(self, name).map(|v| v.to_vec())
    }

    fn status(&self) -> i32 {
        self.status
    }

    fn pid(&self) -> i32 {
        self.pid
    }

    fn last_background(&self) -> Option<i32> {
        self.last_background
    }
}
