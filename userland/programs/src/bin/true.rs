//! `true`: exits with status 0.
#![no_std]
#![no_main]

rt::entry!(main);

fn main(_args: rt::Args, _env: rt::Env) -> i32 {
    0
}
