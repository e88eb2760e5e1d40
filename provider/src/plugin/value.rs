//! [`Value`]: a decoded Terraform value (what a `DynamicValue` carries).
//!
//! Values are untyped trees; the schema's implied [`Type`] drives encoding. Objects always hold
//! every attribute of their type (absent = [`Value::Null`]). Unknown values keep the
//! refinements Terraform sent (never null, string prefix, number bounds, collection length).
//!
//! ```
//! use terraform_provider_azuresessions::plugin::{Value, AttributePath};
//! let v = Value::object([("name", Value::from("pool")), ("size", Value::from(3))]);
//! assert_eq!(v.get("name").as_str(), Some("pool"));
//! assert_eq!(v.get("size").as_i64(), Some(3));
//! assert!(v.get("missing").is_null());
//! assert_eq!(v.at(&AttributePath::attr("size")).as_i64(), Some(3));
//! ```

use std::collections::BTreeMap;

use super::diagnostics::Diagnostic;
use super::path::{AttributePath, PathStep};
use super::types::Type;

/// A number kept exactly as Terraform sent it.
#[derive(Debug, Clone, PartialEq)]
pub enum Number {
    /// Fits exactly in an i64.
    Int(i64),
    /// Not an integer (or beyond i64) but exact as an f64; also ±infinity.
    Float(f64),
    /// Any other number, as a decimal string (kept exact, never rounded).
    Big(String),
}

impl Number {
    /// The value as i64, if it is an integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Number::Int(i) => Some(*i),
            Number::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Some(*f as i64),
            Number::Float(_) => None,
            Number::Big(s) => s.parse().ok(),
        }
    }

    /// The value as f64 (possibly rounded for [`Number::Big`]).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Number::Int(i) => Some(*i as f64),
            Number::Float(f) => Some(*f),
            Number::Big(s) => s.parse().ok(),
        }
    }

    /// Normalises: an integral float that fits i64 becomes `Int`, a decimal string that is an
    /// exact i64 or f64 becomes that.
    pub fn normalized(self) -> Number {
        match self {
            Number::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Number::Int(f as i64),
            Number::Big(s) => {
                if let Ok(i) = s.parse::<i64>() {
                    Number::Int(i)
                } else if let Some(f) = exact_f64(&s) {
                    Number::Float(f).normalized()
                } else {
                    Number::Big(s)
                }
            }
            n => n,
        }
    }
}

impl std::fmt::Display for Number {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Number::Int(i) => write!(f, "{i}"),
            Number::Float(x) => write!(f, "{x}"),
            Number::Big(s) => write!(f, "{s}"),
        }
    }
}

/// The f64 that denotes exactly the decimal string `s`, if there is one.
fn exact_f64(s: &str) -> Option<f64> {
    let f: f64 = s.parse().ok()?;
    (f.is_finite() && decimal_is_exact(s, f)).then_some(f)
}

/// True if the decimal string `s` denotes exactly the binary value `f`.
fn decimal_is_exact(s: &str, f: f64) -> bool {
    // A decimal is exactly representable iff printing `f` with enough digits reproduces it.
    // Rust prints the shortest round-tripping form; compare numerically on a normalised form.
    let norm = |t: &str| -> Option<(bool, String, i64)> {
        let t = t.trim();
        let (neg, t) = match t.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, t.trim_start_matches('+')),
        };
        let (mant, exp) = match t.find(['e', 'E']) {
            Some(i) => (&t[..i], t[i + 1..].parse::<i64>().ok()?),
            None => (t, 0),
        };
        let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
        let digits = format!("{int}{frac}");
        let exp = exp - frac.len() as i64;
        let trimmed = digits.trim_start_matches('0');
        let mut d = trimmed.to_string();
        let mut e = exp;
        while d.ends_with('0') {
            d.pop();
            e += 1;
        }
        if d.is_empty() {
            return Some((false, "0".into(), 0));
        }
        Some((neg, d, e))
    };
    // Exact decimal expansion of f: use a long fixed format.
    let exact = format!("{f:.1100}");
    norm(s).is_some() && norm(s) == norm(&exact)
}

/// What Terraform knows about an unknown value (msgpack ext 12 payload). All optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Refinements {
    /// The value will not be null.
    pub not_null: bool,
    /// A known prefix of a future string.
    pub string_prefix: Option<String>,
    /// Lower bound of a future number: (bound, inclusive).
    pub number_lower: Option<(Number, bool)>,
    /// Upper bound of a future number: (bound, inclusive).
    pub number_upper: Option<(Number, bool)>,
    /// Minimum length of a future collection.
    pub length_min: Option<i64>,
    /// Maximum length of a future collection.
    pub length_max: Option<i64>,
}

impl Refinements {
    /// True if nothing is known.
    pub fn is_empty(&self) -> bool {
        *self == Refinements::default()
    }
}

