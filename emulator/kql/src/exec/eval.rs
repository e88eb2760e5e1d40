//! Evaluation of bound scalar expressions against one row, with KQL's null semantics: a null
//! operand makes comparisons and arithmetic null, `where` keeps only rows whose predicate is
//! true, `and`/`or` are three-valued, a string is never null (absent text is `""`).

use std::borrow::Cow;
use std::cmp::Ordering;
use std::sync::Arc;

use crate::plan::{ArithOp, BExpr, Func};
use crate::source::CompareOp;
use crate::text::TextMatcher;
use crate::time::{DateTime, Timespan};
use crate::value::{compare, Value};

/// Evaluates `e` over `row`.
pub fn eval(e: &BExpr, row: &[Value]) -> Value {
    match e {
        BExpr::Const(v) => v.clone(),
        BExpr::Column(i) => row.get(*i).cloned().unwrap_or(Value::Null),
        BExpr::Arith(op, a, b) => arith(*op, &eval(a, row), &eval(b, row)),
        BExpr::Negate(a) => match eval(a, row) {
            Value::Long(v) => Value::Long(v.wrapping_neg()),
            Value::Real(v) => Value::Real(-v),
            Value::Timespan(t) => Value::Timespan(Timespan(t.0.wrapping_neg())),
            _ => Value::Null,
        },
        BExpr::Call(f, args) => call(*f, args, row),
        BExpr::Member(base, key) => member(&eval(base, row), &eval(key, row)),
        _ => match eval_bool(e, row) {
            Some(b) => Value::Bool(b),
            None => Value::Null,
        },
    }
}

