//! `ln [-s] TARGET NAME`: a hard link, or with `-s` a symbolic link, called NAME (inside NAME when
//! it is a directory).
#![no_std]
#![no_main]

extern crate alloc;

rt::entry!(main);

fn main(args: rt::Args, _env: rt::Env) -> i32 {
    let (opts, names) = programs::options(args.iter().skip(1));
    if opts.iter().any(|&o| o != b's') || names.len() != 2 {
        programs::complain_msg(b"ln", format_args!("usage: ln [-s] TARGET NAME"));
        return 2;
    }
    let (target, name) = (names[0], programs::target_in(names[0], names[1]));
    let r = if opts.contains(&b's') { rt::fs::symlink(target, &name) } else { rt::fs::link(target, &name) };
    match r {
        Ok(()) => 0,
        Err(e) => {
            programs::complain(b"ln", &name, e);
            1
        }
    }
}
