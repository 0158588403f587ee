//! `uname [-asnrvm]`: prints system information (default: the kernel name).
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use rt::process::field;
use rt::{eprintln, Bytes};

rt::entry!(main);

fn main(args: rt::Args, _env: rt::Env) -> i32 {
    // Bits: s n r v m, in output order.
    let mut which = 0u8;
    for arg in args.iter().skip(1) {
        let Some(flags) = arg.strip_prefix(b"-").filter(|f| !f.is_empty()) else {
            eprintln!("uname: extra operand '{}'", Bytes(arg));
            return 1;
        };
        for &f in flags {
            which |= match f {
                b'a' => 0x1f,
                b's' => 1,
                b'n' => 2,
                b'r' => 4,
                b'v' => 8,
                b'm' => 16,
                _ => {
                    eprintln!("uname: invalid option -- '{}'\nusage: uname [-asnrvm]", f as char);
                    return 1;
                }
            };
        }
    }
    if which == 0 {
        which = 1;
    }
    let u = match rt::process::uname() {
        Ok(u) => u,
        Err(e) => {
            eprintln!("uname: {}", e);
            return 1;
        }
    };
    let fields = [&u.sysname[..], &u.nodename, &u.release, &u.version, &u.machine];
    let parts: Vec<&[u8]> = (0..5).filter(|i| which & (1 << i) != 0).map(|i| field(fields[i])).collect();
    let line = parts.join(&b' ');
    rt::println!("{}", Bytes(&line));
    0
}
