//! `ps [-f | f | --forest]`: lists processes from `/proc/<pid>/stat` as `PID PPID PGID STAT COMMAND`.
//! STAT is the state letter, plus `s` for a session leader and `+` for a member of its terminal's
//! foreground group. With `-f` (also spelled `f` or `--forest`) COMMAND is drawn as a tree, children
//! indented under their parent. A process that exits between reading `/proc` and its `stat` is skipped.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::fmt::Write;
use rt::io::Buffer;
use rt::{eprintln, Bytes};
use uparse::procstat::{self, ProcStat};

rt::entry!(main);

fn read_procs() -> rt::Result<Vec<ProcStat>> {
    let mut pids: Vec<u64> =
        rt::fs::read_dir(b"/proc")?.iter().filter_map(|e| uparse::num::parse_u64(&e.name)).collect();
    pids.sort_unstable();
    let mut procs = Vec::new();
    for pid in pids {
        let mut path = Buffer::default();
        let _ = write!(path, "/proc/{}/stat", pid);
        // Gone since the directory was read (ENOENT/ESRCH) or unreadable: skip it.
        let Ok(line) = rt::fs::read_file(&path.0) else { continue };
        if let Ok(st) = procstat::parse(&line) {
            procs.push(st);
        }
    }
    Ok(procs)
}

fn stat_column(p: &ProcStat) -> Buffer {
    let mut s = Buffer::default();
    s.0.push(p.state);
    if p.pid == p.session {
        s.0.push(b's');
    }
    if p.tpgid > 0 && p.pgrp == p.tpgid {
        s.0.push(b'+');
    }
    s
}

fn row(out: &mut Buffer, p: &ProcStat, indent: &[u8]) {
    let stat = stat_column(p);
    let _ = writeln!(
        out,
        "{:>5} {:>5} {:>5} {:<4} {}{}",
        p.pid,
        p.ppid,
        p.pgrp,
        Bytes(&stat.0),
        Bytes(indent),
        Bytes(p.comm.as_bytes())
    );
}

/// Prints `procs[i]` and, below it, its children, depth-first.
fn tree(out: &mut Buffer, procs: &[ProcStat], i: usize, depth: usize, seen: &mut [bool]) {
    if seen[i] {
        return;
    }
    seen[i] = true;
    let mut indent = Vec::new();
    if depth > 0 {
        indent.resize(4 * (depth - 1) + 1, b' ');
        indent.extend_from_slice(b"\\_ ");
    }
    row(out, &procs[i], &indent);
    let me = procs[i].pid;
    for c in 0..procs.len() {
        if procs[c].ppid == me && procs[c].pid != me {
            tree(out, procs, c, depth + 1, seen);
        }
    }
}

fn main(args: rt::Args, _env: rt::Env) -> i32 {
    let mut forest = false;
    for arg in args.iter().skip(1) {
        match arg {
            b"-f" | b"f" | b"--forest" => forest = true,
            _ => {
                eprintln!("ps: unknown option '{}'\nusage: ps [-f | f | --forest]", Bytes(arg));
                return 1;
            }
        }
    }
    let procs = match read_procs() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("ps: /proc: {}", e);
            return 1;
        }
    };
    let mut out = Buffer::default();
    let _ = writeln!(out, "{:>5} {:>5} {:>5} {:<4} COMMAND", "PID", "PPID", "PGID", "STAT");
    if forest {
        let mut seen = alloc::vec![false; procs.len()];
        // Roots: processes whose parent is not listed (PID 1's parent 0, kernel threads, orphans).
        for i in 0..procs.len() {
            if !procs.iter().any(|q| q.pid == procs[i].ppid && q.pid != procs[i].pid) {
                tree(&mut out, &procs, i, 0, &mut seen);
            }
        }
        // Anything left is in a parent cycle (cannot happen on a sane kernel): show it flat.
        for i in 0..procs.len() {
            if !seen[i] {
                tree(&mut out, &procs, i, 0, &mut seen);
            }
        }
    } else {
        for p in &procs {
            row(&mut out, p, b"");
        }
    }
    if rt::io::write_all(1, &out.0).is_err() {
        return 1;
    }
    0
}
