//! The kernel console shell: a debugging monitor on the serial console.
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

/// The prompt printed before every command line.
pub const PROMPT: &str = "rpi4> ";

/// The console shell as a kernel thread (`kshell`, started by init).
#[cfg(target_os = "none")]
pub extern "C" fn shell_thread(_: usize) -> i32 {
    run()
}

/// Reads and runs commands forever.
#[cfg(target_os = "none")]
pub fn run() -> ! {
    use line::{Event, LineEditor};
    let mut editor = LineEditor::new();
    crate::println!("Type 'help' for the list of commands.");
    crate::print!("{PROMPT}");
    loop {
        let byte = crate::console::read_byte();
        let event = editor.feed(byte, &mut |bytes| crate::console::writer().write_raw(bytes));
        match event {
            Event::Pending => continue,
            Event::Interrupt => {}
            Event::Line(line) => commands::execute(&line),
        }
        crate::print!("{PROMPT}");
    }
}
