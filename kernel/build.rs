//! Links the bare-metal kernel binary with `link.ld`; host builds (unit tests)
//! use the host's default linking.
fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    println!("cargo:rerun-if-changed=link.ld");
    println!("cargo:rerun-if-env-changed=HZ");
    // The initramfs linked into the kernel (fs/vfs.rs): $INITRAMFS_CPIO from
    // the Makefile, or an empty archive (host tests, plain cargo builds).
    println!("cargo:rerun-if-env-changed=INITRAMFS_CPIO");
    let cpio = match std::env::var("INITRAMFS_CPIO") {
        Ok(path) if !path.is_empty() => {
            println!("cargo:rerun-if-changed={path}");
            path
        }
        _ => {
            let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
            let path = format!("{out}/empty.cpio");
            // A newc archive holding only the trailer.
            let name = b"TRAILER!!!\0";
            let mut bytes = format!(
                "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
                0,
                0,
                0,
                0,
                1,
                0,
                0,
                0,
                0,
                0,
                0,
                name.len(),
                0
            )
            .into_bytes();
            bytes.extend_from_slice(name);
            while bytes.len() % 4 != 0 {
                bytes.push(0);
            }
            std::fs::write(&path, bytes).expect("writing the empty initramfs");
            path
        }
    };
    println!("cargo:rustc-env=INITRAMFS_PATH={cpio}");
    if target.ends_with("-none-softfloat") || target.ends_with("-none") {
        let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
        println!("cargo:rustc-link-arg-bins=-T{dir}/link.ld");
    }
}
