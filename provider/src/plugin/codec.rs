//! The DynamicValue codec: msgpack (what Terraform sends and what we always answer) and JSON
//! (fallback input, stored state), both driven by the schema's implied [`Type`].
//!
//! Wire rules (cty): objects are maps with every attribute; lists, sets and tuples are arrays;
//! numbers are int if exactly i64, float64 if exact, else a decimal string; unknown is ext type
//! 0 (`d4 00 00`), a refined unknown is ext 12 whose payload maps 1 = not null, 2 = string
//! prefix, 3/4 = number lower/upper `[number, inclusive]`, 5/6 = collection length min/max;
//! any other ext decodes as unknown. A `dynamic` value is `[type-json, value]` in msgpack and
//! `{"type":..., "value":...}` in JSON.

use std::collections::BTreeMap;

use rmpv::Value as Mp;
use serde_json::Value as Json;

use super::proto::tfplugin6 as pb;
use super::types::Type;
use super::value::{Number, Refinements, Value};

/// A value that does not fit the expected type, or bytes that are not a value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{context} at `{path}`: {problem}")]
pub struct CodecError {
    /// "cannot decode" / "cannot encode".
    pub context: &'static str,
    /// Path inside the value (`.` for the root).
    pub path: String,
    /// What was wrong.
    pub problem: String,
}

/// Decodes a DynamicValue: msgpack if present, else JSON, else null.
pub fn decode_dynamic(dv: Option<&pb::DynamicValue>, ty: &Type) -> Result<Value, CodecError> {
    match dv {
        Some(dv) if !dv.msgpack.is_empty() => decode_msgpack(&dv.msgpack, ty),
        Some(dv) if !dv.json.is_empty() => from_json_bytes(&dv.json, ty),
        _ => Ok(Value::Null),
    }
}

/// Encodes a value as a msgpack DynamicValue.
pub fn encode_dynamic(v: &Value, ty: &Type) -> Result<pb::DynamicValue, CodecError> {
    Ok(pb::DynamicValue {
        msgpack: encode_msgpack(v, ty)?,
        json: Vec::new(),
    })
}

/// Decodes msgpack bytes.
pub fn decode_msgpack(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    let mut rd = bytes;
    let mp =
        rmpv::decode::read_value(&mut rd).map_err(|e| derr(&[], format!("not msgpack: {e}")))?;
    if !rd.is_empty() {
        return Err(derr(
            &[],
            format!("{} trailing bytes after the value", rd.len()),
        ));
    }
    let mut path = Vec::new();
    from_mp(&mp, ty, &mut path)
}

/// Encodes as msgpack bytes.
pub fn encode_msgpack(v: &Value, ty: &Type) -> Result<Vec<u8>, CodecError> {
    let mut path = Vec::new();
    let mp = to_mp(v, ty, &mut path)?;
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, &mp)
        .map_err(|e| eerr(&[], format!("msgpack write failed: {e}")))?;
    Ok(out)
}

/// Decodes JSON bytes.
pub fn from_json_bytes(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    let json: Json =
        serde_json::from_slice(bytes).map_err(|e| derr(&[], format!("not JSON: {e}")))?;
    from_json_value(&json, ty)
}

/// Decodes a parsed JSON value (e.g. stored state).
pub fn from_json_value(json: &Json, ty: &Type) -> Result<Value, CodecError> {
    let mut path = Vec::new();
    from_json(json, ty, &mut path, false)
}

/// Like [`from_json_value`] but drops object attributes the type does not have (stored state
/// written by an older build of the same schema version, as Terraform's framework does).
pub fn from_json_value_lenient(json: &Json, ty: &Type) -> Result<Value, CodecError> {
    let mut path = Vec::new();
    from_json(json, ty, &mut path, true)
}

/// Encodes as JSON (unknown values are not representable and are an error).
pub fn to_json_value(v: &Value, ty: &Type) -> Result<Json, CodecError> {
    let mut path = Vec::new();
    to_json(v, ty, &mut path)
}

// ---------------------------------------------------------------------------------------------
// msgpack decoding

