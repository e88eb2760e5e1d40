//! A query request, from `GET ?query=&timespan=&workspaces=` or a `POST` body
//! `{"query", "timespan", "workspaces"}` (keys match case-insensitively), plus the `Prefer`
//! header (`include-statistics=true`, `include-render=true`, `wait=N`).

use serde_json::Value;

use super::error::LaError;

/// What to run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryRequest {
    /// The KQL text.
    pub query: String,
    /// ISO 8601 duration or interval limiting `TimeGenerated`.
    pub timespan: Option<String>,
    /// More workspaces (customer ids) to read from.
    pub workspaces: Vec<String>,
}

/// The `Prefer` header's options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prefer {
    /// `include-statistics=true`.
    pub statistics: bool,
    /// `include-render=true`.
    pub render: bool,
}

impl Prefer {
    /// Parses a `Prefer` header (comma-separated `name=value` pairs).
    pub fn parse(header: Option<&str>) -> Prefer {
        let mut p = Prefer::default();
        for part in header.unwrap_or_default().split(',') {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            let on = v.trim().eq_ignore_ascii_case("true");
            match k.trim().to_ascii_lowercase().as_str() {
                "include-statistics" => p.statistics = on,
                "include-render" => p.render = on,
                _ => {}
            }
        }
        p
    }
}

fn missing_query() -> LaError {
    LaError::BadArgument {
        code: "QueryValidationError",
        message: "The 'query' parameter is required: send it in the JSON body ({\"query\": \"...\"}) or as ?query=.".into(),
    }
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// From a GET query string.
pub fn from_query_string(raw: Option<&str>) -> Result<QueryRequest, LaError> {
    let mut r = QueryRequest::default();
    let mut seen = false;
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match k.to_ascii_lowercase().as_str() {
            "query" => {
                r.query = v.into_owned();
                seen = true;
            }
            "timespan" => r.timespan = Some(v.into_owned()).filter(|t| !t.trim().is_empty()),
            "workspaces" => r.workspaces.extend(split_list(&v)),
            _ => {}
        }
    }
    if !seen || r.query.trim().is_empty() {
        return Err(missing_query());
    }
    Ok(r)
}

/// From a POST body.
pub fn from_body(body: &[u8]) -> Result<QueryRequest, LaError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| LaError::BadArgument {
        code: "InvalidBody",
        message: format!("The request body must be JSON such as {{\"query\": \"...\", \"timespan\": \"PT1H\"}}: {e}."),
    })?;
    let Some(obj) = v.as_object() else {
        return Err(LaError::BadArgument {
            code: "InvalidBody",
            message: "The request body must be a JSON object with a 'query' property.".into(),
        });
    };
    let get = |key: &str| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    };
    let query = match get("query") {
        Some(Value::String(q)) if !q.trim().is_empty() => q.clone(),
        Some(Value::String(_)) | None | Some(Value::Null) => return Err(missing_query()),
        Some(other) => {
            return Err(LaError::BadArgument {
                code: "QueryValidationError",
                message: format!("The 'query' property must be a string, got {other}."),
            })
        }
    };
    let timespan = match get("timespan") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) if t.trim().is_empty() => None,
        Some(Value::String(t)) => Some(t.clone()),
        Some(other) => {
            return Err(LaError::BadArgument {
                code: "InvalidTimespanFormat",
                message: format!("The 'timespan' property must be an ISO 8601 duration or interval string such as 'PT1H', got {other}."),
            })
        }
    };
    let workspaces = match get("workspaces") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .flat_map(split_list)
            .collect(),
        Some(Value::String(s)) => split_list(s),
        Some(other) => {
            return Err(LaError::BadArgument {
                code: "QueryValidationError",
                message: format!(
                    "The 'workspaces' property must be an array of workspace ids, got {other}."
                ),
            })
        }
    };
    Ok(QueryRequest {
        query,
        timespan,
        workspaces,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_and_post() {
        let r = from_query_string(Some(
            "query=T%20%7C%20take%201&timespan=PT1H&workspaces=a,b",
        ))
        .unwrap();
        assert_eq!(r.query, "T | take 1");
        assert_eq!(r.timespan.as_deref(), Some("PT1H"));
        assert_eq!(r.workspaces, ["a", "b"]);
        assert!(from_query_string(Some("timespan=PT1H")).is_err());
        let r = from_body(br#"{"Query":"T","timespan":null,"workspaces":["x"]}"#).unwrap();
        assert_eq!(
            (r.query.as_str(), r.timespan, r.workspaces.len()),
            ("T", None, 1)
        );
        assert!(matches!(
            from_body(b"{}"),
            Err(LaError::BadArgument {
                code: "QueryValidationError",
                ..
            })
        ));
        assert!(matches!(
            from_body(b"nope"),
            Err(LaError::BadArgument {
                code: "InvalidBody",
                ..
            })
        ));
        assert!(from_body(br#"{"query":"T","timespan":5}"#).is_err());
    }

    #[test]
    fn prefer_header() {
        let p = Prefer::parse(Some(
            "wait=180, include-statistics=true,include-render=false",
        ));
        assert!(p.statistics && !p.render);
    }
}
