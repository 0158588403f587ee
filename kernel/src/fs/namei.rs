//! The path walk (Linux: fs/namei.c): from a starting place, one component
//! at a time through directories, crossing mounts down and up, `..`
//! stopping at the process's root, and symbolic links followed (at most
//! [`MAXSYMLINKS`] in one walk, then ELOOP).
//!
//! Names are looked up through the dentry cache (dcache.rs), which answers
//! repeated lookups, and lookups of missing names, without asking the
//! file system.
//!
//! Every directory walked through must exist and be one (ENOENT,
//! ENOTDIR). A trailing slash asks for a directory: the last component is
//! then followed even if it is a link, and must be a directory. Root may
//! search every directory, so no permission bit stops a walk (Linux:
//! CAP_DAC_READ_SEARCH; every process here is root).

use super::inode::{is_dir, InodeRef};
use super::namespace::{follow_mount, follow_up, PathRef};
use crate::errno::Errno;
use alloc::string::String;
use alloc::vec::Vec;

/// Most symbolic links one walk follows (Linux: MAXSYMLINKS).
pub const MAXSYMLINKS: u32 = 40;
/// Longest path accepted (Linux: PATH_MAX, with its terminating NUL).
pub const PATH_MAX: usize = 4096;
/// Longest name (Linux: NAME_MAX).
pub const NAME_MAX: usize = 255;

/// Where a walk starts and what `/` and `..` at the top mean.
#[derive(Clone)]
pub struct WalkStart {
    /// The process's root.
    pub root: PathRef,
    /// Where a relative path starts.
    pub dir: PathRef,
}

/// The kind of the last component of a path (Linux: `LAST_NORM`...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LastType {
    /// An ordinary name.
    Norm,
    /// The path is `/` (or only slashes).
    Root,
    Dot,
    DotDot,
}

/// A directory and the last name of a path in it (Linux: `nameidata`
/// after `path_parentat`).
pub struct Parent {
    pub dir: PathRef,
    pub last: String,
    pub last_type: LastType,
    /// The path ended in `/`.
    pub trailing_slash: bool,
}

fn check_length(path: &str) -> Result<(), Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(())
}

/// `..` of `p`, not above `root`.
fn dotdot(p: &PathRef, root: &PathRef) -> PathRef {
    if p.same(root) {
        return p.clone();
    }
    let below = follow_up(p.clone());
    if below.same(root) {
        return below;
    }
    match below.inode.parent() {
        Some(parent) => PathRef { mnt: below.mnt, inode: parent },
        None => below,
    }
}

/// One step from directory `dir` to its child `name` (a normal name),
/// following a link there if `follow`.
fn step(start: &WalkStart, dir: &PathRef, name: &str, follow: bool, links: &mut u32) -> Result<PathRef, Errno> {
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let child = super::dcache::d_lookup(&dir.inode, name)?;
    let next = follow_mount(PathRef { mnt: dir.mnt.clone(), inode: child });
    if follow && super::inode::file_type(&next.inode) == super::file::mode::S_IFLNK {
        *links += 1;
        if *links > MAXSYMLINKS {
            return Err(Errno::ELOOP);
        }
        let target = next.inode.readlink()?;
        let from = WalkStart { root: start.root.clone(), dir: dir.clone() };
        return walk(&from, &target, true, links);
    }
    Ok(next)
}

/// Walks `path` from `start` to the place it names; `follow`: a link as
/// the last component is followed.
fn walk(start: &WalkStart, path: &str, follow: bool, links: &mut u32) -> Result<PathRef, Errno> {
    check_length(path)?;
    let mut cur = if path.starts_with('/') { start.root.clone() } else { start.dir.clone() };
    let trailing = path.ends_with('/');
    let mut parts = path.split('/').filter(|p| !p.is_empty()).peekable();
    while let Some(part) = parts.next() {
        if !is_dir(&cur.inode) {
            return Err(Errno::ENOTDIR);
        }
        let last = parts.peek().is_none();
        cur = match part {
            "." => cur,
            ".." => dotdot(&cur, &start.root),
            name => step(start, &cur, name, !last || follow || trailing, links)?,
        };
    }
    if trailing && !is_dir(&cur.inode) {
        return Err(Errno::ENOTDIR);
    }
    Ok(cur)
}

/// The place `path` names (Linux: `filename_lookup`); `follow`: a final
/// symbolic link is followed (no AT_SYMLINK_NOFOLLOW, no O_NOFOLLOW).
pub fn path_lookup(start: &WalkStart, path: &str, follow: bool) -> Result<PathRef, Errno> {
    let mut links = 0;
    walk(start, path, follow, &mut links)
}

/// [`path_lookup`] following a final link, and how many symbolic links
/// the walk followed.
pub fn path_lookup_counting_links(start: &WalkStart, path: &str) -> Result<(PathRef, u32), Errno> {
    let mut links = 0;
    let place = walk(start, path, true, &mut links)?;
    Ok((place, links))
}

/// The directory that holds `path`'s last component, and that component
/// (Linux: `filename_parentat`).
pub fn path_parent(start: &WalkStart, path: &str) -> Result<Parent, Errno> {
    check_length(path)?;
    let trailing_slash = path.ends_with('/');
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(Parent { dir: start.root.clone(), last: String::new(), last_type: LastType::Root, trailing_slash });
    }
    let (dir_part, last) = match trimmed.rfind('/') {
        Some(i) => (&trimmed[..=i], &trimmed[i + 1..]),
        None => ("", trimmed),
    };
    let dir = if dir_part.is_empty() { start.dir.clone() } else { path_lookup(start, dir_part, true)? };
    if !is_dir(&dir.inode) {
        return Err(Errno::ENOTDIR);
    }
    if last.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let last_type = match last {
        "." => LastType::Dot,
        ".." => LastType::DotDot,
        _ => LastType::Norm,
    };
    Ok(Parent { dir, last: String::from(last), last_type, trailing_slash })
}

/// The child `name` of `dir`, or None (ENOENT); other errors pass.
pub fn lookup_child(dir: &PathRef, name: &str) -> Result<Option<PathRef>, Errno> {
    match super::dcache::d_lookup(&dir.inode, name) {
        Ok(inode) => Ok(Some(follow_mount(PathRef { mnt: dir.mnt.clone(), inode }))),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The child `name` of `dir` as stored, mounts not followed (what unlink
/// and rename act on).
pub fn lookup_raw(dir: &PathRef, name: &str) -> Result<InodeRef, Errno> {
    super::dcache::d_lookup(&dir.inode, name)
}

/// The absolute name of `p` seen from `root` (Linux: `d_path`); ENOENT if
/// `p` was removed or lies outside `root`.
pub fn d_path(p: &PathRef, root: &PathRef) -> Result<String, Errno> {
    let mut names: Vec<String> = Vec::new();
    let mut cur = p.clone();
    loop {
        if cur.same(root) {
            break;
        }
        if cur.is_mount_root() {
            match &cur.mnt.mountpoint {
                Some(at) => {
                    cur = at.clone();
                    continue;
                }
                None => return Err(Errno::ENOENT),
            }
        }
        let parent = cur.inode.parent().ok_or(Errno::ENOENT)?;
        let name = parent.name_of(&cur.inode).ok_or(Errno::ENOENT)?;
        names.push(name);
        cur = PathRef { mnt: cur.mnt.clone(), inode: parent };
    }
    let mut out = String::new();
    for n in names.iter().rev() {
        out.push('/');
        out.push_str(n);
    }
    if out.is_empty() {
        out.push('/');
    }
    Ok(out)
}
