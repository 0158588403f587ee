//! `umount DIR...`: unmounts the file systems mounted on each DIR.
#![no_std]
#![no_main]

extern crate alloc;

rt::entry!(main);

fn main(args: rt::Args, _env: rt::Env) -> i32 {
    let (opts, dirs) = programs::options(args.iter().skip(1));
    if !opts.is_empty() || dirs.is_empty() {
        programs::complain_msg(b"umount", format_args!("usage: umount DIR..."));
        return 2;
    }
    let mut status = 0;
    for dir in dirs {
        if let Err(e) = rt::fs::umount(dir) {
            programs::complain(b"umount", dir, e);
            status = 1;
        }
    }
    status
}
