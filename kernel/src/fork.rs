//! Creating tasks (Linux: kernel/fork.c): `kernel_clone` and
//! `copy_process` for `fork`, `vfork` and `clone`, `kernel_thread`,
//! `dup_task_struct`, and freeing a task's memory at its last reference.
//!
//! `copy_process` follows the book's order: duplicate the descriptor and
//! give it a kernel stack, check RLIMIT_NPROC, reset the per-task fields,
//! hold the child in TASK_NEW (uninterruptible, not runnable) until it is
//! ready, set its flags, allocate the PID, then copy or share what the clone
//! flags say (files, fs, signal handlers, the thread group, the address
//! space), set up its registers and link it into the process tree.
//!
//! Kernel threads share the kernel's address space and have no files; a
//! user child gets a trap frame at the top of its kernel stack, a copy of
//! its parent's with x0 = 0, and starts in `ret_from_fork`.

use crate::errno::Errno;
use crate::mm::slab::KmemCache;
use crate::mm::{frame::PAGE_SIZE, phys, vmstack};
use crate::pid::{Pid, PidMap};
use crate::sched::fair::SchedEntity;
use crate::sched::task::{current, pf, state, TaskRef, TaskStruct, TASKLIST};
use crate::sync::IrqSpinLock;
use crate::util::list::ListHead;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;

/// The PID allocator (Linux: the pid namespace's IDR).
pub static PIDS: IrqSpinLock<PidMap> = IrqSpinLock::new(PidMap::new());

/// The `task_struct` cache (Linux: `task_struct_cachep`).
pub static TASK_STRUCT_CACHE: KmemCache = KmemCache::new(
    "task_struct",
    core::mem::size_of::<TaskStruct>(),
    core::mem::align_of::<TaskStruct>(),
    &phys::FRAME_PAGES,
);

/// CPUs that have emptied their magazines since the last [`shrink_caches`].
static DRAINED: core::sync::atomic::AtomicU8 = core::sync::atomic::AtomicU8::new(0);

/// Empties this CPU's magazines of the kernel's slab caches (the SlabDrain IPI).
pub fn drain_caches_local() {
    TASK_STRUCT_CACHE.drain_local();
    crate::mm::heap::drain_local();
    DRAINED.fetch_or(1 << crate::arch::cpu::core_id(), Ordering::AcqRel);
}

/// Returns every empty slab of the kernel's caches to the page allocator
/// (Linux: `kmem_cache_shrink`): each online CPU first empties its magazine
/// (an IPI to the others, Linux's `on_each_cpu`); the cached kernel stacks
/// and the disks' clean buffers go too. Returns the pages freed.
pub fn shrink_caches() -> usize {
    // One shrink at a time, and on one CPU throughout (IRQs are masked while
    // the lock is held, so `core_id` stays right).
    static SHRINKING: IrqSpinLock<()> = IrqSpinLock::new(());
    let _one = SHRINKING.lock();
    let pages = || {
        let s = TASK_STRUCT_CACHE.stats();
        s.num_slabs * s.pages_per_slab
    };
    let before = pages();
    let me = crate::arch::cpu::core_id();
    let others = (0..crate::config::NR_CPUS)
        .filter(|&c| c != me && crate::smp::CPUS[c].online.load(Ordering::Acquire))
        .fold(0u8, |m, c| m | 1 << c);
    DRAINED.store(0, Ordering::Release);
    crate::irq::send_ipi(crate::irq::Ipi::SlabDrain, others);
    drain_caches_local();
    let deadline = crate::time::uptime_ns() + 100_000_000;
    let all = others | 1 << me;
    if !crate::time::wait_until(deadline, || DRAINED.load(Ordering::Acquire) & all == all) {
        log::warn!("slab shrink: not every CPU drained its magazine");
    }
    TASK_STRUCT_CACHE.shrink();
    // The disks' clean buffers go back to kmalloc first, so the heap's
    // shrink below can return their pages.
    crate::block::bdev::shrink_buffers();
    let kmalloc_before = crate::mm::heap::slab_pages();
    crate::mm::heap::shrink();
    let kmalloc_freed = kmalloc_before.saturating_sub(crate::mm::heap::slab_pages());
    // Draining alone can free slabs (a cache keeps few empty ones), so count
    // the difference rather than what shrink() itself returned.
    let stack_pages = vmstack::drain_cache() * crate::smp::STACK_SIZE / PAGE_SIZE;
    before.saturating_sub(pages()) + stack_pages + kmalloc_freed
}

