//! The completely fair scheduling class, its arithmetic and its per-CPU queue
//! (Linux: kernel/sched/fair.c, `struct cfs_rq`, `struct sched_entity`).
//!
//! Every runnable entity accumulates *virtual runtime*: real runtime scaled by
//! `NICE_0_LOAD / weight`, so a heavier (lower nice) entity ages more slowly.
//! The queue always runs the entity with the smallest vruntime next. Linux
//! keeps them in a red-black tree whose node is embedded in each
//! `sched_entity`; here the tree is a treap (a binary search tree on
//! (vruntime, sequence number) that is also a heap on a pseudo-random
//! priority, so its expected depth is O(log n)) whose links are embedded in
//! each [`SchedEntity`] the same way. Enqueue, dequeue, picking and load
//! balancing therefore never allocate: they run with the run-queue lock
//! held and IRQs masked, from the idle loop too, where an allocation
//! failure could be reported to no one. The running entity is not in the
//! tree (Linux's `set_next_entity` takes it out, `put_prev_entity` puts it
//! back).
//!
//! The tree holds raw pointers to the entities: an entity must neither move
//! nor be freed while it is queued (tasks live in the slab or in statics
//! and leave their queue before they are freed).
//!
//! Pure logic, generic over the key that identifies an entity: host-tested.

use core::cell::UnsafeCell;
use core::ptr::null_mut;

/// Weight of a nice-0 entity.
pub const NICE_0_LOAD: u64 = 1024;
/// Lowest and highest nice values.
pub const MIN_NICE: i32 = -20;
pub const MAX_NICE: i32 = 19;

/// Weights for nice -20..=19 (Linux: `sched_prio_to_weight`): each step is
/// about 1.25x, so one nice level is about 10% of CPU time.
pub const SCHED_PRIO_TO_WEIGHT: [u32; 40] = [
    88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916, 9548, 7620, 6100, 4904, 3906, 3121, 2501,
    1991, 1586, 1277, 1024, 820, 655, 526, 423, 335, 272, 215, 172, 137, 110, 87, 70, 56, 45, 36, 29, 23, 18, 15,
];

/// Target latency: every runnable entity runs once within this period
/// (Linux: `sysctl_sched_latency`, 6 ms), in ns.
pub const SCHED_LATENCY_NS: u64 = 6_000_000;
/// Shortest slice an entity gets (Linux: `sysctl_sched_min_granularity`).
pub const MIN_GRANULARITY_NS: u64 = 750_000;
/// How far ahead in vruntime a woken entity must be to preempt the running
/// one (Linux: `sysctl_sched_wakeup_granularity`).
pub const WAKEUP_GRANULARITY_NS: u64 = 1_000_000;
/// Entities beyond which the period stretches (latency / min granularity).
const NR_LATENCY: u64 = SCHED_LATENCY_NS / MIN_GRANULARITY_NS;

/// Clamps `nice` to the valid range.
pub const fn clamp_nice(nice: i32) -> i32 {
    if nice < MIN_NICE {
        MIN_NICE
    } else if nice > MAX_NICE {
        MAX_NICE
    } else {
        nice
    }
}

/// The load weight of a nice value.
pub const fn nice_to_weight(nice: i32) -> u64 {
    SCHED_PRIO_TO_WEIGHT[(clamp_nice(nice) - MIN_NICE) as usize] as u64
}

/// `a * b / c` rounded down, in 64 bits whenever the product fits (the
/// CPU's divide instruction), else in 128 (a library call of some hundred
/// instructions): the scheduler's products of a time and a weight fit
/// unless the time is months long.
const fn mul_div(a: u64, b: u64, c: u64) -> u64 {
    match a.checked_mul(b) {
        Some(product) => product / c,
        None => ((a as u128 * b as u128) / c as u128) as u64,
    }
}

/// Virtual runtime for `delta_ns` of real runtime at `weight` (Linux:
/// `calc_delta_fair`). Exact, where Linux multiplies by a precomputed
/// inverse of the weight and shifts.
pub const fn calc_delta_fair(delta_ns: u64, weight: u64) -> u64 {
    if weight == NICE_0_LOAD {
        delta_ns
    } else {
        mul_div(delta_ns, NICE_0_LOAD, weight)
    }
}