/// A Terraform value.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// Null (absent).
    #[default]
    Null,
    /// Not known until apply.
    Unknown(Refinements),
    /// A bool.
    Bool(bool),
    /// A number.
    Number(Number),
    /// A string.
    String(String),
    /// A list (or the elements of a list-nested block).
    List(Vec<Value>),
    /// A set; order is not significant.
    Set(Vec<Value>),
    /// A map.
    Map(BTreeMap<String, Value>),
    /// An object (or a block).
    Object(BTreeMap<String, Value>),
    /// A tuple.
    Tuple(Vec<Value>),
}

static NULL: Value = Value::Null;

impl Value {
    /// An unrefined unknown value.
    pub fn unknown() -> Value {
        Value::Unknown(Refinements::default())
    }

    /// An object from `(name, value)` pairs.
    pub fn object<I, S>(attrs: I) -> Value
    where
        I: IntoIterator<Item = (S, Value)>,
        S: Into<String>,
    {
        Value::Object(attrs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A map from `(key, value)` pairs.
    pub fn map<I, S>(entries: I) -> Value
    where
        I: IntoIterator<Item = (S, Value)>,
        S: Into<String>,
    {
        Value::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A null value shaped like `ty`: null for everything (objects are null too, not an
    /// object of nulls).
    pub fn null() -> Value {
        Value::Null
    }

    /// True for null.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// True for an unknown value (this value itself, not something inside).
    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown(_))
    }

    /// True if neither this value nor anything inside it is unknown.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown(_) => false,
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => {
                v.iter().all(Value::is_wholly_known)
            }
            Value::Map(m) | Value::Object(m) => m.values().all(Value::is_wholly_known),
            _ => true,
        }
    }

    /// Attribute (or map element) `name`; null if absent or if this is not an object/map.
    pub fn get(&self, name: &str) -> &Value {
        match self {
            Value::Object(m) | Value::Map(m) => m.get(name).unwrap_or(&NULL),
            _ => &NULL,
        }
    }

    /// Mutable attribute `name` of an object (inserted as null if absent). A non-object value
    /// is first replaced by an empty object.
    pub fn get_mut(&mut self, name: &str) -> &mut Value {
        if !matches!(self, Value::Object(_) | Value::Map(_)) {
            *self = Value::Object(BTreeMap::new());
        }
        match self {
            Value::Object(m) | Value::Map(m) => m.entry(name.to_string()).or_default(),
            _ => unreachable!("replaced by an object above"),
        }
    }

    /// Sets attribute `name` (turning a non-object into an object first).
    pub fn set_attr(&mut self, name: &str, v: Value) {
        *self.get_mut(name) = v;
    }

    /// The value at `path`; null where the path leads nowhere (sets cannot be indexed).
    pub fn at(&self, path: &AttributePath) -> &Value {
        let mut cur = self;
        for step in path.steps() {
            cur = match (step, cur) {
                (PathStep::Attribute(n), Value::Object(m)) => m.get(n).unwrap_or(&NULL),
                (PathStep::Key(k), Value::Map(m)) => m.get(k).unwrap_or(&NULL),
                (PathStep::Index(i), Value::List(v) | Value::Tuple(v)) => usize::try_from(*i)
                    .ok()
                    .and_then(|i| v.get(i))
                    .unwrap_or(&NULL),
                _ => &NULL,
            };
        }
        cur
    }

    /// Mutable access at `path`, if it exists.
    pub fn at_mut(&mut self, path: &AttributePath) -> Option<&mut Value> {
        let mut cur = self;
        for step in path.steps() {
            cur = match (step, cur) {
                (PathStep::Attribute(n), Value::Object(m)) => m.get_mut(n)?,
                (PathStep::Key(k), Value::Map(m)) => m.get_mut(k)?,
                (PathStep::Index(i), Value::List(v) | Value::Tuple(v)) => {
                    v.get_mut(usize::try_from(*i).ok()?)?
                }
                _ => return None,
            };
        }
        Some(cur)
    }