/// Creation options (the kernel-thread subset of Linux's `kernel_clone_args`).
#[derive(Clone, Copy, Debug)]
pub struct CloneArgs {
    /// CLONE_PARENT: the child's parent is the caller's parent.
    pub clone_parent: bool,
    /// Signal to the parent at exit; -1 for none (reaped at once).
    pub exit_signal: i32,
    /// The task refuses `kill` from its first instruction (PF_NOKILL): for
    /// tasks the system cannot lose.
    pub nokill: bool,
}

/// The function a kernel thread runs: argument in, exit code out.
pub type ThreadFn = extern "C" fn(usize) -> i32;

extern "C" {
    fn ret_from_kernel_thread();
    fn ret_from_fork();
}

/// Clone flags (include/uapi/linux/sched.h).
pub mod clone_flags {
    pub const CSIGNAL: u64 = 0x0000_00ff;
    pub const CLONE_VM: u64 = 0x0000_0100;
    pub const CLONE_FS: u64 = 0x0000_0200;
    pub const CLONE_FILES: u64 = 0x0000_0400;
    pub const CLONE_SIGHAND: u64 = 0x0000_0800;
    pub const CLONE_PIDFD: u64 = 0x0000_1000;
    pub const CLONE_PTRACE: u64 = 0x0000_2000;
    pub const CLONE_VFORK: u64 = 0x0000_4000;
    pub const CLONE_PARENT: u64 = 0x0000_8000;
    pub const CLONE_THREAD: u64 = 0x0001_0000;
    pub const CLONE_NEWNS: u64 = 0x0002_0000;
    pub const CLONE_SYSVSEM: u64 = 0x0004_0000;
    pub const CLONE_SETTLS: u64 = 0x0008_0000;
    pub const CLONE_PARENT_SETTID: u64 = 0x0010_0000;
    pub const CLONE_CHILD_CLEARTID: u64 = 0x0020_0000;
    pub const CLONE_DETACHED: u64 = 0x0040_0000;
    pub const CLONE_UNTRACED: u64 = 0x0080_0000;
    pub const CLONE_CHILD_SETTID: u64 = 0x0100_0000;
    /// Namespaces and other flags this kernel does not implement.
    pub const UNSUPPORTED: u64 = 0xfe00_0000 | CLONE_NEWNS;
}

/// User tasks alive (zombies included): what RLIMIT_NPROC counts (Linux:
/// `user_struct.processes`; every process here is root's).
pub static NR_USER_TASKS: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

/// The most user tasks at once (Linux: `max_threads`, and
/// `/proc/sys/kernel/threads-max`); 0 until first asked for, then Linux's
/// default ([`max_threads`]). A fork past it is EAGAIN. Departure from
/// Linux: kernel threads are not counted against it (Linux's `nr_threads`
/// counts every task).
pub static MAX_THREADS: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

/// Bounds of `threads-max` (Linux: MIN_THREADS, and MAX_THREADS, the
/// largest thread ID futexes can hold).
pub const THREADS_MAX_RANGE: (usize, usize) = (20, 0x3fff_ffff);

/// The task limit now; the first call sets Linux's default
/// (`set_max_threads`): as many tasks as the kernel stacks of one eighth
/// of memory make, within [`THREADS_MAX_RANGE`].
pub fn max_threads() -> usize {
    let now = MAX_THREADS.load(Ordering::Relaxed);
    if now != 0 {
        return now;
    }
    let stack_pages = crate::smp::STACK_SIZE.div_ceil(crate::mm::frame::PAGE_SIZE);
    let threads = (crate::mm::phys::stats().total / (8 * stack_pages)).clamp(THREADS_MAX_RANGE.0, THREADS_MAX_RANGE.1);
    match MAX_THREADS.compare_exchange(0, threads, Ordering::Relaxed, Ordering::Relaxed) {
        Ok(_) => threads,
        Err(set) => set,
    }
}

