//! Helpers shared by the foundation integration tests: JSON requests and snapshot redaction.

use reqwest::{Method, StatusCode};
use serde_json::Value;
use sessions_emulator::testing::TestServer;

/// Sends an ARM request (with a valid token) and returns status, headers and JSON body
/// (`Value::Null` when the body is empty).
pub async fn call(
    srv: &TestServer,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut req = srv.arm(method, path);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.expect("body");
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    (status, headers, json)
}

/// Sends raw bytes as the body.
pub async fn call_raw(
    srv: &TestServer,
    method: Method,
    path: &str,
    body: &'static str,
) -> (StatusCode, Value) {
    let resp = srv
        .arm(method, path)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("send");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

const TIME_KEYS: &[&str] = &[
    "createdAt",
    "lastModifiedAt",
    "startTime",
    "endTime",
    "createdDate",
    "modifiedDate",
];

/// True for a GUID in its 8-4-4-4-12 text form.
pub fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.chars().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

fn redact_str(s: &str, endpoint: &str) -> String {
    let mut out = s.replace(endpoint, "[endpoint]");
    // Replace random GUIDs (the seeded well-known ones start with 00000000-0000-4000-8000).
    let mut i = 0;
    while i + 36 <= out.len() {
        let cand = &out[i..i + 36];
        if out.is_char_boundary(i)
            && out.is_char_boundary(i + 36)
            && is_guid(cand)
            && !cand.starts_with("00000000-0000-4000-8000")
        {
            out.replace_range(i..i + 36, "[guid]");
            i += 6;
        } else {
            i += 1;
        }
    }
    out
}

/// Replaces times, random GUIDs, the endpoint, random domains and IPs for snapshots.
pub fn redact(v: &Value, endpoint: &str) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let nv = if TIME_KEYS.contains(&k.as_str()) && v.is_string() {
                        Value::String("[time]".into())
                    } else if k == "defaultDomain" {
                        Value::String("[domain]".into())
                    } else if k == "staticIp" {
                        Value::String("[ip]".into())
                    } else {
                        redact(v, endpoint)
                    };
                    (k.clone(), nv)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|v| redact(v, endpoint)).collect()),
        Value::String(s) => Value::String(redact_str(s, endpoint)),
        other => other.clone(),
    }
}

/// Path of an absolute URL on the test server (for following Location headers).
pub fn path_of(url: &str, srv: &TestServer) -> String {
    url.strip_prefix(&srv.endpoint).unwrap_or(url).to_string()
}
