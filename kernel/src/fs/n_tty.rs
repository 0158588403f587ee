//! The tty line discipline (Linux: drivers/tty/n_tty.c) as pure logic: the
//! kernel `struct termios`, input processing (ICRNL, INLCR, IGNCR, ISTRIP,
//! IUCLC, IXON/IXANY), the signal characters (ISIG), canonical line editing
//! (erase, kill, word erase, literal next, reprint, EOF, EOL/EOL2), echo
//! (ECHO, ECHOE, ECHOK, ECHOKE, ECHONL, ECHOCTL, ECHOPRT) and output
//! processing (OPOST: ONLCR, OCRNL, ONOCR, ONLRET, OLCUC, XTABS).
//!
//! No hardware and no locks: the UART receive path feeds bytes to
//! [`NTty::receive_byte`] and writes the echo bytes it is handed to the UART;
//! `read(2)` asks [`NTty::read_ready`] and then calls [`NTty::read`]; `write(2)`
//! goes through [`NTty::write_output`]. The caller serialises access (one lock
//! around the [`NTty`]) and delivers the returned [`Signal`]s.
//!
//! As in Linux, input waits in one ring of [`N_TTY_BUF_SIZE`] bytes: completed
//! lines first, then (canonical mode) the line being edited. A bitmap marks the
//! bytes that end a line; an end-of-file mark is a NUL byte that ends a line
//! and is never copied to the reader. The output column is tracked (so erasing
//! a tab backs up the right number of columns), including for `write(2)`
//! output, which is why it sits in a `Cell`.
//!
//! Where this departs from Linux:
//! - A canonical line holds at most `N_TTY_BUF_SIZE - 1` (4095) bytes; further
//!   ordinary bytes are dropped (with a BEL echoed when ECHO is on), while a
//!   newline, EOF or EOL still ends the line. Linux instead overwrites the last
//!   byte of a full line. The caller offers a byte only when
//!   [`NTty::receive_room`] says it fits (Linux's `receive_room`: the sender
//!   is throttled otherwise), so bytes are dropped only where Linux loses
//!   them too: past the end of an overlong canonical line. Every dropped
//!   byte is counted ([`NTty::dropped`]).
//! - Only VERASE erases. A terminal that sends 0x08 for Backspace needs
//!   `stty erase ^H`, exactly as on Linux; 0x08 is otherwise an ordinary byte.
//! - "Control character" means C0 (0x00–0x1f) and DEL. Linux's ctype also
//!   counts 0x80–0x9f, which would echo UTF-8 continuation bytes as `^X`.
//!   Word erase treats every byte >= 0x80 as part of a word (Linux uses its
//!   Latin-1 ctype).
//! - VTIME is ignored, and VMIN 0 means a read returns at once, possibly with
//!   0 bytes. Timed reads, if ever wanted, belong to the caller.
//! - Flow control (IXON) only records the stopped state
//!   ([`NTty::output_stopped`]); holding output back is the caller's job.
//! - No parity/framing/break handling (the UART reports none), no PARMRK
//!   marks other than doubling a 0xff byte, no EXTPROC, no packet mode; VDISCARD
//!   and VSWTC do nothing (as in Linux's n_tty).

use core::cell::Cell;

/// Number of control characters in the kernel's `struct termios`.
pub const NCCS: usize = 19;

/// Indices into `c_cc` (asm-generic/termbits.h).
pub const VINTR: usize = 0;
pub const VQUIT: usize = 1;
pub const VERASE: usize = 2;
pub const VKILL: usize = 3;
pub const VEOF: usize = 4;
pub const VTIME: usize = 5;
pub const VMIN: usize = 6;
pub const VSWTC: usize = 7;
pub const VSTART: usize = 8;
pub const VSTOP: usize = 9;
pub const VSUSP: usize = 10;
pub const VEOL: usize = 11;
pub const VREPRINT: usize = 12;
pub const VDISCARD: usize = 13;
pub const VWERASE: usize = 14;
pub const VLNEXT: usize = 15;
pub const VEOL2: usize = 16;

/// `c_iflag` bits.
pub const IGNBRK: u32 = 0o1;
pub const BRKINT: u32 = 0o2;
pub const IGNPAR: u32 = 0o4;
pub const PARMRK: u32 = 0o10;
pub const INPCK: u32 = 0o20;
pub const ISTRIP: u32 = 0o40;
pub const INLCR: u32 = 0o100;
pub const IGNCR: u32 = 0o200;
pub const ICRNL: u32 = 0o400;
pub const IUCLC: u32 = 0o1000;
pub const IXON: u32 = 0o2000;
pub const IXANY: u32 = 0o4000;
pub const IXOFF: u32 = 0o10000;
pub const IMAXBEL: u32 = 0o20000;
pub const IUTF8: u32 = 0o40000;

/// `c_oflag` bits.
pub const OPOST: u32 = 0o1;
pub const OLCUC: u32 = 0o2;
pub const ONLCR: u32 = 0o4;
pub const OCRNL: u32 = 0o10;
pub const ONOCR: u32 = 0o20;
pub const ONLRET: u32 = 0o40;
pub const TABDLY: u32 = 0o14000;
/// Expand tabs to spaces on output (`TAB3`).
pub const XTABS: u32 = 0o14000;

/// `c_cflag` bits.
pub const CBAUD: u32 = 0o10017;
pub const B9600: u32 = 0o15;
pub const B38400: u32 = 0o17;
pub const CSIZE: u32 = 0o60;
pub const CS8: u32 = 0o60;
pub const CSTOPB: u32 = 0o100;
pub const CREAD: u32 = 0o200;
pub const PARENB: u32 = 0o400;
pub const PARODD: u32 = 0o1000;
pub const HUPCL: u32 = 0o2000;
pub const CLOCAL: u32 = 0o4000;
pub const CBAUDEX: u32 = 0o10000;
pub const B115200: u32 = 0o10002;

/// `c_lflag` bits.
pub const ISIG: u32 = 0o1;
pub const ICANON: u32 = 0o2;
pub const ECHO: u32 = 0o10;
pub const ECHOE: u32 = 0o20;
pub const ECHOK: u32 = 0o40;
pub const ECHONL: u32 = 0o100;
pub const NOFLSH: u32 = 0o200;
pub const TOSTOP: u32 = 0o400;
pub const ECHOCTL: u32 = 0o1000;
pub const ECHOPRT: u32 = 0o2000;
pub const ECHOKE: u32 = 0o4000;
pub const FLUSHO: u32 = 0o10000;
pub const PENDIN: u32 = 0o40000;
pub const IEXTEN: u32 = 0o100000;
pub const EXTPROC: u32 = 0o200000;

/// Size of the kernel's `struct termios` (TCGETS/TCSETS) on aarch64.
pub const TERMIOS_SIZE: usize = 36;

/// Size of the input ring (Linux's `N_TTY_BUF_SIZE`); a power of two.
pub const N_TTY_BUF_SIZE: usize = 4096;
const MASK: usize = N_TTY_BUF_SIZE - 1;

/// A `c_cc` entry of 0 disables that character (`_POSIX_VDISABLE`); the same
/// byte, flagged as a line end, is the end-of-file mark in the ring.
const DISABLED_CHAR: u8 = 0;

