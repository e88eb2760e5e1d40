//! Typed models: one Rust struct per Terraform block, decoded from and encoded to [`Value`]s
//! once. `#[derive(Model)]` (crate `terraform-provider-azuresessions-derive`) generates the
//! schema block, the decoder and the encoder from the struct; field types say the Terraform
//! types.
//!
//! - [`Tf<T>`]: a value that may be null or unknown (as any configuration or plan value may),
//!   else known. Unknown values keep Terraform's refinements, so `decode(encode(m)) == m`
//!   holds exactly and a plan built from a decoded model never changes what Terraform sent.
//! - [`TfValue`]: the Rust types a `Tf<T>` may hold: `String`, `i64` (whole numbers), `bool`,
//!   [`Number`] (any number, kept exactly, e.g. `cpu = 0.1`), lists `Vec<Tf<T>>`, sets
//!   [`SetOf<T>`] and maps `BTreeMap<String, Tf<T>>`.
//! - [`Model`]: what the derive implements; nested blocks are `Tf<Vec<M>>` (list and set
//!   blocks) or `Tf<M>` (single blocks).
//!
//! ```
//! use terraform_provider_azuresessions::plugin::model::{Model, Tf};
//! use terraform_provider_azuresessions::plugin::{AttributePath, Value};
//!
//! /// A probe.
//! #[derive(Debug, Clone, Default, PartialEq, Model)]
//! struct Probe {
//!     /// `Liveness` or `Startup`.
//!     #[tf(required)]
//!     r#type: Tf<String>,
//!     /// Failures before the session is unhealthy.
//!     #[tf(default = 3)]
//!     failure_threshold: Tf<i64>,
//! }
//!
//! let v = Value::object([("type", Value::from("Liveness")), ("failure_threshold", Value::Null)]);
//! let p = Probe::decode(&v, &AttributePath::root()).unwrap();
//! assert_eq!(p.r#type.known().map(String::as_str), Some("Liveness"));
//! assert!(p.failure_threshold.is_null());
//! assert_eq!(p.encode(), v);
//! assert_eq!(Probe::TYPE, "type");
//! assert!(Probe::block().attributes[1].computed); // a default implies optional + computed
//! ```

use std::collections::BTreeMap;

use super::diagnostics::{Diagnostic, Diagnostics};
use super::path::AttributePath;
use super::schema::{Block, BlockNesting};
use super::types::Type;
use super::value::{Number, Refinements, Value};

pub use terraform_provider_azuresessions_derive::Model;

/// A Terraform value of Rust type `T` that may also be null or unknown.
#[derive(Debug, Clone, PartialEq)]
pub enum Tf<T> {
    /// Null: not set.
    Null,
    /// Not known until apply, with what Terraform knows about it.
    Unknown(Refinements),
    /// Known.
    Known(T),
}

// Not derived: `#[derive(Default)]` would require `T: Default`.
#[allow(clippy::derivable_impls)]
impl<T> Default for Tf<T> {
    fn default() -> Self {
        Tf::Null
    }
}

impl<T> From<T> for Tf<T> {
    fn from(v: T) -> Self {
        Tf::Known(v)
    }
}

impl From<&str> for Tf<String> {
    fn from(v: &str) -> Self {
        Tf::Known(v.to_string())
    }
}

impl<T> Tf<T> {
    /// An unrefined unknown value.
    pub fn unknown() -> Self {
        Tf::Unknown(Refinements::default())
    }

    /// `Known(v)` for `Some(v)`, else null.
    pub fn from_option(v: Option<T>) -> Self {
        v.map_or(Tf::Null, Tf::Known)
    }

    /// The known value.
    pub fn known(&self) -> Option<&T> {
        match self {
            Tf::Known(v) => Some(v),
            _ => None,
        }
    }

    /// The known value, mutably.
    pub fn known_mut(&mut self) -> Option<&mut T> {
        match self {
            Tf::Known(v) => Some(v),
            _ => None,
        }
    }

    /// The known value, consuming.
    pub fn into_known(self) -> Option<T> {
        match self {
            Tf::Known(v) => Some(v),
            _ => None,
        }
    }

