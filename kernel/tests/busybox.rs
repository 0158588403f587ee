//! The differential BusyBox battery: the command lines and short scripts of
//! `kernel/tests/busybox/battery.sh` (text tools, shell constructs, files,
//! process tools, /proc readers), run by Debian's BusyBox on this kernel and
//! by the same binary under `qemu-aarch64` on the host, which gives Linux's
//! semantics; every case's output and exit status must be equal. The image
//! carries the battery as /tests/busybox-battery.sh (scripts/install-busybox.sh).
//!
//! Both runs get the same environment (`env -i`) and write to a file, not to
//! a terminal. Cases whose name ends in `~` have their digits replaced by N
//! first (PIDs, times). BusyBox runs most applets by executing itself again
//! (`/proc/self/exe`), which qemu-user cannot do on a host without an
//! aarch64 binfmt_misc entry; ash then looks the name up in PATH, so on the
//! host PATH is a directory of scripts that start `qemu-aarch64 busybox
//! <applet>` (and nothing else, so no host program can stand in).
//!
//! Applets left out of the battery, and why:
//! - applets that run another program (`env CMD`, `nice`, `timeout`, `time`,
//!   `setsid`, `chroot`, `nohup` of a command by path, `/proc/self/exe` by
//!   path): under qemu-user their exec of BusyBox fails, with no PATH lookup
//!   to fall back on (kernel/tests/userspace.rs and the interactive test run
//!   them here); `dc`, `uuencode`: the same, also by path;
//! - `nice`, `cksum`: not in Debian's build;
//! - `nproc`, `taskset`, `hostname`, `uname -r`, `date`, `top`, `df`, `dmesg`,
//!   `ps`/`pidof` of other processes (the host's, under qemu-user), `uptime` figures: they describe the machine (CPU
//!   count, kernel version, processes, clock), which differs on purpose;
//! - `/proc/self/cmdline` of an applet: on the host it shows the wrapper's
//!   command line;
//! - a `#!` line without an interpreter: Linux's ENOEXEC makes ash run the
//!   script through `/proc/self/exe`, which qemu-user cannot exec
//!   (userland/tests-c/t_script.c checks the ENOEXEC here);
//! - `unshare` of namespaces: this kernel has none (EINVAL, as a Linux built
//!   without them), the host has (userspace.rs runs `t_unshare ns` here);
//! - `/proc/config.gz`: the host's kernel is another kernel; the file's
//!   contents are checked here against Linux's documented format
//!   ([`interactive_ash_job_control`]);
//! - `ip`, `ifconfig`, `ping`, `nc`, `logger`, `syslogd`: sockets and
//!   networking (AF_UNIX is another change; there is no network stack);
//! - `mount`/`umount`, `mknod`, `losetup`, `fdisk`, `hwclock`, `i2c*`,
//!   `devmem`, `insmod` and the like: they need privileges or hardware the
//!   qemu-user reference does not give the same way;
//! - `vi`, `less`, `more`, `top` interactively: terminal programs
//!   ([`interactive_ash_job_control`] covers the terminal).

mod common;

use common::{Qemu, ASH_PROMPT, BOOT_DEADLINE, COMMAND_DEADLINE, USER_PROMPT};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// `build/rootfs` (or `$ROOTFS`).
fn rootfs() -> PathBuf {
    common::build_file("ROOTFS", "rootfs", "userland")
}

/// Whether the image was built with BusyBox (not `BUSYBOX=0`).
fn have_busybox() -> bool {
    rootfs().join("bin/busybox").exists()
}

/// One case's result: its output and its exit status.
type Results = BTreeMap<String, (String, String)>;