const BS: u8 = 0x08;
const BEL: u8 = 0x07;

/// The kernel's `struct termios` as TCGETS/TCSETS pass it on aarch64
/// (asm-generic): no speed fields, 36 bytes, little-endian.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Termios {
    pub c_iflag: u32,
    pub c_oflag: u32,
    pub c_cflag: u32,
    pub c_lflag: u32,
    pub c_line: u8,
    pub c_cc: [u8; NCCS],
}

impl Termios {
    /// Linux's defaults for a console (its `tty_std_termios`, at 115200 baud
    /// with CLOCAL): cooked mode with echo, ^C/^\/^Z signals, DEL erases.
    pub const fn default_console() -> Termios {
        let mut c_cc = [0u8; NCCS];
        c_cc[VINTR] = 0x03; // ^C
        c_cc[VQUIT] = 0x1c; // ^\
        c_cc[VERASE] = 0x7f; // DEL
        c_cc[VKILL] = 0x15; // ^U
        c_cc[VEOF] = 0x04; // ^D
        c_cc[VTIME] = 0;
        c_cc[VMIN] = 1;
        c_cc[VSWTC] = 0;
        c_cc[VSTART] = 0x11; // ^Q
        c_cc[VSTOP] = 0x13; // ^S
        c_cc[VSUSP] = 0x1a; // ^Z
        c_cc[VEOL] = 0;
        c_cc[VREPRINT] = 0x12; // ^R
        c_cc[VDISCARD] = 0x0f; // ^O
        c_cc[VWERASE] = 0x17; // ^W
        c_cc[VLNEXT] = 0x16; // ^V
        c_cc[VEOL2] = 0;
        Termios {
            c_iflag: ICRNL | IXON,
            c_oflag: OPOST | ONLCR,
            c_cflag: B115200 | CS8 | CREAD | HUPCL | CLOCAL,
            c_lflag: ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN,
            c_line: 0,
            c_cc,
        }
    }

    /// The 36 bytes user space sees (TCGETS).
    pub fn to_bytes(&self) -> [u8; TERMIOS_SIZE] {
        let mut b = [0u8; TERMIOS_SIZE];
        b[0..4].copy_from_slice(&self.c_iflag.to_le_bytes());
        b[4..8].copy_from_slice(&self.c_oflag.to_le_bytes());
        b[8..12].copy_from_slice(&self.c_cflag.to_le_bytes());
        b[12..16].copy_from_slice(&self.c_lflag.to_le_bytes());
        b[16] = self.c_line;
        b[17..].copy_from_slice(&self.c_cc);
        b
    }

    /// Reads the layout of [`Termios::to_bytes`] (TCSETS); `None` if `b` is
    /// shorter than 36 bytes. Bytes past the 36th are ignored.
    pub fn from_bytes(b: &[u8]) -> Option<Termios> {
        let b = b.get(..TERMIOS_SIZE)?;
        let word = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let mut c_cc = [0u8; NCCS];
        c_cc.copy_from_slice(&b[17..]);
        Some(Termios { c_iflag: word(0), c_oflag: word(4), c_cflag: word(8), c_lflag: word(12), c_line: b[16], c_cc })
    }

    fn iflag(&self, f: u32) -> bool {
        self.c_iflag & f != 0
    }
    fn oflag(&self, f: u32) -> bool {
        self.c_oflag & f != 0
    }
    fn lflag(&self, f: u32) -> bool {
        self.c_lflag & f != 0
    }
    fn cc(&self, i: usize) -> u8 {
        self.c_cc[i]
    }
}

/// A signal the caller must send to the terminal's foreground process group
/// after [`NTty::receive_byte`] saw a signal character (ISIG).
///
/// Unless NOFLSH is set the pending input has already been dropped; Linux
/// also discards output still queued for the device, which the caller may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// VINTR (^C): SIGINT.
    Int,
    /// VQUIT (^\): SIGQUIT.
    Quit,
    /// VSUSP (^Z): SIGTSTP.
    Tstp,
}

impl Signal {
    /// The signal's number on arm64 Linux (SIGINT 2, SIGQUIT 3, SIGTSTP 20).
    pub const fn number(self) -> u32 {
        match self {
            Signal::Int => 2,
            Signal::Quit => 3,
            Signal::Tstp => 20,
        }
    }
}

/// Which kind of erase [`NTty::eraser`] performs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kill {
    Erase,
    Werase,
    Line,
}

/// C0 controls and DEL (see the module documentation).
fn is_cntrl(c: u8) -> bool {
    c < 0x20 || c == 0x7f
}

/// Part of a word for VWERASE.
fn is_word_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// One terminal's line discipline state: termios, the input ring (completed
/// lines and, in canonical mode, the line being edited) and the echo state.
pub struct NTty {
    termios: Termios,
    buf: [u8; N_TTY_BUF_SIZE],
    /// Bit per ring slot: the byte there ends a line (canonical mode).
    eol: [u64; N_TTY_BUF_SIZE / 64],
    /// Free-running counters; a slot is `counter & MASK`. `read_tail` is the
    /// next byte for `read`, `canon_head` the end of the completed lines and
    /// `read_head` the end of everything received.
    read_tail: usize,
    canon_head: usize,
    read_head: usize,
    /// An ECHOPRT erase sequence (`\...`) is open and needs its closing `/`.
    erasing: bool,
    /// VLNEXT was typed: take the next byte literally.
    lnext: bool,
    /// Output stopped by VSTOP (IXON).
    stopped: bool,
    /// Output column of the terminal, and where the current line's echo began.
    column: Cell<usize>,
    canon_column: Cell<usize>,
    /// Input bytes dropped for want of room.
    dropped: u64,
}

impl Default for NTty {
    fn default() -> Self {
        Self::new()
    }
}

impl NTty {
    /// An empty line discipline with [`Termios::default_console`].
    pub const fn new() -> NTty {
        NTty {
            termios: Termios::default_console(),
            buf: [0; N_TTY_BUF_SIZE],
            eol: [0; N_TTY_BUF_SIZE / 64],
            read_tail: 0,
            canon_head: 0,
            read_head: 0,
            erasing: false,
            lnext: false,
            stopped: false,
            column: Cell::new(0),
            canon_column: Cell::new(0),
            dropped: 0,
        }
    }

    /// How many more input bytes to offer now (Linux: n_tty's
    /// `receive_room`): the free slots, less the one a canonical line keeps
    /// for its end. With none left and no complete line for a reader to
    /// take (a canonical line as long as the buffer), bytes must still come
    /// in, one at a time, so that a newline or an erase can end or shorten
    /// it; ordinary bytes past the limit are then dropped and counted.
    pub fn receive_room(&self) -> usize {
        let reserve = if self.icanon() { 1 } else { 0 };
        let left = N_TTY_BUF_SIZE.saturating_sub(self.used() + reserve);
        if left == 0 && self.icanon() && self.canon_head == self.read_tail {
            1
        } else {
            left
        }
    }

    /// Input bytes dropped so far for want of room.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The current settings (TCGETS).
    pub fn termios(&self) -> Termios {
        self.termios
    }

