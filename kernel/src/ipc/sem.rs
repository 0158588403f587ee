//! System V semaphores (Linux: ipc/sem.c): `semget`, `semop`/`semtimedop`,
//! `semctl`, SEM_UNDO and `exit_sem`, and `/proc/sysvipc/sem`.
//!
//! A set's values change only under `SEM_NS`. A task that must wait queues
//! itself on the set's wait queue *before* it tries its operations under
//! the lock, and every change to a set wakes its whole queue, so each
//! sleeper tries again and none misses a change (Linux keeps per-semaphore
//! pending lists and wakes only those whose operations can now succeed;
//! this is simpler and as correct, at the price of spurious wake-ups).
//!
//! SEM_UNDO: a list of adjustments shared by the tasks that share System V
//! semaphore state (CLONE_SYSVSEM; threads, as both C libraries create
//! them), undone when the last of them exits (`exit_sem`, from `do_exit`).
//! An entry remembers each semaphore's generation: SETVAL and SETALL start
//! a new one, so adjustments from before no longer apply (Linux clears
//! them in every process).
//!
//! Lock order: `SEM_NS` < an undo list's lock < wait-queue locks.

use super::semops::{try_atomic_semop, SemBuf, SemopFail, IPC_NOWAIT as SEM_NOWAIT, SEMAEM, SEMVMX, SEM_UNDO};
use super::{ipc_parse_version, IpcIds, IPC_INFO, IPC_RMID, IPC_SET, IPC_STAT};
use crate::errno::Errno;
use crate::pid::Pid;
use crate::sched::task::{current, state, TaskRef};
use crate::sched::wait::{WaitQueueEntry, WaitQueueHead};
use crate::sync::IrqSpinLock;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt::Write;

/// Linux's defaults (include/uapi/linux/sem.h).
pub const SEMMNI: usize = 32000;
pub const SEMMSL: usize = 32000;
pub const SEMMNS: usize = SEMMNI * SEMMSL;
pub const SEMOPM: usize = 500;
const SEMUME: i32 = SEMOPM as i32;
const SEMUSZ: i32 = 20;

/// `semctl` commands beyond the common ones.
const GETPID: u32 = 11;
const GETVAL: u32 = 12;
const GETALL: u32 = 13;
const GETNCNT: u32 = 14;
const GETZCNT: u32 = 15;
const SETVAL: u32 = 16;
const SETALL: u32 = 17;
const SEM_STAT: u32 = 18;
const SEM_INFO: u32 = 19;
const SEM_STAT_ANY: u32 = 20;

/// A semaphore set (Linux: `struct sem_array`).
struct SemArray {
    vals: Vec<i32>,
    /// Process that last changed each one (Linux: `sempid`).
    pids: Vec<Pid>,
    /// Tasks waiting for each to grow / to become zero.
    ncnt: Vec<u32>,
    zcnt: Vec<u32>,
    /// Each semaphore's generation (see the module docs).
    gens: Vec<u64>,
    otime: u64,
    ctime: u64,
    wait: Arc<WaitQueueHead>,
}

struct SemNs {
    ids: IpcIds<SemArray>,
    /// Semaphores in all sets (Linux: `used_sems`, bounded by SEMMNS).
    used_sems: usize,
    next_gen: u64,
}

static SEM_NS: IrqSpinLock<SemNs> = IrqSpinLock::new(SemNs { ids: IpcIds::new(SEMMNI), used_sems: 0, next_gen: 1 });

/// Wall-clock seconds, for the `*time` fields.
fn now_sec() -> u64 {
    crate::timekeeping::ktime_get_real_ns() / 1_000_000_000
}

/// A zero-filled vector, or ENOMEM.
fn zeroed<T: Clone + Default>(n: usize) -> Result<Vec<T>, Errno> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| Errno::ENOMEM)?;
    v.resize(n, T::default());
    Ok(v)
}

