//! `sh`: the serial-console shell. See `userland/README.md` for the grammar, builtins and job
//! control. Reads commands from the terminal (prompt [`PROMPT`]), from standard input when that is
//! not a terminal (no prompt, line by line until end of file), from `-c STRING`, or from a script file;
//! exits with the status of the last command.
#![no_std]
#![no_main]

extern crate alloc;

mod builtins;
mod exec;
mod jobs;
mod state;

use alloc::vec::Vec;
use rt::io::STDIN;
use rt::{eprintln, Bytes, Errno};
use state::Shell;

/// The interactive prompt.
pub const PROMPT: &[u8] = b"$ ";

rt::entry!(main);

/// Where command lines come from.
enum Input {
    /// A terminal (canonical mode: the kernel edits the line), prompting before each line; holds
    /// bytes read past the current line.
    Terminal(Vec<u8>),
    /// A pipe or file on fd 0: read byte by byte so that commands which read stdin get the rest.
    Stream,
    /// In-memory text (`-c`, script file), consumed line by line.
    Text(Vec<u8>, usize),
}

/// Next line without its newline, or `None` at end of input.
fn next_line(sh: &mut Shell, input: &mut Input) -> Option<Vec<u8>> {
    match input {
        Input::Text(text, pos) => {
            if *pos >= text.len() {
                return None;
            }
            let rest = &text[*pos..];
            let len = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            let line = rest[..len].to_vec();
            *pos += len + 1;
            Some(line)
        }
        Input::Stream => {
            let mut line = Vec::new();
            let mut byte = [0u8; 1];
            loop {
                match rt::io::read(STDIN, &mut byte) {
                    Ok(0) => return if line.is_empty() { None } else { Some(line) },
                    Ok(_) if byte[0] == b'\n' => return Some(line),
                    Ok(_) => line.push(byte[0]),
                    Err(Errno::EINTR) => {}
                    Err(e) => {
                        eprintln!("sh: read error: {}", e);
                        return None;
                    }
                }
            }
        }
        Input::Terminal(pending) => loop {
            // A read may carry more than one line (typed ahead or pasted): hand them out one by one.
            if let Some(nl) = pending.iter().position(|&b| b == b'\n') {
                let line = pending[..nl].to_vec();
                pending.drain(..=nl);
                return Some(line);
            }
            if pending.is_empty() {
                sh.notify_jobs();
                let _ = rt::io::write_all(2, PROMPT);
            }
            let mut buf = [0u8; 512];
            match rt::io::read(STDIN, &mut buf) {
                // Ctrl-D on an empty line.
                Ok(0) if pending.is_empty() => {
                    let _ = rt::io::write_all(2, b"exit\n");
                    return None;
                }
                // Ctrl-D after some text: take the text as a line.
                Ok(0) => return Some(core::mem::take(pending)),
                Ok(n) => pending.extend_from_slice(&buf[..n]),
                Err(Errno::EINTR) => {}
                Err(e) => {
                    eprintln!("sh: read error: {}", e);
                    return None;
                }
            }
        },
    }
}

fn usage() -> i32 {
    eprintln!("usage: sh [-c COMMANDS | SCRIPT]");
    2
}

fn main(args: rt::Args, env: rt::Env) -> i32 {
    let args = args.to_vec();
    let mut sh = Shell::new(env);
    let mut input = match args.get(1).copied() {
        None => {
            if rt::tty::isatty(STDIN) {
                sh.init_interactive();
                Input::Terminal(Vec::new())
            } else {
                Input::Stream
            }
        }
        Some(b"-c") => match args.get(2) {
            Some(cmd) => Input::Text(cmd.to_vec(), 0),
            None => {
                eprintln!("sh: -c: option requires an argument");
                return usage();
            }
        },
        Some(opt) if opt.starts_with(b"-") => {
            eprintln!("sh: {}: invalid option", Bytes(opt));
            return usage();
        }
        Some(script) => match rt::fs::read_file(script) {
            Ok(text) => Input::Text(text, 0),
            Err(e) => {
                eprintln!("sh: {}: {}", Bytes(script), e);
                return 127;
            }
        },
    };
    while let Some(line) = next_line(&mut sh, &mut input) {
        if !matches!(input, Input::Terminal(_)) {
            sh.notify_jobs();
        }
        sh.run_line(&line);
        if let Some(code) = sh.exit_requested {
            return code;
        }
    }
    sh.status
}