    /// New settings (TCSETS). Switching ICANON off makes everything typed so
    /// far, the partial line included, readable at once; switching it on
    /// turns pending raw input into one line. As in Linux, turning ICANON off
    /// also turns end-of-file marks still queued into NUL bytes.
    pub fn set_termios(&mut self, t: Termios) {
        let old = self.termios;
        self.termios = t;
        if (old.c_lflag ^ t.c_lflag) & ICANON != 0 {
            self.eol = [0; N_TTY_BUF_SIZE / 64];
            if !t.lflag(ICANON) || self.used() == 0 {
                self.canon_head = self.read_tail;
            } else {
                self.set_eol(self.read_head.wrapping_sub(1));
                self.canon_head = self.read_head;
            }
            self.erasing = false;
            self.lnext = false;
        }
        if !t.iflag(IXON) && old.iflag(IXON) {
            self.stopped = false;
        }
    }

    /// Whether VSTOP stopped output (IXON); the caller should hold back
    /// output until VSTART (or, with IXANY, any byte) restarts it.
    pub fn output_stopped(&self) -> bool {
        self.stopped
    }

    /// Processes one byte received from the terminal, handing the bytes to
    /// echo (already output-processed) to `echo`. Returns the signal to send
    /// to the foreground process group, if the byte was a signal character.
    pub fn receive_byte(&mut self, byte: u8, echo: &mut impl FnMut(u8)) -> Option<Signal> {
        let t = self.termios;
        let mut c = byte;
        if t.iflag(ISTRIP) {
            c &= 0x7f;
        }
        if t.iflag(IUCLC) && t.lflag(IEXTEN) {
            c = c.to_ascii_lowercase();
        }
        if self.lnext {
            self.lnext = false;
            self.receive_ordinary(c, echo);
            return None;
        }
        if self.is_special(c) {
            self.receive_special(c, echo)
        } else {
            self.receive_ordinary(c, echo);
            None
        }
    }

    /// Whether a read would return now: in canonical mode a complete line (or
    /// end-of-file mark) is queued; otherwise at least VMIN bytes are (VMIN 0:
    /// always, and the read may return 0 bytes; VTIME is ignored).
    pub fn read_ready(&self) -> bool {
        self.read_ready_for(usize::MAX)
    }

    /// [`NTty::read_ready`] for a read of `len` bytes: in non-canonical mode
    /// Linux's read returns once `min(VMIN, len)` bytes are there.
    pub fn read_ready_for(&self, len: usize) -> bool {
        if self.icanon() {
            self.canon_head != self.read_tail
        } else {
            let min = (self.termios.cc(VMIN) as usize).min(len);
            self.used() >= min
        }
    }

    /// Copies ready input to `buf` as read(2) does and returns the count. In
    /// canonical mode at most one line, with its line end; a line longer than
    /// `buf` comes in pieces; an end-of-file mark gives 0 once. Otherwise
    /// whatever is queued, up to `buf.len()`. Returns 0 without consuming
    /// anything if nothing is ready (see [`NTty::read_ready`]) or `buf` is
    /// empty; [`NTty::try_read`] tells those cases apart from end of file.
    pub fn read(&mut self, buf: &mut [u8]) -> usize {
        self.try_read(buf).unwrap_or(0)
    }

    /// [`NTty::read`], but `None` when nothing is ready (in canonical mode: no
    /// complete line) or `buf` is empty, so `Some(0)` means end of file
    /// (canonical) or an empty read with VMIN 0 (non-canonical).
    pub fn try_read(&mut self, buf: &mut [u8]) -> Option<usize> {
        if buf.is_empty() {
            return None;
        }
        if self.icanon() {
            let avail = self.canon_head.wrapping_sub(self.read_tail);
            if avail == 0 {
                return None;
            }
            let window = avail.min(buf.len());
            let end = (0..window).find(|&i| self.is_eol(self.read_tail.wrapping_add(i)));
            let (copy, consume) = match end {
                Some(i) => {
                    let pos = self.read_tail.wrapping_add(i);
                    self.clear_eol(pos);
                    let is_eof = self.buf[pos & MASK] == DISABLED_CHAR;
                    (if is_eof { i } else { i + 1 }, i + 1)
                }
                None => (window, window),
            };
            self.copy_out(&mut buf[..copy]);
            self.read_tail = self.read_tail.wrapping_add(consume);
            Some(copy)
        } else {
            let avail = self.used();
            let min = (self.termios.cc(VMIN) as usize).min(buf.len());
            if avail < min {
                return None;
            }
            let n = avail.min(buf.len());
            self.copy_out(&mut buf[..n]);
            self.read_tail = self.read_tail.wrapping_add(n);
            // Raw input never carries line ends; keep the canonical head out of
            // the consumed region for a later switch back.
            self.canon_head = self.read_tail;
            Some(n)
        }
    }

    /// Output processing for write(2): with OPOST, ONLCR turns `\n` into
    /// `\r\n`, OCRNL `\r` into `\n`, ONOCR drops `\r` at column 0, OLCUC
    /// upper-cases and XTABS expands tabs. Calls `out` for each byte to send.
    pub fn write_output(&self, data: &[u8], out: &mut impl FnMut(u8)) {
        for &c in data {
            self.output_char(c, out);
        }
    }

    /// Drops all pending input, the partial line included (TCFLSH, signals).
    pub fn flush_input(&mut self) {
        self.read_tail = 0;
        self.canon_head = 0;
        self.read_head = 0;
        self.eol = [0; N_TTY_BUF_SIZE / 64];
        self.erasing = false;
    }

    /// Bytes queued, completed lines and line being edited together.
    pub fn queued(&self) -> usize {
        self.used()
    }

    // ---- input ----

    fn icanon(&self) -> bool {
        self.termios.lflag(ICANON)
    }

    fn used(&self) -> usize {
        self.read_head.wrapping_sub(self.read_tail)
    }

    fn is_eol(&self, pos: usize) -> bool {
        let i = pos & MASK;
        self.eol[i / 64] & (1 << (i % 64)) != 0
    }
    fn set_eol(&mut self, pos: usize) {
        let i = pos & MASK;
        self.eol[i / 64] |= 1 << (i % 64);
    }
    fn clear_eol(&mut self, pos: usize) {
        let i = pos & MASK;
        self.eol[i / 64] &= !(1 << (i % 64));
    }

    fn copy_out(&self, dst: &mut [u8]) {
        for (i, d) in dst.iter_mut().enumerate() {
            *d = self.buf[self.read_tail.wrapping_add(i) & MASK];
        }
    }

    fn put(&mut self, c: u8) {
        self.buf[self.read_head & MASK] = c;
        self.read_head = self.read_head.wrapping_add(1);
    }

    /// Ring slots `c` takes (PARMRK doubles 0xff).
    fn slots(&self, c: u8) -> usize {
        if c == 0xff && self.termios.iflag(PARMRK) {
            2
        } else {
            1
        }
    }

    /// Queues `c`, doubling 0xff under PARMRK.
    fn put_char(&mut self, c: u8) {
        if self.slots(c) == 2 {
            self.put(c);
        }
        self.put(c);
    }

    /// Whether an ordinary byte fits: in canonical mode one slot stays free
    /// for the byte that ends the line.
    fn room_for_ordinary(&self, c: u8) -> bool {
        let reserve = if self.icanon() { 1 } else { 0 };
        self.used() + self.slots(c) + reserve <= N_TTY_BUF_SIZE
    }