fn from_mp(mp: &Mp, ty: &Type, path: &mut Vec<String>) -> Result<Value, CodecError> {
    if let Mp::Ext(code, data) = mp {
        return Ok(Value::Unknown(if *code == 12 {
            decode_refinements(data)
        } else {
            Refinements::default()
        }));
    }
    if mp.is_nil() {
        return Ok(Value::Null);
    }
    match ty {
        Type::Dynamic => {
            let Mp::Array(items) = mp else {
                return Err(derr(path, "a dynamic value must be [type, value]".into()));
            };
            let [t, inner] = items.as_slice() else {
                return Err(derr(
                    path,
                    "a dynamic value must be a 2-element array".into(),
                ));
            };
            let tbytes = match t {
                Mp::Binary(b) => b.as_slice(),
                Mp::String(s) => s.as_bytes(),
                _ => return Err(derr(path, "dynamic type must be JSON bytes".into())),
            };
            let inner_ty = Type::from_json_bytes(tbytes).map_err(|e| derr(path, e.to_string()))?;
            from_mp(inner, &inner_ty, path)
        }
        Type::String => match mp {
            Mp::String(s) => s
                .as_str()
                .map(|s| Value::String(s.to_string()))
                .ok_or_else(|| derr(path, "string is not valid UTF-8".into())),
            _ => Err(mismatch(path, "string", mp)),
        },
        Type::Bool => match mp {
            Mp::Boolean(b) => Ok(Value::Bool(*b)),
            _ => Err(mismatch(path, "bool", mp)),
        },
        Type::Number => mp_number(mp)
            .map(Value::Number)
            .ok_or_else(|| mismatch(path, "number", mp)),
        Type::List(e) | Type::Set(e) => {
            let Mp::Array(items) = mp else {
                return Err(mismatch(path, "array", mp));
            };
            let mut out = Vec::with_capacity(items.len());
            for (i, it) in items.iter().enumerate() {
                path.push(format!("[{i}]"));
                out.push(from_mp(it, e, path)?);
                path.pop();
            }
            Ok(if matches!(ty, Type::Set(_)) {
                Value::Set(out)
            } else {
                Value::List(out)
            })
        }
        Type::Tuple(types) => {
            let Mp::Array(items) = mp else {
                return Err(mismatch(path, "array", mp));
            };
            if items.len() != types.len() {
                return Err(derr(
                    path,
                    format!("tuple needs {} elements, got {}", types.len(), items.len()),
                ));
            }
            let mut out = Vec::with_capacity(items.len());
            for (i, (it, t)) in items.iter().zip(types).enumerate() {
                path.push(format!("[{i}]"));
                out.push(from_mp(it, t, path)?);
                path.pop();
            }
            Ok(Value::Tuple(out))
        }
        Type::Map(e) => {
            let Mp::Map(entries) = mp else {
                return Err(mismatch(path, "map", mp));
            };
            let mut out = BTreeMap::new();
            for (k, v) in entries {
                let key = k
                    .as_str()
                    .ok_or_else(|| derr(path, "map keys must be strings".into()))?;
                path.push(format!("[{key:?}]"));
                out.insert(key.to_string(), from_mp(v, e, path)?);
                path.pop();
            }
            Ok(Value::Map(out))
        }
        Type::Object(attrs) => {
            let Mp::Map(entries) = mp else {
                return Err(mismatch(path, "object (map)", mp));
            };
            let mut out: BTreeMap<String, Value> =
                attrs.keys().map(|k| (k.clone(), Value::Null)).collect();
            for (k, v) in entries {
                let key = k
                    .as_str()
                    .ok_or_else(|| derr(path, "object keys must be strings".into()))?;
                let Some(aty) = attrs.get(key) else {
                    return Err(derr(path, format!("unsupported attribute {key:?}")));
                };
                path.push(format!(".{key}"));
                out.insert(key.to_string(), from_mp(v, aty, path)?);
                path.pop();
            }
            Ok(Value::Object(out))
        }
    }
}

fn mp_number(mp: &Mp) -> Option<Number> {
    match mp {
        Mp::Integer(i) => Some(match i.as_i64() {
            Some(v) => Number::Int(v),
            None => Number::Big(i.as_u64()?.to_string()),
        }),
        Mp::F64(f) => Some(Number::Float(*f).normalized()),
        Mp::F32(f) => Some(Number::Float(f64::from(*f)).normalized()),
        Mp::String(s) => parse_number(s.as_str()?),
        _ => None,
    }
}

/// Parses a decimal number string (cty's big-number form); NaN is not a number.
pub fn parse_number(s: &str) -> Option<Number> {
    let t = s.trim();
    let valid = !t.is_empty()
        && t.chars().all(|c| c.is_ascii_digit() || "+-.eE".contains(c))
        && t.chars().any(|c| c.is_ascii_digit())
        && t.parse::<f64>().is_ok();
    valid.then(|| Number::Big(t.to_string()).normalized())
}