/// What `clone` asks for (Linux: `struct kernel_clone_args`).
#[derive(Clone, Copy, Debug, Default)]
pub struct UserCloneArgs {
    pub flags: u64,
    pub exit_signal: i32,
    /// The child's user stack pointer (0: the parent's).
    pub stack: u64,
    pub parent_tid: u64,
    pub child_tid: u64,
    pub tls: u64,
}

/// `fork`, `vfork` and `clone` (Linux: `kernel_clone`): creates the child,
/// reports its TID where asked, starts it (ahead of the parent, see
/// `wake_up_new_user_task`) and, for CLONE_VFORK, waits until it execs or
/// exits. Returns the child's TID.
pub fn kernel_clone(args: UserCloneArgs, frame: &crate::arch::exception::TrapFrame) -> Result<Pid, Errno> {
    use clone_flags::*;
    let trace = crate::ptrace::clone_event(args.flags, args.exit_signal);
    let p = copy_process_user(&args, frame)?;
    let pid = p.pid();
    crate::trace::task_newtask(p, args.flags | args.exit_signal as u64);
    crate::trace::sched_process_fork(current(), p);
    if args.flags & CLONE_PARENT_SETTID != 0 {
        // Linux writes it before the child runs; a bad pointer is ignored.
        let _ = crate::mm::uaccess::put_user_u32(args.parent_tid, pid);
    }
    // The vfork completion is shared: the child owns one reference through
    // `vfork_done` until it completes it (mm_release at exec or exit), the
    // parent another; whichever takes the pointer back out of `vfork_done`
    // drops the child's, so a parent killed while waiting leaves nothing
    // dangling behind.
    let vfork = (args.flags & CLONE_VFORK != 0).then(|| alloc::sync::Arc::new(crate::sched::wait::Completion::new()));
    if let Some(done) = &vfork {
        p.vfork_done.store(alloc::sync::Arc::into_raw(done.clone()) as *mut _, Ordering::Release);
    }
    // Held for the wait below: the child may exit and be reaped meanwhile.
    let child = vfork.is_some().then(|| p.get());
    crate::sched::core::wake_up_new_user_task(p);
    // PTRACE_EVENT_FORK/VFORK/CLONE with the new TID (Linux: ptrace_event_pid).
    if trace != 0 {
        crate::ptrace::ptrace_event(trace, pid as u64);
    }
    if let (Some(done), Some(child)) = (vfork, child) {
        // Killable, as in Linux: a vfork parent can be killed while its
        // child runs (Linux: wait_for_vfork_done).
        if done.wait_for_completion_killable().is_err() {
            let mine = child.vfork_done.swap(core::ptr::null_mut(), Ordering::AcqRel);
            if !mine.is_null() {
                // SAFETY: the pointer came from Arc::into_raw above, and the
                // swap took it back from the child, who will not use it.
                drop(unsafe { alloc::sync::Arc::from_raw(mine as *const crate::sched::wait::Completion) });
            }
        }
        child.put();
        crate::ptrace::ptrace_event(crate::ptrace::event::VFORK_DONE, pid as u64);
    }
    Ok(pid)
}

