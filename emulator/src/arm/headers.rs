//! Middleware adding ARM's tracing headers to every ARM response: `x-ms-request-id`,
//! `x-ms-correlation-request-id` (echoes the client's, else new), `x-ms-client-request-id`
//! (echoed when sent), `x-ms-routing-request-id`.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderValue;

/// Adds the ARM tracing headers.
pub async fn arm_headers(req: Request, next: Next) -> Response {
    let correlation = req.headers().get("x-ms-correlation-request-id").cloned();
    let client_request = req.headers().get("x-ms-client-request-id").cloned();
    let mut resp = next.run(req).await;
    decorate(correlation, client_request, &mut resp);
    resp
}

/// Adds the headers to `resp` given the request's correlation and client request ids.
pub fn decorate(
    correlation: Option<HeaderValue>,
    client_request: Option<HeaderValue>,
    resp: &mut Response,
) {
    let request_id = uuid::Uuid::new_v4().to_string();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert("x-ms-request-id", v.clone());
        h.insert("x-ms-routing-request-id", v.clone());
        h.insert("x-ms-correlation-request-id", correlation.unwrap_or(v));
    }
    if let Some(c) = client_request {
        h.insert("x-ms-client-request-id", c);
    }
}
