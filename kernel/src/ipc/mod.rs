//! System V IPC (Linux: ipc/util.c, ipc/sem.c, ipc/msg.c): the identifier
//! tables every IPC kind shares, and the kinds this kernel has.
//!
//! - this file: `IpcIds`, a table of objects named by user keys and found
//!   by IDs that encode a slot and a sequence number, so a stale ID names
//!   nothing after its object is removed and the slot reused (Linux:
//!   `ipc_ids`, `ipcget`, `ipc_buildid`); `IpcPerm`, `struct ipc64_perm`.
//! - `semops`: the all-or-nothing arithmetic of `semop` (pure, host-tested);
//! - `sem`: semaphore sets, `semget`/`semop`/`semtimedop`/`semctl`, SEM_UNDO
//!   and `exit_sem`;
//! - `msg`: message queues, `msgget`/`msgsnd`/`msgrcv`/`msgctl`;
//! - `shm`: shared memory segments, `shmget`/`shmat`/`shmdt`/`shmctl`,
//!   backed by files of the internal tmpfs that shared mappings use.
//!
//! Everyone is root: permission bits are kept and reported, and every
//! check they would drive passes, as it does for root on Linux.

pub mod semops;

#[cfg(target_os = "none")]
pub mod msg;
#[cfg(target_os = "none")]
pub mod sem;
#[cfg(target_os = "none")]
pub mod shm;

use crate::errno::Errno;
use alloc::collections::BTreeMap;

/// `ipcget`'s key for "always a new object".
pub const IPC_PRIVATE: i32 = 0;
pub const IPC_CREAT: u32 = 0o1000;
pub const IPC_EXCL: u32 = 0o2000;
pub const IPC_NOWAIT: u32 = 0o4000;
/// `*ctl` commands.
pub const IPC_RMID: u32 = 0;
pub const IPC_SET: u32 = 1;
pub const IPC_STAT: u32 = 2;
pub const IPC_INFO: u32 = 3;
/// Or'ed into commands by C libraries that want the 64-bit structures
/// (the only ones on arm64).
pub const IPC_64: u32 = 0x100;
/// Slots per table: an ID is `seq * IPCMNI + slot` (Linux: IPCMNI, with
/// `ipcmni_extend` off).
pub const IPCMNI: u32 = 32768;
/// Sequence numbers wrap here (Linux: IPCID_SEQ_MAX).
const IPCID_SEQ_MAX: u32 = (i32::MAX as u32) >> 15;

/// Ownership and mode of an IPC object (Linux: `kern_ipc_perm`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IpcPerm {
    pub key: i32,
    pub uid: u32,
    pub gid: u32,
    pub cuid: u32,
    pub cgid: u32,
    /// Permission bits (the low 9 bits of the creator's flags).
    pub mode: u32,
    pub seq: u32,
}

impl IpcPerm {
    /// `struct ipc64_perm` (48 bytes on arm64).
    pub fn to_bytes(&self) -> [u8; 48] {
        let mut b = [0u8; 48];
        for (i, v) in [self.key as u32, self.uid, self.gid, self.cuid, self.cgid, self.mode].iter().enumerate() {
            b[4 * i..4 * i + 4].copy_from_slice(&v.to_le_bytes());
        }
        b[24..26].copy_from_slice(&(self.seq as u16).to_le_bytes());
        b
    }

    /// What IPC_SET may change, from a `struct ipc64_perm`: owner, group
    /// and permission bits (Linux: `ipc_update_perm`).
    pub fn set_from(&mut self, b: &[u8]) {
        let word = |i: usize| u32::from_le_bytes(b[4 * i..4 * i + 4].try_into().unwrap());
        self.uid = word(1);
        self.gid = word(2);
        self.mode = (self.mode & !0o777) | (word(5) & 0o777);
    }
}

/// One object in a table.
pub struct IpcEntry<T> {
    pub perm: IpcPerm,
    pub obj: T,
}

