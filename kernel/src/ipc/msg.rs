//! System V message queues (Linux: ipc/msg.c): `msgget`, `msgsnd`,
//! `msgrcv`, `msgctl`, and `/proc/sysvipc/msg`.
//!
//! A queue changes only under `MSG_NS`. Senders waiting for room and
//! receivers waiting for a message queue themselves on the queue's one wait
//! queue before they look, and every change wakes it (Linux keeps separate
//! sender and receiver lists and hands messages over directly; this is
//! simpler, with spurious wake-ups).
//!
//! Lock order: `MSG_NS` < wait-queue locks.

use super::{ipc_parse_version, IpcIds, IpcPerm, IPCMNI, IPC_INFO, IPC_NOWAIT, IPC_RMID, IPC_SET, IPC_STAT};
use crate::errno::Errno;
use crate::pid::Pid;
use crate::sched::task::{current, state};
use crate::sched::wait::{WaitQueueEntry, WaitQueueHead};
use crate::sync::IrqSpinLock;
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt::Write;

/// Linux's defaults (include/uapi/linux/msg.h).
pub const MSGMNI: usize = 32000;
pub const MSGMAX: usize = 8192;
pub const MSGMNB: usize = 16384;
const MSGPOOL: i32 = (MSGMNI * MSGMNB / 1024) as i32;
const MSGSSZ: i32 = 16;
const MSGSEG: u16 = 0xffff;

/// `msgrcv` flags.
pub const MSG_NOERROR: u32 = 0o10000;
pub const MSG_EXCEPT: u32 = 0o20000;
pub const MSG_COPY: u32 = 0o40000;
/// `msgctl` commands beyond the common ones.
const MSG_STAT: u32 = 11;
const MSG_INFO: u32 = 12;
const MSG_STAT_ANY: u32 = 13;

struct Msg {
    mtype: i64,
    text: Vec<u8>,
}

/// A queue (Linux: `struct msg_queue`).
struct MsgQueue {
    msgs: VecDeque<Msg>,
    cbytes: usize,
    qbytes: usize,
    lspid: Pid,
    lrpid: Pid,
    stime: u64,
    rtime: u64,
    ctime: u64,
    wait: Arc<WaitQueueHead>,
}

static MSG_NS: IrqSpinLock<IpcIds<MsgQueue>> = IrqSpinLock::new(IpcIds::new(MSGMNI));

fn now_sec() -> u64 {
    crate::timekeeping::ktime_get_real_ns() / 1_000_000_000
}

/// `msgget(key, msgflg)`.
pub fn msgget(key: i32, flags: u32) -> Result<i32, Errno> {
    MSG_NS.lock().ipcget(
        key,
        flags,
        || {
            Ok(MsgQueue {
                msgs: VecDeque::new(),
                cbytes: 0,
                qbytes: MSGMNB,
                lspid: 0,
                lrpid: 0,
                stime: 0,
                rtime: 0,
                ctime: now_sec(),
                wait: Arc::new(WaitQueueHead::new()),
            })
        },
        |_| Ok(()),
    )
}

/// Sleeps on `wait` until `step` (run under `MSG_NS` with the queue, or
/// None once it is gone) returns a result; EIDRM if the queue goes,
/// ERESTARTNOHAND on a signal (Linux's msgsnd and msgrcv restart only when
/// no handler runs).
fn wait_for<R>(id: i32, mut step: impl FnMut(&mut MsgQueue) -> Option<Result<R, Errno>>) -> Result<R, Errno> {
    let wait = MSG_NS.lock().get(id).ok_or(Errno::EINVAL)?.obj.wait.clone();
    let mut entry = WaitQueueEntry::new();
    let result = loop {
        wait.prepare_to_wait(&mut entry, state::TASK_INTERRUPTIBLE);
        let outcome = {
            let mut ns = MSG_NS.lock();
            match ns.get_mut(id) {
                None => Some(Err(Errno::EIDRM)),
                Some(e) => step(&mut e.obj),
            }
        };
        if let Some(r) = outcome {
            break r;
        }
        if crate::sched::task::signal_pending() {
            break Err(Errno::ERESTARTNOHAND);
        }
        crate::sched::core::schedule();
    };
    wait.finish_wait(&mut entry);
    if result.is_ok() {
        wait.wake_up(); // room or a message for someone else now
    }
    result
}

