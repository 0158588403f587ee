//! Links every binary with `userland/link.ld` (static, base 0x400000, entry `_start`) when building
//! for the bare-metal aarch64 target.
fn main() {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../link.ld");
    println!("cargo:rerun-if-changed={}", script.display());
    if std::env::var("TARGET").as_deref() == Ok("aarch64-unknown-none") {
        println!("cargo:rustc-link-arg-bins=-T{}", script.display());
        println!("cargo:rustc-link-arg-bins=-zmax-page-size=4096");
        println!("cargo:rustc-link-arg-bins=-static");
        println!("cargo:rustc-link-arg-bins=--no-dynamic-linker");
    }
}
