//! Creating tasks (Linux: kernel/fork.c): `copy_process`, `dup_task_struct`,
//! `kernel_thread`, and freeing a task's memory at its last reference.
//!
//! Only kernel threads exist so far: they share the kernel address space and
//! have no files, so `copy_process` duplicates the descriptor, gives it a
//! kernel stack and a PID, and links it into the process tree. The book's
//! order is kept: duplicate, (resource limits: kernel threads are exempt, as
//! root's are in Linux), reset the per-task fields, hold the child in
//! TASK_NEW until it is ready, set its flags, allocate the PID, link it in.

use crate::errno::Errno;
use crate::mm::slab::{KmemCache, PageSource};
use crate::mm::{frame::PAGE_SIZE, phys, phys_to_virt, virt_to_phys, vmstack};
use crate::pid::{Pid, PidMap};
use crate::sched::fair::SchedEntity;
use crate::sched::task::{current, pf, state, TaskRef, TaskStruct, TASKLIST};
use crate::sync::IrqSpinLock;
use crate::util::list::ListHead;
use core::sync::atomic::Ordering;

/// The PID allocator (Linux: the pid namespace's IDR).
pub static PIDS: IrqSpinLock<PidMap> = IrqSpinLock::new(PidMap::new());

/// Slab pages from the frame allocator, through the linear map.
pub struct FramePages;

impl PageSource for FramePages {
    fn alloc_pages(&self, pages: usize) -> Option<usize> {
        phys::alloc_frames(pages, pages).map(phys_to_virt)
    }
    fn free_pages(&self, va: usize, pages: usize) {
        for i in 0..pages {
            let _ = phys::free_frame(virt_to_phys(va + i * PAGE_SIZE));
        }
    }
}

static FRAME_PAGES: FramePages = FramePages;

/// The `task_struct` cache (Linux: `task_struct_cachep`).
pub static TASK_STRUCT_CACHE: KmemCache = KmemCache::new(
    "task_struct",
    core::mem::size_of::<TaskStruct>(),
    core::mem::align_of::<TaskStruct>(),
    &FRAME_PAGES,
);

/// CPUs that have emptied their magazines since the last [`shrink_caches`].
static DRAINED: core::sync::atomic::AtomicU8 = core::sync::atomic::AtomicU8::new(0);

/// Empties this CPU's magazines of the kernel's slab caches (the SlabDrain IPI).
pub fn drain_caches_local() {
    TASK_STRUCT_CACHE.drain_local();
    DRAINED.fetch_or(1 << crate::arch::cpu::core_id(), Ordering::AcqRel);
}

/// Returns every empty slab of the kernel's caches to the page allocator
/// (Linux: `kmem_cache_shrink`): each online CPU first empties its magazine
/// (an IPI to the others, Linux's `on_each_cpu`); returns the pages freed.
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
    // Draining alone can free slabs (a cache keeps few empty ones), so count
    // the difference rather than what shrink() itself returned.
    before.saturating_sub(pages())
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
}

/// Allocates a descriptor and copies the parent's scheduling attributes
/// (Linux: `dup_task_struct`).
fn dup_task_struct(parent: TaskRef) -> Result<TaskRef, Errno> {
    let obj = TASK_STRUCT_CACHE.alloc().ok_or(Errno::ENOMEM)?;
    let p = obj.as_ptr() as *mut TaskStruct;
    // SAFETY: a fresh, suitably aligned object of the task_struct cache.
    unsafe { p.write(TaskStruct::new()) };
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
    task.cpus_allowed.store(parent.cpus_allowed.load(Ordering::Relaxed), Ordering::Relaxed);
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
        ctx.sp = stack.high as u64;
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
