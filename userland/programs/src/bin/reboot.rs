//! `reboot [-p]`, also installed as `poweroff`: restarts the machine, or
//! powers it off with `-p` or under the name `poweroff` (reboot(2) with
//! Linux's magic numbers). Nothing is synced: the root is read-only.
#![no_std]
#![no_main]

use rt::process::{self, reboot_cmd};
use rt::{eprintln, Bytes};

rt::entry!(main);

fn main(args: rt::Args, _env: rt::Env) -> i32 {
    let name = args.iter().next().map(|a| a.rsplit(|&b| b == b'/').next().unwrap_or(a)).unwrap_or(b"reboot");
    let mut power_off = name == b"poweroff";
    for arg in args.iter().skip(1) {
        match arg {
            b"-p" => power_off = true,
            _ => {
                eprintln!("{}: unknown option '{}'\nusage: reboot [-p] | poweroff", Bytes(name), Bytes(arg));
                return 2;
            }
        }
    }
    let cmd = if power_off { reboot_cmd::POWER_OFF } else { reboot_cmd::RESTART };
    eprintln!("{}: reboot(2) failed: {}", Bytes(name), process::reboot(cmd));
    1
}
