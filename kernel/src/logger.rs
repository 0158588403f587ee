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
        emit(record.level(), *record.args(), true);
    }

    fn flush(&self) {}
}

/// Writes one line to the log buffer and, when `console` is set and the
/// console's level lets it, to the console.
fn emit(level: Level, args: core::fmt::Arguments, console: bool) {
    let ns = crate::time::uptime_ns();
    let letter = match level {
        Level::Error => 'E',
        Level::Warn => 'W',
        Level::Info => 'I',
        Level::Debug => 'D',
        Level::Trace => 'T',
    };
    let syslog_level = match level {
        Level::Error => printk::LOGLEVEL_ERR,
        Level::Warn => printk::LOGLEVEL_WARNING,
        Level::Info => printk::LOGLEVEL_INFO,
        Level::Debug | Level::Trace => printk::LOGLEVEL_DEBUG,
    };
    let (secs, micros) = (ns / 1_000_000_000, (ns % 1_000_000_000) / 1000);
    let core = crate::arch::cpu::core_id();
    // The log buffer keeps every line; the console shows those within
    // its level (`dmesg -n`, `quiet`).
    let _ = write!(printk::log_line(syslog_level), "[{secs:5}.{micros:06}] {letter} core{core}: {args}");
    if console && printk::console_shows(syslog_level) {
        let mut out = crate::console::writer();
        let _ = writeln!(out, "[{secs:5}.{micros:06}] {letter} core{core}: {args}");
    }
}

/// Logs a line the log buffer keeps whatever the `log=` level, shown on
/// the console only when that level includes `level` (Linux: a printk
/// below `console_loglevel` is stored and not printed). For reports that
/// `dmesg` must have but that would crowd the console, such as user
/// programs' faults.
pub fn log_kept(level: Level, args: core::fmt::Arguments) {
    emit(level, args, level <= log::max_level());
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
