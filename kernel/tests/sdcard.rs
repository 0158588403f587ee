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
    make_card_with(tag, DISK_MIB, "32")
}

/// The same on a card of `disk_mib` MiB with a FAT of `fat` bits.
fn make_card_with(tag: &str, disk_mib: u64, fat_bits: &str) -> Card {
    let dir = std::env::temp_dir().join(format!("rpi4-sdcard-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let img = dir.join("sd.img");
    let fat = dir.join("boot.fat");
    std::fs::File::create(&img).unwrap().set_len(disk_mib << 20).unwrap();
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
    let kib = (disk_mib << 10) - PART_START / 2;
    tool(
        "mkfs.fat",
        &[
            "-F",
            fat_bits,
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
    sh_within(q, line, COMMAND_DEADLINE)
}

/// The same for a line that may take longer than a command usually does.
fn sh_within(q: &mut Qemu, line: &str, deadline: std::time::Duration) -> String {
    q.send(format!("{line}; echo __end__\r").as_bytes());
    q.expect(&format!("{line}; echo __end__\r\n"));
    let out = q.expect_within("__end__\r\n", deadline);
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
    assert!(sh(&mut q, "cat /proc/mounts").contains("/dev/mmcblk0p1 /boot vfat rw"));
    // /boot/bin is on the shell's PATH.
    assert_eq!(
        sh(&mut q, "mkdir /boot/bin; cp /boot/sdcheck /boot/bin/; sdcheck blk /dev/mmcblk0"),
        format!("blk: {} 512\n", DISK_MIB << 20)
    );

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

/// A truncated image (4 MiB left of a 64 MiB card whose table still
/// describes the whole card): the kernel boots, says in one line that the
/// partition reaches past the end, and leaves it unused; the disk itself
/// is there and readable.
#[test]
fn a_truncated_card_is_one_log_line_and_no_boot_mount() {
    let card = make_card("truncated");
    let file = std::fs::OpenOptions::new().write(true).open(&card.img).unwrap();
    file.set_len(4 << 20).unwrap();
    drop(file);
    let mut q = boot_with_card(&card.img);
    let log = q.transcript();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("beyond the end")).collect();
    assert_eq!(lines.len(), 1, "{log}");
    assert!(lines[0].contains("mmcblk0: p1") && lines[0].contains("(8192 sectors)"), "{}", lines[0]);
    assert!(!sh(&mut q, "cat /proc/mounts").contains("/boot"));
    let parts = sh(&mut q, "cat /proc/partitions");
    assert!(parts.contains("mmcblk0") && !parts.contains("mmcblk0p1"), "{parts}");
    assert_eq!(sh(&mut q, "wc -c < /dev/mmcblk0"), "4194304\n", "the whole disk reads to its end");
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

/// The card's FAT partition as mtools names it (`image@@offset`).
fn fat_of(card: &Card) -> String {
    format!("{}@@{}", card.img.display(), PART_START * 512)
}

/// `fsck.fat -n` on the card's partition (copied out): it must find
/// nothing to fix.
fn fsck(card: &Card) {
    let disk = std::fs::read(&card.img).unwrap();
    let part = card.dir.join("part.img");
    std::fs::write(&part, &disk[(PART_START * 512) as usize..]).unwrap();
    let out = Command::new("fsck.fat").args(["-n", part.to_str().unwrap()]).output().expect("fsck.fat (dosfstools)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "fsck.fat -n found errors:\n{text}");
}

/// A file of the card read on the host.
fn mtype(card: &Card, path: &str) -> Vec<u8> {
    let out = Command::new("mtype").args(["-i", &fat_of(card), path]).output().expect("mtype (mtools)");
    assert!(out.status.success(), "mtype {path}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// The names of a directory of the card, as the host lists them.
fn mdir(card: &Card, path: &str) -> Vec<String> {
    let out = Command::new("mdir").args(["-i", &fat_of(card), "-b", path]).output().expect("mdir (mtools)");
    assert!(out.status.success(), "mdir {path}: {}", String::from_utf8_lossy(&out.stderr));
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim_end_matches('/').rsplit('/').next().map(str::to_string))
        .filter(|n| !n.is_empty())
        .collect();
    names.sort();
    names
}

#[test]
fn files_and_directories_written_on_boot_are_on_the_card_after_sync_and_power_off() {
    let card = make_card("roundtrip");
    let mut q = boot_with_card(&card.img);
    let steps = [
        "cd /boot",
        "echo hello > new.txt",
        "echo world >> new.txt",
        "mkdir 'A New Directory'",
        "echo 'long named content' > 'A New Directory/A file with a long name.text'",
        "mv new.txt 'A New Directory/moved.txt'",
        "mv 'A New Directory/A file with a long name.text' 'A New Directory/Renamed Long Name.txt'",
        "echo old > target.txt",
        "echo source > source.txt",
        "mv source.txt target.txt",
        "echo x > temp.txt",
        "rm temp.txt",
        "mkdir gone",
        "rmdir gone",
        "mkdir -p 'Outer Dir/Inner Dir'",
        "echo inner > 'Outer Dir/Inner Dir/deep.txt'",
        "mv 'Outer Dir/Inner Dir' 'A New Directory/Moved Inner'",
        "rmdir 'Outer Dir'",
        "cp big.bin copy.bin",
        "echo lower > lower.txt",
        "echo UPPER > UPPER.TXT",
        "cd /",
    ];
    for s in steps {
        assert_eq!(sh(&mut q, &format!("{s}; echo $?")), "0\n", "{s}");
    }
    // What the guest sees before the card is read elsewhere.
    assert_eq!(sh(&mut q, "cat '/boot/A New Directory/moved.txt'"), "hello\nworld\n");
    assert_eq!(sh(&mut q, "cat '/boot/A New Directory/Moved Inner/deep.txt'"), "inner\n");
    assert_eq!(sh(&mut q, "cd '/boot/A New Directory/Moved Inner/..' && pwd"), "/boot/A New Directory\n");
    let expect = format!("sum: {:016x} {}\n", fnv(&card.big), card.big.len());
    assert_eq!(sh(&mut q, "/boot/sdcheck sum /boot/copy.bin"), expect);
    // Linux's vfat errors.
    let err = |q: &mut Qemu, s: &str| sh(q, &format!("{s} 2>&1; echo $?"));
    let out = err(&mut q, "mkdir /boot/full && echo a > /boot/full/f && rmdir /boot/full");
    assert!(out.contains("Directory not empty") && out.ends_with("1\n"), "{out}");
    assert_eq!(sh(&mut q, "rm /boot/full/f; rmdir /boot/full; echo $?"), "0\n");
    assert!(err(&mut q, "ln -s target.txt /boot/link").contains("Operation not permitted"));
    assert!(err(&mut q, "mknod /boot/null c 1 3").contains("Operation not permitted"));
    assert!(err(&mut q, "ln /boot/target.txt /boot/hard").contains("Operation not permitted"));
    assert!(err(&mut q, "chown 1000 /boot/target.txt").contains("Operation not permitted"));
    assert!(err(&mut q, "echo x > '/boot/bad:name'").contains("Invalid argument"));
    // An unlinked file stays readable while open; its clusters go at the
    // last close (fsck finds none lost below).
    assert_eq!(
        sh(
            &mut q,
            "echo still-here > /boot/open.txt; busybox sh -c 'exec 3< /boot/open.txt; rm /boot/open.txt; cat <&3'"
        ),
        "still-here\n"
    );
    assert!(!sh(&mut q, "ls /boot").contains("open.txt"));
    // A write past the end leaves zeros between.
    assert_eq!(
        sh(&mut q, "/boot/sdcheck put /boot/gap.bin 5000 end nosync; od -An -c -j 4998 /boot/gap.bin"),
        "put: done\n  \\0  \\0   e   n   d\n"
    );
    // A name is also found by its 8.3 alias, as on Linux.
    assert_eq!(sh(&mut q, "cat '/boot/A New Directory/RENAME~1.TXT'"), "long named content\n");
    // chmod of the write bits is the read-only attribute.
    assert_eq!(sh(&mut q, "busybox chmod a-w /boot/target.txt; stat -c %a /boot/target.txt"), "555\n");
    assert_eq!(sh(&mut q, "busybox chmod 644 /boot/lower.txt; stat -c %a /boot/lower.txt"), "755\n", "ignored");
    // truncate and utimensat.
    assert_eq!(sh(&mut q, "truncate -s 3 /boot/UPPER.TXT; cat /boot/UPPER.TXT; echo"), "UPP\n");
    assert_eq!(
        sh(&mut q, "busybox touch -d '2020-06-15 12:30:00' /boot/lower.txt; date -r /boot/lower.txt +%F"),
        "2020-06-15\n"
    );
    assert_eq!(sh(&mut q, "sync; echo $?"), "0\n");
    q.send(b"poweroff\r");
    assert!(q.wait_exit(COMMAND_DEADLINE).success());

    fsck(&card);
    assert_eq!(mtype(&card, "::/A New Directory/moved.txt"), b"hello\nworld\n");
    assert_eq!(mtype(&card, "::/A New Directory/Renamed Long Name.txt"), b"long named content\n");
    assert_eq!(mtype(&card, "::/A New Directory/Moved Inner/deep.txt"), b"inner\n");
    assert_eq!(mtype(&card, "::/target.txt"), b"source\n");
    assert_eq!(mtype(&card, "::/UPPER.TXT"), b"UPP");
    let gap = mtype(&card, "::/gap.bin");
    assert_eq!((gap.len(), &gap[5000..]), (5003, &b"end"[..]));
    assert!(gap[..5000].iter().all(|&b| b == 0));
    assert_eq!(mtype(&card, "::/copy.bin"), card.big);
    assert_eq!(
        mdir(&card, "::/"),
        [
            "A New Directory",
            "Long Directory Name",
            "UPPER.TXT",
            "big.bin",
            "copy.bin",
            "gap.bin",
            "lower.txt",
            "sdcheck",
            "target.txt"
        ]
    );
    assert_eq!(mdir(&card, "::/A New Directory"), ["Moved Inner", "Renamed Long Name.txt", "moved.txt"]);
    // The read-only attribute, and the time utimensat set.
    let attrs = Command::new("mattrib").args(["-i", &fat_of(&card), "::/target.txt"]).output().unwrap();
    let attrs = String::from_utf8_lossy(&attrs.stdout).into_owned();
    assert!(attrs.split("::").next().unwrap().contains('R'), "{attrs}");
    let listing = Command::new("mdir").args(["-i", &fat_of(&card), "::/lower.txt"]).output().unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout).into_owned();
    assert!(listing.contains("2020-06-15") && listing.contains("12:30"), "{listing}");
}

#[test]
fn a_file_written_and_fsynced_is_on_the_card_even_if_the_machine_dies() {
    let card = make_card("fatfsync");
    let mut q = boot_with_card(&card.img);
    assert_eq!(sh(&mut q, "/boot/sdcheck put '/boot/Fsynced File.txt' 0 fsynced-data fsync"), "put: done\n");
    // No sync, no power-off: QEMU is killed, as a pulled plug.
    drop(q);
    assert_eq!(mtype(&card, "::/Fsynced File.txt"), b"fsynced-data");
    fsck(&card);
}

#[test]
fn umount_writes_the_volume_back() {
    let card = make_card("umount");
    let mut q = boot_with_card(&card.img);
    // A second mount of the partition is the same volume.
    assert_eq!(sh(&mut q, "mkdir /tmp/card; mount -t vfat /dev/mmcblk0p1 /tmp/card; echo $?"), "0\n");
    assert_eq!(sh(&mut q, "echo via-second-mount > /tmp/card/second.txt; cat /boot/second.txt"), "via-second-mount\n");
    assert_eq!(sh(&mut q, "umount /tmp/card; echo written > /boot/unmounted.txt; umount /boot; echo $?"), "0\n");
    drop(q);
    assert_eq!(mtype(&card, "::/unmounted.txt"), b"written\n");
    assert_eq!(mtype(&card, "::/second.txt"), b"via-second-mount\n");
    fsck(&card);
}

#[test]
fn filling_the_card_gives_enospc_and_leaves_a_consistent_volume() {
    let card = make_card_with("full", 8, "16");
    let mut q = boot_with_card(&card.img);
    let out = sh_within(&mut q, "dd if=/dev/zero of=/boot/fill bs=64k 2>&1; echo $?", 4 * COMMAND_DEADLINE);
    assert!(out.contains("No space left on device") && out.ends_with("1\n"), "{out}");
    let out = sh(&mut q, "echo more > /boot/more.txt; echo $?");
    assert!(out.ends_with("1\n"), "{out}");
    assert_eq!(sh(&mut q, "df /boot | tail -1 | awk '{print $4}'"), "0\n");
    assert_eq!(sh(&mut q, "sync; echo $?"), "0\n");
    fsck(&card);
    let size: u64 = sh(&mut q, "stat -c %s /boot/fill").trim().parse().unwrap();
    assert!(size > 4 << 20, "{size}");
    // The space comes back.
    assert_eq!(sh(&mut q, "rm /boot/fill /boot/more.txt; echo after > /boot/after.txt; echo $?"), "0\n");
    q.send(b"poweroff\r");
    assert!(q.wait_exit(COMMAND_DEADLINE).success());
    fsck(&card);
    assert_eq!(mtype(&card, "::/after.txt"), b"after\n");
    assert!(!mdir(&card, "::/").contains(&"fill".to_string()));
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
