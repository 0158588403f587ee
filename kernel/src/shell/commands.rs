//! The console shell's commands.

use crate::config::{HZ, NR_CPUS};
use crate::mm::{frame::PAGE_SIZE, heap, phys};
use crate::{board, println, smp, time};
use alloc::string::String;
use core::sync::atomic::Ordering;

struct Command {
    name: &'static str,
    usage: &'static str,
    help: &'static str,
    run: fn(&[&str]) -> Result<(), &'static str>,
}

const COMMANDS: &[Command] = &[
    Command { name: "help", usage: "help", help: "list the commands", run: help },
    Command { name: "uptime", usage: "uptime", help: "time since boot", run: uptime },
    Command { name: "cpus", usage: "cpus", help: "each core: online, exception level, ticks, interrupts", run: cpus },
    Command { name: "meminfo", usage: "meminfo", help: "physical pages and kernel heap", run: meminfo },
    Command { name: "board", usage: "board", help: "what the firmware reports about the board", run: board_info },
    Command {
        name: "log",
        usage: "log [off|error|warn|info|debug|trace]",
        help: "show or set the log level",
        run: log_level,
    },
    Command {
        name: "ps",
        usage: "ps",
        help: "the tasks: PID, parent, state, CPU, nice, switches, CPU time",
        run: super::tasks::ps,
    },
    Command { name: "pstree", usage: "pstree", help: "the process tree", run: super::tasks::pstree },
    Command {
        name: "kill",
        usage: "kill <pid>...",
        help: "kill tasks (wakes interruptible sleepers only)",
        run: super::tasks::kill,
    },
    Command {
        name: "taskset",
        usage: "taskset <mask> <pid>",
        help: "restrict a task to the CPUs in mask (bit n = CPU n)",
        run: super::tasks::taskset,
    },
    Command {
        name: "slabinfo",
        usage: "slabinfo [shrink]",
        help: "slab caches, as /proc/slabinfo",
        run: super::tasks::slabinfo,
    },
    Command {
        name: "sysctl",
        usage: "sysctl [key[=value]]",
        help: "show or set kernel.pid_max and counters",
        run: super::tasks::sysctl,
    },
    Command {
        name: "runqueues",
        usage: "runqueues",
        help: "per CPU: tasks, load, switches, migrations, busy time",
        run: super::tasks::runqueues,
    },
    Command {
        name: "kthread",
        usage: "kthread start spin|sleep|dsleep|orphan|yield [n] [nice N] [cpu C] | stop [pid|all] | churn <n> [batch]",
        help: "demo kernel threads",
        run: super::tasks::kthread,
    },
    Command {
        name: "bench",
        usage: "bench kthread|pingpong|wakeup [n]",
        help: "scheduler micro-benchmarks (medians)",
        run: bench,
    },
    Command {
        name: "trace",
        usage: "trace on|off|show|clear [event|group...]",
        help: "trace events: enable, disable, print the buffers",
        run: super::trace::trace_cmd,
    },
    Command { name: "echo", usage: "echo [text...]", help: "print the arguments", run: echo },
    Command {
        name: "led",
        usage: "led [on|off|heartbeat]",
        help: "the green activity LED: show, switch, or back to the heartbeat",
        run: led,
    },
    Command { name: "panic", usage: "panic [message]", help: "test: panic the kernel (stops every core)", run: panic },
    Command {
        name: "fault",
        usage: "fault",
        help: "test: read an unmapped address in kernel mode (a fatal data abort)",
        run: fault,
    },
    Command {
        name: "overflow",
        usage: "overflow",
        help: "test: recurse until the kernel stack overflows (caught by the guard)",
        run: overflow,
    },
    Command { name: "reboot", usage: "reboot", help: "reset the board", run: reboot },
    Command { name: "exit", usage: "exit", help: "give the console back to user space (Ctrl-] returns)", run: exit },
    Command { name: "poweroff", usage: "poweroff", help: "halt the board (QEMU exits)", run: poweroff },
];

