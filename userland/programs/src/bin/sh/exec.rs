//! Running parsed lines: and-or lists, pipelines (one process group per job, the terminal handed to
//! foreground jobs), redirections, the `PATH` search and `execve`.

use crate::builtins;
use crate::state::{Shell, DEFAULT_PATH, JOB_CONTROL_SIGNALS};
use alloc::vec::Vec;
use rt::fs::{self, O_APPEND, O_CLOEXEC, O_CREAT, O_RDONLY, O_TRUNC, O_WRONLY};
use rt::io::{self, F_DUPFD_CLOEXEC};
use rt::process::{self, Fork};
use rt::signal::{self, Disposition};
use rt::{eprintln, Bytes, Errno};
use uparse::shell::{self, AndOr, Command, Connector, Pipeline, RedirOp};

/// A command with its words expanded.
struct Expanded {
    argv: Vec<Vec<u8>>,
    assigns: Vec<(Vec<u8>, Vec<u8>)>,
}

fn expand(sh: &Shell, cmd: &Command) -> Expanded {
    let mut argv: Vec<Vec<u8>> = cmd.words.iter().map(|w| w.expand(sh)).collect();
    // `kill %N`: the external kill knows nothing of jobs, so the job becomes its process group
    // (with job control) or its PIDs (without, when the job has no group of its own). A `--` goes
    // before the first one so that `-PGID` is not read as a signal.
    if argv.first().is_some_and(|a| a == b"kill") && argv.iter().any(|a| a.starts_with(b"%")) {
        let mut out: Vec<Vec<u8>> = Vec::new();
        let mut dashes = false;
        for arg in argv.drain(..) {
            let job = if arg.starts_with(b"%") { sh.find_job(Some(&arg)) } else { None };
            let Some(i) = job else {
                dashes |= arg == b"--";
                out.push(arg);
                continue;
            };
            if !dashes {
                out.push(b"--".to_vec());
                dashes = true;
            }
            if sh.job_control {
                out.push(alloc::format!("-{}", sh.jobs[i].pgid).into_bytes());
            } else {
                out.extend(sh.jobs[i].procs.iter().map(|p| alloc::format!("{}", p.pid).into_bytes()));
            }
        }
        argv = out;
    }
    Expanded { argv, assigns: cmd.assigns.iter().map(|(n, w)| (n.clone(), w.expand(sh))).collect() }
}

/// Applies `cmd`'s redirections in order. On failure prints `sh: FILE: error` and returns Err.
fn apply_redirections(sh: &Shell, cmd: &Command) -> Result<(), ()> {
    for r in &cmd.redirs {
        let (path, flags) = match &r.op {
            RedirOp::Read(w) => (w.expand(sh), O_RDONLY),
            RedirOp::Write(w) => (w.expand(sh), O_WRONLY | O_CREAT | O_TRUNC),
            RedirOp::Append(w) => (w.expand(sh), O_WRONLY | O_CREAT | O_APPEND),
            RedirOp::Dup(from) => {
                if let Err(e) = io::dup2(*from, r.fd) {
                    eprintln!("sh: {}: {}", from, e);
                    return Err(());
                }
                continue;
            }
            RedirOp::Close => {
                let _ = io::close(r.fd);
                continue;
            }
        };
        let fd = match fs::open(&path, flags | O_CLOEXEC, 0o666) {
            Ok(fd) => fd,
            Err(e) => {
                eprintln!("sh: {}: {}", Bytes(&path), e);
                return Err(());
            }
        };
        if fd != r.fd {
            let moved = io::dup2(fd, r.fd);
            let _ = io::close(fd);
            if let Err(e) = moved {
                eprintln!("sh: {}: {}", r.fd, e);
                return Err(());
            }
        } else {
            // Opened right onto the target descriptor: it must survive exec.
            let _ = io::fcntl(fd, io::F_SETFD, 0);
        }
    }
    Ok(())
}

/// Descriptors a builtin's redirections replaced, to put back afterwards.
struct SavedFds(Vec<(i32, Option<i32>)>);

impl SavedFds {
    fn save(cmd: &Command) -> SavedFds {
        let mut saved: Vec<(i32, Option<i32>)> = Vec::new();
        for r in &cmd.redirs {
            if saved.iter().all(|(fd, _)| *fd != r.fd) {
                saved.push((r.fd, io::fcntl(r.fd, F_DUPFD_CLOEXEC, 10).ok().map(|v| v as i32)));
            }
        }
        SavedFds(saved)
    }

