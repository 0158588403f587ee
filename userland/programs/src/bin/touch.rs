//! `touch FILE...`: makes each file if missing, else sets its times to now.
#![no_std]
#![no_main]

extern crate alloc;

use rt::fs::{O_CLOEXEC, O_CREAT, O_WRONLY};

rt::entry!(main);

fn main(args: rt::Args, _env: rt::Env) -> i32 {
    let (opts, names) = programs::options(args.iter().skip(1));
    if !opts.is_empty() || names.is_empty() {
        programs::complain_msg(b"touch", format_args!("usage: touch FILE..."));
        return 2;
    }
    let mut status = 0;
    for name in names {
        let r = match rt::fs::open(name, O_WRONLY | O_CREAT | O_CLOEXEC, 0o666) {
            Ok(fd) => {
                let _ = rt::io::close(fd);
                rt::fs::touch_times(name)
            }
            // A directory (or another file one cannot open to write) still gets new times.
            Err(_) => rt::fs::touch_times(name),
        };
        if let Err(e) = r {
            programs::complain(b"touch", name, e);
            status = 1;
        }
    }
    status
}
