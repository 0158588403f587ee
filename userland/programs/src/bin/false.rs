//! `false`: exits with status 1.
#![no_std]
#![no_main]

rt::entry!(main);

fn main(_args: rt::Args, _env: rt::Env) -> i32 {
    1
}
