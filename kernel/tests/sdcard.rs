//! The SD card under QEMU: a card image made on the host (sfdisk, mkfs.fat,
//! mtools) with a static program, a 1 MiB file and long-named directories;
//! the guest finds the card, lists its partitions, mounts the FAT partition
//! at /boot, reads and checksums the file and runs the program from the
//! card. Writes to the block device reach the image: with fsync before an
//! abrupt end of QEMU, and through power-off's write-back without it. A
//! card whose FAT boot sector is corrupt, and no card at all: the kernel
//! boots and says so in one line.

mod common;

use common::{Qemu, BOOT_DEADLINE, COMMAND_DEADLINE, USER_PROMPT};
use std::path::{Path, PathBuf};
use std::process::Command;

const PART_START: u64 = 2048;
const DISK_MIB: u64 = 64;

fn tool(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| panic!("{cmd}: {e} (make setup installs it)"));
    assert!(out.status.success(), "{cmd} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3))
}

/// The test program, built for the card with the cross toolchain.
fn sdcheck(dir: &Path) -> PathBuf {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdcard/sdcheck.c");
    let out = dir.join("sdcheck");
    tool("aarch64-linux-gnu-gcc", &["-static", "-O2", "-o", out.to_str().unwrap(), src.to_str().unwrap()]);
    out
}

struct Card {
    dir: PathBuf,
    img: PathBuf,
    big: Vec<u8>,
}

