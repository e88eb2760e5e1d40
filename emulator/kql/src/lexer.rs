//! The lexer: query text to [`Token`]s with byte spans.
//!
//! Identifiers include `$table` and bracketed names (`['my col']`); numbers followed directly by
//! a unit are timespan literals (`5m`, `1.5h`, `100ms`); strings are `"..."`/`'...'` with
//! backslash escapes, verbatim `@"..."`, and `h"..."` (obfuscated, shown as-is). Typed literals
//! whose argument is raw text (`datetime(2024-01-01 10:00)`, `dynamic([1,2])`, `guid(...)`,
//! `timespan(...)`, `int(5)`, ...) are one [`TokenKind::TypedLiteral`] token. `//` comments are
//! skipped. Keywords are plain identifiers: KQL's are contextual and the parser decides.

use crate::error::QueryError;
use crate::span::Span;
use crate::time::{unit_ticks, Timespan};

/// What a token is.
#[derive(Clone, Debug, PartialEq)]
pub enum TokenKind {
    /// A name (also keywords, which are contextual in KQL).
    Ident(String),
    /// A bracketed name `['x']`, never a keyword.
    QuotedIdent(String),
    /// An integer literal.
    Long(i64),
    /// A real literal.
    Real(f64),
    /// A timespan literal such as `5m`.
    Timespan(Timespan),
    /// A string literal (escapes resolved).
    String(String),
    /// `datetime(...)` and friends: the type name and the raw text between the parentheses.
    TypedLiteral(String, String),
    /// Punctuation or an operator symbol (`|`, `==`, `=~`, `..`, `(`, ...).
    Symbol(&'static str),
    /// End of the text.
    Eof,
}

/// A token and where it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    /// The token.
    pub kind: TokenKind,
    /// Its bytes in the query.
    pub span: Span,
}

const SYMBOLS: [&str; 27] = [
    "==", "!=", "<>", "<=", ">=", "=~", "!~", "..", "|", "(", ")", "[", "]", "{", "}", ",", ";",
    ":", ".", "=", "<", ">", "+", "-", "*", "/", "%",
];

/// Names whose parenthesised argument is literal text, not an expression.
const TYPED_LITERALS: [&str; 12] = [
    "datetime", "timespan", "time", "guid", "dynamic", "int", "long", "real", "double", "bool",
    "boolean", "decimal",
];

/// Splits `text` into tokens, ending with [`TokenKind::Eof`].
pub fn tokenize(text: &str) -> Result<Vec<Token>, QueryError> {
    let mut lx = Lexer {
        src: text,
        b: text.as_bytes(),
        i: 0,
        out: Vec::new(),
    };
    lx.run()?;
    Ok(lx.out)
}

struct Lexer<'a> {
    src: &'a str,
    b: &'a [u8],
    i: usize,
    out: Vec<Token>,
}

