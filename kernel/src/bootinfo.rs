//! What the kernel learns about the machine at boot: the RAM ranges, the
//! reserved regions and the command line, from the device tree the firmware
//! passes in x0, or else (QEMU without `-dtb`, which passes ATAGs) from the
//! VideoCore mailbox, which knows only the ARM's first memory range.

use crate::board::BoardInfo;
use crate::fdt::{self, Range, Ranges};
use crate::mm::phys_to_virt;
use spin::Once;

/// Where the memory map came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    DeviceTree,
    Mailbox,
}

/// The boot-time view of the machine.
#[derive(Clone, Copy, Debug)]
pub struct BootInfo {
    pub source: Source,
    pub ram: Ranges,
    pub reserved: Ranges,
    /// The device tree blob itself, to keep it reserved.
    pub fdt: Option<Range>,
    /// /chosen/bootargs, copied into fixed storage (`cmdline`).
    pub cmdline: Option<&'static str>,
    pub model: Option<&'static str>,
}

static BOOT_INFO: Once<BootInfo> = Once::new();

/// The command line's copy (Linux: `boot_command_line`), made before any
/// allocator exists.
static BOOT_COMMAND_LINE: Once<crate::cmdline::CommandLine> = Once::new();

/// Copies `bootargs` into [`BOOT_COMMAND_LINE`]; says so when it is cut.
fn save_command_line(bootargs: Option<&str>) -> Option<&'static str> {
    let text = bootargs?;
    let saved = BOOT_COMMAND_LINE.call_once(|| {
        let (line, cut) = crate::cmdline::CommandLine::copy_from(text);
        if cut {
            log::warn!(
                "command line of {} bytes cut to {} (COMMAND_LINE_SIZE)",
                text.len(),
                crate::cmdline::COMMAND_LINE_SIZE - 1
            );
        }
        line
    });
    Some(saved.as_str())
}

/// The boot map reaches only the first GiB until the kernel tables are built;
/// a device tree elsewhere is not read.
const BOOT_MAP_END: u64 = 1 << 30;
/// Largest device tree accepted (the Pi 4's is about 50 KiB).
const MAX_FDT: usize = 2 << 20;

/// The device tree at physical address `pa`, if there is a valid one.
fn device_tree(pa: u64) -> Option<(fdt::BootInfo<'static>, Range)> {
    if pa == 0 || !pa.is_multiple_of(8) || pa + 40 > BOOT_MAP_END {
        return None;
    }
    // SAFETY: the first GiB is mapped (boot map, then the linear map) and the
    // header lies inside it; only 8 bytes are read before the size is known.
    let header = unsafe { core::slice::from_raw_parts(phys_to_virt(pa) as *const u8, 8) };
    let size = fdt::total_size(header).ok()?;
    if size > MAX_FDT || pa + size as u64 > BOOT_MAP_END {
        log::warn!("device tree at {pa:#x}: size {size} out of bounds, ignored");
        return None;
    }
    // SAFETY: inside the mapped first GiB; the range is reserved from the
    // frame allocator below, so nothing overwrites it later.
    let blob = unsafe { core::slice::from_raw_parts(phys_to_virt(pa) as *const u8, size) };
    match fdt::parse(blob) {
        Ok(info) => Some((info, Range { base: pa, size: size as u64 })),
        Err(e) => {
            log::warn!("device tree at {pa:#x}: {e:?}, ignored");
            None
        }
    }
}

/// Works out the memory map from the device tree at `boot_arg` or the mailbox.
/// Runs once, on core 0, before the frame allocator exists.
pub fn discover(boot_arg: u64, mailbox: Option<&BoardInfo>) -> Option<&'static BootInfo> {
    let info = match device_tree(boot_arg) {
        Some((dt, blob)) if !dt.memory.as_slice().is_empty() => BootInfo {
            source: Source::DeviceTree,
            ram: dt.memory,
            reserved: dt.reserved,
            fdt: Some(blob),
            cmdline: save_command_line(dt.bootargs),
            model: dt.model,
        },
        _ => {
            let (base, size) = mailbox?.arm_memory;
            let mut ram = Ranges::default();
            ram.push(Range { base, size });
            BootInfo {
                source: Source::Mailbox,
                ram,
                reserved: Ranges::default(),
                fdt: None,
                cmdline: None,
                model: None,
            }
        }
    };
    Some(BOOT_INFO.call_once(|| info))
}

/// The boot information, once [`discover`] has run.
pub fn get() -> Option<&'static BootInfo> {
    BOOT_INFO.get()
}

/// Applies the command-line switches this kernel knows (see `cmdline`).
/// Runs before the frame allocator exists: nothing here allocates.
pub fn apply_cmdline(cmdline: &'static str) {
    if let Some(path) = crate::cmdline::option(cmdline, "init").filter(|p| !p.is_empty()) {
        crate::initproc::set_init_path(path);
    }
    if crate::cmdline::value(cmdline, "kshell").is_some() {
        crate::initproc::KSHELL_ONLY.store(true, core::sync::atomic::Ordering::Relaxed);
    }
    if let Some(level) = crate::cmdline::log_level(cmdline) {
        match crate::logger::parse_level(level) {
            Some(l) => log::set_max_level(l),
            None => log::warn!("command line: unknown log level '{level}'"),
        }
    }
}
