//! HTTP as the cases see it: a request is sent, its answer read whole, and both kept as an
//! [`Exchange`] so that a failing case can print the request and the response that failed.
//! Secrets never reach an exchange: `Authorization` is shown as `Bearer [token]` and form
//! bodies of token requests have their `client_secret` / `client_assertion` masked.

use std::fmt;
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use reqwest::Method;
use serde::Serialize;
use serde_json::Value;

/// The longest body text kept in an exchange (requests and responses are cut after it).
const KEEP_BODY: usize = 4096;

/// One request and its answer, as printed for a failing case.
#[derive(Debug, Clone, Serialize)]
pub struct Exchange {
    /// `GET`, `PUT`, ...
    pub method: String,
    /// The full URL.
    pub url: String,
    /// Request headers worth showing (secrets masked).
    pub request_headers: Vec<(String, String)>,
    /// The request body as text (cut at 4 KiB), if any.
    pub request_body: Option<String>,
    /// The answer's status, or `None` when no answer came (`error` says why).
    pub status: Option<u16>,
    /// The answer's headers.
    pub response_headers: Vec<(String, String)>,
    /// The answer's body as text (cut at 4 KiB).
    pub response_body: String,
    /// The transport error, when the request got no answer.
    pub error: Option<String>,
    /// How long it took, in milliseconds.
    pub millis: u64,
}

impl fmt::Display for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "  > {} {}", self.method, self.url)?;
        for (k, v) in &self.request_headers {
            writeln!(f, "  > {k}: {v}")?;
        }
        if let Some(b) = &self.request_body {
            for line in b.lines() {
                writeln!(f, "  > {line}")?;
            }
        }
        match (self.status, &self.error) {
            (Some(s), _) => writeln!(f, "  < {s} ({} ms)", self.millis)?,
            (None, Some(e)) => writeln!(f, "  < no answer: {e}")?,
            (None, None) => writeln!(f, "  < no answer")?,
        }
        for (k, v) in &self.response_headers {
            writeln!(f, "  < {k}: {v}")?;
        }
        for line in self.response_body.lines() {
            writeln!(f, "  < {line}")?;
        }
        Ok(())
    }
}

/// A whole answer.
#[derive(Debug, Clone)]
pub struct Resp {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// Body bytes.
    pub bytes: bytes::Bytes,
    /// The body as JSON (`Null` when empty or not JSON).
    pub json: Value,
}

impl Resp {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// `error.code` of an ARM/data-plane error body, or the flat `code`.
    pub fn error_code(&self) -> Option<&str> {
        self.json["error"]["code"]
            .as_str()
            .or_else(|| self.json["code"].as_str())
    }
}

/// A request being built; sent by [`crate::case::Ctx::send`].
#[derive(Debug, Clone)]
pub struct Req {
    /// Method.
    pub method: Method,
    /// Full URL.
    pub url: String,
    /// Headers to send (name, value).
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Option<Vec<u8>>,
    /// Per-request timeout (default 60 s).
    pub timeout: Duration,
}

impl Req {
    /// A request with no headers and no body.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Req {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: None,
            timeout: Duration::from_secs(60),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// A bearer token.
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }

    /// A JSON body (and its content type).
    pub fn json(mut self, body: &Value) -> Self {
        self.body = Some(body.to_string().into_bytes());
        self.header("content-type", "application/json")
    }

    /// A raw body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// A form body (`application/x-www-form-urlencoded`).
    pub fn form(mut self, pairs: &[(&str, &str)]) -> Self {
        let text = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.body = Some(text.into_bytes());
        self.header("content-type", "application/x-www-form-urlencoded")
    }

    /// A timeout for this request.
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }
}

