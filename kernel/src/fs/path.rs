//! Path names (Linux: fs/namei.c's walk, reduced to strings): joining a
//! relative path to the current directory and resolving `.` and `..`. The
//! file tree has no symbolic links but `/proc/self`, which the caller
//! resolves on the normalised path. Pure logic, host-tested.

use crate::errno::Errno;
use alloc::string::String;
use alloc::vec::Vec;

/// Longest path accepted (Linux: PATH_MAX, with its terminating NUL).
pub const PATH_MAX: usize = 4096;

/// The absolute, normalised form of `path` seen from directory `cwd`
/// (itself absolute and normalised): no `.`, `..` or empty components, no
/// trailing slash; `/` for the root. `..` at the root stays at the root.
pub fn normalize(cwd: &str, path: &str) -> Result<String, Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let mut parts: Vec<&str> = Vec::new();
    let base = if path.starts_with('/') { "" } else { cwd };
    for part in base.split('/').chain(path.split('/')) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p if p.len() > 255 => return Err(Errno::ENAMETOOLONG),
            p => parts.push(p),
        }
    }
    let mut out = String::with_capacity(path.len() + cwd.len());
    for p in &parts {
        out.push('/');
        out.push_str(p);
    }
    if out.is_empty() {
        out.push('/');
    }
    Ok(out)
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

#[cfg(test)]
mod tests {
    use super::*;

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
