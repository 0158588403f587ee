//! `env`: prints the environment, one `NAME=value` per line.
#![no_std]
#![no_main]

rt::entry!(main);

fn main(args: rt::Args, env: rt::Env) -> i32 {
    if args.len() > 1 {
        rt::eprintln!("usage: env (running a command is not supported)");
        return 1;
    }
    for entry in env.iter() {
        let _ = rt::io::writev(rt::io::STDOUT, &[entry, b"\n"]);
    }
    0
}
