//! `init` (`/sbin/init`): PID 1. The kernel starts it with fds 0-2 on the console terminal. It
//! starts the console shell (BusyBox `ash` when the image has BusyBox, else the project's own
//! `/bin/sh`, see [`SHELLS`]) in a session of its own (with the console as controlling terminal
//! and the shell's group in the foreground), restarts the shell whenever it exits, and reaps every
//! child, its own and the orphans handed to it, until it is told to stop the machine.
//!
//! It is told as BusyBox's init is, so BusyBox's `halt`, `poweroff` and `reboot` applets (which
//! the console shell runs in preference to /sbin's programs) work: SIGUSR1 halts, SIGUSR2 powers
//! off, SIGTERM restarts. Init then asks every other process to end (SIGTERM), gives them a second,
//! kills what is left, and calls reboot(2), which writes the disks' caches back.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicI32, Ordering};
use rt::process::{self, Fork};
use rt::signal::{self, Disposition, SIGKILL, SIGTERM, SIGUSR1, SIGUSR2};
use rt::time::{self, Timespec, CLOCK_MONOTONIC};
use rt::{eprintln, Bytes, Errno};

/// The programs init may keep running on the console, with the name each is started under: the
/// first that exists is taken, looked up again at every restart. `/bin/ash` is a link to BusyBox
/// (scripts/install-busybox.sh); an image built with `BUSYBOX=0` has none, and the project's own
/// shell, `/bin/sh`, is the console shell. Either shell starts the other by name.
const SHELLS: [(&[u8], &[u8]); 2] = [(b"/bin/ash", b"ash"), (b"/bin/sh", b"sh")];
/// Variables added to the environment init got from the kernel, unless already set.
const DEFAULT_ENV: [&[u8]; 3] = [b"PATH=/bin:/sbin:/tests:/boot/bin", b"HOME=/", b"TERM=vt100"];
/// A shell that dies sooner than this after starting is restarted only after a pause, so that a
/// broken /bin/sh does not make init spin.
const MIN_UPTIME_SECS: i64 = 1;

rt::entry!(main);

/// The stop signal received (SIGUSR1, SIGUSR2 or SIGTERM), 0 until then.
static STOP: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_stop(sig: i32) {
    STOP.store(sig, Ordering::Relaxed);
}

/// Ends every other process and stops the machine as `sig` asks (BusyBox init's `halt_reboot_pwoff`).
fn stop_machine(sig: i32) -> ! {
    use process::reboot_cmd::{HALT, POWER_OFF, RESTART};
    let (cmd, what) = match sig {
        SIGUSR1 => (HALT, "halt"),
        SIGUSR2 => (POWER_OFF, "poweroff"),
        _ => (RESTART, "reboot"),
    };
    eprintln!("init: {}: stopping every process", what);
    let _ = process::kill(-1, SIGTERM);
    let _ = time::sleep(Timespec { sec: 1, nsec: 0 });
    let _ = process::kill(-1, SIGKILL);
    eprintln!("init: reboot(2) failed: {}", process::reboot(cmd));
    loop {
        let _ = time::sleep(Timespec { sec: 3600, nsec: 0 });
    }
}

fn environment(env: rt::Env) -> Vec<&'static [u8]> {
    let mut vars: Vec<&'static [u8]> = env.iter().collect();
    for default in DEFAULT_ENV {
        let name = &default[..=default.iter().position(|&b| b == b'=').unwrap_or(0)];
        if !vars.iter().any(|v| v.starts_with(name)) {
            vars.push(default);
        }
    }
    vars
}

/// Forks the shell; the child becomes a session leader owning the console.
fn spawn_shell(envp: &[&[u8]]) -> Result<i32, Errno> {
    match process::fork()? {
        Fork::Child => {
            let _ = process::setsid();
            // Take the console as controlling terminal of the new session, then put our group in
            // its foreground; either may be refused (the shell then runs without job control).
            let _ = rt::tty::set_controlling_tty(0);
            let _ = rt::tty::tcsetpgrp(0, process::getpid());
            let (path, name) =
                SHELLS.into_iter().find(|(path, _)| rt::fs::stat(path).is_ok()).unwrap_or(SHELLS[SHELLS.len() - 1]);
            let err = process::execve(path, &[name], envp);
            eprintln!("init: cannot run {}: {}", Bytes(path), err);
            process::exit(127)
        }
        Fork::Parent(pid) => Ok(pid),
    }
}

fn now() -> i64 {
    time::clock_gettime(CLOCK_MONOTONIC).map(|t| t.sec).unwrap_or(0)
}

fn main(_args: rt::Args, env: rt::Env) -> i32 {
    let envp = environment(env);
    for sig in [SIGUSR1, SIGUSR2, SIGTERM] {
        // Without SA_RESTART, so the signal ends init's wait4.
        if let Err(e) = signal::sigaction_flags(sig, Disposition::Handler(on_stop), 0, 0) {
            eprintln!("init: sigaction {}: {}", sig, e);
        }
    }
    let mut shell: Option<i32> = None;
    let mut started = 0;
    loop {
        match STOP.load(Ordering::Relaxed) {
            0 => {}
            sig => stop_machine(sig),
        }
        if shell.is_none() {
            match spawn_shell(&envp) {
                Ok(pid) => {
                    shell = Some(pid);
                    started = now();
                }
                Err(e) => {
                    eprintln!("init: fork: {}", e);
                    let _ = time::sleep(Timespec { sec: 1, nsec: 0 });
                    continue;
                }
            }
        }
        match process::wait4(-1, 0) {
            Ok(Some((pid, st))) if Some(pid) == shell => {
                shell = None;
                match st.term_signal() {
                    Some(sig) => eprintln!("init: shell terminated by signal {}, restarting", sig),
                    None => eprintln!("init: shell exited with status {}, restarting", st.shell_status()),
                }
                if now() - started < MIN_UPTIME_SECS {
                    let _ = time::sleep(Timespec { sec: MIN_UPTIME_SECS, nsec: 0 });
                }
            }
            // Any other child, typically an orphan reparented to us: reaped, nothing else to do.
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => {
                // ECHILD cannot happen while the shell lives; avoid a busy loop if it does.
                eprintln!("init: wait4: {}", e);
                shell = None;
                let _ = time::sleep(Timespec { sec: 1, nsec: 0 });
            }
        }
    }
}
