// Context switch between kernel tasks (Linux: arch/arm64/kernel/entry.S,
// cpu_switch_to and ret_from_fork).
//
// Only the callee-saved registers, the frame pointer, SP, the return address
// and the user thread pointer TPIDR_EL0 need saving: a switch happens inside
// a function call (schedule()), so everything else is already saved by the
// caller or dead. The layout is
// sched/task.rs's CpuContext, the first field of TaskStruct.

.section .text, "ax"

// x0 = prev task, x1 = next task. Returns x0 = prev, on next's stack.
.global cpu_switch_to
cpu_switch_to:
    mov     x9, sp
    stp     x19, x20, [x0, #(0 * 16)]
    stp     x21, x22, [x0, #(1 * 16)]
    stp     x23, x24, [x0, #(2 * 16)]
    stp     x25, x26, [x0, #(3 * 16)]
    stp     x27, x28, [x0, #(4 * 16)]
    stp     x29, x9,  [x0, #(5 * 16)]
    mrs     x10, tpidr_el0
    stp     x30, x10, [x0, #(6 * 16)]
    ldp     x19, x20, [x1, #(0 * 16)]
    ldp     x21, x22, [x1, #(1 * 16)]
    ldp     x23, x24, [x1, #(2 * 16)]
    ldp     x25, x26, [x1, #(3 * 16)]
    ldp     x27, x28, [x1, #(4 * 16)]
    ldp     x29, x9,  [x1, #(5 * 16)]
    ldp     x30, x10, [x1, #(6 * 16)]
    msr     tpidr_el0, x10
    mov     sp, x9
    msr     tpidr_el1, x1               // current = next
    ret

// First return of a new user task (a fork child): its trap frame sits at the
// top of its kernel stack, which is where sp points; x0 = prev.
.global ret_from_fork
ret_from_fork:
    bl      schedule_tail
    mov     x0, sp
    bl      ret_from_fork_user          // signals, then IRQs masked for the return
    b       ret_to_user

// First return of a new kernel thread: x19 = its function, x20 = the
// argument (fork.rs sets them). x0 = prev, from cpu_switch_to.
.global ret_from_kernel_thread
ret_from_kernel_thread:
    bl      schedule_tail
    mov     x0, x20
    blr     x19
    bl      kthread_exit_from_fn        // x0 = the function's return value; never returns
    brk     #0x100
