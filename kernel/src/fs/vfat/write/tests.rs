//! Writing on images that mkfs.fat made, checked with the host's
//! dosfstools and mtools (installed by `make setup`), and the name rules.

use super::*;
use crate::fs::vfat::fat::parse_dir;
use std::process::Command;
use std::sync::Mutex;

struct MemDisk(Mutex<Vec<u8>>);

impl FatDisk for MemDisk {
    fn read_at(&self, pos: u64, buf: &mut [u8]) -> Result<(), Errno> {
        let d = self.0.lock().unwrap();
        let p = pos as usize;
        buf.copy_from_slice(d.get(p..p + buf.len()).ok_or(Errno::EIO)?);
        Ok(())
    }
    fn write_at(&self, pos: u64, buf: &[u8]) -> Result<(), Errno> {
        let mut d = self.0.lock().unwrap();
        let p = pos as usize;
        d.get_mut(p..p + buf.len()).ok_or(Errno::EIO)?.copy_from_slice(buf);
        Ok(())
    }
    fn size(&self) -> u64 {
        self.0.lock().unwrap().len() as u64
    }
}

struct Img {
    dir: std::path::PathBuf,
    path: String,
}

impl Drop for Img {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn tool(cmd: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| panic!("{cmd}: {e} (make setup installs it)"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// A fresh volume of `fat` bits and `kib` KiB (512-byte clusters).
fn volume(fat: &str, kib: u32) -> (FatFs<MemDisk>, Img) {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("fat-write-test-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("v.img").to_str().unwrap().to_string();
    let (ok, out) = tool("mkfs.fat", &["-F", fat, "-s", "1", "-C", &path, &kib.to_string()]);
    assert!(ok, "{out}");
    let bytes = std::fs::read(&path).unwrap();
    let fs = FatFs::mount(MemDisk(Mutex::new(bytes))).unwrap_or_else(|e| panic!("{e:?}"));
    (fs, Img { dir, path })
}

/// Writes the volume out and runs `fsck.fat -n` on it; its report.
fn fsck(fs: &FatFs<MemDisk>, img: &Img) -> String {
    std::fs::write(&img.path, &*fs.disk.0.lock().unwrap()).unwrap();
    let (ok, out) = tool("fsck.fat", &["-n", &img.path]);
    assert!(ok, "fsck.fat -n:\n{out}");
    out
}

fn mtype(img: &Img, file: &str) -> Vec<u8> {
    let out = Command::new("mtype").args(["-i", &img.path, file]).output().expect("mtype (make setup installs it)");
    assert!(out.status.success(), "mtype {file}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

const NOW: u64 = 1_709_210_096;

#[test]
fn exact_short_names_are_upper_case_8_3_only() {
    assert_eq!(exact_short_name("README.TXT"), Some(*b"README  TXT"));
    assert_eq!(exact_short_name("NOEXT"), Some(*b"NOEXT      "));
    assert_eq!(exact_short_name("readme.txt"), None, "lower case needs a long name (shortname=mixed)");
    assert_eq!(exact_short_name("A.B.C"), None);
    assert_eq!(exact_short_name("TOOLONGNAME"), None);
    assert_eq!(exact_short_name("A B"), None);
    assert_eq!(exact_short_name(".PROFILE"), None);
}

#[test]
fn aliases_are_upper_case_with_numeric_tails_and_unique() {
    assert_eq!(&alias_for("readme.txt", &[]).unwrap(), b"README  TXT", "only the case differed: no tail");
    assert_eq!(&alias_for("A long file name.text", &[]).unwrap(), b"ALONGF~1TEX");
    assert_eq!(&alias_for(".bashrc", &[]).unwrap(), b"BASHRC~1   ");
    assert_eq!(&alias_for("a+b=c.tar.gz", &[]).unwrap(), b"A_B_CT~1GZ ");
    let mut taken = vec![*b"ALONGF~1TEX"];
    assert_eq!(&alias_for("A long file name.text", &taken).unwrap(), b"ALONGF~2TEX");
    for n in 2..=9 {
        taken.push(*format!("ALONGF~{n}TEX").as_bytes().first_chunk::<11>().unwrap());
    }
    assert_eq!(&alias_for("A long file name.text", &taken).unwrap(), b"ALONG~10TEX");
    assert_eq!(&alias_for("readme.txt", &[*b"README  TXT"]).unwrap(), b"README~1TXT");
}

#[test]
fn names_fat_cannot_hold_are_refused() {
    assert_eq!(check_name("a:b"), Err(Errno::EINVAL));
    assert_eq!(check_name("what?"), Err(Errno::EINVAL));
    assert_eq!(check_name("trailing..."), Ok("trailing"));
    assert_eq!(check_name(&"x".repeat(256)), Err(Errno::ENAMETOOLONG));
    assert!(check_name(&"x".repeat(255)).is_ok());
}

#[test]
fn long_name_entries_carry_the_checksum_and_read_back() {
    let short = *b"ALONGF~1TEX";
    let name = "A long file name.text, longer than 26 units";
    let entries = lfn_entries(name, &short);
    assert_eq!(entries.len(), name.len().div_ceil(13));
    assert_eq!(entries[0][0], 0x40 | entries.len() as u8);
    assert_eq!(entries.last().unwrap()[0], 1);
    assert!(entries.iter().all(|e| e[13] == short_name_checksum(&short) && e[11] == attr::LONG_NAME));
    let mut raw: Vec<u8> = entries.concat();
    raw.extend_from_slice(&short_entry(&short, attr::ARCHIVE, 5, 42, NOW));
    let back = parse_dir(&raw).unwrap();
    assert_eq!(back[0].name, name);
    assert_eq!(back[0].lfn_slots as usize, entries.len());
    assert_eq!((back[0].first_cluster, back[0].size, back[0].mtime), (5, 42, NOW));
}

#[test]
fn clusters_are_allocated_linked_in_every_fat_and_freed() {
    for (fat, kib) in [("32", 40 * 1024), ("16", 8 * 1024)] {
        let (mut fs, img) = volume(fat, kib);
        let free0 = fs.free_clusters().unwrap();
        let got = fs.alloc_clusters(3, None, false).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(fs.chain(got[0], None).unwrap(), got);
        // The second FAT holds the same links.
        let second = fs.geo.fat_start + fs.geo.fat_bytes;
        let n = if fat == "32" { 4 } else { 2 };
        let mut b = [0u8; 4];
        fs.disk.read_at(second + got[0] as u64 * n, &mut b[..n as usize]).unwrap();
        assert_eq!(u32::from_le_bytes(b), got[1]);
        assert_eq!(fs.free_clusters().unwrap(), free0 - 3);
        let more = fs.alloc_clusters(2, got.last().copied(), true).unwrap();
        assert_eq!(fs.chain(got[0], None).unwrap().len(), 5);
        assert!(fs.next_free > more[1]);
        fs.free_chain(got[0]).unwrap();
        assert_eq!(fs.free_clusters().unwrap(), free0);
        assert_eq!(fs.fat_entry(got[2]).unwrap(), 0);
        fsck(&fs, &img);
    }
}

#[test]
fn the_fsinfo_free_count_follows_allocation() {
    let (mut fs, img) = volume("32", 40 * 1024);
    let free0 = fs.free_clusters().unwrap();
    let mut f = FileMap::default();
    fs.write_file(&mut f, 0, &vec![7u8; 5000]).unwrap();
    let remount = FatFs::mount(MemDisk(Mutex::new(fs.disk.0.lock().unwrap().clone()))).unwrap();
    assert_eq!(remount.free, Some(free0 - 10));
    assert!(remount.next_free > f.chain[9]);
    // fsck checks the count (it reports a wrong free cluster summary).
    let e = fs.add_entry(0, "DATA.BIN", attr::ARCHIVE, f.first, f.size as u32, NOW).unwrap();
    assert_eq!(e.name, "DATA.BIN");
    let out = fsck(&fs, &img);
    assert!(!out.contains("Free cluster summary"), "{out}");
}

#[test]
fn a_tree_written_here_passes_fsck_and_reads_back_with_mtools() {
    for (fat, kib) in [("32", 40 * 1024), ("16", 8 * 1024)] {
        let (mut fs, img) = volume(fat, kib);
        let d = fs.make_dir(0, "A directory with a long name", NOW).unwrap();
        assert!(d.is_dir() && d.lfn_slots == 3);
        let sub = fs.make_dir(d.first_cluster, "sub", NOW).unwrap();
        // Enough names to grow the directory past its first cluster.
        let mut files = Vec::new();
        for i in 0..40 {
            let name = format!("file number {i} with a long name.txt");
            let data: Vec<u8> = (0..(i * 100 + 1)).map(|k| (k * 7 + i) as u8).collect();
            let mut f = FileMap::default();
            assert_eq!(fs.write_file(&mut f, 0, &data).unwrap(), data.len());
            let e = fs.add_entry(sub.first_cluster, &name, attr::ARCHIVE, f.first, f.size as u32, NOW).unwrap();
            assert_eq!(e.name, name);
            files.push((name, data, e));
        }
        assert!(fs.chain(sub.first_cluster, None).unwrap().len() > 1, "the directory grew");
        // Append to one file, across a cluster boundary, and shrink another.
        let (_, data, e) = &mut files[3];
        let mut f =
            FileMap { first: e.first_cluster, chain: fs.chain(e.first_cluster, None).unwrap(), size: e.size as u64 };
        let tail = vec![0xabu8; 700];
        let end = f.size;
        fs.write_file(&mut f, end, &tail).unwrap();
        data.extend_from_slice(&tail);
        fs.update_entry(e.pos, &EntryUpdate { size: Some(f.size as u32), ..EntryUpdate::default() }).unwrap();
        let (_, data5, e5) = &mut files[5];
        let mut f5 =
            FileMap { first: e5.first_cluster, chain: fs.chain(e5.first_cluster, None).unwrap(), size: e5.size as u64 };
        fs.truncate_file(&mut f5, 10).unwrap();
        data5.truncate(10);
        fs.update_entry(e5.pos, &EntryUpdate { size: Some(10), ..EntryUpdate::default() }).unwrap();
        // Remove one file with its clusters.
        let (_, _, gone) = files.remove(7);
        fs.remove_entry(sub.first_cluster, &gone).unwrap();
        fs.free_chain(gone.first_cluster).unwrap();
        fsck(&fs, &img);
        for (name, data, _) in &files {
            let got = mtype(&img, &format!("::/A directory with a long name/sub/{name}"));
            assert_eq!(got, *data, "{name}");
        }
        let (ok, listing) = tool("mdir", &["-i", &img.path, "::/A directory with a long name/sub"]);
        assert!(ok && !listing.contains("file number 7 "), "{listing}");
    }
}

#[test]
fn a_full_volume_gives_short_writes_then_enospc_and_stays_consistent() {
    let (mut fs, img) = volume("16", 8 * 1024);
    let mut f = FileMap::default();
    let chunk = vec![0x5au8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let end = f.size;
        match fs.write_file(&mut f, end, &chunk) {
            Ok(n) => {
                total += n as u64;
                assert!(n > 0);
            }
            Err(e) => {
                assert_eq!(e, Errno::ENOSPC);
                break;
            }
        }
    }
    assert_eq!(f.size, total);
    assert_eq!(fs.free_clusters().unwrap(), 0);
    fs.add_entry(0, "BIG.BIN", attr::ARCHIVE, f.first, f.size as u32, NOW).unwrap();
    // No cluster for a new directory.
    assert_eq!(fs.make_dir(0, "d", NOW).unwrap_err(), Errno::ENOSPC);
    fsck(&fs, &img);
    // Truncating gives the space back.
    fs.truncate_file(&mut f, 1000).unwrap();
    assert_eq!(fs.free_clusters().unwrap() as u64, total.div_ceil(512) - 2);
}

#[test]
fn dates_convert_both_ways() {
    for t in [315_532_800u64, 1_709_210_096, 951_782_400 /* 2000-02-29 */] {
        let (d, tm) = unix_to_fat(t);
        assert_eq!(crate::fs::vfat::fat::fat_time(d, tm), t);
    }
    assert_eq!(unix_to_fat(0), unix_to_fat(315_532_800), "before 1980 is clamped");
}

#[test]
fn random_creates_writes_truncates_and_removes_match_a_model_and_pass_fsck() {
    let (mut fs, img) = volume("16", 8 * 1024);
    let dir = fs.make_dir(0, "Random Tree", NOW).unwrap().first_cluster;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rand = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut files: Vec<(String, Vec<u8>, DirEnt, FileMap)> = Vec::new();
    for step in 0..400 {
        match rand(6) {
            0 | 1 if files.len() < 60 => {
                let name = match rand(3) {
                    0 => format!("F{step}.BIN"),
                    1 => format!("file {step} with a long name.data"),
                    _ => format!("mixed{step}.Txt"),
                };
                let e = fs.add_entry(dir, &name, attr::ARCHIVE, 0, 0, NOW).unwrap();
                assert_eq!(e.name, name);
                files.push((name, Vec::new(), e, FileMap::default()));
            }
            2 | 3 if !files.is_empty() => {
                let i = rand(files.len() as u64) as usize;
                let (_, data, e, map) = &mut files[i];
                let pos = rand(data.len() as u64 + 2000);
                let len = rand(3000) as usize + 1;
                let bytes: Vec<u8> = (0..len).map(|k| (k as u64 + pos + step) as u8).collect();
                assert_eq!(fs.write_file(map, pos, &bytes).unwrap(), len);
                if data.len() < pos as usize {
                    data.resize(pos as usize, 0);
                }
                let end = pos as usize + len;
                if data.len() < end {
                    data.resize(end, 0);
                }
                data[pos as usize..end].copy_from_slice(&bytes);
                let u = EntryUpdate { first: Some(map.first), size: Some(map.size as u32), ..EntryUpdate::default() };
                fs.update_entry(e.pos, &u).unwrap();
            }
            4 if !files.is_empty() => {
                let i = rand(files.len() as u64) as usize;
                let (_, data, e, map) = &mut files[i];
                let size = rand(data.len() as u64 + 1000);
                fs.truncate_file(map, size).unwrap();
                data.resize(size as usize, 0);
                let u = EntryUpdate { first: Some(map.first), size: Some(map.size as u32), ..EntryUpdate::default() };
                fs.update_entry(e.pos, &u).unwrap();
            }
            5 if !files.is_empty() => {
                let (_, _, e, map) = files.swap_remove(rand(files.len() as u64) as usize);
                fs.remove_entry(dir, &e).unwrap();
                if map.first != 0 {
                    fs.free_chain(map.first).unwrap();
                }
            }
            _ => {}
        }
    }
    fsck(&fs, &img);
    let mut names: Vec<String> = fs.read_dir(dir).unwrap().into_iter().map(|e| e.name).collect();
    let mut want: Vec<String> = files.iter().map(|f| f.0.clone()).collect();
    names.sort();
    want.sort();
    assert_eq!(names, want);
    for (name, data, _, _) in &files {
        assert_eq!(mtype(&img, &format!("::/Random Tree/{name}")), *data, "{name}");
    }
}
