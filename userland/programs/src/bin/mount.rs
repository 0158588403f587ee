//! `mount [-t TYPE] [-o OPTIONS] SOURCE DIR`: mounts a file system (tmpfs, proc, devtmpfs); with no
//! arguments lists the mounts (`/proc/mounts`).
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;

rt::entry!(main);

fn main(args: rt::Args, _env: rt::Env) -> i32 {
    let words: Vec<&[u8]> = args.iter().skip(1).collect();
    if words.is_empty() {
        return match rt::fs::read_file(b"/proc/mounts") {
            Ok(text) => rt::io::write_all(rt::io::STDOUT, &text).map_or(1, |_| 0),
            Err(e) => {
                programs::complain(b"mount", b"/proc/mounts", e);
                1
            }
        };
    }
    let (mut fstype, mut options): (&[u8], &[u8]) = (b"tmpfs", b"");
    let mut operands = Vec::new();
    let mut i = 0;
    while i < words.len() {
        match words[i] {
            b"-t" if i + 1 < words.len() => {
                fstype = words[i + 1];
                i += 1;
            }
            b"-o" if i + 1 < words.len() => {
                options = words[i + 1];
                i += 1;
            }
            w => operands.push(w),
        }
        i += 1;
    }
    let [source, dir] = operands[..] else {
        programs::complain_msg(b"mount", format_args!("usage: mount [-t TYPE] [-o OPTIONS] SOURCE DIR"));
        return 2;
    };
    match rt::fs::mount(source, dir, fstype, options) {
        Ok(()) => 0,
        Err(e) => {
            programs::complain(b"mount", dir, e);
            1
        }
    }
}