/// Checks flag combinations as Linux's `copy_process` does.
fn check_clone_flags(flags: u64) -> Result<(), Errno> {
    use clone_flags::*;
    if flags & UNSUPPORTED != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & CLONE_THREAD != 0 && flags & CLONE_SIGHAND == 0 {
        return Err(Errno::EINVAL);
    }
    if flags & CLONE_SIGHAND != 0 && flags & CLONE_VM == 0 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// Creates a user child of the current task per `args`, in TASK_NEW (Linux:
/// `copy_process`).
fn copy_process_user(args: &UserCloneArgs, frame: &crate::arch::exception::TrapFrame) -> Result<TaskRef, Errno> {
    use crate::signal::{SignalStruct, RLIMIT_NPROC};
    use clone_flags::*;
    check_clone_flags(args.flags)?;
    let parent = current();
    if args.flags & CLONE_PARENT != 0 && parent.tgid() == crate::exit::INIT_PID {
        return Err(Errno::EINVAL); // init's siblings would have no reaper
    }
    // What a user task always has, taken before anything needs undoing.
    let parent_signal = parent.signal_struct().ok_or(Errno::EINVAL)?;
    let files = parent.files.lock().clone().ok_or(Errno::EINVAL)?;
    let fs = parent.fs.lock().clone().ok_or(Errno::EINVAL)?;
    let sighand = parent.sighand().ok_or(Errno::EINVAL)?;
    let parent_mm = parent.mm().ok_or(Errno::EINVAL)?;
    // 1. Duplicate the descriptor, with a kernel stack.
    let p = dup_task_struct(parent)?;
    // 2. Resource limits: the caller's RLIMIT_NPROC against the tasks alive
    //    (enforced for root too: this kernel has no capabilities).
    let limit = parent_signal.rlimit(RLIMIT_NPROC);
    let tasks = NR_USER_TASKS.load(Ordering::Relaxed);
    if tasks as u64 >= limit || tasks >= max_threads() {
        free_task(p);
        return Err(Errno::EAGAIN);
    }
    // 3.-5. Per-task fields start fresh (dup_task_struct); the child stays
    //    in TASK_NEW until wake_up_new_task; its flags are the parent's
    //    minus what only the parent had.
    p.state.store(state::TASK_NEW, Ordering::Relaxed);
    p.flags.store(pf::PF_FORKNOEXEC, Ordering::Relaxed);
    p.prctl.inherit(&parent.prctl);
    p.set_comm(parent.comm().as_str());
    p.start_time.store(crate::time::uptime_ns(), Ordering::Relaxed);
    p.blocked.store(parent.blocked.load(Ordering::Relaxed), Ordering::Relaxed);
    // A thread sharing the memory gets no alternate signal stack: it would
    // share its parent's (Linux: copy_process clears sas_ss_sp for CLONE_VM
    // without CLONE_VFORK).
    if args.flags & (CLONE_VM | CLONE_VFORK) != CLONE_VM {
        p.sas.inherit(&parent.sas);
    }
    // 6. The PID.
    let pid = match PIDS.lock().alloc() {
        Ok(pid) => pid,
        Err(e) => {
            free_task(p);
            return Err(e);
        }
    };
    let thread = args.flags & CLONE_THREAD != 0;
    // SAFETY: the task is private until linked below.
    unsafe {
        *p.pid.get() = pid;
        *p.tgid.get() = if thread { parent.tgid() } else { pid };
    }
    let undo = |p: TaskRef, e: Errno| {
        let _ = PIDS.lock().free(p.pid());
        free_task(p);
        Err(e)
    };
    // 7. Copy or share by flags (Linux: copy_files, copy_fs, copy_sighand,
    //    copy_signal, copy_mm, copy_thread).
    *p.files.lock() = Some(if args.flags & CLONE_FILES != 0 { files } else { files.copy() });
    *p.fs.lock() = Some(if args.flags & CLONE_FS != 0 { fs } else { fs.copy() });
    *p.sighand_ptr.lock() = Some(if args.flags & CLONE_SIGHAND != 0 { sighand } else { sighand.copy() });
    if let Err(e) = crate::ipc::sem::copy_semundo(args.flags & CLONE_SYSVSEM != 0, parent, p) {
        return undo(p, e);
    }
    if thread {
        parent_signal.live.fetch_add(1, Ordering::SeqCst);
        *p.signal.lock() = Some(parent_signal.clone());
        p.group_leader.store(parent.group_leader().as_ptr(), Ordering::Release);
    } else {
        let s = SignalStruct::new(
            parent_signal.pgrp.load(Ordering::Relaxed),
            parent_signal.session.load(Ordering::Relaxed),
            *parent_signal.rlim.lock(),
        );
        s.oom_score_adj.store(parent_signal.oom_score_adj.load(Ordering::Relaxed), Ordering::Relaxed);
        s.prctl.inherit(&parent_signal.prctl);
        *p.signal.lock() = Some(s);
        p.group_leader.store(p.as_ptr(), Ordering::Release);
    }
    let mm = if args.flags & CLONE_VM != 0 {
        parent_mm
    } else {
        // The copy's private writable memory is committed first: a refusal
        // by vm.overcommit_memory is ENOMEM, which no OOM kill changes.
        // Out of memory for the copy's tables: the OOM killer makes room
        // and the copy starts again (Linux: GFP_KERNEL table allocations
        // wait for the killer); ENOMEM once nothing can be killed.
        let copy = parent_mm.charge_copy().and_then(|charged| loop {
            match parent_mm.dup(charged) {
                Err(Errno::ENOMEM) if crate::mm::oom_kill::out_of_memory() => continue,
                Ok(mm) => break Ok(mm),
                Err(e) => {
                    crate::mm::overcommit::vm_acct_memory(-(charged as i64));
                    break Err(e);
                }
            }
        });
        match copy {
            Ok(mm) => mm,
            Err(e) => {
                if thread {
                    parent_signal.live.fetch_sub(1, Ordering::SeqCst);
                }
                return undo(p, e);
            }
        }
    };
    p.ttbr0.store(mm.ttbr0(), Ordering::Relaxed);
    if args.flags & CLONE_CHILD_SETTID != 0 {
        let _ = mm.write_user(args.child_tid, &pid.to_le_bytes());
    }
    *p.mm.lock() = Some(mm);
    if args.flags & CLONE_CHILD_CLEARTID != 0 {
        p.clear_child_tid.store(args.child_tid, Ordering::Relaxed);
    }
    // The registers: the parent's trap frame, x0 = 0, at the top of the
    // child's kernel stack; the live FP/SIMD registers (Linux: copy_thread).
    // SAFETY: the task is private until linked below.
    unsafe {
        let stack = (*p.stack.get()).expect("set by dup_task_struct");
        let child_frame = task_pt_regs(p);
        child_frame.regs = frame.regs;
        child_frame.sp_el0 = frame.sp_el0;
        child_frame.elr = frame.elr;
        child_frame.spsr = frame.spsr;
        child_frame.regs[0] = 0;
        if args.stack != 0 {
            child_frame.sp_el0 = args.stack;
        }
        crate::arch::fpsimd::save(&mut *p.fpsimd.get());
        *p.se.get() = SchedEntity::new(p.nice.load(Ordering::Relaxed));
        let ctx = &mut *p.thread.get();
        ctx.sp = stack.high as u64 - core::mem::size_of::<crate::arch::exception::TrapFrame>() as u64;
        ctx.pc = ret_from_fork as *const () as u64;
        let tls: u64;
        core::arch::asm!("mrs {}, tpidr_el0", out(reg) tls, options(nomem, nostack, preserves_flags));
        ctx.tpidr_el0 = if args.flags & CLONE_SETTLS != 0 { args.tls } else { tls };
        ListHead::init(p.children.get());
        ListHead::init(p.sibling.get());
        ListHead::init(p.tasks.get());
    }
    // Threads are reaped by themselves (Linux: exit_signal -1 for
    // CLONE_THREAD); a process sends the signal in the flags' low byte.
    p.exit_signal.store(if thread { -1 } else { args.exit_signal }, Ordering::Relaxed);
    p.usage.store(2, Ordering::Relaxed);
    {
        let guard = TASKLIST.lock();
        // A fatal signal, a group exit or an exec in another thread may have
        // taken its snapshot of the group since this clone began: the new
        // task would escape it (Linux checks the same under tasklist_lock).
        let dying = crate::signal::fatal_signal_pending(parent)
            || (thread
                && (parent_signal.group_exit.load(Ordering::SeqCst)
                    || parent_signal.group_exec.load(Ordering::SeqCst)));
        if dying {
            drop(guard);
            if thread {
                parent_signal.live.fetch_sub(1, Ordering::SeqCst);
            }
            return undo(p, Errno::EINTR);
        }
        NR_USER_TASKS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: under TASKLIST; parents outlive the links to their children.
        unsafe {
            let real_parent = if args.flags & (CLONE_PARENT | CLONE_THREAD) != 0 {
                *parent.real_parent.get()
            } else {
                parent.as_ptr()
            };
            *p.real_parent.get() = real_parent;
            *p.parent.get() = real_parent;
            // Only a process (a group leader) is its parent's child; a
            // thread hangs off its leader (Linux: thread_group list).
            if !thread {
                ListHead::add_tail(p.sibling.get(), (*real_parent).children.get());
            }
            ListHead::add_tail(p.tasks.get(), crate::sched::task::init_task().tasks.get());
        }
        // A traced parent's tracer may follow the child (ptrace.rs).
        let trace = crate::ptrace::clone_event(args.flags, args.exit_signal);
        crate::ptrace::ptrace_init_task(p, parent, trace, args.flags);
    }
    Ok(p)
}

/// The trap frame at the top of a user task's kernel stack (Linux:
/// `task_pt_regs`).
///
/// # Safety
/// The caller must be the task itself or own it exclusively.
#[allow(clippy::mut_from_ref)]
pub unsafe fn task_pt_regs(p: TaskRef) -> &'static mut crate::arch::exception::TrapFrame {
    // SAFETY: the stack is set for every task but the idle ones, and its top
    // holds the frame (exception.S, ret_from_fork); the caller's contract
    // rules out aliasing.
    unsafe {
        let stack = (*p.stack.get()).expect("a user task has a kernel stack");
        let size = core::mem::size_of::<crate::arch::exception::TrapFrame>();
        &mut *((stack.high - size) as *mut crate::arch::exception::TrapFrame)
    }
}

