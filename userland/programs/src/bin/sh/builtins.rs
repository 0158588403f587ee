//! Commands the shell runs itself: cd, pwd, exit, jobs, fg, bg, wait, export, unset, help.

use crate::jobs::JobState;
use crate::state::Shell;
use alloc::vec::Vec;
use rt::process::{self, WUNTRACED};
use rt::{eprintln, println, Bytes, Errno};
use uparse::signal;

const NAMES: [&[u8]; 10] = [b"cd", b"pwd", b"exit", b"jobs", b"fg", b"bg", b"wait", b"export", b"unset", b"help"];

const HELP: &str = "\
builtins:
  cd [DIR]        change directory (default $HOME, else /)
  pwd             print the working directory
  exit [N]        leave the shell with status N (default: $?)
  jobs            list background and stopped jobs
  fg [%N]         continue job N (default: the latest) in the foreground
  bg [%N]         continue a stopped job in the background
  wait [%N|PID]   wait for background jobs (all by default)
  export N[=V]..  set (all variables are exported)
  unset N...      remove variables
  help            this text
syntax: a | b, a && b, a || b, a; b, a &, < f, > f, >> f, 2>&1, N=V cmd, '...', \"...\", $V, ${V}, $?, $$, $!, ~
commands are searched in $PATH (default /bin:/sbin:/tests:/boot/bin)";

pub fn is_builtin(name: &[u8]) -> bool {
    NAMES.contains(&name)
}

/// Runs builtin `argv[0]`; returns its status.
pub fn run(sh: &mut Shell, argv: &[Vec<u8>]) -> i32 {
    let args: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
    match args[0] {
        b"cd" => cd(sh, &args[1..]),
        b"pwd" => match rt::fs::getcwd() {
            Ok(cwd) => {
                println!("{}", Bytes(&cwd));
                0
            }
            Err(e) => {
                eprintln!("sh: pwd: {}", e);
                1
            }
        },
        b"exit" => exit(sh, &args[1..]),
        b"jobs" => jobs(sh),
        b"fg" => fg(sh, args.get(1).copied()),
        b"bg" => bg(sh, args.get(1).copied()),
        b"wait" => wait(sh, &args[1..]),
        b"export" => {
            for a in &args[1..] {
                if let Some(eq) = a.iter().position(|&b| b == b'=') {
                    sh.set_var(&a[..eq], &a[eq + 1..]);
                } else if sh.var(a).is_none() {
                    sh.set_var(a, b"");
                }
            }
            0
        }
        b"unset" => {
            for a in &args[1..] {
                sh.unset_var(a);
            }
            0
        }
        _ => {
            println!("{}", HELP);
            0
        }
    }
}

fn cd(sh: &mut Shell, args: &[&[u8]]) -> i32 {
    let target: Vec<u8> = match args {
        [] => sh.var(b"HOME").filter(|h| !h.is_empty()).unwrap_or(b"/").to_vec(),
        [dir] => dir.to_vec(),
        _ => {
            eprintln!("sh: cd: too many arguments");
            return 1;
        }
    };
    match rt::fs::chdir(&target) {
        Ok(()) => {
            if let Ok(cwd) = rt::fs::getcwd() {
                sh.set_var(b"PWD", &cwd);
            }
            0
        }
        Err(e) => {
            eprintln!("sh: cd: {}: {}", Bytes(&target), e);
            1
        }
    }
}

fn exit(sh: &mut Shell, args: &[&[u8]]) -> i32 {
    let code = match args {
        [] => sh.status,
        [n] => match uparse::num::parse_i32(n) {
            Some(v) => v & 0xff,
            None => {
                eprintln!("sh: exit: {}: numeric argument required", Bytes(n));
                2
            }
        },
        _ => {
            eprintln!("sh: exit: too many arguments");
            return 1;
        }
    };
    sh.exit_requested = Some(code);
    code
}

