//! Request-body limits of every route except the data plane (which streams bodies of any size
//! to the session): ARM (and the other management routes) take at most
//! [`EdgeLimits::arm_body_bytes`], the token endpoint [`EdgeLimits::token_body_bytes`]; a JSON
//! body nested deeper than [`EdgeLimits::json_depth`] is refused before it is parsed. Bodies
//! are read here (up to the limit) and handed on whole, so a route never sees a larger one.
//! Refusals use the surface's own error shape: ARM's `413 RequestEntityTooLarge` and
//! `400 InvalidRequestContent`, the token endpoint's AAD `invalid_request`.

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use crate::arm::error::ArmError;
use crate::auth::token_endpoint::TokenEndpointError;
use crate::config::EdgeLimits;

/// True for the token endpoint's paths (`/{tenant}/oauth2/token`, `/{tenant}/oauth2/v2.0/token`).
fn is_token_path(path: &str) -> bool {
    path.contains("/oauth2/")
}

/// True when `body` is JSON (starts with `{` or `[`) nested deeper than `max` levels. Strings
/// are skipped (brackets inside them do not count); malformed JSON is left to the parser.
pub fn json_too_deep(body: &[u8], max: usize) -> bool {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if !matches!(first, Some(b'{' | b'[')) {
        return false;
    }
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in body {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Reads `req`'s body within the limit for its path; `Err` is the answer refusing it.
pub async fn limit(req: Request, limits: &EdgeLimits) -> Result<Request, Response> {
    let token = is_token_path(req.uri().path());
    let max = if token {
        limits.token_body_bytes
    } else {
        limits.arm_body_bytes
    };
    let too_large = || {
        if token {
            TokenEndpointError::BodyTooLarge(max).into_response()
        } else {
            ArmError::RequestTooLarge(max).into_response()
        }
    };
    let declared = req
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    let (parts, body) = req.into_parts();
    let bytes = match http_body_util::Limited::new(body, max).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return Err(too_large()),
        Err(e) => {
            return Err(ArmError::InvalidRequestContent(format!(
                "the request body could not be read: {e}"
            ))
            .into_response())
        }
    };
    if !token && json_too_deep(&bytes, limits.json_depth) {
        return Err(ArmError::InvalidRequestContent(format!(
            "the JSON is nested deeper than {} levels",
            limits.json_depth
        ))
        .into_response());
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_brackets_outside_strings() {
        assert!(!json_too_deep(br#"{"a":[{"b":1}]}"#, 3));
        assert!(json_too_deep(br#"{"a":[{"b":[1]}]}"#, 3));
        assert!(!json_too_deep(br#"{"a":"[[[[[[[[[[\"[[[["}"#, 2));
        assert!(!json_too_deep(b"not json [[[[[[", 2));
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(json_too_deep(deep.as_bytes(), 64));
    }
}
