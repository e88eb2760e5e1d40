//! Scalar values and the Log Analytics column types.
//!
//! [`ColumnType`] is the type a column or expression has (`string`, `datetime`, `long`, `int`,
//! `real`, `bool`, `dynamic`, `guid`, `timespan`). [`Value`] is one cell. `int` values are held as
//! [`Value::Long`] and `guid` values as [`Value::String`]: the column's type says how they are
//! shown. KQL semantics: every type but `string` has a null; a string is never null (an absent
//! string is `""`).
//!
//! Values are ordered and hashed by content so they can key `summarize` groups and `dcount`;
//! [`Value::to_json`] gives the form the query API's `rows` carry (datetimes as
//! `2018-02-02T15:03:12.18Z`, timespans as `00:05:00`, dynamic values as JSON text).

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::time::{DateTime, Timespan};

/// A Log Analytics column type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// `string`
    String,
    /// `datetime`
    DateTime,
    /// `long` (64-bit)
    Long,
    /// `int` (32-bit)
    Int,
    /// `real` (64-bit float)
    Real,
    /// `bool`
    Bool,
    /// `dynamic` (JSON)
    Dynamic,
    /// `guid`
    Guid,
    /// `timespan`
    Timespan,
}

impl ColumnType {
    /// The name the query API puts in `columns[].type`.
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::String => "string",
            ColumnType::DateTime => "datetime",
            ColumnType::Long => "long",
            ColumnType::Int => "int",
            ColumnType::Real => "real",
            ColumnType::Bool => "bool",
            ColumnType::Dynamic => "dynamic",
            ColumnType::Guid => "guid",
            ColumnType::Timespan => "timespan",
        }
    }

    /// True for `int`, `long` and `real`.
    pub fn is_numeric(self) -> bool {
        matches!(self, ColumnType::Int | ColumnType::Long | ColumnType::Real)
    }

    /// True for the types whose values are text (`string`, `guid`).
    pub fn is_textual(self) -> bool {
        matches!(self, ColumnType::String | ColumnType::Guid)
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One cell.
#[derive(Clone, Debug)]
pub enum Value {
    /// The null of any non-string type.
    Null,
    /// `bool`
    Bool(bool),
    /// `long` and `int`
    Long(i64),
    /// `real`
    Real(f64),
    /// `datetime`
    DateTime(DateTime),
    /// `timespan`
    Timespan(Timespan),
    /// `string` and `guid`
    String(Arc<str>),
    /// `dynamic`
    Dynamic(Arc<serde_json::Value>),
}

impl Value {
    /// A string value.
    pub fn str(s: &str) -> Value {
        Value::String(Arc::from(s))
    }

    /// True for [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// KQL's `isempty()`: null, or an empty string.
    pub fn is_empty(&self) -> bool {
        match self {
            Value::Null => true,
            Value::String(s) => s.is_empty(),
            Value::Dynamic(d) => d.is_null() || d.as_str() == Some(""),
            _ => false,
        }
    }

    /// The text of a string value (`""` for anything else).
    pub fn as_str(&self) -> &str {
        match self {
            Value::String(s) => s,
            _ => "",
        }
    }

    /// The value as a float, for numbers.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Long(v) => Some(*v as f64),
            Value::Real(v) => Some(*v),
            Value::Dynamic(d) => d.as_f64(),
            _ => None,
        }
    }

    /// KQL's `tostring()`: the text form of any value (`""` for null).
    pub fn to_kql_string(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Long(v) => v.to_string(),
            Value::Real(v) => format_real(*v),
            Value::DateTime(t) => t.to_string(),
            Value::Timespan(t) => t.to_string(),
            Value::String(s) => s.to_string(),
            Value::Dynamic(d) => match d.as_ref() {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            },
        }
    }

    /// Converts a value a data source produced to the column's type; `None` when it cannot be
    /// (the caller names the column in its error).
    pub fn coerce_to(self, ty: ColumnType) -> Option<Value> {
        Some(match (ty, self) {
            (_, Value::Null) if ty.is_textual() => Value::str(""),
            (_, Value::Null) => Value::Null,
            (ColumnType::String | ColumnType::Guid, v @ Value::String(_)) => v,
            (ColumnType::String, v) => Value::str(&v.to_kql_string()),
            (ColumnType::DateTime, v @ Value::DateTime(_)) => v,
            (ColumnType::DateTime, Value::String(s)) if s.is_empty() => Value::Null,
            (ColumnType::DateTime, Value::String(s)) => Value::DateTime(DateTime::parse(&s)?),
            (ColumnType::Timespan, v @ Value::Timespan(_)) => v,
            (ColumnType::Timespan, Value::String(s)) => Value::Timespan(Timespan::parse(&s)?),
            (ColumnType::Long | ColumnType::Int, v @ Value::Long(_)) => v,
            (ColumnType::Long | ColumnType::Int, Value::Real(r)) if r.fract() == 0.0 => {
                Value::Long(r as i64)
            }
            (ColumnType::Long | ColumnType::Int, Value::String(s)) => Value::Long(s.parse().ok()?),
            (ColumnType::Real, v @ Value::Real(_)) => v,
            (ColumnType::Real, Value::Long(v)) => Value::Real(v as f64),
            (ColumnType::Real, Value::String(s)) => Value::Real(s.parse().ok()?),
            (ColumnType::Bool, v @ Value::Bool(_)) => v,
            (ColumnType::Bool, Value::Long(v)) => Value::Bool(v != 0),
            (ColumnType::Bool, Value::String(s)) => match s.to_ascii_lowercase().as_str() {
                "true" | "1" => Value::Bool(true),
                "false" | "0" => Value::Bool(false),
                _ => return None,
            },
            (ColumnType::Dynamic, v @ Value::Dynamic(_)) => v,
            (ColumnType::Dynamic, Value::String(s)) => Value::Dynamic(Arc::new(
                serde_json::from_str(&s).unwrap_or(serde_json::Value::String(s.to_string())),
            )),
            (ColumnType::Dynamic, v) => Value::Dynamic(Arc::new(v.to_json(ColumnType::Dynamic))),
            _ => return None,
        })
    }

    /// The JSON the query API puts in a row for a value of column type `ty`.
    pub fn to_json(&self, ty: ColumnType) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Long(v) => J::from(*v),
            Value::Real(v) => match serde_json::Number::from_f64(*v) {
                Some(n) => J::Number(n),
                None => J::String(format_real(*v)),
            },
            Value::DateTime(t) => J::String(t.to_string()),
            Value::Timespan(t) => J::String(t.to_string()),
            Value::String(s) => J::String(s.to_string()),
            Value::Dynamic(d) if ty == ColumnType::Dynamic => J::String(d.to_string()),
            Value::Dynamic(d) => d.as_ref().clone(),
        }
    }

    /// The total order `order by` uses between two values of one type (nulls first).
    pub fn cmp_for_sort(&self, other: &Value) -> Ordering {
        match (self, other) {
            (Value::Null, Value::Null) => Ordering::Equal,
            (Value::Null, _) => Ordering::Less,
            (_, Value::Null) => Ordering::Greater,
            _ => compare(self, other).unwrap_or_else(|| rank(self).cmp(&rank(other))),
        }
    }
}