/// The period in which `nr_running` entities each run once (Linux: `__sched_period`).
pub const fn sched_period(nr_running: u64) -> u64 {
    if nr_running > NR_LATENCY {
        nr_running * MIN_GRANULARITY_NS
    } else {
        SCHED_LATENCY_NS
    }
}

/// The wall-clock slice of an entity of `weight` on a queue of total weight
/// `total_weight` holding `nr_running` entities (Linux: `sched_slice`).
pub const fn sched_slice(nr_running: u64, weight: u64, total_weight: u64) -> u64 {
    let period = sched_period(nr_running);
    if total_weight == 0 {
        period
    } else {
        mul_div(period, weight, total_weight)
    }
}

/// The scheduling state of one entity (Linux: `struct sched_entity`).
#[derive(Debug)]
pub struct SchedEntity {
    pub vruntime: u64,
    pub weight: u64,
    /// Clock value when the entity last started running or was last accounted.
    pub exec_start: u64,
    /// Total real runtime, ns.
    pub sum_exec_runtime: u64,
    /// `sum_exec_runtime` when it was last picked, to measure its current slice.
    pub prev_sum_exec_runtime: u64,
    /// The tree node (Linux: `run_node`), valid while queued. In a cell:
    /// the tree changes the nodes of entities it reaches through its links
    /// while other code holds references to those entities, so the tree
    /// operations take entities by shared reference and write only here.
    node: UnsafeCell<RunNode>,
}

/// An entity's place in its queue's tree: the order key, the heap priority,
/// the links and the key identifying the entity to the scheduler.
#[derive(Debug)]
struct RunNode {
    key: (u64, u64),
    prio: u64,
    left: *mut SchedEntity,
    right: *mut SchedEntity,
    parent: *mut SchedEntity,
    owner: usize,
    /// In a tree now (a double enqueue or a stray dequeue is a bug).
    queued: bool,
}

impl RunNode {
    const fn new() -> Self {
        RunNode {
            key: (0, 0),
            prio: 0,
            left: null_mut(),
            right: null_mut(),
            parent: null_mut(),
            owner: 0,
            queued: false,
        }
    }
}

impl SchedEntity {
    /// A fresh entity at `nice`.
    pub const fn new(nice: i32) -> Self {
        SchedEntity {
            vruntime: 0,
            weight: nice_to_weight(nice),
            exec_start: 0,
            sum_exec_runtime: 0,
            prev_sum_exec_runtime: 0,
            node: UnsafeCell::new(RunNode::new()),
        }
    }

    /// Charges the time since `exec_start` up to `now` (Linux: `update_curr`).
    /// Returns the real time charged.
    pub fn account(&mut self, now: u64) -> u64 {
        let delta = now.saturating_sub(self.exec_start);
        self.exec_start = now;
        self.sum_exec_runtime += delta;
        self.vruntime += calc_delta_fair(delta, self.weight);
        delta
    }

    /// Real time run since it was last picked.
    pub fn slice_used(&self) -> u64 {
        self.sum_exec_runtime - self.prev_sum_exec_runtime
    }
}

/// What identifies a queued entity to the scheduler (a task), kept in the
/// entity's tree node as a plain word.
pub trait EntityKey: Copy {
    fn to_raw(self) -> usize;
    /// # Safety
    /// `raw` must come from [`EntityKey::to_raw`] of a key whose entity is
    /// still queued.
    unsafe fn from_raw(raw: usize) -> Self;
}

impl EntityKey for usize {
    fn to_raw(self) -> usize {
        self
    }
    unsafe fn from_raw(raw: usize) -> Self {
        raw
    }
}

impl EntityKey for u32 {
    fn to_raw(self) -> usize {
        self as usize
    }
    unsafe fn from_raw(raw: usize) -> Self {
        raw as u32
    }
}

/// The tree node of `x`.
///
/// # Safety
/// `x` points to a live entity.
unsafe fn nd(x: *mut SchedEntity) -> *mut RunNode {
    // SAFETY: the caller's contract; the node is only reached through this
    // cell's pointer, never through a reference to the node.
    unsafe { (*x).node.get() }
}

/// The intrusive treap of queued entities, ordered by `node.key`.
struct Timeline {
    root: *mut SchedEntity,
    len: usize,
}

impl Timeline {
    const fn new() -> Self {
        Timeline { root: null_mut(), len: 0 }
    }