    fn restore(self) {
        for (fd, copy) in self.0.into_iter().rev() {
            match copy {
                Some(c) => {
                    let _ = io::dup2(c, fd);
                    let _ = io::close(c);
                }
                None => {
                    let _ = io::close(fd);
                }
            }
        }
    }
}

/// Searches `PATH` (default [`DEFAULT_PATH`]) and execs `argv`; returns only with the exit status
/// to use: 127 for "not found", 126 for a file that cannot be executed.
fn exec_command(sh: &Shell, e: &Expanded) -> i32 {
    let name = &e.argv[0];
    let env = sh.environment(&e.assigns);
    let envp: Vec<&[u8]> = env.iter().map(|v| v.as_slice()).collect();
    let argv: Vec<&[u8]> = e.argv.iter().map(|v| v.as_slice()).collect();
    if name.contains(&b'/') {
        let err = process::execve(name, &argv, &envp);
        eprintln!("sh: {}: {}", Bytes(name), err);
        return if err == Errno::ENOENT { 127 } else { 126 };
    }
    let path = e.assigns.iter().find(|(n, _)| n == b"PATH").map(|(_, v)| v.as_slice());
    let path = path.or_else(|| sh.var(b"PATH")).unwrap_or(DEFAULT_PATH).to_vec();
    let mut first_error: Option<Errno> = None;
    for dir in path.split(|&b| b == b':') {
        let dir: &[u8] = if dir.is_empty() { b"." } else { dir };
        let mut full = dir.to_vec();
        full.push(b'/');
        full.extend_from_slice(name);
        let err = process::execve(&full, &argv, &envp);
        match err {
            Errno::ENOENT | Errno::ENOTDIR => {}
            _ => {
                if first_error.is_none() {
                    first_error = Some(err);
                }
            }
        }
    }
    match first_error {
        Some(err) => {
            eprintln!("sh: {}: {}", Bytes(name), err);
            126
        }
        None => {
            eprintln!("sh: {}: not found", Bytes(name));
            127
        }
    }
}

/// Puts the job-control signals back to their default action (ignored dispositions survive execve).
fn default_signals() {
    for sig in JOB_CONTROL_SIGNALS {
        let _ = signal::sigaction(sig, Disposition::Default, 0);
    }
    let _ = signal::sigprocmask(signal::SIG_SETMASK, 0);
}

impl Shell {
    /// Parses and runs one input line.
    pub fn run_line(&mut self, line: &[u8]) {
        match shell::parse(line) {
            Ok(lists) => {
                for list in &lists {
                    self.run_and_or(list);
                    if self.exit_requested.is_some() {
                        return;
                    }
                }
            }
            Err(e) => {
                eprintln!("sh: {}", e);
                self.status = 2;
            }
        }
    }

    fn run_and_or(&mut self, list: &AndOr) {
        if list.background {
            if list.rest.is_empty() {
                self.status = self.run_pipeline(&list.first, true, &list.text);
            } else {
                self.run_subshell_background(list);
            }
            return;
        }
        self.status = self.run_pipeline(&list.first, false, &list.text);
        for (conn, p) in &list.rest {
            if self.exit_requested.is_some() {
                return;
            }
            let go = match conn {
                Connector::And => self.status == 0,
                Connector::Or => self.status != 0,
            };
            if go {
                self.status = self.run_pipeline(p, false, &list.text);
            }
        }
    }

    /// `a && b &`: runs the whole list in a child shell, as one background job.
    fn run_subshell_background(&mut self, list: &AndOr) {
        match process::fork() {
            Ok(Fork::Child) => {
                if self.job_control {
                    let _ = process::setpgid(0, 0);
                    default_signals();
                }
                self.job_control = false;
                self.interactive = false;
                self.jobs.clear();
                let mut fg = list.clone();
                fg.background = false;
                self.run_and_or(&fg);
                process::exit(self.status)
            }
            Ok(Fork::Parent(pid)) => {
                if self.job_control {
                    let _ = process::setpgid(pid, pid);
                }
                self.announce_background(pid, &[pid], &list.text);
            }
            Err(e) => {
                eprintln!("sh: fork: {}", e);
                self.status = 1;
            }
        }
    }

    fn announce_background(&mut self, pgid: i32, pids: &[i32], text: &[u8]) {
        let index = self.add_job(pgid, pids, text);
        let last = *pids.last().unwrap_or(&pgid);
        eprintln!("[{}] {}", self.jobs[index].id, last);
        self.last_background = Some(last);
        self.status = 0;
    }

