//! `sleep DURATION...`: sleeps for the sum of the durations (seconds; fractions and the suffixes
//! s, m, h, d allowed).
#![no_std]
#![no_main]

use rt::{eprintln, Bytes};

rt::entry!(main);

fn main(args: rt::Args, _env: rt::Env) -> i32 {
    if args.len() < 2 {
        eprintln!("usage: sleep DURATION[s|m|h|d]...");
        return 1;
    }
    let (mut secs, mut nanos) = (0u64, 0u64);
    for arg in args.iter().skip(1) {
        let Some((s, n)) = uparse::num::parse_duration(arg) else {
            eprintln!("sleep: invalid time interval '{}'", Bytes(arg));
            return 1;
        };
        nanos += u64::from(n);
        secs = secs.saturating_add(s).saturating_add(nanos / 1_000_000_000);
        nanos %= 1_000_000_000;
    }
    let ts = rt::time::Timespec { sec: secs.min(i64::MAX as u64) as i64, nsec: nanos as i64 };
    match rt::time::sleep(ts) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("sleep: {}", e);
            1
        }
    }
}
