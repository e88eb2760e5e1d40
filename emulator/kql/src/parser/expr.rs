//! Scalar expressions, by precedence: `or` < `and` < comparisons and string operators
//! (`==`, `=~`, `has`, `in`, `between`, ...) < `+ -` < `* / %` < unary `-` < member access.
//! Also the typed literals (`datetime(...)`, `dynamic(...)`, ...).

use super::Parser;
use crate::ast::*;
use crate::error::QueryError;
use crate::lexer::TokenKind;
use crate::span::Span;
use crate::time::{DateTime, Timespan};

/// Binary string operators KQL has but this engine does not.
const UNSUPPORTED_BINARY: [&str; 8] = [
    "has_any",
    "has_all",
    "has_any_cs",
    "has_all_cs",
    "notcontains",
    "notcontains_cs",
    "notbetween",
    "contains_any",
];

impl Parser {
    pub(crate) fn expr(&mut self) -> Result<Expr, QueryError> {
        self.enter()?;
        let e = self.or_expr();
        self.depth -= 1;
        e
    }

    fn or_expr(&mut self) -> Result<Expr, QueryError> {
        let mut terms = vec![self.and_expr()?];
        while self.at_ident("or") {
            self.bump();
            terms.push(self.and_expr()?);
        }
        Ok(balanced(BinaryOp::Or, terms))
    }

    fn and_expr(&mut self) -> Result<Expr, QueryError> {
        let mut terms = vec![self.cmp_expr()?];
        while self.at_ident("and") {
            self.bump();
            terms.push(self.cmp_expr()?);
        }
        Ok(balanced(BinaryOp::And, terms))
    }

    fn cmp_expr(&mut self) -> Result<Expr, QueryError> {
        let lhs = self.add_expr()?;
        let tok = self.peek().clone();
        let symbol_op = match tok.kind {
            TokenKind::Symbol("==") => Some(BinaryOp::Eq),
            TokenKind::Symbol("!=") | TokenKind::Symbol("<>") => Some(BinaryOp::NotEq),
            TokenKind::Symbol("=~") => Some(BinaryOp::EqCi),
            TokenKind::Symbol("!~") => Some(BinaryOp::NotEqCi),
            TokenKind::Symbol("<") => Some(BinaryOp::Lt),
            TokenKind::Symbol("<=") => Some(BinaryOp::Le),
            TokenKind::Symbol(">") => Some(BinaryOp::Gt),
            TokenKind::Symbol(">=") => Some(BinaryOp::Ge),
            _ => None,
        };
        if let Some(op) = symbol_op {
            self.bump();
            let rhs = self.add_expr()?;
            return Ok(binary(op, lhs, rhs));
        }
        // `!` written against a word: !has, !contains, !in, !between, ...
        let negated = matches!(tok.kind, TokenKind::Symbol("!"))
            && matches!(self.peek_at(1).kind, TokenKind::Ident(_))
            && self.peek_at(1).span.start == tok.span.end;
        let word_tok = if negated {
            self.peek_at(1).clone()
        } else {
            tok.clone()
        };
        let TokenKind::Ident(word) = &word_tok.kind else {
            return Ok(lhs);
        };
        let op_span = tok.span.to(word_tok.span);
        if UNSUPPORTED_BINARY.contains(&word.as_str()) {
            return Err(QueryError::unsupported(
                op_span,
                &format!("the '{}{word}' operator", if negated { "!" } else { "" }),
                "==, !=, =~, !~, <, <=, >, >=, in, !in, in~, between, has, contains, startswith, \
                 endswith, hasprefix, hassuffix (with ! and _cs forms), matches regex",
            ));
        }
        let (base, case_sensitive) = match word.strip_suffix("_cs") {
            Some(b) => (b, true),
            None => (word.as_str(), false),
        };
        let str_kind = match base {
            "has" => Some(StrOpKind::Has),
            "hasprefix" => Some(StrOpKind::HasPrefix),
            "hassuffix" => Some(StrOpKind::HasSuffix),
            "contains" => Some(StrOpKind::Contains),
            "startswith" => Some(StrOpKind::StartsWith),
            "endswith" => Some(StrOpKind::EndsWith),
            "matches" if !negated && !case_sensitive => Some(StrOpKind::MatchesRegex),
            _ => None,
        };
        if let Some(kind) = str_kind {
            if negated {
                self.bump();
            }
            self.bump();
            if kind == StrOpKind::MatchesRegex {
                if !self.at_ident("regex") {
                    return Err(self.error_here("expected 'regex' after 'matches'"));
                }
                self.bump();
            }
            let rhs = self.add_expr()?;
            let op = StrOp {
                kind,
                negated,
                case_sensitive,
            };
            return Ok(binary(BinaryOp::Str(op), lhs, rhs));
        }
        if word == "in" && !case_sensitive {
            if negated {
                self.bump();
            }
            self.bump();
            let mut case_insensitive = false;
            if matches!(self.peek().kind, TokenKind::Symbol("~"))
                && self.peek().span.start == word_tok.span.end
            {
                case_insensitive = true;
                self.bump();
            }
            if !self.eat_symbol("(") {
                return Err(self.error_here("expected '(' and a list of values after 'in'"));
            }
            let mut list = Vec::new();
            if !self.eat_symbol(")") {
                loop {
                    list.push(self.expr()?);
                    if self.eat_symbol(")") {
                        break;
                    }
                    if !self.eat_symbol(",") {
                        return Err(self.error_here("expected ',' or ')' in the 'in' list"));
                    }
                }
            }
            let span = lhs.span.to(self.prev_span());
            return Ok(Expr {
                kind: ExprKind::In {
                    lhs: Box::new(lhs),
                    list,
                    negated,
                    case_insensitive,
                },
                span,
            });
        }
        if word == "between" && !case_sensitive {
            if negated {
                self.bump();
            }
            self.bump();
            if !self.eat_symbol("(") {
                return Err(self.error_here("expected '(low .. high)' after 'between'"));
            }
            let low = self.add_expr()?;
            if !self.eat_symbol("..") {
                return Err(self.error_here("expected '..' between the bounds of 'between'"));
            }
            let high = self.add_expr()?;
            if !self.eat_symbol(")") {
                return Err(self.error_here("expected ')' after the bounds of 'between'"));
            }
            let span = lhs.span.to(self.prev_span());
            return Ok(Expr {
                kind: ExprKind::Between {
                    lhs: Box::new(lhs),
                    low: Box::new(low),
                    high: Box::new(high),
                    negated,
                },
                span,
            });
        }
        Ok(lhs)
    }

