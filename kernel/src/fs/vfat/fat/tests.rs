//! The FAT reader on images that dosfstools and mtools made (installed by
//! `make setup`), and on hand-made entries.

use super::*;
use std::process::Command;

struct MemDisk(Vec<u8>);

impl FatDisk for MemDisk {
    fn read_at(&self, pos: u64, buf: &mut [u8]) -> Result<(), Errno> {
        let p = pos as usize;
        let src = self.0.get(p..p + buf.len()).ok_or(Errno::EIO)?;
        buf.copy_from_slice(src);
        Ok(())
    }
    fn write_at(&self, _pos: u64, _buf: &[u8]) -> Result<(), Errno> {
        Err(Errno::EROFS)
    }
    fn size(&self) -> u64 {
        self.0.len() as u64
    }
}

fn run(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| panic!("{cmd}: {e} (make setup installs it)"));
    assert!(out.status.success(), "{cmd} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// An image of `fat` bits and `kib` KiB with a long-named tree and a file
/// of `file_len` bytes.
fn image(fat: &str, kib: u32, file_len: usize) -> (Vec<u8>, Vec<u8>) {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("fat-test-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let img = dir.join("v.img");
    let _ = std::fs::remove_file(&img);
    let img_s = img.to_str().unwrap();
    run("mkfs.fat", &["-F", fat, "-s", "1", "-C", img_s, &kib.to_string()]);
    let data: Vec<u8> = (0..file_len).map(|i| (i * 31 % 251) as u8).collect();
    let f = dir.join("data.bin");
    std::fs::write(&f, &data).unwrap();
    std::fs::write(dir.join("s.txt"), b"short\n").unwrap();
    run("mmd", &["-i", img_s, "::/A directory with a long name", "::/A directory with a long name/Nested Dir"]);
    run("mcopy", &["-i", img_s, f.to_str().unwrap(), "::/A directory with a long name/Nested Dir/the data file.bin"]);
    run("mcopy", &["-i", img_s, dir.join("s.txt").to_str().unwrap(), "::/README.TXT"]);
    let bytes = std::fs::read(&img).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    (bytes, data)
}

fn find(fs: &FatFs<MemDisk>, dir: u32, name: &str) -> DirEnt {
    let entries = fs.read_dir(dir).unwrap();
    entries.iter().find(|e| e.name == name).cloned().unwrap_or_else(|| panic!("{name} not in {entries:?}"))
}

fn check_tree(fat: &str, kib: u32, expect: FatType) {
    let (bytes, data) = image(fat, kib, 150_000);
    let fs = FatFs::mount(MemDisk(bytes)).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(fs.geo.fat_type, expect);
    let d = find(&fs, 0, "A directory with a long name");
    assert!(d.is_dir());
    let n = find(&fs, d.first_cluster, "Nested Dir");
    let f = find(&fs, n.first_cluster, "the data file.bin");
    assert_eq!(f.size as usize, data.len());
    let chain = fs.chain(f.first_cluster, Some(f.size as u64)).unwrap();
    let mut back = vec![0u8; data.len() + 10];
    assert_eq!(fs.read_chain(&chain, f.size as u64, 0, &mut back).unwrap(), data.len());
    assert_eq!(&back[..data.len()], &data[..]);
    // A read from the middle, across clusters.
    let mut mid = vec![0u8; 3000];
    assert_eq!(fs.read_chain(&chain, f.size as u64, 1000, &mut mid).unwrap(), 3000);
    assert_eq!(&mid[..], &data[1000..4000]);
    assert_eq!(fs.read_chain(&chain, f.size as u64, f.size as u64, &mut mid).unwrap(), 0);
    // mtools stores an upper-case 8.3 name as is; no NT flags.
    let r = find(&fs, 0, "README.TXT");
    assert_eq!(r.size, 6);
}

#[test]
fn reads_a_long_named_tree_on_fat32() {
    check_tree("32", 40 * 1024, FatType::Fat32);
}

#[test]
fn reads_a_long_named_tree_on_fat16() {
    check_tree("16", 8 * 1024, FatType::Fat16);
}

#[test]
fn a_corrupt_boot_sector_is_refused() {
    let (mut bytes, _) = image("32", 40 * 1024, 10);
    bytes[510] = 0;
    assert!(matches!(FatFs::mount(MemDisk(bytes.clone())), Err(Ok(BadVolume::NoSignature))));
    bytes[510] = 0x55;
    bytes[11] = 3; // bytes per sector
    assert!(matches!(FatFs::mount(MemDisk(bytes.clone())), Err(Ok(BadVolume::BadGeometry))));
    bytes[11] = 0;
    // A volume that claims more sectors than the device holds.
    bytes.truncate(1024 * 1024);
    assert!(FatFs::mount(MemDisk(bytes)).is_err());
}

#[test]
fn a_cluster_chain_that_loops_is_eio() {
    let (mut bytes, _) = image("32", 40 * 1024, 5000);
    let fs = FatFs::mount(MemDisk(bytes.clone())).unwrap();
    let d = find(&fs, 0, "A directory with a long name");
    let n = find(&fs, d.first_cluster, "Nested Dir");
    let f = find(&fs, n.first_cluster, "the data file.bin");
    let fat = fs.geo.fat_start as usize;
    let second = fs.next_cluster(f.first_cluster).unwrap().unwrap();
    // Point the second cluster back at the first.
    bytes[fat + second as usize * 4..fat + second as usize * 4 + 4].copy_from_slice(&f.first_cluster.to_le_bytes());
    let fs = FatFs::mount(MemDisk(bytes)).unwrap();
    assert_eq!(fs.chain(f.first_cluster, None), Err(Errno::EIO));
}

#[test]
fn short_names_checksums_and_times() {
    assert_eq!(short_name_text(b"README  TXT", 0), "README.TXT");
    assert_eq!(short_name_text(b"README  TXT", 0x18), "readme.txt");
    assert_eq!(short_name_text(b"NOEXT      ", 0x08), "noext");
    // The checksum of Microsoft's specification (rotate right, add).
    let mut sum = 0u8;
    for c in b"FOO     BAR" {
        sum = ((sum & 1) << 7).wrapping_add(sum >> 1).wrapping_add(*c);
    }
    assert_eq!(short_name_checksum(b"FOO     BAR"), sum);
    // 1980-01-01 00:00:00 and 2024-02-29 12:34:56.
    assert_eq!(fat_time(1 << 5 | 1, 0), 315_532_800);
    assert_eq!(fat_time((44 << 9) | (2 << 5) | 29, (12 << 11) | (34 << 5) | 28), 1_709_210_096);
}

#[test]
fn a_long_name_whose_checksum_does_not_match_falls_back_to_the_short_name() {
    let mut raw = vec![0u8; 96];
    // One long-name entry "x" with a wrong checksum, then the short entry.
    raw[0] = 0x41;
    raw[1] = b'x';
    raw[3..5].copy_from_slice(&[0, 0]);
    for o in [5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30] {
        raw[o] = 0xff;
        raw[o + 1] = 0xff;
    }
    raw[11] = attr::LONG_NAME;
    raw[13] = short_name_checksum(b"OTHER   TXT");
    raw[32..43].copy_from_slice(b"FILE    TXT");
    raw[32 + 11] = attr::ARCHIVE;
    let e = parse_dir(&raw).unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].name, "FILE.TXT");
    raw[13] = short_name_checksum(b"FILE    TXT");
    assert_eq!(parse_dir(&raw).unwrap()[0].name, "x");
}