    /// True for null.
    pub fn is_null(&self) -> bool {
        matches!(self, Tf::Null)
    }

    /// True for unknown.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Tf::Unknown(_))
    }

    /// True for a known value.
    pub fn is_known(&self) -> bool {
        matches!(self, Tf::Known(_))
    }

    /// Maps the known value.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Tf<U> {
        match self {
            Tf::Null => Tf::Null,
            Tf::Unknown(r) => Tf::Unknown(r),
            Tf::Known(v) => Tf::Known(f(v)),
        }
    }

    /// Borrows the known value.
    pub fn as_ref(&self) -> Tf<&T> {
        match self {
            Tf::Null => Tf::Null,
            Tf::Unknown(r) => Tf::Unknown(r.clone()),
            Tf::Known(v) => Tf::Known(v),
        }
    }
}

impl Tf<String> {
    /// The known string.
    pub fn as_str(&self) -> Option<&str> {
        self.known().map(String::as_str)
    }
}

impl Tf<Number> {
    /// The known number as f64 (rounded for decimals binary floats cannot hold).
    pub fn as_f64(&self) -> Option<f64> {
        self.known().and_then(Number::as_f64)
    }
}

impl<T: Clone> Tf<Vec<T>> {
    /// The known elements (empty when null or unknown).
    pub fn items(&self) -> &[T] {
        self.known().map(Vec::as_slice).unwrap_or(&[])
    }

    /// The known elements, mutably (none when null or unknown).
    pub fn items_mut(&mut self) -> &mut [T] {
        self.known_mut().map(Vec::as_mut_slice).unwrap_or(&mut [])
    }

    /// The first known element (the one element of a `max_items = 1` block).
    pub fn first(&self) -> Option<&T> {
        self.items().first()
    }
}

impl<T> Tf<Vec<Tf<T>>> {
    /// The known elements of a known list (unknown elements skipped).
    pub fn known_items(&self) -> impl Iterator<Item = &T> {
        self.known().into_iter().flatten().filter_map(Tf::known)
    }
}

/// A Terraform set of `T` (order as Terraform sent it).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SetOf<T>(pub Vec<Tf<T>>);

impl<T> SetOf<T> {
    /// The known elements.
    pub fn known_items(&self) -> impl Iterator<Item = &T> {
        self.0.iter().filter_map(Tf::known)
    }
}

/// A Rust type a [`Tf`] attribute may hold.
pub trait TfValue: Sized {
    /// The Terraform type.
    fn tf_type() -> Type;
    /// Converts a known, non-null value (a diagnostic at `path` if it is of another kind).
    fn from_known(v: &Value, path: &AttributePath) -> Result<Self, Diagnostic>;
    /// Converts back.
    fn to_value(&self) -> Value;
}

fn wrong(path: &AttributePath, v: &Value, what: &str) -> Diagnostic {
    let name = path.last_attribute().unwrap_or("value");
    Diagnostic::error(
        format!("Invalid value for `{name}`"),
        format!("`{name}` must be {what}, but it is {}.", v.kind()),
    )
    .at(path.clone())
}

impl TfValue for String {
    fn tf_type() -> Type {
        Type::String
    }
    fn from_known(v: &Value, path: &AttributePath) -> Result<Self, Diagnostic> {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| wrong(path, v, "a string"))
    }
    fn to_value(&self) -> Value {
        Value::String(self.clone())
    }
}

impl TfValue for bool {
    fn tf_type() -> Type {
        Type::Bool
    }
    fn from_known(v: &Value, path: &AttributePath) -> Result<Self, Diagnostic> {
        v.as_bool().ok_or_else(|| wrong(path, v, "true or false"))
    }
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
}

