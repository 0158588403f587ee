//! `cp SRC DST`, `cp SRC... DIR`: copies regular files (into a directory when the target is one).
#![no_std]
#![no_main]

extern crate alloc;

rt::entry!(main);

fn main(args: rt::Args, _env: rt::Env) -> i32 {
    let (opts, names) = programs::options(args.iter().skip(1));
    if !opts.is_empty() || names.len() < 2 {
        programs::complain_msg(b"cp", format_args!("usage: cp SRC... DST"));
        return 2;
    }
    let (sources, dst) = names.split_at(names.len() - 1);
    let dst = dst[0];
    let mut status = 0;
    for src in sources {
        if rt::fs::stat(src).is_ok_and(|s| s.is_dir()) {
            programs::complain_msg(b"cp", format_args!("{}: is a directory (not copied)", rt::Bytes(src)));
            status = 1;
            continue;
        }
        let target = programs::target_in(src, dst);
        if let Err((reading, e)) = programs::copy_file(src, &target) {
            programs::complain(b"cp", if reading { src } else { &target }, e);
            status = 1;
        }
    }
    status
}