/// Splits a battery run into cases (`@@@ name`, output, `@@@ rc=N`).
fn parse(out: &str) -> Results {
    let mut cases = BTreeMap::new();
    let mut name: Option<String> = None;
    let mut body = String::new();
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("@@@ ") {
            if let Some(rc) = rest.strip_prefix("rc=") {
                if let Some(n) = name.take() {
                    let text = if n.ends_with('~') { mask_digits(&body) } else { body.clone() };
                    cases.insert(n, (text, rc.to_string()));
                }
            } else {
                name = Some(rest.to_string());
                body.clear();
            }
        } else if name.is_some() {
            body.push_str(line);
            body.push('\n');
        }
    }
    cases
}

fn mask_digits(s: &str) -> String {
    let mut out = String::new();
    let mut in_number = false;
    for c in s.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                out.push('N');
            }
            in_number = true;
        } else {
            in_number = false;
            out.push(c);
        }
    }
    out
}

/// Whether `line` is a kernel log line (`[  12.345678] L coreN: ...`).
fn is_log_line(line: &str) -> bool {
    let Some(rest) = line.trim_start_matches('\r').strip_prefix('[') else { return false };
    let Some((stamp, _)) = rest.split_once("] ") else { return false };
    let stamp = stamp.trim_start();
    !stamp.is_empty() && stamp.chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// The environment of both runs but PATH.
const ENV: [&str; 3] = ["HOME=/", "TERM=linux", "LC_ALL=C"];
/// Where the image keeps the battery.
const BATTERY: &str = "/tests/busybox-battery.sh";

/// The host's qemu-aarch64, by absolute path (the run's PATH has no host programs).
fn qemu_user() -> String {
    let out = Command::new("sh").args(["-c", "command -v qemu-aarch64"]).output().unwrap();
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(!path.is_empty(), "qemu-aarch64 not found (make setup installs qemu-user)");
    path
}

/// A directory of one script per applet, each running that applet of
/// `busybox` under qemu-aarch64: the host's stand-in for BusyBox running
/// itself again.
fn applet_wrappers(qemu: &str, busybox: &std::path::Path, dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).unwrap();
    let list = Command::new(qemu).arg(busybox).arg("--list").output().unwrap();
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        let script = format!("#!/bin/sh\nexec {qemu} {} {applet} \"$@\"\n", busybox.display());
        let path = dir.join(applet);
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// The battery under qemu-aarch64: Linux's answers.
fn reference() -> Results {
    let root = rootfs();
    let qemu = qemu_user();
    let top = std::env::temp_dir().join(format!("rpi4-busybox-battery-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&top);
    let (work, wrappers) = (top.join("work"), top.join("bin"));
    let busybox = root.join("bin/busybox");
    applet_wrappers(&qemu, &busybox, &wrappers);
    let battery = root.join(BATTERY.trim_start_matches('/'));
    let out = Command::new("env")
        .arg("-i")
        .arg(format!("PATH={}", wrappers.display()))
        .args(ENV)
        .arg(&qemu)
        .arg(&busybox)
        .args(["sh", battery.to_str().unwrap(), work.to_str().unwrap()])
        .current_dir(std::env::temp_dir())
        .output()
        .expect("qemu-aarch64 (make setup installs qemu-user)");
    let _ = std::fs::remove_dir_all(&top);
    // Error messages name the script: by its place in the image, as here.
    parse(&String::from_utf8_lossy(&out.stdout).replace(battery.to_str().unwrap(), BATTERY))
}

/// The battery on this kernel.
fn ours() -> Results {
    let mut q = Qemu::boot_user();
    let line = format!(
        "/bin/busybox env -i PATH=/bin:/sbin {} /bin/busybox sh {BATTERY} /tmp/bb > /tmp/bb.out 2>&1",
        ENV.join(" ")
    );
    let line = format!("{line}; echo __ran=$?__");
    q.send(format!("{line}\r").as_bytes());
    q.expect(&format!("{line}\r\n"));
    q.expect_within("__ran=", Duration::from_secs(300));
    q.expect(USER_PROMPT);
    q.send(b"cat /tmp/bb.out; echo __END__\r");
    q.expect("__END__\r\n");
    let out = q.expect_within("__END__", Duration::from_secs(60));
    let text = out.replace("\r\n", "\n");
    let kept: String = text.split_inclusive('\n').filter(|l| !is_log_line(l)).collect();
    let cases = parse(&kept);
    assert!(!cases.is_empty(), "no case ran here; transcript:\n{}", q.transcript());
    cases
}

#[test]
fn busybox_battery_matches_linux() {
    if !have_busybox() {
        eprintln!("skipped: the image has no BusyBox (built with BUSYBOX=0)");
        return;
    }
    let linux = reference();
    assert!(linux.len() >= 150, "the battery has {} cases under qemu-aarch64", linux.len());
    let here = ours();
    let mut differ = Vec::new();
    for (name, (out, rc)) in &linux {
        match here.get(name) {
            None => differ.push(format!("{name}: missing here")),
            Some((o, r)) if o != out || r != rc => {
                differ.push(format!("{name}:\n--- linux (rc {rc})\n{out}--- here (rc {r})\n{o}"))
            }
            Some(_) => {}
        }
    }
    assert!(differ.is_empty(), "{} of {} cases differ:\n{}", differ.len(), linux.len(), differ.join("\n"));
}

/// BusyBox ash as the console shell, over the serial line (this kernel only:
/// qemu-user gives no terminal): line editing, history and Tab completion,
/// job control with the terminal's signals, a #! script, /proc/config.gz.
#[test]
fn interactive_ash_job_control() {
    if !have_busybox() {
        eprintln!("skipped: the image has no BusyBox (built with BUSYBOX=0)");
        return;
    }
    let mut q = Qemu::boot_with(&[]);
    q.expect_within("built-in shell (ash)", BOOT_DEADLINE);
    q.expect_within(ASH_PROMPT, BOOT_DEADLINE);
    // Line editing: the cursor moves left (ESC [ D) and a character goes in
    // before the last one; Enter runs the edited line.
    q.send(b"echo helo\x1b[Dl\r");
    q.expect("\r\nhello\r\n");
    q.expect(ASH_PROMPT);
    // History: Up (ESC [ A) brings the line back.
    q.send(b"\x1b[A");
    q.expect("echo hello");
    q.send(b"\r");
    q.expect("\r\nhello\r\n");
    q.expect(ASH_PROMPT);
    // Tab completes a unique prefix of a file name.
    q.send(b"head -c 18 /tests/hashb\t");
    q.expect("/tests/hashbang.sh ");
    q.send(b"\r");
    q.expect("#!/bin/busybox ash");
    q.expect(ASH_PROMPT);
    // A background read of the terminal stops the job with SIGTTIN.
    q.send(b"cat &\r");
    q.expect(ASH_PROMPT);
    q.send(b"sleep 1; jobs\r");
    q.expect("Stopped (tty input)");
    q.expect(ASH_PROMPT);
    // In the foreground it reads; Ctrl-C ends it.
    q.send(b"fg %1\r");
    q.expect("cat\r\n");
    q.send(b"typed-line\r");
    q.expect("typed-line\r\ntyped-line\r\n");
    q.send(b"\x03");
    q.expect(ASH_PROMPT);
    // Ctrl-Z stops a foreground job, bg continues it, kill ends it.
    q.send(b"sleep 30\r");
    q.expect("sleep 30\r\n");
    std::thread::sleep(Duration::from_millis(300));
    q.send(b"\x1a");
    q.expect("Stopped");
    q.expect(ASH_PROMPT);
    q.send(b"bg %1; jobs\r");
    q.expect("Running");
    q.expect(ASH_PROMPT);
    q.send(b"kill %1; wait\r");
    q.expect("Terminated");
    q.expect(ASH_PROMPT);
    // With tostop, a background write stops too (SIGTTOU).
    q.send(b"stty tostop; (echo late) & sleep 1; jobs; stty -tostop\r");
    q.expect("Stopped (tty output)");
    q.expect(ASH_PROMPT);
    // The window size is kept (TIOCSWINSZ).
    q.send(b"stty rows 40 cols 100; stty size\r");
    q.expect("40 100");
    q.expect_within(ASH_PROMPT, COMMAND_DEADLINE);
    // Applets run through /proc/self/exe: BusyBox starts, and names the
    // applet from argv[0] ("exe") as on Linux.
    q.send(b"sh -c '/proc/self/exe echo hi'; readlink /proc/self/exe\r");
    q.expect("exe: applet not found");
    q.expect("/bin/busybox");
    q.expect(ASH_PROMPT);
    // A script in the image runs through its #! line: the process is the
    // interpreter with its argument, the script and the arguments.
    q.send(b"/tests/hashbang.sh one two\r");
    q.expect("cmdline: /bin/busybox ash /tests/hashbang.sh one two \r\n");
    q.expect(ASH_PROMPT);
    // /proc/config.gz: gzip, in Linux's .config form, telling the truth.
    q.send(b"zcat /proc/config.gz | grep -E '^(CONFIG_SYSVIPC|CONFIG_UNIX|# CONFIG_NET_NS)[ =]'\r");
    q.expect("CONFIG_SYSVIPC=y\r\n");
    q.expect("# CONFIG_NET_NS is not set\r\n");
    q.expect("CONFIG_UNIX=y\r\n");
    q.expect(ASH_PROMPT);
    // The project's own shell is there by name.
    q.send(b"/bin/sh\r");
    q.expect(USER_PROMPT);
}

/// Boots BusyBox init as PID 1 (`init=/linuxrc`, a link to BusyBox) with the
/// image's /etc/inittab, and ends QEMU with BusyBox's `poweroff` or `reboot`
/// (signals to init, which runs the shutdown actions, kills everything and
/// calls reboot(2)).
fn boot_busybox_init() -> Qemu {
    let dtb = common::dtb();
    let mut q = Qemu::boot_with(&["-dtb", &dtb, "-append", "init=/linuxrc"]);
    q.expect_within("init: running /linuxrc", BOOT_DEADLINE);
    // sysinit: /etc/init.d/rcS.
    q.expect_within("rcS: Linux", BOOT_DEADLINE);
    // respawn: the console shell.
    q.expect_within(ASH_PROMPT, BOOT_DEADLINE);
    q
}

#[test]
fn busybox_init_runs_inittab_respawns_the_shell_and_powers_off() {
    if !have_busybox() {
        eprintln!("skipped: the image has no BusyBox (built with BUSYBOX=0)");
        return;
    }
    let mut q = boot_busybox_init();
    q.send(b"echo pid1=$(cat /proc/1/comm)\r");
    q.expect("pid1=linuxrc");
    q.expect(ASH_PROMPT);
    // The shell exits: init starts another.
    q.send(b"exit\r");
    q.expect("built-in shell (ash)");
    q.expect(ASH_PROMPT);
    // SIGHUP (re-read inittab) is one init blocks and waits for: it must
    // neither kill init nor be lost.
    q.send(b"kill -HUP 1; sleep 1; echo still-$(cat /proc/1/comm)\r");
    q.expect("still-linuxrc");
    q.expect(ASH_PROMPT);
    q.send(b"busybox poweroff\r");
    let status = q.wait_exit(Duration::from_secs(60));
    assert!(status.success(), "{status:?}\n{}", q.transcript());
}

#[test]
fn busybox_init_reboot_ends_qemu() {
    if !have_busybox() {
        eprintln!("skipped: the image has no BusyBox (built with BUSYBOX=0)");
        return;
    }
    let mut q = boot_busybox_init();
    q.send(b"busybox reboot\r");
    let status = q.wait_exit(Duration::from_secs(60));
    assert!(status.success(), "{status:?}\n{}", q.transcript());
}
