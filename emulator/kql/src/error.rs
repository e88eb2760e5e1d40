//! The one error type of the crate, [`QueryError`], carrying what the Log Analytics query API's
//! error body needs: the kind (`SyntaxError`, `SemanticError`, ...), an inner code (`SYN0002`,
//! `SEM0100`), a message that says what was wrong and what to do, and the position in the query.
//!
//! [`QueryError::to_service_json`] builds the service's shape:
//! `{"error":{"message":"The request had some invalid properties","code":"BadArgumentError",
//! "innererror":{"code":"SyntaxError","message":"A recognition error occurred in the query.",
//! "innererror":{"code":"SYN0002","message":"Query could not be parsed at 'x' on line [1,5]",
//! "line":1,"pos":5,"token":"x"}}}}`. The HTTP layer adds `correlationId`.

use std::fmt;

use crate::span::{Position, Span};

/// What kind of failure a query met.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The text is not valid KQL (the service's `SyntaxError`).
    Syntax,
    /// Valid KQL that does not fit the tables: unknown table or column, wrong types, bad
    /// arguments (the service's `SemanticError`).
    Semantic,
    /// Valid KQL that this engine does not implement (an operator or function outside the
    /// supported subset). Reported as a `SemanticError` whose inner code is
    /// `NotSupportedByEmulator`, never answered wrongly.
    Unsupported,
    /// The data source failed while reading a table.
    Source,
}

impl ErrorKind {
    /// The service's `innererror.code` for this kind.
    pub fn service_code(self) -> &'static str {
        match self {
            ErrorKind::Syntax => "SyntaxError",
            ErrorKind::Semantic | ErrorKind::Unsupported => "SemanticError",
            ErrorKind::Source => "InternalServerError",
        }
    }

    /// The HTTP status an API answers this kind with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::Source => 500,
            _ => 400,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::Syntax => "SyntaxError",
            ErrorKind::Semantic => "SemanticError",
            ErrorKind::Unsupported => "NotSupported",
            ErrorKind::Source => "SourceError",
        })
    }
}

/// A query that could not be answered, with everything an error response needs.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct QueryError {
    /// The failure class.
    pub kind: ErrorKind,
    /// Inner code: `SYN0002` (syntax), `SEM0100` (unresolved name), `SEM0001` (other semantic
    /// errors), `NotSupportedByEmulator`, `SourceError`.
    pub code: &'static str,
    /// What was wrong and what to do about it.
    pub message: String,
    /// The part of the query at fault, when known.
    pub span: Option<Span>,
    /// Line and column of `span.start`, filled by [`QueryError::locate`].
    pub position: Option<Position>,
    /// The query text at `span`, filled by [`QueryError::locate`].
    pub token: Option<String>,
}

impl QueryError {
    fn new(kind: ErrorKind, code: &'static str, message: String, span: Option<Span>) -> Self {
        QueryError {
            kind,
            code,
            message,
            span,
            position: None,
            token: None,
        }
    }

    /// A syntax error at `span`. `detail` says what was expected; the message starts like the
    /// service's (`Query could not be parsed at 'x' on line [l,p]`) once located.
    pub fn syntax(span: Span, detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Syntax, "SYN0002", detail.into(), Some(span))
    }

    /// A name that does not resolve (table, column, function argument).
    pub fn unresolved(span: Span, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Semantic, "SEM0100", message.into(), Some(span))
    }

    /// Any other semantic error (types, argument counts, bad regex...).
    pub fn semantic(span: Span, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Semantic, "SEM0001", message.into(), Some(span))
    }

    /// Valid KQL outside the supported subset; `what` names it (`'join' operator`).
    pub fn unsupported(span: Span, what: &str, supported: &str) -> Self {
        let message = format!(
            "{what} is not supported by the emulator's KQL engine (supported: {supported}); \
             rewrite the query without it"
        );
        Self::new(
            ErrorKind::Unsupported,
            "NotSupportedByEmulator",
            message,
            Some(span),
        )
    }

    /// The data source failed.
    pub fn source(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Source, "SourceError", message.into(), None)
    }

    /// Fills `position` and `token` from the query text and, for syntax errors, puts the
    /// service's leading phrase in front of the message. Idempotent.
    pub fn locate(mut self, text: &str) -> Self {
        if self.position.is_some() {
            return self;
        }
        if let Some(span) = self.span {
            let pos = Position::of(text, span.start);
            let token = span.text(text).to_string();
            if self.kind == ErrorKind::Syntax {
                let at = if token.is_empty() {
                    "end of query".to_string()
                } else {
                    format!("'{token}'")
                };
                self.message = format!(
                    "Query could not be parsed at {at} on line [{},{}]: {}",
                    pos.line, pos.pos, self.message
                );
            }
            self.position = Some(pos);
            self.token = Some(token);
        }
        self
    }

    /// The HTTP status to answer with.
    pub fn http_status(&self) -> u16 {
        self.kind.http_status()
    }

    /// The body of the query API's error response (without `correlationId`).
    pub fn to_service_json(&self) -> serde_json::Value {
        use serde_json::json;
        let mut inner = json!({"code": self.code, "message": self.message});
        if let (Some(pos), Some(obj)) = (self.position, inner.as_object_mut()) {
            obj.insert("line".into(), json!(pos.line));
            obj.insert("pos".into(), json!(pos.pos));
            obj.insert(
                "token".into(),
                json!(self.token.clone().unwrap_or_default()),
            );
        }
        if self.kind == ErrorKind::Source {
            return json!({"error": {
                "message": "The query could not be run because the log store failed",
                "code": "InternalServerError",
                "innererror": inner,
            }});
        }
        let middle = match self.kind {
            ErrorKind::Syntax => "A recognition error occurred in the query.",
            _ => "A semantic error occurred.",
        };
        json!({"error": {
            "message": "The request had some invalid properties",
            "code": "BadArgumentError",
            "innererror": {"code": self.kind.service_code(), "message": middle, "innererror": inner},
        }})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_carry_the_service_shape_and_position() {
        let q = "completely invalid syntax";
        let e = QueryError::syntax(Span::new(11, 18), "expected '|' after a table").locate(q);
        let body = e.to_service_json();
        assert_eq!(body["error"]["code"], "BadArgumentError");
        assert_eq!(body["error"]["innererror"]["code"], "SyntaxError");
        let inner = &body["error"]["innererror"]["innererror"];
        assert_eq!(inner["code"], "SYN0002");
        assert_eq!(inner["line"], 1);
        assert_eq!(inner["pos"], 11);
        assert_eq!(inner["token"], "invalid");
        assert!(inner["message"]
            .as_str()
            .unwrap()
            .starts_with("Query could not be parsed at 'invalid' on line [1,11]"));
        assert_eq!(e.http_status(), 400);
    }

    #[test]
    fn unsupported_is_a_semantic_error_naming_the_feature() {
        let e = QueryError::unsupported(Span::new(0, 4), "'join' operator", "where, take");
        let body = e.to_service_json();
        assert_eq!(body["error"]["innererror"]["code"], "SemanticError");
        assert_eq!(
            body["error"]["innererror"]["innererror"]["code"],
            "NotSupportedByEmulator"
        );
        assert!(e.message.contains("'join' operator"));
        assert_eq!(QueryError::source("disk").http_status(), 500);
    }
}
