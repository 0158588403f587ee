//! The kernel command line (/chosen/bootargs, from `cmdline.txt` on a Pi or
//! `-append` in QEMU): words `key=value` or bare `key`, as Linux's.
//!
//! Switches this kernel reads:
//! - `log=<off|error|warn|info|debug|trace>`: the log level;
//! - `quiet`: log level `warn` unless `log=` says otherwise (Linux's `quiet`);
//! - `init=<path>`: the first user program (default `/sbin/init`), Linux's;
//! - `kshell`: no user space: the kernel's debug monitor owns the console;
//! - `mem=<size>[KMG]`: use at most that much RAM (Linux's `mem=`), at
//!   least [`MIN_MEM`]: smaller values are refused with a warning.
//!
//! Others (`console=...` and the like, which the firmware adds) are ignored:
//! there is one console, the PL011.
//!
//! The text is copied at boot, before the frame allocator or the heap exist,
//! into fixed storage of [`COMMAND_LINE_SIZE`] bytes (Linux:
//! `boot_command_line`); everything that keeps a word (the `init=` path)
//! keeps a slice of that copy, so no switch allocates. A longer command line
//! is cut there, as Linux cuts it.

/// Longest command line kept, with room for Linux's terminating NUL
/// (arm64's `COMMAND_LINE_SIZE`).
pub const COMMAND_LINE_SIZE: usize = 2048;

/// A command line in fixed storage (Linux: `boot_command_line`).
pub struct CommandLine {
    len: usize,
    bytes: [u8; COMMAND_LINE_SIZE],
}

impl CommandLine {
    /// An empty command line.
    pub const fn empty() -> Self {
        CommandLine { len: 0, bytes: [0; COMMAND_LINE_SIZE] }
    }

    /// A copy of `text`, cut to at most `COMMAND_LINE_SIZE - 1` bytes on a
    /// character boundary; the flag says whether anything was cut.
    pub fn copy_from(text: &str) -> (Self, bool) {
        let mut len = text.len().min(COMMAND_LINE_SIZE - 1);
        while !text.is_char_boundary(len) {
            len -= 1;
        }
        let mut line = CommandLine::empty();
        line.bytes[..len].copy_from_slice(&text.as_bytes()[..len]);
        line.len = len;
        (line, len < text.len())
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // The copy ends on a character boundary of a `str`, so it is UTF-8;
        // the fallback cannot be taken.
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

/// The value of `key=value`, or `Some("")` for a bare `key`; the last one
/// wins, as in Linux.
pub fn value<'a>(cmdline: &'a str, key: &str) -> Option<&'a str> {
    cmdline.split_whitespace().rev().find_map(|word| match word.split_once('=') {
        Some((k, v)) if k == key => Some(v),
        None if word == key => Some(""),
        _ => None,
    })
}

/// Least RAM `mem=` may leave: the kernel image with its initramfs, the
/// heap and the page counts need some, and a smaller value must not stop
/// the boot.
pub const MIN_MEM: u64 = 64 << 20;

/// A size with an optional K, M or G suffix (Linux: `memparse`).
pub fn memparse(text: &str) -> Option<u64> {
    let (digits, shift) = match text.as_bytes().last()? {
        b'k' | b'K' => (&text[..text.len() - 1], 10),
        b'm' | b'M' => (&text[..text.len() - 1], 20),
        b'g' | b'G' => (&text[..text.len() - 1], 30),
        _ => (text, 0),
    };
    let n: u64 = digits.parse().ok()?;
    n.checked_mul(1 << shift)
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
    fn a_long_command_line_is_cut_on_a_character_boundary() {
        let (short, cut) = CommandLine::copy_from("init=/bin/sh quiet");
        assert_eq!((short.as_str(), cut), ("init=/bin/sh quiet", false));
        let long = alloc::format!("init=/{}", "\u{e9}".repeat(COMMAND_LINE_SIZE));
        let (line, cut) = CommandLine::copy_from(&long);
        assert!(cut);
        assert!(line.as_str().len() < COMMAND_LINE_SIZE && line.as_str().len() >= COMMAND_LINE_SIZE - 2);
        assert!(long.starts_with(line.as_str()));
        assert_eq!(value(line.as_str(), "init").map(|p| p.len()), Some(line.as_str().len() - 5));
    }

    #[test]
    fn memparse_reads_linux_suffixes() {
        assert_eq!(memparse("256M"), Some(256 << 20));
        assert_eq!(memparse("1g"), Some(1 << 30));
        assert_eq!(memparse("4096k"), Some(4 << 20));
        assert_eq!(memparse("12345"), Some(12345));
        assert_eq!(memparse(""), None);
        assert_eq!(memparse("M"), None);
        assert_eq!(memparse("99999999999999G"), None);
        assert_eq!(memparse("-1M"), None);
    }

    #[test]
    fn log_level_from_log_or_quiet() {
        assert_eq!(log_level("quiet"), Some("warn"));
        assert_eq!(log_level("quiet log=trace"), Some("trace"));
        assert_eq!(log_level("console=ttyAMA0"), None);
    }
}
