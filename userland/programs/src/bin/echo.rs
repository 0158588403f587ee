//! `echo [-n] [ARG...]`: writes the arguments separated by spaces, then a newline unless `-n`.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;

rt::entry!(main);

fn main(args: rt::Args, _env: rt::Env) -> i32 {
    let mut words: Vec<&[u8]> = args.iter().skip(1).collect();
    let newline = if words.first() == Some(&&b"-n"[..]) {
        words.remove(0);
        false
    } else {
        true
    };
    let mut out = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(w);
    }
    if newline {
        out.push(b'\n');
    }
    match rt::io::write_all(rt::io::STDOUT, &out) {
        Ok(()) => 0,
        Err(e) => {
            programs::complain(b"echo", b"write error", e);
            1
        }
    }
}