    fn add_expr(&mut self) -> Result<Expr, QueryError> {
        let mut lhs = self.mul_expr()?;
        let mark = self.depth;
        loop {
            let op = match self.peek().kind {
                TokenKind::Symbol("+") => BinaryOp::Add,
                TokenKind::Symbol("-") => BinaryOp::Sub,
                _ => {
                    self.depth = mark;
                    return Ok(lhs);
                }
            };
            self.bump();
            self.enter()?;
            let rhs = self.mul_expr()?;
            lhs = binary(op, lhs, rhs);
        }
    }

    fn mul_expr(&mut self) -> Result<Expr, QueryError> {
        let mut lhs = self.unary_expr()?;
        let mark = self.depth;
        loop {
            let op = match self.peek().kind {
                TokenKind::Symbol("*") => BinaryOp::Mul,
                TokenKind::Symbol("/") => BinaryOp::Div,
                TokenKind::Symbol("%") => BinaryOp::Mod,
                _ => {
                    self.depth = mark;
                    return Ok(lhs);
                }
            };
            self.bump();
            self.enter()?;
            let rhs = self.unary_expr()?;
            lhs = binary(op, lhs, rhs);
        }
    }

    fn unary_expr(&mut self) -> Result<Expr, QueryError> {
        let tok = self.peek().clone();
        if matches!(tok.kind, TokenKind::Symbol("-")) {
            self.bump();
            self.enter()?;
            let inner = self.unary_expr();
            self.depth -= 1;
            let inner = inner?;
            let span = tok.span.to(inner.span);
            return Ok(Expr {
                kind: ExprKind::Negate(Box::new(inner)),
                span,
            });
        }
        if matches!(tok.kind, TokenKind::Symbol("+")) {
            self.bump();
            self.enter()?;
            let inner = self.unary_expr();
            self.depth -= 1;
            return inner;
        }
        self.postfix_expr()
    }

