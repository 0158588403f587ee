//! `df`: size, use and free space of every mounted file system (from `/proc/mounts` and `statfs`),
//! in 1 KiB blocks, as coreutils prints them.
#![no_std]
#![no_main]

extern crate alloc;

use rt::{println, Bytes};

rt::entry!(main);

fn main(_args: rt::Args, _env: rt::Env) -> i32 {
    let mounts = match rt::fs::read_file(b"/proc/mounts") {
        Ok(m) => m,
        Err(e) => {
            programs::complain(b"df", b"/proc/mounts", e);
            return 1;
        }
    };
    println!("{:<16} {:>10} {:>10} {:>10} {:>4} Mounted on", "Filesystem", "1K-blocks", "Used", "Available", "Use%");
    let mut status = 0;
    for line in mounts.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let mut fields = line.split(|&b| b == b' ');
        let (Some(source), Some(dir)) = (fields.next(), fields.next()) else { continue };
        match rt::fs::statfs(dir) {
            Ok(st) => {
                let kib = |blocks: u64| blocks * st.bsize / 1024;
                let (size, free) = (kib(st.blocks), kib(st.bavail));
                let used = size - kib(st.bfree);
                let pct = if size == 0 {
                    alloc::string::String::from("-")
                } else {
                    alloc::format!("{}%", (used * 100).div_ceil(size))
                };
                let source = core::str::from_utf8(source).unwrap_or("?");
                println!("{:<16} {:>10} {:>10} {:>10} {:>4} {}", source, size, used, free, pct, Bytes(dir));
            }
            Err(e) => {
                programs::complain(b"df", dir, e);
                status = 1;
            }
        }
    }
    status
}
