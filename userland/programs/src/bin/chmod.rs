//! `chmod MODE FILE...`: sets the permission bits to the octal MODE.
#![no_std]
#![no_main]

extern crate alloc;

rt::entry!(main);

fn main(args: rt::Args, _env: rt::Env) -> i32 {
    let words: alloc::vec::Vec<&[u8]> = args.iter().skip(1).collect();
    let mode = words.first().and_then(|m| core::str::from_utf8(m).ok()).and_then(|m| u32::from_str_radix(m, 8).ok());
    let (Some(mode), true) = (mode.filter(|&m| m <= 0o7777), words.len() >= 2) else {
        programs::complain_msg(b"chmod", format_args!("usage: chmod OCTAL-MODE FILE..."));
        return 2;
    };
    let mut status = 0;
    for name in &words[1..] {
        if let Err(e) = rt::fs::chmod(name, mode) {
            programs::complain(b"chmod", name, e);
            status = 1;
        }
    }
    status
}
