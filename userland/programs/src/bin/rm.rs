//! `rm [-rf] FILE...`: removes files; `-r` whole directories, `-f` quietly ignores missing names.
#![no_std]
#![no_main]

extern crate alloc;

use rt::Errno;

rt::entry!(main);

fn main(args: rt::Args, _env: rt::Env) -> i32 {
    let (opts, names) = programs::options(args.iter().skip(1));
    let recursive = opts.iter().any(|&o| o == b'r' || o == b'R');
    let force = opts.contains(&b'f');
    if opts.iter().any(|&o| !b"rRf".contains(&o)) || names.is_empty() && !force {
        programs::complain_msg(b"rm", format_args!("usage: rm [-rf] FILE..."));
        return 2;
    }
    let mut status = 0;
    for name in names {
        match programs::remove(name, recursive) {
            Ok(()) => {}
            Err(Errno::ENOENT) if force => {}
            Err(e) => {
                programs::complain(b"rm", name, e);
                status = 1;
            }
        }
    }
    status
}
