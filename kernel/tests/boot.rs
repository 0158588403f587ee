//! System tests of the boot foundation: QEMU raspi4b boots the real image and
//! the tests talk to the kernel console over the serial port.

mod common;

use common::{field, parse_cpus, Qemu};
use std::io::Write;
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::Duration;

#[test]
fn all_four_cores_come_online_at_el1() {
    let mut q = Qemu::boot();
    let boot_log = q.transcript();
    for core in 0..4 {
        // A raw image starts at EL2, as the Pi firmware starts it.
        let line = format!("core{core}: core {core} online at EL1 (entered at EL2)");
        assert!(boot_log.contains(&line), "{boot_log}");
    }
    assert!(boot_log.contains("4 cores online"), "{boot_log}");
    let rows = parse_cpus(&q.command("cpus"));
    assert_eq!(rows.len(), 4, "one row per core");
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.core, i);
        assert!(row.online, "core {i} offline: {row:?}");
        assert_eq!(row.el, 1, "core {i} runs the kernel at EL{}", row.el);
    }
}

#[test]
fn entry_at_el3_drops_to_el1_on_every_core() {
    // Given the ELF, QEMU starts all four cores at its entry at EL3 with no
    // firmware stub: boot.S parks cores 1-3 on the spin table itself.
    let mut q = Qemu::boot_kernel(&common::elf(), &[]);
    q.expect_user_shell(common::BOOT_DEADLINE);
    q.send(&[common::MONITOR_CHORD]);
    q.expect(common::PROMPT);
    let boot_log = q.transcript();
    for core in 0..4 {
        let line = format!("core{core}: core {core} online at EL1 (entered at EL3)");
        assert!(boot_log.contains(&line), "{boot_log}");
    }
    let rows = parse_cpus(&q.command("cpus"));
    assert!(rows.iter().all(|r| r.online && r.el == 1), "{rows:?}");
}

#[test]
fn timer_ticks_advance_on_every_core() {
    let mut q = Qemu::boot();
    let before = parse_cpus(&q.command("cpus"));
    sleep(Duration::from_millis(1500));
    let after = parse_cpus(&q.command("cpus"));
    assert_eq!(before.len(), 4);
    assert_eq!(after.len(), 4);
    for (b, a) in before.iter().zip(&after) {
        assert!(a.ticks > b.ticks, "core {} took no tick: {} -> {}", a.core, b.ticks, a.ticks);
        assert!(a.irqs >= a.ticks, "every tick is an interrupt on core {}", a.core);
    }
}

#[test]
fn memory_size_is_what_the_firmware_reports() {
    let mut q = Qemu::boot();
    // QEMU's raspi4b firmware mailbox reports ARM memory 0..0x3c000000 (960 MiB).
    let board = q.command("board");
    assert!(board.contains("ARM memory: 960 MiB at 0x0"), "{board}");
    assert!(board.contains("revision 0xb03115"), "{board}");
    let mem = q.command("meminfo");
    let total = field(&mem, "MemTotal:");
    assert_eq!(total, 960 * 1024, "MemTotal in kB");
    let free = field(&mem, "MemFree:");
    let used = field(&mem, "MemUsed:");
    assert_eq!(free + used, total);
    // The kernel image, its tables and the heap are in use; the rest is free.
    assert!(used > 0 && used < 64 * 1024, "used {used} kB");
    assert!(field(&mem, "HeapTotal:") >= 4096);
}

#[test]
fn shell_commands_answer() {
    let mut q = Qemu::boot();
    let help = q.command("help");
    for cmd in ["help", "uptime", "cpus", "meminfo", "log", "reboot", "poweroff", "panic", "fault", "overflow"] {
        assert!(help.lines().any(|l| l.trim_start().starts_with(cmd)), "help lacks {cmd}:\n{help}");
    }
    let up = q.command("uptime");
    assert!(up.starts_with("up 0:00:"), "{up}");
    assert_eq!(q.command("echo hello   world"), "hello world\n");
    assert_eq!(q.command("frobnicate"), "frobnicate: command not found (type 'help')\n");
    assert_eq!(q.command("log"), "log level: info\n");
    assert_eq!(q.command("log warn"), "log level: warn\n");
    assert_eq!(q.command("log"), "log level: warn\n");
    let bad = q.command("log loud");
    assert!(bad.contains("unknown level") && bad.contains("usage: log"), "{bad}");
    let extra = q.command("cpus now");
    assert!(extra.contains("takes no arguments"), "{extra}");
}

