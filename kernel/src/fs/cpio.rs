//! The cpio "newc" archive format of the initramfs (Linux:
//! init/initramfs.c; `cpio -H newc`): a sequence of 110-byte ASCII headers,
//! each followed by the NUL-terminated path and the file's bytes, both padded
//! to 4 bytes, ending with an entry named `TRAILER!!!`.
//!
//! Entries are read in place and every length is checked against the
//! archive: a damaged archive gives an error, never a fault. Pure logic,
//! unit-tested on the host.

/// Header magic of "newc" (070701) and of its checksummed variant (070702).
const MAGIC_NEWC: &[u8; 6] = b"070701";
const MAGIC_CRC: &[u8; 6] = b"070702";
const HEADER_LEN: usize = 110;
const TRAILER: &str = "TRAILER!!!";

/// File type bits of `mode` (as in `stat`).
pub const S_IFMT: u32 = 0o170000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFLNK: u32 = 0o120000;

/// Why an archive could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpioError {
    /// A header does not start with 070701/070702.
    BadMagic { offset: usize },
    /// A header field is not 8 hexadecimal digits.
    BadField { offset: usize },
    /// A name or the file data runs past the end of the archive.
    Truncated { offset: usize },
    /// A name is not UTF-8 or not NUL-terminated.
    BadName { offset: usize },
}

/// One archive member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The path as stored (no leading `/`, often a leading `./`).
    pub name: &'a str,
    pub ino: u32,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    pub mtime: u32,
    /// The file's bytes (a symlink's target for links).
    pub data: &'a [u8],
}

impl<'a> Entry<'a> {
    /// Whether this is a regular file.
    pub fn is_file(&self) -> bool {
        self.mode & S_IFMT == S_IFREG
    }

    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.mode & S_IFMT == S_IFDIR
    }

    /// Whether this is a symbolic link.
    pub fn is_symlink(&self) -> bool {
        self.mode & S_IFMT == S_IFLNK
    }

    /// The path relative to the root: no leading `./` or `/`; the root
    /// itself (`.`) is the empty path.
    pub fn path(&self) -> &'a str {
        if self.name == "." {
            return "";
        }
        let p = self.name.strip_prefix("./").unwrap_or(self.name);
        p.trim_start_matches('/')
    }
}

/// An archive in memory.
#[derive(Clone, Copy, Debug)]
pub struct Archive<'a> {
    bytes: &'a [u8],
}

const fn align4(n: usize) -> usize {
    (n + 3) & !3
}

fn hex_field(bytes: &[u8], offset: usize, index: usize) -> Result<u32, CpioError> {
    let start = 6 + 8 * index;
    let digits = &bytes[start..start + 8];
    let mut value = 0u32;
    for &d in digits {
        let v = (d as char).to_digit(16).ok_or(CpioError::BadField { offset })?;
        value = (value << 4) | v;
    }
    Ok(value)
}

impl<'a> Archive<'a> {
    /// An archive over `bytes` (nothing is checked until it is read).
    pub const fn new(bytes: &'a [u8]) -> Self {
        Archive { bytes }
    }

    /// The entries, in archive order, up to the trailer.
    pub fn entries(&self) -> Entries<'a> {
        Entries { bytes: self.bytes, offset: 0, done: false }
    }

    /// The entry whose path (without `./` or a leading `/`) is `path`.
    pub fn find(&self, path: &str) -> Result<Option<Entry<'a>>, CpioError> {
        let wanted = path.trim_start_matches('/');
        for entry in self.entries() {
            let entry = entry?;
            if entry.path() == wanted {
                return Ok(Some(entry));
            }
        }
        Ok(None)
    }
}

/// Iterator over an archive's entries; stops at the trailer or at the first
/// error (which it yields).
pub struct Entries<'a> {
    bytes: &'a [u8],
    offset: usize,
    done: bool,
}

