//! The parser: tokens to a [`Query`]. Recursive descent; statements and tabular operators here,
//! scalar expressions in [`expr`].
//!
//! Errors are `SyntaxError`s pointing at the offending token, except for KQL operators this
//! engine does not implement (`join`, `mv-expand`, ...), which fail as `NotSupportedByEmulator`
//! naming the operator.

mod expr;

use crate::ast::*;
use crate::error::QueryError;
use crate::lexer::{tokenize, Token, TokenKind};
use crate::span::Span;

/// The tabular operators the engine implements (for error messages).
pub const SUPPORTED_OPERATORS: &str = "where, project, project-away, project-keep, \
project-rename, project-reorder, extend, order by, sort by, take, limit, top, summarize, \
distinct, count, union, search, render (ignored)";

/// KQL operators that exist but are outside the supported subset.
const KNOWN_UNSUPPORTED: [&str; 24] = [
    "join",
    "lookup",
    "mv-expand",
    "mv-apply",
    "parse",
    "parse-where",
    "parse-kv",
    "make-series",
    "evaluate",
    "facet",
    "fork",
    "as",
    "getschema",
    "sample",
    "sample-distinct",
    "serialize",
    "partition",
    "reduce",
    "invoke",
    "scan",
    "consume",
    "top-nested",
    "top-hitters",
    "find",
];

/// Tabular sources that exist in KQL but not here.
const UNSUPPORTED_SOURCES: [&str; 7] = [
    "find",
    "datatable",
    "range",
    "externaldata",
    "materialize",
    "evaluate",
    "view",
];

/// Parses a whole query.
pub fn parse(text: &str) -> Result<Query, QueryError> {
    let tokens = tokenize(text)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        in_search: false,
        depth: 0,
    };
    p.query()
}

pub(crate) struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    in_search: bool,
    /// Current expression nesting, bounded by [`MAX_DEPTH`] so no query can exhaust the stack.
    depth: usize,
}

/// The most operators one tabular expression may pipe.
pub(crate) const MAX_OPERATORS: usize = 512;

/// The deepest nesting accepted: parentheses, unary signs, sub-queries, and the operands of one
/// arithmetic or member-access chain (`and`/`or` chains of any length are balanced instead).
pub(crate) const MAX_DEPTH: usize = 48;

impl Parser {
    fn query(&mut self) -> Result<Query, QueryError> {
        let mut lets = Vec::new();
        loop {
            while self.eat_symbol(";") {}
            if self.at_ident("let") {
                lets.push(self.let_statement()?);
                if !self.eat_symbol(";") {
                    return Err(self.error_here("expected ';' after the let statement"));
                }
                continue;
            }
            break;
        }
        if self.at_eof() {
            return Err(self.error_here("the query is empty; it needs a table name or an operator"));
        }
        let body = self.tabular()?;
        while self.eat_symbol(";") {}
        if !self.at_eof() {
            if matches!(self.peek().kind, TokenKind::Ident(_)) {
                return Err(
                    self.error_here("expected '|' before this operator, or ';' between statements")
                );
            }
            return Err(self.error_here("expected '|' or the end of the query"));
        }
        Ok(Query { lets, body })
    }

    fn let_statement(&mut self) -> Result<Let, QueryError> {
        self.bump(); // let
        let name = self.name("a name after 'let'")?;
        if !self.eat_symbol("=") {
            return Err(self.error_here("expected '=' after the let name"));
        }
        let tabular_start = self.at_ident("union")
            || self.at_ident("search")
            || self.at_ident("print")
            || (matches!(self.peek().kind, TokenKind::Ident(_))
                && matches!(self.peek_at(1).kind, TokenKind::Symbol("|")));
        let value = if tabular_start {
            LetValue::Tabular(self.tabular()?)
        } else {
            LetValue::Scalar(self.expr()?)
        };
        Ok(Let { name, value })
    }

    pub(crate) fn tabular(&mut self) -> Result<TabularExpr, QueryError> {
        self.enter()?;
        let t = self.tabular_inner();
        self.depth -= 1;
        t
    }

