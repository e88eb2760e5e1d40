//! String tests shared by the engine and by data sources: `has` (whole terms), `hasprefix`,
//! `hassuffix`, `contains`, `startswith`, `endswith`, case-insensitive unless `_cs`.
//!
//! A term is a run of alphanumeric characters, as in Kusto: `"error"` has `"Error: disk"` but
//! not `"errors"`. Case-insensitive searches for ASCII needles use a prebuilt Aho-Corasick
//! automaton (SIMD-accelerated), so `search "text"` over a million rows stays fast.

use aho_corasick::{AhoCorasick, Input};

use crate::ast::StrOpKind;

/// A compiled string test for one constant needle.
#[derive(Debug)]
pub struct TextMatcher {
    kind: StrOpKind,
    case_sensitive: bool,
    needle: String,
    word_needle: bool,
    finder: Option<AhoCorasick>,
}

impl TextMatcher {
    /// A matcher for `hay <kind> needle`. `MatchesRegex` is not a text test (use `regex`);
    /// here it behaves like `contains`.
    pub fn new(kind: StrOpKind, case_sensitive: bool, needle: &str) -> TextMatcher {
        let ci = !case_sensitive;
        let needle = if ci && !needle.is_ascii() {
            needle.to_lowercase()
        } else {
            needle.to_string()
        };
        let finder = (!needle.is_empty() && (case_sensitive || needle.is_ascii()))
            .then(|| {
                AhoCorasick::builder()
                    .ascii_case_insensitive(ci)
                    .build([needle.as_str()])
                    .ok()
            })
            .flatten();
        let word_needle = needle.chars().all(char::is_alphanumeric);
        TextMatcher {
            kind,
            case_sensitive,
            needle,
            word_needle,
            finder,
        }
    }

    /// The needle (lower-cased when it is non-ASCII and the test is case-insensitive).
    pub fn needle(&self) -> &str {
        &self.needle
    }

    /// The test.
    pub fn kind(&self) -> StrOpKind {
        self.kind
    }

    /// `_cs`: case-sensitive.
    pub fn case_sensitive(&self) -> bool {
        self.case_sensitive
    }

    /// True when `hay` passes the test.
    pub fn matches(&self, hay: &str) -> bool {
        if !self.case_sensitive && !self.needle.is_ascii() {
            return self.matches_slow(&hay.to_lowercase());
        }
        let n = self.needle.len();
        match self.kind {
            StrOpKind::StartsWith => {
                hay.len() >= n && self.eq_bytes(&hay.as_bytes()[..n], self.needle.as_bytes())
            }
            StrOpKind::EndsWith => {
                hay.len() >= n
                    && self.eq_bytes(&hay.as_bytes()[hay.len() - n..], self.needle.as_bytes())
            }
            _ if n == 0 => true,
            StrOpKind::Contains | StrOpKind::MatchesRegex => {
                self.finder.as_ref().is_some_and(|f| f.is_match(hay))
            }
            StrOpKind::Has | StrOpKind::HasPrefix | StrOpKind::HasSuffix => {
                let Some(f) = &self.finder else { return false };
                let mut from = 0;
                while let Some(m) = f.find(Input::new(hay).range(from..)) {
                    if self.term_bounds_ok(hay, m.start(), m.end()) {
                        return true;
                    }
                    // An all-alphanumeric needle cannot start a valid match inside a failed one
                    // (its start would follow a letter); others retry one character on.
                    from = if self.word_needle {
                        m.end()
                    } else {
                        m.start() + hay[m.start()..].chars().next().map_or(1, char::len_utf8)
                    };
                    if from >= hay.len() {
                        return false;
                    }
                }
                false
            }
        }
    }

    fn matches_slow(&self, hay_lower: &str) -> bool {
        let needle = self.needle.as_str();
        match self.kind {
            StrOpKind::StartsWith => hay_lower.starts_with(needle),
            StrOpKind::EndsWith => hay_lower.ends_with(needle),
            StrOpKind::Contains | StrOpKind::MatchesRegex => hay_lower.contains(needle),
            _ => hay_lower
                .match_indices(needle)
                .any(|(i, m)| self.term_bounds_ok(hay_lower, i, i + m.len())),
        }
    }

    fn eq_bytes(&self, a: &[u8], b: &[u8]) -> bool {
        if self.case_sensitive {
            a == b
        } else {
            a.eq_ignore_ascii_case(b)
        }
    }

    /// Does the match `[start, end)` sit on term boundaries as the operator requires?
    fn term_bounds_ok(&self, hay: &str, start: usize, end: usize) -> bool {
        let word = |c: char| c.is_alphanumeric();
        let first_is_word = self.needle.chars().next().is_some_and(word);
        let last_is_word = self.needle.chars().next_back().is_some_and(word);
        let start_ok = !first_is_word
            || hay
                .get(..start)
                .and_then(|s| s.chars().next_back())
                .is_none_or(|c| !word(c));
        let end_ok = !last_is_word
            || hay
                .get(end..)
                .and_then(|s| s.chars().next())
                .is_none_or(|c| !word(c));
        match self.kind {
            StrOpKind::Has => start_ok && end_ok,
            StrOpKind::HasPrefix => start_ok,
            StrOpKind::HasSuffix => end_ok,
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use StrOpKind::*;

    fn m(kind: StrOpKind, cs: bool, needle: &str, hay: &str) -> bool {
        TextMatcher::new(kind, cs, needle).matches(hay)
    }

    #[test]
    fn has_matches_whole_terms_case_insensitively() {
        assert!(m(Has, false, "error", "Error: disk full"));
        assert!(m(Has, false, "disk full", "ERROR: Disk Full!"));
        assert!(!m(Has, false, "error", "errors happened"));
        assert!(!m(Has, false, "rror", "error"));
        assert!(m(Has, false, "error", "errors, then error"));
        assert!(!m(Has, true, "error", "Error"));
        assert!(m(HasPrefix, false, "err", "an error"));
        assert!(!m(HasPrefix, false, "rror", "an error"));
        assert!(m(HasSuffix, false, "rror", "an error!"));
        assert!(m(Has, false, "Ünïcode", "say ünïcode now"));
        assert!(m(Has, false, "", "anything"));
        assert!(m(Has, false, "a.a", "xa.a.a"));
        assert!(m(Has, false, "aa", "aaa aa"));
        assert!(!m(Has, false, "aa", "aaa"));
    }

    #[test]
    fn substring_and_affix_tests() {
        assert!(m(Contains, false, "RRO", "error"));
        assert!(!m(Contains, true, "RRO", "error"));
        assert!(m(StartsWith, false, "ERR", "error"));
        assert!(!m(StartsWith, false, "error!", "error"));
        assert!(m(EndsWith, false, "OR", "error"));
        assert!(m(EndsWith, true, "", "x"));
        assert!(m(Contains, false, "é", "CAFÉ"));
    }
}