/// `semget(key, nsems, semflg)` (Linux: `ksys_semget`, `newary`).
pub fn semget(key: i32, nsems: i32, flags: u32) -> Result<i32, Errno> {
    if nsems < 0 || nsems as usize > SEMMSL {
        return Err(Errno::EINVAL);
    }
    let n = nsems as usize;
    let mut ns = SEM_NS.lock();
    let used = ns.used_sems;
    let before = ns.ids.len();
    let id = ns.ids.ipcget(
        key,
        flags,
        || {
            if n == 0 {
                return Err(Errno::EINVAL);
            }
            if used + n > SEMMNS {
                return Err(Errno::ENOSPC);
            }
            Ok(SemArray {
                vals: zeroed(n)?,
                pids: zeroed(n)?,
                ncnt: zeroed(n)?,
                zcnt: zeroed(n)?,
                gens: zeroed(n)?,
                otime: 0,
                ctime: now_sec(),
                wait: Arc::new(WaitQueueHead::new()),
            })
        },
        // An existing set must have at least the semaphores asked for.
        |sma| if n > sma.vals.len() { Err(Errno::EINVAL) } else { Ok(()) },
    )?;
    if ns.ids.len() > before {
        ns.used_sems += n; // a new set
    }
    Ok(id)
}

/// The adjustments of one process for one set (Linux: `struct sem_undo`).
struct SemUndo {
    semid: i32,
    adj: Vec<i32>,
    gens: Vec<u64>,
}

/// Undo adjustments shared under CLONE_SYSVSEM (Linux: `sem_undo_list`).
pub struct SemUndoList {
    entries: IrqSpinLock<Vec<SemUndo>>,
}

/// A task's System V semaphore state (Linux: `task_struct::sysvsem`).
pub struct SysvSem {
    undo_list: IrqSpinLock<Option<Arc<SemUndoList>>>,
}

impl SysvSem {
    /// No undo list yet (made on the first SEM_UNDO).
    pub const fn new() -> Self {
        SysvSem { undo_list: IrqSpinLock::new(None) }
    }

    /// The task's undo list, made if it has none (Linux: `get_undo_list`).
    fn get_or_create(&self) -> Result<Arc<SemUndoList>, Errno> {
        let mut slot = self.undo_list.lock();
        if let Some(list) = &*slot {
            return Ok(list.clone());
        }
        let list = Arc::new(SemUndoList { entries: IrqSpinLock::new(Vec::new()) });
        *slot = Some(list.clone());
        Ok(list)
    }
}

impl Default for SysvSem {
    fn default() -> Self {
        Self::new()
    }
}

/// A new task's state (Linux: `copy_semundo`): with CLONE_SYSVSEM it shares
/// the creator's undo list (made now if need be), else it starts with none.
pub fn copy_semundo(share: bool, parent: TaskRef, child: TaskRef) -> Result<(), Errno> {
    if share {
        let list = parent.sysvsem.get_or_create()?;
        *child.sysvsem.undo_list.lock() = Some(list);
    }
    Ok(())
}

/// Drops the task's hold on its undo list; the last holder applies and
/// frees the adjustments (Linux: `exit_sem`, step 5 of the book's
/// `do_exit`): each semaphore moves by its adjustment, clamped to 0 ..=
/// SEMVMX, and records the exiting process as the last to change it.
pub fn exit_sem(tsk: TaskRef) {
    let list = tsk.sysvsem.undo_list.lock().take();
    let Some(list) = list.and_then(Arc::into_inner) else { return };
    let entries = core::mem::take(&mut *list.entries.lock());
    for un in entries {
        let wake = {
            let mut ns = SEM_NS.lock();
            let Some(e) = ns.ids.get_mut(un.semid) else { continue };
            let sma = &mut e.obj;
            for (n, (&adj, &gen)) in un.adj.iter().zip(&un.gens).enumerate() {
                if adj != 0 && n < sma.vals.len() && sma.gens[n] == gen {
                    sma.vals[n] = (sma.vals[n] + adj).clamp(0, SEMVMX);
                    sma.pids[n] = tsk.tgid();
                }
            }
            sma.wait.clone()
        };
        wake.wake_up();
    }
}

