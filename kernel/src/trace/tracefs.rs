//! `/sys`, holding only the trace directory `/sys/kernel/tracing` (Linux:
//! tracefs, kernel/trace/trace.c and trace_events.c; reduced):
//!
//! - `trace`: the held entries of every CPU in time order, after Linux's
//!   header; writing anything to it empties the rings;
//! - `trace_pipe`: the same lines, consumed as read; a read with nothing to
//!   show waits (polling every 10 ms) until there is, or a signal;
//! - `tracing_on`: `1`/`0`, every event's master switch;
//! - `events/enable`, `events/<group>/enable`, `events/<group>/<event>/enable`:
//!   `1`/`0` (a group or all: `X` when mixed).

use super::events::{self, Entry, Event, EVENTS};
use crate::errno::Errno;
use crate::fs::file::{dtype, mode, DirEntry, FileOps, Stat};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

const ROOT: &str = "/kernel/tracing";

/// What a path under `/sys` names.
enum Node {
    Dir(Vec<(&'static str, u8)>),
    Trace,
    TracePipe,
    TracingOn,
    /// The enable file of a group (None: all events) or one event.
    Enable(Option<&'static str>, Option<Event>),
}

fn groups() -> Vec<&'static str> {
    let mut g: Vec<&'static str> = EVENTS.iter().map(|(g, _)| *g).collect();
    g.dedup();
    g
}

fn parse(rest: &str) -> Option<Node> {
    use dtype::{DT_DIR, DT_REG};
    match rest {
        "" | "/" => return Some(Node::Dir(alloc::vec![("kernel", DT_DIR)])),
        "/kernel" => return Some(Node::Dir(alloc::vec![("tracing", DT_DIR)])),
        _ => {}
    }
    let t = rest.strip_prefix(ROOT)?;
    match t {
        "" => Some(Node::Dir(alloc::vec![
            ("events", DT_DIR),
            ("trace", DT_REG),
            ("trace_pipe", DT_REG),
            ("tracing_on", DT_REG)
        ])),
        "/trace" => Some(Node::Trace),
        "/trace_pipe" => Some(Node::TracePipe),
        "/tracing_on" => Some(Node::TracingOn),
        "/events" => {
            let mut d = alloc::vec![("enable", DT_REG)];
            d.extend(groups().into_iter().map(|g| (g, DT_DIR)));
            Some(Node::Dir(d))
        }
        "/events/enable" => Some(Node::Enable(None, None)),
        _ => {
            let mut parts = t.strip_prefix("/events/")?.split('/');
            let first = parts.next();
            let group = *groups().iter().find(|g| Some(**g) == first)?;
            match (parts.next(), parts.next(), parts.next()) {
                (None, ..) => {
                    let mut d = alloc::vec![("enable", DT_REG)];
                    d.extend(EVENTS.iter().filter(|(g, _)| *g == group).map(|(_, e)| (*e, DT_DIR)));
                    Some(Node::Dir(d))
                }
                (Some("enable"), None, _) => Some(Node::Enable(Some(group), None)),
                (Some(name), rest, None) => {
                    let event = events::event_by_name(name).filter(|e| EVENTS[*e as usize].0 == group)?;
                    match rest {
                        None => Some(Node::Dir(alloc::vec![("enable", DT_REG)])),
                        Some("enable") => Some(Node::Enable(Some(group), Some(event))),
                        _ => None,
                    }
                }
                _ => None,
            }
        }
    }
}

/// Whether `/sys` + `rest` is a directory (Ok, ENOENT, ENOTDIR).
pub fn check_dir(rest: &str) -> Result<(), Errno> {
    match parse(rest).ok_or(Errno::ENOENT)? {
        Node::Dir(_) => Ok(()),
        _ => Err(Errno::ENOTDIR),
    }
}

/// Opens `/sys` + `rest`; `write`: for writing (only `trace`,
/// `tracing_on` and the enable files take writes).
pub fn open(rest: &str, write: bool) -> Result<Arc<dyn FileOps>, Errno> {
    let node = parse(rest).ok_or(Errno::ENOENT)?;
    let path = alloc::format!("/sys{rest}");
    Ok(match node {
        Node::Dir(entries) => {
            if write {
                return Err(Errno::EISDIR);
            }
            Arc::new(SysDir { path, entries })
        }
        Node::TracePipe => {
            if write {
                return Err(Errno::EACCES);
            }
            Arc::new(TracePipe { path, pending: crate::sync::IrqSpinLock::new(Vec::new()) })
        }
        Node::Trace if write => Arc::new(SysFile { path, data: Vec::new(), node: Node::Trace }),
        Node::Trace => {
            // A copy of the entries at open: reads at any offset see one
            // picture; the text is made as it is read.
            let entries = events::snapshot(|_| true)?;
            let mut header = String::new();
            header.try_reserve(1024).map_err(|_| Errno::ENOMEM)?;
            events::header(&mut header);
            let cursor = Cursor { start: 0, next: 0, text: header.clone().into_bytes() };
            Arc::new(TraceFile { path, entries, header, cursor: crate::sync::IrqSpinLock::new(cursor) })
        }
        Node::TracingOn => {
            let data = if events::tracing_on() { b"1\n".to_vec() } else { b"0\n".to_vec() };
            Arc::new(SysFile { path, data, node })
        }
        Node::Enable(group, event) => {
            let data = enable_text(group, event).into_bytes();
            Arc::new(SysFile { path, data, node: Node::Enable(group, event) })
        }
    })
}

/// Where a reader of `trace` is: `text` (the header or one entry's line)
/// starts at byte `start`; `next` is the entry after it.
struct Cursor {
    start: u64,
    next: usize,
    text: Vec<u8>,
}

/// `trace`, read: the header and one line per entry of the copy taken at
/// open, formatted a line at a time (the whole text of full buffers would
/// not fit the kernel heap).
struct TraceFile {
    path: String,
    entries: Vec<Entry>,
    header: String,
    cursor: crate::sync::IrqSpinLock<Cursor>,
}

impl FileOps for TraceFile {
    fn read(&self, buf: &mut [u8], pos: u64, _nonblock: bool) -> Result<usize, Errno> {
        let mut c = self.cursor.lock();
        if pos < c.start {
            // Backwards: start over.
            *c = Cursor { start: 0, next: 0, text: self.header.clone().into_bytes() };
        }
        let mut done = 0;
        let mut at = pos;
        while done < buf.len() {
            let end = c.start + c.text.len() as u64;
            if at >= end {
                let Some(e) = self.entries.get(c.next) else { break };
                let mut line = String::new();
                line.try_reserve(events::MAX_LINE).map_err(|_| Errno::ENOMEM)?;
                events::format_entry(e, &mut line);
                c.start = end;
                c.next += 1;
                c.text = line.into_bytes();
                continue;
            }
            let from = (at - c.start) as usize;
            let n = (buf.len() - done).min(c.text.len() - from);
            buf[done..done + n].copy_from_slice(&c.text[from..from + n]);
            done += n;
            at += n as u64;
        }
        Ok(done)
    }
    fn stat(&self) -> Stat {
        Stat { dev: 5, ino: 0x6000_0003, mode: mode::S_IFREG | 0o644, nlink: 1, ..Stat::default() }
    }
    fn seekable(&self) -> bool {
        true
    }
    fn path(&self) -> Option<String> {
        Some(self.path.clone())
    }
}

fn enable_text(group: Option<&str>, event: Option<Event>) -> String {
    let (mut on, mut off) = (false, false);
    for e in events::events_of(group) {
        if event.is_none_or(|x| x == e) {
            if events::is_enabled(e) {
                on = true;
            } else {
                off = true;
            }
        }
    }
    String::from(match (on, off) {
        (true, true) => "X\n",
        (true, false) => "1\n",
        _ => "0\n",
    })
}

/// A regular file of /sys.
struct SysFile {
    path: String,
    data: Vec<u8>,
    node: Node,
}

fn parse_bool(buf: &[u8]) -> Result<bool, Errno> {
    match core::str::from_utf8(buf).map(str::trim) {
        Ok("1") => Ok(true),
        Ok("0") => Ok(false),
        _ => Err(Errno::EINVAL),
    }
}

impl FileOps for SysFile {
    fn read(&self, buf: &mut [u8], pos: u64, _nonblock: bool) -> Result<usize, Errno> {
        let start = (pos as usize).min(self.data.len());
        let n = buf.len().min(self.data.len() - start);
        buf[..n].copy_from_slice(&self.data[start..start + n]);
        Ok(n)
    }
    fn write(&self, buf: &[u8], _nonblock: bool) -> Result<usize, Errno> {
        match &self.node {
            Node::Trace => events::clear(),
            Node::TracingOn => events::set_tracing_on(parse_bool(buf)?),
            Node::Enable(group, event) => {
                let on = parse_bool(buf)?;
                for e in events::events_of(*group) {
                    if event.is_none_or(|x| x == e) {
                        events::set_enabled(e, on)?;
                    }
                }
            }
            _ => return Err(Errno::EINVAL),
        }
        Ok(buf.len())
    }
    fn stat(&self) -> Stat {
        let perm = if matches!(self.node, Node::Trace | Node::TracingOn | Node::Enable(..)) { 0o644 } else { 0o444 };
        Stat { dev: 5, ino: 0x6000_0000, mode: mode::S_IFREG | perm, nlink: 1, ..Stat::default() }
    }
    fn seekable(&self) -> bool {
        true
    }
    fn path(&self) -> Option<String> {
        Some(self.path.clone())
    }
}

/// `trace_pipe`: consuming reads.
struct TracePipe {
    path: String,
    /// Text of an entry a short read did not take.
    pending: crate::sync::IrqSpinLock<Vec<u8>>,
}

impl FileOps for TracePipe {
    fn read(&self, buf: &mut [u8], _pos: u64, nonblock: bool) -> Result<usize, Errno> {
        loop {
            let mut pending = self.pending.lock();
            if pending.is_empty() {
                if let Some(e) = events::consume() {
                    let mut line = String::new();
                    line.try_reserve(events::MAX_LINE).map_err(|_| Errno::ENOMEM)?;
                    events::format_entry(&e, &mut line);
                    *pending = line.into_bytes();
                }
            }
            if !pending.is_empty() {
                let n = buf.len().min(pending.len());
                buf[..n].copy_from_slice(&pending[..n]);
                pending.drain(..n);
                return Ok(n);
            }
            drop(pending);
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            if crate::sched::task::signal_pending() {
                return Err(Errno::ERESTARTSYS);
            }
            crate::sched::core::msleep_interruptible(10);
        }
    }
    fn stat(&self) -> Stat {
        Stat { dev: 5, ino: 0x6000_0001, mode: mode::S_IFREG | 0o444, nlink: 1, ..Stat::default() }
    }
    fn path(&self) -> Option<String> {
        Some(self.path.clone())
    }
}

/// A directory of /sys.
struct SysDir {
    path: String,
    entries: Vec<(&'static str, u8)>,
}

impl FileOps for SysDir {
    fn stat(&self) -> Stat {
        Stat { dev: 5, ino: 0x6000_0002, mode: mode::S_IFDIR | 0o755, nlink: 2, ..Stat::default() }
    }
    fn read(&self, _buf: &mut [u8], _pos: u64, _nonblock: bool) -> Result<usize, Errno> {
        Err(Errno::EISDIR)
    }
    fn readdir(&self) -> Result<Vec<DirEntry>, Errno> {
        Ok(self
            .entries
            .iter()
            .enumerate()
            .map(|(i, (name, t))| DirEntry { ino: 0x6000_0100 + i as u64, dtype: *t, name: String::from(*name) })
            .collect())
    }
    fn seekable(&self) -> bool {
        true
    }
    fn path(&self) -> Option<String> {
        Some(self.path.clone())
    }
}

/// The super block of `/sys` (SYSFS_MAGIC, Linux: magic.h).
static SYS_SB: crate::fs::inode::SuperBlock =
    crate::fs::inode::SuperBlock { dev: 5, fs_type: "sysfs", magic: 0x6265_6572 };

/// A `/sys` inode, named by its path below `/sys` (the tree is fixed but
/// for the event list, so inodes are made on lookup, as /proc's are).
struct SysInode {
    /// Empty for the root, else `/`-prefixed.
    rest: String,
}

/// The root of the `/sys` mount (fs/vfs.rs).
pub fn sys_root() -> crate::fs::inode::InodeRef {
    Arc::new(SysInode { rest: String::new() })
}

impl crate::fs::inode::Inode for SysInode {
    fn getattr(&self) -> Stat {
        // Numbered by path: stable for as long as the tree is.
        let ino =
            0x6100_0000 + self.rest.bytes().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64)) % 0x100_0000;
        let (mode, nlink) = match parse(&self.rest) {
            Some(Node::Dir(_)) => (mode::S_IFDIR | 0o755, 2),
            Some(Node::TracePipe) => (mode::S_IFREG | 0o444, 1),
            _ => (mode::S_IFREG | 0o644, 1),
        };
        Stat { dev: SYS_SB.dev, ino, mode, nlink, ..Stat::default() }
    }

    fn super_block(&self) -> &crate::fs::inode::SuperBlock {
        &SYS_SB
    }

    fn lookup(&self, name: &str) -> Result<crate::fs::inode::InodeRef, Errno> {
        check_dir(&self.rest)?;
        let rest = alloc::format!("{}/{name}", self.rest);
        parse(&rest).ok_or(Errno::ENOENT)?;
        Ok(Arc::new(SysInode { rest }))
    }

    fn parent(&self) -> Option<crate::fs::inode::InodeRef> {
        let at = self.rest.rfind('/')?;
        Some(Arc::new(SysInode { rest: String::from(&self.rest[..at]) }))
    }

    fn name_of(&self, child: &crate::fs::inode::InodeRef) -> Option<String> {
        let c = child.as_any().downcast_ref::<SysInode>()?;
        c.rest.rsplit('/').next().map(String::from)
    }

    fn open(self: Arc<Self>, _path: String, open_flags: u32) -> Result<Arc<dyn FileOps>, Errno> {
        use crate::fs::file::flags;
        open(&self.rest, open_flags & flags::O_ACCMODE != flags::O_RDONLY)
    }

    fn as_any(&self) -> &dyn core::any::Any {
        self
    }

    fn as_any_arc(self: Arc<Self>) -> Arc<dyn core::any::Any + Send + Sync> {
        self
    }
}
