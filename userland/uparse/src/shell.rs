//! The shell's grammar: one input line becomes a list of and-or lists of pipelines of commands.
//!
//! ```text
//! line      := [and_or ((';' | '&') and_or)* [';' | '&']] ['#' comment]
//! and_or    := pipeline (('&&' | '||') pipeline)*
//! pipeline  := command ('|' command)*
//! command   := assignment* (word | redirect)+        (or assignments alone)
//! redirect  := [digits] ('<' | '>' | '>>') word  |  [digits] ('>&' | '<&') (digits | '-')
//! assignment:= NAME '=' word-rest                    (NAME unquoted, before the command name)
//! word      := ( plain | '\' char | '...' | "..." | '$' expansion )+
//! expansion := '?' | '$' | '!' | NAME | '{' NAME '}'   (not inside '...'; '~' at a word's start = $HOME)
//! ```
//! Expansions are kept symbolic in the parsed [`Word`] and resolved when the command runs
//! ([`Word::expand`]), so `false; echo $?` sees the status of `false`. An expanded word is never split
//! into several words, and there is no globbing.

use alloc::vec::Vec;

/// One piece of a word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// Literal bytes (quotes and escapes already removed).
    Lit(Vec<u8>),
    /// `$NAME` or `${NAME}`.
    Var(Vec<u8>),
    /// `$?`: status of the last command.
    Status,
    /// `$$`: the shell's PID.
    Pid,
    /// `$!`: PID of the last background job.
    LastBackground,
    /// `~` at the start of a word: `$HOME`.
    Home,
}

/// A word: the concatenation of its segments. No segments means the empty word (`''`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Word {
    pub segments: Vec<Segment>,
}

/// What a word's expansions resolve against.
pub trait Environment {
    /// The value of variable `name`, if set.
    fn var(&self, name: &[u8]) -> Option<Vec<u8>>;
    /// `$?`.
    fn status(&self) -> i32;
    /// `$$`.
    fn pid(&self) -> i32;
    /// `$!`, if a background job was started.
    fn last_background(&self) -> Option<i32>;
}

impl Word {
    /// The word with every expansion resolved; unset variables expand to nothing.
    pub fn expand(&self, env: &dyn Environment) -> Vec<u8> {
        let mut out = Vec::new();
        for seg in &self.segments {
            match seg {
                Segment::Lit(b) => out.extend_from_slice(b),
                Segment::Var(name) => out.extend_from_slice(&env.var(name).unwrap_or_default()),
                Segment::Status => push_decimal(&mut out, i64::from(env.status())),
                Segment::Pid => push_decimal(&mut out, i64::from(env.pid())),
                Segment::LastBackground => {
                    if let Some(pid) = env.last_background() {
                        push_decimal(&mut out, i64::from(pid))
                    }
                }
                Segment::Home => out.extend_from_slice(&env.var(b"HOME").unwrap_or_else(|| b"~".to_vec())),
            }
        }
        out
    }

    /// The word if it is nothing but literal text (no expansions).
    pub fn literal(&self) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        for seg in &self.segments {
            match seg {
                Segment::Lit(b) => out.extend_from_slice(b),
                _ => return None,
            }
        }
        Some(out)
    }

    fn push_lit(&mut self, b: u8) {
        if let Some(Segment::Lit(v)) = self.segments.last_mut() {
            v.push(b);
        } else {
            self.segments.push(Segment::Lit(alloc::vec![b]));
        }
    }
}

fn push_decimal(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    let mut digits = [0u8; 20];
    let mut n = v.unsigned_abs();
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// What a redirection does to its file descriptor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RedirOp {
    /// `< file`
    Read(Word),
    /// `> file` (create, truncate)
    Write(Word),
    /// `>> file` (create, append)
    Append(Word),
    /// `>&n` / `<&n`: make the fd a copy of `n`.
    Dup(i32),
    /// `>&-` / `<&-`: close the fd.
    Close,
}

/// A redirection of file descriptor `fd`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redir {
    pub fd: i32,
    pub op: RedirOp,
}

/// A simple command.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Command {
    /// `NAME=value` words before the command name.
    pub assigns: Vec<(Vec<u8>, Word)>,
    /// The command name and its arguments.
    pub words: Vec<Word>,
    /// Redirections, applied left to right.
    pub redirs: Vec<Redir>,
}

/// Commands connected by `|`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Pipeline {
    pub commands: Vec<Command>,
}