/// Compares two non-null values of comparable types; `None` when they are not comparable.
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Long(x), Value::Long(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::DateTime(x), Value::DateTime(y)) => Some(x.cmp(y)),
        (Value::Timespan(x), Value::Timespan(y)) => Some(x.cmp(y)),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Dynamic(x), Value::Dynamic(y)) => Some(x.to_string().cmp(&y.to_string())),
        (Value::Dynamic(d), other) => compare(&dynamic_scalar(d)?, other),
        (other, Value::Dynamic(d)) => compare(other, &dynamic_scalar(d)?),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

/// The scalar a dynamic value holds, for comparisons with typed values.
pub fn dynamic_scalar(d: &serde_json::Value) -> Option<Value> {
    match d {
        serde_json::Value::Bool(b) => Some(Value::Bool(*b)),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Some(Value::Long(i)),
            None => n.as_f64().map(Value::Real),
        },
        serde_json::Value::String(s) => Some(Value::str(s)),
        _ => None,
    }
}

fn rank(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Long(_) | Value::Real(_) => 2,
        Value::DateTime(_) => 3,
        Value::Timespan(_) => 4,
        Value::String(_) => 5,
        Value::Dynamic(_) => 6,
    }
}

/// `1`, `1.5`, `NaN`, `Infinity`: the text form of a real.
pub fn format_real(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        v.to_string()
    }
}