impl<'a> Entries<'a> {
    fn next_entry(&mut self) -> Result<Option<Entry<'a>>, CpioError> {
        let offset = self.offset;
        // Linux accepts zero padding between archives (concatenated initramfs).
        let rest = &self.bytes[offset.min(self.bytes.len())..];
        if rest.iter().all(|&b| b == 0) {
            return Ok(None);
        }
        let header = rest.get(..HEADER_LEN).ok_or(CpioError::Truncated { offset })?;
        if &header[..6] != MAGIC_NEWC && &header[..6] != MAGIC_CRC {
            return Err(CpioError::BadMagic { offset });
        }
        let field = |i| hex_field(header, offset, i);
        let (ino, mode, uid, gid, nlink, mtime) = (field(0)?, field(1)?, field(2)?, field(3)?, field(4)?, field(5)?);
        let file_size = field(6)? as usize;
        let name_size = field(11)? as usize;
        let name_start = offset + HEADER_LEN;
        let name_bytes = self.bytes.get(name_start..name_start + name_size).ok_or(CpioError::Truncated { offset })?;
        let (nul, name_bytes) = name_bytes.split_last().ok_or(CpioError::BadName { offset })?;
        if *nul != 0 {
            return Err(CpioError::BadName { offset });
        }
        let name = core::str::from_utf8(name_bytes).map_err(|_| CpioError::BadName { offset })?;
        let data_start = align4(name_start + name_size);
        let data = self.bytes.get(data_start..data_start + file_size).ok_or(CpioError::Truncated { offset })?;
        self.offset = align4(data_start + file_size);
        if name == TRAILER {
            return Ok(None);
        }
        Ok(Some(Entry { name, ino, mode, uid, gid, nlink, mtime, data }))
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<Entry<'a>, CpioError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_entry() {
            Ok(Some(entry)) => Some(Ok(entry)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
pub mod tests {
    extern crate std;
    use super::*;
    use std::format;
    use std::vec::Vec;

    /// Writes a newc archive, as `cpio -o -H newc` does.
    pub fn archive(entries: &[(&str, u32, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut push = |name: &str, mode: u32, data: &[u8], ino: u32| {
            let header = format!(
                "070701{ino:08X}{mode:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}",
                0,
                0,
                1,
                0x6553_f100,
                data.len(),
                0,
                0,
                0,
                0,
                name.len() + 1,
                0
            );
            out.extend_from_slice(header.as_bytes());
            out.extend_from_slice(name.as_bytes());
            out.push(0);
            while out.len() % 4 != 0 {
                out.push(0);
            }
            out.extend_from_slice(data);
            while out.len() % 4 != 0 {
                out.push(0);
            }
        };
        for (i, (name, mode, data)) in entries.iter().enumerate() {
            push(name, *mode, data, i as u32 + 1);
        }
        push(TRAILER, 0, b"", 0);
        out
    }

    #[test]
    fn reads_files_directories_and_links_in_order() {
        let bytes = archive(&[
            (".", S_IFDIR | 0o755, b""),
            ("./bin", S_IFDIR | 0o755, b""),
            ("./bin/init", S_IFREG | 0o755, b"\x7fELF..."),
            ("./bin/sh", S_IFLNK | 0o777, b"init"),
            ("./etc/motd", S_IFREG | 0o644, b"hello\n"),
        ]);
        let archive = Archive::new(&bytes);
        let entries: Vec<Entry> = archive.entries().map(|e| e.unwrap()).collect();
        let paths: Vec<&str> = entries.iter().map(|e| e.path()).collect();
        assert_eq!(paths, ["", "bin", "bin/init", "bin/sh", "etc/motd"]);
        assert!(entries[1].is_dir() && entries[2].is_file() && entries[3].is_symlink());
        assert_eq!(entries[2].mode & 0o777, 0o755);
        assert_eq!(entries[3].data, b"init");
        assert_eq!(archive.find("/etc/motd").unwrap().unwrap().data, b"hello\n");
        assert_eq!(archive.find("bin/init").unwrap().unwrap().ino, 3);
        assert_eq!(archive.find("nope").unwrap(), None);
    }

    #[test]
    fn reads_an_archive_written_by_gnu_cpio() {
        let bytes = include_bytes!("testdata/small.cpio");
        let archive = Archive::new(bytes);
        let mut paths: Vec<&str> = archive.entries().map(|e| e.unwrap().path()).collect();
        paths.sort_unstable();
        assert_eq!(paths, ["", "bin", "bin/init", "bin/sh", "etc", "etc/motd"]);
        let init = archive.find("bin/init").unwrap().unwrap();
        assert!(init.is_file());
        assert_eq!(init.data, b"ELF");
        let sh = archive.find("bin/sh").unwrap().unwrap();
        assert!(sh.is_symlink());
        assert_eq!(sh.data, b"init");
        assert_eq!(archive.find("etc/motd").unwrap().unwrap().data, b"hello\n");
        assert!(archive.find("etc").unwrap().unwrap().is_dir());
    }

    #[test]
    fn every_length_is_checked() {
        let bytes = archive(&[("./a", S_IFREG | 0o644, b"0123456789")]);
        // Cut inside the data of the first entry.
        let cut = &bytes[..HEADER_LEN + 8];
        assert_eq!(Archive::new(cut).entries().next(), Some(Err(CpioError::Truncated { offset: 0 })));
        let mut bad = bytes.clone();
        bad[0] = b'X';
        assert_eq!(Archive::new(&bad).entries().next(), Some(Err(CpioError::BadMagic { offset: 0 })));
        let mut bad = bytes.clone();
        bad[6 + 8 * 6] = b'G'; // filesize field
        assert_eq!(Archive::new(&bad).entries().next(), Some(Err(CpioError::BadField { offset: 0 })));
        let mut bad = bytes.clone();
        bad[HEADER_LEN + 3] = b'x'; // the name's NUL
        assert_eq!(Archive::new(&bad).entries().next(), Some(Err(CpioError::BadName { offset: 0 })));
        // An error ends the iteration.
        assert_eq!(Archive::new(&bad).entries().count(), 1);
    }

    #[test]
    fn an_empty_or_zero_padded_archive_has_no_entries() {
        assert_eq!(Archive::new(&[]).entries().count(), 0);
        let mut padded = archive(&[("./x", S_IFREG, b"x")]);
        padded.extend_from_slice(&[0; 512]);
        assert_eq!(Archive::new(&padded).entries().count(), 1);
    }
}