/// How a pipeline hangs on the previous one in an and-or list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connector {
    /// `&&`: run if the previous status was 0.
    And,
    /// `||`: run if the previous status was not 0.
    Or,
}

/// Pipelines joined by `&&`/`||`, run in the foreground or (with a trailing `&`) as a background job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AndOr {
    pub first: Pipeline,
    pub rest: Vec<(Connector, Pipeline)>,
    pub background: bool,
    /// The source text of this list (for `jobs`), trimmed, without the `;` or `&` ending it.
    pub text: Vec<u8>,
}

/// Why a line does not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// A quote (the byte given) is not closed before the end of the line.
    UnterminatedQuote(u8),
    /// `${` without a valid `NAME}`.
    BadSubstitution,
    /// An operator where a command or word was needed (the operator's text).
    UnexpectedToken(&'static str),
    /// The line ends where a command or a redirection target is needed.
    UnexpectedEnd,
    /// `>&` or `<&` followed by something other than a descriptor number or `-`.
    BadDescriptor,
}

impl core::fmt::Display for ParseError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ParseError::UnterminatedQuote(q) => write!(f, "unterminated quote {}", *q as char),
            ParseError::BadSubstitution => f.write_str("bad substitution"),
            ParseError::UnexpectedToken(t) => write!(f, "syntax error near unexpected token `{t}'"),
            ParseError::UnexpectedEnd => f.write_str("syntax error: unexpected end of line"),
            ParseError::BadDescriptor => f.write_str("bad file descriptor in redirection"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Pipe,
    Amp,
    AndAnd,
    OrOr,
    Semi,
    Less,
    Great,
    DGreat,
    GreatAmp,
    LessAmp,
}

impl Op {
    fn text(self) -> &'static str {
        match self {
            Op::Pipe => "|",
            Op::Amp => "&",
            Op::AndAnd => "&&",
            Op::OrOr => "||",
            Op::Semi => ";",
            Op::Less => "<",
            Op::Great => ">",
            Op::DGreat => ">>",
            Op::GreatAmp => ">&",
            Op::LessAmp => "<&",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    /// A word; `assign` is the length of `NAME` when the word starts with an unquoted `NAME=`.
    Word { word: Word, assign: Option<usize>, raw_digits: bool },
    /// An operator, with the descriptor number written right before it (`2>`).
    Op { op: Op, io_number: Option<i32> },
}

struct Token {
    tok: Tok,
    start: usize,
    end: usize,
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_meta(b: u8) -> bool {
    matches!(b, b'|' | b'&' | b';' | b'<' | b'>' | b' ' | b'\t' | b'\n' | b'\r')
}

struct Lexer<'a> {
    s: &'a [u8],
    i: usize,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn peek_at(&self, k: usize) -> Option<u8> {
        self.s.get(self.i + k).copied()
    }

    /// Reads `$...` after the `$` (already consumed).
    fn dollar(&mut self, word: &mut Word) -> Result<(), ParseError> {
        match self.peek() {
            Some(b'?') => {
                self.i += 1;
                word.segments.push(Segment::Status);
            }
            Some(b'$') => {
                self.i += 1;
                word.segments.push(Segment::Pid);
            }
            Some(b'!') => {
                self.i += 1;
                word.segments.push(Segment::LastBackground);
            }
            Some(b'{') => {
                let rest = &self.s[self.i + 1..];
                let close = rest.iter().position(|&b| b == b'}').ok_or(ParseError::BadSubstitution)?;
                let name = &rest[..close];
                if name.is_empty() || !is_name_start(name[0]) || !name.iter().all(|&b| is_name_char(b)) {
                    return Err(ParseError::BadSubstitution);
                }
                word.segments.push(Segment::Var(name.to_vec()));
                self.i += close + 2;
            }
            Some(b) if is_name_start(b) => {
                let start = self.i;
                while self.peek().is_some_and(is_name_char) {
                    self.i += 1;
                }
                word.segments.push(Segment::Var(self.s[start..self.i].to_vec()));
            }
            _ => word.push_lit(b'$'),
        }
        Ok(())
    }