/// `msgsnd(msqid, msgp, msgsz, msgflg)` with the message read already.
pub fn msgsnd(id: i32, mtype: i64, text: Vec<u8>, flags: u32) -> Result<(), Errno> {
    if id < 0 || mtype < 1 || text.len() > MSGMAX {
        return Err(Errno::EINVAL);
    }
    let me = current().tgid();
    let mut text = Some(text);
    wait_for(id, |q| {
        let len = text.as_ref().map_or(0, |t| t.len());
        // Room for its bytes, and one message per byte at most (Linux:
        // msg_fits_inqueue).
        if q.cbytes + len <= q.qbytes && q.msgs.len() < q.qbytes {
            if q.msgs.try_reserve(1).is_err() {
                return Some(Err(Errno::ENOMEM));
            }
            q.msgs.push_back(Msg { mtype, text: text.take().unwrap_or_default() });
            q.cbytes += len;
            q.lspid = me;
            q.stime = now_sec();
            Some(Ok(()))
        } else if flags & IPC_NOWAIT != 0 {
            Some(Err(Errno::EAGAIN))
        } else {
            None
        }
    })
}

/// The index of the message `msgtyp` selects (Linux: `find_msg`): 0 the
/// first; > 0 the first of that type (or, with MSG_EXCEPT, of another);
/// < 0 the first of the lowest type not above |msgtyp|.
fn find_msg(q: &MsgQueue, msgtyp: i64, flags: u32) -> Option<usize> {
    if msgtyp == 0 {
        return (!q.msgs.is_empty()).then_some(0);
    }
    if msgtyp > 0 {
        let except = flags & MSG_EXCEPT != 0;
        return q.msgs.iter().position(|m| (m.mtype == msgtyp) != except);
    }
    let limit = msgtyp.checked_neg().unwrap_or(i64::MAX);
    let mut best: Option<(usize, i64)> = None;
    for (i, m) in q.msgs.iter().enumerate() {
        if m.mtype <= limit && best.is_none_or(|(_, t)| m.mtype < t) {
            best = Some((i, m.mtype));
        }
    }
    best.map(|(i, _)| i)
}

