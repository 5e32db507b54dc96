//! Byte offset → 1-based line and column.

/// A 1-based line and column; the column counts characters, not bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineCol {
    /// 1-based line number.
    pub line: u32,
    /// 1-based column, in characters.
    pub col: u32,
}

/// The start offsets of every line of a text, for offset → line:column lookups.
#[derive(Clone, Debug)]
pub struct LineIndex {
    line_starts: Vec<u32>,
}

impl LineIndex {
    /// Index the lines of `source` (`\n` ends a line; a `\r` before it belongs to the line).
    #[must_use]
    pub fn new(source: &str) -> Self {
        let mut line_starts = vec![0];
        for (i, b) in source.bytes().enumerate() {
            if b == b'\n' {
                line_starts.push(u32::try_from(i + 1).unwrap_or(u32::MAX));
            }
        }
        Self { line_starts }
    }

    /// 0-based index of the line containing `offset`.
    #[must_use]
    pub fn line_of(&self, offset: u32) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        }
    }

    /// Byte range of the 0-based line `line`, without its line terminator.
    #[must_use]
    pub fn line_range(&self, line: usize, source: &str) -> (usize, usize) {
        let start = self.line_starts[line] as usize;
        let mut end = self
            .line_starts
            .get(line + 1)
            .map_or(source.len(), |&s| s as usize - 1);
        let bytes = source.as_bytes();
        if end > start && bytes.get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
        (start, end)
    }

    /// 1-based line and character column of byte `offset` (clamped to the text).
    #[must_use]
    pub fn line_col(&self, offset: u32, source: &str) -> LineCol {
        let offset = (offset as usize).min(source.len());
        let line = self.line_of(u32::try_from(offset).unwrap_or(u32::MAX));
        let start = self.line_starts[line] as usize;
        let col = source
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        LineCol {
            line: u32::try_from(line + 1).unwrap_or(u32::MAX),
            col: u32::try_from(col + 1).unwrap_or(u32::MAX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_char_columns() {
        let src = "ab\né x\r\nz";
        let idx = LineIndex::new(src);
        assert_eq!(idx.line_col(0, src), LineCol { line: 1, col: 1 });
        assert_eq!(idx.line_col(2, src), LineCol { line: 1, col: 3 });
        assert_eq!(idx.line_col(3, src), LineCol { line: 2, col: 1 });
        // `é` is two bytes but one column.
        assert_eq!(idx.line_col(6, src), LineCol { line: 2, col: 3 });
        assert_eq!(idx.line_col(9, src), LineCol { line: 3, col: 1 });
        assert_eq!(idx.line_range(1, src), (3, 7));
        assert_eq!(idx.line_col(100, src), LineCol { line: 3, col: 2 });
    }
}