    /// Makes `x` take its parent's place (a rotation); `x` must have a parent.
    ///
    /// # Safety (for every method taking entity pointers)
    /// The pointers are to entities in this tree (or, for `insert`, to one
    /// joining it), alive and not moved, and nothing else touches their
    /// nodes meanwhile (the run-queue lock).
    unsafe fn rotate_up(&mut self, x: *mut SchedEntity) {
        // SAFETY: see the method's contract.
        unsafe {
            let p = (*nd(x)).parent;
            let g = (*nd(p)).parent;
            if (*nd(p)).left == x {
                (*nd(p)).left = (*nd(x)).right;
                if !(*nd(x)).right.is_null() {
                    (*nd((*nd(x)).right)).parent = p;
                }
                (*nd(x)).right = p;
            } else {
                (*nd(p)).right = (*nd(x)).left;
                if !(*nd(x)).left.is_null() {
                    (*nd((*nd(x)).left)).parent = p;
                }
                (*nd(x)).left = p;
            }
            (*nd(p)).parent = x;
            (*nd(x)).parent = g;
            if g.is_null() {
                self.root = x;
            } else if (*nd(g)).left == p {
                (*nd(g)).left = x;
            } else {
                (*nd(g)).right = x;
            }
        }
    }

    /// # Safety
    /// See [`Timeline::rotate_up`]; `x` is not in the tree yet.
    unsafe fn insert(&mut self, x: *mut SchedEntity) {
        // SAFETY: see the method's contract.
        unsafe {
            debug_assert!(!(*nd(x)).queued, "sched entity {x:p} enqueued twice");
            (*nd(x)).queued = true;
            (*nd(x)).left = null_mut();
            (*nd(x)).right = null_mut();
            let mut parent = null_mut::<SchedEntity>();
            let mut at = self.root;
            while !at.is_null() {
                parent = at;
                at = if (*nd(x)).key < (*nd(at)).key { (*nd(at)).left } else { (*nd(at)).right };
            }
            (*nd(x)).parent = parent;
            if parent.is_null() {
                self.root = x;
            } else if (*nd(x)).key < (*nd(parent)).key {
                (*nd(parent)).left = x;
            } else {
                (*nd(parent)).right = x;
            }
            while !(*nd(x)).parent.is_null() && (*nd((*nd(x)).parent)).prio < (*nd(x)).prio {
                self.rotate_up(x);
            }
        }
        self.len += 1;
    }

    /// # Safety
    /// See [`Timeline::rotate_up`]; `x` is in the tree.
    unsafe fn remove(&mut self, x: *mut SchedEntity) {
        // SAFETY: see the method's contract.
        unsafe {
            debug_assert!((*nd(x)).queued, "sched entity {x:p} dequeued but not queued");
            (*nd(x)).queued = false;
            // Rotate it down below its higher-priority child until it is a
            // leaf, then cut it off.
            loop {
                let (l, r) = ((*nd(x)).left, (*nd(x)).right);
                let child = match (l.is_null(), r.is_null()) {
                    (true, true) => break,
                    (false, true) => l,
                    (true, false) => r,
                    (false, false) => {
                        if (*nd(l)).prio > (*nd(r)).prio {
                            l
                        } else {
                            r
                        }
                    }
                };
                self.rotate_up(child);
            }
            let p = (*nd(x)).parent;
            if p.is_null() {
                self.root = null_mut();
            } else if (*nd(p)).left == x {
                (*nd(p)).left = null_mut();
            } else {
                (*nd(p)).right = null_mut();
            }
            (*nd(x)).parent = null_mut();
        }
        self.len -= 1;
    }

    fn first(&self) -> *mut SchedEntity {
        let mut at = self.root;
        // SAFETY: the tree's entities are alive while queued (module docs).
        unsafe {
            while !at.is_null() && !(*nd(at)).left.is_null() {
                at = (*nd(at)).left;
            }
        }
        at
    }

    fn last(&self) -> *mut SchedEntity {
        let mut at = self.root;
        // SAFETY: as in `first`.
        unsafe {
            while !at.is_null() && !(*nd(at)).right.is_null() {
                at = (*nd(at)).right;
            }
        }
        at
    }

