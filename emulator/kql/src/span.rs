//! Source positions: a [`Span`] is a byte range of the query text; [`Position`] is the
//! line/column form the query API reports (`line` counts from 1, `pos` is the 0-based character
//! column within that line, as the service's `SYN0002` errors give them).

/// A byte range `[start, end)` of the query text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`.
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    /// The text the span covers (empty when it does not fit the text).
    pub fn text(self, source: &str) -> &str {
        source.get(self.start..self.end).unwrap_or("")
    }
}

/// Where in the query text an error is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    /// Line, counting from 1.
    pub line: usize,
    /// Character column within the line, counting from 0.
    pub pos: usize,
}

impl Position {
    /// The position of byte `offset` in `source` (clamped to the text).
    pub fn of(source: &str, offset: usize) -> Position {
        let mut offset = offset.min(source.len());
        while !source.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &source[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Position {
            line: before.matches('\n').count() + 1,
            pos: before[line_start..].chars().count(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_from_one_and_columns_from_zero() {
        let q = "completely invalid syntax";
        assert_eq!(Position::of(q, 11), Position { line: 1, pos: 11 });
        let q = "T\n| where x\n| bad";
        assert_eq!(Position::of(q, 14), Position { line: 3, pos: 2 });
        assert_eq!(Position::of("é|", 2).pos, 1);
        assert_eq!(Position::of("ab", 99).pos, 2);
    }
}