    /// Whether the byte needs more than queueing and echo (Linux's char_map).
    fn is_special(&self, c: u8) -> bool {
        let t = &self.termios;
        if c == DISABLED_CHAR {
            return false;
        }
        let mut special = false;
        if c == b'\r' && (t.iflag(IGNCR) || t.iflag(ICRNL)) {
            special = true;
        }
        if c == b'\n' && (t.iflag(INLCR) || t.lflag(ICANON)) {
            special = true;
        }
        if t.lflag(ICANON) {
            special |= c == t.cc(VERASE) || c == t.cc(VKILL) || c == t.cc(VEOF) || c == t.cc(VEOL);
            if t.lflag(IEXTEN) {
                special |= c == t.cc(VWERASE) || c == t.cc(VLNEXT) || c == t.cc(VEOL2);
                special |= t.lflag(ECHO) && c == t.cc(VREPRINT);
            }
        }
        if t.iflag(IXON) {
            special |= c == t.cc(VSTART) || c == t.cc(VSTOP);
        }
        if t.lflag(ISIG) {
            special |= c == t.cc(VINTR) || c == t.cc(VQUIT) || c == t.cc(VSUSP);
        }
        special
    }

    /// A byte with no special meaning: echo and queue it.
    fn receive_ordinary(&mut self, c: u8, echo: &mut impl FnMut(u8)) {
        let t = self.termios;
        if self.stopped && t.iflag(IXON) && t.iflag(IXANY) {
            self.stopped = false;
        }
        if !self.room_for_ordinary(c) {
            self.drop_byte(echo);
            return;
        }
        if t.lflag(ECHO) {
            self.finish_erasing(echo);
            if self.canon_head == self.read_head {
                self.set_canon_column();
            }
            self.echo_char(c, echo);
        }
        self.put_char(c);
    }

    /// No room: the byte is lost; in canonical mode with echo, ring the bell.
    fn drop_byte(&mut self, echo: &mut impl FnMut(u8)) {
        self.dropped += 1;
        if self.icanon() && self.termios.lflag(ECHO) {
            self.output_char(BEL, echo);
        }
    }

    fn receive_special(&mut self, mut c: u8, echo: &mut impl FnMut(u8)) -> Option<Signal> {
        let t = self.termios;
        if t.iflag(IXON) {
            if c == t.cc(VSTART) {
                self.stopped = false;
                return None;
            }
            if c == t.cc(VSTOP) {
                self.stopped = true;
                return None;
            }
        }
        if t.lflag(ISIG) {
            let sig = if c == t.cc(VINTR) {
                Some(Signal::Int)
            } else if c == t.cc(VQUIT) {
                Some(Signal::Quit)
            } else if c == t.cc(VSUSP) {
                Some(Signal::Tstp)
            } else {
                None
            };
            if let Some(sig) = sig {
                if !t.lflag(NOFLSH) {
                    self.flush_input();
                }
                if t.iflag(IXON) {
                    self.stopped = false;
                }
                if t.lflag(ECHO) {
                    self.echo_char(c, echo);
                }
                return Some(sig);
            }
        }
        if self.stopped && t.iflag(IXON) && t.iflag(IXANY) {
            self.stopped = false;
        }
        if c == b'\r' {
            if t.iflag(IGNCR) {
                return None;
            }
            if t.iflag(ICRNL) {
                c = b'\n';
            }
        } else if c == b'\n' && t.iflag(INLCR) {
            c = b'\r';
        }
        if t.lflag(ICANON) {
            if c == t.cc(VERASE) || c == t.cc(VKILL) || (c == t.cc(VWERASE) && t.lflag(IEXTEN)) {
                self.eraser(c, echo);
                return None;
            }
            if c == t.cc(VLNEXT) && t.lflag(IEXTEN) {
                self.lnext = true;
                if t.lflag(ECHO) {
                    self.finish_erasing(echo);
                    if t.lflag(ECHOCTL) {
                        // Shows '^' under the cursor until the next byte's echo.
                        self.output_char(b'^', echo);
                        self.output_char(BS, echo);
                    }
                }
                return None;
            }
            if c == t.cc(VREPRINT) && t.lflag(ECHO) && t.lflag(IEXTEN) {
                self.finish_erasing(echo);
                self.echo_char(c, echo);
                self.output_char(b'\n', echo);
                let mut pos = self.canon_head;
                while pos != self.read_head {
                    self.echo_char(self.buf[pos & MASK], echo);
                    pos = pos.wrapping_add(1);
                }
                return None;
            }
            if c == b'\n' {
                if self.used() < N_TTY_BUF_SIZE {
                    if t.lflag(ECHO) || t.lflag(ECHONL) {
                        self.output_char(b'\n', echo);
                    }
                    self.end_line(b'\n');
                } else {
                    self.dropped += 1;
                }
                return None;
            }
            if c == t.cc(VEOF) {
                if self.used() < N_TTY_BUF_SIZE {
                    self.end_line(DISABLED_CHAR);
                } else {
                    self.dropped += 1;
                }
                return None;
            }
            if c == t.cc(VEOL) || (c == t.cc(VEOL2) && t.lflag(IEXTEN)) {
                if self.used() + self.slots(c) <= N_TTY_BUF_SIZE {
                    if t.lflag(ECHO) {
                        if self.canon_head == self.read_head {
                            self.set_canon_column();
                        }
                        self.echo_char(c, echo);
                    }
                    if self.slots(c) == 2 {
                        self.put(c);
                    }
                    self.end_line(c);
                } else {
                    self.dropped += 1;
                }
                return None;
            }
        }
        // Ordinary after all (a translated CR/NL, or raw mode with ISIG/IXON).
        if !self.room_for_ordinary(c) {
            self.drop_byte(echo);
            return None;
        }
        if t.lflag(ECHO) {
            self.finish_erasing(echo);
            if c == b'\n' {
                self.output_char(b'\n', echo);
            } else {
                if self.canon_head == self.read_head {
                    self.set_canon_column();
                }
                self.echo_char(c, echo);
            }
        }
        self.put_char(c);
        None
    }

    /// Queues `c` as the end of the line being edited and completes it.
    fn end_line(&mut self, c: u8) {
        self.put(c);
        self.set_eol(self.read_head.wrapping_sub(1));
        self.canon_head = self.read_head;
    }