/// Sends `req` with `client`; returns the answer (or the transport error) and the exchange.
pub async fn send(client: &reqwest::Client, req: Req) -> (Result<Resp, String>, Exchange) {
    let started = Instant::now();
    let mut builder = client
        .request(req.method.clone(), &req.url)
        .timeout(req.timeout);
    for (k, v) in &req.headers {
        builder = builder.header(k, v);
    }
    if let Some(b) = &req.body {
        builder = builder.body(b.clone());
    }
    let mut ex = Exchange {
        method: req.method.to_string(),
        url: req.url.clone(),
        request_headers: req
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), mask_header(k, v)))
            .collect(),
        request_body: req.body.as_deref().map(|b| mask_body(&cut(b))),
        status: None,
        response_headers: Vec::new(),
        response_body: String::new(),
        error: None,
        millis: 0,
    };
    let result = match builder.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            match resp.bytes().await {
                Ok(bytes) => {
                    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                    Ok(Resp {
                        status,
                        headers,
                        bytes,
                        json,
                    })
                }
                Err(e) => Err(format!("reading the body of a {status} answer: {e}")),
            }
        }
        Err(e) => Err(error_chain(&e)),
    };
    ex.millis = started.elapsed().as_millis() as u64;
    match &result {
        Ok(r) => {
            ex.status = Some(r.status);
            ex.response_headers = r
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        mask_header(k.as_str(), v.to_str().unwrap_or("[binary]")),
                    )
                })
                .collect();
            ex.response_body = mask_body(&cut(&r.bytes));
        }
        Err(e) => ex.error = Some(e.clone()),
    }
    (result, ex)
}

/// The error and its sources, joined with `: `.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}

fn cut(b: &[u8]) -> String {
    if b.len() > KEEP_BODY {
        format!(
            "{}... ({} bytes in all)",
            String::from_utf8_lossy(&b[..KEEP_BODY]),
            b.len()
        )
    } else {
        String::from_utf8_lossy(b).into_owned()
    }
}

fn mask_header(name: &str, value: &str) -> String {
    let n = name.to_ascii_lowercase();
    if n == "authorization" {
        match value.split_once(' ') {
            Some((scheme, _)) => format!("{scheme} [token]"),
            None => "[token]".into(),
        }
    } else if n == "x-ms-apikey" || n == "x-identity-header" {
        "[secret]".into()
    } else {
        value.to_string()
    }
}

/// Masks secrets in a body: form fields `client_secret` / `client_assertion`, JSON members
/// `access_token`, `refresh_token`, `client_secret`, `apiKey`.
pub fn mask_body(text: &str) -> String {
    const FORM: [&str; 2] = ["client_secret=", "client_assertion="];
    let mut out = text.to_string();
    for key in FORM {
        if let Some(at) = out.find(key) {
            let start = at + key.len();
            let end = out[start..].find('&').map_or(out.len(), |e| start + e);
            out.replace_range(start..end, "[secret]");
        }
    }
    for key in [
        "\"access_token\":\"",
        "\"refresh_token\":\"",
        "\"client_secret\":\"",
        "\"apiKey\":\"",
    ] {
        let mut from = 0;
        while let Some(at) = out[from..].find(key) {
            let start = from + at + key.len();
            let Some(end) = out[start..].find('"').map(|e| start + e) else {
                break;
            };
            out.replace_range(start..end, "[secret]");
            from = start + "[secret]".len();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_in_bodies_and_headers() {
        assert_eq!(
            mask_body("grant_type=client_credentials&client_secret=s3cr3t&scope=x"),
            "grant_type=client_credentials&client_secret=[secret]&scope=x"
        );
        assert_eq!(
            mask_body(r#"{"access_token":"eyJ.a.b","token_type":"Bearer","apiKey":"k"}"#),
            r#"{"access_token":"[secret]","token_type":"Bearer","apiKey":"[secret]"}"#
        );
        assert_eq!(mask_header("Authorization", "Bearer abc"), "Bearer [token]");
        assert_eq!(mask_header("x-ms-apikey", "abc"), "[secret]");
        assert_eq!(mask_header("content-type", "a/b"), "a/b");
    }

    #[test]
    fn long_bodies_are_cut_with_their_length() {
        let big = vec![b'a'; KEEP_BODY + 10];
        let c = cut(&big);
        assert!(c.ends_with(&format!("... ({} bytes in all)", KEEP_BODY + 10)));
    }

    #[test]
    fn an_exchange_prints_request_then_response() {
        let ex = Exchange {
            method: "PUT".into(),
            url: "https://e/x".into(),
            request_headers: vec![("content-type".into(), "application/json".into())],
            request_body: Some("{}".into()),
            status: Some(400),
            response_headers: vec![],
            response_body: r#"{"error":{"code":"X"}}"#.into(),
            error: None,
            millis: 3,
        };
        let text = ex.to_string();
        assert!(text.starts_with("  > PUT https://e/x\n"), "{text}");
        assert!(text.contains("  < 400 (3 ms)\n"), "{text}");
        assert!(text.contains(r#"  < {"error":{"code":"X"}}"#), "{text}");
    }
}
