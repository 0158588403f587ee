//! The arithmetic of `semop` (Linux: `perform_atomic_semop`): a list of
//! operations on one set either all happen or none does. Operations run in
//! order, each seeing the ones before it; a result below 0, or a wait for
//! zero on a non-zero value, blocks the whole list; a value past SEMVMX, or
//! an undo adjustment past SEMAEM, fails it with ERANGE.

use crate::errno::Errno;

/// Largest semaphore value (Linux: SEMVMX).
pub const SEMVMX: i32 = 32767;
/// Largest undo adjustment (Linux: SEMAEM).
pub const SEMAEM: i32 = SEMVMX;
/// `sem_flg` bits.
pub const SEM_UNDO: i16 = 0x1000;
pub const IPC_NOWAIT: i16 = 0o4000;

/// One `struct sembuf`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SemBuf {
    pub num: u16,
    pub op: i16,
    pub flg: i16,
}

impl SemBuf {
    /// From the 6 bytes of a `struct sembuf`.
    pub fn from_bytes(b: &[u8]) -> SemBuf {
        SemBuf {
            num: u16::from_le_bytes([b[0], b[1]]),
            op: i16::from_le_bytes([b[2], b[3]]),
            flg: i16::from_le_bytes([b[4], b[5]]),
        }
    }
}

/// Why a list of operations could not run now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SemopFail {
    /// Must wait: for semaphore `num` to become zero (`zero`), or to grow.
    Block { num: u16, zero: bool },
    /// Cannot ever run as given.
    Error(Errno),
}

/// Runs `sops` on `vals` all-or-nothing. `adj` is the caller's undo
/// adjustment for each semaphore; operations with SEM_UNDO change it by
/// `-op`. On success both are updated; on failure neither changes.
pub fn try_atomic_semop(vals: &mut [i32], adj: &mut [i32], sops: &[SemBuf]) -> Result<(), SemopFail> {
    for (done, sop) in sops.iter().enumerate() {
        let n = sop.num as usize;
        let curr = vals[n];
        let op = sop.op as i32;
        let fail = if op == 0 && curr != 0 {
            Some(SemopFail::Block { num: sop.num, zero: true })
        } else if curr + op < 0 {
            Some(SemopFail::Block { num: sop.num, zero: false })
        } else if curr + op > SEMVMX || (sop.flg & SEM_UNDO != 0 && !(-SEMAEM - 1..=SEMAEM).contains(&(adj[n] - op))) {
            Some(SemopFail::Error(Errno::ERANGE))
        } else {
            None
        };
        if let Some(fail) = fail {
            // Undo what the earlier operations did, last first.
            for sop in sops[..done].iter().rev() {
                let n = sop.num as usize;
                vals[n] -= sop.op as i32;
                if sop.flg & SEM_UNDO != 0 {
                    adj[n] += sop.op as i32;
                }
            }
            return Err(fail);
        }
        vals[n] = curr + op;
        if sop.flg & SEM_UNDO != 0 {
            adj[n] -= op;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(num: u16, op: i16, flg: i16) -> SemBuf {
        SemBuf { num, op, flg }
    }

    #[test]
    fn all_or_nothing() {
        let (mut v, mut a) = ([1, 0], [0, 0]);
        // The second operation blocks: the first is undone.
        assert_eq!(
            try_atomic_semop(&mut v, &mut a, &[op(0, -1, 0), op(1, -1, 0)]),
            Err(SemopFail::Block { num: 1, zero: false })
        );
        assert_eq!(v, [1, 0]);
        assert_eq!(try_atomic_semop(&mut v, &mut a, &[op(1, 2, 0), op(1, -1, 0), op(0, -1, 0)]), Ok(()));
        assert_eq!(v, [0, 1]);
    }

    #[test]
    fn waits_for_zero_and_checks_ranges() {
        let (mut v, mut a) = ([3], [0]);
        assert_eq!(try_atomic_semop(&mut v, &mut a, &[op(0, 0, 0)]), Err(SemopFail::Block { num: 0, zero: true }));
        assert_eq!(try_atomic_semop(&mut v, &mut a, &[op(0, 32765, 0)]), Err(SemopFail::Error(Errno::ERANGE)));
        assert_eq!(v, [3]);
    }

    #[test]
    fn sem_undo_records_the_opposite_and_is_bounded() {
        let (mut v, mut a) = ([0], [0]);
        assert_eq!(try_atomic_semop(&mut v, &mut a, &[op(0, 5, SEM_UNDO)]), Ok(()));
        assert_eq!((v, a), ([5], [-5]));
        assert_eq!(try_atomic_semop(&mut v, &mut a, &[op(0, -2, SEM_UNDO)]), Ok(()));
        assert_eq!((v, a), ([3], [-3]));
        let (mut v, mut a) = ([0], [-SEMAEM - 1]);
        assert_eq!(try_atomic_semop(&mut v, &mut a, &[op(0, 1, SEM_UNDO)]), Err(SemopFail::Error(Errno::ERANGE)));
        assert_eq!((v, a), ([0], [-SEMAEM - 1]));
    }
}