fn jobs(sh: &mut Shell) -> i32 {
    sh.reap();
    let newest = sh.jobs.iter().map(|j| j.id).max();
    let mut i = 0;
    while i < sh.jobs.len() {
        let job = &sh.jobs[i];
        let mark = if Some(job.id) == newest { '+' } else { '-' };
        println!("[{}]{}  {:<24}{}", job.id, mark, job.state_text(), Bytes(&job.text));
        if job.state() == JobState::Done {
            let job = sh.jobs.remove(i);
            sh.remember(&job);
        } else {
            i += 1;
        }
    }
    0
}

fn job_or_complain(sh: &Shell, name: &str, spec: Option<&[u8]>) -> Option<usize> {
    let found = sh.find_job(spec);
    if found.is_none() {
        match spec {
            Some(s) => eprintln!("sh: {}: {}: no such job", name, Bytes(s)),
            None => eprintln!("sh: {}: no current job", name),
        }
    }
    found
}

fn fg(sh: &mut Shell, spec: Option<&[u8]>) -> i32 {
    if !sh.job_control {
        eprintln!("sh: fg: no job control");
        return 1;
    }
    let Some(index) = job_or_complain(sh, "fg", spec) else { return 1 };
    let pgid = sh.jobs[index].pgid;
    println!("{}", Bytes(&sh.jobs[index].text));
    let _ = rt::tty::tcsetpgrp(0, pgid);
    for p in &mut sh.jobs[index].procs {
        p.stopped = false;
    }
    if let Err(e) = process::kill(-pgid, signal::SIGCONT) {
        eprintln!("sh: fg: {}", e);
    }
    sh.wait_foreground(index)
}

fn bg(sh: &mut Shell, spec: Option<&[u8]>) -> i32 {
    if !sh.job_control {
        eprintln!("sh: bg: no job control");
        return 1;
    }
    let Some(index) = job_or_complain(sh, "bg", spec) else { return 1 };
    let job = &mut sh.jobs[index];
    for p in &mut job.procs {
        p.stopped = false;
    }
    println!("[{}]+ {} &", job.id, Bytes(&job.text));
    match process::kill(-job.pgid, signal::SIGCONT) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("sh: bg: {}", e);
            1
        }
    }
}

fn wait(sh: &mut Shell, args: &[&[u8]]) -> i32 {
    if args.is_empty() {
        while let Some(job) = sh.jobs.iter_mut().find(|j| j.state() == JobState::Running) {
            job.wait();
        }
        sh.jobs.retain(|j| j.state() != JobState::Done);
        return 0;
    }
    let mut status = 0;
    for &a in args {
        let index = if a.starts_with(b"%") {
            sh.find_job(Some(a))
        } else {
            let Some(pid) = uparse::num::parse_i32(a) else {
                eprintln!("sh: wait: {}: not a pid or job", Bytes(a));
                status = 2;
                continue;
            };
            match sh.jobs.iter().position(|j| j.procs.iter().any(|p| p.pid == pid)) {
                Some(i) => Some(i),
                None if sh.finished.iter().any(|(p, _)| *p == pid) => {
                    let at = sh.finished.iter().rposition(|(p, _)| *p == pid).unwrap_or(0);
                    status = sh.finished.remove(at).1.shell_status();
                    continue;
                }
                None => {
                    // Not a job of ours: maybe still a child (e.g. from a subshell).
                    status = match process::wait4(pid, WUNTRACED) {
                        Ok(Some((_, st))) => st.shell_status(),
                        Err(Errno::ECHILD) | Err(_) | Ok(None) => 127,
                    };
                    continue;
                }
            }
        };
        let Some(index) = index else {
            eprintln!("sh: wait: {}: no such job", Bytes(a));
            status = 127;
            continue;
        };
        sh.jobs[index].wait();
        status = sh.jobs[index].status().shell_status();
        if sh.jobs[index].state() == JobState::Done {
            let job = sh.jobs.remove(index);
            sh.remember(&job);
        }
    }
    status
}
