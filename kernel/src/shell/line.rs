//! Line editing for the console: echo, backspace, Ctrl-C, Ctrl-U, Ctrl-W and a
//! history reached with the up/down arrows.
//!
//! The editor consumes one input byte at a time and writes its echo through a
//! callback, so it is independent of the UART and unit-tested on the host.

use alloc::collections::VecDeque;
use alloc::string::String;

/// Longest line accepted; further characters ring the bell.
pub const MAX_LINE: usize = 1024;
/// Lines kept in the history.
pub const HISTORY: usize = 32;

const CTRL_C: u8 = 0x03;
const BACKSPACE: u8 = 0x08;
const CTRL_U: u8 = 0x15;
const CTRL_W: u8 = 0x17;
const ESC: u8 = 0x1b;
const DEL: u8 = 0x7f;
const BELL: &[u8] = b"\x07";
const RUB_OUT: &[u8] = b"\x08 \x08";

/// What a byte of input completed.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// Nothing yet.
    Pending,
    /// Enter: the edited line.
    Line(String),
    /// Ctrl-C: the line was discarded.
    Interrupt,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Escape {
    None,
    Esc,
    Csi,
}

/// The line editor state.
pub struct LineEditor {
    line: String,
    history: VecDeque<String>,
    /// Position while browsing the history (0 = newest), and the line being
    /// edited before browsing started.
    browsing: Option<(usize, String)>,
    escape: Escape,
    after_cr: bool,
}

impl Default for LineEditor {
    fn default() -> Self {
        Self::new()
    }
}

impl LineEditor {
    /// An editor with an empty line and history.
    pub const fn new() -> Self {
        LineEditor {
            line: String::new(),
            history: VecDeque::new(),
            browsing: None,
            escape: Escape::None,
            after_cr: false,
        }
    }

    /// The line as edited so far.
    pub fn current(&self) -> &str {
        &self.line
    }

    /// Feeds one input byte; echo and erase sequences go to `out`.
    pub fn feed(&mut self, byte: u8, out: &mut dyn FnMut(&[u8])) -> Event {
        let after_cr = core::mem::replace(&mut self.after_cr, false);
        match self.escape {
            Escape::Esc => {
                self.escape = if byte == b'[' { Escape::Csi } else { Escape::None };
                return Event::Pending;
            }
            Escape::Csi => {
                // Parameters and intermediates continue the sequence; a final byte ends it.
                if (0x40..=0x7e).contains(&byte) {
                    self.escape = Escape::None;
                    match byte {
                        b'A' => self.history_step(true, out),
                        b'B' => self.history_step(false, out),
                        _ => {}
                    }
                }
                return Event::Pending;
            }
            Escape::None => {}
        }
        match byte {
            b'\r' | b'\n' => {
                if byte == b'\n' && after_cr {
                    return Event::Pending; // the LF of a CR LF pair
                }
                self.after_cr = byte == b'\r';
                out(b"\r\n");
                self.browsing = None;
                let line = core::mem::take(&mut self.line);
                if !line.trim().is_empty() && self.history.front() != Some(&line) {
                    if self.history.len() == HISTORY {
                        self.history.pop_back();
                    }
                    self.history.push_front(line.clone());
                }
                Event::Line(line)
            }
            CTRL_C => {
                out(b"^C\r\n");
                self.line.clear();
                self.browsing = None;
                Event::Interrupt
            }
            BACKSPACE | DEL => {
                if self.line.pop().is_some() {
                    out(RUB_OUT);
                }
                Event::Pending
            }
            CTRL_U => {
                self.erase(self.line.len(), out);
                Event::Pending
            }
            CTRL_W => {
                let trimmed = self.line.trim_end_matches(' ');
                let word_start = trimmed.rfind(' ').map_or(0, |i| i + 1);
                self.erase(self.line.len() - word_start, out);
                Event::Pending
            }
            ESC => {
                self.escape = Escape::Esc;
                Event::Pending
            }
            0x20..=0x7e => {
                if self.line.len() < MAX_LINE {
                    self.line.push(byte as char);
                    out(&[byte]);
                } else {
                    out(BELL);
                }
                Event::Pending
            }
            _ => Event::Pending, // other control characters are ignored
        }
    }

    fn erase(&mut self, count: usize, out: &mut dyn FnMut(&[u8])) {
        for _ in 0..count {
            self.line.pop();
            out(RUB_OUT);
        }
    }

    fn replace_line(&mut self, new: String, out: &mut dyn FnMut(&[u8])) {
        self.erase(self.line.len(), out);
        out(new.as_bytes());
        self.line = new;
    }

