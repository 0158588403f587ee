//! `rust-command`: a Rust std program exercising what real programs use.
//!
//! It runs `/tests/hello` (or the program named by the first argument) with
//! `std::process::Command`, capturing its standard output; runs a program
//! that does not exist and reports the error kind; spawns and joins a
//! `std::thread` that shares an `Arc<Mutex<_>>` counter with the main thread.
//! The output is deterministic: no PIDs, addresses or timings. The last line
//! is `PASS`, or `FAIL: <first failed check>` with exit status 1.

use std::io::ErrorKind;
use std::process::{Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;

/// Collects check results and prints one line per check.
#[derive(Default)]
struct Checks {
    first_failure: Option<String>,
}

impl Checks {
    fn check(&mut self, ok: bool, label: &str) {
        println!("{label}: {}", if ok { "yes" } else { "no" });
        if !ok && self.first_failure.is_none() {
            self.first_failure = Some(label.to_string());
        }
    }

    fn finish(self) -> ExitCode {
        match self.first_failure {
            None => {
                println!("PASS");
                ExitCode::SUCCESS
            }
            Some(label) => {
                println!("FAIL: {label}");
                ExitCode::FAILURE
            }
        }
    }
}

/// Runs `program` with its output captured and reports what came back.
fn run_program(checks: &mut Checks, program: &str) {
    match Command::new(program).stdin(Stdio::null()).output() {
        Ok(output) => {
            let stdout = String::from_utf8_lossy(&output.stdout);
            println!("child stdout: {}", stdout.trim_end());
            match output.status.code() {
                Some(code) => println!("child exit status: {code}"),
                None => println!("child exit status: none (killed by a signal)"),
            }
            checks.check(output.status.success(), "child succeeded");
            checks.check(stdout == "hello, world\n", "captured stdout is hello, world");
            checks.check(output.stderr.is_empty(), "captured stderr is empty");
        }
        Err(error) => {
            println!("spawn failed: {:?}", error.kind());
            checks.check(false, "child succeeded");
        }
    }
}

/// A program that does not exist must fail to spawn with `NotFound`.
fn run_missing_program(checks: &mut Checks) {
    let result = Command::new("/tests/does-not-exist").output();
    match &result {
        Ok(_) => println!("missing program: spawned"),
        Err(error) => println!("missing program: {:?}", error.kind()),
    }
    let not_found = matches!(&result, Err(e) if e.kind() == ErrorKind::NotFound);
    checks.check(not_found, "missing program reports NotFound");
}

/// A second thread and the main thread add to one counter under a mutex.
fn run_threads(checks: &mut Checks) {
    const ROUNDS: u64 = 10_000;
    let counter = Arc::new(Mutex::new(0u64));
    let shared = Arc::clone(&counter);
    let worker = thread::spawn(move || {
        for _ in 0..ROUNDS {
            *shared.lock().expect("counter lock") += 1;
        }
        thread::current().id()
    });
    for _ in 0..ROUNDS {
        *counter.lock().expect("counter lock") += 1;
    }
    let joined = worker.join();
    checks.check(joined.is_ok(), "thread joined");
    if let Ok(worker_id) = joined {
        checks.check(worker_id != thread::current().id(), "thread had its own id");
    }
    let total = *counter.lock().expect("counter lock");
    println!("counter: {total}");
    checks.check(total == 2 * ROUNDS, "counter is 20000");
    checks.check(Arc::strong_count(&counter) == 1, "thread's Arc dropped");
}

fn main() -> ExitCode {
    let program = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/tests/hello".to_string());
    let mut checks = Checks::default();
    run_program(&mut checks, &program);
    run_missing_program(&mut checks);
    run_threads(&mut checks);
    checks.finish()
}