impl Drop for Card {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A 64 MiB card: MBR, one FAT32 partition at 1 MiB holding sdcheck, a
/// 1 MiB file and a directory tree with long names.
fn make_card(tag: &str) -> Card {
    let dir = std::env::temp_dir().join(format!("rpi4-sdcard-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let img = dir.join("sd.img");
    let fat = dir.join("boot.fat");
    std::fs::File::create(&img).unwrap().set_len(DISK_MIB << 20).unwrap();
    let table = Command::new("sfdisk")
        .args(["--quiet", "--label", "dos", img.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(format!("start={PART_START}, type=c, bootable\n").as_bytes())?;
            c.wait()
        })
        .expect("sfdisk (make setup installs fdisk)");
    assert!(table.success());
    let kib = (DISK_MIB << 10) - PART_START / 2;
    tool(
        "mkfs.fat",
        &[
            "-F",
            "32",
            "-s",
            "1",
            "-h",
            &PART_START.to_string(),
            "-n",
            "TESTCARD",
            "-C",
            fat.to_str().unwrap(),
            &kib.to_string(),
        ],
    );
    let f = fat.to_str().unwrap();
    let big: Vec<u8> = (0..1u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(dir.join("big.bin"), &big).unwrap();
    std::fs::write(dir.join("note.txt"), b"a file with a long name\n").unwrap();
    tool("mcopy", &["-i", f, sdcheck(&dir).to_str().unwrap(), "::/sdcheck"]);
    tool("mcopy", &["-i", f, dir.join("big.bin").to_str().unwrap(), "::/big.bin"]);
    tool("mmd", &["-i", f, "::/Long Directory Name", "::/Long Directory Name/Another Level"]);
    tool(
        "mcopy",
        &[
            "-i",
            f,
            dir.join("note.txt").to_str().unwrap(),
            "::/Long Directory Name/Another Level/A Note With Spaces.txt",
        ],
    );
    let mut disk = std::fs::read(&img).unwrap();
    let part = std::fs::read(&fat).unwrap();
    let at = (PART_START * 512) as usize;
    disk[at..at + part.len()].copy_from_slice(&part);
    std::fs::write(&img, &disk).unwrap();
    Card { dir, img, big }
}

fn boot_with_card(img: &Path) -> Qemu {
    let drive = format!("if=sd,format=raw,file={}", img.display());
    let mut q = Qemu::boot_with(&["-drive", &drive]);
    q.expect_user_shell(BOOT_DEADLINE);
    q
}

/// Runs a shell line; returns its output without the echo.
fn sh(q: &mut Qemu, line: &str) -> String {
    q.send(format!("{line}; echo __end__\r").as_bytes());
    q.expect(&format!("{line}; echo __end__\r\n"));
    let out = q.expect("__end__\r\n");
    q.expect(USER_PROMPT);
    out[..out.len() - "__end__\r\n".len()].replace("\r\n", "\n")
}

#[test]
fn the_card_is_found_partitioned_mounted_at_boot_and_its_files_read_and_run() {
    let card = make_card("read");
    let mut q = boot_with_card(&card.img);
    let log = q.transcript();
    assert!(log.contains("mmc0: new standard capacity SD card"), "probe line:\n{log}");
    assert!(log.contains("mmcblk0: mmcblk0p1"), "partition line:\n{log}");
    assert!(log.contains("/dev/mmcblk0p1 mounted on /boot"), "mount line:\n{log}");

    let parts = sh(&mut q, "cat /proc/partitions");
    let sizes: Vec<(String, u64)> = parts
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 4 && f[0] == "179").then(|| (f[3].to_string(), f[2].parse().unwrap()))
        })
        .collect();
    assert_eq!(
        sizes,
        [("mmcblk0".to_string(), DISK_MIB << 10), ("mmcblk0p1".to_string(), (DISK_MIB << 10) - PART_START / 2)],
        "{parts}"
    );
    assert!(sh(&mut q, "cat /proc/mounts").contains("/dev/mmcblk0p1 /boot vfat"));

    let top = sh(&mut q, "ls /boot");
    for name in ["Long Directory Name", "big.bin", "sdcheck"] {
        assert!(top.contains(name), "{name} in /boot:\n{top}");
    }
    assert_eq!(sh(&mut q, "ls '/boot/Long Directory Name'"), "Another Level\n");
    // vfat looks names up without regard to case.
    assert_eq!(
        sh(&mut q, "cat '/boot/long directory name/ANOTHER LEVEL/a note with spaces.txt'"),
        "a file with a long name\n"
    );

    let expect = format!("sum: {:016x} {}\n", fnv(&card.big), card.big.len());
    assert_eq!(sh(&mut q, "/boot/sdcheck sum /boot/big.bin"), expect, "the program on the card checksums the file");
    // /proc/diskstats counts the sectors that came from the card.
    let stats = sh(&mut q, "cat /proc/diskstats");
    let sectors_read = |name: &str| -> u64 {
        let f: Vec<&str> =
            stats.lines().find(|l| l.split_whitespace().nth(2) == Some(name)).unwrap().split_whitespace().collect();
        assert_eq!(f.len(), 20, "{stats}");
        f[5].parse().unwrap()
    };
    assert!(sectors_read("mmcblk0p1") >= 2048, "the 1 MiB file was read from the card:\n{stats}");
    assert!(sectors_read("mmcblk0") >= sectors_read("mmcblk0p1"), "{stats}");
    assert_eq!(sh(&mut q, "/boot/sdcheck blk /dev/mmcblk0"), format!("blk: {} 512\n", DISK_MIB << 20));
    assert_eq!(
        sh(&mut q, "/boot/sdcheck blk /dev/mmcblk0p1"),
        format!("blk: {} 512\n", (DISK_MIB << 20) - PART_START * 512)
    );
    assert_eq!(sh(&mut q, "/boot/sdcheck write /boot/big.bin"), "write: EROFS\n");
    assert!(sh(&mut q, "mkdir /boot/new; echo $?").ends_with("1\n"), "mkdir on the read-only vfat fails");

    // The same partition mounted by hand a second time, and a source
    // that is no block device.
    assert_eq!(sh(&mut q, "mkdir /tmp/card; mount -t vfat /dev/mmcblk0p1 /tmp/card; echo $?"), "0\n");
    assert_eq!(
        sh(&mut q, "/boot/sdcheck sum /tmp/card/big.bin"),
        format!("sum: {:016x} {}\n", fnv(&card.big), card.big.len())
    );
    assert!(sh(&mut q, "cat /proc/mounts").contains("/dev/mmcblk0p1 /tmp/card vfat"));
    assert_eq!(sh(&mut q, "umount /tmp/card; echo $?"), "0\n");
    let out = sh(&mut q, "mount -t vfat /dev/null /tmp/card; echo $?");
    assert!(out.ends_with("1\n") && out.contains("lock device"), "ENOTBLK: {out}");
}

/// The gap between the MBR and the partition: writable through /dev/mmcblk0
/// without touching the file system.
const GAP: u64 = 100 * 512 + 7;

#[test]
fn fsynced_block_writes_are_on_the_card_even_if_the_machine_dies() {
    let card = make_card("fsync");
    let mut q = boot_with_card(&card.img);
    assert_eq!(sh(&mut q, &format!("/boot/sdcheck put /dev/mmcblk0 {GAP} fsynced-data fsync")), "put: done\n");
    // No power-off: QEMU is killed, as a pulled plug.
    drop(q);
    let disk = std::fs::read(&card.img).unwrap();
    assert_eq!(&disk[GAP as usize..GAP as usize + 12], b"fsynced-data");
}

#[test]
fn unsynced_block_writes_stay_cached_until_power_off_writes_them_back() {
    let card = make_card("poweroff");
    let mut q = boot_with_card(&card.img);
    assert_eq!(sh(&mut q, &format!("/boot/sdcheck put /dev/mmcblk0 {GAP} cached-data nosync")), "put: done\n");
    let disk = std::fs::read(&card.img).unwrap();
    assert_ne!(&disk[GAP as usize..GAP as usize + 11], b"cached-data", "written back before any sync");
    q.send(b"poweroff\r");
    assert!(q.wait_exit(COMMAND_DEADLINE).success());
    let disk = std::fs::read(&card.img).unwrap();
    assert_eq!(&disk[GAP as usize..GAP as usize + 11], b"cached-data");
}

#[test]
fn a_corrupt_fat_boot_sector_is_one_log_line_and_no_boot_mount() {
    let card = make_card("corrupt");
    let mut disk = std::fs::read(&card.img).unwrap();
    let bs = (PART_START * 512) as usize;
    disk[bs + 510] = 0;
    disk[bs + 511] = 0;
    std::fs::write(&card.img, &disk).unwrap();
    let mut q = boot_with_card(&card.img);
    let log = q.transcript();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("FAT-fs")).collect();
    assert_eq!(lines.len(), 1, "{log}");
    assert!(lines[0].contains("mmcblk0p1") && lines[0].contains("NoSignature"), "{}", lines[0]);
    assert!(!sh(&mut q, "cat /proc/mounts").contains("/boot"));
    assert!(sh(&mut q, "cat /proc/partitions").contains("mmcblk0p1"), "the partition is still there");
}

