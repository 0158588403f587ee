//! `ls [-l] [-a] [-1] [PATH...]`: lists directories (via getdents64) and files (via newfstatat),
//! sorted by name. `-l` shows type and permissions, link count, owner and group IDs and size; `-a`
//! includes names starting with a dot. On a terminal, short listings are printed in columns.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::fmt::Write;
use rt::fs::{self, Stat};
use rt::io::Buffer;
use rt::Bytes;

rt::entry!(main);

struct Options {
    long: bool,
    all: bool,
    one_per_line: bool,
}

fn mode_string(st: &Stat) -> [u8; 10] {
    let kind = match st.file_type() {
        fs::S_IFDIR => b'd',
        fs::S_IFLNK => b'l',
        fs::S_IFCHR => b'c',
        fs::S_IFBLK => b'b',
        fs::S_IFIFO => b'p',
        fs::S_IFSOCK => b's',
        _ => b'-',
    };
    let mut s = [kind, b'-', b'-', b'-', b'-', b'-', b'-', b'-', b'-', b'-'];
    let bits = b"rwxrwxrwx";
    for i in 0..9 {
        if st.mode & (0o400 >> i) != 0 {
            s[1 + i] = bits[i];
        }
    }
    // setuid, setgid, sticky replace the x positions.
    for (bit, pos, on_x, no_x) in [(0o4000, 3, b's', b'S'), (0o2000, 6, b's', b'S'), (0o1000, 9, b't', b'T')] {
        if st.mode & bit != 0 {
            s[pos] = if s[pos] == b'x' { on_x } else { no_x };
        }
    }
    s
}

fn digits(mut n: u64) -> usize {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

/// Prints `names` (with their stat results when `-l`) to stdout.
fn print_entries(entries: &[(Vec<u8>, Option<Stat>)], opts: &Options, out: &mut Buffer) {
    if opts.long {
        let w = |f: &dyn Fn(&Stat) -> u64| entries.iter().filter_map(|e| e.1.as_ref()).map(|s| digits(f(s))).max();
        let nlink_w = w(&|s| u64::from(s.nlink)).unwrap_or(1);
        let uid_w = w(&|s| u64::from(s.uid)).unwrap_or(1);
        let gid_w = w(&|s| u64::from(s.gid)).unwrap_or(1);
        let size_w = w(&|s| s.size.max(0) as u64).unwrap_or(1);
        for (name, st) in entries {
            match st {
                Some(st) => {
                    let mode = mode_string(st);
                    let _ = writeln!(
                        out,
                        "{} {:>nlink_w$} {:>uid_w$} {:>gid_w$} {:>size_w$} {}",
                        Bytes(&mode),
                        st.nlink,
                        st.uid,
                        st.gid,
                        st.size,
                        Bytes(name)
                    );
                }
                None => {
                    let _ = writeln!(out, "?????????? ? ? ? ? {}", Bytes(name));
                }
            }
        }
        return;
    }
    let columns = if opts.one_per_line { None } else { rt::tty::window_size(1).ok().map(|w| w.cols as usize) };
    match columns {
        Some(cols) if cols > 0 && !entries.is_empty() => {
            let width = entries.iter().map(|e| e.0.len()).max().unwrap_or(1) + 2;
            let per_row = (cols / width).max(1);
            let rows = entries.len().div_ceil(per_row);
            for r in 0..rows {
                let mut c = 0;
                while r + c * rows < entries.len() {
                    let name = &entries[r + c * rows].0;
                    let last = r + (c + 1) * rows >= entries.len();
                    out.0.extend_from_slice(name);
                    if !last {
                        out.0.resize(out.0.len() + width - name.len(), b' ');
                    }
                    c += 1;
                }
                out.0.push(b'\n');
            }
        }
        _ => {
            for (name, _) in entries {
                out.0.extend_from_slice(name);
                out.0.push(b'\n');
            }
        }
    }
}

fn list_dir(path: &[u8], opts: &Options, out: &mut Buffer) -> rt::Result<()> {
    let mut names: Vec<Vec<u8>> =
        fs::read_dir(path)?.into_iter().map(|e| e.name).filter(|n| opts.all || !n.starts_with(b".")).collect();
    names.sort();
    let entries: Vec<(Vec<u8>, Option<Stat>)> = names
        .into_iter()
        .map(|name| {
            let st = if opts.long {
                let mut full = path.to_vec();
                if !full.ends_with(b"/") {
                    full.push(b'/');
                }
                full.extend_from_slice(&name);
                fs::lstat(&full).ok()
            } else {
                None
            };
            (name, st)
        })
        .collect();
    print_entries(&entries, opts, out);
    Ok(())
}

fn main(args: rt::Args, _env: rt::Env) -> i32 {
    let mut opts = Options { long: false, all: false, one_per_line: false };
    let mut paths: Vec<&[u8]> = Vec::new();
    let mut options_done = false;
    for arg in args.iter().skip(1) {
        if !options_done && arg == b"--" {
            options_done = true;
        } else if !options_done && arg.len() > 1 && arg[0] == b'-' {
            for &f in &arg[1..] {
                match f {
                    b'l' => opts.long = true,
                    b'a' => opts.all = true,
                    b'1' => opts.one_per_line = true,
                    _ => {
                        rt::eprintln!("ls: invalid option -- '{}'\nusage: ls [-la1] [PATH...]", f as char);
                        return 2;
                    }
                }
            }
        } else {
            paths.push(arg);
        }
    }
    if paths.is_empty() {
        paths.push(b".");
    }
    let mut status = 0;
    let mut files: Vec<(Vec<u8>, Option<Stat>)> = Vec::new();
    let mut dirs: Vec<&[u8]> = Vec::new();
    for &p in &paths {
        match fs::stat(p) {
            Ok(st) if st.is_dir() => dirs.push(p),
            Ok(st) => files.push((p.to_vec(), Some(st))),
            Err(e) => match fs::lstat(p) {
                // A dangling symbolic link is still listed.
                Ok(st) => files.push((p.to_vec(), Some(st))),
                Err(_) => {
                    rt::eprintln!("ls: cannot access '{}': {}", Bytes(p), e);
                    status = 2;
                }
            },
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    dirs.sort();
    let mut out = Buffer::default();
    print_entries(&files, &opts, &mut out);
    let headers = paths.len() > 1;
    for (i, dir) in dirs.iter().enumerate() {
        if headers {
            if i > 0 || !files.is_empty() {
                out.0.push(b'\n');
            }
            let _ = writeln!(out, "{}:", Bytes(dir));
        }
        if let Err(e) = list_dir(dir, &opts, &mut out) {
            let _ = rt::io::write_all(1, &out.0);
            out.0.clear();
            rt::eprintln!("ls: cannot open directory '{}': {}", Bytes(dir), e);
            status = 2;
        }
        if out.0.len() > 16384 {
            let _ = rt::io::write_all(1, &out.0);
            out.0.clear();
        }
    }
    if rt::io::write_all(1, &out.0).is_err() {
        return 2;
    }
    status
}