/// Evaluates a predicate: `Some(true)`, `Some(false)` or `None` (null).
pub fn eval_bool(e: &BExpr, row: &[Value]) -> Option<bool> {
    match e {
        BExpr::And(a, b) => match eval_bool(a, row) {
            Some(false) => Some(false),
            left => match (left, eval_bool(b, row)) {
                (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            },
        },
        BExpr::Or(a, b) => match eval_bool(a, row) {
            Some(true) => Some(true),
            left => match (left, eval_bool(b, row)) {
                (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            },
        },
        BExpr::Not(a) => eval_bool(a, row).map(|b| !b),
        BExpr::Compare(op, a, b) => {
            let ord = compare_values(&value_ref(a, row), &value_ref(b, row))?;
            Some(match op {
                CompareOp::Eq => ord.is_eq(),
                CompareOp::NotEq => ord.is_ne(),
                CompareOp::Lt => ord.is_lt(),
                CompareOp::Le => ord.is_le(),
                CompareOp::Gt => ord.is_gt(),
                CompareOp::Ge => ord.is_ge(),
            })
        }
        BExpr::EqCi(a, b, negated) => {
            let (a, b) = (value_ref(a, row), value_ref(b, row));
            Some(eq_ignore_case(&text(&a), &text(&b)) != *negated)
        }
        BExpr::Text(a, negated, m) => Some(m.matches(&text(&value_ref(a, row))) != *negated),
        BExpr::TextDyn(a, op, pattern) => {
            let needle = text(&value_ref(pattern, row)).into_owned();
            let m = TextMatcher::new(op.kind, op.case_sensitive, &needle);
            Some(m.matches(&text(&value_ref(a, row))) != op.negated)
        }
        BExpr::Regex(a, re) => Some(re.is_match(&text(&value_ref(a, row)))),
        BExpr::AnyText(cols, m) => Some(
            cols.iter()
                .any(|c| row.get(*c).is_some_and(|v| m.matches(v.as_str()))),
        ),
        BExpr::In {
            lhs,
            list,
            negated,
            case_insensitive,
        } => {
            let v = value_ref(lhs, row);
            if v.is_null() {
                return Some(*negated);
            }
            let hit = list.iter().any(|c| {
                let c = value_ref(c, row);
                if *case_insensitive {
                    eq_ignore_case(&text(&v), &text(&c))
                } else {
                    compare_values(&v, &c).is_some_and(Ordering::is_eq)
                }
            });
            Some(hit != *negated)
        }
        BExpr::Between(v, lo, hi, negated) => {
            let v = value_ref(v, row);
            let inside = compare_values(&v, &value_ref(lo, row))?.is_ge()
                && compare_values(&v, &value_ref(hi, row))?.is_le();
            Some(inside != *negated)
        }
        other => match eval(other, row) {
            Value::Bool(b) => Some(b),
            Value::Dynamic(d) => d.as_bool(),
            _ => None,
        },
    }
}

/// A column or constant without cloning; anything else evaluated.
fn value_ref<'a>(e: &'a BExpr, row: &'a [Value]) -> Cow<'a, Value> {
    match e {
        BExpr::Column(i) => row.get(*i).map_or(Cow::Owned(Value::Null), Cow::Borrowed),
        BExpr::Const(v) => Cow::Borrowed(v),
        other => Cow::Owned(eval(other, row)),
    }
}

fn compare_values(a: &Value, b: &Value) -> Option<Ordering> {
    if a.is_null() || b.is_null() {
        return None;
    }
    compare(a, b)
}

/// The text form string operators work on.
pub fn text(v: &Value) -> Cow<'_, str> {
    match v {
        Value::String(s) => Cow::Borrowed(s),
        other => Cow::Owned(other.to_kql_string()),
    }
}

fn eq_ignore_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

fn arith(op: ArithOp, a: &Value, b: &Value) -> Value {
    use ArithOp::*;
    use Value::{DateTime as D, Long as L, Real as R, Timespan as T};
    match (op, a, b) {
        (_, Value::Null, _) | (_, _, Value::Null) => Value::Null,
        (Add, L(x), L(y)) => L(x.wrapping_add(*y)),
        (Sub, L(x), L(y)) => L(x.wrapping_sub(*y)),
        (Mul, L(x), L(y)) => L(x.wrapping_mul(*y)),
        (Div, L(x), L(y)) => x.checked_div(*y).map_or(Value::Null, L),
        (Mod, L(x), L(y)) => x.checked_rem(*y).map_or(Value::Null, L),
        (Sub, D(x), D(y)) => T(Timespan(x.0.wrapping_sub(y.0))),
        (Add, D(x), T(y)) | (Add, T(y), D(x)) => D(DateTime(x.0.wrapping_add(y.0))),
        (Sub, D(x), T(y)) => D(DateTime(x.0.wrapping_sub(y.0))),
        (Add, T(x), T(y)) => T(Timespan(x.0.wrapping_add(y.0))),
        (Sub, T(x), T(y)) => T(Timespan(x.0.wrapping_sub(y.0))),
        (Div, T(x), T(y)) if y.0 != 0 => R(x.0 as f64 / y.0 as f64),
        (Mod, T(x), T(y)) => x.0.checked_rem(y.0).map_or(Value::Null, |r| T(Timespan(r))),
        (Mul, T(x), n) | (Mul, n, T(x)) => match n.as_f64() {
            Some(f) => T(Timespan((x.0 as f64 * f).round() as i64)),
            None => Value::Null,
        },
        (Div, T(x), n) => match n.as_f64() {
            Some(f) if f != 0.0 => T(Timespan((x.0 as f64 / f).round() as i64)),
            _ => Value::Null,
        },
        _ => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => R(match op {
                Add => x + y,
                Sub => x - y,
                Mul => x * y,
                Div => x / y,
                Mod => x % y,
            }),
            _ => Value::Null,
        },
    }
}

fn member(base: &Value, key: &Value) -> Value {
    let Value::Dynamic(d) = base else {
        return Value::Null;
    };
    let found = match key {
        Value::Long(i) => {
            let arr = d.as_array();
            let idx = if *i < 0 {
                arr.map(|a| a.len() as i64 + i)
            } else {
                Some(*i)
            };
            idx.and_then(|i| arr?.get(usize::try_from(i).ok()?))
        }
        Value::String(k) => d.get(k.as_ref()),
        _ => None,
    };
    found.map_or(Value::Null, |v| Value::Dynamic(Arc::new(v.clone())))
}