fn exit(args: &[&str]) -> Result<(), &'static str> {
    no_args(args)?;
    if crate::initproc::KSHELL_ONLY.load(core::sync::atomic::Ordering::Relaxed)
        || !crate::initproc::user_space_running()
    {
        return Err("no user space to return to (booted with 'kshell', or init did not start)");
    }
    // Switch first: input typed after the message goes to user space.
    crate::console::set_owner(crate::console::Owner::Tty);
    println!("Back to user space (Ctrl-] returns here).");
    Ok(())
}

/// Runs one command line.
pub fn execute(line: &str) {
    let mut words = line.split_whitespace();
    let Some(name) = words.next() else { return };
    let args: alloc::vec::Vec<&str> = words.collect();
    match COMMANDS.iter().find(|c| c.name == name) {
        Some(cmd) => {
            if let Err(msg) = (cmd.run)(&args) {
                println!("{name}: {msg}");
                println!("usage: {}", cmd.usage);
            }
        }
        None => println!("{name}: command not found (type 'help')"),
    }
}

fn no_args(args: &[&str]) -> Result<(), &'static str> {
    if args.is_empty() {
        Ok(())
    } else {
        Err("takes no arguments")
    }
}

fn help(args: &[&str]) -> Result<(), &'static str> {
    no_args(args)?;
    for cmd in COMMANDS {
        println!("  {:<40} {}", cmd.usage, cmd.help);
    }
    Ok(())
}

fn uptime(args: &[&str]) -> Result<(), &'static str> {
    no_args(args)?;
    let ns = time::uptime_ns();
    let secs = ns / 1_000_000_000;
    println!(
        "up {}:{:02}:{:02}.{:03} ({}.{:06} s)",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        ns / 1_000_000 % 1000,
        secs,
        ns / 1000 % 1_000_000
    );
    Ok(())
}

fn cpus(args: &[&str]) -> Result<(), &'static str> {
    no_args(args)?;
    println!("core  state    EL  ticks       irqs");
    for (core, c) in smp::CPUS.iter().enumerate() {
        let online = c.online.load(Ordering::Acquire);
        println!(
            "{core:<5} {:<8} {:<3} {:<11} {}",
            if online { "online" } else { "offline" },
            c.el.load(Ordering::Relaxed),
            c.ticks.load(Ordering::Relaxed),
            c.irqs.load(Ordering::Relaxed)
        );
    }
    println!("{} of {NR_CPUS} cores online, tick {HZ} Hz", smp::online_count());
    Ok(())
}

fn meminfo(args: &[&str]) -> Result<(), &'static str> {
    no_args(args)?;
    let s = phys::stats();
    let kib = |pages: usize| pages * PAGE_SIZE / 1024;
    let (heap_total, heap_used) = heap::stats();
    println!("MemTotal:   {:>10} kB  {:>8} pages", kib(s.total), s.total);
    println!("MemFree:    {:>10} kB  {:>8} pages", kib(s.free), s.free);
    println!("MemUsed:    {:>10} kB  {:>8} pages", kib(s.used), s.used);
    println!("Reserved:   {:>10} kB  {:>8} pages", kib(s.boot_reserved), s.boot_reserved);
    println!("HeapTotal:  {:>10} kB", heap_total / 1024);
    println!("HeapUsed:   {:>10} kB  ({heap_used} bytes)", heap_used / 1024);
    println!("InputLost:  {:>10} bytes", crate::console::input_dropped());
    Ok(())
}

fn board_info(args: &[&str]) -> Result<(), &'static str> {
    no_args(args)?;
    let Some(info) = board::info() else { return Err("the firmware did not answer at boot") };
    match info.revision {
        Some(rev) => {
            let fitted = bsp::revision::memory_bytes(rev).map_or(0, |b| b >> 20);
            println!("model:      {} (revision {rev:#x}, {fitted} MiB fitted)", bsp::revision::model_name(rev));
        }
        None => println!("model:      unknown"),
    }
    let (base, size) = info.arm_memory;
    println!("ARM memory: {} MiB at {base:#x} (mailbox)", size >> 20);
    if let Some(boot) = crate::bootinfo::get() {
        let source = match boot.source {
            crate::bootinfo::Source::DeviceTree => "device tree",
            crate::bootinfo::Source::Mailbox => "mailbox",
        };
        println!("RAM:        {} MiB from the {source}", boot.ram.total() >> 20);
        for r in boot.ram.as_slice() {
            println!("            {:#011x}-{:#011x}", r.base, r.base + r.size);
        }
        if let Some(fdt) = boot.fdt {
            println!(
                "device tree: {} bytes at {:#x}{}",
                fdt.size,
                fdt.base,
                boot.model.map_or(String::new(), |m| alloc::format!(" ({m})"))
            );
        }
        println!("command line: {}", boot.cmdline.unwrap_or("(none)"));
    }
    println!("UART clock: {} Hz", info.uart_clock);
    println!("timer:      {} Hz counter, {HZ} Hz tick", time::frequency());
    Ok(())
}

