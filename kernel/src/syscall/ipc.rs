//! System V IPC system calls (Linux: ipc/syscall.c's arm64 entry points,
//! ipc/sem.c, ipc/msg.c): semget, semop, semtimedop, semctl, msgget,
//! msgsnd, msgrcv, msgctl, shmget, shmat, shmdt, shmctl. They copy user
//! memory in and out; ipc/ does the rest.

use super::{nr, SysResult};
use crate::errno::Errno;
use crate::ipc::semops::SemBuf;
use crate::ipc::{msg, sem, shm};
use crate::mm::mm_struct::Access;
use crate::mm::uaccess::{self, copy_from_user, copy_to_user};

syscalls! {
    a;
    nr::SEMGET => sem::semget(a[0] as i32, a[1] as i32, a[2] as u32).map(|id| id as u64),
    nr::SEMOP => sys_semtimedop(a[0] as i32, a[1], a[2], 0),
    nr::SEMTIMEDOP => sys_semtimedop(a[0] as i32, a[1], a[2], a[3]),
    nr::SEMCTL => sys_semctl(a[0] as i32, a[1] as i32, a[2] as u32, a[3]),
    nr::MSGGET => msg::msgget(a[0] as i32, a[1] as u32).map(|id| id as u64),
    nr::MSGSND => sys_msgsnd(a[0] as i32, a[1], a[2], a[3] as u32),
    nr::MSGRCV => sys_msgrcv(a[0] as i32, a[1], a[2], a[3] as i64, a[4] as u32),
    nr::MSGCTL => sys_ipc_ctl(a[0] as i32, a[1] as u32, a[2], 120, msg::msgctl),
    nr::SHMGET => shm::shmget(a[0] as i32, a[1], a[2] as u32).map(|id| id as u64),
    nr::SHMAT => shm::shmat(a[0] as i32, a[1], a[2] as u32, super::mm::vm_limits()),
    nr::SHMDT => shm::shmdt(a[0]).map(|_| 0),
    nr::SHMCTL => sys_ipc_ctl(a[0] as i32, a[1] as u32, a[2], 112, shm::shmctl),
}

fn sys_semtimedop(semid: i32, sops: u64, nsops: u64, timeout: u64) -> SysResult {
    if nsops < 1 || semid < 0 {
        return Err(Errno::EINVAL);
    }
    if nsops as usize > sem::SEMOPM {
        return Err(Errno::E2BIG);
    }
    let mut raw = super::kbuf(6 * nsops as usize)?;
    copy_from_user(&mut raw, sops)?;
    let ops: alloc::vec::Vec<SemBuf> = raw.chunks(6).map(SemBuf::from_bytes).collect();
    let timeout_ns = if timeout == 0 {
        None
    } else {
        let mut ts = [0u8; 16];
        copy_from_user(&mut ts, timeout)?;
        Some(super::misc::timespec_ns(&ts)?)
    };
    sem::semtimedop(semid, &ops, timeout_ns).map(|_| 0)
}

fn sys_semctl(semid: i32, semnum: i32, cmd: u32, arg: u64) -> SysResult {
    let mut input = super::kbuf(sem::semctl_in_len(semid, cmd)?)?;
    if !input.is_empty() {
        copy_from_user(&mut input, arg)?;
    }
    match sem::semctl(semid, semnum, cmd, arg as i32, &input)? {
        sem::SemctlOut::Value(v) => Ok(v as u64),
        sem::SemctlOut::Bytes(bytes, v) => {
            copy_to_user(arg, &bytes)?;
            Ok(v as u64)
        }
    }
}

fn sys_msgsnd(id: i32, msgp: u64, msgsz: u64, flags: u32) -> SysResult {
    if msgsz as usize > msg::MSGMAX || (msgsz as i64) < 0 || id < 0 {
        return Err(Errno::EINVAL);
    }
    let mtype = uaccess::get_user_u64(msgp)? as i64;
    if mtype < 1 {
        return Err(Errno::EINVAL);
    }
    let mut text = super::kbuf(msgsz as usize)?;
    copy_from_user(&mut text, msgp + 8)?;
    msg::msgsnd(id, mtype, text, flags).map(|_| 0)
}

fn sys_msgrcv(id: i32, msgp: u64, msgsz: u64, msgtyp: i64, flags: u32) -> SysResult {
    // The buffer is checked before a message is taken: a bad one would
    // lose the message (Linux checks it only after).
    let room = (msgsz as usize).min(msg::MSGMAX.max(1 << 20)) + 8;
    if !uaccess::current_mm()?.access_ok(msgp, room.min(8 + msgsz as usize), Access::Write) {
        return Err(Errno::EFAULT);
    }
    let (mtype, text) = msg::msgrcv(id, msgsz as usize, msgtyp, flags)?;
    copy_to_user(msgp, &mtype.to_le_bytes())?;
    copy_to_user(msgp + 8, &text)?;
    Ok(text.len() as u64)
}

/// What `msgctl` and `shmctl` return: bytes to copy out, and the result.
type CtlOut = Result<(Option<alloc::vec::Vec<u8>>, i64), Errno>;

/// `msgctl` and `shmctl`: IPC_SET's `*id64_ds` of `ds_len` bytes copied in,
/// what `ctl` answers copied out to `buf`.
fn sys_ipc_ctl(id: i32, cmd: u32, buf: u64, ds_len: usize, ctl: fn(i32, u32, &[u8]) -> CtlOut) -> SysResult {
    let mut input = alloc::vec::Vec::new();
    if crate::ipc::ipc_parse_version(cmd) == crate::ipc::IPC_SET {
        input = super::kbuf(ds_len)?;
        copy_from_user(&mut input, buf)?;
    }
    let (out, v) = ctl(id, cmd, &input)?;
    if let Some(bytes) = out {
        copy_to_user(buf, &bytes)?;
    }
    Ok(v as u64)
}