/// The undo entry for `semid` in `entries`, made (zeroed) if missing, with
/// adjustments from older generations dropped.
fn undo_entry<'a>(entries: &'a mut Vec<SemUndo>, semid: i32, sma: &SemArray) -> Result<&'a mut SemUndo, Errno> {
    let n = sma.vals.len();
    let at = match entries.iter().position(|u| u.semid == semid) {
        Some(i) => i,
        None => {
            entries.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
            entries.push(SemUndo { semid, adj: zeroed(n)?, gens: sma.gens.clone() });
            entries.len() - 1
        }
    };
    let un = &mut entries[at];
    if un.adj.len() != n {
        // A set removed and a new one made under the same ID cannot
        // happen (IDs carry a sequence number); be safe all the same.
        un.adj = zeroed(n)?;
        un.gens = sma.gens.clone();
    }
    for i in 0..n {
        if un.gens[i] != sma.gens[i] {
            un.gens[i] = sma.gens[i];
            un.adj[i] = 0;
        }
    }
    Ok(un)
}

/// `semtimedop(semid, sops, timeout)` and `semop` (timeout None) (Linux:
/// `do_semtimedop`). EAGAIN when IPC_NOWAIT would block or the timeout
/// passes, EIDRM if the set goes meanwhile, EINTR on a signal (never
/// restarted, as Linux).
pub fn semtimedop(semid: i32, sops: &[SemBuf], timeout_ns: Option<u64>) -> Result<(), Errno> {
    if sops.is_empty() || semid < 0 {
        return Err(Errno::EINVAL);
    }
    if sops.len() > SEMOPM {
        return Err(Errno::E2BIG);
    }
    let max = sops.iter().map(|s| s.num).max().unwrap_or(0) as usize;
    let undo = sops.iter().any(|s| s.flg & SEM_UNDO != 0);
    let undo_list = if undo { Some(current().sysvsem.get_or_create()?) } else { None };
    let deadline = timeout_ns.map(|t| crate::time::uptime_ns().saturating_add(t));
    let me = current();
    let wait = {
        let ns = SEM_NS.lock();
        let sma = &ns.ids.get(semid).ok_or(Errno::EINVAL)?.obj;
        if max >= sma.vals.len() {
            return Err(Errno::EFBIG);
        }
        sma.wait.clone()
    };
    let mut entry = WaitQueueEntry::new();
    // The count this task adds to a semaphore's ncnt/zcnt while it sleeps.
    let mut counted: Option<(u16, bool)> = None;
    let result = loop {
        wait.prepare_to_wait(&mut entry, state::TASK_INTERRUPTIBLE);
        let attempt = {
            let mut ns = SEM_NS.lock();
            let Some(e) = ns.ids.get_mut(semid) else { break Err(Errno::EIDRM) };
            let sma = &mut e.obj;
            if let Some((num, zero)) = counted.take() {
                let c = if zero { &mut sma.zcnt[num as usize] } else { &mut sma.ncnt[num as usize] };
                *c = c.saturating_sub(1);
            }
            let outcome = match &undo_list {
                Some(list) => {
                    let mut entries = list.entries.lock();
                    match undo_entry(&mut entries, semid, sma) {
                        Ok(un) => try_atomic_semop(&mut sma.vals, &mut un.adj, sops),
                        Err(e) => Err(SemopFail::Error(e)),
                    }
                }
                None => try_atomic_semop(&mut sma.vals, &mut [], sops),
            };
            match outcome {
                Ok(()) => {
                    for s in sops {
                        sma.pids[s.num as usize] = me.tgid();
                    }
                    sma.otime = now_sec();
                    Ok(true)
                }
                Err(SemopFail::Error(e)) => Err(e),
                Err(SemopFail::Block { num, zero }) => {
                    let nowait = sops.iter().find(|s| s.num == num).is_some_and(|s| s.flg & SEM_NOWAIT != 0);
                    if nowait {
                        Err(Errno::EAGAIN)
                    } else {
                        let c = if zero { &mut sma.zcnt[num as usize] } else { &mut sma.ncnt[num as usize] };
                        *c += 1;
                        counted = Some((num, zero));
                        Ok(false)
                    }
                }
            }
        };
        match attempt {
            Ok(true) => break Ok(()),
            Err(e) => break Err(e),
            Ok(false) => {}
        }
        if crate::sched::task::signal_pending() {
            break Err(Errno::EINTR);
        }
        match deadline {
            Some(d) => {
                let now = crate::time::uptime_ns();
                if now >= d {
                    break Err(Errno::EAGAIN);
                }
                crate::sched::core::schedule_timeout_prepared(d - now);
            }
            None => crate::sched::core::schedule(),
        }
    };
    wait.finish_wait(&mut entry);
    if let Some((num, zero)) = counted {
        let mut ns = SEM_NS.lock();
        if let Some(e) = ns.ids.get_mut(semid) {
            let c = if zero { &mut e.obj.zcnt[num as usize] } else { &mut e.obj.ncnt[num as usize] };
            *c = c.saturating_sub(1);
        }
    }
    if result.is_ok() {
        // Others may be able to go now.
        wait.wake_up();
    }
    result
}

