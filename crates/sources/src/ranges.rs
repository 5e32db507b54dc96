//! Reading the lines of a file that start in a byte range, so that one large file can be decoded
//! by several threads at once ([`crate::read_range`]).

use std::io::{self, BufRead, Read};

/// Skips the input up to the first line that starts at or after `start`: every byte before
/// `start`, then the rest of a line that began before it. Returns the number of lines skipped
/// and the offset of the first byte not skipped.
pub(crate) fn skip_to_range<R: BufRead>(input: &mut R, start: u64) -> io::Result<(u64, u64)> {
    if start == 0 {
        return Ok((0, 0));
    }
    let mut pos = 0u64;
    let mut lines = 0u64;
    let mut last_newline = false;
    // Up to start.
    while pos < start {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            return Ok((lines, pos));
        }
        let n = buf.len().min((start - pos) as usize);
        lines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
        last_newline = buf[n - 1] == b'\n';
        input.consume(n);
        pos += n as u64;
    }
    if last_newline {
        return Ok((lines, pos));
    }
    // The rest of the line that straddles start.
    loop {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            return Ok((lines, pos));
        }
        match memchr::memchr(b'\n', buf) {
            Some(i) => {
                input.consume(i + 1);
                return Ok((lines + 1, pos + i as u64 + 1));
            }
            None => {
                let n = buf.len();
                input.consume(n);
                pos += n as u64;
            }
        }
    }
}

/// The input from its current offset `pos` up to the end of the last line that starts before
/// `end`.
pub(crate) struct RangeReader<R> {
    inner: R,
    pos: u64,
    end: u64,
    /// Whether the last byte handed out was a line break.
    last_newline: bool,
    done: bool,
}

impl<R: BufRead> RangeReader<R> {
    pub(crate) fn new(inner: R, pos: u64, end: u64) -> RangeReader<R> {
        RangeReader {
            inner,
            pos,
            end,
            // At the start of a line: a range that is empty reads nothing.
            last_newline: true,
            done: false,
        }
    }
}

impl<R: BufRead> BufRead for RangeReader<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.done {
            return Ok(&[]);
        }
        let (pos, end, last_newline) = (self.pos, self.end, self.last_newline);
        if pos >= end && last_newline {
            self.done = true;
            return Ok(&[]);
        }
        let buf = self.inner.fill_buf()?;
        if pos < end {
            let n = buf.len().min((end - pos) as usize);
            return Ok(&buf[..n]);
        }
        // Past the end, inside a line that started before it: up to its line break.
        Ok(match memchr::memchr(b'\n', buf) {
            Some(i) => &buf[..=i],
            None => buf,
        })
    }

    fn consume(&mut self, amt: usize) {
        if amt == 0 {
            return;
        }
        if let Ok(buf) = self.inner.fill_buf() {
            self.last_newline = buf.get(amt - 1) == Some(&b'\n');
        }
        self.inner.consume(amt);
        self.pos += amt as u64;
    }
}

impl<R: BufRead> Read for RangeReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let buf = self.fill_buf()?;
        let n = buf.len().min(out.len());
        out[..n].copy_from_slice(&buf[..n]);
        self.consume(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines of `text` read as `parts` ranges, and the line number each range starts at.
    fn split(text: &str, parts: u64, capacity: usize) -> Vec<(u64, String)> {
        let len = text.len() as u64;
        let mut out = Vec::new();
        for k in 0..parts {
            let (start, end) = (len * k / parts, len * (k + 1) / parts);
            let mut input = io::BufReader::with_capacity(capacity, text.as_bytes());
            let (lines, first) = skip_to_range(&mut input, start).unwrap();
            let mut got = String::new();
            RangeReader::new(input, first, end)
                .read_to_string(&mut got)
                .unwrap();
            out.push((lines, got));
        }
        out
    }

    #[test]
    fn ranges_read_every_line_once() {
        let text =
            "alpha\nbravo charlie\n\ndelta\necho foxtrot golf\nhotel\nlast line without a break";
        for parts in 1..=9 {
            for capacity in [1, 3, 64] {
                let pieces = split(text, parts, capacity);
                let joined: String = pieces.iter().map(|(_, s)| s.as_str()).collect();
                assert_eq!(joined, text, "{parts} parts, buffer {capacity}");
                // Each range starts at a line start, and knows how many lines precede it.
                let mut before = 0;
                for (lines, piece) in &pieces {
                    if !piece.is_empty() {
                        assert_eq!(*lines, before, "{parts} parts: {pieces:?}");
                    }
                    before += piece.matches('\n').count() as u64;
                }
            }
        }
    }
}
