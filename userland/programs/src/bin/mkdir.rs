//! `mkdir [-p] DIR...`: makes directories; `-p` makes missing parents too and accepts existing ones.
#![no_std]
#![no_main]

extern crate alloc;

use rt::Errno;

rt::entry!(main);

/// Makes `path` and, first, every missing parent.
fn mkdir_parents(path: &[u8]) -> Result<(), Errno> {
    for (i, &b) in path.iter().enumerate() {
        if b == b'/' && i > 0 {
            match rt::fs::mkdir(&path[..i], 0o777) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => return Err(e),
            }
        }
    }
    match rt::fs::mkdir(path, 0o777) {
        Err(Errno::EEXIST) if rt::fs::stat(path).is_ok_and(|s| s.is_dir()) => Ok(()),
        r => r,
    }
}

fn main(args: rt::Args, _env: rt::Env) -> i32 {
    let (opts, dirs) = programs::options(args.iter().skip(1));
    let parents = opts.contains(&b'p');
    if dirs.is_empty() || opts.iter().any(|&o| o != b'p') {
        programs::complain_msg(b"mkdir", format_args!("usage: mkdir [-p] DIR..."));
        return 2;
    }
    let mut status = 0;
    for dir in dirs {
        let r = if parents { mkdir_parents(dir) } else { rt::fs::mkdir(dir, 0o777) };
        if let Err(e) = r {
            programs::complain(b"mkdir", dir, e);
            status = 1;
        }
    }
    status
}
