//! Stack backtraces from frame pointers (the kernel is built with
//! `-C force-frame-pointers=yes`).
//!
//! An AArch64 frame record is two words at x29: the caller's x29 and the return
//! address. The walk follows the chain while each record lies inside one of
//! the stacks being unwound and moves towards higher addresses, so a corrupt
//! chain ends the trace instead of faulting inside the panic handler.

/// Deepest trace printed.
pub const MAX_DEPTH: usize = 32;

/// Calls `emit` with each return address found walking from frame pointer `fp`.
/// `on_stack(addr)` says whether a 16-byte record at `addr` lies on a stack
/// the walk may read (the current stack, and the one an exception came from);
/// `read` loads one word (both kept abstract so the walk is testable on the
/// host). Returns the number of frames emitted.
pub fn walk(
    mut fp: usize,
    on_stack: impl Fn(usize) -> bool,
    read: impl Fn(usize) -> usize,
    mut emit: impl FnMut(usize),
) -> usize {
    let mut depth = 0;
    while depth < MAX_DEPTH {
        if fp == 0 || !fp.is_multiple_of(16) || !on_stack(fp) {
            break;
        }
        let next = read(fp);
        let ret = read(fp + 8);
        if ret == 0 {
            break;
        }
        // The return address points after the call; report the call itself.
        emit(ret.wrapping_sub(4));
        depth += 1;
        if next <= fp {
            break; // frames must move towards the top of the stack
        }
        fp = next;
    }
    depth
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::collections::HashMap;
    use std::vec::Vec;

    fn run(mem: &HashMap<usize, usize>, fp: usize) -> Vec<usize> {
        let mut out = Vec::new();
        // Two stacks, as after an overflow: 0x1000-0x2000 and 0x8000-0x8100.
        let on_stack = |a: usize| (0x1000..0x2000 - 16).contains(&a) || (0x8000..0x8100 - 16).contains(&a);
        walk(fp, on_stack, |a| *mem.get(&a).unwrap_or(&0), |pc| out.push(pc));
        out
    }

    #[test]
    fn follows_the_chain_to_its_end() {
        let mem = HashMap::from([(0x1100, 0x1200), (0x1108, 0x4004), (0x1200, 0), (0x1208, 0x5008)]);
        assert_eq!(run(&mem, 0x1100), [0x4000, 0x5004]);
    }

    #[test]
    fn crosses_from_one_stack_to_a_higher_one() {
        let mem = HashMap::from([(0x1100, 0x8010), (0x1108, 0x4004), (0x8010, 0), (0x8018, 0x5008)]);
        assert_eq!(run(&mem, 0x1100), [0x4000, 0x5004]);
    }

    #[test]
    fn stops_at_records_outside_the_stack_or_going_backwards() {
        let escaping = HashMap::from([(0x1100, 0x9000), (0x1108, 0x4004)]);
        assert_eq!(run(&escaping, 0x1100), [0x4000]);
        let looping = HashMap::from([(0x1100, 0x1100), (0x1108, 0x4004)]);
        assert_eq!(run(&looping, 0x1100), [0x4000]);
        let misaligned = HashMap::from([(0x1108, 0x4004)]);
        assert_eq!(run(&misaligned, 0x1108), Vec::<usize>::new());
        assert_eq!(run(&escaping, 0), Vec::<usize>::new());
    }

    #[test]
    fn depth_is_bounded() {
        // A chain longer than MAX_DEPTH.
        let mut mem = HashMap::new();
        for i in 0..100 {
            let fp = 0x1000 + i * 0x20;
            mem.insert(fp, fp + 0x20);
            mem.insert(fp + 8, 0x4004);
        }
        assert_eq!(run(&mem, 0x1000).len(), MAX_DEPTH);
    }
}
