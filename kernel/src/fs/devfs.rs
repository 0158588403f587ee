//! `/dev` (Linux: drivers/base/devtmpfs.c, drivers/char/mem.c): a tmpfs of
//! its own, mounted at `/dev`, in which the kernel makes the nodes of the
//! character devices it has; `mknod` adds more. Opening a device node of
//! any tmpfs goes to the driver its device number names ([`open_rdev`]).
//!
//! | node | number | driver |
//! | --- | --- | --- |
//! | null | 1:3 | reads end, writes vanish |
//! | zero | 1:5 | zeros |
//! | full | 1:7 | zeros; writes fail with ENOSPC |
//! | random, urandom | 1:8, 1:9 | the kernel's random bytes |
//! | tty | 5:0 | the console (there is one terminal) |
//! | console | 5:1 | the console |
//! | ttyAMA0 | 204:64 | the console (the PL011 it runs on) |

use super::file::{mode, FileOps, Stat};
use super::inode::Inode;
use super::tmpfs::{TmpInode, Tmpfs};
use crate::errno::Errno;
use alloc::sync::Arc;

/// Device number `major:minor` (Linux: `MKDEV`, the old 8-bit-minor form
/// that `st_rdev` shows for small numbers).
pub const fn mkdev(major: u64, minor: u64) -> u64 {
    (major << 8) | minor
}

/// The nodes made at boot: name, number, permissions.
const NODES: [(&str, u64, u32); 8] = [
    ("null", mkdev(1, 3), 0o666),
    ("zero", mkdev(1, 5), 0o666),
    ("full", mkdev(1, 7), 0o666),
    ("random", mkdev(1, 8), 0o666),
    ("urandom", mkdev(1, 9), 0o666),
    ("tty", mkdev(5, 0), 0o666),
    ("console", mkdev(5, 1), 0o600),
    ("ttyAMA0", mkdev(204, 64), 0o660),
];

/// A new devtmpfs with the kernel's device nodes; returns its root.
pub fn devtmpfs() -> Arc<TmpInode> {
    let root = Tmpfs::new_typed("devtmpfs", 256);
    for (name, rdev, perm) in NODES {
        if let Err(e) = root.create(name, mode::S_IFCHR | perm, rdev) {
            log::warn!("devtmpfs: /dev/{name}: {e:?}");
        }
    }
    root
}

/// Opens the character device `rdev` (Linux: `chrdev_open`); ENXIO for a
/// number no driver has.
pub fn open_rdev(rdev: u64) -> Result<Arc<dyn FileOps>, Errno> {
    Ok(match rdev {
        r if r == mkdev(1, 3) => Arc::new(Mem { rdev, kind: MemKind::Null }),
        r if r == mkdev(1, 5) => Arc::new(Mem { rdev, kind: MemKind::Zero }),
        r if r == mkdev(1, 7) => Arc::new(Mem { rdev, kind: MemKind::Full }),
        r if r == mkdev(1, 8) || r == mkdev(1, 9) => Arc::new(Mem { rdev, kind: MemKind::Random }),
        r if r == mkdev(5, 0) || r == mkdev(5, 1) || r == mkdev(204, 64) => super::tty::open(),
        _ => return Err(Errno::ENXIO),
    })
}

#[derive(Clone, Copy)]
enum MemKind {
    Null,
    Zero,
    Full,
    Random,
}

/// The memory devices of major 1.
struct Mem {
    rdev: u64,
    kind: MemKind,
}

impl FileOps for Mem {
    fn read(&self, buf: &mut [u8], _pos: u64, _nonblock: bool) -> Result<usize, Errno> {
        match self.kind {
            MemKind::Null => Ok(0),
            MemKind::Zero | MemKind::Full => {
                buf.fill(0);
                Ok(buf.len())
            }
            MemKind::Random => {
                crate::random::get_random_bytes(buf);
                Ok(buf.len())
            }
        }
    }
    fn fills_reads(&self) -> bool {
        true
    }
    fn write(&self, buf: &[u8], _nonblock: bool) -> Result<usize, Errno> {
        match self.kind {
            MemKind::Full => Err(Errno::ENOSPC),
            _ => Ok(buf.len()),
        }
    }
    fn stat(&self) -> Stat {
        Stat { dev: 2, mode: mode::S_IFCHR | 0o666, nlink: 1, rdev: self.rdev, ..Stat::default() }
    }
}
