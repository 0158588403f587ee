//! `reboot [-p]`, also installed as `poweroff`: restarts the machine, or
//! powers it off with `-p` or under the name `poweroff` (reboot(2) with
//! Linux's magic numbers). Nothing is synced: the root is read-only.
#![no_std]
#![no_main]

use rt::{eprintln, Bytes};

rt::entry!(main);

const MAGIC1: usize = 0xfee1_dead;
const MAGIC2: usize = 672_274_793;
const CMD_RESTART: usize = 0x0123_4567;
const CMD_POWER_OFF: usize = 0x4321_fedc;
const SYS_REBOOT: usize = 142;

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
    let cmd = if power_off { CMD_POWER_OFF } else { CMD_RESTART };
    // SAFETY: reboot(2) takes no pointers with these commands.
    let ret = unsafe { rt::sys::syscall3(SYS_REBOOT, MAGIC1, MAGIC2, cmd) };
    eprintln!("{}: reboot(2) failed: {}", Bytes(name), rt::Errno(-ret as i32));
    1
}