/// `struct semid64_ds` (88 bytes on arm64).
fn semid64_ds(perm: &super::IpcPerm, sma: &SemArray) -> [u8; 88] {
    let mut b = [0u8; 88];
    b[..48].copy_from_slice(&perm.to_bytes());
    b[48..56].copy_from_slice(&sma.otime.to_le_bytes());
    b[56..64].copy_from_slice(&sma.ctime.to_le_bytes());
    b[64..72].copy_from_slice(&(sma.vals.len() as u64).to_le_bytes());
    b
}

/// `struct seminfo` for IPC_INFO and SEM_INFO.
fn seminfo(ns: &SemNs, cmd: u32) -> [u8; 40] {
    let (usz, aem) = if cmd == SEM_INFO { (ns.ids.len() as i32, ns.used_sems as i32) } else { (SEMUSZ, SEMAEM) };
    let fields: [i32; 10] = [
        SEMMNS as i32, // semmap
        SEMMNI as i32,
        SEMMNS as i32,
        SEMMNS as i32, // semmnu
        SEMMSL as i32,
        SEMOPM as i32,
        SEMUME,
        usz,
        SEMVMX,
        aem,
    ];
    let mut b = [0u8; 40];
    for (i, f) in fields.iter().enumerate() {
        b[4 * i..4 * i + 4].copy_from_slice(&f.to_le_bytes());
    }
    b
}

/// What `semctl` hands back to the system-call layer to copy out after the
/// lock is dropped.
pub enum SemctlOut {
    /// Just this return value.
    Value(i64),
    /// Copy these bytes to the user pointer, then return the value.
    Bytes(Vec<u8>, i64),
}

