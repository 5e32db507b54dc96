//! UTF-16 text read as UTF-8: Windows tools write logs and exports in UTF-16 with a byte order
//! mark (PowerShell's `Out-File`, `wevtutil qe /f:text`, Notepad's "Unicode"). The formats read
//! UTF-8, so such a file is transcoded as it is read, streaming.

use std::io::{self, BufRead, Read};

/// Which UTF-16 a byte order mark announces, if any.
pub(crate) fn utf16_bom(head: &[u8]) -> Option<bool> {
    match head {
        [0xFF, 0xFE, ..] => Some(true),
        [0xFE, 0xFF, ..] => Some(false),
        _ => None,
    }
}

/// A UTF-16 stream (little- or big-endian) as UTF-8. The byte order mark is dropped; a unit that
/// is not valid UTF-16 (a lone surrogate, an odd last byte) becomes U+FFFD, so the line it is in
/// is still read and can be reported.
pub(crate) struct Utf16Reader<R> {
    inner: R,
    little: bool,
    out: Vec<u8>,
    pos: usize,
    /// A byte of a unit whose other byte has not been read yet.
    odd: Option<u8>,
    /// A high surrogate waiting for the low one in the next chunk.
    high: Option<u16>,
    started: bool,
}

impl<R: BufRead> Utf16Reader<R> {
    pub(crate) fn new(inner: R, little: bool) -> Utf16Reader<R> {
        Utf16Reader {
            inner,
            little,
            out: Vec::with_capacity(64 * 1024),
            pos: 0,
            odd: None,
            high: None,
            started: false,
        }
    }

    /// Transcodes the next chunk of the input into `out`; false at the end of the input.
    fn refill(&mut self) -> io::Result<bool> {
        self.out.clear();
        self.pos = 0;
        loop {
            let buf = self.inner.fill_buf()?;
            if buf.is_empty() {
                // The end: what is left over cannot be a character.
                if self.odd.take().is_some() || self.high.take().is_some() {
                    self.out.extend_from_slice("\u{FFFD}".as_bytes());
                }
                return Ok(!self.out.is_empty());
            }
            let taken = buf.len().min(32 * 1024);
            let mut units: Vec<u16> = Vec::with_capacity(taken / 2 + 2);
            units.extend(self.high.take());
            let mut bytes = buf[..taken].iter().copied();
            let pair = |a: u8, b: u8| {
                if self.little {
                    u16::from_le_bytes([a, b])
                } else {
                    u16::from_be_bytes([a, b])
                }
            };
            if let Some(a) = self.odd.take() {
                match bytes.next() {
                    Some(b) => units.push(pair(a, b)),
                    None => self.odd = Some(a),
                }
            }
            while let Some(a) = bytes.next() {
                match bytes.next() {
                    Some(b) => units.push(pair(a, b)),
                    None => self.odd = Some(a),
                }
            }
            self.inner.consume(taken);
            // A high surrogate at the end of the chunk waits for its low half.
            if let Some(&last) = units.last()
                && (0xD800..0xDC00).contains(&last)
            {
                self.high = units.pop();
            }
            let mut start = 0;
            if !self.started && units.first() == Some(&0xFEFF) {
                start = 1;
            }
            if !units.is_empty() {
                self.started = true;
            }
            let mut utf8 = [0u8; 4];
            for c in char::decode_utf16(units[start..].iter().copied()) {
                let c = c.unwrap_or(char::REPLACEMENT_CHARACTER);
                self.out
                    .extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            }
            if !self.out.is_empty() {
                return Ok(true);
            }
        }
    }
}

impl<R: BufRead> BufRead for Utf16Reader<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.out.len() && !self.refill()? {
            return Ok(&[]);
        }
        Ok(&self.out[self.pos..])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.out.len());
    }
}

impl<R: BufRead> Read for Utf16Reader<R> {
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

    fn encode(text: &str, little: bool) -> Vec<u8> {
        let mut out = if little {
            vec![0xFF, 0xFE]
        } else {
            vec![0xFE, 0xFF]
        };
        for u in text.encode_utf16() {
            out.extend(if little {
                u.to_le_bytes()
            } else {
                u.to_be_bytes()
            });
        }
        out
    }

    #[test]
    fn utf16_reads_as_utf8_in_any_chunking() {
        let text = "Jan  1 00:00:00 host sshd[1]: Failed password for Zoë from 10.0.0.1 🔑\n";
        for little in [true, false] {
            let bytes = encode(text, little);
            assert_eq!(utf16_bom(&bytes), Some(little));
            for capacity in [1, 2, 3, 7, 4096] {
                let inner = io::BufReader::with_capacity(capacity, &bytes[..]);
                let mut got = String::new();
                Utf16Reader::new(inner, little)
                    .read_to_string(&mut got)
                    .unwrap();
                assert_eq!(got, text, "little {little}, buffer {capacity}");
            }
        }
        // A lone surrogate and an odd last byte become U+FFFD; the rest is kept.
        let bytes = [0xFF, 0xFE, b'a', 0, 0x00, 0xD8, b'b', 0, b'c'];
        let mut got = String::new();
        Utf16Reader::new(&bytes[..], true)
            .read_to_string(&mut got)
            .unwrap();
        assert_eq!(got, "a\u{FFFD}b\u{FFFD}");
        assert_eq!(utf16_bom(b"plain"), None);
    }
}