    /// The string, if this is a known string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The bool, if this is a known bool.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number, if this is a known number.
    pub fn as_number(&self) -> Option<&Number> {
        match self {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    /// The number as i64, if it is a known integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_number().and_then(Number::as_i64)
    }

    /// The number as f64.
    pub fn as_f64(&self) -> Option<f64> {
        self.as_number().and_then(Number::as_f64)
    }

    /// Elements of a list, set or tuple.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => Some(v),
            _ => None,
        }
    }

    /// Entries of a map or attributes of an object.
    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Map(m) | Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// Attribute `name` as a string; an error diagnostic naming the attribute if it is null,
    /// unknown or not a string. Use for required attributes.
    pub fn require_str(&self, name: &str) -> Result<&str, Diagnostic> {
        let v = self.get(name);
        v.as_str()
            .ok_or_else(|| expected(name, v, "a known string"))
    }

    /// Attribute `name` as an i64 (see [`Value::require_str`]).
    pub fn require_i64(&self, name: &str) -> Result<i64, Diagnostic> {
        let v = self.get(name);
        v.as_i64()
            .ok_or_else(|| expected(name, v, "a known whole number"))
    }

    /// Attribute `name` as a bool (see [`Value::require_str`]).
    pub fn require_bool(&self, name: &str) -> Result<bool, Diagnostic> {
        let v = self.get(name);
        v.as_bool().ok_or_else(|| expected(name, v, "a known bool"))
    }

    /// Attribute `name` as an optional string: `Ok(None)` when null, an error when unknown or
    /// of another kind.
    pub fn opt_str(&self, name: &str) -> Result<Option<&str>, Diagnostic> {
        match self.get(name) {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s)),
            v => Err(expected(name, v, "a string or null")),
        }
    }

    /// Attribute `name` as an optional i64 (see [`Value::opt_str`]).
    pub fn opt_i64(&self, name: &str) -> Result<Option<i64>, Diagnostic> {
        match self.get(name) {
            Value::Null => Ok(None),
            v => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| expected(name, v, "a whole number or null")),
        }
    }

    /// Attribute `name` as an optional bool (see [`Value::opt_str`]).
    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>, Diagnostic> {
        match self.get(name) {
            Value::Null => Ok(None),
            v => v
                .as_bool()
                .map(Some)
                .ok_or_else(|| expected(name, v, "a bool or null")),
        }
    }

    /// A short name of this value's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Unknown(_) => "unknown",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::Map(_) => "map",
            Value::Object(_) => "object",
            Value::Tuple(_) => "tuple",
        }
    }

    /// A plausible type for this value, used when encoding a value of `dynamic` type.
    /// Empty or mixed collections get `dynamic` elements.
    pub fn infer_type(&self) -> Type {
        fn common(vs: &[Value]) -> Type {
            let mut it = vs.iter().map(Value::infer_type);
            match it.next() {
                Some(first) if it.all(|t| t == first) => first,
                _ => Type::Dynamic,
            }
        }
        match self {
            Value::Null | Value::Unknown(_) => Type::Dynamic,
            Value::Bool(_) => Type::Bool,
            Value::Number(_) => Type::Number,
            Value::String(_) => Type::String,
            Value::List(v) => Type::list(common(v)),
            Value::Set(v) => Type::set(common(v)),
            Value::Tuple(v) => Type::Tuple(v.iter().map(Value::infer_type).collect()),
            Value::Map(m) => Type::map(common(&m.values().cloned().collect::<Vec<_>>())),
            Value::Object(m) => {
                Type::Object(m.iter().map(|(k, v)| (k.clone(), v.infer_type())).collect())
            }
        }
    }
}

fn expected(name: &str, v: &Value, what: &str) -> Diagnostic {
    Diagnostic::error(
        format!("Invalid value for `{name}`"),
        format!("`{name}` must be {what}, but it is {}.", v.kind()),
    )
    .at(AttributePath::attr(name))
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Number(Number::Int(i))
    }
}
impl From<i32> for Value {
    fn from(i: i32) -> Self {
        Value::Number(Number::Int(i64::from(i)))
    }
}
impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Number(Number::Float(f).normalized())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(o: Option<T>) -> Self {
        o.map_or(Value::Null, Into::into)
    }
}
impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Self {
        Value::List(v.into_iter().map(Into::into).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accessors_and_paths() {
        let mut v = Value::object([
            ("name", Value::from("p")),
            ("tags", Value::map([("a", Value::from("b"))])),
            ("list", Value::from(vec![1i64, 2])),
        ]);
        assert_eq!(
            v.at(&AttributePath::attr("list").index(1)).as_i64(),
            Some(2)
        );
        assert_eq!(
            v.at(&AttributePath::attr("tags").key("a")).as_str(),
            Some("b")
        );
        assert!(v.at(&AttributePath::attr("list").index(9)).is_null());
        v.set_attr("extra", Value::unknown());
        assert!(!v.is_wholly_known());
        let e = v.require_str("extra").unwrap_err();
        assert_eq!(e.path, Some(AttributePath::attr("extra")));
        assert!(e.detail.contains("unknown"), "{}", e.detail);
        assert_eq!(v.opt_str("nope"), Ok(None));
    }

    #[test]
    fn numbers_normalise_exactly() {
        assert_eq!(Number::Big("42".into()).normalized(), Number::Int(42));
        assert_eq!(Number::Big("0.5".into()).normalized(), Number::Float(0.5));
        assert_eq!(Number::Float(3.0).normalized(), Number::Int(3));
        let big = "123456789012345678901234567890";
        assert_eq!(
            Number::Big(big.into()).normalized(),
            Number::Big(big.into())
        );
        // 0.1 is not exact in binary: kept as a string.
        assert_eq!(
            Number::Big("0.1".into()).normalized(),
            Number::Big("0.1".into())
        );
    }
}
