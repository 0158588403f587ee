//! Links the bare-metal kernel binary with `link.ld`; host builds (unit tests)
//! use the host's default linking.
fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    println!("cargo:rerun-if-changed=link.ld");
    println!("cargo:rerun-if-env-changed=HZ");
    if target.ends_with("-none-softfloat") || target.ends_with("-none") {
        let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
        println!("cargo:rustc-link-arg-bins=-T{dir}/link.ld");
    }
}
