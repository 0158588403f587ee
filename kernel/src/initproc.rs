//! The first tasks after boot (Linux: init/main.c `rest_init`,
//! `kernel_init`): PID 1, `init`, and PID 2, `kthreadd`, both children of
//! `init_task`; then the boot CPU becomes its idle task.
//!
//! PID 1 starts as a kernel thread and becomes the first user program
//! through `kernel_execve`, with the console as fds 0-2 (Linux:
//! `run_init_process`): `init=` from the command line if it runs, else the
//! first of /sbin/init, /etc/init, /bin/init and /bin/sh that runs (Linux's
//! list, `try_to_run_init_process`). Where Linux panics ("Requested init
//! failed") when `init=` names a program that cannot run, this kernel logs
//! the failure and tries the defaults, as Linux does for `rdinit=`: a typing
//! mistake on a board's cmdline.txt should not stop the boot. With `kshell`
//! on the command line, or when no init program can run (Linux's "No working
//! init found", where Linux panics), PID 1 stays in the kernel instead: the
//! debug monitor owns the console, and PID 1 reaps every child it has or
//! inherits, forever. The program gets the command line's words that are
//! not the kernel's as arguments and environment (cmdline.rs `init_args`).

use crate::arch::exception::TrapFrame;
use crate::errno::Errno;
use crate::exit::{has_children, kernel_wait4, set_child_reaper, WaitFor};
use crate::fork::{copy_process, kernel_thread, CloneArgs};
use crate::fs::file::{flags, File, FilesStruct, FsStruct};
use crate::sched::task::{current, state};
use crate::sched::wait::Completion;
use crate::signal::{SigHand, SignalStruct};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Children reaped by init.
pub static REAPED_BY_INIT: AtomicU64 = AtomicU64::new(0);

/// PID 1 runs a user program.
static USER_SPACE: AtomicBool = AtomicBool::new(false);

/// Whether PID 1 runs a user program (so the console can go back to it).
pub fn user_space_running() -> bool {
    USER_SPACE.load(Ordering::Relaxed)
}

/// `kshell` was on the command line.
pub static KSHELL_ONLY: AtomicBool = AtomicBool::new(false);

/// `init=` from the command line (Linux: `execute_command`): a slice of the
/// command line's fixed copy, kept before any allocator exists.
static INIT_PATH: spin::Once<&'static str> = spin::Once::new();

/// `init=` from the command line.
pub fn set_init_path(path: &'static str) {
    INIT_PATH.call_once(|| path);
}

/// The programs tried when there is no `init=` or it cannot run, in Linux's
/// order.
const DEFAULT_INITS: [&str; 4] = ["/sbin/init", "/etc/init", "/bin/init", "/bin/sh"];

/// Shortens a path for a log line: `init=` may be as long as the command line.
fn shown(path: &str) -> &str {
    const MAX: usize = 64;
    let mut end = path.len().min(MAX);
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    &path[..end]
}

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
    crate::block::init();
    if !KSHELL_ONLY.load(Ordering::Relaxed) {
        // The monitor waits beside user space for Ctrl-].
        crate::console::set_owner(crate::console::Owner::Tty);
        match crate::kthread::kthread_run(crate::shell::monitor_thread, 0, "kshell") {
            Ok(t) => t.put(),
            Err(e) => log::error!("init: cannot start the debug monitor: {e}"),
        }
        if let Some(&path) = INIT_PATH.get() {
            match run_init_process(path) {
                Ok(never) => match never {},
                Err(e) => log::error!(
                    "Failed to execute {}{} (error -{}).  Attempting defaults...",
                    shown(path),
                    if path.len() > shown(path).len() { "..." } else { "" },
                    e as i32
                ),
            }
        }
        for path in DEFAULT_INITS {
            match run_init_process(path) {
                Ok(never) => match never {},
                Err(e) => log::debug!("init: {path}: {e}"),
            }
        }
        log::error!(
            "No working init found.  Try passing init= option to kernel.  \
             Starting the kernel console shell instead of panicking."
        );
    }
    crate::console::set_owner(crate::console::Owner::Monitor);
    if KSHELL_ONLY.load(Ordering::Relaxed) {
        let args = CloneArgs { clone_parent: false, exit_signal: crate::wstatus::SIGCHLD, nokill: true };
        if let Err(e) = kernel_thread(crate::shell::shell_thread, 0, "kshell", args) {
            log::error!("init: cannot start the console shell: {e}");
        }
    }
    let me = current();
    loop {
        match kernel_wait4(WaitFor::Any, 0) {
            Ok(Some(r)) => {
                REAPED_BY_INIT.fetch_add(1, Ordering::Relaxed);
                log::debug!("init: reaped {} (status {:#x})", r.pid, r.status);
            }
            Ok(None) | Err(Errno::EINTR) => {}
            Err(_) => {
                // No children: sleep until one is handed to us.
                let _ = me.wait_chldexit.wait_event(state::TASK_INTERRUPTIBLE, has_children);
            }
        }
    }
}

/// Turns the init kernel thread into the user program at `path` (Linux:
/// `run_init_process`, `kernel_execve`): the console on fds 0-2, session
/// and process group 1, then `execve` and a jump to user mode. Returns
/// only on failure, with the thread unchanged but for its tables.
fn run_init_process(path: &str) -> Result<core::convert::Infallible, Errno> {
    let me = current();
    let files = FilesStruct::new();
    for _ in 0..3 {
        files.install(File::new(crate::fs::tty::open(), flags::O_RDWR), false, 0, 3)?;
    }
    *me.files.lock() = Some(files);
    *me.fs.lock() = Some(FsStruct::new());
    *me.sighand_ptr.lock() = Some(SigHand::new());
    *me.signal.lock() = Some(SignalStruct::new(1, 1, SignalStruct::default_rlimits()));
    // argv[0] is the path; the rest, and environment strings beside the
    // defaults, come from the command line (Linux: `argv_init`, `envp_init`).
    let cmdline = crate::bootinfo::get().and_then(|b| b.cmdline).unwrap_or("");
    let (args, env) = crate::cmdline::init_args(cmdline, &["HOME=/", "TERM=linux", "PATH=/bin:/sbin:/tests:/boot/bin"]);
    let argv: alloc::vec::Vec<&[u8]> = core::iter::once(path).chain(args).map(str::as_bytes).collect();
    let envp: alloc::vec::Vec<&[u8]> = env.into_iter().map(str::as_bytes).collect();
    // SAFETY: the init thread owns its stack; the frame area above its
    // kernel stack pointer is reserved for this (fork.rs).
    let frame: &mut TrapFrame = unsafe { crate::fork::task_pt_regs(me) };
    if let Err(e) = crate::fs::exec::do_execve(path, path, &argv[..], &envp[..], frame) {
        *me.files.lock() = None;
        *me.fs.lock() = None;
        *me.sighand_ptr.lock() = None;
        *me.signal.lock() = None;
        return Err(e);
    }
    crate::fork::NR_USER_TASKS.fetch_add(1, Ordering::Relaxed);
    USER_SPACE.store(true, Ordering::Relaxed);
    log::info!("init: running {path}");
    crate::arch::cpu::local_irq_disable();
    // SAFETY: the frame is complete; returning through it leaves the
    // kernel call chain on this stack behind for good, as Linux's
    // `ret_from_fork` does for a kernel thread that execs.
    unsafe {
        core::arch::asm!("mov sp, {frame}", "b ret_to_user", frame = in(reg) frame as *mut TrapFrame, options(noreturn))
    }
}
