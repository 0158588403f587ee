//! Checks `make sdimage`'s output, build/sdcard.img, as a Pi 4's boot ROM and
//! firmware will read it: the MBR partition table, the FAT32 files (with
//! mtools, as a person would), config.txt's settings and the kernel's bytes.

mod common;

use std::path::PathBuf;
use std::process::Command;

fn sd_image() -> PathBuf {
    common::build_file("SD_IMAGE", "sdcard.img", "sdimage")
}

/// The FAT partition as mtools addresses it: `image@@offset`.
fn fat() -> String {
    format!("{}@@{}", sd_image().display(), 2048 * 512)
}

fn mtools(cmd: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| panic!("{cmd}: {e} (install mtools)"));
    assert!(out.status.success(), "{cmd} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

fn read_file(name: &str) -> Vec<u8> {
    mtools("mtype", &["-i", &fat(), &format!("::/{name}")])
}

#[test]
fn mbr_has_one_bootable_fat32_partition_at_1_mib() {
    let disk = std::fs::read(sd_image()).unwrap();
    assert_eq!(&disk[510..512], &[0x55, 0xaa], "MBR signature");
    let entry = &disk[446..462];
    assert_eq!(entry[0], 0x80, "bootable");
    assert_eq!(entry[4], 0x0c, "FAT32 (LBA)");
    let start = u32::from_le_bytes(entry[8..12].try_into().unwrap()) as usize;
    let sectors = u32::from_le_bytes(entry[12..16].try_into().unwrap()) as usize;
    assert_eq!(start, 2048);
    assert_eq!((start + sectors) * 512, disk.len(), "the partition fills the disk");
    for other in 1..4 {
        assert!(disk[446 + 16 * other..462 + 16 * other].iter().all(|&b| b == 0), "one partition only");
    }
    let boot_sector = &disk[start * 512..start * 512 + 512];
    assert_eq!(&boot_sector[82..90], b"FAT32   ", "FAT32 file system type");
}

#[test]
fn boot_partition_holds_firmware_device_tree_config_and_kernel() {
    let listing = String::from_utf8(mtools("mdir", &["-b", "-i", &fat(), "::/"])).unwrap();
    for name in [
        "start4.elf",
        "fixup4.dat",
        "bcm2711-rpi-4-b.dtb",
        "config.txt",
        "cmdline.txt",
        "kernel8.img",
        "firmware-versions.txt",
    ] {
        assert!(listing.lines().any(|l| l == format!("::/{name}")), "{name} missing:\n{listing}");
    }
    assert!(listing.lines().any(|l| l == "::/bin/"), "bin/ for the user's programs (/boot/bin):\n{listing}");
    let dtb = read_file("bcm2711-rpi-4-b.dtb");
    assert_eq!(&dtb[..4], &[0xd0, 0x0d, 0xfe, 0xed], "a flattened device tree");
    let versions = String::from_utf8(read_file("firmware-versions.txt")).unwrap();
    assert!(versions.starts_with("raspi-firmware "), "{versions}");
}

#[test]
fn config_txt_boots_a_64_bit_kernel_at_0x80000_with_the_uart() {
    let config = String::from_utf8(read_file("config.txt")).unwrap();
    let settings: Vec<&str> = config.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    for wanted in
        ["arm_64bit=1", "enable_uart=1", "kernel=kernel8.img", "kernel_address=0x80000", "init_uart_clock=48000000"]
    {
        assert!(settings.contains(&wanted), "{wanted} missing from:\n{config}");
    }
    assert!(config.lines().filter(|l| l.starts_with('#')).count() >= 5, "the settings are explained");
    assert_eq!(String::from_utf8(read_file("cmdline.txt")).unwrap().trim(), "log=info");
}

#[test]
fn chain_loader_card_boots_the_loader_as_kernel8_img() {
    let card = common::build_file("SD_CHAINLOAD_IMAGE", "sdcard-chainload.img", "sdimage-chainload");
    let fat = format!("{}@@{}", card.display(), 2048 * 512);
    let listing = String::from_utf8(mtools("mdir", &["-b", "-i", &fat, "::/"])).unwrap();
    assert!(listing.lines().any(|l| l == "::/kernel8.img"), "{listing}");
    assert!(!listing.contains("chainload.img"), "the firmware only looks for kernel8.img:\n{listing}");
    let loader = std::fs::read(common::build_file("LOADER_IMAGE", "chainload.img", "chainload")).unwrap();
    assert_eq!(mtools("mtype", &["-i", &fat, "::/kernel8.img"]), loader);
}

#[test]
fn kernel_on_the_card_is_the_built_image() {
    let built = std::fs::read(common::image()).unwrap();
    assert_eq!(read_file("kernel8.img"), built);
}
