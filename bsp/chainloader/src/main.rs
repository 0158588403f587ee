//! A serial chain-loader for the Raspberry Pi 4, for fast iteration on real
//! hardware: put it on the SD card as `kernel8.img` once, then send each new
//! kernel over the UART (`make chainboot DEV=/dev/ttyUSB0`) instead of moving
//! the card.
//!
//! The firmware loads it at 0x80000 and starts core 0 at EL2 with the MMU
//! off. It copies itself to 32 MiB, sets up the PL011, and waits for a kernel
//! (protocol: `bsp::chainload`). The kernel goes to 0x80000 and is entered
//! as the firmware would: at EL2, MMU off, x0 = the firmware's x0 (the device
//! tree), cores 1-3 still waiting in the firmware's spin table.
//!
//! With the MMU off every access is Device memory, where unaligned accesses
//! fault: the loader is built with `+strict-align` and writes the kernel a
//! byte at a time.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod loader {
    use bsp::chainload::{adler32, MAGIC, MAX_SIZE, OK, READY};
    use bsp::gpio::Gpio;
    use bsp::memory_map::{GPIO, PL011_UART0};
    use bsp::pl011::Pl011;
    use bsp::timer;

    /// Where the kernel goes and starts.
    const KERNEL_LOAD: usize = 0x80000;
    /// The UART reference clock the firmware sets (init_uart_clock).
    const UART_CLOCK: u32 = 48_000_000;

    core::arch::global_asm!(
        r#"
.section .text.boot, "ax"
.global _start
_start:
    mrs     x1, mpidr_el1
    and     x1, x1, #0xff
    cbz     x1, 2f
1:  wfe                                 // only core 0 runs the loader
    b       1b
2:  mov     x19, x0                     // the firmware's x0, for the kernel
    adr     x1, _start                  // where the firmware put us
    ldr     x2, =__loader_start         // where we are linked
    ldr     x3, =__loader_size
    cmp     x1, x2
    b.eq    4f
3:  ldr     x4, [x1], #8
    str     x4, [x2], #8
    subs    x3, x3, #8
    b.gt    3b
4:  ldr     x1, =__bss_start
    ldr     x2, =__bss_end
5:  cmp     x1, x2
    b.hs    6f
    str     xzr, [x1], #8
    b       5b
6:  ldr     x1, =__loader_start         // the stack grows down from the loader
    mov     sp, x1
    dsb     sy
    ic      iallu
    dsb     sy
    isb
    mov     x0, x19
    ldr     x1, =loader_main
    br      x1

// x0 = the kernel's entry, x1 = the value for its x0.
.global enter_kernel
enter_kernel:
    mov     x2, x0
    mov     x0, x1
    dsb     sy
    ic      iallu
    dsb     sy
    isb
    br      x2
.ltorg
"#
    );

    extern "C" {
        fn enter_kernel(entry: usize, x0: u64) -> !;
    }

    struct Console(Pl011);

    impl Console {
        fn line(&self, s: &str) {
            for b in s.bytes() {
                self.0.write_byte(b);
            }
            self.0.write_byte(b'\r');
            self.0.write_byte(b'\n');
        }

        /// The next byte of a transfer, or `None` after five seconds of
        /// silence (the sender gave up: start over rather than take its next
        /// attempt as data). Five, not one: a sender on a busy host may stall
        /// for a second or more in the middle of a transfer.
        fn transfer_byte(&self) -> Option<u8> {
            let start = timer::counter();
            loop {
                if let Some(b) = self.0.read_byte() {
                    return Some(b);
                }
                if timer::counter() - start > 5 * timer::frequency() {
                    return None;
                }
            }
        }

        fn u32_le(&self) -> Option<u32> {
            let mut v = 0u32;
            for i in 0..4 {
                v |= (self.transfer_byte()? as u32) << (8 * i);
            }
            Some(v)
        }

        /// Waits for the transfer magic, ignoring anything before it, and
        /// says it is ready again every second of silence (a terminal
        /// opened late still sees it).
        fn wait_for_magic(&self) {
            let mut window = [0u8; 4];
            let second = timer::frequency();
            let mut last = timer::counter();
            loop {
                let Some(b) = self.0.read_byte() else {
                    if timer::counter() - last > second {
                        self.line(READY);
                        last = timer::counter();
                    }
                    continue;
                };
                last = timer::counter();
                window = [window[1], window[2], window[3], b];
                if window == MAGIC {
                    return;
                }
            }
        }
    }

    #[no_mangle]
    extern "C" fn loader_main(boot_arg: u64) -> ! {
        // SAFETY: with the MMU off these are the devices' physical addresses,
        // and nothing else drives them.
        let (gpio, uart) = unsafe { (Gpio::new(GPIO), Pl011::new(PL011_UART0)) };
        gpio.map_pl011_uart();
        uart.init(UART_CLOCK, 115_200);
        let console = Console(uart);
        loop {
            console.line(READY);
            console.wait_for_magic();
            let (Some(size), Some(expected)) = (console.u32_le(), console.u32_le()) else {
                console.line("chainload: transfer timed out");
                continue;
            };
            if size == 0 || size > MAX_SIZE {
                console.line("chainload: bad size");
                continue;
            }
            let mut sum = 1;
            let mut complete = true;
            for i in 0..size as usize {
                let Some(b) = console.transfer_byte() else {
                    complete = false;
                    break;
                };
                sum = adler32(sum, &[b]);
                // SAFETY: [KERNEL_LOAD, KERNEL_LOAD + MAX_SIZE) is free RAM
                // below the loader's stack; byte stores need no alignment.
                unsafe { ((KERNEL_LOAD + i) as *mut u8).write_volatile(b) };
            }
            if !complete {
                console.line("chainload: transfer timed out");
                continue;
            }
            if sum != expected {
                console.line("chainload: checksum mismatch");
                continue;
            }
            console.line(OK);
            console.0.flush();
            // SAFETY: a whole kernel image is at its load address; it is
            // entered as the firmware enters one.
            unsafe { enter_kernel(KERNEL_LOAD, boot_arg) }
        }
    }

    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo) -> ! {
        loop {
            core::hint::spin_loop();
        }
    }
}

/// Built for the host (as workspace-wide cargo commands do), there is
/// nothing to run.
#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("chainload runs on a Raspberry Pi 4: see `make chainload`");
    std::process::exit(1);
}