    /// VERASE, VKILL and VWERASE on the line being edited.
    fn eraser(&mut self, c: u8, echo: &mut impl FnMut(u8)) {
        let t = self.termios;
        if self.read_head == self.canon_head {
            return;
        }
        let kind = if c == t.cc(VERASE) {
            Kill::Erase
        } else if c == t.cc(VWERASE) {
            Kill::Werase
        } else {
            if !t.lflag(ECHO) {
                self.read_head = self.canon_head;
                return;
            }
            if !t.lflag(ECHOK) || !t.lflag(ECHOKE) || !t.lflag(ECHOE) {
                self.read_head = self.canon_head;
                self.finish_erasing(echo);
                self.echo_char(t.cc(VKILL), echo);
                if t.lflag(ECHOK) {
                    self.output_char(b'\n', echo);
                }
                return;
            }
            Kill::Line
        };
        let utf8 = t.iflag(IUTF8);
        let is_cont = |b: u8| utf8 && b & 0xc0 == 0x80;
        let mut seen_word = false;
        while self.read_head != self.canon_head {
            // One character: a UTF-8 sequence counts as one under IUTF8.
            let mut head = self.read_head;
            let mut ch;
            loop {
                head = head.wrapping_sub(1);
                ch = self.buf[head & MASK];
                if !(is_cont(ch) && head != self.canon_head) {
                    break;
                }
            }
            if is_cont(ch) {
                break; // a stray continuation byte at line start: leave it
            }
            if kind == Kill::Werase {
                if is_word_char(ch) {
                    seen_word = true;
                } else if seen_word {
                    break;
                }
            }
            let count = self.read_head.wrapping_sub(head);
            self.read_head = head;
            if t.lflag(ECHO) {
                if t.lflag(ECHOPRT) {
                    if !self.erasing {
                        self.output_char(b'\\', echo);
                        self.erasing = true;
                    }
                    self.echo_char(ch, echo);
                    for i in 1..count {
                        self.output_char(self.buf[head.wrapping_add(i) & MASK], echo);
                        self.move_back_column();
                    }
                } else if kind == Kill::Erase && !t.lflag(ECHOE) {
                    self.echo_char(t.cc(VERASE), echo);
                } else if ch == b'\t' {
                    self.erase_tab(echo);
                } else {
                    let ctl = is_cntrl(ch);
                    if ctl && t.lflag(ECHOCTL) {
                        self.rubout(echo);
                    }
                    if !ctl || t.lflag(ECHOCTL) {
                        self.rubout(echo);
                    }
                }
            }
            if kind == Kill::Erase {
                break;
            }
        }
        if self.read_head == self.canon_head && t.lflag(ECHO) {
            self.finish_erasing(echo);
        }
    }

    /// Backs the cursor over an erased tab: to the column the tab started at,
    /// counted from the previous tab or from where the line's echo began.
    fn erase_tab(&mut self, echo: &mut impl FnMut(u8)) {
        let ctl_width = if self.termios.lflag(ECHOCTL) { 2 } else { 0 };
        let mut width = 0usize;
        let mut after_tab = false;
        let mut pos = self.read_head;
        while pos != self.canon_head {
            pos = pos.wrapping_sub(1);
            let ch = self.buf[pos & MASK];
            if ch == b'\t' {
                after_tab = true;
                break;
            } else if is_cntrl(ch) {
                width += ctl_width;
            } else if !(self.termios.iflag(IUTF8) && ch & 0xc0 == 0x80) {
                width += 1;
            }
        }
        if !after_tab {
            width += self.canon_column.get();
        }
        let back = (8 - width % 8).min(self.column.get());
        self.column.set(self.column.get() - back);
        for _ in 0..back {
            echo(BS);
        }
    }

    /// Echoes "\b \b".
    fn rubout(&self, echo: &mut impl FnMut(u8)) {
        self.output_char(BS, echo);
        self.output_char(b' ', echo);
        self.output_char(BS, echo);
    }

    /// Closes an ECHOPRT erase sequence with '/'.
    fn finish_erasing(&mut self, echo: &mut impl FnMut(u8)) {
        if self.erasing {
            self.output_char(b'/', echo);
            self.erasing = false;
        }
    }

    // ---- output ----

    /// Echoes a received byte: a control character other than tab as `^X`
    /// under ECHOCTL, anything else through output processing.
    fn echo_char(&self, c: u8, echo: &mut impl FnMut(u8)) {
        if self.termios.lflag(ECHOCTL) && is_cntrl(c) && c != b'\t' {
            echo(b'^');
            echo(c ^ 0x40);
            self.column.set(self.column.get() + 2);
        } else {
            self.output_char(c, echo);
        }
    }

    fn set_canon_column(&self) {
        self.canon_column.set(self.column.get());
    }

    fn move_back_column(&self) {
        self.column.set(self.column.get().saturating_sub(1));
    }