    /// Up (`older`) or down through the history.
    fn history_step(&mut self, older: bool, out: &mut dyn FnMut(&[u8])) {
        let next = match (&self.browsing, older) {
            (None, true) if !self.history.is_empty() => Some(0),
            (Some((i, _)), true) if i + 1 < self.history.len() => Some(i + 1),
            (Some((0, _)), false) => None,
            (Some((i, _)), false) => Some(i - 1),
            _ => {
                if !older || self.history.is_empty() {
                    return;
                }
                out(BELL);
                return;
            }
        };
        match next {
            Some(i) => {
                let draft = match self.browsing.take() {
                    Some((_, draft)) => draft,
                    None => self.line.clone(),
                };
                let entry = self.history[i].clone();
                self.browsing = Some((i, draft));
                self.replace_line(entry, out);
            }
            None => {
                let (_, draft) = self.browsing.take().expect("browsing");
                self.replace_line(draft, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    fn feed_all(ed: &mut LineEditor, input: &[u8]) -> (Vec<Event>, Vec<u8>) {
        let mut echo = Vec::new();
        let mut events = Vec::new();
        for &b in input {
            match ed.feed(b, &mut |bytes| echo.extend_from_slice(bytes)) {
                Event::Pending => {}
                e => events.push(e),
            }
        }
        (events, echo)
    }

    fn line(s: &str) -> Event {
        Event::Line(s.into())
    }

    #[test]
    fn typed_line_is_echoed_and_returned() {
        let mut ed = LineEditor::new();
        let (events, echo) = feed_all(&mut ed, b"help\r");
        assert_eq!(events, [line("help")]);
        assert_eq!(echo, b"help\r\n");
    }

    #[test]
    fn crlf_gives_one_line_and_lf_alone_works() {
        let mut ed = LineEditor::new();
        let (events, _) = feed_all(&mut ed, b"a\r\nb\nc\r\r");
        assert_eq!(events, [line("a"), line("b"), line("c"), line("")]);
    }

    #[test]
    fn backspace_and_delete_erase_one_character() {
        let mut ed = LineEditor::new();
        let (events, echo) = feed_all(&mut ed, b"lx\x7fog\x08g\x08\x08\x08\x08\rok\r");
        assert_eq!(events, [line(""), line("ok")]);
        assert!(echo.starts_with(b"lx\x08 \x08og\x08 \x08g"));
    }

    #[test]
    fn ctrl_u_kills_the_line_and_ctrl_w_a_word() {
        let mut ed = LineEditor::new();
        let (events, _) = feed_all(&mut ed, b"junk junk\x15log  info\x17debug\r");
        assert_eq!(events, [line("log  debug")]);
    }

    #[test]
    fn ctrl_c_discards_the_line() {
        let mut ed = LineEditor::new();
        let (events, echo) = feed_all(&mut ed, b"reboot\x03uptime\r");
        assert_eq!(events, [Event::Interrupt, line("uptime")]);
        assert!(echo.windows(4).any(|w| w == b"^C\r\n"));
    }

    #[test]
    fn long_lines_are_capped_not_lost_silently() {
        let mut ed = LineEditor::new();
        let input: Vec<u8> = core::iter::repeat_n(b'x', MAX_LINE + 5).chain([b'\r']).collect();
        let (events, echo) = feed_all(&mut ed, &input);
        assert_eq!(events, [Event::Line("x".repeat(MAX_LINE))]);
        assert_eq!(echo.iter().filter(|&&b| b == 0x07).count(), 5);
    }

    #[test]
    fn arrows_walk_the_history_and_restore_the_draft() {
        let mut ed = LineEditor::new();
        feed_all(&mut ed, b"one\rtwo\rtwo\r");
        // Up, up: "one" (duplicates are stored once); down: "two"; down: the draft.
        let (events, _) = feed_all(&mut ed, b"dr\x1b[A\x1b[A\x1b[B\x1b[B\r");
        assert_eq!(events, [line("dr")]);
        // History is now dr, two, one (newest first).
        let (events, _) = feed_all(&mut ed, b"\x1b[A\x1b[A\r");
        assert_eq!(events, [line("two")]);
        // Now two, dr, two, one. Past the oldest entry the bell rings and the line stays.
        let (events, echo) = feed_all(&mut ed, b"\x1b[A\x1b[A\x1b[A\x1b[A\x1b[A\r");
        assert_eq!(events, [line("one")]);
        assert!(echo.contains(&0x07));
    }

    #[test]
    fn unknown_escape_sequences_and_controls_are_ignored() {
        let mut ed = LineEditor::new();
        let (events, echo) = feed_all(&mut ed, b"a\x1b[1;5C\x1bOb\x01\x02c\r");
        // ESC O is not CSI: the 'O' ends it; 'b' is typed.
        assert_eq!(events, [line("abc")]);
        assert_eq!(echo, b"abc\r\n");
    }
}
