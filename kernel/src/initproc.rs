//! The first tasks after boot (Linux: init/main.c `rest_init`,
//! `kernel_init`): PID 1, `init`, and PID 2, `kthreadd`, both children of
//! `init_task`; then the boot CPU becomes its idle task.
//!
//! Until user space exists, `init` runs in the kernel: it starts the console
//! shell as its child and then does what PID 1 must always do, reap every
//! child it has or inherits, forever.

use crate::errno::Errno;
use crate::exit::{has_children, kernel_wait4, set_child_reaper, WaitFor};
use crate::fork::{copy_process, kernel_thread, CloneArgs};
use crate::sched::task::{current, state};
use crate::sched::wait::Completion;
use core::sync::atomic::{AtomicU64, Ordering};

/// Children reaped by init.
pub static REAPED_BY_INIT: AtomicU64 = AtomicU64::new(0);

/// kthreadd exists (Linux: `kthreadd_done`): init waits for it before it
/// starts anything that may create kernel threads.
static KTHREADD_DONE: Completion = Completion::new();

/// Creates init and kthreadd, then turns the boot CPU into its idle task.
pub fn rest_init() -> ! {
    let args = CloneArgs { clone_parent: false, exit_signal: crate::wstatus::SIGCHLD, nokill: true };
    // The reaper is known before init runs (and before anything can exit).
    let init = copy_process(init_main, 0, "init", args).expect("cannot create init");
    set_child_reaper(init);
    crate::sched::core::wake_up_new_task(init);
    kernel_thread(crate::kthread::kthreadd, 0, "kthreadd", args).expect("cannot create kthreadd");
    KTHREADD_DONE.complete();
    crate::sched::core::cpu_idle()
}

/// PID 1.
extern "C" fn init_main(_: usize) -> i32 {
    KTHREADD_DONE.wait_for_completion();
    let args = CloneArgs { clone_parent: false, exit_signal: crate::wstatus::SIGCHLD, nokill: true };
    if let Err(e) = kernel_thread(crate::shell::shell_thread, 0, "kshell", args) {
        log::error!("init: cannot start the console shell: {e}");
    }
    let me = current();
    loop {
        match kernel_wait4(WaitFor::Any, 0) {
            Ok(Some((pid, status))) => {
                REAPED_BY_INIT.fetch_add(1, Ordering::Relaxed);
                log::debug!("init: reaped {pid} (status {status:#x})");
            }
            Ok(None) | Err(Errno::EINTR) => {}
            Err(_) => {
                // No children: sleep until one is handed to us.
                let _ = me.wait_chldexit.wait_event(state::TASK_INTERRUPTIBLE, has_children);
            }
        }
    }
}
