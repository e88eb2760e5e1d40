//! The HTTP behaviour of a fake session: the same routes and answers as the sample session
//! image (`examples/session-image`), served in-process.
//!
//! | Route | Answer |
//! |---|---|
//! | `GET /` (and any unmatched path/method) | JSON echo: `method`, `path`, `query_string`, `query`, `headers`, `body_bytes`, `kernel` (`"fake"`), `hostname` (session id), `random`, `pid` |
//! | `GET /health`, `GET /ready` | 200, or 503 after `POST /unhealthy` (`POST /healthy` restores) |
//! | `POST /log?stream=stdout\|stderr&line=TEXT` | emits a [`LogLine`] |
//! | `POST /exit?code=N` | answers, then the "process" exits with N |
//! | `GET /sleep?ms=N` | answers after N ms |
//! | `POST /echo` | streams the request body back |

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc;

use crate::vm::backend::{LogLine, LogStream};

/// Longest `GET /sleep` we honour (10 minutes).
const MAX_SLEEP_MS: u64 = 600_000;

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

/// The router of one fake session.
pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", any(echo))
        .route("/health", get(health))
        .route("/ready", get(health))
        .route("/healthy", post(set_healthy))
        .route("/unhealthy", post(set_unhealthy))
        .route("/log", post(log))
        .route("/exit", post(exit))
        .route("/sleep", get(sleep))
        .route("/echo", post(echo_body))
        .fallback(echo)
        .layer(middleware::from_fn_with_state(app.clone(), count_requests))
        .with_state(app)
}

async fn count_requests(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let answered = app
        .requests
        .fetch_add(1, Ordering::SeqCst)
        .saturating_add(1);
    if app.exit_after == Some(answered) {
        let _ = app.exit.send(0);
    }
    response
}

async fn echo(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Json<serde_json::Value> {
    let query_string = uri.query().unwrap_or("");
    let query: BTreeMap<String, String> = url::form_urlencoded::parse(query_string.as_bytes())
        .into_owned()
        .collect();
    let headers: BTreeMap<String, String> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    Json(json!({
        "method": method.as_str(),
        "path": uri.path(),
        "query_string": query_string,
        "query": query,
        "headers": headers,
        "body_bytes": body.len(),
        "kernel": "fake",
        "hostname": app.session_id,
        "random": app.random,
        "pid": 1,
    }))
}

async fn health(State(app): State<Arc<App>>) -> Response {
    if app.healthy.load(Ordering::SeqCst) && !app.never_ready {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "unhealthy\n").into_response()
    }
}

async fn set_healthy(State(app): State<Arc<App>>) -> &'static str {
    app.healthy.store(true, Ordering::SeqCst);
    "healthy\n"
}

async fn set_unhealthy(State(app): State<Arc<App>>) -> &'static str {
    app.healthy.store(false, Ordering::SeqCst);
    "unhealthy\n"
}

#[derive(Deserialize)]
struct LogParams {
    stream: Option<String>,
    line: Option<String>,
}

async fn log(State(app): State<Arc<App>>, Query(p): Query<LogParams>) -> Response {
    let stream = match p.stream.as_deref().unwrap_or("stdout") {
        "stdout" => LogStream::Stdout,
        "stderr" => LogStream::Stderr,
        other => {
            return bad_request(format!(
                "query `stream` must be stdout or stderr, got {other:?}"
            ))
        }
    };
    let line = p.line.unwrap_or_default();
    let _ = app.logs.try_send(LogLine::now(stream, line));
    (StatusCode::OK, "logged\n").into_response()
}

#[derive(Deserialize)]
struct ExitParams {
    code: Option<String>,
}

async fn exit(State(app): State<Arc<App>>, Query(p): Query<ExitParams>) -> Response {
    let code = match p.code.as_deref().unwrap_or("0").parse::<i32>() {
        Ok(code) => code,
        Err(_) => return bad_request("query `code` must be an integer exit code".into()),
    };
    let _ = app.exit.send(code);
    (StatusCode::OK, format!("exiting with {code}\n")).into_response()
}

#[derive(Deserialize)]
struct SleepParams {
    ms: Option<String>,
}

async fn sleep(Query(p): Query<SleepParams>) -> Response {
    let ms = match p.ms.as_deref().unwrap_or("0").parse::<u64>() {
        Ok(ms) if ms <= MAX_SLEEP_MS => ms,
        _ => {
            return bad_request(format!(
                "query `ms` must be a whole number of milliseconds up to {MAX_SLEEP_MS}"
            ))
        }
    };
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Json(json!({ "slept_ms": ms })).into_response()
}

async fn echo_body(request: Request) -> Response {
    Response::new(Body::from_stream(request.into_body().into_data_stream()))
}

fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, format!("{message}\n")).into_response()
}