    fn word(&mut self) -> Result<Tok, ParseError> {
        let mut word = Word::default();
        let mut assign = None;
        // True while everything so far was unquoted literal text that could still be `NAME` of `NAME=`.
        let mut name_so_far = true;
        let mut raw_digits = true;
        let start = self.i;
        if self.peek() == Some(b'~') && matches!(self.peek_at(1), None | Some(b'/')) || self.is_lone_tilde() {
            self.i += 1;
            word.segments.push(Segment::Home);
            name_so_far = false;
            raw_digits = false;
        }
        while let Some(b) = self.peek() {
            if is_meta(b) {
                break;
            }
            self.i += 1;
            let first = self.i - 1 == start;
            if !b.is_ascii_digit() {
                raw_digits = false;
            }
            if b == b'=' && name_so_far && !first && assign.is_none() {
                assign = Some(self.i - 1 - start);
                name_so_far = false;
                word.push_lit(b'=');
                continue;
            }
            if !(is_name_char(b) && (!first || is_name_start(b))) {
                name_so_far = false;
            }
            match b {
                b'\\' => match self.peek() {
                    Some(c) => {
                        self.i += 1;
                        word.push_lit(c);
                    }
                    None => word.push_lit(b'\\'),
                },
                b'\'' => {
                    let rest = &self.s[self.i..];
                    let close = rest.iter().position(|&c| c == b'\'').ok_or(ParseError::UnterminatedQuote(b'\''))?;
                    if close == 0 {
                        word.segments.push(Segment::Lit(Vec::new()));
                    }
                    for &c in &rest[..close] {
                        word.push_lit(c);
                    }
                    self.i += close + 1;
                }
                b'"' => {
                    let mut closed = false;
                    let mut empty = true;
                    while let Some(c) = self.peek() {
                        self.i += 1;
                        match c {
                            b'"' => {
                                closed = true;
                                break;
                            }
                            b'\\' if matches!(self.peek(), Some(b'$' | b'"' | b'\\' | b'`')) => {
                                word.push_lit(self.s[self.i]);
                                self.i += 1;
                            }
                            b'$' => self.dollar(&mut word)?,
                            _ => word.push_lit(c),
                        }
                        empty = false;
                    }
                    if !closed {
                        return Err(ParseError::UnterminatedQuote(b'"'));
                    }
                    if empty {
                        word.segments.push(Segment::Lit(Vec::new()));
                    }
                }
                b'$' => self.dollar(&mut word)?,
                _ => word.push_lit(b),
            }
        }
        // Merge adjacent literal segments (an empty quoted string next to text is just text).
        let mut merged: Vec<Segment> = Vec::new();
        for seg in word.segments {
            match (merged.last_mut(), seg) {
                (Some(Segment::Lit(a)), Segment::Lit(b)) => a.extend_from_slice(&b),
                (_, seg) => merged.push(seg),
            }
        }
        Ok(Tok::Word { word: Word { segments: merged }, assign, raw_digits })
    }

    fn is_lone_tilde(&self) -> bool {
        self.peek() == Some(b'~') && self.peek_at(1).is_some_and(is_meta)
    }

    fn next(&mut self) -> Result<Option<Token>, ParseError> {
        while self.peek().is_some_and(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
        let start = self.i;
        let Some(b) = self.peek() else { return Ok(None) };
        if b == b'#' {
            self.i = self.s.len();
            return Ok(None);
        }
        let two = (b, self.peek_at(1));
        let (op, len) = match two {
            (b'|', Some(b'|')) => (Some(Op::OrOr), 2),
            (b'|', _) => (Some(Op::Pipe), 1),
            (b'&', Some(b'&')) => (Some(Op::AndAnd), 2),
            (b'&', _) => (Some(Op::Amp), 1),
            (b';', _) => (Some(Op::Semi), 1),
            (b'>', Some(b'>')) => (Some(Op::DGreat), 2),
            (b'>', Some(b'&')) => (Some(Op::GreatAmp), 2),
            (b'>', _) => (Some(Op::Great), 1),
            (b'<', Some(b'&')) => (Some(Op::LessAmp), 2),
            (b'<', _) => (Some(Op::Less), 1),
            _ => (None, 0),
        };
        if let Some(op) = op {
            self.i += len;
            return Ok(Some(Token { tok: Tok::Op { op, io_number: None }, start, end: self.i }));
        }
        let tok = self.word()?;
        // A word of bare digits written right against `<` or `>` is the descriptor of that redirection.
        if let Tok::Word { word, raw_digits: true, .. } = &tok {
            if matches!(self.peek(), Some(b'<' | b'>')) {
                let fd = word.literal().and_then(|d| crate::num::parse_i32(&d));
                if let Some(fd) = fd {
                    if let Some(Token { tok: Tok::Op { op, .. }, end, .. }) = self.next()? {
                        return Ok(Some(Token { tok: Tok::Op { op, io_number: Some(fd) }, start, end }));
                    }
                }
            }
        }
        Ok(Some(Token { tok, start, end: self.i }))
    }
}

struct Parser<'a> {
    src: &'a [u8],
    toks: Vec<Token>,
    pos: usize,
}

impl Parser<'_> {
    fn peek_op(&self) -> Option<Op> {
        match self.toks.get(self.pos) {
            Some(Token { tok: Tok::Op { op, io_number: None }, .. }) => Some(*op),
            _ => None,
        }
    }

