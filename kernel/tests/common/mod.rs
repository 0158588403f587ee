//! A QEMU `raspi4b` session for system tests: boots `build/kernel8.img`, talks
//! to the serial console through QEMU's stdio, and waits for output with
//! deadlines. QEMU is killed when the session is dropped, so a hung kernel
//! fails its test after the deadline instead of hanging the run.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The kernel debug monitor's prompt (kernel/src/shell/mod.rs).
pub const PROMPT: &str = "rpi4> ";
/// The user shell's prompt (userland/programs/src/bin/sh).
pub const USER_PROMPT: &str = "$ ";
/// How BusyBox ash's prompt ends (`\w # ` as root), the console shell of an
/// image with BusyBox (`make BUSYBOX=1`, the default).
pub const ASH_PROMPT: &str = " # ";
/// The key chord that hands the console to the debug monitor (Ctrl-]).
pub const MONITOR_CHORD: u8 = 0x1d;
/// Time allowed from QEMU start to the first prompt. Generous: tests run in
/// parallel on a small machine, and a wrong kernel fails on content, not time.
pub const BOOT_DEADLINE: Duration = Duration::from_secs(30);
/// Time allowed for one command's answer.
pub const COMMAND_DEADLINE: Duration = Duration::from_secs(15);

#[derive(Default)]
struct Output {
    bytes: Vec<u8>,
    closed: bool,
}

/// A running kernel under QEMU.
pub struct Qemu {
    child: Child,
    stdin: ChildStdin,
    output: Arc<(Mutex<Output>, Condvar)>,
    /// Position in the output up to which expectations have been met.
    cursor: usize,
}

/// A build product: `$var` if set, else `build/<name>` in the repository;
/// `make_target` says how to make it when it is missing.
pub fn build_file(var: &str, name: &str, make_target: &str) -> PathBuf {
    let path = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../build").join(name));
    assert!(path.exists(), "{} does not exist: run `make {make_target}` (or `make test`)", path.display());
    path
}

/// The Raspberry Pi 4 device tree from `make firmware`.
pub fn dtb() -> String {
    let dir = build_file("FIRMWARE_DIR", "firmware", "firmware");
    let path = dir.join("bcm2711-rpi-4-b.dtb");
    assert!(path.exists(), "{} missing: run `make firmware`", path.display());
    path.display().to_string()
}

/// The raw kernel image, `build/kernel8.img` (or `$KERNEL_IMAGE`).
pub fn image() -> PathBuf {
    build_file("KERNEL_IMAGE", "kernel8.img", "")
}

/// The same kernel without an initramfs, `build/kernel8-min.img` (or
/// `$MIN_KERNEL_IMAGE`): small enough to send through an emulated UART.
/// With no init program it falls back to the debug monitor.
pub fn min_image() -> PathBuf {
    build_file("MIN_KERNEL_IMAGE", "kernel8-min.img", "build/kernel8-min.img")
}

/// The kernel ELF beside the image.
pub fn elf() -> PathBuf {
    let path = image().with_extension("elf");
    assert!(path.exists(), "{} does not exist: build it with `make`", path.display());
    path
}

impl Qemu {
    /// Boots the raw kernel image with `extra` QEMU arguments.
    pub fn boot_with(extra: &[&str]) -> Qemu {
        Qemu::boot_kernel(&image(), extra)
    }

