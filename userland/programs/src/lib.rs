//! Helpers shared by the programs: error messages in the `prog: what: strerror` form.
#![no_std]

use rt::{eprintln, Bytes, Errno};

/// Prints `prog: what: error` to stderr.
pub fn complain(prog: &[u8], what: &[u8], err: Errno) {
    eprintln!("{}: {}: {}", Bytes(prog), Bytes(what), err);
}

/// Prints `prog: message` to stderr.
pub fn complain_msg(prog: &[u8], msg: core::fmt::Arguments) {
    eprintln!("{}: {}", Bytes(prog), msg);
}
