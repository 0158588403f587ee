//! The activity LED (GPIO 42, green) as a heartbeat while the kernel runs:
//! on for 100 ms once a second, driven by core 0's tick (Linux: the
//! `heartbeat` LED trigger), through the board's embedded-hal `OutputPin`.

use crate::board::GPIO;
use crate::config::HZ;
use bsp::gpio::OutputPin;
use bsp::memory_map::ACT_LED_GPIO;
use core::sync::atomic::{AtomicBool, Ordering};
use embedded_hal::digital::{OutputPin as _, StatefulOutputPin as _};

static ENABLED: AtomicBool = AtomicBool::new(false);

fn led() -> OutputPin<'static> {
    OutputPin::attach(&GPIO, ACT_LED_GPIO)
}

/// Makes the LED pin an output and starts the heartbeat.
pub fn init() {
    let _ = OutputPin::new(&GPIO, ACT_LED_GPIO);
    ENABLED.store(true, Ordering::Relaxed);
}

/// Called on every tick of core 0.
pub fn tick(ticks: u64) {
    if !ENABLED.load(Ordering::Relaxed) {
        return;
    }
    let phase = ticks % HZ as u64;
    if phase == 0 {
        let _ = led().set_high();
    } else if phase == (HZ / 10) as u64 {
        let _ = led().set_low();
    }
}

/// Stops the heartbeat and sets the LED (the `led on|off` command).
pub fn set_manual(on: bool) {
    ENABLED.store(false, Ordering::Relaxed);
    let _ = if on { led().set_high() } else { led().set_low() };
}

/// Restarts the heartbeat.
pub fn resume() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// (LED lit, heartbeat running).
pub fn state() -> (bool, bool) {
    (led().is_set_high().unwrap_or(false), ENABLED.load(Ordering::Relaxed))
}