fn decode_refinements(data: &[u8]) -> Refinements {
    let mut r = Refinements::default();
    let mut rd = data;
    let Ok(Mp::Map(entries)) = rmpv::decode::read_value(&mut rd) else {
        return r;
    };
    for (k, v) in entries {
        let bound = |v: &Mp| -> Option<(Number, bool)> {
            match v {
                Mp::Array(a) if a.len() == 2 => Some((mp_number(&a[0])?, a[1].as_bool()?)),
                _ => None,
            }
        };
        match k.as_i64() {
            Some(1) => r.not_null = v.as_bool().unwrap_or(false),
            Some(2) => r.string_prefix = v.as_str().map(str::to_string),
            Some(3) => r.number_lower = bound(&v),
            Some(4) => r.number_upper = bound(&v),
            Some(5) => r.length_min = v.as_i64(),
            Some(6) => r.length_max = v.as_i64(),
            _ => {}
        }
    }
    r
}

// ---------------------------------------------------------------------------------------------
// msgpack encoding

fn to_mp(v: &Value, ty: &Type, path: &mut Vec<String>) -> Result<Mp, CodecError> {
    match v {
        Value::Null => return Ok(Mp::Nil),
        Value::Unknown(r) => return Ok(encode_unknown(r)),
        _ => {}
    }
    match (ty, v) {
        (Type::Dynamic, _) => {
            let inner_ty = v.infer_type();
            let inner = to_mp(v, &inner_ty, path)?;
            Ok(Mp::Array(vec![Mp::Binary(inner_ty.to_json_bytes()), inner]))
        }
        (Type::String, Value::String(s)) => Ok(Mp::from(s.as_str())),
        (Type::Bool, Value::Bool(b)) => Ok(Mp::Boolean(*b)),
        (Type::Number, Value::Number(n)) => Ok(number_mp(n)),
        (
            Type::List(e) | Type::Set(e),
            Value::List(items) | Value::Set(items) | Value::Tuple(items),
        ) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, it) in items.iter().enumerate() {
                path.push(format!("[{i}]"));
                out.push(to_mp(it, e, path)?);
                path.pop();
            }
            Ok(Mp::Array(out))
        }
        (Type::Tuple(types), Value::Tuple(items) | Value::List(items)) => {
            if items.len() != types.len() {
                return Err(eerr(
                    path,
                    format!("tuple needs {} elements, got {}", types.len(), items.len()),
                ));
            }
            let mut out = Vec::with_capacity(items.len());
            for (i, (it, t)) in items.iter().zip(types).enumerate() {
                path.push(format!("[{i}]"));
                out.push(to_mp(it, t, path)?);
                path.pop();
            }
            Ok(Mp::Array(out))
        }
        (Type::Map(e), Value::Map(m) | Value::Object(m)) => {
            let mut out = Vec::with_capacity(m.len());
            for (k, it) in m {
                path.push(format!("[{k:?}]"));
                out.push((Mp::from(k.as_str()), to_mp(it, e, path)?));
                path.pop();
            }
            Ok(Mp::Map(out))
        }
        (Type::Object(attrs), Value::Object(m) | Value::Map(m)) => {
            if let Some(extra) = m.keys().find(|k| !attrs.contains_key(*k)) {
                return Err(eerr(
                    path,
                    format!("attribute {extra:?} is not in the schema"),
                ));
            }
            let mut out = Vec::with_capacity(attrs.len());
            for (k, aty) in attrs {
                path.push(format!(".{k}"));
                let item = m.get(k).unwrap_or(&Value::Null);
                out.push((Mp::from(k.as_str()), to_mp(item, aty, path)?));
                path.pop();
            }
            Ok(Mp::Map(out))
        }
        _ => Err(eerr(path, format!("expected {ty}, got a {}", v.kind()))),
    }
}

fn number_mp(n: &Number) -> Mp {
    match n {
        Number::Int(i) => Mp::from(*i),
        Number::Float(f) => Mp::F64(*f),
        Number::Big(s) => Mp::from(s.as_str()),
    }
}