    /// The entity before `x` in key order (Linux: `rb_prev`).
    fn prev(x: *mut SchedEntity) -> *mut SchedEntity {
        // SAFETY: as in `first`; `x` is in the tree.
        unsafe {
            if !(*nd(x)).left.is_null() {
                let mut at = (*nd(x)).left;
                while !(*nd(at)).right.is_null() {
                    at = (*nd(at)).right;
                }
                return at;
            }
            let mut child = x;
            let mut at = (*nd(x)).parent;
            while !at.is_null() && (*nd(at)).left == child {
                child = at;
                at = (*nd(at)).parent;
            }
            at
        }
    }
}

/// A pseudo-random heap priority from a sequence number (a 64-bit mix), so
/// that the treap's shape does not follow the insertion order.
const fn treap_priority(seq: u64) -> u64 {
    let mut z = seq.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A CFS run queue of entities identified by `K`.
pub struct CfsRq<K> {
    timeline: Timeline,
    /// Monotonic floor of the vruntimes on this queue (Linux: `min_vruntime`).
    pub min_vruntime: u64,
    /// Sum of the weights of queued entities and the running one.
    pub load_weight: u64,
    /// Entities queued plus the running one (if it is one of ours).
    pub nr_running: u64,
    seq: u64,
    _key: core::marker::PhantomData<K>,
}

impl<K: EntityKey> Default for CfsRq<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: EntityKey> CfsRq<K> {
    /// An empty queue.
    pub const fn new() -> Self {
        CfsRq {
            timeline: Timeline::new(),
            min_vruntime: 0,
            load_weight: 0,
            nr_running: 0,
            seq: 0,
            _key: core::marker::PhantomData,
        }
    }

    /// Places an entity joining the queue (Linux: `place_entity`): a new one
    /// starts one slice after `min_vruntime` (it must not starve the others by
    /// starting at zero); a waking sleeper keeps its vruntime but gets at most
    /// half a latency of credit, so long sleeps do not bank unbounded CPU time.
    pub fn place_entity(&self, se: &mut SchedEntity, new: bool) {
        let mut vruntime = self.min_vruntime;
        if new {
            vruntime += sched_slice(self.nr_running + 1, se.weight, self.load_weight + se.weight);
            se.vruntime = vruntime;
        } else {
            vruntime = vruntime.saturating_sub(SCHED_LATENCY_NS / 2);
            se.vruntime = se.vruntime.max(vruntime);
        }
    }

    /// Adds a runnable entity that is not running (Linux: `enqueue_entity`).
    /// The entity must stay where it is, alive, until it is dequeued or
    /// picked (module docs).
    pub fn enqueue(&mut self, key: K, se: &SchedEntity) {
        self.account_enqueue(se);
        self.insert(key, se);
    }

    /// Counts an entity in the load without putting it in the tree (it is
    /// about to run).
    pub fn account_enqueue(&mut self, se: &SchedEntity) {
        self.load_weight += se.weight;
        self.nr_running += 1;
    }

    /// Removes an entity: from the tree if `queued` (not running), and from the
    /// load either way (Linux: `dequeue_entity`).
    pub fn dequeue(&mut self, se: &SchedEntity, queued: bool) -> Option<K> {
        self.load_weight -= se.weight;
        self.nr_running -= 1;
        if queued {
            let x = se as *const SchedEntity as *mut SchedEntity;
            // SAFETY: a queued entity is in this tree (the caller's
            // `queued`), alive, and the caller holds the queue exclusively;
            // the tree writes only the entity's node cell.
            unsafe {
                self.timeline.remove(x);
                // The owner was stored by `insert` from a key.
                Some(K::from_raw((*nd(x)).owner))
            }
        } else {
            None
        }
    }

    fn insert(&mut self, key: K, se: &SchedEntity) {
        self.seq += 1;
        let x = se as *const SchedEntity as *mut SchedEntity;
        // SAFETY: `se` is alive and joins no other tree (it is not queued);
        // it stays put while queued (module docs). Only its node cell is
        // written.
        unsafe {
            let node = nd(x);
            (*node).key = (se.vruntime, self.seq);
            (*node).prio = treap_priority(self.seq);
            (*node).owner = key.to_raw();
            self.timeline.insert(x);
        }
    }

    /// Puts the running entity back into the tree (Linux: `put_prev_entity`).
    pub fn put_prev(&mut self, key: K, se: &SchedEntity) {
        self.insert(key, se);
    }

    /// Takes the entity with the smallest vruntime out of the tree to run it
    /// (Linux: `pick_next_entity` + `set_next_entity`); it stays in the load.
    pub fn pick_next(&mut self) -> Option<K> {
        let first = self.timeline.first();
        if first.is_null() {
            return None;
        }
        // SAFETY: `first` is in the tree, alive (module docs).
        unsafe {
            self.timeline.remove(first);
            Some(K::from_raw((*nd(first)).owner))
        }
    }

    /// The smallest vruntime in the tree.
    pub fn leftmost_vruntime(&self) -> Option<u64> {
        let first = self.timeline.first();
        // SAFETY: as in `pick_next`.
        (!first.is_null()).then(|| unsafe { (*nd(first)).key.0 })
    }

    /// Entities waiting in the tree (not running), largest vruntime first:
    /// the candidates a load balancer may move.
    pub fn queued_from_right(&self) -> impl Iterator<Item = K> + '_ {
        let mut at = self.timeline.last();
        core::iter::from_fn(move || {
            if at.is_null() {
                return None;
            }
            // SAFETY: `at` is in the tree, which the shared borrow of the
            // queue keeps unchanged.
            let key = unsafe { K::from_raw((*nd(at)).owner) };
            at = Timeline::prev(at);
            Some(key)
        })
    }

    /// Entities waiting in the tree.
    pub fn queued(&self) -> usize {
        self.timeline.len
    }

    /// Advances `min_vruntime` towards the smallest of the running entity's
    /// and the leftmost vruntime; it never goes backwards (Linux:
    /// `update_min_vruntime`).
    pub fn update_min_vruntime(&mut self, curr: Option<&SchedEntity>) {
        let candidate = match (curr.map(|c| c.vruntime), self.leftmost_vruntime()) {
            (Some(c), Some(l)) => c.min(l),
            (Some(c), None) => c,
            (None, Some(l)) => l,
            (None, None) => return,
        };
        self.min_vruntime = self.min_vruntime.max(candidate);
    }

    /// Whether the running entity `curr` has used up its slice or an entity in
    /// the tree is far enough behind it that it should run now (Linux:
    /// `check_preempt_tick`).
    pub fn should_preempt(&self, curr: &SchedEntity) -> bool {
        let slice = sched_slice(self.nr_running, curr.weight, self.load_weight);
        if self.timeline.len == 0 {
            return false;
        }
        if curr.slice_used() > slice {
            return true;
        }
        if curr.slice_used() < MIN_GRANULARITY_NS {
            return false;
        }
        self.leftmost_vruntime().is_some_and(|l| curr.vruntime > l + slice)
    }

    /// Whether a woken entity should preempt the running one (Linux:
    /// `wakeup_preempt_entity` < 1 inverted).
    pub fn wakeup_preempts(curr: &SchedEntity, woken: &SchedEntity) -> bool {
        curr.vruntime > woken.vruntime + calc_delta_fair(WAKEUP_GRANULARITY_NS, woken.weight)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    #[test]
    fn weights_follow_linux_table() {
        assert_eq!(nice_to_weight(0), 1024);
        assert_eq!(nice_to_weight(-20), 88761);
        assert_eq!(nice_to_weight(19), 15);
        assert_eq!(nice_to_weight(10), 110);
        assert_eq!(nice_to_weight(99), 15, "clamped");
        assert_eq!(calc_delta_fair(1_000_000, 1024), 1_000_000);
        assert_eq!(calc_delta_fair(1_000_000, 2048), 500_000);
    }

    /// The 64-bit paths of the weight arithmetic against the 128-bit
    /// quotients they stand for, at every weight of the nice table and
    /// at the edges of the 64-bit product.
    #[test]
    fn weight_arithmetic_is_the_exact_quotient() {
        let exact = |a: u64, b: u64, c: u64| ((a as u128 * b as u128) / c as u128) as u64;
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let edge = u64::MAX / NICE_0_LOAD;
        for &w in SCHED_PRIO_TO_WEIGHT.iter() {
            let w = w as u64;
            for d in [0, 1, w - 1, w, 999_999, 1_000_000, edge - 1, edge, edge + 1, u64::MAX / 2, u64::MAX] {
                assert_eq!(calc_delta_fair(d, w), exact(d, NICE_0_LOAD, w), "delta {d} at weight {w}");
            }
            for _ in 0..5_000 {
                // Deltas of every size: random bits cut to a random width.
                let d = next() >> (next() % 64);
                assert_eq!(calc_delta_fair(d, w), exact(d, NICE_0_LOAD, w), "delta {d} at weight {w}");
            }
        }
        for _ in 0..50_000 {
            let nr = next() >> (32 + next() % 32); // periods that fit in 64 bits
            let w = (next() >> (next() % 64)).max(1);
            let total = w.saturating_add(next() >> (next() % 64));
            assert_eq!(sched_slice(nr, w, total), exact(sched_period(nr), w, total), "{nr} entities, {w}/{total}");
        }
        assert_eq!(sched_slice(3, u64::MAX, u64::MAX), SCHED_LATENCY_NS, "a product past 64 bits");
    }

    #[test]
    fn period_stretches_with_many_tasks() {
        assert_eq!(sched_period(1), SCHED_LATENCY_NS);
        assert_eq!(sched_period(8), SCHED_LATENCY_NS);
        assert_eq!(sched_period(100), 100 * MIN_GRANULARITY_NS);
        assert_eq!(sched_slice(2, 1024, 2048), SCHED_LATENCY_NS / 2);
    }

    /// Runs entities with `nices` on one queue for `ticks` ticks of 1 ms,
    /// preempting as the scheduler tick would; returns each one's runtime.
    fn simulate(nices: &[i32], ticks: u64) -> Vec<u64> {
        let mut rq = CfsRq::<usize>::new();
        let mut se: Vec<SchedEntity> = nices.iter().map(|&n| SchedEntity::new(n)).collect();
        for (i, e) in se.iter_mut().enumerate() {
            rq.place_entity(e, true);
            rq.enqueue(i, e);
        }
        let mut now = 0;
        let mut curr = rq.pick_next().unwrap();
        se[curr].exec_start = now;
        se[curr].prev_sum_exec_runtime = se[curr].sum_exec_runtime;
        for _ in 0..ticks {
            now += 1_000_000;
            se[curr].account(now);
            rq.update_min_vruntime(Some(&se[curr]));
            if rq.should_preempt(&se[curr]) {
                rq.put_prev(curr, &se[curr]);
                curr = rq.pick_next().unwrap();
                se[curr].exec_start = now;
                se[curr].prev_sum_exec_runtime = se[curr].sum_exec_runtime;
            }
        }
        se.iter().map(|e| e.sum_exec_runtime).collect()
    }

    #[test]
    fn equal_nice_shares_equally() {
        let run = simulate(&[0, 0, 0], 3000);
        for r in &run {
            assert!((900_000_000..=1_100_000_000).contains(r), "{run:?}");
        }
    }

    #[test]
    fn nice_10_gets_about_a_tenth_of_nice_0() {
        let run = simulate(&[0, 10], 10_000);
        let ratio = run[0] as f64 / run[1] as f64;
        let expected = 1024.0 / 110.0;
        assert!((ratio / expected - 1.0).abs() < 0.15, "ratio {ratio:.2}, expected {expected:.2}: {run:?}");
    }

    #[test]
    fn smallest_vruntime_runs_first_and_min_vruntime_never_decreases() {
        let mut rq = CfsRq::<u32>::new();
        let a = SchedEntity { vruntime: 50, ..SchedEntity::new(0) };
        let b = SchedEntity { vruntime: 10, ..SchedEntity::new(0) };
        let c = SchedEntity { vruntime: 10, ..SchedEntity::new(0) };
        rq.enqueue(1, &a);
        rq.enqueue(2, &b);
        rq.enqueue(3, &c);
        assert_eq!(rq.nr_running, 3);
        assert_eq!(rq.pick_next(), Some(2), "ties go to the earlier enqueue");
        rq.update_min_vruntime(Some(&b));
        assert_eq!(rq.min_vruntime, 10);
        assert_eq!(rq.dequeue(&c, true), Some(3));
        assert_eq!(rq.queued_from_right().collect::<Vec<_>>(), [1]);
        rq.update_min_vruntime(None);
        assert_eq!(rq.min_vruntime, 50);
        let low = SchedEntity { vruntime: 5, ..SchedEntity::new(0) };
        rq.update_min_vruntime(Some(&low));
        assert_eq!(rq.min_vruntime, 50, "monotonic");
    }

    /// The tree's depth below `x`, checking the order and heap properties
    /// and the parent links on the way.
    fn check_subtree(x: *mut SchedEntity) -> usize {
        if x.is_null() {
            return 0;
        }
        // SAFETY: the test's entities outlive the queue's use of them.
        unsafe {
            for child in [(*nd(x)).left, (*nd(x)).right] {
                if !child.is_null() {
                    assert_eq!((*nd(child)).parent, x, "parent link");
                    assert!((*nd(child)).prio <= (*nd(x)).prio, "heap order");
                }
            }
            if !(*nd(x)).left.is_null() {
                assert!((*nd((*nd(x)).left)).key < (*nd(x)).key, "search order");
            }
            if !(*nd(x)).right.is_null() {
                assert!((*nd((*nd(x)).right)).key > (*nd(x)).key, "search order");
            }
            1 + check_subtree((*nd(x)).left).max(check_subtree((*nd(x)).right))
        }
    }

    #[test]
    fn the_intrusive_tree_matches_a_sorted_list_under_random_operations() {
        let n = 512;
        // Boxed: an entity must not move while it is queued.
        let mut se: Vec<std::boxed::Box<SchedEntity>> =
            (0..n).map(|_| std::boxed::Box::new(SchedEntity::new(0))).collect();
        let mut rq = CfsRq::<usize>::new();
        let mut model: std::collections::BTreeSet<(u64, usize)> = std::collections::BTreeSet::new();
        let mut rng = 0x1234_5678_9abc_def0u64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut seq_of = std::vec![0u64; n];
        for step in 0..20_000 {
            let i = (next() % n as u64) as usize;
            let queued = model.contains(&(seq_of[i], i));
            match next() % 4 {
                0 | 1 if !queued => {
                    se[i].vruntime = next() % 1000; // many ties
                    rq.enqueue(i, &se[i]);
                    seq_of[i] = unsafe { (*se[i].node.get()).key.1 };
                    model.insert((seq_of[i], i));
                }
                2 if queued => {
                    assert_eq!(rq.dequeue(&se[i], true), Some(i));
                    model.remove(&(seq_of[i], i));
                }
                3 => {
                    let want =
                        model.iter().min_by_key(|&&(seq, j)| (unsafe { (*se[j].node.get()).key.0 }, seq)).copied();
                    assert_eq!(rq.pick_next(), want.map(|(_, j)| j), "step {step}");
                    if let Some((seq, j)) = want {
                        model.remove(&(seq, j));
                        rq.dequeue(&se[j], false);
                    }
                }
                _ => {}
            }
            assert_eq!(rq.queued(), model.len());
            if step % 1000 == 0 {
                let depth = check_subtree(rq.timeline.root);
                assert!(depth <= 4 * (usize::BITS - model.len().leading_zeros()) as usize + 4, "depth {depth}");
                let mut want: Vec<(u64, u64, usize)> =
                    model.iter().map(|&(seq, j)| (unsafe { (*se[j].node.get()).key.0 }, seq, j)).collect();
                want.sort();
                let right: Vec<usize> = rq.queued_from_right().collect();
                assert_eq!(right, want.iter().rev().map(|w| w.2).collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn sleepers_get_bounded_credit_and_new_tasks_start_behind() {
        let mut rq = CfsRq::<u32>::new();
        rq.min_vruntime = 100_000_000;
        let mut sleeper = SchedEntity::new(0);
        rq.place_entity(&mut sleeper, false);
        assert_eq!(sleeper.vruntime, 100_000_000 - SCHED_LATENCY_NS / 2);
        let mut fresh = SchedEntity::new(0);
        rq.place_entity(&mut fresh, true);
        assert!(fresh.vruntime > rq.min_vruntime);
        let mut ahead = SchedEntity { vruntime: 200_000_000, ..SchedEntity::new(0) };
        rq.place_entity(&mut ahead, false);
        assert_eq!(ahead.vruntime, 200_000_000, "a sleeper never gains vruntime by waking");
    }

    #[test]
    fn wakeup_preemption_needs_a_granularity_lead() {
        let curr = SchedEntity { vruntime: 10_000_000, ..SchedEntity::new(0) };
        let close = SchedEntity { vruntime: 9_500_000, ..SchedEntity::new(0) };
        let far = SchedEntity { vruntime: 5_000_000, ..SchedEntity::new(0) };
        assert!(!CfsRq::<u32>::wakeup_preempts(&curr, &close));
        assert!(CfsRq::<u32>::wakeup_preempts(&curr, &far));
    }
}