    /// Boots `kernel` (raw image or ELF) with `extra` QEMU arguments.
    pub fn boot_kernel(kernel: &std::path::Path, extra: &[&str]) -> Qemu {
        let qemu = std::env::var("QEMU").unwrap_or_else(|_| "qemu-system-aarch64".into());
        let mut child = Command::new(&qemu)
            .args(["-M", "raspi4b", "-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot"])
            .arg("-kernel")
            .arg(kernel)
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {qemu}: {e} (run `make setup`)"));
        let stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let output = Arc::new((Mutex::new(Output::default()), Condvar::new()));
        let sink = output.clone();
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                let n = stdout.read(&mut buf).unwrap_or(0);
                let (lock, cond) = &*sink;
                let mut out = lock.lock().unwrap();
                if n == 0 {
                    out.closed = true;
                    cond.notify_all();
                    return;
                }
                out.bytes.extend_from_slice(&buf[..n]);
                cond.notify_all();
            }
        });
        Qemu { child, stdin, output, cursor: 0 }
    }

    /// Boots the kernel with `kshell` on its command line (no user space:
    /// the debug monitor owns the console, as in the kernel-only tests) and
    /// waits for the monitor's prompt. The command line needs a device tree:
    /// the board's, from `make firmware`.
    pub fn boot() -> Qemu {
        let dtb = dtb();
        let mut q = Qemu::boot_with(&["-dtb", &dtb, "-append", "kshell"]);
        q.expect_within(PROMPT, BOOT_DEADLINE);
        q
    }

    /// Boots the kernel as a board does, without a device tree: init and
    /// the console shell start; waits for the project's shell's prompt
    /// ([`Qemu::expect_user_shell`]).
    pub fn boot_user() -> Qemu {
        let mut q = Qemu::boot_with(&[]);
        q.expect_user_shell(BOOT_DEADLINE);
        q
    }

    /// Waits for the console shell's first prompt; when that is BusyBox
    /// ash's, replaces ash with the project's own shell (`exec /bin/sh`),
    /// whose prompt and behaviour these tests know, and waits for its prompt.
    pub fn expect_user_shell(&mut self, deadline: Duration) {
        if self.expect_any_within(&[USER_PROMPT, ASH_PROMPT], deadline) == 1 {
            self.send(b"exec /bin/sh\r");
            self.expect_within(USER_PROMPT, deadline);
        }
    }

    /// Waits until one of `needles` appears after the cursor; returns its
    /// index (the earliest match wins) and moves the cursor past it.
    pub fn expect_any_within(&mut self, needles: &[&str], deadline: Duration) -> usize {
        let end = Instant::now() + deadline;
        let (lock, cond) = &*self.output;
        let mut out = lock.lock().unwrap();
        loop {
            let hay = &out.bytes[self.cursor..];
            let first = needles
                .iter()
                .enumerate()
                .filter_map(|(i, n)| hay.windows(n.len()).position(|w| w == n.as_bytes()).map(|p| (p + n.len(), i)))
                .min();
            if let Some((end_at, i)) = first {
                self.cursor += end_at;
                return i;
            }
            let now = Instant::now();
            if out.closed || now >= end {
                let transcript = String::from_utf8_lossy(&out.bytes).into_owned();
                drop(out);
                panic!("none of {needles:?} came; transcript:\n{transcript}");
            }
            out = cond.wait_timeout(out, end - now).unwrap().0;
        }
    }

    /// Boots into user space and hands the console to the debug monitor with
    /// its key chord.
    pub fn boot_monitor_by_chord() -> Qemu {
        let mut q = Qemu::boot_user();
        q.send(&[MONITOR_CHORD]);
        q.expect_within(PROMPT, COMMAND_DEADLINE);
        q
    }

    /// Everything the kernel printed so far.
    pub fn transcript(&self) -> String {
        String::from_utf8_lossy(&self.output.0.lock().unwrap().bytes).into_owned()
    }

    /// Waits until `needle` appears after the cursor; returns the text from the
    /// cursor to the end of the match and moves the cursor past it. Panics with
    /// the transcript when the deadline passes or QEMU's output ends first.
    pub fn expect_within(&mut self, needle: &str, deadline: Duration) -> String {
        let end = Instant::now() + deadline;
        let (lock, cond) = &*self.output;
        let mut out = lock.lock().unwrap();
        loop {
            let hay = &out.bytes[self.cursor..];
            if let Some(pos) = hay.windows(needle.len()).position(|w| w == needle.as_bytes()) {
                let text = String::from_utf8_lossy(&hay[..pos + needle.len()]).into_owned();
                self.cursor += pos + needle.len();
                return text;
            }
            let now = Instant::now();
            if out.closed || now >= end {
                let why = if out.closed { "QEMU's output ended" } else { "deadline passed" };
                let transcript = String::from_utf8_lossy(&out.bytes).into_owned();
                drop(out);
                panic!("{why} waiting for {needle:?}; transcript:\n{transcript}");
            }
            out = cond.wait_timeout(out, end - now).unwrap().0;
        }
    }

    /// [`expect_within`](Self::expect_within) with the command deadline.
    pub fn expect(&mut self, needle: &str) -> String {
        self.expect_within(needle, COMMAND_DEADLINE)
    }

    /// Sends raw bytes to the console in one write.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stdin.write_all(bytes).expect("QEMU's stdin closed");
        self.stdin.flush().unwrap();
    }

    /// Runs a shell command and returns what it printed (without the echoed
    /// command line and the next prompt).
    pub fn command(&mut self, line: &str) -> String {
        self.send(format!("{line}\r").as_bytes());
        self.expect(&format!("{line}\r\n"));
        let out = self.expect(PROMPT);
        out[..out.len() - PROMPT.len()].replace("\r\n", "\n")
    }

    /// Waits for QEMU to exit and returns its status; kills it and panics after `deadline`.
    pub fn wait_exit(&mut self, deadline: Duration) -> ExitStatus {
        let end = Instant::now() + deadline;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() >= end {
                let _ = self.child.kill();
                panic!("QEMU still running after {deadline:?}; transcript:\n{}", self.transcript());
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One row of the `cpus` table.
#[derive(Debug)]
pub struct CpuRow {
    pub core: usize,
    pub online: bool,
    pub el: u8,
    pub ticks: u64,
    pub irqs: u64,
}

/// Parses the `cpus` command's table.
pub fn parse_cpus(out: &str) -> Vec<CpuRow> {
    out.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let core = f.first()?.parse().ok()?;
            Some(CpuRow {
                core,
                online: f.get(1)? == &"online",
                el: f.get(2)?.parse().ok()?,
                ticks: f.get(3)?.parse().ok()?,
                irqs: f.get(4)?.parse().ok()?,
            })
        })
        .collect()
}

/// The number after `key` in a `key: value ...` line.
pub fn field(out: &str, key: &str) -> u64 {
    out.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no numeric {key:?} in:\n{out}"))
}