/// `msgrcv(msqid, msgp, msgsz, msgtyp, msgflg)`: the message's type and
/// text (cut to `maxsz` with MSG_NOERROR, else E2BIG and it stays queued).
/// MSG_COPY (with IPC_NOWAIT) copies the message at index `msgtyp` and
/// leaves it queued.
pub fn msgrcv(id: i32, maxsz: usize, msgtyp: i64, flags: u32) -> Result<(i64, Vec<u8>), Errno> {
    if id < 0 || (maxsz as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    if flags & MSG_COPY != 0 && (flags & MSG_EXCEPT != 0 || flags & IPC_NOWAIT == 0) {
        return Err(Errno::EINVAL);
    }
    let me = current().tgid();
    wait_for(id, |q| {
        let at = if flags & MSG_COPY != 0 {
            (msgtyp >= 0 && (msgtyp as usize) < q.msgs.len()).then_some(msgtyp as usize)
        } else {
            find_msg(q, msgtyp, flags)
        };
        let Some(at) = at else {
            return if flags & IPC_NOWAIT != 0 { Some(Err(Errno::ENOMSG)) } else { None };
        };
        let len = q.msgs[at].text.len();
        if len > maxsz && flags & MSG_NOERROR == 0 {
            return Some(Err(Errno::E2BIG));
        }
        if flags & MSG_COPY != 0 {
            let mut copy = Vec::new();
            if copy.try_reserve_exact(len.min(maxsz)).is_err() {
                return Some(Err(Errno::ENOMEM));
            }
            copy.extend_from_slice(&q.msgs[at].text[..len.min(maxsz)]);
            return Some(Ok((q.msgs[at].mtype, copy)));
        }
        let mut m = q.msgs.remove(at)?;
        q.cbytes -= len;
        q.lrpid = me;
        q.rtime = now_sec();
        m.text.truncate(maxsz);
        Some(Ok((m.mtype, m.text)))
    })
}

/// `struct msqid64_ds` (120 bytes on arm64).
fn msqid64_ds(perm: &IpcPerm, q: &MsgQueue) -> [u8; 120] {
    let mut b = [0u8; 120];
    b[..48].copy_from_slice(&perm.to_bytes());
    for (o, v) in [
        (48, q.stime),
        (56, q.rtime),
        (64, q.ctime),
        (72, q.cbytes as u64),
        (80, q.msgs.len() as u64),
        (88, q.qbytes as u64),
    ] {
        b[o..o + 8].copy_from_slice(&v.to_le_bytes());
    }
    b[96..100].copy_from_slice(&q.lspid.to_le_bytes());
    b[100..104].copy_from_slice(&q.lrpid.to_le_bytes());
    b
}

/// `struct msginfo` for IPC_INFO and MSG_INFO.
fn msginfo(ids: &IpcIds<MsgQueue>, cmd: u32) -> [u8; 32] {
    let (pool, map, tql) = if cmd == MSG_INFO {
        let msgs: usize = ids.iter().map(|(_, e)| e.obj.msgs.len()).sum();
        let bytes: usize = ids.iter().map(|(_, e)| e.obj.cbytes).sum();
        (ids.len() as i32, msgs as i32, bytes as i32)
    } else {
        (MSGPOOL, MSGMNB as i32, MSGMNB as i32)
    };
    let mut b = [0u8; 32];
    for (i, v) in [pool, map, MSGMAX as i32, MSGMNB as i32, MSGMNI as i32, MSGSSZ, tql].iter().enumerate() {
        b[4 * i..4 * i + 4].copy_from_slice(&v.to_le_bytes());
    }
    b[28..30].copy_from_slice(&MSGSEG.to_le_bytes());
    b
}

/// `msgctl(msqid, cmd, buf)`: `user_in` is IPC_SET's `msqid64_ds` (already
/// copied in). Returns the bytes to copy out, if any, and the result.
pub fn msgctl(id: i32, cmd: u32, user_in: &[u8]) -> Result<(Option<Vec<u8>>, i64), Errno> {
    let cmd = ipc_parse_version(cmd);
    let mut ns = MSG_NS.lock();
    match cmd {
        IPC_INFO | MSG_INFO => return Ok((Some(msginfo(&ns, cmd).to_vec()), ns.max_idx().max(0) as i64)),
        MSG_STAT | MSG_STAT_ANY => {
            let (full, e) = ns.iter().find(|(full, _)| (*full as u32 % IPCMNI) as i32 == id).ok_or(Errno::EINVAL)?;
            return Ok((Some(msqid64_ds(&e.perm, &e.obj).to_vec()), full as i64));
        }
        _ => {}
    }
    if id < 0 {
        return Err(Errno::EINVAL);
    }
    let e = ns.get_mut(id).ok_or(Errno::EINVAL)?;
    match cmd {
        IPC_STAT => Ok((Some(msqid64_ds(&e.perm, &e.obj).to_vec()), 0)),
        IPC_SET => {
            if user_in.len() < 96 {
                return Err(Errno::EINVAL);
            }
            // Root may raise the limit past MSGMNB (CAP_SYS_RESOURCE).
            let qbytes = u64::from_le_bytes(user_in[88..96].try_into().unwrap());
            e.perm.set_from(user_in);
            e.obj.qbytes = qbytes.min(i32::MAX as u64) as usize;
            e.obj.ctime = now_sec();
            let wait = e.obj.wait.clone();
            drop(ns);
            wait.wake_up(); // more room, perhaps
            Ok((None, 0))
        }
        IPC_RMID => {
            let wait = e.obj.wait.clone();
            ns.remove(id);
            drop(ns);
            wait.wake_up(); // sleepers find the queue gone: EIDRM
            Ok((None, 0))
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `/proc/sysvipc/msg`.
pub fn proc_show() -> String {
    let mut s = String::from(
        "       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime\n",
    );
    let ns = MSG_NS.lock();
    for (id, e) in ns.iter() {
        let (p, q) = (&e.perm, &e.obj);
        let _ = writeln!(
            s,
            "{:>10} {:>10}  {:>4o}  {:>10} {:>10} {:>5} {:>5} {:>5} {:>5} {:>5} {:>5} {:>10} {:>10} {:>10}",
            p.key,
            id,
            p.mode,
            q.cbytes,
            q.msgs.len(),
            q.lspid,
            q.lrpid,
            p.uid,
            p.gid,
            p.cuid,
            p.cgid,
            q.stime,
            q.rtime,
            q.ctime
        );
    }
    s
}
