//! A refillable read window over a stream, and the line splitter built on it.

use std::io::{self, BufRead, ErrorKind};

use memchr::memchr;

use crate::Position;
use crate::batch::{Unit, Units};

const INITIAL: usize = 64 << 10;

/// A window of the input: `buf[start..end]` is read but not consumed yet.
pub(crate) struct Window {
    inner: Box<dyn BufRead + Send>,
    pub(crate) buf: Vec<u8>,
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) eof: bool,
    /// Bytes of the stream dropped before `buf[0]`.
    pub(crate) dropped: u64,
}

impl Window {
    pub(crate) fn new(inner: Box<dyn BufRead + Send>) -> Window {
        Window {
            inner,
            buf: vec![0; INITIAL],
            start: 0,
            end: 0,
            eof: false,
            dropped: 0,
        }
    }

    /// The stream offset of `buf[i]`.
    pub(crate) fn offset(&self, i: usize) -> u64 {
        self.dropped + i as u64
    }

    /// Reads more input, keeping `buf[start..end]` (moved to the front of the buffer). Sets `eof`
    /// at the end of the input.
    pub(crate) fn fill(&mut self) -> io::Result<()> {
        let shift = self.start;
        if shift > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= shift;
            self.start = 0;
            self.dropped += shift as u64;
        }
        if self.end == self.buf.len() {
            let len = self.buf.len() * 2;
            self.buf.resize(len, 0);
        }
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

/// Splits the input into lines (without `\n` or `\r\n`); blank lines are skipped.
pub(crate) struct Lines {
    w: Window,
    /// How far from `w.start` no newline was found yet.
    scanned: usize,
    line_no: u64,
}

impl Lines {
    pub(crate) fn new(inner: Box<dyn BufRead + Send>) -> Lines {
        Lines::from_window(Window::new(inner))
    }

    /// Lines of a window that may already hold the first bytes.
    pub(crate) fn from_window(w: Window) -> Lines {
        Lines {
            w,
            scanned: 0,
            line_no: 0,
        }
    }
}

/// Without the line break's `\r`, and without a byte order mark on the first line.
fn trim(line: &[u8], line_no: u64) -> &[u8] {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line_no == 1 {
        line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line)
    } else {
        line
    }
}

impl Units for Lines {
    fn next_unit(&mut self) -> Unit<'_> {
        loop {
            let from = self.w.start + self.scanned;
            if let Some(i) = memchr(b'\n', &self.w.buf[from..self.w.end]) {
                let s = self.w.start;
                let e = from + i;
                self.w.start = e + 1;
                self.scanned = 0;
                self.line_no += 1;
                if self.w.buf[s..e].iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return Unit::Record(
                    Position::Line(self.line_no),
                    trim(&self.w.buf[s..e], self.line_no),
                );
            }
            if self.w.eof {
                if self.w.start == self.w.end {
                    return Unit::End;
                }
                let (s, e) = (self.w.start, self.w.end);
                self.w.start = e;
                self.scanned = 0;
                self.line_no += 1;
                if self.w.buf[s..e].iter().all(u8::is_ascii_whitespace) {
                    return Unit::End;
                }
                return Unit::Record(
                    Position::Line(self.line_no),
                    trim(&self.w.buf[s..e], self.line_no),
                );
            }
            self.scanned = self.w.end - self.w.start;
            if let Err(e) = self.w.fill() {
                return Unit::Failed(Position::Line(self.line_no + 1), e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_lines(text: &'static [u8]) -> Vec<(Position, String)> {
        let mut l = Lines::new(Box::new(text));
        let mut out = Vec::new();
        loop {
            match l.next_unit() {
                Unit::Record(p, b) => out.push((p, String::from_utf8(b.to_vec()).unwrap())),
                Unit::End => return out,
                _ => panic!("unexpected unit"),
            }
        }
    }

    #[test]
    fn lines_keep_numbers_and_skip_blanks() {
        let got = all_lines(b"\xEF\xBB\xBFa\r\n\nb\nc");
        assert_eq!(
            got,
            vec![
                (Position::Line(1), "a".into()),
                (Position::Line(3), "b".into()),
                (Position::Line(4), "c".into())
            ]
        );
    }

    #[test]
    fn long_lines_grow_the_window() {
        let long: &'static [u8] = Box::leak(
            format!("{}\nx\n", "y".repeat(3 << 20))
                .into_bytes()
                .into_boxed_slice(),
        );
        let got = all_lines(long);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].1.len(), 3 << 20);
        assert_eq!(got[1], (Position::Line(2), "x".into()));
    }
}