    /// Runs a pipeline; returns `$?`.
    fn run_pipeline(&mut self, p: &Pipeline, background: bool, text: &[u8]) -> i32 {
        // A lone builtin (or assignment) in the foreground runs inside the shell.
        if p.commands.len() == 1 && !background {
            let cmd = &p.commands[0];
            let e = expand(self, cmd);
            if e.argv.is_empty() {
                let saved = SavedFds::save(cmd);
                let ok = apply_redirections(self, cmd).is_ok();
                saved.restore();
                if !ok {
                    return 1;
                }
                for (n, v) in &e.assigns {
                    self.set_var(n, v);
                }
                return 0;
            }
            if builtins::is_builtin(&e.argv[0]) {
                let saved = SavedFds::save(cmd);
                let status = match apply_redirections(self, cmd) {
                    Ok(()) => builtins::run(self, &e.argv),
                    Err(()) => 1,
                };
                saved.restore();
                return status;
            }
        }
        let mut pids: Vec<i32> = Vec::new();
        let mut pgid = 0;
        let mut stdin_fd: Option<i32> = None;
        let n = p.commands.len();
        for (i, cmd) in p.commands.iter().enumerate() {
            let pipe = if i + 1 < n {
                match io::pipe2(O_CLOEXEC) {
                    Ok(fds) => Some(fds),
                    Err(e) => {
                        eprintln!("sh: pipe: {}", e);
                        break;
                    }
                }
            } else {
                None
            };
            match process::fork() {
                Ok(Fork::Child) => {
                    self.child(cmd, pgid, background, stdin_fd, pipe.map(|(_, w)| w));
                }
                Ok(Fork::Parent(pid)) => {
                    if pgid == 0 {
                        pgid = pid;
                    }
                    if self.job_control {
                        // Also done by the child: whichever runs first wins the race harmlessly.
                        let _ = process::setpgid(pid, pgid);
                    }
                    pids.push(pid);
                }
                Err(e) => eprintln!("sh: fork: {}", e),
            }
            if let Some(fd) = stdin_fd.take() {
                let _ = io::close(fd);
            }
            if let Some((r, w)) = pipe {
                let _ = io::close(w);
                stdin_fd = Some(r);
            }
        }
        if let Some(fd) = stdin_fd {
            let _ = io::close(fd);
        }
        if pids.is_empty() {
            return 1;
        }
        if background {
            self.announce_background(pgid, &pids, text);
            return 0;
        }
        if self.job_control {
            let _ = rt::tty::tcsetpgrp(0, pgid);
        }
        let index = self.add_job(pgid, &pids, text);
        self.wait_foreground(index)
    }

    /// In a freshly forked child: join the job's process group, take the terminal if in the
    /// foreground, restore signals, connect the pipes, redirect, then run the builtin or exec.
    fn child(&mut self, cmd: &Command, pgid: i32, background: bool, stdin: Option<i32>, stdout: Option<i32>) -> ! {
        if self.job_control {
            let _ = process::setpgid(0, pgid);
            if !background {
                let group = if pgid == 0 { process::getpid() } else { pgid };
                let _ = rt::tty::tcsetpgrp(0, group);
            }
        }
        if self.interactive {
            default_signals();
        }
        if background && !self.job_control {
            // Without job control a background job must not die of the terminal's Ctrl-C.
            let _ = signal::sigaction(signal::SIGINT, Disposition::Ignore, 0);
            let _ = signal::sigaction(signal::SIGQUIT, Disposition::Ignore, 0);
            if stdin.is_none() {
                if let Ok(fd) = fs::open(b"/dev/null", O_RDONLY, 0) {
                    let _ = io::dup2(fd, 0);
                    let _ = io::close(fd);
                }
            }
        }
        if let Some(fd) = stdin {
            let _ = io::dup2(fd, 0);
        }
        if let Some(fd) = stdout {
            let _ = io::dup2(fd, 1);
        }
        if apply_redirections(self, cmd).is_err() {
            process::exit(1);
        }
        let e = expand(self, cmd);
        if e.argv.is_empty() {
            process::exit(0);
        }
        self.job_control = false;
        self.interactive = false;
        if builtins::is_builtin(&e.argv[0]) {
            let status = builtins::run(self, &e.argv);
            process::exit(status);
        }
        process::exit(exec_command(self, &e))
    }
}
