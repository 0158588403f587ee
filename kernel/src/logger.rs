//! The `log` backend: every line carries the uptime, the level and the core,
//! as `[    1.234567] I core0: message`, on the console and in the kernel log
//! buffer (printk.rs) that `dmesg` reads.

use crate::printk;
use core::fmt::Write;
use log::{Level, LevelFilter, Log, Metadata, Record};

struct ConsoleLogger;

static LOGGER: ConsoleLogger = ConsoleLogger;

impl Log for ConsoleLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let ns = crate::time::uptime_ns();
        let letter = match record.level() {
            Level::Error => 'E',
            Level::Warn => 'W',
            Level::Info => 'I',
            Level::Debug => 'D',
            Level::Trace => 'T',
        };
        let syslog_level = match record.level() {
            Level::Error => printk::LOGLEVEL_ERR,
            Level::Warn => printk::LOGLEVEL_WARNING,
            Level::Info => printk::LOGLEVEL_INFO,
            Level::Debug | Level::Trace => printk::LOGLEVEL_DEBUG,
        };
        let (secs, micros) = (ns / 1_000_000_000, (ns % 1_000_000_000) / 1000);
        let core = crate::arch::cpu::core_id();
        // The log buffer keeps every line; the console shows those within
        // its level (`dmesg -n`, `quiet`).
        let _ = write!(printk::log_line(syslog_level), "[{secs:5}.{micros:06}] {letter} core{core}: {}", record.args());
        if printk::console_shows(syslog_level) {
            let mut out = crate::console::writer();
            let _ = writeln!(out, "[{secs:5}.{micros:06}] {letter} core{core}: {}", record.args());
        }
    }

    fn flush(&self) {}
}

/// Installs the logger at `level`.
pub fn init(level: LevelFilter) {
    // A second call finds the logger set already; nothing to do then.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}

/// Parses a level name as the `log` command takes it.
pub fn parse_level(name: &str) -> Option<LevelFilter> {
    match name {
        "off" => Some(LevelFilter::Off),
        "error" => Some(LevelFilter::Error),
        "warn" => Some(LevelFilter::Warn),
        "info" => Some(LevelFilter::Info),
        "debug" => Some(LevelFilter::Debug),
        "trace" => Some(LevelFilter::Trace),
        _ => None,
    }
}
