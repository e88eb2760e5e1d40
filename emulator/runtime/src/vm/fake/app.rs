//! The HTTP behaviour of a fake session: the same routes and answers as the sample session
//! image (`examples/session-image`), served in-process over hyper.
//!
//! | Route | Answer |
//! |---|---|
//! | `GET /` (and any unmatched path/method) | JSON echo: `method`, `path`, `query_string`, `query`, `headers`, `body_bytes`, `kernel` (`"fake"`), `hostname` (session id), `random`, `pid` |
//! | `GET /health`, `GET /ready` | 200, or 503 after `POST /unhealthy` (`POST /healthy` restores) |
//! | `POST /log?stream=stdout\|stderr&line=TEXT` | emits a [`LogLine`] |
//! | `POST /exit?code=N` | answers, then the "process" exits with N |
//! | `GET /sleep?ms=N` | answers after N ms |
//! | `POST /echo` | streams the request body back |
//!
//! A known path with another method answers 405 with an `Allow` header; an echoed body above
//! [`MAX_ECHO_BODY`] answers 413.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Either, Full, Limited};
use hyper::body::Incoming;
use serde_json::json;
use tokio::sync::mpsc;

use crate::vm::backend::{LogLine, LogStream};

/// Longest `GET /sleep` we honour (10 minutes).
const MAX_SLEEP_MS: u64 = 600_000;
/// Largest request body the JSON echo reads.
pub const MAX_ECHO_BODY: usize = 2 * 1024 * 1024;

/// A response body: a buffered one, or the request body streamed back (`POST /echo`).
pub(crate) type Body = Either<Full<Bytes>, Incoming>;

/// Shared state of one fake session's HTTP server.
pub(crate) struct App {
    /// Session id, answered as `hostname`.
    pub session_id: String,
    /// Per-session random value, answered as `random`.
    pub random: String,
    /// Whether `/health` and `/ready` answer 200.
    pub healthy: AtomicBool,
    /// Health never turns 200.
    pub never_ready: bool,
    /// Requests answered so far.
    pub requests: AtomicU32,
    /// Exit (code 0) after this many requests.
    pub exit_after: Option<u32>,
    /// Where log lines go (dropped when full).
    pub logs: mpsc::Sender<LogLine>,
    /// Asks the session task to exit with a code once the current responses are written.
    pub exit: mpsc::UnboundedSender<i32>,
}

/// Serves one request, then counts it (and exits after `exit_after` answers).
pub(crate) async fn serve(
    app: Arc<App>,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let response = route(&app, request).await;
    let answered = app
        .requests
        .fetch_add(1, Ordering::SeqCst)
        .saturating_add(1);
    if app.exit_after == Some(answered) {
        let _ = app.exit.send(0);
    }
    Ok(response)
}

async fn route(app: &App, request: Request<Incoming>) -> Response<Body> {
    let method = request.method().clone();
    let is = |m: &Method| method == *m || (*m == Method::GET && method == Method::HEAD);
    let allowed = |allow: &'static str| not_allowed(allow);
    match request.uri().path() {
        "/health" | "/ready" if is(&Method::GET) => health(app),
        "/health" | "/ready" => allowed("GET,HEAD"),
        "/healthy" if is(&Method::POST) => set_health(app, true),
        "/unhealthy" if is(&Method::POST) => set_health(app, false),
        "/log" if is(&Method::POST) => log(app, request.uri().query()),
        "/exit" if is(&Method::POST) => exit(app, request.uri().query()),
        "/sleep" if is(&Method::GET) => sleep(request.uri().query()).await,
        "/echo" if is(&Method::POST) => Response::new(Either::Right(request.into_body())),
        "/healthy" | "/unhealthy" | "/log" | "/exit" | "/echo" => allowed("POST"),
        "/sleep" => allowed("GET,HEAD"),
        _ => echo(app, request).await,
    }
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Either::Left(Full::new(body.into())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn json_response(value: &serde_json::Value) -> Response<Body> {
    let mut r = Response::new(Either::Left(Full::new(Bytes::from(value.to_string()))));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn not_allowed(allow: &'static str) -> Response<Body> {
    let mut r = Response::new(Either::Left(Full::new(Bytes::new())));
    *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    r
}

fn bad_request(message: String) -> Response<Body> {
    text(StatusCode::BAD_REQUEST, format!("{message}\n"))
}

fn query(raw: Option<&str>) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

async fn echo(app: &App, request: Request<Incoming>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_ECHO_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return text(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the request body is larger than {MAX_ECHO_BODY} bytes\n"),
            )
        }
    };
    let query_string = parts.uri.query().unwrap_or("");
    let headers: BTreeMap<String, String> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    json_response(&json!({
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query_string": query_string,
        "query": query(Some(query_string)),
        "headers": headers,
        "body_bytes": body.len(),
        "kernel": "fake",
        "hostname": app.session_id,
        "random": app.random,
        "pid": 1,
    }))
}

fn health(app: &App) -> Response<Body> {
    if app.healthy.load(Ordering::SeqCst) && !app.never_ready {
        text(StatusCode::OK, "ok\n")
    } else {
        text(StatusCode::SERVICE_UNAVAILABLE, "unhealthy\n")
    }
}

fn set_health(app: &App, healthy: bool) -> Response<Body> {
    app.healthy.store(healthy, Ordering::SeqCst);
    text(
        StatusCode::OK,
        if healthy { "healthy\n" } else { "unhealthy\n" },
    )
}

fn log(app: &App, raw: Option<&str>) -> Response<Body> {
    let q = query(raw);
    let stream = match q.get("stream").map_or("stdout", String::as_str) {
        "stdout" => LogStream::Stdout,
        "stderr" => LogStream::Stderr,
        other => {
            return bad_request(format!(
                "query `stream` must be stdout or stderr, got {other:?}"
            ))
        }
    };
    let line = q.get("line").cloned().unwrap_or_default();
    let _ = app.logs.try_send(LogLine::now(stream, line));
    text(StatusCode::OK, "logged\n")
}

fn exit(app: &App, raw: Option<&str>) -> Response<Body> {
    let q = query(raw);
    let code = match q.get("code").map_or("0", String::as_str).parse::<i32>() {
        Ok(code) => code,
        Err(_) => return bad_request("query `code` must be an integer exit code".into()),
    };
    let _ = app.exit.send(code);
    text(StatusCode::OK, format!("exiting with {code}\n"))
}

async fn sleep(raw: Option<&str>) -> Response<Body> {
    let q = query(raw);
    let ms = match q.get("ms").map_or("0", String::as_str).parse::<u64>() {
        Ok(ms) if ms <= MAX_SLEEP_MS => ms,
        _ => {
            return bad_request(format!(
                "query `ms` must be a whole number of milliseconds up to {MAX_SLEEP_MS}"
            ))
        }
    };
    tokio::time::sleep(Duration::from_millis(ms)).await;
    json_response(&json!({ "slept_ms": ms }))
}