/// Allocates a descriptor and copies the parent's scheduling attributes
/// (Linux: `dup_task_struct`).
/// What a new descriptor starts as; only ever copied (dup_task_struct).
static TASK_TEMPLATE: TaskStruct = TaskStruct::new();

/// Task descriptors made since boot, threads and kernel threads included
/// (Linux: `total_forks`, the `processes` line of /proc/stat; counted here
/// when the descriptor is made, so a fork that fails later counts too).
pub static TOTAL_FORKS: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

fn dup_task_struct(parent: TaskRef) -> Result<TaskRef, Errno> {
    // A new slab needs contiguous pages: the OOM killer may have to make
    // room (ENOMEM once it cannot).
    let obj = crate::mm::oom_kill::retry_on_oom(|| TASK_STRUCT_CACHE.alloc()).ok_or(Errno::ENOMEM)?;
    TOTAL_FORKS.fetch_add(1, Ordering::Relaxed);
    let p = obj.as_ptr() as *mut TaskStruct;
    // One copy of a ready-made descriptor, instead of building the 3 KiB
    // value on the stack (a memset and stores) and then moving it.
    // SAFETY: a fresh, suitably aligned object of the task_struct cache;
    // the template is TaskStruct::new()'s value, which owns nothing (a const
    // fn allocates nothing), so its bytes are a second such value.
    unsafe { core::ptr::copy_nonoverlapping(&TASK_TEMPLATE, p, 1) };
    // SAFETY: just initialised.
    let task = unsafe { TaskRef::from_ptr(p) };
    match vmstack::alloc_stack() {
        // SAFETY: the task is not visible to anyone else yet.
        Ok(stack) => unsafe { *task.stack.get() = Some(stack) },
        Err(e) => {
            // SAFETY: the object was never published.
            unsafe {
                core::ptr::drop_in_place(p);
                TASK_STRUCT_CACHE.free(obj).expect("a task_struct goes back to its own cache");
            }
            return Err(e);
        }
    }
    task.nice.store(parent.nice.load(Ordering::Relaxed), Ordering::Relaxed);
    task.group_leader.store(task.as_ptr(), Ordering::Relaxed);
    task.cpus_allowed.store(parent.cpus_allowed.load(Ordering::Relaxed), Ordering::Relaxed);
    task.personality.store(parent.personality.load(Ordering::Relaxed), Ordering::Relaxed);
    task.ioprio.store(parent.ioprio.load(Ordering::Relaxed), Ordering::Relaxed);
    *task.group_info.lock() = parent.group_info.lock().clone();
    task.cpu.store(crate::arch::cpu::core_id(), Ordering::Relaxed);
    Ok(task)
}

