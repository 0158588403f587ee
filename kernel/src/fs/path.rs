//! Path names as text: joining a relative path to a directory and
//! resolving `.` and `..`, for the names files are shown by (`/proc`,
//! execve's program name). The walk that finds files is namei.rs, which
//! follows symbolic links and mounts; this does not. Pure logic,
//! host-tested.

use crate::errno::Errno;
use alloc::string::String;
use alloc::vec::Vec;

/// Longest path accepted (Linux: PATH_MAX, with its terminating NUL).
pub const PATH_MAX: usize = 4096;

/// The absolute, normalised form of `path` seen from directory `cwd`
/// (itself absolute and normalised): no `.`, `..` or empty components, no
/// trailing slash; `/` for the root. `..` at the root stays at the root.
/// A path that is already that form is copied as it is.
pub fn normalize(cwd: &str, path: &str) -> Result<String, Errno> {
    if is_normal_absolute(path) {
        return Ok(String::from(path));
    }
    normalize_with(cwd, path, &mut |_| Ok(()))
}

/// [`normalize`] as a walk does it: every component of `path` that is
/// walked through (followed by another one, `.` and `..` included) must be
/// a directory, which `check_dir` answers for an absolute normalised path
/// with `Ok`, `ENOENT` or `ENOTDIR`. So `/missing/..` is ENOENT and
/// `/bin/sh/x` ENOTDIR, as in Linux, not `/` and `/bin/sh/x`'s lookup.
pub fn normalize_with(
    cwd: &str,
    path: &str,
    check_dir: &mut dyn FnMut(&str) -> Result<(), Errno>,
) -> Result<String, Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let mut parts: Vec<&str> = Vec::new();
    let join = |parts: &[&str]| {
        let mut out = String::with_capacity(path.len() + cwd.len());
        for p in parts {
            out.push('/');
            out.push_str(p);
        }
        if out.is_empty() {
            out.push('/');
        }
        out
    };
    // The current directory is one already; the path's own components are
    // checked as they are walked through.
    let (base, own) = if path.starts_with('/') { ("", path) } else { (cwd, path) };
    parts.extend(base.split('/').filter(|p| !p.is_empty() && *p != "."));
    let mut unchecked = false;
    for part in own.split('/') {
        if part.is_empty() {
            continue;
        }
        if unchecked {
            check_dir(&join(&parts))?;
            unchecked = false;
        }
        match part {
            "." => {}
            ".." => {
                parts.pop();
            }
            p if p.len() > 255 => return Err(Errno::ENAMETOOLONG),
            p => {
                parts.push(p);
                unchecked = true;
            }
        }
    }
    Ok(join(&parts))
}

/// The last component of a normalised path (`/` for the root).
pub fn basename(path: &str) -> &str {
    match path.rfind('/') {
        Some(i) if i + 1 < path.len() => &path[i + 1..],
        _ => "/",
    }
}

/// Whether `path` named a directory explicitly (a trailing `/`, `.` or `..`).
pub fn wants_directory(path: &str) -> bool {
    path.ends_with('/') || path.ends_with("/.") || path.ends_with("/..") || path == "." || path == ".."
}

/// Whether `path` is already what [`normalize`] makes of an absolute
/// path: `/`, or `/` followed by components that are neither empty, `.`
/// nor `..`, with no trailing slash, shorter than PATH_MAX. One pass over
/// the bytes, no allocation.
pub fn is_normal_absolute(path: &str) -> bool {
    let b = path.as_bytes();
    if b.first() != Some(&b'/') || b.len() >= PATH_MAX {
        return false;
    }
    if b.len() == 1 {
        return true;
    }
    let mut start = 1;
    for i in 1..=b.len() {
        if i == b.len() || b[i] == b'/' {
            match &b[start..i] {
                b"" | b"." | b".." => return false,
                _ => start = i + 1,
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_absolute_paths_are_recognised() {
        for p in ["/", "/bin", "/bin/sh", "/a.b/..c/.d", "/tests/exit0"] {
            assert!(is_normal_absolute(p), "{p}");
            assert_eq!(normalize("/", p).unwrap(), p);
        }
        for p in ["", "bin", "//", "/bin/", "/bin//sh", "/./a", "/a/.", "/a/..", "/../a", "./a"] {
            assert!(!is_normal_absolute(p), "{p}");
        }
        let long = "/a".repeat(PATH_MAX / 2);
        assert!(!is_normal_absolute(&long), "PATH_MAX is normalize's ENAMETOOLONG");
    }

    #[test]
    fn joins_and_resolves_dots() {
        assert_eq!(normalize("/", "bin/sh").unwrap(), "/bin/sh");
        assert_eq!(normalize("/tests", "../bin//./sh").unwrap(), "/bin/sh");
        assert_eq!(normalize("/a/b", "/x/../y/").unwrap(), "/y");
        assert_eq!(normalize("/", "..").unwrap(), "/");
        assert_eq!(normalize("/a", "../../..").unwrap(), "/");
        assert_eq!(normalize("/a", ".").unwrap(), "/a");
    }

    #[test]
    fn walked_components_must_be_directories() {
        let dirs = ["/", "/bin", "/tests"];
        let mut check = |p: &str| {
            if dirs.contains(&p) {
                Ok(())
            } else if p == "/bin/sh" {
                Err(Errno::ENOTDIR)
            } else {
                Err(Errno::ENOENT)
            }
        };
        assert_eq!(normalize_with("/", "/bin/sh", &mut check).unwrap(), "/bin/sh");
        assert_eq!(normalize_with("/", "/missing/../bin/sh", &mut check), Err(Errno::ENOENT));
        assert_eq!(normalize_with("/", "/bin/sh/x", &mut check), Err(Errno::ENOTDIR));
        assert_eq!(normalize_with("/", "/bin/sh/.", &mut check), Err(Errno::ENOTDIR));
        assert_eq!(normalize_with("/tests", "../bin/./sh", &mut check).unwrap(), "/bin/sh");
        // The last component is the caller's to look up.
        assert_eq!(normalize_with("/", "/missing", &mut check).unwrap(), "/missing");
        assert_eq!(normalize_with("/", "/bin/sh/", &mut check).unwrap(), "/bin/sh");
    }

    #[test]
    fn bad_paths_are_errors() {
        assert_eq!(normalize("/", ""), Err(Errno::ENOENT));
        let long = "a/".repeat(PATH_MAX);
        assert_eq!(normalize("/", &long), Err(Errno::ENAMETOOLONG));
        let name = "n".repeat(256);
        assert_eq!(normalize("/", &name), Err(Errno::ENAMETOOLONG));
    }

    #[test]
    fn names_and_directory_hints() {
        assert_eq!(basename("/bin/sh"), "sh");
        assert_eq!(basename("/"), "/");
        assert!(wants_directory("bin/") && wants_directory("..") && !wants_directory("bin"));
    }
}