#[test]
fn without_a_card_the_kernel_boots_and_says_so() {
    let mut q = Qemu::boot_with(&[]);
    q.expect_user_shell(BOOT_DEADLINE);
    let log = q.transcript();
    assert_eq!(log.lines().filter(|l| l.contains("mmc0:")).count(), 1, "{log}");
    assert!(log.contains("mmc0: no SD card"), "{log}");
    assert!(!sh(&mut q, "cat /proc/partitions").contains("mmcblk"));
}

#[test]
fn a_broken_cluster_chain_in_the_middle_of_a_file_is_eio_to_the_reader() {
    let card = make_card("eio");
    // The file's clusters as mtools sees them, e.g. "::/big.bin <5-2052>".
    let fat_img = format!("{}@@{}", card.img.display(), PART_START * 512);
    let out = Command::new("mshowfat").args(["-i", &fat_img, "::/big.bin"]).output().expect("mshowfat (mtools)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let first: u64 = text
        .split('<')
        .nth(1)
        .and_then(|r| r.split(['-', '>']).next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("mshowfat: {text}"));
    let mut disk = std::fs::read(&card.img).unwrap();
    let bs = (PART_START * 512) as usize;
    let reserved = u16::from_le_bytes([disk[bs + 14], disk[bs + 15]]) as usize;
    // Cluster 1000 of 2048 (512-byte clusters) links to a free cluster.
    let entry = bs + reserved * 512 + (first as usize + 1000) * 4;
    disk[entry..entry + 4].copy_from_slice(&0u32.to_le_bytes());
    std::fs::write(&card.img, &disk).unwrap();
    let mut q = boot_with_card(&card.img);
    assert_eq!(sh(&mut q, "/boot/sdcheck sum /boot/big.bin"), "sum: read errno 5\n");
    // The rest of the card still reads.
    assert_eq!(
        sh(&mut q, "cat '/boot/Long Directory Name/Another Level/A Note With Spaces.txt'"),
        "a file with a long name\n"
    );
}

/// The controller's interrupt is wired and handled: `/proc/interrupts` has
/// a row for mmc0, and reading a file from the card raises its count (each
/// wait for a command or a data block arms the interrupt; QEMU latches the
/// event at once, so the armed signal fires at the arming). Waits that
/// sleep until the interrupt happen only on a board, where the card takes
/// time: QEMU cannot show them.
#[test]
fn card_transfers_complete_through_the_controller_interrupt() {
    let card = make_card("irq");
    let mut q = boot_with_card(&card.img);
    let mmc_count = |table: &str| -> u64 {
        let row = table.lines().find(|l| l.ends_with(" mmc0")).unwrap_or_else(|| panic!("no mmc0 row:\n{table}"));
        assert!(row.contains("GICv2 158 Level"), "{row}");
        row.split_whitespace().skip(1).take_while(|f| f.parse::<u64>().is_ok()).map(|f| f.parse::<u64>().unwrap()).sum()
    };
    let before = mmc_count(&sh(&mut q, "cat /proc/interrupts"));
    let expect = format!("sum: {:016x} {}\n", fnv(&card.big), card.big.len());
    assert_eq!(sh(&mut q, "/boot/sdcheck sum /boot/big.bin"), expect);
    let table = sh(&mut q, "cat /proc/interrupts");
    let after = mmc_count(&table);
    // How many of the armed signals are taken before the waiter, finding
    // its event latched, disarms again depends on the host's timing.
    assert!(after > before, "mmc0 interrupts {before} -> {after}:\n{table}");
}

/// The disk's buffer cache shows as `Buffers` in /proc/meminfo and gives
/// its clean sectors back on `vm/drop_caches` (the shrinker the OOM path
/// also runs); the files read the same afterwards, from the card.
/// `drop_caches` is write-only and takes 1 to 4, as on Linux.
#[test]
fn dropping_caches_frees_the_clean_buffers_and_files_still_read() {
    let card = make_card("drop");
    let mut q = boot_with_card(&card.img);
    let buffers_kb = |q: &mut Qemu| -> u64 {
        let line = sh(q, "grep Buffers: /proc/meminfo");
        line.split_whitespace().nth(1).and_then(|f| f.parse().ok()).unwrap_or_else(|| panic!("{line}"))
    };
    sh(&mut q, "ls -lR /boot > /dev/null");
    let before = buffers_kb(&mut q);
    assert!(before > 0, "directory and FAT sectors are cached: {before} kB");
    assert_eq!(sh(&mut q, "echo 1 > /proc/sys/vm/drop_caches; echo $?"), "0\n");
    assert_eq!(buffers_kb(&mut q), 0, "every clean buffer was dropped (from {before} kB)");
    let expect = format!("sum: {:016x} {}\n", fnv(&card.big), card.big.len());
    assert_eq!(sh(&mut q, "/boot/sdcheck sum /boot/big.bin"), expect);
    assert_eq!(sh(&mut q, "ls '/boot/Long Directory Name'"), "Another Level\n");
    let out = sh(&mut q, "cat /proc/sys/vm/drop_caches; echo $?");
    assert!(out.contains("Permission denied") && out.ends_with("1\n"), "{out}");
    let out = sh(&mut q, "echo 5 > /proc/sys/vm/drop_caches; echo $?");
    assert!(out.contains("Invalid argument") && out.ends_with("1\n"), "{out}");
    assert!(sh(&mut q, "ls -l /proc/sys/vm/drop_caches").starts_with("--w-------"));
}
