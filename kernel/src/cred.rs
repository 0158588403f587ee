//! Credentials (Linux: kernel/cred.c, kernel/groups.c): what this kernel
//! keeps of them. Every process runs as root (uid and gid 0, real, effective
//! and saved), so identity calls report 0 and permission checks are root's;
//! supplementary groups are kept per task, since `id` and `getgroups` show
//! them and `setgroups` must be seen by the caller's children.

use crate::errno::Errno;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// Linux's `NGROUPS_MAX`.
pub const NGROUPS_MAX: usize = 65536;

/// A task's supplementary group list (Linux: `struct group_info`), sorted
/// as Linux keeps it (`groups_sort`), shared by reference between a parent
/// and its children until one of them replaces it.
pub struct GroupInfo {
    gids: Vec<u32>,
}

impl GroupInfo {
    /// A list from `gids` in any order; ENOMEM if it cannot be allocated.
    pub fn new(gids: &[u32]) -> Result<Arc<GroupInfo>, Errno> {
        if gids.len() > NGROUPS_MAX {
            return Err(Errno::EINVAL);
        }
        let mut v = Vec::new();
        v.try_reserve_exact(gids.len()).map_err(|_| Errno::ENOMEM)?;
        v.extend_from_slice(gids);
        v.sort_unstable();
        Ok(Arc::new(GroupInfo { gids: v }))
    }

    /// The groups, in ascending order.
    pub fn gids(&self) -> &[u32] {
        &self.gids
    }

    /// Whether `gid` is in the list (Linux: `groups_search`).
    pub fn contains(&self, gid: u32) -> bool {
        self.gids.binary_search(&gid).is_ok()
    }
}