impl PartialEq for Value {
    /// Equality for grouping: same variant and same content (reals by bit pattern, so NaN
    /// groups with NaN).
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Long(a), Value::Long(b)) => a == b,
            (Value::Real(a), Value::Real(b)) => a.to_bits() == b.to_bits(),
            (Value::DateTime(a), Value::DateTime(b)) => a == b,
            (Value::Timespan(a), Value::Timespan(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::Dynamic(a), Value::Dynamic(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Value {}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        rank(self).hash(state);
        match self {
            Value::Null => {}
            Value::Bool(b) => b.hash(state),
            Value::Long(v) => v.hash(state),
            Value::Real(v) => v.to_bits().hash(state),
            Value::DateTime(t) => t.hash(state),
            Value::Timespan(t) => t.hash(state),
            Value::String(s) => s.hash(state),
            Value::Dynamic(d) => d.to_string().hash(state),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::str(s)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(Arc::from(s))
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Long(v)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Real(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Bool(v)
    }
}

impl From<DateTime> for Value {
    fn from(v: DateTime) -> Value {
        Value::DateTime(v)
    }
}

impl From<Timespan> for Value {
    fn from(v: Timespan) -> Value {
        Value::Timespan(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_forms_follow_the_query_api() {
        let t = DateTime::parse("2018-02-02T15:03:12.18Z").unwrap();
        assert_eq!(
            Value::from(t).to_json(ColumnType::DateTime),
            "2018-02-02T15:03:12.18Z"
        );
        assert_eq!(Value::Long(3).to_json(ColumnType::Long), 3);
        assert_eq!(Value::Real(0.5).to_json(ColumnType::Real), 0.5);
        assert_eq!(
            Value::Null.to_json(ColumnType::Real),
            serde_json::Value::Null
        );
        let d = Value::Dynamic(Arc::new(serde_json::json!(["a", 1])));
        assert_eq!(d.to_json(ColumnType::Dynamic), r#"["a",1]"#);
        assert_eq!(Value::Real(f64::NAN).to_json(ColumnType::Real), "NaN");
    }

    #[test]
    fn coercion_converts_or_refuses() {
        assert_eq!(
            Value::str("2024-01-01").coerce_to(ColumnType::DateTime),
            Some(Value::DateTime(DateTime::parse("2024-01-01").unwrap()))
        );
        assert_eq!(
            Value::Null.coerce_to(ColumnType::String),
            Some(Value::str(""))
        );
        assert_eq!(
            Value::Long(2).coerce_to(ColumnType::Real),
            Some(Value::Real(2.0))
        );
        assert_eq!(Value::str("x").coerce_to(ColumnType::Long), None);
    }

    #[test]
    fn comparisons_mix_numbers_but_not_kinds() {
        assert_eq!(
            compare(&Value::Long(1), &Value::Real(1.5)),
            Some(Ordering::Less)
        );
        assert_eq!(compare(&Value::str("a"), &Value::Long(1)), None);
        assert_eq!(Value::Null.cmp_for_sort(&Value::Long(1)), Ordering::Less);
    }
}