impl TfValue for i64 {
    fn tf_type() -> Type {
        Type::Number
    }
    fn from_known(v: &Value, path: &AttributePath) -> Result<Self, Diagnostic> {
        v.as_i64().ok_or_else(|| match v.as_number() {
            Some(n) => {
                let name = path.last_attribute().unwrap_or("value");
                Diagnostic::error(
                    format!("Invalid value for `{name}`"),
                    format!("`{name}` must be a whole number, got {n}."),
                )
                .at(path.clone())
            }
            None => wrong(path, v, "a whole number"),
        })
    }
    fn to_value(&self) -> Value {
        Value::from(*self)
    }
}

impl TfValue for Number {
    fn tf_type() -> Type {
        Type::Number
    }
    fn from_known(v: &Value, path: &AttributePath) -> Result<Self, Diagnostic> {
        v.as_number()
            .cloned()
            .ok_or_else(|| wrong(path, v, "a number"))
    }
    fn to_value(&self) -> Value {
        Value::Number(self.clone())
    }
}

fn elements<T: TfValue>(items: &[Value], path: &AttributePath) -> Result<Vec<Tf<T>>, Diagnostic> {
    items
        .iter()
        .enumerate()
        .map(|(i, e)| Tf::<T>::decode_value(e, &path.clone().index(i as i64)))
        .collect()
}

impl<T: TfValue> TfValue for Vec<Tf<T>> {
    fn tf_type() -> Type {
        Type::list(T::tf_type())
    }
    fn from_known(v: &Value, path: &AttributePath) -> Result<Self, Diagnostic> {
        match v {
            Value::List(items) | Value::Tuple(items) => elements(items, path),
            _ => Err(wrong(path, v, "a list")),
        }
    }
    fn to_value(&self) -> Value {
        Value::List(self.iter().map(Tf::encode_value).collect())
    }
}

impl<T: TfValue> TfValue for SetOf<T> {
    fn tf_type() -> Type {
        Type::set(T::tf_type())
    }
    fn from_known(v: &Value, path: &AttributePath) -> Result<Self, Diagnostic> {
        match v {
            // Set elements have no index: errors point at the set.
            Value::Set(items) | Value::List(items) => items
                .iter()
                .map(|e| Tf::<T>::decode_value(e, path))
                .collect::<Result<_, _>>()
                .map(SetOf),
            _ => Err(wrong(path, v, "a set")),
        }
    }
    fn to_value(&self) -> Value {
        Value::Set(self.0.iter().map(Tf::encode_value).collect())
    }
}

impl<T: TfValue> TfValue for BTreeMap<String, Tf<T>> {
    fn tf_type() -> Type {
        Type::map(T::tf_type())
    }
    fn from_known(v: &Value, path: &AttributePath) -> Result<Self, Diagnostic> {
        match v {
            Value::Map(m) | Value::Object(m) => m
                .iter()
                .map(|(k, e)| Ok((k.clone(), Tf::<T>::decode_value(e, &path.clone().key(k))?)))
                .collect(),
            _ => Err(wrong(path, v, "a map")),
        }
    }
    fn to_value(&self) -> Value {
        Value::Map(
            self.iter()
                .map(|(k, v)| (k.clone(), v.encode_value()))
                .collect(),
        )
    }
}

impl<T: TfValue> Tf<T> {
    /// Decodes a value of any state (null, unknown, known).
    pub fn decode_value(v: &Value, path: &AttributePath) -> Result<Self, Diagnostic> {
        match v {
            Value::Null => Ok(Tf::Null),
            Value::Unknown(r) => Ok(Tf::Unknown(r.clone())),
            v => T::from_known(v, path).map(Tf::Known),
        }
    }

    /// Encodes back.
    pub fn encode_value(&self) -> Value {
        match self {
            Tf::Null => Value::Null,
            Tf::Unknown(r) => Value::Unknown(r.clone()),
            Tf::Known(v) => v.to_value(),
        }
    }
}

/// An attribute field of a model (implemented for `Tf<T: TfValue>`; used by the derive).
pub trait AttrField: Sized {
    /// The Terraform type.
    fn tf_type() -> Type;
    /// Decodes the attribute's value.
    fn decode_field(v: &Value, path: &AttributePath) -> Result<Self, Diagnostic>;
    /// Encodes it.
    fn encode_field(&self) -> Value;
}