fn encode_unknown(r: &Refinements) -> Mp {
    if r.is_empty() {
        return Mp::Ext(0, vec![0]);
    }
    let mut m = Vec::new();
    if r.not_null {
        m.push((Mp::from(1), Mp::Boolean(true)));
    }
    if let Some(p) = &r.string_prefix {
        m.push((Mp::from(2), Mp::from(p.as_str())));
    }
    if let Some((n, inc)) = &r.number_lower {
        m.push((
            Mp::from(3),
            Mp::Array(vec![number_mp(n), Mp::Boolean(*inc)]),
        ));
    }
    if let Some((n, inc)) = &r.number_upper {
        m.push((
            Mp::from(4),
            Mp::Array(vec![number_mp(n), Mp::Boolean(*inc)]),
        ));
    }
    if let Some(n) = r.length_min {
        m.push((Mp::from(5), Mp::from(n)));
    }
    if let Some(n) = r.length_max {
        m.push((Mp::from(6), Mp::from(n)));
    }
    let mut payload = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = rmpv::encode::write_value(&mut payload, &Mp::Map(m));
    Mp::Ext(12, payload)
}

// ---------------------------------------------------------------------------------------------
// JSON

fn from_json(
    json: &Json,
    ty: &Type,
    path: &mut Vec<String>,
    lenient: bool,
) -> Result<Value, CodecError> {
    if json.is_null() {
        return Ok(Value::Null);
    }
    match ty {
        Type::Dynamic => {
            let (Some(t), Some(inner)) = (json.get("type"), json.get("value")) else {
                return Err(derr(
                    path,
                    "a dynamic JSON value must be {\"type\":..,\"value\":..}".into(),
                ));
            };
            let inner_ty = Type::from_json(t).map_err(|e| derr(path, e.to_string()))?;
            from_json(inner, &inner_ty, path, lenient)
        }
        Type::String => match json {
            Json::String(s) => Ok(Value::String(s.clone())),
            // cty's JSON decoder converts primitives to string.
            Json::Number(n) => Ok(Value::String(n.to_string())),
            Json::Bool(b) => Ok(Value::String(b.to_string())),
            _ => Err(jmismatch(path, "string", json)),
        },
        Type::Bool => match json {
            Json::Bool(b) => Ok(Value::Bool(*b)),
            Json::String(s) if s == "true" || s == "false" => Ok(Value::Bool(s == "true")),
            _ => Err(jmismatch(path, "bool", json)),
        },
        Type::Number => match json {
            Json::Number(n) => n
                .as_i64()
                .map(Number::Int)
                .or_else(|| n.as_u64().map(|u| Number::Big(u.to_string())))
                .or_else(|| n.as_f64().map(|f| Number::Float(f).normalized()))
                .map(Value::Number)
                .ok_or_else(|| jmismatch(path, "number", json)),
            Json::String(s) => parse_number(s)
                .map(Value::Number)
                .ok_or_else(|| jmismatch(path, "number", json)),
            _ => Err(jmismatch(path, "number", json)),
        },
        Type::List(e) | Type::Set(e) => {
            let Json::Array(items) = json else {
                return Err(jmismatch(path, "array", json));
            };
            let mut out = Vec::with_capacity(items.len());
            for (i, it) in items.iter().enumerate() {
                path.push(format!("[{i}]"));
                out.push(from_json(it, e, path, lenient)?);
                path.pop();
            }
            Ok(if matches!(ty, Type::Set(_)) {
                Value::Set(out)
            } else {
                Value::List(out)
            })
        }
        Type::Tuple(types) => {
            let Json::Array(items) = json else {
                return Err(jmismatch(path, "array", json));
            };
            if items.len() != types.len() {
                return Err(derr(
                    path,
                    format!("tuple needs {} elements, got {}", types.len(), items.len()),
                ));
            }
            let mut out = Vec::with_capacity(items.len());
            for (i, (it, t)) in items.iter().zip(types).enumerate() {
                path.push(format!("[{i}]"));
                out.push(from_json(it, t, path, lenient)?);
                path.pop();
            }
            Ok(Value::Tuple(out))
        }
        Type::Map(e) => {
            let Json::Object(m) = json else {
                return Err(jmismatch(path, "object", json));
            };
            let mut out = BTreeMap::new();
            for (k, v) in m {
                path.push(format!("[{k:?}]"));
                out.insert(k.clone(), from_json(v, e, path, lenient)?);
                path.pop();
            }
            Ok(Value::Map(out))
        }
        Type::Object(attrs) => {
            let Json::Object(m) = json else {
                return Err(jmismatch(path, "object", json));
            };
            let mut out: BTreeMap<String, Value> =
                attrs.keys().map(|k| (k.clone(), Value::Null)).collect();
            for (k, v) in m {
                let Some(aty) = attrs.get(k) else {
                    if lenient {
                        continue;
                    }
                    return Err(derr(path, format!("unsupported attribute {k:?}")));
                };
                path.push(format!(".{k}"));
                out.insert(k.clone(), from_json(v, aty, path, lenient)?);
                path.pop();
            }
            Ok(Value::Object(out))
        }
    }
}

