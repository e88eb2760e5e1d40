//! Terraform (cty) types and their JSON type-constraint encoding.
//!
//! Schemas carry attribute types as compact JSON (`"string"`, `["list","string"]`,
//! `["object",{"a":"number"}]`); the msgpack codec walks values against these types.

use std::collections::BTreeMap;

use serde_json::Value as Json;

/// A Terraform type. `Dynamic` means "any type, decided per value" (cty's DynamicPseudoType).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Type {
    /// `"string"`.
    String,
    /// `"number"` (arbitrary precision).
    Number,
    /// `"bool"`.
    Bool,
    /// `"dynamic"`: the concrete type travels with the value.
    Dynamic,
    /// `["list", T]`.
    List(Box<Type>),
    /// `["set", T]`.
    Set(Box<Type>),
    /// `["map", T]`.
    Map(Box<Type>),
    /// `["object", {name: T}]`; every attribute is always present in a value.
    Object(BTreeMap<String, Type>),
    /// `["tuple", [T...]]`.
    Tuple(Vec<Type>),
}

/// A JSON type constraint that is not a Terraform type.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid Terraform type {found}: {reason}; expected \"string\", \"number\", \"bool\", \"dynamic\" or [\"list\"|\"set\"|\"map\"|\"object\"|\"tuple\", ...]")]
pub struct TypeError {
    /// The offending JSON, shortened.
    pub found: String,
    /// What was wrong with it.
    pub reason: &'static str,
}

impl Type {
    /// `list(elem)`.
    pub fn list(elem: Type) -> Type {
        Type::List(Box::new(elem))
    }
    /// `set(elem)`.
    pub fn set(elem: Type) -> Type {
        Type::Set(Box::new(elem))
    }
    /// `map(elem)`.
    pub fn map(elem: Type) -> Type {
        Type::Map(Box::new(elem))
    }
    /// `object({...})` from `(name, type)` pairs.
    pub fn object<I, S>(attrs: I) -> Type
    where
        I: IntoIterator<Item = (S, Type)>,
        S: Into<String>,
    {
        Type::Object(attrs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// The compact JSON type constraint Terraform expects in `Schema.Attribute.type`.
    pub fn to_json(&self) -> Json {
        match self {
            Type::String => Json::from("string"),
            Type::Number => Json::from("number"),
            Type::Bool => Json::from("bool"),
            Type::Dynamic => Json::from("dynamic"),
            Type::List(e) => Json::Array(vec!["list".into(), e.to_json()]),
            Type::Set(e) => Json::Array(vec!["set".into(), e.to_json()]),
            Type::Map(e) => Json::Array(vec!["map".into(), e.to_json()]),
            Type::Object(attrs) => {
                let m = attrs
                    .iter()
                    .map(|(k, t)| (k.clone(), t.to_json()))
                    .collect();
                Json::Array(vec!["object".into(), Json::Object(m)])
            }
            Type::Tuple(elems) => Json::Array(vec![
                "tuple".into(),
                Json::Array(elems.iter().map(Type::to_json).collect()),
            ]),
        }
    }

    /// The JSON type constraint as bytes (what the wire carries).
    pub fn to_json_bytes(&self) -> Vec<u8> {
        self.to_json().to_string().into_bytes()
    }

    /// Parses a JSON type constraint.
    pub fn from_json(json: &Json) -> Result<Type, TypeError> {
        let err = |reason| TypeError {
            found: shorten(json),
            reason,
        };
        match json {
            Json::String(s) => match s.as_str() {
                "string" => Ok(Type::String),
                "number" => Ok(Type::Number),
                "bool" => Ok(Type::Bool),
                "dynamic" => Ok(Type::Dynamic),
                _ => Err(err("unknown primitive type name")),
            },
            Json::Array(items) => {
                let (kind, arg) = match items.as_slice() {
                    [Json::String(kind), arg] => (kind.as_str(), arg),
                    // cty also allows ["object", {...}, [optional attrs]]; the optional list is
                    // only meaningful for type constraints, so it is ignored here.
                    [Json::String(kind), arg, _] if kind == "object" => (kind.as_str(), arg),
                    _ => return Err(err("a compound type is a 2-element array [kind, argument]")),
                };
                match kind {
                    "list" => Ok(Type::list(Type::from_json(arg)?)),
                    "set" => Ok(Type::set(Type::from_json(arg)?)),
                    "map" => Ok(Type::map(Type::from_json(arg)?)),
                    "object" => {
                        let Json::Object(m) = arg else {
                            return Err(err(
                                "an object type needs a JSON object of attribute types",
                            ));
                        };
                        let mut attrs = BTreeMap::new();
                        for (k, v) in m {
                            attrs.insert(k.clone(), Type::from_json(v)?);
                        }
                        Ok(Type::Object(attrs))
                    }
                    "tuple" => {
                        let Json::Array(elems) = arg else {
                            return Err(err("a tuple type needs a JSON array of element types"));
                        };
                        Ok(Type::Tuple(
                            elems
                                .iter()
                                .map(Type::from_json)
                                .collect::<Result<_, _>>()?,
                        ))
                    }
                    _ => Err(err("unknown compound type kind")),
                }
            }
            _ => Err(err("a type is a JSON string or array")),
        }
    }

    /// Parses a JSON type constraint from bytes.
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Type, TypeError> {
        let json: Json = serde_json::from_slice(bytes).map_err(|_| TypeError {
            found: String::from_utf8_lossy(&bytes[..bytes.len().min(60)]).into_owned(),
            reason: "not valid JSON",
        })?;
        Type::from_json(&json)
    }

    /// True if this type or any type inside it is `Dynamic`.
    pub fn has_dynamic(&self) -> bool {
        match self {
            Type::Dynamic => true,
            Type::String | Type::Number | Type::Bool => false,
            Type::List(e) | Type::Set(e) | Type::Map(e) => e.has_dynamic(),
            Type::Object(a) => a.values().any(Type::has_dynamic),
            Type::Tuple(e) => e.iter().any(Type::has_dynamic),
        }
    }
}

impl std::fmt::Display for Type {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

fn shorten(json: &Json) -> String {
    let s = json.to_string();
    if s.len() > 60 {
        let mut end = 60;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &s[..end])
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_nested_types() {
        let t = Type::object([
            ("a", Type::list(Type::String)),
            ("b", Type::Tuple(vec![Type::Number, Type::Dynamic])),
            ("c", Type::map(Type::set(Type::Bool))),
        ]);
        let json = t.to_json();
        assert_eq!(
            json.to_string(),
            r#"["object",{"a":["list","string"],"b":["tuple",["number","dynamic"]],"c":["map",["set","bool"]]}]"#
        );
        assert_eq!(Type::from_json(&json), Ok(t));
    }

    #[test]
    fn rejects_bad_types_with_clear_message() {
        let e = Type::from_json_bytes(br#"["lst","string"]"#).unwrap_err();
        assert!(e.to_string().contains("unknown compound type kind"), "{e}");
        assert!(Type::from_json_bytes(b"42").is_err());
        assert!(Type::from_json_bytes(b"not json").is_err());
    }
}