    /// Counts one level of nesting; too deep is a syntax error at the current token.
    pub(crate) fn enter(&mut self) -> Result<(), QueryError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error_here(&format!(
                "the query nests expressions or sub-queries more than {MAX_DEPTH} levels deep"
            )));
        }
        self.depth += 1;
        Ok(())
    }

    fn tabular_inner(&mut self) -> Result<TabularExpr, QueryError> {
        let source = self.source()?;
        let mut ops = Vec::new();
        while self.eat_symbol("|") {
            if ops.len() >= MAX_OPERATORS {
                return Err(self.error_here(&format!(
                    "a tabular expression may pipe at most {MAX_OPERATORS} operators"
                )));
            }
            ops.push(self.operator()?);
        }
        Ok(TabularExpr { source, ops })
    }

    fn source(&mut self) -> Result<Source, QueryError> {
        let tok = self.peek().clone();
        match &tok.kind {
            TokenKind::Ident(w) if w == "union" => {
                self.bump();
                Ok(Source::Union(self.union_args(tok.span)?))
            }
            TokenKind::Ident(w) if w == "search" => {
                self.bump();
                Ok(Source::Search(self.search_args(tok.span)?))
            }
            TokenKind::Ident(w) if w == "print" => {
                self.bump();
                let items = self.named_list()?;
                Ok(Source::Print(items, tok.span))
            }
            TokenKind::Ident(w) if UNSUPPORTED_SOURCES.contains(&w.as_str()) => {
                Err(QueryError::unsupported(
                    tok.span,
                    &format!("the '{w}' operator"),
                    "a table name, union, search, print",
                ))
            }
            TokenKind::Ident(_) | TokenKind::QuotedIdent(_) => {
                let name = self.name("a table name")?;
                Ok(Source::Table(name))
            }
            TokenKind::Symbol("|") => Err(self.error_here("expected a table name before '|'")),
            _ => Err(self.error_here("expected a table name")),
        }
    }

    fn union_args(&mut self, span: Span) -> Result<Union, QueryError> {
        let mut with_source = None;
        while let Some(opt) = self.peek_ident() {
            if !matches!(self.peek_at(1).kind, TokenKind::Symbol("=")) {
                break;
            }
            let opt_span = self.peek().span;
            match opt.as_str() {
                "withsource" => {
                    self.bump();
                    self.bump();
                    with_source = Some(self.name("a column name after withsource=")?);
                }
                "kind" | "isfuzzy" => {
                    self.bump();
                    self.bump();
                    let value = self.peek().clone();
                    let accepted = match (opt.as_str(), &value.kind) {
                        ("kind", TokenKind::Ident(v)) => v == "outer",
                        ("isfuzzy", TokenKind::Ident(v)) => v == "true" || v == "false",
                        _ => false,
                    };
                    if !accepted {
                        let shown = match &value.kind {
                            TokenKind::Ident(v) => v.clone(),
                            _ => "...".to_string(),
                        };
                        return Err(QueryError::unsupported(
                            opt_span.to(value.span),
                            &format!("the union parameter '{opt}={shown}'"),
                            "kind=outer, isfuzzy=true|false, withsource=Name",
                        ));
                    }
                    self.bump();
                }
                other => {
                    return Err(QueryError::unsupported(
                        opt_span,
                        &format!("the union parameter '{other}'"),
                        "withsource=, kind=, isfuzzy=",
                    ))
                }
            }
        }
        let mut legs = Vec::new();
        loop {
            if self.eat_symbol("(") {
                legs.push(self.tabular()?);
                if !self.eat_symbol(")") {
                    return Err(self.error_here("expected ')' to close the union operand"));
                }
            } else {
                let name = self.name("a table name or (sub-query) as a union operand")?;
                legs.push(TabularExpr {
                    source: Source::Table(name),
                    ops: Vec::new(),
                });
            }
            if !self.eat_symbol(",") {
                break;
            }
        }
        Ok(Union {
            legs,
            with_source,
            span,
        })
    }

    fn search_args(&mut self, span: Span) -> Result<Search, QueryError> {
        if self.peek_ident().as_deref() == Some("kind") {
            let s = self.peek().span;
            return Err(QueryError::unsupported(
                s,
                "search kind=",
                "search [in (T1, T2)] \"term\"",
            ));
        }
        let mut tables = None;
        if self.at_ident("in") && matches!(self.peek_at(1).kind, TokenKind::Symbol("(")) {
            self.bump();
            self.bump();
            let mut names = vec![self.name("a table name")?];
            while self.eat_symbol(",") {
                names.push(self.name("a table name")?);
            }
            if !self.eat_symbol(")") {
                return Err(self.error_here("expected ')' after the search tables"));
            }
            tables = Some(names);
        }
        self.in_search = true;
        let predicate = self.expr();
        self.in_search = false;
        Ok(Search {
            tables,
            predicate: predicate?,
            span,
        })
    }

    fn operator(&mut self) -> Result<Operator, QueryError> {
        let tok = self.peek().clone();
        let TokenKind::Ident(word) = &tok.kind else {
            return Err(self.error_here("expected an operator name after '|'"));
        };
        let mut word = word.clone();
        let mut span = tok.span;
        self.bump();
        // project-away, mv-expand, ...: a hyphenated keyword written without spaces.
        while matches!(self.peek().kind, TokenKind::Symbol("-"))
            && self.peek().span.start == span.end
        {
            let next = self.peek_at(1).clone();
            match next.kind {
                TokenKind::Ident(rest) if next.span.start == span.end + 1 => {
                    word = format!("{word}-{rest}");
                    span = span.to(next.span);
                    self.bump();
                    self.bump();
                }
                _ => break,
            }
        }
        let kind = match word.as_str() {
            "where" | "filter" => OperatorKind::Where(self.expr()?),
            "project" => OperatorKind::Project(self.named_list()?),
            "project-away" => OperatorKind::ProjectAway(self.name_patterns()?),
            "project-keep" => OperatorKind::ProjectKeep(self.name_patterns()?),
            "project-reorder" => OperatorKind::ProjectReorder(self.name_patterns()?),
            "project-rename" => {
                let mut pairs = Vec::new();
                loop {
                    let new = self.name("a new column name")?;
                    if !self.eat_symbol("=") {
                        return Err(self.error_here("expected '=' in project-rename new = old"));
                    }
                    let old = self.name("the column to rename")?;
                    pairs.push((new, old));
                    if !self.eat_symbol(",") {
                        break;
                    }
                }
                OperatorKind::ProjectRename(pairs)
            }
            "extend" => OperatorKind::Extend(self.named_list()?),
            "order" | "sort" => {
                if !self.at_ident("by") {
                    return Err(self.error_here(&format!("expected 'by' after '{word}'")));
                }
                self.bump();
                let mut keys = vec![self.sort_key()?];
                while self.eat_symbol(",") {
                    keys.push(self.sort_key()?);
                }
                OperatorKind::Sort(keys)
            }
            "take" | "limit" => OperatorKind::Take(self.expr()?),
            "top" => {
                let count = self.expr()?;
                if !self.at_ident("by") {
                    return Err(self.error_here("expected 'by' after the number of rows in 'top'"));
                }
                self.bump();
                let key = self.sort_key()?;
                if matches!(self.peek().kind, TokenKind::Symbol(",")) {
                    return Err(
                        self.error_here("'top' sorts by one expression; use order by + take")
                    );
                }
                OperatorKind::Top(count, key)
            }
            "summarize" => {
                let aggs = if self.at_ident("by") {
                    Vec::new()
                } else {
                    self.named_list()?
                };
                let by = if self.at_ident("by") {
                    self.bump();
                    self.named_list()?
                } else {
                    Vec::new()
                };
                OperatorKind::Summarize { aggs, by }
            }
            "distinct" => {
                if self.eat_symbol("*") {
                    OperatorKind::Distinct(None)
                } else {
                    OperatorKind::Distinct(Some(self.named_list()?))
                }
            }
            "count" => OperatorKind::Count,
            "union" => OperatorKind::Union(self.union_args(span)?),
            "search" => OperatorKind::Search(self.search_args(span)?),
            "render" => {
                while !self.at_eof()
                    && !matches!(
                        self.peek().kind,
                        TokenKind::Symbol("|") | TokenKind::Symbol(";")
                    )
                {
                    self.bump();
                }
                OperatorKind::Render
            }
            w if KNOWN_UNSUPPORTED.contains(&w) => {
                return Err(QueryError::unsupported(
                    span,
                    &format!("the '{w}' operator"),
                    SUPPORTED_OPERATORS,
                ))
            }
            w => {
                return Err(QueryError::syntax(
                    span,
                    format!(
                        "'{w}' is not a KQL tabular operator (known here: {SUPPORTED_OPERATORS})"
                    ),
                ))
            }
        };
        Ok(Operator { kind, span })
    }

    fn sort_key(&mut self) -> Result<SortKey, QueryError> {
        let expr = self.expr()?;
        let mut descending = true;
        if self.at_ident("asc") {
            self.bump();
            descending = false;
        } else if self.at_ident("desc") {
            self.bump();
        }
        let mut nulls_first = None;
        if self.at_ident("nulls") {
            self.bump();
            if self.at_ident("first") {
                nulls_first = Some(true);
            } else if self.at_ident("last") {
                nulls_first = Some(false);
            } else {
                return Err(self.error_here("expected 'first' or 'last' after 'nulls'"));
            }
            self.bump();
        }
        Ok(SortKey {
            expr,
            descending,
            nulls_first,
        })
    }

    /// `[name =] expr, ...`
    fn named_list(&mut self) -> Result<Vec<NamedExpr>, QueryError> {
        let mut items = vec![self.named_expr()?];
        while self.eat_symbol(",") {
            items.push(self.named_expr()?);
        }
        Ok(items)
    }

    fn named_expr(&mut self) -> Result<NamedExpr, QueryError> {
        if matches!(self.peek().kind, TokenKind::Symbol("(")) {
            // (a, b) = arg_max(...): naming several outputs at once.
            let mut depth = 0;
            let mut i = self.pos;
            while let Some(t) = self.tokens.get(i) {
                match t.kind {
                    TokenKind::Symbol("(") => depth += 1,
                    TokenKind::Symbol(")") => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            if matches!(
                self.tokens.get(i + 1).map(|t| &t.kind),
                Some(TokenKind::Symbol("="))
            ) && matches!(self.peek_at(2).kind, TokenKind::Symbol(","))
            {
                let span = self.peek().span;
                return Err(QueryError::unsupported(
                    span,
                    "naming several columns at once ((a, b) = ...)",
                    "one name per expression (name = expr)",
                ));
            }
        }
        let is_named = matches!(
            self.peek().kind,
            TokenKind::Ident(_) | TokenKind::QuotedIdent(_)
        ) && matches!(self.peek_at(1).kind, TokenKind::Symbol("="));
        let name = if is_named {
            let n = self.name("a column name")?;
            self.bump(); // =
            Some(n)
        } else {
            None
        };
        Ok(NamedExpr {
            name,
            expr: self.expr()?,
        })
    }

    /// Column names, possibly with `*` wildcards (`Col*`), for project-away and friends.
    fn name_patterns(&mut self) -> Result<Vec<Name>, QueryError> {
        let mut names = Vec::new();
        loop {
            let mut text = String::new();
            let start = self.peek().span;
            let mut end = start;
            loop {
                let t = self.peek().clone();
                let adjacent = text.is_empty() || t.span.start == end.end;
                match &t.kind {
                    TokenKind::Ident(s) | TokenKind::QuotedIdent(s) if adjacent => {
                        text.push_str(s);
                    }
                    TokenKind::Symbol("*") if adjacent => text.push('*'),
                    _ => break,
                }
                end = t.span;
                self.bump();
            }
            if text.is_empty() {
                return Err(self.error_here("expected a column name"));
            }
            names.push(Name {
                text,
                span: start.to(end),
            });
            if !self.eat_symbol(",") {
                break;
            }
        }
        Ok(names)
    }

    // ---- token helpers ----

    fn peek(&self) -> &Token {
        self.peek_at(0)
    }

    fn peek_at(&self, n: usize) -> &Token {
        let last = self.tokens.len() - 1;
        &self.tokens[(self.pos + n).min(last)]
    }

    fn bump(&mut self) {
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
    }

    fn at_eof(&self) -> bool {
        matches!(self.peek().kind, TokenKind::Eof)
    }

    fn at_ident(&self, word: &str) -> bool {
        matches!(&self.peek().kind, TokenKind::Ident(w) if w == word)
    }

    fn peek_ident(&self) -> Option<String> {
        match &self.peek().kind {
            TokenKind::Ident(w) => Some(w.clone()),
            _ => None,
        }
    }

    fn eat_symbol(&mut self, s: &str) -> bool {
        if matches!(self.peek().kind, TokenKind::Symbol(x) if x == s) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn name(&mut self, what: &str) -> Result<Name, QueryError> {
        let t = self.peek().clone();
        match t.kind {
            TokenKind::Ident(text) | TokenKind::QuotedIdent(text) => {
                self.bump();
                Ok(Name { text, span: t.span })
            }
            _ => Err(self.error_here(&format!("expected {what}"))),
        }
    }

    fn error_here(&self, detail: &str) -> QueryError {
        QueryError::syntax(self.peek().span, detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn ops(q: &str) -> Vec<OperatorKind> {
        parse(q)
            .unwrap()
            .body
            .ops
            .into_iter()
            .map(|o| o.kind)
            .collect()
    }

    #[test]
    fn parses_the_documented_example_queries() {
        for q in [
            "AppEnvSessionConsoleLogs\n| where TimeGenerated > ago(1h)\n| order by TimeGenerated desc\n| take 100",
            "AppEnvSessionLifecycleLogs\n| where TimeGenerated > ago(1h)\n| order by TimeGenerated desc",
            "AppEnvSessionPoolEvents\n| where TimeGenerated > ago(1h)\n| order by TimeGenerated desc",
            "search * | where TimeGenerated > ago(1h) | summarize Records=count() by $table",
            "T | where Stream == \"stderr\" | order by TimeGenerated desc | top 100 by TimeGenerated",
        ] {
            parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
        }
    }

    #[test]
    fn hyphenated_operators_and_lists() {
        let o = ops("T | project-away A, B* | project-rename X = Y | sort by a asc nulls last, b");
        assert!(matches!(&o[0], OperatorKind::ProjectAway(n) if n[1].text == "B*"));
        assert!(matches!(&o[1], OperatorKind::ProjectRename(p) if p[0].0.text == "X"));
        let OperatorKind::Sort(keys) = &o[2] else {
            panic!()
        };
        assert!(!keys[0].descending && keys[0].nulls_first == Some(false) && keys[1].descending);
    }

    #[test]
    fn lets_and_unions() {
        let q = parse("let since = 1h; let t = T | where x > 1; union t, (U | take 1)").unwrap();
        assert_eq!(q.lets.len(), 2);
        assert!(matches!(q.lets[1].value, LetValue::Tabular(_)));
        let Source::Union(u) = q.body.source else {
            panic!()
        };
        assert_eq!(u.legs.len(), 2);
    }

    #[test]
    fn syntax_errors_point_at_the_token() {
        let e = parse("T | where a == 1 |").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Syntax);
        assert_eq!(e.span.unwrap().start, 18);
        let e = parse("T | order TimeGenerated").unwrap_err();
        assert!(e.message.contains("expected 'by'"));
        let e = parse("T take 5").unwrap_err();
        assert_eq!(e.span.unwrap().start, 2);
        let deep = format!("T | where {}1{}", "(".repeat(500), ")".repeat(500));
        assert!(parse(&deep)
            .unwrap_err()
            .message
            .contains("more than 48 levels"));
        let long = format!("T | where {}", vec!["x == 1"; 300].join(" or "));
        assert!(parse(&long).is_ok());
        assert!(parse(&format!("T | where x == {}", vec!["1"; 100].join(" + "))).is_err());
        let deep = format!("T | where x == {}1", "-".repeat(100_000));
        assert!(parse(&deep).is_err());
        assert!(parse(&format!("T{}", " | take 1".repeat(600))).is_err());
        let e = parse("T | frobnicate").unwrap_err();
        assert!(e
            .message
            .contains("'frobnicate' is not a KQL tabular operator"));
        assert_eq!(parse("").unwrap_err().kind, ErrorKind::Syntax);
    }

    #[test]
    fn known_operators_outside_the_subset_are_named() {
        let e = parse("T | join (U) on x").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unsupported);
        assert!(e.message.contains("'join' operator"));
        let e = parse("union kind=inner T, U").unwrap_err();
        assert!(
            e.message.contains("union parameter 'kind="),
            "{}",
            e.message
        );
        assert!(parse("union kind=outer isfuzzy=true T, U").is_ok());
        let e = parse("T | mv-expand x").unwrap_err();
        assert!(e.message.contains("'mv-expand' operator"), "{}", e.message);
    }
}