/// `semctl(semid, semnum, cmd, arg)` (Linux: `ksys_semctl`). `user_in` is
/// the data IPC_SET and SETALL read (already copied from user memory, its
/// size from [`semctl_in_len`]); `val` is SETVAL's value.
pub fn semctl(semid: i32, semnum: i32, cmd: u32, val: i32, user_in: &[u8]) -> Result<SemctlOut, Errno> {
    let cmd = ipc_parse_version(cmd);
    let mut ns = SEM_NS.lock();
    match cmd {
        IPC_INFO | SEM_INFO => {
            let b = seminfo(&ns, cmd);
            return Ok(SemctlOut::Bytes(b.to_vec(), ns.ids.max_idx().max(0) as i64));
        }
        SEM_STAT | SEM_STAT_ANY => {
            let (id, e) =
                ns.ids.iter().find(|(id, _)| (*id as u32 % super::IPCMNI) as i32 == semid).ok_or(Errno::EINVAL)?;
            return Ok(SemctlOut::Bytes(semid64_ds(&e.perm, &e.obj).to_vec(), id as i64));
        }
        _ => {}
    }
    if semid < 0 {
        return Err(Errno::EINVAL);
    }
    let e = ns.ids.get_mut(semid).ok_or(Errno::EINVAL)?;
    let nsems = e.obj.vals.len();
    let one = || if semnum < 0 || semnum as usize >= nsems { Err(Errno::EINVAL) } else { Ok(semnum as usize) };
    let out = match cmd {
        IPC_STAT => SemctlOut::Bytes(semid64_ds(&e.perm, &e.obj).to_vec(), 0),
        IPC_SET => {
            e.perm.set_from(user_in);
            e.obj.ctime = now_sec();
            SemctlOut::Value(0)
        }
        IPC_RMID => {
            let wait = e.obj.wait.clone();
            ns.ids.remove(semid);
            ns.used_sems -= nsems;
            drop(ns);
            wait.wake_up(); // sleepers find the set gone: EIDRM
            return Ok(SemctlOut::Value(0));
        }
        GETVAL => SemctlOut::Value(e.obj.vals[one()?] as i64),
        GETPID => SemctlOut::Value(e.obj.pids[one()?] as i64),
        GETNCNT => SemctlOut::Value(e.obj.ncnt[one()?] as i64),
        GETZCNT => SemctlOut::Value(e.obj.zcnt[one()?] as i64),
        GETALL => {
            let mut b = zeroed::<u8>(2 * nsems)?;
            for (i, v) in e.obj.vals.iter().enumerate() {
                b[2 * i..2 * i + 2].copy_from_slice(&(*v as u16).to_le_bytes());
            }
            SemctlOut::Bytes(b, 0)
        }
        SETVAL | SETALL => {
            let new: Vec<i32> = if cmd == SETVAL {
                let n = one()?;
                if !(0..=SEMVMX).contains(&val) {
                    return Err(Errno::ERANGE);
                }
                let mut v = zeroed(nsems)?;
                v.copy_from_slice(&e.obj.vals);
                v[n] = val;
                v
            } else {
                if user_in.len() < 2 * nsems {
                    return Err(Errno::EINVAL);
                }
                let mut v = zeroed(nsems)?;
                for (i, slot) in v.iter_mut().enumerate() {
                    *slot = u16::from_le_bytes([user_in[2 * i], user_in[2 * i + 1]]) as i32;
                }
                if v.iter().any(|&x| x > SEMVMX) {
                    return Err(Errno::ERANGE);
                }
                v
            };
            let gen = ns.next_gen;
            ns.next_gen += 1;
            let pid = current().tgid();
            let e = ns.ids.get_mut(semid).ok_or(Errno::EINVAL)?;
            for (i, &v) in new.iter().enumerate() {
                if cmd == SETALL || i == semnum as usize {
                    e.obj.vals[i] = v;
                    e.obj.gens[i] = gen; // older undo adjustments no longer apply
                    e.obj.pids[i] = pid;
                }
            }
            e.obj.ctime = now_sec();
            let wait = e.obj.wait.clone();
            drop(ns);
            wait.wake_up();
            return Ok(SemctlOut::Value(0));
        }
        _ => return Err(Errno::EINVAL),
    };
    Ok(out)
}

/// How many bytes of user data `semctl`'s `cmd` reads from `arg` (SETALL
/// reads one `unsigned short` per semaphore of `semid`).
pub fn semctl_in_len(semid: i32, cmd: u32) -> Result<usize, Errno> {
    Ok(match ipc_parse_version(cmd) {
        IPC_SET => 48,
        SETALL => 2 * SEM_NS.lock().ids.get(semid).ok_or(Errno::EINVAL)?.obj.vals.len(),
        _ => 0,
    })
}

/// `/proc/sysvipc/sem`.
pub fn proc_show() -> String {
    let mut s = String::from("       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n");
    let ns = SEM_NS.lock();
    for (id, e) in ns.ids.iter() {
        let p = &e.perm;
        let _ = writeln!(
            s,
            "{:>10} {:>10}  {:>4o} {:>10} {:>5} {:>5} {:>5} {:>5} {:>10} {:>10}",
            p.key,
            id,
            p.mode,
            e.obj.vals.len(),
            p.uid,
            p.gid,
            p.cuid,
            p.cgid,
            e.obj.otime,
            e.obj.ctime
        );
    }
    s
}
