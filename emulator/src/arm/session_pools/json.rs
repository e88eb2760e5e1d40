//! Lenient, path-tracking reading of request JSON.
//!
//! The real resource provider matches property names case-insensitively and ignores unknown
//! properties; `null` means "not sent". Every accessor takes the JSON path of the field so that
//! a wrong type becomes a 400 `InvalidRequestContent` whose `target` names the field.

use serde_json::{Map, Value};

use super::error::PoolError;

/// A JSON object together with its path in the request body (`""` for the root).
#[derive(Debug, Clone, Copy)]
pub struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: &'a str,
}

/// Joins a parent path and a child name (`properties` + `secrets` -> `properties.secrets`).
pub fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

/// Path of an array element (`containers` + 0 -> `containers[0]`).
pub fn index(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

/// Name of a JSON value's type, for messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn wrong(path: &str, want: &str, got: &Value) -> PoolError {
    PoolError::content(
        path,
        format!(
            "'{path}' must be {want}, but the request has {}",
            type_name(got)
        ),
    )
}

/// Reads `value` as an object at `path` (the root is allowed to be any object).
pub fn as_obj<'a>(value: &'a Value, path: &'a str) -> Result<Obj<'a>, PoolError> {
    match value {
        Value::Object(map) => Ok(Obj { map, path }),
        other => Err(wrong(
            if path.is_empty() { "body" } else { path },
            "a JSON object",
            other,
        )),
    }
}

/// Reads `value` as a string at `path`.
pub fn as_string(value: &Value, path: &str) -> Result<String, PoolError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        other => Err(wrong(path, "a string", other)),
    }
}

/// Reads `value` as a 64-bit integer at `path` (integral floats such as `600.0` are accepted).
pub fn as_i64(value: &Value, path: &str) -> Result<i64, PoolError> {
    match value {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                return Ok(i);
            }
            match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
                _ => Err(PoolError::content(
                    path,
                    format!("'{path}' must be an integer, got {n}"),
                )),
            }
        }
        other => Err(wrong(path, "an integer", other)),
    }
}

/// Reads `value` as a 32-bit integer at `path`.
pub fn as_i32(value: &Value, path: &str) -> Result<i32, PoolError> {
    let i = as_i64(value, path)?;
    i32::try_from(i).map_err(|_| {
        PoolError::content(path, format!("'{path}' must be a 32-bit integer, got {i}"))
    })
}

/// Reads `value` as a finite number at `path`.
pub fn as_f64(value: &Value, path: &str) -> Result<f64, PoolError> {
    match value {
        Value::Number(n) => n
            .as_f64()
            .filter(|f| f.is_finite())
            .ok_or_else(|| PoolError::content(path, format!("'{path}' must be a finite number"))),
        other => Err(wrong(path, "a number", other)),
    }
}

/// Reads `value` as a boolean at `path` (the strings `"true"`/`"false"` are accepted too, as
/// ARM templates often send them).
pub fn as_bool(value: &Value, path: &str) -> Result<bool, PoolError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(wrong(path, "a boolean", other)),
    }
}

/// Reads `value` as an array at `path`.
pub fn as_array<'a>(value: &'a Value, path: &str) -> Result<&'a Vec<Value>, PoolError> {
    match value {
        Value::Array(a) => Ok(a),
        other => Err(wrong(path, "an array", other)),
    }
}

/// Reads `value` as an array of strings at `path`.
pub fn as_strings(value: &Value, path: &str) -> Result<Vec<String>, PoolError> {
    as_array(value, path)?
        .iter()
        .enumerate()
        .map(|(i, v)| as_string(v, &index(path, i)))
        .collect()
}