    fn postfix_expr(&mut self) -> Result<Expr, QueryError> {
        let mut e = self.primary()?;
        let mark = self.depth;
        loop {
            if matches!(
                self.peek().kind,
                TokenKind::Symbol(".") | TokenKind::Symbol("[")
            ) {
                self.enter()?;
            }
            if matches!(self.peek().kind, TokenKind::Symbol(".")) {
                self.bump();
                let n = self.name("a property name after '.'")?;
                let key = Expr {
                    kind: ExprKind::Literal(Literal::String(n.text)),
                    span: n.span,
                };
                let span = e.span.to(key.span);
                e = Expr {
                    kind: ExprKind::Member(Box::new(e), Box::new(key)),
                    span,
                };
            } else if matches!(self.peek().kind, TokenKind::Symbol("[")) {
                self.bump();
                let key = self.expr()?;
                if !self.eat_symbol("]") {
                    return Err(self.error_here("expected ']'"));
                }
                let span = e.span.to(self.prev_span());
                e = Expr {
                    kind: ExprKind::Member(Box::new(e), Box::new(key)),
                    span,
                };
            } else if self.in_search
                && matches!(self.peek().kind, TokenKind::Symbol(":"))
                && matches!(e.kind, ExprKind::Name(_))
            {
                // search Column:"term" is `Column has "term"`.
                self.bump();
                let rhs = self.primary()?;
                let op = StrOp {
                    kind: StrOpKind::Has,
                    negated: false,
                    case_sensitive: false,
                };
                e = binary(BinaryOp::Str(op), e, rhs);
            } else {
                self.depth = mark;
                return Ok(e);
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, QueryError> {
        let tok = self.peek().clone();
        let span = tok.span;
        let lit = |l| {
            Ok(Expr {
                kind: ExprKind::Literal(l),
                span,
            })
        };
        match tok.kind {
            TokenKind::Long(v) => {
                self.bump();
                lit(Literal::Long(Some(v)))
            }
            TokenKind::Real(v) => {
                self.bump();
                lit(Literal::Real(Some(v)))
            }
            TokenKind::Timespan(t) => {
                self.bump();
                lit(Literal::Timespan(Some(t)))
            }
            TokenKind::String(s) => {
                self.bump();
                lit(Literal::String(s))
            }
            TokenKind::TypedLiteral(ty, raw) => {
                self.bump();
                lit(typed_literal(&ty, &raw, span)?)
            }
            TokenKind::Symbol("(") => {
                self.bump();
                let inner = self.expr()?;
                if !self.eat_symbol(")") {
                    return Err(self.error_here("expected ')'"));
                }
                Ok(Expr {
                    kind: inner.kind,
                    span: span.to(self.prev_span()),
                })
            }
            TokenKind::Symbol("*") => {
                self.bump();
                Ok(Expr {
                    kind: ExprKind::Star,
                    span,
                })
            }
            TokenKind::QuotedIdent(name) => {
                self.bump();
                Ok(Expr {
                    kind: ExprKind::Name(name),
                    span,
                })
            }
            TokenKind::Ident(word) => {
                self.bump();
                match word.as_str() {
                    "true" => return lit(Literal::Bool(Some(true))),
                    "false" => return lit(Literal::Bool(Some(false))),
                    _ => {}
                }
                if matches!(self.peek().kind, TokenKind::Symbol("(")) {
                    self.bump();
                    let mut args = Vec::new();
                    if !self.eat_symbol(")") {
                        loop {
                            args.push(self.expr()?);
                            if self.eat_symbol(")") {
                                break;
                            }
                            if !self.eat_symbol(",") {
                                return Err(self.error_here(&format!(
                                    "expected ',' or ')' in the arguments of {word}()"
                                )));
                            }
                        }
                    }
                    let name = Name { text: word, span };
                    return Ok(Expr {
                        kind: ExprKind::Call(name, args),
                        span: span.to(self.prev_span()),
                    });
                }
                Ok(Expr {
                    kind: ExprKind::Name(word),
                    span,
                })
            }
            TokenKind::Eof => Err(self.error_here("the query ends where a value was expected")),
            _ => Err(self.error_here("expected a value, a column name or a function call")),
        }
    }

    fn prev_span(&self) -> Span {
        self.tokens[self.pos.saturating_sub(1)].span
    }
}

/// `a op b op c ...` for an associative `op` as a balanced tree, so long `and`/`or` chains stay
/// shallow for the recursive passes after parsing.
fn balanced(op: BinaryOp, mut terms: Vec<Expr>) -> Expr {
    if terms.len() == 1 {
        return terms.remove(0);
    }
    let right = terms.split_off(terms.len() / 2);
    binary(op, balanced(op, terms), balanced(op, right))
}

fn binary(op: BinaryOp, lhs: Expr, rhs: Expr) -> Expr {
    let span = lhs.span.to(rhs.span);
    Expr {
        kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
        span,
    }
}

/// The value of `datetime(...)`, `dynamic(...)`, `int(...)`, ... from its raw text.
fn typed_literal(ty: &str, raw: &str, span: Span) -> Result<Literal, QueryError> {
    let is_null = raw == "null";
    let bad =
        |what: &str| QueryError::syntax(span, format!("{ty}({raw}) is not a valid {what} literal"));
    Ok(match ty {
        "datetime" => Literal::DateTime(if is_null {
            None
        } else {
            Some(DateTime::parse(raw).ok_or_else(|| bad("datetime (use 2024-01-31T10:00:00Z)"))?)
        }),
        "timespan" | "time" => Literal::Timespan(if is_null {
            None
        } else {
            Some(Timespan::parse(raw).ok_or_else(|| bad("timespan (use 5m or 01:30:00)"))?)
        }),
        "int" | "long" => {
            let v = if is_null {
                None
            } else {
                Some(raw.parse::<i64>().map_err(|_| bad("integer"))?)
            };
            if ty == "int" {
                Literal::Int(v)
            } else {
                Literal::Long(v)
            }
        }
        "real" | "double" | "decimal" => Literal::Real(if is_null {
            None
        } else {
            Some(match raw {
                "nan" | "NaN" => f64::NAN,
                "+inf" | "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                _ => raw.parse().map_err(|_| bad("real"))?,
            })
        }),
        "bool" | "boolean" => Literal::Bool(match raw {
            "null" => None,
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => return Err(bad("bool")),
        }),
        "guid" => Literal::Guid(if is_null {
            None
        } else {
            let ok = raw.len() == 36
                && raw.char_indices().all(|(i, c)| {
                    if [8, 13, 18, 23].contains(&i) {
                        c == '-'
                    } else {
                        c.is_ascii_hexdigit()
                    }
                });
            if !ok {
                return Err(bad("guid"));
            }
            Some(raw.to_ascii_lowercase())
        }),
        "dynamic" => Literal::Dynamic(
            serde_json::from_str(&raw.replace('\'', "\"")).map_err(|_| bad("dynamic (JSON)"))?,
        ),
        _ => return Err(bad("typed")),
    })
}

#[cfg(test)]
mod tests {
    use crate::ast::*;
    use crate::parser::parse;

    fn where_expr(q: &str) -> ExprKind {
        let query = parse(&format!("T | where {q}")).unwrap();
        match &query.body.ops[0].kind {
            OperatorKind::Where(e) => e.kind.clone(),
            _ => unreachable!(),
        }
    }

    #[test]
    fn precedence_and_string_operators() {
        let ExprKind::Binary(BinaryOp::Or, _, rhs) = where_expr("a == 1 or b > 2 and c has 'x'")
        else {
            panic!()
        };
        let ExprKind::Binary(BinaryOp::And, _, has) = rhs.kind else {
            panic!()
        };
        assert!(
            matches!(has.kind, ExprKind::Binary(BinaryOp::Str(op), _, _) if op.kind == StrOpKind::Has)
        );
        let ExprKind::Binary(BinaryOp::Str(op), _, _) = where_expr("Log !contains_cs 'E'") else {
            panic!()
        };
        assert!(op.negated && op.case_sensitive && op.kind == StrOpKind::Contains);
        assert!(matches!(
            where_expr("Log matches regex '^a'"),
            ExprKind::Binary(
                BinaryOp::Str(StrOp {
                    kind: StrOpKind::MatchesRegex,
                    ..
                }),
                _,
                _
            )
        ));
        let ExprKind::Binary(BinaryOp::Add, _, mul) = where_expr("1 + 2 * 3") else {
            panic!()
        };
        assert!(matches!(mul.kind, ExprKind::Binary(BinaryOp::Mul, _, _)));
    }

    #[test]
    fn in_between_and_literals() {
        assert!(matches!(
            where_expr("Level !in~ ('a', 'b')"),
            ExprKind::In { negated: true, case_insensitive: true, ref list, .. } if list.len() == 2
        ));
        assert!(matches!(
            where_expr("t between (datetime(2024-01-01) .. 1d)"),
            ExprKind::Between { negated: false, .. }
        ));
        assert!(matches!(
            where_expr("x == dynamic(['a', 1])"),
            ExprKind::Binary(..)
        ));
        let e = parse("T | where x == guid(nope)").unwrap_err();
        assert!(e.message.contains("guid"));
        let e = parse("T | where Log has_any ('a')").unwrap_err();
        assert!(e.message.contains("'has_any' operator"));
    }
}