fn to_json(v: &Value, ty: &Type, path: &mut Vec<String>) -> Result<Json, CodecError> {
    match v {
        Value::Null => return Ok(Json::Null),
        Value::Unknown(_) => {
            return Err(eerr(
                path,
                "unknown values cannot be written as JSON".into(),
            ));
        }
        _ => {}
    }
    match (ty, v) {
        (Type::Dynamic, _) => {
            let inner_ty = v.infer_type();
            Ok(
                serde_json::json!({"type": inner_ty.to_json(), "value": to_json(v, &inner_ty, path)?}),
            )
        }
        (Type::String, Value::String(s)) => Ok(Json::String(s.clone())),
        (Type::Bool, Value::Bool(b)) => Ok(Json::Bool(*b)),
        (Type::Number, Value::Number(n)) => Ok(match n {
            Number::Int(i) => Json::from(*i),
            Number::Float(f) => serde_json::Number::from_f64(*f)
                .map(Json::Number)
                .unwrap_or_else(|| Json::String(f.to_string())),
            Number::Big(s) => Json::String(s.clone()),
        }),
        (
            Type::List(e) | Type::Set(e),
            Value::List(items) | Value::Set(items) | Value::Tuple(items),
        ) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, it) in items.iter().enumerate() {
                path.push(format!("[{i}]"));
                out.push(to_json(it, e, path)?);
                path.pop();
            }
            Ok(Json::Array(out))
        }
        (Type::Tuple(types), Value::Tuple(items) | Value::List(items))
            if items.len() == types.len() =>
        {
            let mut out = Vec::with_capacity(items.len());
            for (i, (it, t)) in items.iter().zip(types).enumerate() {
                path.push(format!("[{i}]"));
                out.push(to_json(it, t, path)?);
                path.pop();
            }
            Ok(Json::Array(out))
        }
        (Type::Map(e), Value::Map(m) | Value::Object(m)) => {
            let mut out = serde_json::Map::new();
            for (k, it) in m {
                path.push(format!("[{k:?}]"));
                out.insert(k.clone(), to_json(it, e, path)?);
                path.pop();
            }
            Ok(Json::Object(out))
        }
        (Type::Object(attrs), Value::Object(m) | Value::Map(m)) => {
            let mut out = serde_json::Map::new();
            for (k, aty) in attrs {
                path.push(format!(".{k}"));
                out.insert(
                    k.clone(),
                    to_json(m.get(k).unwrap_or(&Value::Null), aty, path)?,
                );
                path.pop();
            }
            Ok(Json::Object(out))
        }
        _ => Err(eerr(path, format!("expected {ty}, got a {}", v.kind()))),
    }
}

// ---------------------------------------------------------------------------------------------
// errors

fn render(path: &[String]) -> String {
    if path.is_empty() {
        ".".into()
    } else {
        path.concat().trim_start_matches('.').to_string()
    }
}

fn derr(path: &[String], problem: String) -> CodecError {
    CodecError {
        context: "cannot decode value",
        path: render(path),
        problem,
    }
}

fn eerr(path: &[String], problem: String) -> CodecError {
    CodecError {
        context: "cannot encode value",
        path: render(path),
        problem,
    }
}

fn mismatch(path: &[String], want: &str, got: &Mp) -> CodecError {
    let kind = match got {
        Mp::Nil => "nil",
        Mp::Boolean(_) => "bool",
        Mp::Integer(_) | Mp::F32(_) | Mp::F64(_) => "number",
        Mp::String(_) => "string",
        Mp::Binary(_) => "binary",
        Mp::Array(_) => "array",
        Mp::Map(_) => "map",
        Mp::Ext(..) => "ext",
    };
    derr(path, format!("expected {want}, got msgpack {kind}"))
}