/// A table of IPC objects of one kind (Linux: `struct ipc_ids`).
pub struct IpcIds<T> {
    entries: BTreeMap<u32, IpcEntry<T>>,
    keys: BTreeMap<i32, u32>,
    seq: u32,
    /// Most objects the table holds (Linux: SEMMNI, MSGMNI).
    max: usize,
}

impl<T> IpcIds<T> {
    /// An empty table of at most `max` objects.
    pub const fn new(max: usize) -> Self {
        IpcIds { entries: BTreeMap::new(), keys: BTreeMap::new(), seq: 0, max }
    }

    /// The ID of slot `slot` with sequence number `seq`.
    fn buildid(slot: u32, seq: u32) -> i32 {
        (seq * IPCMNI + slot) as i32
    }

    /// The object `id` names, if it exists with that sequence number.
    pub fn get(&self, id: i32) -> Option<&IpcEntry<T>> {
        if id < 0 {
            return None;
        }
        let (slot, seq) = (id as u32 % IPCMNI, id as u32 / IPCMNI);
        self.entries.get(&slot).filter(|e| e.perm.seq == seq)
    }

    /// As [`IpcIds::get`], mutably.
    pub fn get_mut(&mut self, id: i32) -> Option<&mut IpcEntry<T>> {
        if id < 0 {
            return None;
        }
        let (slot, seq) = (id as u32 % IPCMNI, id as u32 / IPCMNI);
        self.entries.get_mut(&slot).filter(|e| e.perm.seq == seq)
    }

    /// Finds or creates the object for `key` under `flags` (Linux:
    /// `ipcget`): IPC_PRIVATE always creates; otherwise an existing object
    /// is checked by `check` (EEXIST with IPC_CREAT|IPC_EXCL), and a
    /// missing one is made by `make` only with IPC_CREAT (else ENOENT).
    /// Returns the ID.
    pub fn ipcget(
        &mut self,
        key: i32,
        flags: u32,
        make: impl FnOnce() -> Result<T, Errno>,
        check: impl FnOnce(&T) -> Result<(), Errno>,
    ) -> Result<i32, Errno> {
        if key != IPC_PRIVATE {
            if let Some(&slot) = self.keys.get(&key) {
                if flags & IPC_CREAT != 0 && flags & IPC_EXCL != 0 {
                    return Err(Errno::EEXIST);
                }
                let e = &self.entries[&slot];
                check(&e.obj)?;
                return Ok(Self::buildid(slot, e.perm.seq));
            }
            if flags & IPC_CREAT == 0 {
                return Err(Errno::ENOENT);
            }
        }
        if self.entries.len() >= self.max {
            return Err(Errno::ENOSPC);
        }
        let obj = make()?;
        // The lowest free slot (Linux: idr_alloc from 0).
        let slot = (0..IPCMNI).find(|s| !self.entries.contains_key(s)).ok_or(Errno::ENOSPC)?;
        let seq = self.seq;
        self.seq = if self.seq >= IPCID_SEQ_MAX { 0 } else { self.seq + 1 };
        let perm = IpcPerm { key, mode: flags & 0o777, seq, ..Default::default() };
        self.entries.insert(slot, IpcEntry { perm, obj });
        if key != IPC_PRIVATE {
            self.keys.insert(key, slot);
        }
        Ok(Self::buildid(slot, seq))
    }

    /// Removes the object `id` names (Linux: `ipc_rmid`).
    pub fn remove(&mut self, id: i32) -> Option<T> {
        self.get(id)?;
        let slot = id as u32 % IPCMNI;
        let e = self.entries.remove(&slot)?;
        if e.perm.key != IPC_PRIVATE {
            self.keys.remove(&e.perm.key);
        }
        Some(e.obj)
    }