/// Creates a kernel thread running `f(arg)`, not yet runnable (Linux:
/// `copy_process`). The caller wakes it with [`crate::sched::core::wake_up_new_task`].
pub fn copy_process(f: ThreadFn, arg: usize, name: &str, args: CloneArgs) -> Result<TaskRef, Errno> {
    let parent = current();
    let p = dup_task_struct(parent)?;
    // Held in TASK_NEW until it is linked in and woken: no one may wake it.
    p.state.store(state::TASK_NEW, Ordering::Relaxed);
    p.flags.store(pf::PF_KTHREAD | if args.nokill { pf::PF_NOKILL } else { 0 }, Ordering::Relaxed);
    p.set_comm(name);
    p.start_time.store(crate::time::uptime_ns(), Ordering::Relaxed);
    p.exit_signal.store(args.exit_signal, Ordering::Relaxed);
    // SAFETY: the task is private until linked below.
    unsafe {
        *p.se.get() = SchedEntity::new(p.nice.load(Ordering::Relaxed));
        let stack = (*p.stack.get()).expect("set by dup_task_struct");
        let ctx = &mut *p.thread.get();
        // Below the room for a trap frame (Linux: `task_pt_regs`), which
        // a kernel thread that execs a user program fills (init).
        ctx.sp = (stack.high - core::mem::size_of::<crate::arch::exception::TrapFrame>()) as u64;
        ctx.pc = ret_from_kernel_thread as *const () as u64;
        ctx.regs[0] = f as *const () as u64; // x19
        ctx.regs[1] = arg as u64; // x20
        ListHead::init(p.children.get());
        ListHead::init(p.sibling.get());
        ListHead::init(p.tasks.get());
    }
    let pid = match PIDS.lock().alloc() {
        Ok(pid) => pid,
        Err(e) => {
            free_task(p);
            return Err(e);
        }
    };
    // SAFETY: private until linked below.
    unsafe {
        *p.pid.get() = pid;
        *p.tgid.get() = pid;
    }
    // One reference for being alive (dropped by release_task), one for
    // running (dropped when it is switched away from for the last time).
    p.usage.store(2, Ordering::Relaxed);
    {
        let _guard = TASKLIST.lock();
        // SAFETY: under TASKLIST; parents outlive the links to their children.
        unsafe {
            let real_parent = if args.clone_parent { *parent.real_parent.get() } else { parent.as_ptr() };
            *p.real_parent.get() = real_parent;
            *p.parent.get() = real_parent;
            ListHead::add_tail(p.sibling.get(), (*real_parent).children.get());
            ListHead::add_tail(p.tasks.get(), crate::sched::task::init_task().tasks.get());
        }
    }
    Ok(p)
}