#[test]
fn line_editing_keys() {
    let mut q = Qemu::boot();
    // Backspace (DEL and BS) erase one character each.
    q.send(b"echx\x7fo ab\x08c\r");
    q.expect("ac\r\n");
    q.expect(common::PROMPT);
    // Ctrl-U kills the whole line.
    q.send(b"reboot\x15echo kept\r");
    q.expect("kept\r\n");
    q.expect(common::PROMPT);
    // Ctrl-C abandons the line and gives a new prompt.
    q.send(b"poweroff\x03");
    q.expect("^C\r\n");
    q.expect(common::PROMPT);
    assert_eq!(q.command("echo still here"), "still here\n");
}

#[test]
fn pasted_burst_of_200_characters_arrives_intact() {
    let mut q = Qemu::boot();
    let text: String = (0..200).map(|i| (b'!' + (i * 7 % 94) as u8) as char).filter(|c| *c != ' ').collect();
    let text = format!("{text}{}", "z".repeat(200 - text.len()));
    assert_eq!(text.len(), 200);
    // One write: QEMU feeds it to the UART as fast as the guest drains the FIFO.
    q.send(format!("echo {text}\r").as_bytes());
    q.expect(&format!("echo {text}\r\n"));
    let out = q.expect(common::PROMPT);
    assert_eq!(out, format!("{text}\r\n{}", common::PROMPT));
    let mem = q.command("meminfo");
    assert_eq!(field(&mem, "InputLost:"), 0);
}

/// The core number in the first "Kernel panic on core N" of `text`.
fn panicking_core(text: &str) -> usize {
    let at = text.find("Kernel panic on core ").unwrap_or_else(|| panic!("no panic line in:\n{text}"));
    let rest = &text[at + "Kernel panic on core ".len()..];
    rest[..rest.find(':').unwrap()].parse().unwrap()
}

#[test]
fn panic_prints_message_core_and_backtrace() {
    let mut q = Qemu::boot();
    q.send(b"panic the sky is falling\r");
    let head = q.expect(": the sky is falling");
    // The shell is a kernel thread: it may run on any core.
    let core = panicking_core(&head);
    let trace = q.expect("---[ end Kernel panic ]---");
    let others: Vec<String> = (0..4).filter(|&c| c != core).map(|c| c.to_string()).collect();
    let stopped = format!("Stopped cores: {}\r\n", others.join(" "));
    assert!(trace.contains(&stopped), "the other cores acknowledge the stop IPI:\n{trace}");
    assert!(trace.contains("Call trace:"), "{trace}");
    let frames = trace.lines().filter(|l| l.trim_start().starts_with("[<0xffff0000")).count();
    assert!(frames >= 3, "expected a multi-frame backtrace into the shell:\n{trace}");
    // Every core stops: the console answers no more.
    q.send(b"echo alive\r");
    sleep(Duration::from_millis(500));
    assert!(!q.transcript().contains("alive\r\n"), "the kernel kept running after a panic");
}

