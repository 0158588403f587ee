//! The kernel command line (/chosen/bootargs, from `cmdline.txt` on a Pi or
//! `-append` in QEMU): words `key=value` or bare `key`, as Linux's.
//!
//! Switches this kernel reads:
//! - `log=<off|error|warn|info|debug|trace>`: the log level;
//! - `quiet`: log level `warn` unless `log=` says otherwise (Linux's `quiet`);
//! - `init=<path>`: the first user program (default `/sbin/init`), Linux's;
//! - `kshell`: no user space: the kernel's debug monitor owns the console.
//!
//! Others (`console=...` and the like, which the firmware adds) are ignored:
//! there is one console, the PL011.

/// The value of `key=value`, or `Some("")` for a bare `key`; the last one
/// wins, as in Linux.
pub fn value<'a>(cmdline: &'a str, key: &str) -> Option<&'a str> {
    cmdline.split_whitespace().rev().find_map(|word| match word.split_once('=') {
        Some((k, v)) if k == key => Some(v),
        None if word == key => Some(""),
        _ => None,
    })
}

/// The log level name the command line asks for, if any.
pub fn log_level(cmdline: &str) -> Option<&str> {
    value(cmdline, "log").or_else(|| value(cmdline, "quiet").map(|_| "warn"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_bare_words_and_the_last_one_wins() {
        let c = "console=serial0,115200 log=warn quiet log=debug";
        assert_eq!(value(c, "console"), Some("serial0,115200"));
        assert_eq!(value(c, "log"), Some("debug"));
        assert_eq!(value(c, "quiet"), Some(""));
        assert_eq!(value(c, "root"), None);
        assert_eq!(value("", "log"), None);
    }

    #[test]
    fn log_level_from_log_or_quiet() {
        assert_eq!(log_level("quiet"), Some("warn"));
        assert_eq!(log_level("quiet log=trace"), Some("trace"));
        assert_eq!(log_level("console=ttyAMA0"), None);
    }
}