/// Creates and starts a kernel thread (Linux: `kernel_thread`); returns its PID.
pub fn kernel_thread(f: ThreadFn, arg: usize, name: &str, args: CloneArgs) -> Result<Pid, Errno> {
    let p = copy_process(f, arg, name, args)?;
    let pid = p.pid();
    crate::sched::core::wake_up_new_task(p);
    Ok(pid)
}

/// Frees a task whose last reference is gone: its stack, its kthread state
/// and its descriptor (Linux: `free_task`). No CPU runs on the stack any more:
/// the last reference of a task that ran is dropped by finish_task_switch
/// after the switch away from it.
pub fn free_task(p: TaskRef) {
    // SAFETY: no references remain, so nothing else touches the task.
    unsafe {
        if let Some(stack) = (*p.stack.get()).take() {
            vmstack::free_stack(stack);
        }
        let obj = p.0.cast::<u8>();
        core::ptr::drop_in_place(p.as_ptr());
        TASK_STRUCT_CACHE.free(obj).expect("a task_struct goes back to its own cache");
    }
}

/// `unshare(2)` (Linux: `ksys_unshare`): the caller stops sharing its
/// current directory and root (CLONE_FS), its descriptor table
/// (CLONE_FILES) or its System V semaphore undo list (CLONE_SYSVSEM) with
/// the tasks it shared them with. CLONE_THREAD, CLONE_SIGHAND and CLONE_VM
/// are accepted, changing nothing, when there is nothing to unshare (the
/// caller is the only thread and shares neither handlers nor memory),
/// EINVAL otherwise, as Linux does. Namespaces are EINVAL: this kernel has
/// none (Linux built without CONFIG_*_NS says the same).
pub fn ksys_unshare(flags: u64) -> Result<u64, Errno> {
    use clone_flags::*;
    const CLONE_NEWTIME: u64 = 0x0000_0080;
    const CLONE_NEWCGROUP: u64 = 0x0200_0000;
    const CLONE_NEWUTS: u64 = 0x0400_0000;
    const CLONE_NEWIPC: u64 = 0x0800_0000;
    const CLONE_NEWUSER: u64 = 0x1000_0000;
    const CLONE_NEWPID: u64 = 0x2000_0000;
    const CLONE_NEWNET: u64 = 0x4000_0000;
    const NAMESPACES: u64 = CLONE_NEWNS
        | CLONE_NEWUTS
        | CLONE_NEWIPC
        | CLONE_NEWNET
        | CLONE_NEWUSER
        | CLONE_NEWPID
        | CLONE_NEWCGROUP
        | CLONE_NEWTIME;
    let mut flags = flags;
    // What each flag implies (Linux's order).
    if flags & CLONE_VM != 0 {
        flags |= CLONE_SIGHAND;
    }
    if flags & CLONE_SIGHAND != 0 {
        flags |= CLONE_THREAD;
    }
    // Linux: check_unshare_flags.
    if flags & !(CLONE_THREAD | CLONE_FS | CLONE_SIGHAND | CLONE_VM | CLONE_FILES | CLONE_SYSVSEM | NAMESPACES) != 0 {
        return Err(Errno::EINVAL);
    }
    let me = current();
    if flags & CLONE_THREAD != 0 && me.signal_struct().is_some_and(|s| s.live.load(Ordering::SeqCst) > 1) {
        return Err(Errno::EINVAL);
    }
    if flags & (CLONE_SIGHAND | CLONE_VM) != 0 {
        let handlers = me.sighand_ptr.lock().clone();
        if handlers.is_some_and(|h| Arc::strong_count(&h) > 2) {
            return Err(Errno::EINVAL);
        }
    }
    if flags & CLONE_VM != 0 {
        let mm = me.mm.lock().clone();
        if mm.is_some_and(|m| Arc::strong_count(&m) > 2) {
            return Err(Errno::EINVAL);
        }
    }
    if flags & NAMESPACES != 0 {
        return Err(Errno::EINVAL);
    }
    // Nothing can fail past here (Linux: the new structures are swapped in
    // together at the end).
    if flags & CLONE_FS != 0 {
        let fs = me.fs.lock().clone();
        if let Some(fs) = fs.filter(|f| Arc::strong_count(f) > 2) {
            *me.fs.lock() = Some(fs.copy());
        }
    }
    if flags & CLONE_FILES != 0 {
        let files = me.files.lock().clone();
        if let Some(files) = files.filter(|f| Arc::strong_count(f) > 2) {
            *me.files.lock() = Some(files.copy());
        }
    }
    if flags & CLONE_SYSVSEM != 0 {
        crate::ipc::sem::exit_sem(me);
    }
    Ok(0)
}
