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
//! What the kernel does not take goes to init, as Linux's init/main.c hands
//! it over ([`init_args`]): words after `--`, and bare words that are no boot
//! option, become init's arguments; `name=value` words that are none become
//! its environment. Departure: Linux's double quotes (a value with spaces)
//! are not understood; words split at white space.
//!
//! The text is copied at boot, before the frame allocator or the heap exist,
//! into fixed storage of [`COMMAND_LINE_SIZE`] bytes (Linux:
//! `boot_command_line`); everything that keeps a word (the `init=` path)
//! keeps a slice of that copy, so no switch allocates. A longer command line
//! is cut there, as Linux cuts it.

use alloc::vec::Vec;

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

/// The part Linux reads as boot options: the words before a `--` word
/// (Linux: `parse_args` stops there and hands the rest to init).
fn boot_part(cmdline: &str) -> &str {
    for word in cmdline.split_whitespace() {
        if word == "--" {
            let at = word.as_ptr() as usize - cmdline.as_ptr() as usize;
            return &cmdline[..at];
        }
    }
    cmdline
}

/// The value of the last `key=value` word (a bare `key` does not count).
pub fn option<'a>(cmdline: &'a str, key: &str) -> Option<&'a str> {
    boot_part(cmdline).split_whitespace().rev().find_map(|word| match word.split_once('=') {
        Some((k, v)) if k == key => Some(v),
        _ => None,
    })
}

/// The value of `key=value`, or `Some("")` for a bare `key`; the last one
/// wins, as in Linux. Words after `--` are init's, not the kernel's.
pub fn value<'a>(cmdline: &'a str, key: &str) -> Option<&'a str> {
    boot_part(cmdline).split_whitespace().rev().find_map(|word| match word.split_once('=') {
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

/// Boot options that are the kernel's: the ones this kernel reads, and
/// Linux's that boot loaders and the Pi firmware put on the command line
/// (`console=`, `root=`...), which Linux keeps from init too; those ending
/// in `=` take a value, the others are bare words (a bare `init` is not
/// `init=` and goes to init, as in Linux). Names with a dot
/// (`8250.nr_uarts=1`: module parameters) are the kernel's as well.
const KERNEL_PARAMS: &str = "init= rdinit= kshell log= quiet debug loglevel= mem= console= earlycon \
    earlycon= earlyprintk earlyprintk= root= rootfstype= rootflags= rootwait rootdelay= ro rw panic= nosmp \
    maxcpus= nr_cpus= coherent_pool= cma= elevator= noinitrd initrd= ip= nfsroot= splash cgroup_enable= \
    cgroup_disable= cgroup_memory=";

/// Whether `word` (`name=value` or a bare word) is a boot option.
fn is_kernel_param(name: &str, has_value: bool) -> bool {
    name.contains('.')
        || KERNEL_PARAMS.split_whitespace().any(|p| match p.strip_suffix('=') {
            Some(n) => has_value && n == name,
            None => !has_value && p == name,
        })
}

/// The most arguments and environment strings init gets from the command
/// line (Linux: CONFIG_INIT_ENV_ARG_LIMIT).
pub const MAX_INIT_ARGS: usize = 32;

/// What the command line gives init (Linux: init/main.c `unknown_bootoption`
/// and `set_init_arg`): arguments after argv[0] and environment strings
/// that are added to `defaults` or replace the default of the same name.
/// Beyond [`MAX_INIT_ARGS`] of either, the rest is left out (Linux panics).
pub fn init_args<'a>(cmdline: &'a str, defaults: &[&'a str]) -> (Vec<&'a str>, Vec<&'a str>) {
    let mut argv = Vec::new();
    let mut envp: Vec<&str> = defaults.to_vec();
    let mut words = cmdline.split_whitespace();
    for word in words.by_ref() {
        if word == "--" {
            break;
        }
        let (name, val) = match word.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (word, None),
        };
        if is_kernel_param(name, val.is_some()) {
            continue;
        }
        if val.is_some() {
            let same = envp.iter().position(|e| e.split_once('=').is_some_and(|(n, _)| n == name));
            match same {
                Some(i) => envp[i] = word,
                None if envp.len() < MAX_INIT_ARGS => envp.push(word),
                None => {}
            }
        } else if argv.len() < MAX_INIT_ARGS {
            argv.push(word);
        }
    }
    for word in words {
        if argv.len() < MAX_INIT_ARGS {
            argv.push(word);
        }
    }
    (argv, envp)
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
    fn init_gets_what_the_kernel_does_not_take() {
        let c = "console=ttyAMA0 8250.nr_uarts=1 init=/bin/busybox sh GREET=hi TERM=vt102 quiet -- -i X=1";
        let (argv, envp) = init_args(c, &["HOME=/", "TERM=linux"]);
        assert_eq!(argv, ["sh", "-i", "X=1"]);
        assert_eq!(envp, ["HOME=/", "TERM=vt102", "GREET=hi"]);
        // After `--` nothing is a boot option.
        assert_eq!(value("log=warn -- log=debug init=/x", "log"), Some("warn"));
        assert_eq!(option("init=/bin/busybox init", "init"), Some("/bin/busybox"));
        assert_eq!(init_args("init=/bin/busybox init", &[]).0, ["init"], "a bare init is init's");
        let many = "a ".repeat(40);
        assert_eq!(init_args(&many, &[]).0.len(), MAX_INIT_ARGS);
    }

    #[test]
    fn log_level_from_log_or_quiet() {
        assert_eq!(log_level("quiet"), Some("warn"));
        assert_eq!(log_level("quiet log=trace"), Some("trace"));
        assert_eq!(log_level("console=ttyAMA0"), None);
    }
}