fn call(f: Func, args: &[BExpr], row: &[Value]) -> Value {
    let arg = |i: usize| args.get(i).map_or(Value::Null, |a| eval(a, row));
    match f {
        Func::Iff => {
            if eval_bool(&args[0], row) == Some(true) {
                arg(1)
            } else {
                arg(2)
            }
        }
        Func::Case => {
            let mut i = 0;
            while i + 1 < args.len() {
                if eval_bool(&args[i], row) == Some(true) {
                    return arg(i + 1);
                }
                i += 2;
            }
            arg(args.len() - 1)
        }
        Func::Coalesce => args
            .iter()
            .map(|a| eval(a, row))
            .find(|v| !v.is_empty())
            .unwrap_or_else(|| arg(args.len() - 1)),
        Func::StrCat => {
            let mut s = String::new();
            for a in args {
                s.push_str(&text(&eval(a, row)));
            }
            Value::from(s)
        }
        Func::Bin => bin(&arg(0), &arg(1)),
        _ => convert(f, arg(0), args, row),
    }
}

fn convert(f: Func, v: Value, args: &[BExpr], row: &[Value]) -> Value {
    match f {
        Func::ToString => Value::from(v.to_kql_string()),
        Func::ToDateTime => match v {
            Value::DateTime(_) => v,
            Value::String(_) | Value::Dynamic(_) => {
                DateTime::parse(&text(&v)).map_or(Value::Null, Value::DateTime)
            }
            _ => Value::Null,
        },
        Func::ToTimespan => match v {
            Value::Timespan(_) => v,
            Value::String(_) | Value::Dynamic(_) => {
                Timespan::parse(&text(&v)).map_or(Value::Null, Value::Timespan)
            }
            _ => Value::Null,
        },
        Func::ToLong => match v {
            Value::Long(_) => v,
            Value::Real(r) if r.is_finite() => Value::Long(r.trunc() as i64),
            Value::Bool(b) => Value::Long(i64::from(b)),
            Value::DateTime(t) => Value::Long(t.0),
            Value::Timespan(t) => Value::Long(t.0),
            Value::String(_) | Value::Dynamic(_) => {
                let s = text(&v);
                let s = s.trim();
                s.parse::<i64>()
                    .ok()
                    .or_else(|| {
                        s.parse::<f64>()
                            .ok()
                            .filter(|r| r.is_finite())
                            .map(|r| r as i64)
                    })
                    .map_or(Value::Null, Value::Long)
            }
            _ => Value::Null,
        },
        Func::ToReal => match v {
            Value::Real(_) => v,
            Value::Long(l) => Value::Real(l as f64),
            Value::Bool(b) => Value::Real(f64::from(u8::from(b))),
            Value::String(_) | Value::Dynamic(_) => text(&v)
                .trim()
                .parse::<f64>()
                .map_or(Value::Null, Value::Real),
            _ => Value::Null,
        },
        Func::ToBool => match v {
            Value::Bool(_) => v,
            Value::Long(l) => Value::Bool(l != 0),
            Value::String(_) | Value::Dynamic(_) => {
                match text(&v).trim().to_ascii_lowercase().as_str() {
                    "true" | "1" => Value::Bool(true),
                    "false" | "0" => Value::Bool(false),
                    _ => Value::Null,
                }
            }
            _ => Value::Null,
        },
        Func::ToDynamic => match v {
            Value::Dynamic(_) | Value::Null => v,
            Value::String(s) => {
                serde_json::from_str(&s).map_or(Value::Null, |j| Value::Dynamic(Arc::new(j)))
            }
            other => Value::Dynamic(Arc::new(other.to_json(crate::value::ColumnType::Long))),
        },
        Func::IsEmpty => Value::Bool(v.is_empty()),
        Func::IsNotEmpty => Value::Bool(!v.is_empty()),
        Func::IsNull => Value::Bool(v.is_null()),
        Func::IsNotNull => Value::Bool(!v.is_null()),
        Func::ToLower => Value::from(text(&v).to_lowercase()),
        Func::ToUpper => Value::from(text(&v).to_uppercase()),
        Func::StrLen => Value::Long(text(&v).chars().count() as i64),
        Func::Substring => {
            let s = text(&v);
            let start = match args.get(1).map(|a| eval(a, row)) {
                Some(Value::Long(n)) => n.max(0) as usize,
                _ => return Value::Null,
            };
            let len = match args.get(2).map(|a| eval(a, row)) {
                None => usize::MAX,
                Some(Value::Long(n)) => n.max(0) as usize,
                Some(_) => return Value::Null,
            };
            Value::from(s.chars().skip(start).take(len).collect::<String>())
        }
        Func::Iff | Func::Case | Func::Coalesce | Func::StrCat | Func::Bin => Value::Null,
    }
}