    /// One byte through output processing (OPOST), tracking the column.
    fn output_char(&self, c: u8, out: &mut impl FnMut(u8)) {
        let t = &self.termios;
        if !t.oflag(OPOST) {
            out(c);
            return;
        }
        let col = &self.column;
        match c {
            b'\n' => {
                if t.oflag(ONLRET) {
                    col.set(0);
                }
                if t.oflag(ONLCR) {
                    col.set(0);
                    self.canon_column.set(0);
                    out(b'\r');
                    out(b'\n');
                    return;
                }
                self.canon_column.set(col.get());
                out(c);
            }
            b'\r' => {
                if t.oflag(ONOCR) && col.get() == 0 {
                    return;
                }
                if t.oflag(OCRNL) {
                    if t.oflag(ONLRET) {
                        col.set(0);
                        self.canon_column.set(0);
                    }
                    out(b'\n');
                    return;
                }
                col.set(0);
                self.canon_column.set(0);
                out(c);
            }
            b'\t' => {
                let spaces = 8 - col.get() % 8;
                col.set(col.get() + spaces);
                if t.c_oflag & TABDLY == XTABS {
                    for _ in 0..spaces {
                        out(b' ');
                    }
                } else {
                    out(c);
                }
            }
            BS => {
                self.move_back_column();
                out(c);
            }
            _ => {
                let mut c = c;
                if !is_cntrl(c) {
                    if t.oflag(OLCUC) {
                        c = c.to_ascii_uppercase();
                    }
                    if !(t.iflag(IUTF8) && c & 0xc0 == 0x80) {
                        col.set(col.get() + 1);
                    }
                }
                out(c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::boxed::Box;
    use alloc::vec::Vec;

    const CTRL_C: u8 = 0x03;
    const CTRL_D: u8 = 0x04;
    const CTRL_U: u8 = 0x15;
    const CTRL_W: u8 = 0x17;
    const CTRL_BACKSLASH: u8 = 0x1c;
    const CTRL_Z: u8 = 0x1a;
    const DEL: u8 = 0x7f;

    fn tty() -> Box<NTty> {
        Box::new(NTty::new())
    }

    /// Feeds `input`, returning the echo and the signals raised.
    fn feed(t: &mut NTty, input: &[u8]) -> (Vec<u8>, Vec<Signal>) {
        let mut echo = Vec::new();
        let mut sigs = Vec::new();
        for &b in input {
            if let Some(s) = t.receive_byte(b, &mut |e| echo.push(e)) {
                sigs.push(s);
            }
        }
        (echo, sigs)
    }

    fn read_all(t: &mut NTty, len: usize) -> Vec<u8> {
        let mut buf = alloc::vec![0u8; len];
        let n = t.read(&mut buf);
        buf.truncate(n);
        buf
    }

    /// Feeds bytes only while the discipline says it has room, as the
    /// console does; returns how many it took.
    fn feed_while_room(t: &mut NTty, input: &[u8]) -> usize {
        let mut taken = 0;
        for &b in input {
            if t.receive_room() == 0 {
                break;
            }
            t.receive_byte(b, &mut |_| {});
            taken += 1;
        }
        taken
    }

    #[test]
    fn receive_room_holds_input_back_instead_of_dropping_it() {
        // Canonical mode: complete lines fill the buffer; no room is left
        // (one slot kept for a line end), nothing is dropped, and a read
        // makes room again.
        let mut t = tty();
        let lines: Vec<u8> = (0..600).flat_map(|_| *b"abcdefg\n").collect();
        let taken = feed_while_room(&mut t, &lines);
        assert_eq!(taken, N_TTY_BUF_SIZE - 1);
        assert_eq!(t.receive_room(), 0);
        assert_eq!(t.dropped(), 0);
        assert_eq!(read_all(&mut t, 100), b"abcdefg\n");
        assert_eq!(t.receive_room(), 8);
        // Raw mode: the whole buffer, then no room.
        let mut t = tty();
        raw(&mut t);
        assert_eq!(feed_while_room(&mut t, &[b'r'; 5000]), N_TTY_BUF_SIZE);
        assert_eq!((t.receive_room(), t.dropped()), (0, 0));
        assert_eq!(read_all(&mut t, 10).len(), 10);
        assert_eq!(t.receive_room(), 10);
    }

    #[test]
    fn an_overlong_canonical_line_still_takes_its_newline_and_counts_the_loss() {
        // No complete line for a reader to take: room stays at one byte, so
        // the newline can end the line; the bytes past the limit are counted.
        let mut t = tty();
        let mut line = std::vec![b'x'; N_TTY_BUF_SIZE + 9];
        line.push(b'\n');
        assert_eq!(feed_while_room(&mut t, &line), line.len());
        assert_eq!(t.dropped(), 10);
        assert_eq!(read_all(&mut t, 2 * N_TTY_BUF_SIZE).len(), N_TTY_BUF_SIZE);
    }

    fn raw(t: &mut NTty) {
        let mut tm = t.termios();
        tm.c_lflag &= !(ICANON | ECHO);
        tm.c_iflag &= !ICRNL;
        t.set_termios(tm);
    }

    #[test]
    fn termios_layout_and_round_trip() {
        assert_eq!(core::mem::size_of::<Termios>(), TERMIOS_SIZE);
        let t = Termios::default_console();
        let b = t.to_bytes();
        assert_eq!(b.len(), 36);
        assert_eq!(&b[0..4], &(ICRNL | IXON).to_le_bytes());
        assert_eq!(u32::from_le_bytes([b[0], b[1], b[2], b[3]]), 0o2400);
        assert_eq!(u32::from_le_bytes([b[4], b[5], b[6], b[7]]), 0o5);
        assert_eq!(u32::from_le_bytes([b[8], b[9], b[10], b[11]]), 0o16262);
        assert_eq!(u32::from_le_bytes([b[12], b[13], b[14], b[15]]), 0o105073);
        assert_eq!(b[16], 0);
        assert_eq!(&b[17..34], b"\x03\x1c\x7f\x15\x04\x00\x01\x00\x11\x13\x1a\x00\x12\x0f\x17\x16\x00");
        assert_eq!(Termios::from_bytes(&b), Some(t));
        let mut odd = t;
        odd.c_lflag = 0x1234_5678;
        odd.c_line = 7;
        odd.c_cc[18] = 0xee;
        assert_eq!(Termios::from_bytes(&odd.to_bytes()), Some(odd));
        assert_eq!(Termios::from_bytes(&b[..35]), None);
        let mut longer = [0u8; 40];
        longer[..36].copy_from_slice(&b);
        assert_eq!(Termios::from_bytes(&longer), Some(t));
    }

    #[test]
    fn enter_gives_newline_and_echo_crlf() {
        let mut t = tty();
        let (echo, sigs) = feed(&mut t, b"ls");
        assert_eq!(echo, b"ls");
        assert!(sigs.is_empty());
        assert!(!t.read_ready());
        assert_eq!(t.try_read(&mut [0u8; 8]), None);
        let (echo, _) = feed(&mut t, b"\r");
        assert_eq!(echo, b"\r\n");
        assert!(t.read_ready());
        assert_eq!(read_all(&mut t, 64), b"ls\n");
        assert!(!t.read_ready());
    }

    #[test]
    fn one_line_per_read() {
        let mut t = tty();
        feed(&mut t, b"a\rbc\rde");
        assert_eq!(read_all(&mut t, 64), b"a\n");
        assert_eq!(read_all(&mut t, 64), b"bc\n");
        assert!(!t.read_ready());
        feed(&mut t, b"\r");
        assert_eq!(read_all(&mut t, 64), b"de\n");
    }

    #[test]
    fn small_buffer_splits_line() {
        let mut t = tty();
        feed(&mut t, b"hello\r");
        assert_eq!(read_all(&mut t, 2), b"he");
        assert!(t.read_ready());
        assert_eq!(read_all(&mut t, 2), b"ll");
        assert_eq!(read_all(&mut t, 2), b"o\n");
        assert!(!t.read_ready());
        assert_eq!(t.try_read(&mut []), None);
    }

    #[test]
    fn backspace_erases_one_char() {
        let mut t = tty();
        let (echo, _) = feed(&mut t, &[b'l', b's', b'x', DEL]);
        assert_eq!(echo, b"lsx\x08 \x08");
        feed(&mut t, b"\r");
        assert_eq!(read_all(&mut t, 64), b"ls\n");
        // Erase on an empty line does nothing.
        let (echo, _) = feed(&mut t, &[DEL, DEL]);
        assert!(echo.is_empty());
        // Without ECHOE the erase character itself is echoed.
        let mut tm = t.termios();
        tm.c_lflag &= !ECHOE;
        t.set_termios(tm);
        let (echo, _) = feed(&mut t, &[b'a', DEL]);
        assert_eq!(echo, b"a^?");
    }

    #[test]
    fn backspace_over_control_char_erases_two_columns() {
        let mut t = tty();
        let (echo, _) = feed(&mut t, &[b'a', 0x16, 0x01]);
        assert_eq!(echo, b"a^\x08^A");
        let (echo, _) = feed(&mut t, &[DEL]);
        assert_eq!(echo, b"\x08 \x08\x08 \x08");
        feed(&mut t, b"\r");
        assert_eq!(read_all(&mut t, 8), b"a\n");
    }

    #[test]
    fn literal_next_takes_signal_char() {
        let mut t = tty();
        let (echo, sigs) = feed(&mut t, &[0x16, CTRL_C, b'\r']);
        assert!(sigs.is_empty());
        assert_eq!(echo, b"^\x08^C\r\n");
        assert_eq!(read_all(&mut t, 8), &[CTRL_C, b'\n']);
    }

    #[test]
    fn kill_erases_line() {
        let mut t = tty();
        let (echo, _) = feed(&mut t, &[b'a', b'b', b'c', CTRL_U]);
        assert_eq!(echo, b"abc\x08 \x08\x08 \x08\x08 \x08");
        feed(&mut t, b"x\r");
        assert_eq!(read_all(&mut t, 64), b"x\n");
        // Without ECHOKE: echo ^U and a newline (ECHOK).
        let mut tm = t.termios();
        tm.c_lflag &= !ECHOKE;
        t.set_termios(tm);
        let (echo, _) = feed(&mut t, &[b'a', b'b', CTRL_U]);
        assert_eq!(echo, b"ab^U\r\n");
        assert!(!t.read_ready());
        feed(&mut t, b"\r");
        assert_eq!(read_all(&mut t, 64), b"\n");
    }

    #[test]
    fn word_erase() {
        let mut t = tty();
        let (echo, _) = feed(&mut t, b"echo foo_1 ");
        assert_eq!(echo, b"echo foo_1 ");
        let (echo, _) = feed(&mut t, &[CTRL_W]);
        // Erases the trailing blank and "foo_1" (6 characters).
        assert_eq!(echo.len(), 6 * 3);
        assert!(echo.chunks(3).all(|c| c == b"\x08 \x08"));
        feed(&mut t, b"bar\r");
        assert_eq!(read_all(&mut t, 64), b"echo bar\n");
        // Punctuation ends a word.
        feed(&mut t, b"a/b.c");
        feed(&mut t, &[CTRL_W]);
        feed(&mut t, b"\r");
        assert_eq!(read_all(&mut t, 64), b"a/b.\n");
    }

    #[test]
    fn eof_at_line_start_and_mid_line() {
        let mut t = tty();
        let (echo, _) = feed(&mut t, &[CTRL_D]);
        assert!(echo.is_empty(), "^D is not echoed");
        assert!(t.read_ready());
        assert_eq!(t.try_read(&mut [0u8; 8]), Some(0));
        assert!(!t.read_ready());
        // Mid-line: the partial line is submitted without a newline.
        feed(&mut t, &[b'a', b'b', CTRL_D]);
        assert!(t.read_ready());
        assert_eq!(read_all(&mut t, 64), b"ab");
        assert!(!t.read_ready());
        // Twice: the second one is an end of file.
        feed(&mut t, &[b'x', CTRL_D, CTRL_D]);
        assert_eq!(read_all(&mut t, 64), b"x");
        assert_eq!(t.try_read(&mut [0u8; 8]), Some(0));
        assert_eq!(t.try_read(&mut [0u8; 8]), None);
    }

    #[test]
    fn ctrl_c_signals_flushes_and_echoes() {
        let mut t = tty();
        feed(&mut t, b"done\r");
        let (echo, sigs) = feed(&mut t, &[b'p', b'a', CTRL_C]);
        assert_eq!(sigs, [Signal::Int]);
        assert_eq!(echo, b"pa^C");
        assert!(!t.read_ready());
        assert_eq!(t.queued(), 0);
        feed(&mut t, b"x\r");
        assert_eq!(read_all(&mut t, 64), b"x\n");
        let (echo, sigs) = feed(&mut t, &[CTRL_BACKSLASH, CTRL_Z]);
        assert_eq!(sigs, [Signal::Quit, Signal::Tstp]);
        assert_eq!(echo, b"^\\^Z");
        assert_eq!(Signal::Int.number(), 2);
        assert_eq!(Signal::Tstp.number(), 20);
    }

    #[test]
    fn noflsh_keeps_input() {
        let mut t = tty();
        let mut tm = t.termios();
        tm.c_lflag |= NOFLSH;
        t.set_termios(tm);
        let (_, sigs) = feed(&mut t, &[b'a', CTRL_C, b'b', b'\r']);
        assert_eq!(sigs, [Signal::Int]);
        assert_eq!(read_all(&mut t, 64), b"ab\n");
    }

    #[test]
    fn isig_off_makes_ctrl_c_ordinary() {
        let mut t = tty();
        let mut tm = t.termios();
        tm.c_lflag &= !ISIG;
        t.set_termios(tm);
        let (echo, sigs) = feed(&mut t, &[b'a', CTRL_C, b'\r']);
        assert!(sigs.is_empty());
        assert_eq!(echo, b"a^C\r\n");
        assert_eq!(read_all(&mut t, 64), &[b'a', CTRL_C, b'\n']);
    }

    #[test]
    fn raw_mode_passes_bytes_unchanged() {
        let mut t = tty();
        let mut tm = t.termios();
        tm.c_lflag &= !(ICANON | ECHO | ISIG);
        tm.c_iflag &= !(ICRNL | IXON);
        t.set_termios(tm);
        let input: Vec<u8> = (0u8..=255).collect();
        let (echo, sigs) = feed(&mut t, &input);
        assert!(echo.is_empty());
        assert!(sigs.is_empty());
        assert!(t.read_ready());
        assert_eq!(read_all(&mut t, 300), input);
        assert!(!t.read_ready());
    }

    #[test]
    fn raw_mode_keeps_cr_without_icrnl() {
        let mut t = tty();
        raw(&mut t);
        let (echo, sigs) = feed(&mut t, b"a\rb\x7f");
        assert!(echo.is_empty());
        assert!(sigs.is_empty());
        assert_eq!(read_all(&mut t, 2), b"a\r");
        assert_eq!(read_all(&mut t, 8), b"b\x7f");
        // ISIG still applies in non-canonical mode.
        let (_, sigs) = feed(&mut t, &[CTRL_C]);
        assert_eq!(sigs, [Signal::Int]);
        assert_eq!(t.queued(), 0);
    }

    #[test]
    fn raw_mode_vmin() {
        let mut t = tty();
        let mut tm = t.termios();
        tm.c_lflag &= !(ICANON | ECHO);
        tm.c_cc[VMIN] = 3;
        t.set_termios(tm);
        feed(&mut t, b"ab");
        assert!(!t.read_ready());
        assert!(t.read_ready_for(2));
        assert_eq!(t.try_read(&mut [0u8; 8]), None);
        feed(&mut t, b"c");
        assert!(t.read_ready());
        assert_eq!(read_all(&mut t, 8), b"abc");
        tm.c_cc[VMIN] = 0;
        t.set_termios(tm);
        assert!(t.read_ready());
        assert_eq!(t.try_read(&mut [0u8; 8]), Some(0));
    }

    #[test]
    fn raw_mode_with_echo_shows_controls() {
        let mut t = tty();
        let mut tm = t.termios();
        tm.c_lflag &= !ICANON;
        t.set_termios(tm);
        // CR is translated (ICRNL) and echoed as a newline; a literal LF is
        // not special without ICANON and echoes as ^J, as on Linux.
        let (echo, _) = feed(&mut t, b"a\r\n");
        assert_eq!(echo, b"a\r\n^J");
        assert_eq!(read_all(&mut t, 8), b"a\n\n");
    }

    #[test]
    fn switching_to_raw_keeps_typed_ahead_bytes() {
        let mut t = tty();
        feed(&mut t, b"one\rtw");
        raw(&mut t);
        assert!(t.read_ready());
        assert_eq!(read_all(&mut t, 64), b"one\ntw");
        // And back: pending raw bytes become one line.
        feed(&mut t, b"xy");
        let mut tm = t.termios();
        tm.c_lflag |= ICANON | ECHO;
        tm.c_iflag |= ICRNL;
        t.set_termios(tm);
        assert!(t.read_ready());
        assert_eq!(read_all(&mut t, 64), b"xy");
        feed(&mut t, b"z\r");
        assert_eq!(read_all(&mut t, 64), b"z\n");
    }

    #[test]
    fn igncr_inlcr_echonl() {
        let mut t = tty();
        let mut tm = t.termios();
        tm.c_iflag = IGNCR;
        t.set_termios(tm);
        feed(&mut t, b"a\r\n");
        assert_eq!(read_all(&mut t, 8), b"a\n");
        tm.c_iflag = INLCR;
        tm.c_lflag &= !ICANON;
        t.set_termios(tm);
        feed(&mut t, b"\n");
        assert_eq!(read_all(&mut t, 8), b"\r");
        // ECHONL echoes only the newline when ECHO is off.
        tm.c_iflag = ICRNL;
        tm.c_lflag = ICANON | ECHONL;
        t.set_termios(tm);
        let (echo, _) = feed(&mut t, b"secret\r");
        assert_eq!(echo, b"\r\n");
        assert_eq!(read_all(&mut t, 16), b"secret\n");
    }

    #[test]
    fn istrip_and_iuclc() {
        let mut t = tty();
        let mut tm = t.termios();
        tm.c_iflag |= ISTRIP | IUCLC;
        t.set_termios(tm);
        feed(&mut t, &[0xc1, b'B', b'\r']);
        assert_eq!(read_all(&mut t, 8), b"ab\n");
    }

    #[test]
    fn ixon_start_stop() {
        let mut t = tty();
        let (echo, _) = feed(&mut t, &[0x13]);
        assert!(echo.is_empty());
        assert!(t.output_stopped());
        feed(&mut t, b"a");
        assert!(t.output_stopped());
        feed(&mut t, &[0x11]);
        assert!(!t.output_stopped());
        let mut tm = t.termios();
        tm.c_iflag |= IXANY;
        t.set_termios(tm);
        feed(&mut t, &[0x13, b'b']);
        assert!(!t.output_stopped());
        feed(&mut t, b"\r");
        assert_eq!(read_all(&mut t, 8), b"ab\n");
    }

    #[test]
    fn reprint_line() {
        let mut t = tty();
        let (echo, _) = feed(&mut t, &[b'h', b'i', 0x12]);
        assert_eq!(echo, b"hi^R\r\nhi");
        feed(&mut t, b"\r");
        assert_eq!(read_all(&mut t, 8), b"hi\n");
    }

    #[test]
    fn echoprt_erase() {
        let mut t = tty();
        let mut tm = t.termios();
        tm.c_lflag |= ECHOPRT;
        t.set_termios(tm);
        let (echo, _) = feed(&mut t, &[b'a', b'b', b'c', DEL, DEL, b'x']);
        assert_eq!(echo, b"abc\\cb/x");
    }

    #[test]
    fn utf8_erase_removes_whole_character() {
        let mut t = tty();
        let mut tm = t.termios();
        tm.c_iflag |= IUTF8;
        t.set_termios(tm);
        let (echo, _) = feed(&mut t, "aé".as_bytes());
        assert_eq!(echo, "aé".as_bytes());
        let (echo, _) = feed(&mut t, &[DEL]);
        assert_eq!(echo, b"\x08 \x08");
        feed(&mut t, b"\r");
        assert_eq!(read_all(&mut t, 8), b"a\n");
    }

    #[test]
    fn erase_tab_backs_to_its_column() {
        let mut t = tty();
        let mut prompt = Vec::new();
        t.write_output(b"$ ", &mut |b| prompt.push(b));
        assert_eq!(prompt, b"$ ");
        let (echo, _) = feed(&mut t, b"ab\t");
        assert_eq!(echo, b"ab\t");
        // Prompt 2 + "ab" 2 = column 4; the tab went to 8; back 4.
        let (echo, _) = feed(&mut t, &[DEL]);
        assert_eq!(echo, b"\x08\x08\x08\x08");
        // After a tab: "\tx\t" from column 2: tab to 8, x to 9, tab to 16.
        feed(&mut t, &[DEL, DEL]);
        feed(&mut t, b"\tx\t");
        let (echo, _) = feed(&mut t, &[DEL]);
        assert_eq!(echo, b"\x08\x08\x08\x08\x08\x08\x08");
    }

    #[test]
    fn onlcr_and_other_output_flags() {
        let t = tty();
        let mut out = Vec::new();
        t.write_output(b"a\nb\r\n", &mut |b| out.push(b));
        assert_eq!(out, b"a\r\nb\r\r\n");
        let mut t = tty();
        let mut tm = t.termios();
        tm.c_oflag = 0;
        t.set_termios(tm);
        out.clear();
        t.write_output(b"a\n", &mut |b| out.push(b));
        assert_eq!(out, b"a\n");
        tm.c_oflag = OPOST | OCRNL | ONOCR | OLCUC | XTABS;
        t.set_termios(tm);
        out.clear();
        t.write_output(b"\rab\r\tz\n", &mut |b| out.push(b));
        // \r at column 0 dropped; "AB"; \r -> \n (column stays: no ONLRET);
        // tab from column 2 -> 6 spaces.
        assert_eq!(out, b"AB\n      Z\n");
    }

    #[test]
    fn overlong_line_is_capped() {
        let mut t = tty();
        let mut echo = Vec::new();
        for _ in 0..N_TTY_BUF_SIZE + 10 {
            t.receive_byte(b'x', &mut |b| echo.push(b));
        }
        assert_eq!(t.queued(), N_TTY_BUF_SIZE - 1);
        assert_eq!(echo.iter().filter(|&&b| b == b'x').count(), N_TTY_BUF_SIZE - 1);
        assert_eq!(echo.iter().filter(|&&b| b == BEL).count(), 11);
        feed(&mut t, b"\r");
        let line = read_all(&mut t, 2 * N_TTY_BUF_SIZE);
        assert_eq!(line.len(), N_TTY_BUF_SIZE);
        assert_eq!(line[N_TTY_BUF_SIZE - 1], b'\n');
        // Erase still works on a full line; EOF too.
        for _ in 0..N_TTY_BUF_SIZE {
            feed(&mut t, b"y");
        }
        feed(&mut t, &[DEL, b'z', CTRL_D]);
        let line = read_all(&mut t, 2 * N_TTY_BUF_SIZE);
        assert_eq!(line.len(), N_TTY_BUF_SIZE - 1);
        assert_eq!(*line.last().unwrap(), b'z');
    }

    #[test]
    fn ring_wraps_around() {
        let mut t = tty();
        for i in 0..3000u32 {
            let c = b'a' + (i % 26) as u8;
            feed(&mut t, &[c, c, b'\r']);
            assert_eq!(read_all(&mut t, 8), [c, c, b'\n']);
        }
    }

    #[test]
    fn flush_input_drops_everything() {
        let mut t = tty();
        feed(&mut t, b"abc\rdef");
        t.flush_input();
        assert!(!t.read_ready());
        assert_eq!(t.queued(), 0);
        feed(&mut t, b"g\r");
        assert_eq!(read_all(&mut t, 8), b"g\n");
    }

    #[test]
    fn eol_char_ends_line() {
        let mut t = tty();
        let mut tm = t.termios();
        tm.c_cc[VEOL] = b';';
        t.set_termios(tm);
        let (echo, _) = feed(&mut t, b"a;b");
        assert_eq!(echo, b"a;b");
        assert_eq!(read_all(&mut t, 8), b"a;");
        assert!(!t.read_ready());
    }
}
