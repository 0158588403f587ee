//! Physical addresses of the BCM2711 blocks the kernel uses, in the default
//! "low peripheral" mode that both the firmware and QEMU's `raspi4b` set up.

/// Start of the ARM-visible peripheral window.
pub const PERIPHERAL_BASE: usize = 0xFC00_0000;
/// End (exclusive) of the peripheral window, including the GIC and ARM-local blocks.
pub const PERIPHERAL_END: usize = 0x1_0000_0000;

/// VideoCore mailbox 0/1 registers.
pub const MAILBOX: usize = 0xFE00_B880;
/// Power manager: reset control and watchdog.
pub const POWER_MANAGER: usize = 0xFE10_0000;
/// GPIO controller.
pub const GPIO: usize = 0xFE20_0000;
/// PL011 UART0 (the first `-serial` in QEMU; header pins 8/10 on a board).
pub const PL011_UART0: usize = 0xFE20_1000;
/// EMMC2: the SDHCI host of the micro-SD slot on a Pi 4.
pub const EMMC2: usize = 0xFE34_0000;
/// EMMC: the older SDHCI host (Wi-Fi on a Pi 4). QEMU 10's `raspi4b` puts
/// `-drive if=sd` behind this one (its GPIO 48-53 routing), not EMMC2.
pub const EMMC: usize = 0xFE30_0000;
/// GIC-400 distributor.
pub const GICD: usize = 0xFF84_1000;
/// GIC-400 CPU interface (banked per core).
pub const GICC: usize = 0xFF84_2000;

/// Interrupt IDs (GIC INTIDs) of the devices the kernel takes interrupts from.
pub mod irq {
    /// EL1 physical timer (PPI 14), one per core.
    pub const TIMER_EL1_PHYS: u32 = 30;
    /// PL011 UART0 (SPI 121).
    pub const PL011_UART0: u32 = 153;
    /// EMMC and EMMC2, one line for both (SPI 126: the VideoCore's
    /// interrupt 62, as Linux's bcm2711.dtsi gives both hosts).
    pub const EMMC: u32 = 158;
}

/// The firmware's spin table: cores 1-3 wait for an entry address in these
/// 64-bit slots (`0xd8 + 8 * core`).
pub const fn spin_table_slot(core: usize) -> usize {
    0xd8 + 8 * core
}

/// GPIO pin of the green activity LED on a Pi 4.
pub const ACT_LED_GPIO: u32 = 42;