/// `x` rounded down to a multiple of `size` (> 0); `None` when that overflows.
fn floor_to(x: i64, size: i64) -> Option<i64> {
    x.div_euclid(size).checked_mul(size)
}

/// `bin(value, size)`: rounds down to a multiple of `size`.
pub fn bin(v: &Value, size: &Value) -> Value {
    match (v, size) {
        (Value::DateTime(t), Value::Timespan(s)) if s.0 > 0 => {
            floor_to(t.0, s.0).map_or(Value::Null, |v| Value::DateTime(DateTime(v)))
        }
        (Value::Timespan(t), Value::Timespan(s)) if s.0 > 0 => {
            floor_to(t.0, s.0).map_or(Value::Null, |v| Value::Timespan(Timespan(v)))
        }
        (Value::Long(x), Value::Long(s)) if *s > 0 => {
            floor_to(*x, *s).map_or(Value::Null, Value::Long)
        }
        _ => match (v.as_f64(), size.as_f64()) {
            (Some(x), Some(s)) if s > 0.0 => Value::Real((x / s).floor() * s),
            _ => Value::Null,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(v: Value) -> Box<BExpr> {
        Box::new(BExpr::Const(v))
    }

    #[test]
    fn three_valued_logic() {
        let null = || c(Value::Null);
        let t = || c(Value::Bool(true));
        let f = || c(Value::Bool(false));
        assert_eq!(eval_bool(&BExpr::And(null(), f()), &[]), Some(false));
        assert_eq!(eval_bool(&BExpr::And(null(), t()), &[]), None);
        assert_eq!(eval_bool(&BExpr::Or(null(), t()), &[]), Some(true));
        assert_eq!(eval_bool(&BExpr::Or(null(), f()), &[]), None);
        let cmp = BExpr::Compare(CompareOp::NotEq, c(Value::Null), c(Value::Long(1)));
        assert_eq!(eval_bool(&cmp, &[]), None);
    }

    #[test]
    fn arithmetic_over_time_and_numbers() {
        let d = DateTime::parse("2024-01-01T10:07:30Z").unwrap();
        let five_min = Value::Timespan(Timespan(3_000_000_000));
        assert_eq!(
            bin(&Value::DateTime(d), &five_min).to_kql_string(),
            "2024-01-01T10:05:00Z"
        );
        assert_eq!(
            arith(ArithOp::Div, &Value::Long(7), &Value::Long(2)),
            Value::Long(3)
        );
        assert_eq!(
            arith(ArithOp::Div, &Value::Long(7), &Value::Long(0)),
            Value::Null
        );
        assert_eq!(
            arith(ArithOp::Add, &Value::Long(1), &Value::Real(0.5)),
            Value::Real(1.5)
        );
        let later = arith(ArithOp::Add, &Value::DateTime(d), &five_min);
        assert_eq!(
            arith(ArithOp::Sub, &later, &Value::DateTime(d)),
            Value::Timespan(Timespan(3_000_000_000))
        );
        assert_eq!(bin(&Value::Long(17), &Value::Long(5)), Value::Long(15));
        assert_eq!(bin(&Value::Long(i64::MIN), &Value::Long(3)), Value::Null);
        let min = Value::Timespan(Timespan(i64::MIN));
        assert_eq!(
            arith(ArithOp::Mod, &min, &Value::Timespan(Timespan(-1))),
            Value::Null
        );
    }

    #[test]
    fn conversions() {
        let s = |x: &str| vec![BExpr::Const(Value::str(x))];
        assert_eq!(call(Func::ToLong, &s(" 42 "), &[]), Value::Long(42));
        assert_eq!(call(Func::ToLong, &s("x"), &[]), Value::Null);
        assert_eq!(call(Func::StrLen, &s("héllo"), &[]), Value::Long(5));
        assert_eq!(call(Func::IsEmpty, &s(""), &[]), Value::Bool(true));
        assert_eq!(call(Func::IsNull, &s(""), &[]), Value::Bool(false));
        let dynamic = call(Func::ToDynamic, &s(r#"{"a":[1,2]}"#), &[]);
        let a = member(&dynamic, &Value::str("a"));
        assert_eq!(member(&a, &Value::Long(-1)).to_kql_string(), "2");
    }
}