fn log_level(args: &[&str]) -> Result<(), &'static str> {
    match args {
        [] => {
            println!("log level: {}", log::max_level().as_str().to_ascii_lowercase());
            Ok(())
        }
        [name] => {
            let level = crate::logger::parse_level(name).ok_or("unknown level")?;
            log::set_max_level(level);
            println!("log level: {name}");
            Ok(())
        }
        _ => Err("takes one level"),
    }
}

fn bench(args: &[&str]) -> Result<(), &'static str> {
    let (what, n) = match args {
        [what] => (*what, 200),
        [what, n] => (*what, n.parse().map_err(|_| "n must be a number")?),
        _ => return Err("which benchmark?"),
    };
    if n == 0 {
        return Err("n must be positive");
    }
    let result = match what {
        "kthread" => super::bench::kthread_lifecycle(n).map(|ns| ("kthread create+run+stop", ns)),
        "pingpong" => super::bench::pingpong(n, 9).map(|ns| ("context switch (same CPU)", ns)),
        "wakeup" => super::bench::cross_cpu_wakeup(n).map(|ns| ("wake-up across CPUs", ns)),
        _ => return Err("kthread, pingpong or wakeup"),
    };
    match result {
        Ok((name, ns)) => println!("{name}: median {}.{:03} us (n={n})", ns / 1000, ns % 1000),
        Err(e) => println!("bench: {e}"),
    }
    Ok(())
}

fn echo(args: &[&str]) -> Result<(), &'static str> {
    println!("{}", args.join(" "));
    Ok(())
}

fn led(args: &[&str]) -> Result<(), &'static str> {
    match args {
        [] => {}
        ["on"] => crate::heartbeat::set_manual(true),
        ["off"] => crate::heartbeat::set_manual(false),
        ["heartbeat"] => crate::heartbeat::resume(),
        _ => return Err("on, off or heartbeat"),
    }
    let (lit, beating) = crate::heartbeat::state();
    println!("led: {}{}", if lit { "on" } else { "off" }, if beating { " (heartbeat)" } else { "" });
    Ok(())
}

fn panic(args: &[&str]) -> Result<(), &'static str> {
    if args.is_empty() {
        panic!("requested from the console");
    }
    panic!("{}", args.join(" "));
}

fn fault(args: &[&str]) -> Result<(), &'static str> {
    no_args(args)?;
    // SAFETY: deliberately unsound: this reads an address nothing maps, to show
    // the fault report. The resulting exception never returns here.
    let value = unsafe { core::ptr::read_volatile(0x10 as *const u64) };
    println!("read {value:#x}: the fault did not happen");
    Ok(())
}

fn overflow(args: &[&str]) -> Result<(), &'static str> {
    no_args(args)?;
    /// Uses 1 KiB of stack per level and never stops on its own.
    #[inline(never)]
    #[allow(unconditional_recursion)] // the point of the command
    fn recurse(depth: u64) -> u64 {
        let buf = core::hint::black_box([depth; 128]);
        buf[(depth % 128) as usize] + core::hint::black_box(recurse)(depth + 1)
    }
    let sum = recurse(0);
    println!("recursion ended at {sum}: the stack did not overflow");
    Ok(())
}

fn reboot(args: &[&str]) -> Result<(), &'static str> {
    no_args(args)?;
    board::restart()
}

fn poweroff(args: &[&str]) -> Result<(), &'static str> {
    no_args(args)?;
    board::power_off()
}