impl<'a> Obj<'a> {
    /// This object's path.
    pub fn path(&self) -> &'a str {
        self.path
    }

    /// The underlying map.
    pub fn map(&self) -> &'a Map<String, Value> {
        self.map
    }

    /// The value of `name` (exact match first, then case-insensitive); `null` counts as absent.
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        let v = self.map.get(name).or_else(|| {
            self.map
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })?;
        (!v.is_null()).then_some(v)
    }

    /// Path of child `name`.
    pub fn child(&self, name: &str) -> String {
        join(self.path, name)
    }

    /// Optional string field.
    pub fn string(&self, name: &str) -> Result<Option<String>, PoolError> {
        self.get(name)
            .map(|v| as_string(v, &self.child(name)))
            .transpose()
    }

    /// Optional int32 field.
    pub fn i32(&self, name: &str) -> Result<Option<i32>, PoolError> {
        self.get(name)
            .map(|v| as_i32(v, &self.child(name)))
            .transpose()
    }

    /// Optional int64 field.
    pub fn i64(&self, name: &str) -> Result<Option<i64>, PoolError> {
        self.get(name)
            .map(|v| as_i64(v, &self.child(name)))
            .transpose()
    }

    /// Optional boolean field.
    pub fn bool(&self, name: &str) -> Result<Option<bool>, PoolError> {
        self.get(name)
            .map(|v| as_bool(v, &self.child(name)))
            .transpose()
    }

    /// Optional number field.
    pub fn f64(&self, name: &str) -> Result<Option<f64>, PoolError> {
        self.get(name)
            .map(|v| as_f64(v, &self.child(name)))
            .transpose()
    }

    /// Optional array-of-strings field.
    pub fn strings(&self, name: &str) -> Result<Option<Vec<String>>, PoolError> {
        self.get(name)
            .map(|v| as_strings(v, &self.child(name)))
            .transpose()
    }

    /// Optional array field.
    pub fn array(&self, name: &str) -> Result<Option<&'a Vec<Value>>, PoolError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => as_array(v, &self.child(name)).map(Some),
        }
    }
}

/// Calls `f` with an optional child object, whose path is built and kept alive here.
pub fn with_obj<T>(
    parent: &Obj<'_>,
    name: &str,
    f: impl FnOnce(Obj<'_>) -> Result<T, PoolError>,
) -> Result<Option<T>, PoolError> {
    match parent.get(name) {
        None => Ok(None),
        Some(v) => {
            let path = parent.child(name);
            f(as_obj(v, &path)?).map(Some)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_match_case_insensitively_and_null_is_absent() {
        let v = json!({"Location": "x", "TAGS": null, "location": "exact"});
        let o = as_obj(&v, "").unwrap();
        assert_eq!(o.string("location").unwrap().as_deref(), Some("exact"));
        assert_eq!(o.string("tags").unwrap(), None);
        let v = json!({"MAXconcurrentSESSIONS": 5});
        let o = as_obj(&v, "p").unwrap();
        assert_eq!(o.i32("maxConcurrentSessions").unwrap(), Some(5));
    }

    #[test]
    fn wrong_types_name_the_field() {
        let v = json!({"a": "5", "b": 1.5, "c": 5_000_000_000i64, "d": [1], "e": 600.0});
        let o = as_obj(&v, "properties").unwrap();
        let e = o.i32("a").unwrap_err();
        assert_eq!(e.code, "InvalidRequestContent");
        assert_eq!(e.target.as_deref(), Some("properties.a"));
        assert!(e.message.contains("must be an integer"), "{}", e.message);
        assert_eq!(
            o.i32("b").unwrap_err().target.as_deref(),
            Some("properties.b")
        );
        assert_eq!(
            o.i32("c").unwrap_err().target.as_deref(),
            Some("properties.c")
        );
        assert_eq!(
            o.strings("d").unwrap_err().target.as_deref(),
            Some("properties.d[0]")
        );
        assert_eq!(o.i32("e").unwrap(), Some(600));
        assert_eq!(
            as_obj(&json!([]), "").unwrap_err().target.as_deref(),
            Some("body")
        );
    }

    #[test]
    fn with_obj_builds_child_paths() {
        let v = json!({"scale": {"max": "x"}});
        let o = as_obj(&v, "properties").unwrap();
        let e = with_obj(&o, "Scale", |s| s.i32("max")).unwrap_err();
        assert_eq!(e.target.as_deref(), Some("properties.Scale.max"));
    }
}
