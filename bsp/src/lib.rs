//! Board support for the Raspberry Pi 4 (BCM2711): the PL011 UART, the GIC-400
//! interrupt controller, the ARM generic timer, the VideoCore mailbox, GPIO and
//! the power-management watchdog.
//!
//! Drivers are plain structs over `tock-registers` register blocks. They take
//! the *virtual* address of their block at construction, so the kernel decides
//! how MMIO is mapped; [`memory_map`] gives the physical addresses. Anything the
//! board needs from the CPU architecture (cache maintenance for buffers the GPU
//! reads) comes in through a trait. Logic that needs no hardware (divisors,
//! mailbox message layout, register index arithmetic) is unit-tested on the host.
//!
//! embedded-hal traits are implemented where they fit: `DelayNs` on the generic
//! timer, `OutputPin` for the activity LED.
#![cfg_attr(not(test), no_std)]

pub mod chainload;
pub mod emmc;
pub mod gic;
pub mod gpio;
pub mod mailbox;
pub mod memory_map;
pub mod mmio;
pub mod pl011;
pub mod revision;
pub mod timer;
pub mod watchdog;
