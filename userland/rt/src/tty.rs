//! Terminal ioctls: TCGETS/TCSETS (termios), TIOCGPGRP/TIOCSPGRP (foreground process group),
//! TIOCGWINSZ (window size), and TIOCSCTTY (take a controlling terminal, best effort).

use crate::sys::{self, check, syscall3};
use crate::Result;

pub const TCGETS: usize = 0x5401;
pub const TCSETS: usize = 0x5402;
pub const TIOCSCTTY: usize = 0x540e;
pub const TIOCGPGRP: usize = 0x540f;
pub const TIOCSPGRP: usize = 0x5410;
pub const TIOCGWINSZ: usize = 0x5413;

/// The kernel's `struct termios` (36 bytes: four flag words, line discipline, 19 control chars).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Termios {
    pub iflag: u32,
    pub oflag: u32,
    pub cflag: u32,
    pub lflag: u32,
    pub line: u8,
    pub cc: [u8; 19],
}

/// `struct winsize`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Winsize {
    pub rows: u16,
    pub cols: u16,
    pub xpixel: u16,
    pub ypixel: u16,
}

/// Reads the terminal attributes; fails with `ENOTTY` if `fd` is not a terminal.
pub fn tcgets(fd: i32) -> Result<Termios> {
    let mut t = Termios::default();
    // SAFETY: the kernel writes one struct termios into `t`.
    check(unsafe { syscall3(sys::IOCTL, fd as usize, TCGETS, &mut t as *mut Termios as usize) })?;
    Ok(t)
}

/// Sets the terminal attributes immediately.
pub fn tcsets(fd: i32, t: &Termios) -> Result<()> {
    // SAFETY: the kernel reads one struct termios from `t`.
    check(unsafe { syscall3(sys::IOCTL, fd as usize, TCSETS, t as *const Termios as usize) }).map(drop)
}

/// True if `fd` is a terminal.
pub fn isatty(fd: i32) -> bool {
    tcgets(fd).is_ok()
}

/// The terminal's foreground process group.
pub fn tcgetpgrp(fd: i32) -> Result<i32> {
    let mut pgrp: i32 = 0;
    // SAFETY: the kernel writes one int into `pgrp`.
    check(unsafe { syscall3(sys::IOCTL, fd as usize, TIOCGPGRP, &mut pgrp as *mut i32 as usize) })?;
    Ok(pgrp)
}

/// Makes `pgrp` the terminal's foreground process group.
pub fn tcsetpgrp(fd: i32, pgrp: i32) -> Result<()> {
    // SAFETY: the kernel reads one int from `pgrp`.
    check(unsafe { syscall3(sys::IOCTL, fd as usize, TIOCSPGRP, &pgrp as *const i32 as usize) }).map(drop)
}

/// Makes the terminal on `fd` the controlling terminal of the caller's (new) session.
pub fn set_controlling_tty(fd: i32) -> Result<()> {
    sys::plain(sys::IOCTL, fd as usize, TIOCSCTTY, 0).map(drop)
}

/// The terminal's window size.
pub fn window_size(fd: i32) -> Result<Winsize> {
    let mut w = Winsize::default();
    // SAFETY: the kernel writes one struct winsize into `w`.
    check(unsafe { syscall3(sys::IOCTL, fd as usize, TIOCGWINSZ, &mut w as *mut Winsize as usize) })?;
    Ok(w)
}
