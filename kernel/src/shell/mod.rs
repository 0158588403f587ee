//! The kernel console shell: a debugging monitor on the serial console.
//!
//! With user space running, the console belongs to it; Ctrl-] hands it to
//! the monitor, whose `exit` hands it back. With `kshell` on the command
//! line there is no user space and the monitor keeps the console.
//!
//! `line` is the line editor (host-tested); `commands` the built-in commands.

pub mod line;

#[cfg(target_os = "none")]
mod bench;
#[cfg(target_os = "none")]
mod commands;
#[cfg(target_os = "none")]
mod demo;
#[cfg(target_os = "none")]
mod tasks;
#[cfg(target_os = "none")]
mod trace;

/// The prompt printed before every command line.
pub const PROMPT: &str = "rpi4> ";

/// The console shell as a kernel thread (`kshell`, started by init).
#[cfg(target_os = "none")]
pub extern "C" fn shell_thread(_: usize) -> i32 {
    run()
}

/// The monitor beside user space (a kthread): sleeps until Ctrl-] gives it
/// the console.
#[cfg(target_os = "none")]
pub fn monitor_thread(_: usize) -> i32 {
    run()
}

/// Reads and runs commands forever, whenever the monitor owns the console.
#[cfg(target_os = "none")]
pub fn run() -> ! {
    use crate::console::{owner, wait_for_monitor, Owner};
    use line::{Event, LineEditor};
    loop {
        wait_for_monitor();
        let mut editor = LineEditor::new();
        crate::println!("\nKernel debug monitor. Type 'help' for the list of commands.");
        crate::print!("{PROMPT}");
        while owner() == Owner::Monitor {
            let Some(byte) = crate::console::read_byte_while(|| owner() == Owner::Monitor) else { break };
            let event = editor.feed(byte, &mut |bytes| crate::console::writer().write_raw(bytes));
            match event {
                Event::Pending => continue,
                Event::Interrupt => {}
                Event::Line(line) => commands::execute(&line),
            }
            if owner() == Owner::Monitor {
                crate::print!("{PROMPT}");
            }
        }
    }
}
