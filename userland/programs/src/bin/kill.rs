//! `kill [-SIGNAL | -N | -s NAME | -n N] [--] PID...` sends a signal (default TERM) to processes; a
//! negative PID names a process group. `kill -l [N|NAME...]` lists signal names or converts between
//! names and numbers (an exit status above 128 is taken as 128 + signal).
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use rt::{eprintln, println, Bytes};
use uparse::signal;

rt::entry!(main);

fn usage() -> i32 {
    eprintln!("usage: kill [-SIGNAL | -N | -s NAME] [--] PID...\n       kill -l [N | NAME...]");
    2
}

fn list(args: &[&[u8]]) -> i32 {
    if args.is_empty() {
        let names: Vec<&str> = (1..=signal::NAMED).filter_map(signal::name).collect();
        println!("{}", names.join(" "));
        return 0;
    }
    let mut status = 0;
    for &arg in args {
        match uparse::num::parse_u64(arg) {
            Some(n) => {
                let sig = if n > 128 { n - 128 } else { n };
                match signal::name(sig as i32) {
                    Some(name) => println!("{}", name),
                    None => {
                        eprintln!("kill: unknown signal: {}", Bytes(arg));
                        status = 1;
                    }
                }
            }
            None => match signal::parse(arg) {
                Some(sig) => println!("{}", sig),
                None => {
                    eprintln!("kill: unknown signal: {}", Bytes(arg));
                    status = 1;
                }
            },
        }
    }
    status
}

fn main(args: rt::Args, _env: rt::Env) -> i32 {
    let args: Vec<&[u8]> = args.iter().skip(1).collect();
    let mut sig = signal::SIGTERM;
    let mut i = 0;
    // Options come first; the first one that is not an option starts the PID list.
    while i < args.len() {
        let a = args[i];
        match a {
            b"-l" | b"-L" | b"--list" => return list(&args[i + 1..]),
            b"--" => {
                i += 1;
                break;
            }
            b"-s" | b"-n" => {
                let Some(spec) = args.get(i + 1) else { return usage() };
                match signal::parse(spec) {
                    Some(s) => sig = s,
                    None => {
                        eprintln!("kill: unknown signal: {}", Bytes(spec));
                        return 1;
                    }
                }
                i += 2;
            }
            _ if a.len() > 1 && a[0] == b'-' && i == 0 => {
                match signal::parse(&a[1..]) {
                    Some(s) => sig = s,
                    None => {
                        eprintln!("kill: unknown signal: {}", Bytes(&a[1..]));
                        return 1;
                    }
                }
                i += 1;
            }
            _ => break,
        }
    }
    let pids = &args[i..];
    if pids.is_empty() {
        return usage();
    }
    let mut status = 0;
    for &p in pids {
        let Some(pid) = uparse::num::parse_i32(p) else {
            eprintln!("kill: invalid process id: {}", Bytes(p));
            status = 1;
            continue;
        };
        if let Err(e) = rt::process::kill(pid, sig) {
            eprintln!("kill: ({}): {}", pid, e);
            status = 1;
        }
    }
    status
}