#[test]
fn panic_backtrace_symbolizes_to_the_calling_functions() {
    let mut q = Qemu::boot();
    q.send(b"panic symbolize me\r");
    let report = q.expect("---[ end Kernel panic ]---");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/symbolize.sh");
    let mut child = Command::new("bash")
        .arg(script)
        .arg(common::elf())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("bash runs scripts/symbolize.sh");
    child.stdin.take().unwrap().write_all(report.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    // The trace leads from the panic through the shell command back to the
    // start of the shell's kernel thread.
    for frame in [
        "<kernel::shell::commands::panic+",
        "<kernel::shell::commands::execute+",
        "<kernel::shell::run+",
        "<ret_from_kernel_thread+",
    ] {
        assert!(text.contains(frame), "missing {frame} in:\n{text}");
    }
}

#[test]
fn kernel_fault_prints_decoded_diagnostics() {
    let mut q = Qemu::boot();
    q.send(b"fault\r");
    let report = q.expect("---[ end Kernel panic ]---");
    for needle in [
        "Unhandled synchronous exception from EL1 on core ",
        "Data Abort from current EL (EC 0x25): translation fault, level 0, read",
        "FAR  0x0000000000000010",
        "ELR  0xffff0000",
        ": fatal exception in kernel mode",
        "Call trace:",
    ] {
        assert!(report.contains(needle), "missing {needle:?} in:\n{report}");
    }
}

#[test]
fn kernel_stack_overflow_is_caught_by_the_guard() {
    let mut q = Qemu::boot();
    q.send(b"overflow\r");
    let report = q.expect("---[ end Kernel panic ]---");
    for needle in [
        "Kernel stack overflow on core ",
        ": stack pointer 0xffff",
        ": kernel stack overflow",
        "Stopped cores: ",
        "Call trace:",
    ] {
        assert!(report.contains(needle), "missing {needle:?} in:\n{report}");
    }
    // The report names a stack pointer below the stack it gives.
    let line = report.lines().find(|l| l.starts_with("Kernel stack overflow")).unwrap();
    let hex: Vec<u64> = line
        .split(|c: char| !c.is_ascii_hexdigit() && c != 'x')
        .filter_map(|w| w.strip_prefix("0x"))
        .map(|h| u64::from_str_radix(h, 16).unwrap())
        .collect();
    assert_eq!(hex.len(), 3, "{line}");
    assert!(hex[0] < hex[1] && hex[1] < hex[2], "{line}");
}

#[test]
fn poweroff_ends_qemu_with_status_0() {
    let mut q = Qemu::boot();
    q.send(b"poweroff\r");
    q.expect("Power down");
    let status = q.wait_exit(Duration::from_secs(15));
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[test]
fn reboot_resets_through_the_watchdog() {
    let mut q = Qemu::boot();
    q.send(b"reboot\r");
    q.expect("Restarting");
    // With -no-reboot QEMU turns the watchdog reset into an exit.
    let status = q.wait_exit(Duration::from_secs(15));
    assert_eq!(status.code(), Some(0), "{status:?}");
}

use common::dtb;

#[test]
fn memory_and_command_line_come_from_the_real_device_tree() {
    let path = dtb();
    let mut q = Qemu::boot_with(&["-dtb", &path, "-append", "log=warn quiet"]);
    q.expect_user_shell(common::BOOT_DEADLINE);
    q.send(&[common::MONITOR_CHORD]);
    q.expect(common::PROMPT);
    let board = q.command("board");
    assert!(board.contains("RAM:        960 MiB from the device tree"), "{board}");
    assert!(board.contains("0x000000000-0x03c000000"), "{board}");
    assert!(board.contains("(Raspberry Pi 4 Model B)"), "{board}");
    assert!(board.contains("command line: log=warn quiet"), "{board}");
    assert_eq!(q.command("log"), "log level: warn\n", "log=warn from the command line");
    let mut quiet = Qemu::boot_with(&["-dtb", &path, "-append", "console=ttyAMA0 quiet kshell"]);
    quiet.expect_within(common::PROMPT, common::BOOT_DEADLINE);
    assert_eq!(quiet.command("log"), "log level: warn\n", "quiet means warn");
    // The blob is reserved at boot: more reserved pages than without a device
    // tree, by at least its size. (Free memory is no measure: background
    // work moves it by a few pages from boot to boot.)
    let blob = std::fs::metadata(&path).unwrap().len() / 1024;
    let with_dt = field(&q.command("meminfo"), "Reserved:");
    let mut plain = Qemu::boot_monitor_by_chord();
    let without = field(&plain.command("meminfo"), "Reserved:");
    assert!(with_dt >= without + blob, "{with_dt} kB reserved with the {blob} kB device tree, {without} kB without");
}

/// `init=` from the board's device tree (`-append` lands in
/// /chosen/bootargs) names PID 1's program; its exit is fatal, as in Linux.
#[test]
fn init_from_the_command_line_is_the_first_program() {
    let path = dtb();
    let mut q = Qemu::boot_with(&["-dtb", &path, "-append", "console=ttyAMA0 init=/tests/hello"]);
    q.expect_within("init: running /tests/hello", common::BOOT_DEADLINE);
    q.expect("hello, world");
    q.expect("attempted to kill init! exit code 0x0");
}

/// The command line's words that are not the kernel's go to init, as Linux's
/// init/main.c hands them over: bare words and everything after `--` as
/// arguments, `name=value` words as environment (replacing a default of the
/// same name); boot options (`console=`, `quiet`, dotted module parameters)
/// stay the kernel's.
#[test]
fn init_gets_the_arguments_and_environment_the_kernel_does_not_take() {
    let path = dtb();
    let append = "console=ttyAMA0 8250.nr_uarts=1 init=/tests/t_script GREET=hello TERM=vt102 quiet \
                  --show plain -- x=1 --also";
    let mut q = Qemu::boot_with(&["-dtb", &path, "-append", append]);
    q.expect_within(
        "/tests/t_script|--show|plain|x=1|--also exe=/tests/t_script comm=t_script \
         env=HOME=/,TERM=vt102,PATH=/bin:/sbin:/tests:/boot/bin,GREET=hello\r\n",
        common::BOOT_DEADLINE,
    );
    q.expect("attempted to kill init! exit code 0x0");
}

/// An `init=` that cannot run (missing, or a 4 KiB path cut with the
/// command line) falls back to Linux's defaults: /sbin/init starts the shell.
#[test]
fn an_init_that_cannot_run_falls_back_to_the_defaults() {
    let path = dtb();
    let long = format!("init=/{} quiet", "a".repeat(4096));
    for (append, cut) in [("init=/nonexistent log=info", false), (long.as_str(), true)] {
        let mut q = Qemu::boot_with(&["-dtb", &path, "-append", append]);
        q.expect_user_shell(common::BOOT_DEADLINE);
        let log = q.transcript();
        assert!(log.contains("Failed to execute /") && log.contains("Attempting defaults..."), "{log}");
        assert_eq!(log.contains("command line of 4108 bytes cut to 2047"), cut, "{log}");
        q.send(b"echo fallback-$?\r");
        q.expect("echo fallback-$?\r\n");
        q.expect("fallback-0");
    }
}

#[test]
fn without_a_device_tree_memory_comes_from_the_mailbox() {
    let mut q = Qemu::boot_monitor_by_chord();
    let board = q.command("board");
    assert!(board.contains("RAM:        960 MiB from the mailbox"), "{board}");
    assert!(board.contains("command line: (none)"), "{board}");
    assert!(!board.contains("device tree:"), "{board}");
}

#[test]
fn activity_led_beats_and_obeys_the_led_command() {
    let mut q = Qemu::boot();
    let (mut seen_on, mut seen_off) = (false, false);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !(seen_on && seen_off) && std::time::Instant::now() < deadline {
        match q.command("led").as_str() {
            "led: on (heartbeat)\n" => seen_on = true,
            "led: off (heartbeat)\n" => seen_off = true,
            other => panic!("unexpected: {other}"),
        }
        sleep(Duration::from_millis(7));
    }
    assert!(seen_on && seen_off, "the heartbeat switches GPIO 42 on and off (on: {seen_on}, off: {seen_off})");
    assert_eq!(q.command("led on"), "led: on\n");
    sleep(Duration::from_millis(1200));
    assert_eq!(q.command("led"), "led: on\n", "no heartbeat while switched by hand");
    assert_eq!(q.command("led off"), "led: off\n");
    assert!(q.command("led blink").contains("usage: led"));
    assert!(q.command("led heartbeat").trim_end().ends_with("(heartbeat)"));
}

/// QEMU arguments for the chain-loader tests. The loader polls the UART on
/// core 0; under multi-threaded TCG every poll of the MMIO register takes
/// QEMU's big lock, and the I/O thread that feeds the serial port starves:
/// a 460 KiB kernel measured 29 s through stdio on an idle 2-core host (and
/// several minutes with a second QEMU beside it). One TCG thread for all
/// cores lets the I/O thread in between time slices: 2.9 s for the same
/// transfer. The kernel's behaviour does not depend on the choice.
const LOADER_QEMU_ARGS: [&str; 2] = ["-accel", "tcg,thread=single"];

fn loader() -> std::path::PathBuf {
    common::build_file("LOADER_IMAGE", "chainload.img", "chainload")
}

/// The chain-loading frame for `kernel`: magic, length, Adler-32, bytes.
fn chainload_frame(kernel: &[u8], checksum: u32) -> Vec<u8> {
    let mut frame = bsp::chainload::MAGIC.to_vec();
    frame.extend_from_slice(&(kernel.len() as u32).to_le_bytes());
    frame.extend_from_slice(&checksum.to_le_bytes());
    frame.extend_from_slice(kernel);
    frame
}

#[test]
fn chain_loader_receives_the_kernel_over_the_serial_port_and_boots_it() {
    let kernel = std::fs::read(common::min_image()).unwrap();
    let good = bsp::chainload::adler32(1, &kernel);
    let mut q = Qemu::boot_kernel(&loader(), &LOADER_QEMU_ARGS);
    q.expect_within(bsp::chainload::READY, common::BOOT_DEADLINE);
    // Noise, then a (short) transfer with a wrong checksum: refused, the
    // loader waits again.
    q.send(b"garbage before the magic");
    let short = &kernel[..1024];
    q.send(&chainload_frame(short, bsp::chainload::adler32(1, short) ^ 1));
    q.expect("chainload: checksum mismatch");
    q.expect(bsp::chainload::READY);
    // A size the loader cannot hold.
    let mut huge = bsp::chainload::MAGIC.to_vec();
    huge.extend_from_slice(&u32::MAX.to_le_bytes());
    huge.extend_from_slice(&0u32.to_le_bytes());
    q.send(&huge);
    q.expect("chainload: bad size");
    // A sender that stops half-way: after five seconds of silence the loader
    // starts over instead of taking the next attempt as data.
    let mut cut = chainload_frame(&kernel[..1000], bsp::chainload::adler32(1, &kernel[..1000]));
    cut.truncate(12 + 100);
    q.send(&cut);
    q.expect("chainload: transfer timed out");
    q.expect(bsp::chainload::READY);
    q.send(&chainload_frame(&kernel, good));
    // The whole kernel through an emulated UART: allow for a busy host.
    q.expect_within(bsp::chainload::OK, Duration::from_secs(180));
    q.expect_within(common::PROMPT, common::BOOT_DEADLINE);
    let rows = parse_cpus(&q.command("cpus"));
    assert!(rows.len() == 4 && rows.iter().all(|r| r.online && r.el == 1), "{rows:?}");
    assert!(q.transcript().contains("core 0 online at EL1 (entered at EL2)"), "entered as the firmware enters it");
    // No initramfs: none of Linux's default init programs exists.
    assert!(q.transcript().contains("No working init found."), "{}", q.transcript());
}

#[test]
fn chainboot_script_sends_a_kernel_the_loader_accepts() {
    // The host side over a real terminal device: QEMU's serial port on a pty.
    let mut child = Command::new(std::env::var("QEMU").unwrap_or_else(|_| "qemu-system-aarch64".into()))
        .args(["-M", "raspi4b", "-display", "none", "-monitor", "none", "-serial", "pty", "-no-reboot"])
        .args(LOADER_QEMU_ARGS)
        .arg("-kernel")
        .arg(loader())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("QEMU starts");
    // QEMU names the pty on stdout: "char device redirected to /dev/pts/N".
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let pty = loop {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => {
                if let Some(at) = line.find("/dev/pts/") {
                    break line[at..].split_whitespace().next().unwrap().to_string();
                }
            }
            Err(_) => {
                let _ = child.kill();
                panic!("QEMU did not name its pty within 30 s");
            }
        }
    };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/chainboot.sh");
    let out = Command::new("timeout")
        .args(["400", "bash", script, &pty])
        .arg(common::min_image())
        .env("CHAINBOOT_NO_CONSOLE", "1")
        .env("CHAINBOOT_TIMEOUT", "20")
        .output()
        .expect("bash runs chainboot.sh");
    let _ = child.kill();
    let _ = child.wait();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "chainboot.sh failed:\n{log}");
    assert!(log.contains("the loader accepted the kernel"), "{log}");
}

/// BusyBox's `poweroff` and `reboot` applets, which ash runs in preference
/// to /sbin's programs, signal init (SIGUSR2, SIGTERM) as BusyBox's init
/// expects; ours then ends every process and stops the machine. They did nothing before: init ignored the signals.
#[test]
fn busybox_poweroff_and_reboot_from_the_console_shell_stop_the_machine() {
    let busybox = std::path::Path::new(&std::env::var("ROOTFS").unwrap_or_default()).join("bin/busybox");
    if !busybox.exists() {
        eprintln!("skipped: the image has no BusyBox (built with BUSYBOX=0)");
        return;
    }
    for (applet, said) in [("poweroff", "init: poweroff: stopping every process"), ("reboot", "init: reboot: stopping")]
    {
        let mut q = Qemu::boot_with(&[]);
        q.expect_within(common::ASH_PROMPT, Duration::from_secs(60));
        q.send(format!("sleep 100 & {applet}\r").as_bytes());
        q.expect_within(said, Duration::from_secs(30));
        let status = q.wait_exit(Duration::from_secs(60));
        assert!(status.success(), "{applet}: {status:?}\n{}", q.transcript());
    }
}