    /// Keeps only the objects `keep` accepts; the others leave the table
    /// as if removed.
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        let keys = &mut self.keys;
        self.entries.retain(|_, e| {
            let kept = keep(&e.obj);
            if !kept && e.perm.key != IPC_PRIVATE {
                keys.remove(&e.perm.key);
            }
            kept
        });
    }

    /// Makes the object `id` names unreachable by its key, as if created
    /// with IPC_PRIVATE (Linux: `ipc_set_key_private`, for a segment
    /// marked for destruction).
    pub fn set_key_private(&mut self, id: i32) {
        let Some(e) = self.get_mut(id) else { return };
        let key = core::mem::replace(&mut e.perm.key, IPC_PRIVATE);
        if key != IPC_PRIVATE {
            self.keys.remove(&key);
        }
    }

    /// Every object with its ID, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (i32, &IpcEntry<T>)> {
        self.entries.iter().map(|(&slot, e)| (Self::buildid(slot, e.perm.seq), e))
    }

    /// How many objects there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The highest slot in use (Linux: `ipc_get_maxidx`), -1 if none.
    pub fn max_idx(&self) -> i32 {
        self.entries.keys().next_back().map_or(-1, |&s| s as i32)
    }
}

/// The command of a `*ctl` call without IPC_64.
pub fn ipc_parse_version(cmd: u32) -> u32 {
    cmd & !IPC_64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_find_existing_objects_and_private_always_creates() {
        let mut ids: IpcIds<u32> = IpcIds::new(8);
        let a = ids.ipcget(42, IPC_CREAT | 0o600, || Ok(1), |_| Ok(())).unwrap();
        assert_eq!(ids.ipcget(42, 0, || Ok(2), |_| Ok(())), Ok(a));
        assert_eq!(ids.ipcget(42, IPC_CREAT | IPC_EXCL, || Ok(2), |_| Ok(())), Err(Errno::EEXIST));
        assert_eq!(ids.ipcget(43, 0, || Ok(2), |_| Ok(())), Err(Errno::ENOENT));
        let p = ids.ipcget(IPC_PRIVATE, 0, || Ok(3), |_| Ok(())).unwrap();
        let q = ids.ipcget(IPC_PRIVATE, 0, || Ok(4), |_| Ok(())).unwrap();
        assert!(p != q && p != a);
        assert_eq!(ids.get(a).unwrap().perm.mode, 0o600);
    }

    #[test]
    fn a_private_key_or_a_retained_object_leaves_the_key_free() {
        let mut ids: IpcIds<u32> = IpcIds::new(8);
        let a = ids.ipcget(42, IPC_CREAT, || Ok(1), |_| Ok(())).unwrap();
        ids.set_key_private(a);
        assert_eq!(ids.get(a).unwrap().perm.key, IPC_PRIVATE);
        assert_eq!(ids.ipcget(42, 0, || Ok(2), |_| Ok(())), Err(Errno::ENOENT));
        let b = ids.ipcget(42, IPC_CREAT, || Ok(3), |_| Ok(())).unwrap();
        ids.retain(|&v| v != 3);
        assert!(ids.get(b).is_none() && ids.get(a).is_some());
        assert_eq!(ids.ipcget(42, 0, || Ok(4), |_| Ok(())), Err(Errno::ENOENT));
    }

    #[test]
    fn a_removed_objects_id_names_nothing_when_its_slot_is_reused() {
        let mut ids: IpcIds<u32> = IpcIds::new(8);
        let a = ids.ipcget(IPC_PRIVATE, 0, || Ok(1), |_| Ok(())).unwrap();
        assert_eq!(ids.remove(a), Some(1));
        let b = ids.ipcget(IPC_PRIVATE, 0, || Ok(2), |_| Ok(())).unwrap();
        assert_eq!(a as u32 % IPCMNI, b as u32 % IPCMNI);
        assert_ne!(a, b);
        assert!(ids.get(a).is_none());
        assert_eq!(ids.get(b).unwrap().obj, 2);
        assert!(ids.get(-1).is_none());
    }

    #[test]
    fn the_table_refuses_more_than_its_limit() {
        let mut ids: IpcIds<u32> = IpcIds::new(2);
        ids.ipcget(IPC_PRIVATE, 0, || Ok(1), |_| Ok(())).unwrap();
        ids.ipcget(IPC_PRIVATE, 0, || Ok(2), |_| Ok(())).unwrap();
        assert_eq!(ids.ipcget(IPC_PRIVATE, 0, || Ok(3), |_| Ok(())), Err(Errno::ENOSPC));
    }
}