    fn command(&mut self) -> Result<Command, ParseError> {
        let mut cmd = Command::default();
        while let Some(token) = self.toks.get(self.pos) {
            match &token.tok {
                Tok::Word { word, assign, .. } => {
                    match assign {
                        Some(name_len) if cmd.words.is_empty() => {
                            let mut value = word.clone();
                            let Some(Segment::Lit(first)) = value.segments.first_mut() else {
                                unreachable!("an assignment word starts with literal text")
                            };
                            let name = first[..*name_len].to_vec();
                            first.drain(..=*name_len);
                            if first.is_empty() {
                                value.segments.remove(0);
                            }
                            cmd.assigns.push((name, value));
                        }
                        _ => cmd.words.push(word.clone()),
                    }
                    self.pos += 1;
                }
                Tok::Op { op, io_number } => {
                    let fd_default = match op {
                        Op::Less | Op::LessAmp => 0,
                        Op::Great | Op::DGreat | Op::GreatAmp => 1,
                        _ => break,
                    };
                    let (op, fd) = (*op, io_number.unwrap_or(fd_default));
                    self.pos += 1;
                    let target = match self.toks.get(self.pos) {
                        Some(Token { tok: Tok::Word { word, .. }, .. }) => word.clone(),
                        Some(Token { tok: Tok::Op { op, .. }, .. }) => {
                            return Err(ParseError::UnexpectedToken(op.text()))
                        }
                        None => return Err(ParseError::UnexpectedEnd),
                    };
                    self.pos += 1;
                    let op = match op {
                        Op::Less => RedirOp::Read(target),
                        Op::Great => RedirOp::Write(target),
                        Op::DGreat => RedirOp::Append(target),
                        _ => match target.literal().as_deref() {
                            Some(b"-") => RedirOp::Close,
                            Some(digits) => {
                                RedirOp::Dup(crate::num::parse_i32(digits).ok_or(ParseError::BadDescriptor)?)
                            }
                            None => return Err(ParseError::BadDescriptor),
                        },
                    };
                    cmd.redirs.push(Redir { fd, op });
                }
            }
        }
        if cmd.words.is_empty() && cmd.redirs.is_empty() && cmd.assigns.is_empty() {
            return Err(match self.peek_op() {
                Some(op) => ParseError::UnexpectedToken(op.text()),
                None => ParseError::UnexpectedEnd,
            });
        }
        Ok(cmd)
    }

    fn pipeline(&mut self) -> Result<Pipeline, ParseError> {
        let mut p = Pipeline { commands: alloc::vec![self.command()?] };
        while self.peek_op() == Some(Op::Pipe) {
            self.pos += 1;
            p.commands.push(self.command()?);
        }
        Ok(p)
    }

    fn and_or(&mut self) -> Result<AndOr, ParseError> {
        let start = self.toks[self.pos].start;
        let first = self.pipeline()?;
        let mut rest = Vec::new();
        loop {
            let conn = match self.peek_op() {
                Some(Op::AndAnd) => Connector::And,
                Some(Op::OrOr) => Connector::Or,
                _ => break,
            };
            self.pos += 1;
            rest.push((conn, self.pipeline()?));
        }
        let end = self.toks[self.pos - 1].end;
        let text = self.src[start..end].to_vec();
        let background = match self.peek_op() {
            Some(Op::Amp) => {
                self.pos += 1;
                true
            }
            Some(Op::Semi) => {
                self.pos += 1;
                false
            }
            Some(op) => return Err(ParseError::UnexpectedToken(op.text())),
            None => false,
        };
        Ok(AndOr { first, rest, background, text })
    }
}