impl<T: TfValue> AttrField for Tf<T> {
    fn tf_type() -> Type {
        T::tf_type()
    }
    fn decode_field(v: &Value, path: &AttributePath) -> Result<Self, Diagnostic> {
        Tf::decode_value(v, path)
    }
    fn encode_field(&self) -> Value {
        self.encode_value()
    }
}

/// A typed Terraform block (what `#[derive(Model)]` implements).
pub trait Model: Sized {
    /// The schema block.
    fn block() -> Block;
    /// Decodes an object value; every problem is a diagnostic at its attribute path.
    fn decode(value: &Value, path: &AttributePath) -> Result<Self, Diagnostics>;
    /// Encodes back into an object value.
    fn encode(&self) -> Value;

    /// Decodes a top-level value (root path).
    fn from_value(value: &Value) -> Result<Self, Diagnostics> {
        Self::decode(value, &AttributePath::root())
    }
}

/// A nested-block (or nested-attribute) field: `Tf<Vec<M>>` for list and set nesting, `Tf<M>`
/// for single nesting. Used by the derive.
pub trait BlockField: Sized {
    /// The nested model's block.
    fn model_block() -> Block;
    /// Decodes the block's value.
    fn decode_field(
        v: &Value,
        path: &AttributePath,
        nesting: BlockNesting,
    ) -> Result<Self, Diagnostics>;
    /// Encodes it.
    fn encode_field(&self, nesting: BlockNesting) -> Value;
}

impl<M: Model> BlockField for Tf<Vec<M>> {
    fn model_block() -> Block {
        M::block()
    }
    fn decode_field(
        v: &Value,
        path: &AttributePath,
        nesting: BlockNesting,
    ) -> Result<Self, Diagnostics> {
        match v {
            Value::Null => Ok(Tf::Null),
            Value::Unknown(r) => Ok(Tf::Unknown(r.clone())),
            Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut diags = Diagnostics::new();
                for (i, it) in items.iter().enumerate() {
                    // Set elements cannot be addressed: their errors point at the set.
                    let p = if nesting == BlockNesting::Set {
                        path.clone()
                    } else {
                        path.clone().index(i as i64)
                    };
                    match M::decode(it, &p) {
                        Ok(m) => out.push(m),
                        Err(d) => {
                            diags.extend(d);
                        }
                    }
                }
                if diags.has_errors() {
                    Err(diags)
                } else {
                    Ok(Tf::Known(out))
                }
            }
            other => Err(wrong(path, other, "a list of blocks").into()),
        }
    }
    fn encode_field(&self, nesting: BlockNesting) -> Value {
        match self {
            Tf::Null => Value::Null,
            Tf::Unknown(r) => Value::Unknown(r.clone()),
            Tf::Known(items) => {
                let items = items.iter().map(Model::encode).collect();
                if nesting == BlockNesting::Set {
                    Value::Set(items)
                } else {
                    Value::List(items)
                }
            }
        }
    }
}

/// Single nesting (`timeouts { }`).
impl<M: Model> BlockField for Tf<M> {
    fn model_block() -> Block {
        M::block()
    }
    fn decode_field(
        v: &Value,
        path: &AttributePath,
        _nesting: BlockNesting,
    ) -> Result<Self, Diagnostics> {
        match v {
            Value::Null => Ok(Tf::Null),
            Value::Unknown(r) => Ok(Tf::Unknown(r.clone())),
            v => M::decode(v, path).map(Tf::Known),
        }
    }
    fn encode_field(&self, _nesting: BlockNesting) -> Value {
        match self {
            Tf::Null => Value::Null,
            Tf::Unknown(r) => Value::Unknown(r.clone()),
            Tf::Known(m) => m.encode(),
        }
    }
}

/// The value itself if it is an object, else a diagnostic at `path` (used by the derive).
pub fn expect_object<'a>(v: &'a Value, path: &AttributePath) -> Result<&'a Value, Diagnostics> {
    match v {
        Value::Object(_) => Ok(v),
        other => Err(wrong(path, other, "an object").into()),
    }
}