fn jmismatch(path: &[String], want: &str, got: &Json) -> CodecError {
    let kind = match got {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    };
    derr(path, format!("expected {want}, got JSON {kind}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj_ty() -> Type {
        Type::object([
            ("s", Type::String),
            ("n", Type::Number),
            ("l", Type::list(Type::String)),
            ("d", Type::Dynamic),
        ])
    }

    #[test]
    fn decodes_terraform_unknown_bytes() {
        assert_eq!(
            decode_msgpack(&[0xd4, 0, 0], &Type::String),
            Ok(Value::unknown())
        );
        // Any other ext type is an unknown too.
        assert_eq!(
            decode_msgpack(&[0xd4, 5, 0], &Type::Number),
            Ok(Value::unknown())
        );
        assert_eq!(
            encode_msgpack(&Value::unknown(), &Type::String).unwrap(),
            vec![0xd4, 0, 0]
        );
    }

    #[test]
    fn refined_unknown_round_trips() {
        let r = Refinements {
            not_null: true,
            string_prefix: Some("https://".into()),
            ..Default::default()
        };
        let bytes = encode_msgpack(&Value::Unknown(r.clone()), &Type::String).unwrap();
        assert_eq!(decode_msgpack(&bytes, &Type::String), Ok(Value::Unknown(r)));
        let r = Refinements {
            number_lower: Some((Number::Int(0), true)),
            number_upper: Some((Number::Float(1.5), false)),
            length_min: Some(1),
            length_max: Some(3),
            ..Default::default()
        };
        let bytes = encode_msgpack(&Value::Unknown(r.clone()), &Type::Number).unwrap();
        assert_eq!(decode_msgpack(&bytes, &Type::Number), Ok(Value::Unknown(r)));
    }

    #[test]
    fn objects_get_every_attribute_and_dynamic_carries_type() {
        let v = Value::object([("s", Value::from("x")), ("d", Value::from(vec!["a"]))]);
        let bytes = encode_msgpack(&v, &obj_ty()).unwrap();
        let back = decode_msgpack(&bytes, &obj_ty()).unwrap();
        assert!(back.get("n").is_null());
        assert_eq!(back.get("d"), &Value::List(vec![Value::from("a")]));
        assert_eq!(back.get("s").as_str(), Some("x"));
    }

    #[test]
    fn numbers_stay_exact() {
        let big = "123456789012345678901234567890.5";
        let v = Value::Number(Number::Big(big.into()));
        let bytes = encode_msgpack(&v, &Type::Number).unwrap();
        assert_eq!(decode_msgpack(&bytes, &Type::Number), Ok(v));
        let bytes = encode_msgpack(&Value::from(u64::MAX as f64), &Type::Number).unwrap();
        assert!(decode_msgpack(&bytes, &Type::Number).is_ok());
        // u64 beyond i64 decodes to an exact decimal string.
        let mut raw = Vec::new();
        rmp::encode::write_u64(&mut raw, u64::MAX).unwrap();
        assert_eq!(
            decode_msgpack(&raw, &Type::Number),
            Ok(Value::Number(Number::Big(u64::MAX.to_string())))
        );
    }

    #[test]
    fn errors_name_the_path() {
        let v = Value::object([("l", Value::from(vec![Value::from(1)]))]);
        let e = encode_msgpack(&v, &obj_ty()).unwrap_err();
        assert_eq!(e.path, "l[0]");
        let e = from_json_bytes(br#"{"s":"x","zz":1}"#, &obj_ty()).unwrap_err();
        assert!(e.problem.contains("zz"), "{e}");
        let json: Json = serde_json::from_str(r#"{"s":"x","zz":1}"#).unwrap();
        let v = from_json_value_lenient(&json, &obj_ty()).unwrap();
        assert_eq!(v.get("s").as_str(), Some("x"));
        assert!(decode_msgpack(&[0xa5, b'a'], &Type::String).is_err());
        assert!(decode_msgpack(&[0xc0, 0xc0], &Type::String).is_err());
    }

    #[test]
    fn json_fallback_and_output() {
        let v = from_json_bytes(
            br#"{"s":"x","n":1.5,"l":["a"],"d":{"type":"string","value":"v"}}"#,
            &obj_ty(),
        )
        .unwrap();
        assert_eq!(v.get("d").as_str(), Some("v"));
        assert_eq!(v.get("n").as_f64(), Some(1.5));
        let j = to_json_value(&v, &obj_ty()).unwrap();
        assert_eq!(j["d"]["value"], "v");
        let dv = pb::DynamicValue {
            msgpack: vec![],
            json: br#"{"s":"j"}"#.to_vec(),
        };
        assert_eq!(
            decode_dynamic(Some(&dv), &obj_ty())
                .unwrap()
                .get("s")
                .as_str(),
            Some("j")
        );
        assert_eq!(decode_dynamic(None, &obj_ty()), Ok(Value::Null));
    }
}
