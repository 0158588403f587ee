//! Collecting sockets that only messages in flight keep alive (Linux:
//! net/unix/garbage.c).
//!
//! A socket file sent with SCM_RIGHTS lives in a receive queue until it
//! is received. A socket sent over itself, or two sockets sent over each
//! other, and then closed by every process, keep each other alive through
//! their own queues: no `close` can free them. The registry here counts,
//! for every socket file in flight, how many messages hold it
//! ([`unix_inflight`], [`unix_notinflight`]); [`unix_gc`] finds the
//! sockets whose every reference is such a message (candidates), removes
//! the ones a non-candidate can still reach, and purges the queues of the
//! rest, which frees them.
//!
//! It runs when a socket file is released while anything is in flight,
//! and when a send finds more than [`INFLIGHT_TRIGGER_GC`] files in flight
//! (Linux: `unix_release_sock` and `wait_for_unix_gc`), so garbage never
//! grows past that bound.
//!
//! Locks: the registry's lock is taken with no socket lock held, and the
//! collector takes candidate sockets' locks inside it (registry, then a
//! socket). The registry keeps a reference to each file in flight; files
//! it lets go of are put down through `defer_fput`, outside its lock.

use super::unix::{defer_fput, SocketFile, UnixSock};
use crate::fs::file::File;
use crate::sync::IrqSpinLock;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

/// Files in flight past which a send runs the collector (Linux:
/// UNIX_INFLIGHT_TRIGGER_GC is 16000; smaller here, for small machines).
pub const INFLIGHT_TRIGGER_GC: usize = 1024;

struct Registry {
    /// Socket files in flight, by address: the file and the number of
    /// messages holding it.
    files: BTreeMap<usize, (Arc<File>, usize)>,
    total: usize,
}

static REGISTRY: IrqSpinLock<Registry> = IrqSpinLock::new(Registry { files: BTreeMap::new(), total: 0 });
static RUNNING: AtomicBool = AtomicBool::new(false);

fn key(f: &Arc<File>) -> usize {
    Arc::as_ptr(f) as usize
}

/// The socket of a socket file.
pub(super) fn socket_of(f: &File) -> Option<Arc<UnixSock>> {
    f.ops.as_any()?.downcast_ref::<SocketFile>().map(|s| s.sock.clone())
}

/// `fds` went into a message (Linux: `unix_inflight`).
pub(super) fn unix_inflight(fds: &[Arc<File>]) {
    let mut reg = REGISTRY.lock();
    for f in fds.iter().filter(|f| socket_of(f).is_some()) {
        reg.total += 1;
        reg.files.entry(key(f)).or_insert_with(|| (f.clone(), 0)).1 += 1;
    }
}

/// `fds` left a message: received, or the message was dropped (Linux:
/// `unix_notinflight`).
pub(super) fn unix_notinflight(fds: &[Arc<File>]) {
    let mut released = Vec::new();
    {
        let mut reg = REGISTRY.lock();
        for f in fds {
            let k = key(f);
            let Some(entry) = reg.files.get_mut(&k) else { continue };
            entry.1 = entry.1.saturating_sub(1);
            let gone = entry.1 == 0;
            reg.total = reg.total.saturating_sub(1);
            if gone {
                if let Some((file, _)) = reg.files.remove(&k) {
                    if released.try_reserve(1).is_ok() {
                        released.push(file);
                    }
                }
            }
        }
    }
    defer_fput(released);
}

/// How many socket files are in flight.
pub fn inflight() -> usize {
    REGISTRY.lock().total
}

/// Frees the sockets only their own messages keep alive (Linux:
/// `unix_gc`).
pub fn unix_gc() {
    if RUNNING.swap(true, Ordering::AcqRel) {
        return;
    }
    let garbage = find_garbage();
    // Emptying their queues drops the messages and the files in them,
    // which releases the sockets of the cycle.
    for sock in garbage {
        drop(sock.purge_queue());
    }
    RUNNING.store(false, Ordering::Release);
}

fn find_garbage() -> Vec<Arc<UnixSock>> {
    let reg = REGISTRY.lock();
    // Candidates: every reference to the file is a message's (the
    // registry holds one more).
    let mut cand: BTreeMap<usize, (Arc<UnixSock>, usize)> = BTreeMap::new();
    for (&k, (file, count)) in &reg.files {
        if Arc::strong_count(file) == count + 1 {
            if let Some(sock) = socket_of(file) {
                cand.insert(k, (sock, *count));
            }
        }
    }
    // References from candidates' queues are internal: what remains comes
    // from outside.
    let mut edges: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (&k, (sock, _)) in &cand {
        let inner: Vec<usize> = sock.queued_files().into_iter().filter(|f| cand.contains_key(f)).collect();
        edges.insert(k, inner);
    }
    for targets in edges.values() {
        for t in targets {
            if let Some(c) = cand.get_mut(t) {
                c.1 = c.1.saturating_sub(1);
            }
        }
    }
    // Reachable from outside: alive, with everything in their queues.
    let mut alive: Vec<usize> = cand.iter().filter(|(_, (_, left))| *left > 0).map(|(&k, _)| k).collect();
    let mut seen: BTreeMap<usize, ()> = alive.iter().map(|&k| (k, ())).collect();
    while let Some(k) = alive.pop() {
        for &t in edges.get(&k).map(|v| v.as_slice()).unwrap_or(&[]) {
            if seen.insert(t, ()).is_none() {
                alive.push(t);
            }
        }
    }
    cand.into_iter().filter(|(k, _)| !seen.contains_key(k)).map(|(_, (sock, _))| sock).collect()
}