/// Parses one line (a trailing newline is fine). An empty or comment-only line gives an empty list.
pub fn parse(line: &[u8]) -> Result<Vec<AndOr>, ParseError> {
    let mut lexer = Lexer { s: line, i: 0 };
    let mut toks = Vec::new();
    while let Some(t) = lexer.next()? {
        toks.push(t);
    }
    let mut parser = Parser { src: line, toks, pos: 0 };
    let mut lists = Vec::new();
    while parser.pos < parser.toks.len() {
        lists.push(parser.and_or()?);
    }
    Ok(lists)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn lit(s: &str) -> Word {
        Word { segments: vec![Segment::Lit(s.as_bytes().to_vec())] }
    }

    fn words(c: &Command) -> Vec<Vec<u8>> {
        c.words.iter().map(|w| w.literal().expect("literal word")).collect()
    }

    fn one(line: &str) -> Command {
        let mut lists = parse(line.as_bytes()).unwrap();
        assert_eq!(lists.len(), 1);
        let list = lists.remove(0);
        assert!(list.rest.is_empty());
        assert_eq!(list.first.commands.len(), 1);
        list.first.commands.into_iter().next().unwrap()
    }

    struct Env;
    impl Environment for Env {
        fn var(&self, name: &[u8]) -> Option<Vec<u8>> {
            match name {
                b"HOME" => Some(b"/root".to_vec()),
                b"X" => Some(b"a b".to_vec()),
                _ => None,
            }
        }
        fn status(&self) -> i32 {
            127
        }
        fn pid(&self) -> i32 {
            42
        }
        fn last_background(&self) -> Option<i32> {
            None
        }
    }

    #[test]
    fn plain_words() {
        let c = one("  echo   hello\tworld \n");
        assert_eq!(words(&c), vec![b"echo".to_vec(), b"hello".to_vec(), b"world".to_vec()]);
        assert!(c.redirs.is_empty());
    }

    #[test]
    fn empty_and_comments() {
        assert_eq!(parse(b"").unwrap(), vec![]);
        assert_eq!(parse(b"   \n").unwrap(), vec![]);
        assert_eq!(parse(b"# just a comment").unwrap(), vec![]);
        let c = one("echo a#b # comment");
        assert_eq!(words(&c), vec![b"echo".to_vec(), b"a#b".to_vec()]);
    }

    #[test]
    fn quotes() {
        let c = one(r#"echo 'a  b' "c  d" e'f'"g" '' "" \' \" a\ b"#);
        assert_eq!(
            words(&c),
            ["echo", "a  b", "c  d", "efg", "", "", "'", "\"", "a b"]
                .iter()
                .map(|s| s.as_bytes().to_vec())
                .collect::<Vec<_>>()
        );
        let c = one(r#"echo "in \"dq\" \$ \\ \n" 'sq $HOME \'"#);
        assert_eq!(c.words[1].literal().unwrap(), br#"in "dq" $ \ \n"#.to_vec());
        assert_eq!(c.words[2].literal().unwrap(), br#"sq $HOME \"#.to_vec());
        assert_eq!(parse(b"echo 'abc"), Err(ParseError::UnterminatedQuote(b'\'')));
        assert_eq!(parse(b"echo \"abc"), Err(ParseError::UnterminatedQuote(b'"')));
        // Operators inside quotes are text.
        let c = one("echo 'a|b;c&d>e'");
        assert_eq!(c.words[1].literal().unwrap(), b"a|b;c&d>e".to_vec());
    }

    #[test]
    fn expansions() {
        let c = one(r#"echo $? "$HOME/x" '$HOME' ${X}y $UNSET. $$ $ ~ ~/d a~"#);
        let got: Vec<Vec<u8>> = c.words.iter().map(|w| w.expand(&Env)).collect();
        let want: Vec<Vec<u8>> = ["echo", "127", "/root/x", "$HOME", "a by", ".", "42", "$", "/root", "/root/d", "a~"]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        assert_eq!(got, want);
        assert_eq!(c.words[1].segments, vec![Segment::Status]);
        assert_eq!(parse(b"echo ${"), Err(ParseError::BadSubstitution));
        assert_eq!(parse(b"echo ${1x}"), Err(ParseError::BadSubstitution));
    }

    #[test]
    fn pipelines_and_lists() {
        let lists = parse(b"a | b x | c; d & e && f || g").unwrap();
        assert_eq!(lists.len(), 3);
        assert_eq!(lists[0].first.commands.len(), 3);
        assert_eq!(words(&lists[0].first.commands[1]), vec![b"b".to_vec(), b"x".to_vec()]);
        assert!(!lists[0].background);
        assert_eq!(lists[0].text, b"a | b x | c".to_vec());
        assert!(lists[1].background);
        assert_eq!(lists[1].text, b"d".to_vec());
        assert_eq!(lists[2].rest.len(), 2);
        assert_eq!(lists[2].rest[0].0, Connector::And);
        assert_eq!(lists[2].rest[1].0, Connector::Or);
        assert!(!lists[2].background);
        let lists = parse(b"sleep 1&").unwrap();
        assert!(lists[0].background);
        assert_eq!(lists[0].text, b"sleep 1".to_vec());
        assert_eq!(parse(b"a;").unwrap().len(), 1);
    }

    #[test]
    fn syntax_errors() {
        assert_eq!(parse(b"| a"), Err(ParseError::UnexpectedToken("|")));
        assert_eq!(parse(b"a |"), Err(ParseError::UnexpectedEnd));
        assert_eq!(parse(b"a ; ; b"), Err(ParseError::UnexpectedToken(";")));
        assert_eq!(parse(b"a && || b"), Err(ParseError::UnexpectedToken("||")));
        assert_eq!(parse(b"&"), Err(ParseError::UnexpectedToken("&")));
        assert_eq!(parse(b"a >"), Err(ParseError::UnexpectedEnd));
        assert_eq!(parse(b"a > | b"), Err(ParseError::UnexpectedToken("|")));
        assert_eq!(parse(b"a >&x"), Err(ParseError::BadDescriptor));
    }

    #[test]
    fn redirections() {
        let c = one("cat < in > out 2>&1 >> log 2>err 3<&- x");
        assert_eq!(words(&c), vec![b"cat".to_vec(), b"x".to_vec()]);
        assert_eq!(
            c.redirs,
            vec![
                Redir { fd: 0, op: RedirOp::Read(lit("in")) },
                Redir { fd: 1, op: RedirOp::Write(lit("out")) },
                Redir { fd: 2, op: RedirOp::Dup(1) },
                Redir { fd: 1, op: RedirOp::Append(lit("log")) },
                Redir { fd: 2, op: RedirOp::Write(lit("err")) },
                Redir { fd: 3, op: RedirOp::Close },
            ]
        );
        // Digits separated from the operator, or quoted, are an ordinary argument.
        let c = one("echo 2 >f '2'>g");
        assert_eq!(words(&c), vec![b"echo".to_vec(), b"2".to_vec(), b"2".to_vec()]);
        assert_eq!(c.redirs[0], Redir { fd: 1, op: RedirOp::Write(lit("f")) });
        assert_eq!(c.redirs[1], Redir { fd: 1, op: RedirOp::Write(lit("g")) });
        let c = one(">out");
        assert!(c.words.is_empty());
        assert_eq!(c.redirs.len(), 1);
    }

    #[test]
    fn assignments() {
        let c = one("A=1 B='x y' C= cmd D=2");
        assert_eq!(c.assigns.len(), 3);
        assert_eq!(c.assigns[0], (b"A".to_vec(), lit("1")));
        assert_eq!(c.assigns[1], (b"B".to_vec(), lit("x y")));
        assert_eq!(c.assigns[2], (b"C".to_vec(), Word::default()));
        assert_eq!(words(&c), vec![b"cmd".to_vec(), b"D=2".to_vec()]);
        let c = one("PATH=$HOME/bin");
        assert!(c.words.is_empty());
        assert_eq!(c.assigns[0].1.expand(&Env), b"/root/bin".to_vec());
        // Not assignments: quoted name, leading '=', bad name.
        let c = one("'A'=1 =x 1A=2");
        assert!(c.assigns.is_empty());
        assert_eq!(words(&c), vec![b"A=1".to_vec(), b"=x".to_vec(), b"1A=2".to_vec()]);
    }

    #[test]
    fn random_lines_never_panic() {
        // Lines built from the characters the grammar cares about must give Ok or Err, never a panic,
        // and every Ok must round-trip its and-or texts out of the input.
        let alphabet = b"ab1 2=$?{}~#'\"\\|&;<>-\t\n";
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..50_000 {
            let mut line = Vec::new();
            for _ in 0..next() % 16 {
                line.push(alphabet[(next() % alphabet.len() as u64) as usize]);
            }
            if let Ok(lists) = parse(&line) {
                for l in lists {
                    assert!(line.windows(l.text.len().max(1)).any(|w| w == l.text.as_slice()) || l.text.is_empty());
                    for c in l.first.commands.iter().chain(l.rest.iter().flat_map(|(_, p)| p.commands.iter())) {
                        for w in &c.words {
                            w.expand(&Env);
                        }
                    }
                }
            }
        }
    }
}
