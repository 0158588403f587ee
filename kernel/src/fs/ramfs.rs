//! The initramfs, read-only (Linux: init/initramfs.c unpacks it into a
//! tmpfs; this kernel serves the archive in place).
//!
//! The build packs `build/rootfs/` (userland's programs, plus
//! `INITRAMFS_EXTRA`) into a cpio "newc" archive that is linked into the
//! kernel image, as Linux's built-in initramfs (`CONFIG_INITRAMFS_SOURCE`).
//! At boot the archive is indexed by path; directories implied by a file's
//! path exist even without an entry of their own.

use super::cpio::Archive;
use super::file::{dtype, mode, DirEntry, FileOps, Stat};
use crate::errno::Errno;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use spin::Once;

/// The archive the build linked in (kernel/build.rs).
static INITRAMFS: &[u8] = include_bytes!(env!("INITRAMFS_PATH"));

/// One node of the tree.
#[derive(Clone, Copy, Debug)]
pub struct Node {
    pub ino: u64,
    pub mode: u32,
    pub mtime: u32,
    pub data: &'static [u8],
}

impl Node {
    /// Whether it is a directory.
    pub fn is_dir(&self) -> bool {
        self.mode & mode::S_IFMT == mode::S_IFDIR
    }
}

static INDEX: Once<BTreeMap<String, Node>> = Once::new();

/// Indexes the archive; returns the number of files. A damaged archive is
/// indexed up to the damage.
pub fn init() -> usize {
    let index = INDEX.call_once(|| {
        let mut map = BTreeMap::new();
        map.insert(String::from("/"), Node { ino: 1, mode: mode::S_IFDIR | 0o755, mtime: 0, data: &[] });
        for (i, entry) in Archive::new(INITRAMFS).entries().enumerate() {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    log::error!("initramfs: damaged archive: {e:?}");
                    break;
                }
            };
            let path = entry.path();
            if path.is_empty() {
                continue;
            }
            let full = alloc::format!("/{path}");
            // Parents first, implied.
            let mut at = 0;
            while let Some(slash) = full[at + 1..].find('/') {
                at += slash + 1;
                map.entry(String::from(&full[..at])).or_insert(Node {
                    ino: 0,
                    mode: mode::S_IFDIR | 0o755,
                    mtime: 0,
                    data: &[],
                });
            }
            map.insert(full, Node { ino: i as u64 + 2, mode: entry.mode, mtime: entry.mtime, data: entry.data });
        }
        // Implied directories get numbers after the archive's.
        let mut next = map.len() as u64 + 1_000;
        for node in map.values_mut() {
            if node.ino == 0 {
                node.ino = next;
                next += 1;
            }
        }
        map
    });
    index.values().filter(|n| !n.is_dir()).count()
}

fn index() -> &'static BTreeMap<String, Node> {
    INDEX.get().expect("initramfs used before fs::ramfs::init")
}

/// The node at a normalised absolute path.
pub fn lookup(path: &str) -> Option<Node> {
    index().get(path).copied()
}

/// The entries directly inside directory `dir` (normalised).
pub fn children(dir: &str) -> Vec<DirEntry> {
    let prefix = if dir == "/" { String::from("/") } else { alloc::format!("{dir}/") };
    index()
        .range(prefix.clone()..)
        .take_while(|(p, _)| p.starts_with(&prefix))
        .filter(|(p, _)| p.len() > prefix.len() && !p[prefix.len()..].contains('/'))
        .map(|(p, n)| DirEntry {
            ino: n.ino,
            dtype: match n.mode & mode::S_IFMT {
                mode::S_IFDIR => dtype::DT_DIR,
                mode::S_IFLNK => dtype::DT_LNK,
                _ => dtype::DT_REG,
            },
            name: String::from(&p[prefix.len()..]),
        })
        .collect()
}

/// An open initramfs file or directory.
pub struct RamFile {
    pub path: String,
    pub node: Node,
}

impl RamFile {
    /// Opens `path` (normalised), already looked up.
    pub fn open(path: String, node: Node) -> Arc<RamFile> {
        Arc::new(RamFile { path, node })
    }
}

impl FileOps for RamFile {
    fn read(&self, buf: &mut [u8], pos: u64, _nonblock: bool) -> Result<usize, Errno> {
        if self.node.is_dir() {
            return Err(Errno::EISDIR);
        }
        let data = self.node.data;
        let start = (pos as usize).min(data.len());
        let n = buf.len().min(data.len() - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        Ok(n)
    }

    fn write(&self, _buf: &[u8], _nonblock: bool) -> Result<usize, Errno> {
        Err(Errno::EBADF)
    }

    fn stat(&self) -> Stat {
        Stat {
            dev: 1,
            ino: self.node.ino,
            mode: self.node.mode,
            nlink: if self.node.is_dir() { 2 } else { 1 },
            rdev: 0,
            size: if self.node.is_dir() { 0 } else { self.node.data.len() as i64 },
            mtime: self.node.mtime as i64,
        }
    }

    fn readdir(&self) -> Result<Vec<DirEntry>, Errno> {
        if !self.node.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let mut list = children(&self.path);
        if self.path == "/" {
            for name in ["dev", "proc"] {
                if !list.iter().any(|e| e.name == name) {
                    list.push(DirEntry {
                        ino: if name == "dev" { 2_000_000 } else { 3_000_000 },
                        dtype: dtype::DT_DIR,
                        name: String::from(name),
                    });
                }
            }
        }
        Ok(list)
    }

    fn seekable(&self) -> bool {
        true
    }

    fn path(&self) -> Option<String> {
        Some(self.path.clone())
    }
}
