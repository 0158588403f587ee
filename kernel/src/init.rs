//! Kernel start-up (Linux: `start_kernel`, `secondary_start_kernel`).
//!
//! boot.S arrives here on core 0 at EL1 with the MMU on (boot tables), IRQs
//! masked, on the core's boot stack. The order matters: the firmware is asked
//! about memory and the UART clock before the console exists; the frame
//! allocator must exist before the final page tables; those before the heap and
//! before the secondary cores, which start on them.

use crate::arch::{cpu, mmu};
use crate::mm::{self, frame::PAGE_SIZE, phys, virt_to_phys};
use crate::{board, config, irq, smp, time};
use core::sync::atomic::Ordering;
use log::{info, warn};

/// Core 0's Rust entry point. `boot_arg` is x0 from the firmware (an FDT or
/// ATAG address).
#[no_mangle]
extern "C" fn kernel_entry(boot_arg: u64) -> ! {
    // memcpy borrows SIMD registers for long copies (string.S).
    crate::arch::fpsimd::enable();
    // `current` is init_task from here on.
    crate::sched::core::sched_init();
    time::init();
    let firmware = board::query_firmware();
    let uart_clock = firmware.map_or(config::DEFAULT_UART_CLOCK, |i| i.uart_clock);
    board::GPIO.map_pl011_uart();
    board::UART.init(uart_clock, config::CONSOLE_BAUD);
    crate::logger::init(log::LevelFilter::Info);
    crate::println!(
        "\nrpi4-kernel {} (aarch64, {} cores, HZ={})",
        env!("CARGO_PKG_VERSION"),
        config::NR_CPUS,
        config::HZ
    );

    if let Ok(info) = firmware {
        match info.revision {
            Some(rev) => info!("board: {} (revision {rev:#x})", bsp::revision::model_name(rev)),
            None => info!("board: revision unknown"),
        }
    } else if let Err(e) = firmware {
        warn!("firmware mailbox: {e:?}");
    }
    let Some(boot) = crate::bootinfo::discover(boot_arg, firmware.ok()) else {
        panic!("no memory map: no device tree at {boot_arg:#x} and no answer from the mailbox");
    };
    if let Some(model) = boot.model {
        info!("device tree at {boot_arg:#x}: {model}");
    }
    if let Some(cmdline) = boot.cmdline {
        info!("command line: {cmdline}");
        crate::bootinfo::apply_cmdline(cmdline);
    }

    let mut ram = [(0u64, 0u64); crate::fdt::MAX_RANGES];
    for (slot, r) in ram.iter_mut().zip(boot.ram.as_slice()) {
        *slot = (r.base, r.base + r.size);
    }
    let all_ram = &ram[..boot.ram.as_slice().len()];
    let mut ram = all_ram;
    // `mem=`: the allocator gets the lowest ranges up to that much RAM; the
    // linear map still covers all of it (the device tree may lie above).
    let mem_limit = boot.cmdline.and_then(|c| crate::cmdline::value(c, "mem")).and_then(|v| {
        let limit = crate::cmdline::memparse(v);
        if limit.is_none_or(|l| l < crate::cmdline::MIN_MEM) {
            warn!("command line: mem={v} ignored (at least {} MiB)", crate::cmdline::MIN_MEM >> 20);
            return None;
        }
        limit
    });
    let mut capped = [(0u64, 0u64); crate::fdt::MAX_RANGES];
    if let Some(limit) = mem_limit {
        let mut left = limit;
        let mut n = 0;
        for &(start, end) in ram {
            if left == 0 {
                break;
            }
            let take = (end - start).min(left);
            capped[n] = (start, start + take);
            left -= take;
            n += 1;
        }
        ram = &capped[..n];
    }
    let layout = mm::layout::image();
    let image = (virt_to_phys(layout.start), virt_to_phys(layout.end));
    // Page 0 holds the firmware's spin table (and the ATAGs on QEMU); the
    // device tree and what it reserves stay untouched too.
    let mut reserved = [(0u64, 0u64); crate::fdt::MAX_RANGES + 3];
    reserved[0] = (0, PAGE_SIZE as u64);
    reserved[1] = image;
    let mut n = 2;
    for r in boot.fdt.iter().chain(boot.reserved.as_slice()) {
        if n < reserved.len() {
            reserved[n] = (r.base, r.base + r.size);
            n += 1;
        }
    }
    phys::init(ram, &reserved[..n]);
    let stats = phys::stats();
    let source = match boot.source {
        crate::bootinfo::Source::DeviceTree => "the device tree",
        crate::bootinfo::Source::Mailbox => "the firmware mailbox",
    };
    info!(
        "memory: {} MiB in {} range(s) from {source}; kernel image {:#x}-{:#x}; {} pages free",
        ram.iter().map(|r| r.1 - r.0).sum::<u64>() >> 20,
        ram.len(),
        image.0,
        image.1,
        stats.free
    );

    let kernel_table = match mm::kmap::init(all_ram) {
        Ok(root) => root,
        Err(e) => panic!("building the kernel page tables: {e:?}"),
    };
    mmu::install_reserved_ttbr0(mm::mm_struct::init_reserved_table());
    if !mm::heap::init(config::INITIAL_HEAP_BYTES) {
        panic!("no memory for the kernel heap");
    }
    mm::page::init(ram.iter().map(|r| r.1).max().unwrap_or(0).min(phys::MAX_PHYS));
    let files = crate::fs::vfs::init();
    info!("initramfs: {files} files unpacked into the tmpfs root");

    irq::init();
    crate::heartbeat::init();
    bring_up_this_cpu(0);
    smp::start_secondaries(kernel_table);
    let online = smp::online_count();
    if online < config::NR_CPUS {
        warn!("{online} of {} cores online", config::NR_CPUS);
    }
    info!("boot complete in {} ms: {online} cores online", time::uptime_ns() / 1_000_000);
    crate::initproc::rest_init()
}

/// Per-core set-up shared by all cores: record the EL, interrupts, tick. The
/// core says so before it counts as online, so core 0, which waits for that,
/// never prints the prompt before a secondary's message.
fn bring_up_this_cpu(core: usize) {
    let me = smp::this_cpu();
    me.el.store(cpu::current_el(), Ordering::Relaxed);
    irq::init_this_cpu();
    time::start_tick();
    info!("core {core} online at EL{} (entered at EL{})", cpu::current_el(), smp::entry_el(core));
    me.online.store(true, Ordering::Release);
    cpu::local_irq_enable();
}

/// Entry of cores 1-3 from boot.S, already on the final kernel tables.
#[no_mangle]
extern "C" fn secondary_entry(core: u64) -> ! {
    crate::arch::fpsimd::enable(); // before any memcpy, as on core 0
    crate::sched::core::init_idle(core as usize);
    mmu::install_reserved_ttbr0(mm::mm_struct::reserved_ttbr0());
    bring_up_this_cpu(core as usize);
    crate::sched::core::cpu_idle()
}
