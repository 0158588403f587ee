//! `mv SRC DST`, `mv SRC... DIR`: renames; into a directory when the target is one. Across file
//! systems (EXDEV) a regular file is copied and the original removed.
#![no_std]
#![no_main]

extern crate alloc;

use rt::Errno;

rt::entry!(main);

fn main(args: rt::Args, _env: rt::Env) -> i32 {
    let (opts, names) = programs::options(args.iter().skip(1));
    if !opts.is_empty() || names.len() < 2 {
        programs::complain_msg(b"mv", format_args!("usage: mv SRC... DST"));
        return 2;
    }
    let (sources, dst) = names.split_at(names.len() - 1);
    let dst = dst[0];
    let mut status = 0;
    for src in sources {
        let target = programs::target_in(src, dst);
        let r = match rt::fs::rename(src, &target, 0) {
            Err(Errno::EXDEV) => match programs::copy_file(src, &target) {
                Ok(()) => rt::fs::unlink_at(src, 0),
                Err((_, e)) => Err(e),
            },
            r => r,
        };
        if let Err(e) = r {
            programs::complain(b"mv", src, e);
            status = 1;
        }
    }
    status
}
