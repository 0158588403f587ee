//! The tracing calls (kernel/src/ptrace.rs does the work): `ptrace`,
//! `process_vm_readv` and `process_vm_writev`.

use super::nr;

syscalls! {
    a;
    nr::PTRACE => crate::ptrace::sys_ptrace(a[0], a[1] as i64, a[2], a[3]),
    nr::PROCESS_VM_READV => crate::ptrace::process_vm_rw(a[0] as i64, a[1], a[2], a[3], a[4], a[5], false),
    nr::PROCESS_VM_WRITEV => crate::ptrace::process_vm_rw(a[0] as i64, a[1], a[2], a[3], a[4], a[5], true),
}
