//! Request helpers shared by ARM routes: the query map, lenient JSON body parsing (malformed
//! JSON is a 400 `InvalidRequestContent`, never a rejection page), case-insensitive property
//! lookup, and the `api-version` check.

use std::collections::HashMap;
use std::convert::Infallible;

use axum::extract::FromRequestParts;
use http::request::Parts;
use serde_json::{Map, Value};

use super::error::ArmError;

/// The request's query parameters (last value wins). Never rejects.
#[derive(Debug, Clone, Default)]
pub struct ArmQuery(pub HashMap<String, String>);

impl ArmQuery {
    /// A parameter by exact name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The validated `api-version` (see [`require_api_version`]).
    pub fn api_version(&self, supported: &[&str], resource_type: &str) -> Result<String, ArmError> {
        require_api_version(self.get("api-version"), supported, resource_type)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ArmQuery {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let map = parts
            .uri
            .query()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        Ok(ArmQuery(map))
    }
}

/// Checks `api-version` against `supported` (case-insensitive) and returns the supported
/// spelling. Missing: 400 `MissingApiVersionParameter`; unknown: 400
/// `InvalidApiVersionParameter` listing the supported versions.
pub fn require_api_version(
    given: Option<&str>,
    supported: &[&str],
    resource_type: &str,
) -> Result<String, ArmError> {
    let given = match given {
        Some(v) if !v.trim().is_empty() => v.trim(),
        _ => return Err(ArmError::MissingApiVersionParameter),
    };
    supported
        .iter()
        .find(|s| s.eq_ignore_ascii_case(given))
        .map(|s| s.to_string())
        .ok_or_else(|| ArmError::InvalidApiVersionParameter {
            version: given.to_string(),
            resource_type: resource_type.to_string(),
            supported: supported.join(", "),
        })
}

/// Parses a request body as a JSON object. Empty body, malformed JSON or a non-object is a
/// 400 `InvalidRequestContent` naming the problem.
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, ArmError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ArmError::InvalidRequestContent(
            "the request body is empty; send a JSON object".into(),
        ));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ArmError::InvalidRequestContent(format!("the body is not valid JSON ({e})"))
    })?;
    match value {
        Value::Object(m) => Ok(m),
        other => Err(ArmError::InvalidRequestContent(format!(
            "expected a JSON object, got {}",
            kind(&other)
        ))),
    }
}

/// Name of a JSON value's type for messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A property of `obj` by case-insensitive name (exact match preferred).
pub fn get_ci<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// Optional string property (case-insensitive); null counts as absent; other types are a
/// 400 naming `target`.
pub fn opt_string(
    obj: &Map<String, Value>,
    name: &str,
    target: &str,
) -> Result<Option<String>, ArmError> {
    match get_ci(obj, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(ArmError::invalid_parameter(
            target,
            format!(
                "The property '{target}' must be a string, got {}.",
                kind(other)
            ),
        )),
    }
}

/// Optional `tags` (object of strings); 400 naming `tags` otherwise.
pub fn opt_tags(obj: &Map<String, Value>) -> Result<Option<Map<String, Value>>, ArmError> {
    match get_ci(obj, "tags") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => {
            for (k, v) in m {
                if !v.is_string() {
                    return Err(ArmError::invalid_parameter(
                        format!("tags.{k}"),
                        format!("The tag '{k}' must have a string value, got {}.", kind(v)),
                    ));
                }
            }
            Ok(Some(m.clone()))
        }
        Some(other) => Err(ArmError::invalid_parameter(
            "tags",
            format!(
                "The property 'tags' must be an object of strings, got {}.",
                kind(other)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn api_version_errors() {
        assert_eq!(
            require_api_version(None, &["2021-04-01"], "t"),
            Err(ArmError::MissingApiVersionParameter)
        );
        assert!(matches!(
            require_api_version(Some("1999-01-01"), &["2021-04-01"], "t"),
            Err(ArmError::InvalidApiVersionParameter { .. })
        ));
        assert_eq!(
            require_api_version(Some("2024-02-02-PREVIEW"), &["2024-02-02-preview"], "t"),
            Ok("2024-02-02-preview".into())
        );
    }

    #[test]
    fn body_errors_are_invalid_request_content() {
        for body in [&b""[..], b"{", b"[1]", b"null"] {
            let e = parse_object(body).expect_err("must fail");
            assert_eq!(e.code(), "InvalidRequestContent");
        }
        assert!(parse_object(br#"{"a":1}"#).is_ok());
    }

    #[test]
    fn case_insensitive_get() {
        let m = json!({"Location": "x"});
        let m = m.as_object().expect("object");
        assert_eq!(get_ci(m, "location"), Some(&json!("x")));
        assert_eq!(opt_string(m, "location", "location"), Ok(Some("x".into())));
    }

    proptest! {
        #[test]
        fn parse_object_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_object(&bytes);
        }
    }
}
