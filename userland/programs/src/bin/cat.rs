//! `cat [FILE...]`: copies each file (or standard input for none or `-`) to standard output.
#![no_std]
#![no_main]

use rt::io::{read, write_all, STDIN, STDOUT};
use rt::Errno;

rt::entry!(main);

/// Copies `fd` to stdout; the error says which side failed.
fn copy(fd: i32) -> Result<(), (bool, Errno)> {
    let mut buf = [0u8; 4096];
    loop {
        match read(fd, &mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => write_all(STDOUT, &buf[..n]).map_err(|e| (false, e))?,
            Err(Errno::EINTR) => {}
            Err(e) => return Err((true, e)),
        }
    }
}

fn main(args: rt::Args, _env: rt::Env) -> i32 {
    let files: alloc::vec::Vec<&[u8]> = args.iter().skip(1).collect();
    let files = if files.is_empty() { alloc::vec![&b"-"[..]] } else { files };
    let mut status = 0;
    for name in files {
        let fd = if name == b"-" {
            STDIN
        } else {
            match rt::fs::open(name, rt::fs::O_RDONLY | rt::fs::O_CLOEXEC, 0) {
                Ok(fd) => fd,
                Err(e) => {
                    programs::complain(b"cat", name, e);
                    status = 1;
                    continue;
                }
            }
        };
        let result = copy(fd);
        if fd != STDIN {
            let _ = rt::io::close(fd);
        }
        match result {
            Ok(()) => {}
            Err((true, e)) => {
                programs::complain(b"cat", name, e);
                status = 1;
            }
            Err((false, e)) => {
                programs::complain(b"cat", b"write error", e);
                return 1;
            }
        }
    }
    status
}

extern crate alloc;
