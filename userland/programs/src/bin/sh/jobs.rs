//! Jobs: the processes of one pipeline (or background subshell) in one process group, how they are
//! waited for, stopped (`WUNTRACED`), continued (`kill(-pgid, SIGCONT)`), reported and forgotten.

use crate::state::Shell;
use alloc::vec::Vec;
use rt::process::{self, WaitStatus, WNOHANG, WUNTRACED};
use rt::{eprintln, Bytes, Errno};
use uparse::signal;

/// One process of a job.
pub struct Proc {
    pub pid: i32,
    /// Final status once it has exited or been killed.
    pub done: Option<WaitStatus>,
    /// Stopped by a signal (and not continued since).
    pub stopped: bool,
}

/// A pipeline the shell started.
pub struct Job {
    /// Number shown as `[n]`.
    pub id: usize,
    pub pgid: i32,
    pub procs: Vec<Proc>,
    pub text: Vec<u8>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Running,
    Stopped,
    Done,
}

impl Job {
    pub fn state(&self) -> JobState {
        if self.procs.iter().all(|p| p.done.is_some()) {
            JobState::Done
        } else if self.procs.iter().all(|p| p.done.is_some() || p.stopped) {
            JobState::Stopped
        } else {
            JobState::Running
        }
    }

    /// Status of the job: that of its last process.
    pub fn status(&self) -> WaitStatus {
        self.procs.last().and_then(|p| p.done).unwrap_or(WaitStatus(0))
    }

    /// Records a `wait4` report for `pid`; false if the PID is not in this job.
    pub fn record(&mut self, pid: i32, st: WaitStatus) -> bool {
        let Some(p) = self.procs.iter_mut().find(|p| p.pid == pid) else { return false };
        if st.stop_signal().is_some() {
            p.stopped = true;
        } else if st.continued() {
            p.stopped = false;
        } else {
            p.done = Some(st);
            p.stopped = false;
        }
        true
    }

    /// Blocks until every process has exited or stopped.
    pub fn wait(&mut self) {
        for i in 0..self.procs.len() {
            while self.procs[i].done.is_none() && !self.procs[i].stopped {
                let pid = self.procs[i].pid;
                match process::wait4(pid, WUNTRACED) {
                    Ok(Some((got, st))) => {
                        self.record(got, st);
                    }
                    Ok(None) | Err(Errno::EINTR) => {}
                    // Already reaped elsewhere or not our child: treat as finished.
                    Err(_) => self.procs[i].done = Some(WaitStatus(0)),
                }
            }
        }
    }

    /// What `jobs` and the notices say about the job's state.
    pub fn state_text(&self) -> alloc::string::String {
        use alloc::string::ToString;
        match self.state() {
            JobState::Running => "Running".to_string(),
            JobState::Stopped => "Stopped".to_string(),
            JobState::Done => {
                let st = self.status();
                match (st.exit_code(), st.term_signal()) {
                    (Some(0), _) => "Done".to_string(),
                    (Some(code), _) => alloc::format!("Exit {}", code),
                    (_, Some(sig)) => signal_text(st, sig),
                    _ => "Done".to_string(),
                }
            }
        }
    }
}

/// "Killed", "Segmentation fault (core dumped)", or "Signal N".
pub fn signal_text(st: WaitStatus, sig: i32) -> alloc::string::String {
    let mut s = match signal::description(sig) {
        Some(d) => alloc::string::String::from(d),
        None => alloc::format!("Signal {}", sig),
    };
    if st.core_dumped() {
        s.push_str(" (core dumped)");
    }
    s
}

/// After a foreground job: tell the user about a death by signal (not for Ctrl-C or a broken pipe).
pub fn report_foreground(st: WaitStatus) {
    match st.term_signal() {
        Some(signal::SIGINT) => eprintln!(),
        Some(signal::SIGPIPE) | None => {}
        Some(sig) => eprintln!("{}", signal_text(st, sig)),
    }
}

impl Shell {
    /// Adds a job to the table with the lowest free number; returns its index.
    pub fn add_job(&mut self, pgid: i32, pids: &[i32], text: &[u8]) -> usize {
        let mut id = 1;
        while self.jobs.iter().any(|j| j.id == id) {
            id += 1;
        }
        let procs = pids.iter().map(|&pid| Proc { pid, done: None, stopped: false }).collect();
        self.jobs.push(Job { id, pgid, procs, text: text.to_vec() });
        self.jobs.len() - 1
    }

    /// Collects every pending child status change without blocking.
    pub fn reap(&mut self) {
        loop {
            match process::wait4(-1, WNOHANG | WUNTRACED) {
                Ok(Some((pid, st))) => {
                    for job in &mut self.jobs {
                        if job.record(pid, st) {
                            break;
                        }
                    }
                }
                Err(Errno::EINTR) => {}
                Ok(None) | Err(_) => break,
            }
        }
    }

    /// Reaps, then reports and forgets finished background jobs (`[1]+  Done   sleep 1`).
    pub fn notify_jobs(&mut self) {
        self.reap();
        let mut i = 0;
        while i < self.jobs.len() {
            if self.jobs[i].state() == JobState::Done {
                let job = self.jobs.remove(i);
                eprintln!("[{}]+  {:<24}{}", job.id, job.state_text(), Bytes(&job.text));
                self.remember(&job);
            } else {
                i += 1;
            }
        }
    }

    /// Keeps the final statuses of a forgotten job's processes for a later `wait PID`.
    pub fn remember(&mut self, job: &Job) {
        const KEEP: usize = 64;
        for p in &job.procs {
            if let Some(st) = p.done {
                self.finished.push((p.pid, st));
            }
        }
        if self.finished.len() > KEEP {
            self.finished.drain(..self.finished.len() - KEEP);
        }
    }

    /// Waits for the job at `index` in the foreground (the terminal is already its own); returns `$?`.
    /// A stopped job stays in the table; a finished one is removed.
    pub fn wait_foreground(&mut self, index: usize) -> i32 {
        self.jobs[index].wait();
        self.reclaim_terminal();
        let job = &self.jobs[index];
        match job.state() {
            JobState::Stopped => {
                let sig = signal::SIGTSTP;
                eprintln!("\n[{}]+  {:<24}{}", job.id, "Stopped", Bytes(&job.text));
                128 + sig
            }
            _ => {
                let job = self.jobs.remove(index);
                let st = job.status();
                report_foreground(st);
                st.shell_status()
            }
        }
    }

    /// Finds a job from `%n`, `%%`, `%+`, `n`, or (None) the most recent one.
    pub fn find_job(&self, spec: Option<&[u8]>) -> Option<usize> {
        match spec {
            None | Some(b"%%") | Some(b"%+") | Some(b"%") => {
                self.jobs.iter().enumerate().max_by_key(|(_, j)| j.id).map(|(i, _)| i)
            }
            Some(s) => {
                let digits = s.strip_prefix(b"%").unwrap_or(s);
                let id = uparse::num::parse_u64(digits)? as usize;
                self.jobs.iter().position(|j| j.id == id)
            }
        }
    }
}