impl Lexer<'_> {
    fn run(&mut self) -> Result<(), QueryError> {
        loop {
            self.skip_space();
            let start = self.i;
            let Some(&c) = self.b.get(self.i) else {
                self.push(TokenKind::Eof, start);
                return Ok(());
            };
            match c {
                b'"' | b'\'' => {
                    let s = self.string(c, false)?;
                    self.push(TokenKind::String(s), start);
                }
                b'@' if matches!(self.b.get(self.i + 1), Some(b'"' | b'\'')) => {
                    self.i += 1;
                    let s = self.string(self.b[self.i], true)?;
                    self.push(TokenKind::String(s), start);
                }
                b'h' | b'H' if matches!(self.b.get(self.i + 1), Some(b'"' | b'\'')) => {
                    self.i += 1;
                    let s = self.string(self.b[self.i], false)?;
                    self.push(TokenKind::String(s), start);
                }
                b'[' if matches!(self.b.get(self.i + 1), Some(b'"' | b'\'')) => {
                    self.i += 1;
                    let s = self.string(self.b[self.i], false)?;
                    if self.b.get(self.i) != Some(&b']') {
                        return Err(QueryError::syntax(
                            Span::new(start, self.i),
                            "a bracketed name ['...'] must end with ']'",
                        ));
                    }
                    self.i += 1;
                    self.push(TokenKind::QuotedIdent(s), start);
                }
                b'0'..=b'9' => self.number(start)?,
                b'.' if self.b.get(self.i + 1).is_some_and(u8::is_ascii_digit) => {
                    self.number(start)?
                }
                _ if self.src[self.i..]
                    .chars()
                    .next()
                    .is_some_and(|ch| ch == '_' || ch == '$' || ch.is_alphabetic()) =>
                {
                    self.ident(start)?
                }
                _ => {
                    let rest = &self.src[self.i..];
                    match SYMBOLS.iter().find(|s| rest.starts_with(**s)) {
                        Some(s) => {
                            self.i += s.len();
                            self.push(TokenKind::Symbol(s), start);
                        }
                        None if c == b'!' => {
                            self.i += 1;
                            self.push(TokenKind::Symbol("!"), start);
                        }
                        None if c == b'~' => {
                            self.i += 1;
                            self.push(TokenKind::Symbol("~"), start);
                        }
                        None => {
                            let ch = rest.chars().next().unwrap_or('?');
                            return Err(QueryError::syntax(
                                Span::new(start, start + ch.len_utf8()),
                                format!("the character '{ch}' is not valid here"),
                            ));
                        }
                    }
                }
            }
        }
    }

    fn push(&mut self, kind: TokenKind, start: usize) {
        self.out.push(Token {
            kind,
            span: Span::new(start, self.i),
        });
    }

    fn skip_space(&mut self) {
        loop {
            while self.b.get(self.i).is_some_and(u8::is_ascii_whitespace) {
                self.i += 1;
            }
            if self.src[self.i..].starts_with("//") {
                while self.b.get(self.i).is_some_and(|c| *c != b'\n') {
                    self.i += 1;
                }
            } else {
                return;
            }
        }
    }

    fn string(&mut self, quote: u8, verbatim: bool) -> Result<String, QueryError> {
        let start = self.i;
        self.i += 1;
        let mut out = String::new();
        loop {
            let Some(ch) = self.src[self.i..].chars().next() else {
                return Err(QueryError::syntax(
                    Span::new(start, self.i),
                    "this string literal has no closing quote",
                ));
            };
            let c = ch as u32;
            if c == u32::from(quote) {
                if verbatim && self.b.get(self.i + 1) == Some(&quote) {
                    out.push(ch);
                    self.i += 2;
                    continue;
                }
                self.i += 1;
                return Ok(out);
            }
            if ch == '\n' && !verbatim {
                return Err(QueryError::syntax(
                    Span::new(start, self.i),
                    "a string literal cannot span lines; close the quote or use ```...```",
                ));
            }
            if ch == '\\' && !verbatim {
                self.i += 1;
                let Some(esc) = self.src[self.i..].chars().next() else {
                    continue;
                };
                self.i += esc.len_utf8();
                out.push(match esc {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    '0' => '\0',
                    other => other,
                });
                continue;
            }
            out.push(ch);
            self.i += ch.len_utf8();
        }
    }

    fn number(&mut self, start: usize) -> Result<(), QueryError> {
        let mut is_real = false;
        if self.src[self.i..].starts_with("0x") || self.src[self.i..].starts_with("0X") {
            self.i += 2;
            let ds = self.i;
            while self.b.get(self.i).is_some_and(u8::is_ascii_hexdigit) {
                self.i += 1;
            }
            let v = i64::from_str_radix(&self.src[ds..self.i], 16).map_err(|_| {
                QueryError::syntax(
                    Span::new(start, self.i),
                    "this hexadecimal number is invalid",
                )
            })?;
            self.push(TokenKind::Long(v), start);
            return Ok(());
        }
        while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        // A '.' followed by a digit is a fraction; '..' is the range symbol.
        if self.b.get(self.i) == Some(&b'.')
            && self.b.get(self.i + 1).is_some_and(u8::is_ascii_digit)
        {
            is_real = true;
            self.i += 1;
            while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
                self.i += 1;
            }
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            let save = self.i;
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
                is_real = true;
                while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
                    self.i += 1;
                }
            } else {
                self.i = save;
            }
        }
        let num_end = self.i;
        let digits = &self.src[start..num_end];
        if self.b.get(self.i).is_some_and(|c| c.is_ascii_alphabetic()) {
            while self
                .b
                .get(self.i)
                .is_some_and(|c| c.is_ascii_alphanumeric())
            {
                self.i += 1;
            }
            let unit = &self.src[num_end..self.i];
            let per = unit_ticks(unit).ok_or_else(|| {
                QueryError::syntax(
                    Span::new(start, self.i),
                    format!(
                        "'{unit}' is not a timespan unit; use d, h, m, s, ms, microsecond or tick \
                         (as in 5m or 1.5h)"
                    ),
                )
            })?;
            let v: f64 = digits.parse().unwrap_or(0.0);
            self.push(
                TokenKind::Timespan(Timespan((v * per as f64).round() as i64)),
                start,
            );
            return Ok(());
        }
        let bad = || QueryError::syntax(Span::new(start, num_end), "this number is out of range");
        let kind = if is_real {
            TokenKind::Real(digits.parse().map_err(|_| bad())?)
        } else {
            TokenKind::Long(digits.parse().map_err(|_| bad())?)
        };
        self.push(kind, start);
        Ok(())
    }

    fn ident(&mut self, start: usize) -> Result<(), QueryError> {
        while let Some(ch) = self.src[self.i..].chars().next() {
            if ch == '_' || ch == '$' || ch.is_alphanumeric() {
                self.i += ch.len_utf8();
            } else {
                break;
            }
        }
        let name = self.src[start..self.i].to_string();
        if TYPED_LITERALS.contains(&name.as_str()) && self.b.get(self.i) == Some(&b'(') {
            let open = self.i;
            let mut depth = 0usize;
            while let Some(&c) = self.b.get(self.i) {
                match c {
                    b'(' | b'[' | b'{' => depth += 1,
                    b')' | b']' | b'}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    b'"' | b'\'' => {
                        self.string(c, false)?;
                        continue;
                    }
                    _ => {}
                }
                self.i += 1;
            }
            if self.b.get(self.i) != Some(&b')') {
                return Err(QueryError::syntax(
                    Span::new(start, self.i),
                    format!("{name}(...) has no closing parenthesis"),
                ));
            }
            let raw = self.src[open + 1..self.i].trim().to_string();
            self.i += 1;
            self.push(TokenKind::TypedLiteral(name, raw), start);
            return Ok(());
        }
        self.push(TokenKind::Ident(name), start);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(q: &str) -> Vec<TokenKind> {
        tokenize(q).unwrap().into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn tokens_of_a_typical_query() {
        use TokenKind::*;
        assert_eq!(
            kinds("T | where TimeGenerated > ago(1h) // recent\n| take 10"),
            vec![
                Ident("T".into()),
                Symbol("|"),
                Ident("where".into()),
                Ident("TimeGenerated".into()),
                Symbol(">"),
                Ident("ago".into()),
                Symbol("("),
                Timespan(crate::time::Timespan(36_000_000_000)),
                Symbol(")"),
                Symbol("|"),
                Ident("take".into()),
                Long(10),
                Eof
            ]
        );
    }

    #[test]
    fn literals_strings_and_symbols() {
        use TokenKind::*;
        assert_eq!(
            kinds(r#"'a\'b' @"c:\d" 1.5 1e3 0x10 x =~ ['my col'] datetime(2024-01-01 10:00) .."#),
            vec![
                String("a'b".into()),
                String(r"c:\d".into()),
                Real(1.5),
                Real(1000.0),
                Long(16),
                Ident("x".into()),
                Symbol("=~"),
                QuotedIdent("my col".into()),
                TypedLiteral("datetime".into(), "2024-01-01 10:00".into()),
                Symbol(".."),
                Eof
            ]
        );
        assert_eq!(kinds("1..2")[..3], [Long(1), Symbol(".."), Long(2)]);
    }

    #[test]
    fn errors_point_at_the_bad_text() {
        let e = tokenize("T | where x == \"open").unwrap_err();
        assert_eq!(e.span, Some(Span::new(15, 20)));
        let e = tokenize("T | where ago(3parsecs)").unwrap_err();
        assert!(e.message.contains("'parsecs' is not a timespan unit"));
        let e = tokenize("T # x").unwrap_err();
        assert_eq!(e.span, Some(Span::new(2, 3)));
        let e = tokenize("T € x").unwrap_err();
        assert_eq!(e.span, Some(Span::new(2, 5)));
        assert_eq!(kinds("été")[0], TokenKind::Ident("été".into()));
    }
}
