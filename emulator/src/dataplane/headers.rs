//! Header and query rewriting of the reverse proxy (RFC 9110 section 7.6.1).
//!
//! Request to the container:
//! - removed: the hop-by-hop headers `Connection` and every header it names, `Keep-Alive`,
//!   `Proxy-*` (incl. `Proxy-Authorization`), `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade`;
//!   the caller's `Authorization` (the pool token never reaches the container); `Host` (replaced
//!   by the session's address);
//! - added: `X-Forwarded-For` (appended to an existing one), `X-Forwarded-Proto`,
//!   `X-Forwarded-Host`;
//! - query: `identifier` and `api-version` are removed, every other parameter is kept in order
//!   and byte-for-byte.
//!
//! Response to the caller: the same hop-by-hop set is removed; everything else (status, headers,
//! body) passes through unchanged.

use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// Hop-by-hop headers that are always removed.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Removes hop-by-hop headers (and those named in `Connection`) in place.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for n in named {
        headers.remove(n);
    }
    for n in HOP_BY_HOP {
        headers.remove(*n);
    }
    let proxy: Vec<HeaderName> = headers
        .keys()
        .filter(|k| k.as_str().starts_with("proxy-"))
        .cloned()
        .collect();
    for n in proxy {
        headers.remove(n);
    }
}

/// Rewrites the caller's headers into those sent to the container.
pub fn request_headers(
    mut headers: HeaderMap,
    client_ip: Option<std::net::IpAddr>,
    proto: &str,
) -> HeaderMap {
    let host = headers.get(header::HOST).cloned();
    strip_hop_by_hop(&mut headers);
    headers.remove(header::AUTHORIZATION);
    headers.remove(header::HOST);
    if let Some(ip) = client_ip {
        let value = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
            Some(prev) if !prev.trim().is_empty() => format!("{prev}, {ip}"),
            _ => ip.to_string(),
        };
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert("x-forwarded-for", v);
        }
    }
    if let Ok(v) = HeaderValue::from_str(proto) {
        headers.insert("x-forwarded-proto", v);
    }
    if let Some(h) = host {
        headers.insert("x-forwarded-host", h);
    }
    headers
}

/// Rewrites the container's headers into those sent back to the caller.
pub fn response_headers(mut headers: HeaderMap) -> HeaderMap {
    strip_hop_by_hop(&mut headers);
    headers
}

/// The query string sent to the container: the caller's, minus `identifier` and `api-version`
/// (matched after percent-decoding the name). Returns `None` when nothing is left.
pub fn forwarded_query(query: Option<&str>) -> Option<String> {
    let query = query?;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| {
            let name = pair.split('=').next().unwrap_or_default();
            let decoded = percent_decode(name);
            !decoded.eq_ignore_ascii_case("identifier")
                && !decoded.eq_ignore_ascii_case("api-version")
        })
        .collect();
    (!kept.is_empty()).then(|| kept.join("&"))
}

/// Decodes `%XX` escapes and `+` of a query component (invalid escapes are kept as-is).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The value of query parameter `name` (first occurrence, percent-decoded).
pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?
        .split('&')
        .filter_map(|pair| {
            let mut it = pair.splitn(2, '=');
            let k = percent_decode(it.next()?);
            let v = it.next().unwrap_or_default();
            k.eq_ignore_ascii_case(name).then(|| percent_decode(v))
        })
        .next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn strips_hop_by_hop_and_auth_and_adds_forwarded() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("connection", "keep-alive, x-secret-hop"),
            ("x-secret-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("proxy-authorization", "Basic x"),
            ("proxy-foo", "1"),
            ("te", "trailers"),
            ("trailer", "x"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "websocket"),
            ("authorization", "Bearer token"),
            ("host", "example.test:7443"),
            ("x-forwarded-for", "10.0.0.1"),
            ("x-custom", "kept"),
            ("content-type", "text/plain"),
        ] {
            h.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        let out = request_headers(h, Some("127.0.0.1".parse().expect("ip")), "https");
        let mut names: Vec<_> = out
            .iter()
            .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or("?")))
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "content-type: text/plain",
                "x-custom: kept",
                "x-forwarded-for: 10.0.0.1, 127.0.0.1",
                "x-forwarded-host: example.test:7443",
                "x-forwarded-proto: https",
            ]
        );
    }

    #[test]
    fn query_loses_identifier_and_api_version_only() {
        assert_eq!(
            forwarded_query(Some(
                "identifier=abcd&a=1&api-version=2025-02-02-preview&b=%20x"
            )),
            Some("a=1&b=%20x".to_string())
        );
        assert_eq!(forwarded_query(Some("identifier=abcd")), None);
        assert_eq!(
            forwarded_query(Some("%69dentifier=abcd&x")),
            Some("x".into())
        );
        assert_eq!(forwarded_query(None), None);
    }

    #[test]
    fn query_param_decodes() {
        assert_eq!(
            query_param(Some("a=1&identifier=a%7Cb%20c+d"), "identifier"),
            Some("a|b c d".to_string())
        );
        assert_eq!(query_param(Some("a=1"), "identifier"), None);
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    proptest! {
        #[test]
        fn percent_decode_never_panics(s in ".{0,64}") {
            let _ = percent_decode(&s);
            let _ = forwarded_query(Some(&s));
        }
    }
}
