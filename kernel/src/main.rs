//! The kernel binary, `kernel8`: everything lives in the `kernel` library; this
//! crate only links it with `link.ld` into the image the firmware loads.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
extern crate kernel;

/// Built for the host (as `cargo test` does for the whole workspace), the
/// kernel binary has nothing to run.
#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("kernel8 runs on a Raspberry Pi 4 or QEMU raspi4b: see `make run`");
    std::process::exit(1);
}
