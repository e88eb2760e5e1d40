//! `GET /emulator/v1/consoleLogs`: a pool's console lines in order, whatever the diagnostic
//! settings say (what `sessions-emulator logs POOL [--follow]` reads). An emulator extension, not
//! an Azure surface; it takes a management (ARM) token like the control plane.
//!
//! Query parameters:
//!
//! | name | meaning |
//! |---|---|
//! | `pool` (required) | the pool's ARM id, or its name when one running pool has it |
//! | `identifier` | only lines of the session bound to this identifier |
//! | `since` | only lines of the last N seconds of the emulator's clock |
//! | `after` | only lines after this cursor (the `cursor` of the previous page): follow |
//! | `limit` | most lines (default 100, at most 10,000): the newest ones, or with `after` the oldest ones after it |
//!
//! Answer: `{"pool": id, "cursor": n, "lines": [{"time", "identifier", "session", "container",
//! "stream", "log"}]}`, lines oldest first. Errors: `{"error": {"code", "message"}}` with 400
//! (`InvalidParameter`), 401/403 (token) or 404 (`PoolNotFound`).

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use sessions_runtime::id::ResourceId;
use sessions_runtime::logstore::tail::{TailFilter, TailLine};
use sessions_runtime::logstore::{ticks, TICKS_PER_SECOND};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::auth::check_bearer;
use crate::defaults;
use crate::state::AppState;

/// Path of the route.
pub const PATH: &str = "/emulator/v1/consoleLogs";
/// Default page size.
pub const DEFAULT_LIMIT: usize = 100;
/// Largest page.
pub const MAX_LIMIT: usize = 10_000;

/// The route.
pub fn routes() -> Router<AppState> {
    Router::new().route(PATH, get(console_logs))
}

/// A refused request.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// A parameter is missing or malformed.
    #[error("{0}")]
    InvalidParameter(String),
    /// No such pool.
    #[error("{0}")]
    PoolNotFound(String),
    /// Token refused.
    #[error("{0}")]
    Token(#[from] crate::auth::TokenError),
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            ConsoleError::InvalidParameter(_) => (StatusCode::BAD_REQUEST, "InvalidParameter"),
            ConsoleError::PoolNotFound(_) => (StatusCode::NOT_FOUND, "PoolNotFound"),
            ConsoleError::Token(e) if e.is_forbidden() => {
                (StatusCode::FORBIDDEN, "AuthorizationFailed")
            }
            ConsoleError::Token(_) => (StatusCode::UNAUTHORIZED, "AuthenticationFailed"),
        };
        (
            status,
            Json(json!({"error": {"code": code, "message": self.to_string()}})),
        )
            .into_response()
    }
}

async fn console_logs(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    match run(&state, &headers, raw.as_deref().unwrap_or_default()) {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

fn run(state: &AppState, headers: &HeaderMap, raw: &str) -> Result<Value, ConsoleError> {
    check_bearer(state, headers, defaults::ARM_AUDIENCE)?;
    let mut pool = None;
    let mut filter = TailFilter {
        limit: DEFAULT_LIMIT,
        ..TailFilter::default()
    };
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        let int = |what: &str| -> Result<i64, ConsoleError> {
            v.parse::<i64>().map_err(|_| {
                ConsoleError::InvalidParameter(format!(
                    "The query parameter '{k}' must be {what}, got '{v}'."
                ))
            })
        };
        match k.as_ref() {
            "pool" => pool = Some(v.to_string()),
            "identifier" if !v.is_empty() => filter.identifier = Some(v.to_string()),
            "identifier" => {}
            "since" => {
                let secs = int("a number of seconds")?;
                if secs < 0 {
                    return Err(ConsoleError::InvalidParameter(format!(
                        "The query parameter 'since' must be a number of seconds >= 0, got '{v}'."
                    )));
                }
                filter.since =
                    Some(ticks(state.now()).saturating_sub(secs.saturating_mul(TICKS_PER_SECOND)));
            }
            "after" => filter.after_seq = Some(int("a cursor (an integer)")?),
            "limit" => {
                let n = int("an integer from 1 to 10000")?;
                if !(1..=MAX_LIMIT as i64).contains(&n) {
                    return Err(ConsoleError::InvalidParameter(format!(
                        "The query parameter 'limit' must be an integer from 1 to {MAX_LIMIT}, got '{v}'."
                    )));
                }
                filter.limit = n as usize;
            }
            _ => {}
        }
    }
    let pool = pool.filter(|p| !p.is_empty()).ok_or_else(|| {
        ConsoleError::InvalidParameter(
            "The query parameter 'pool' is required: a session pool's ARM id or name.".into(),
        )
    })?;
    let id = resolve_pool(state, &pool)?;
    filter.pool_key = id.key().to_string();
    let logs = state.pools().logs().ok_or_else(|| {
        ConsoleError::PoolNotFound("This emulator keeps no logs (no log store).".into())
    })?;
    let page = logs.console_lines(&filter);
    Ok(json!({
        "pool": id.as_str(),
        "cursor": page.cursor,
        "lines": page.lines.iter().map(line_json).collect::<Vec<_>>(),
    }))
}

/// The pool named by `pool`: an ARM id, or the name of exactly one running pool.
fn resolve_pool(state: &AppState, pool: &str) -> Result<ResourceId, ConsoleError> {
    let running: Vec<ResourceId> = state
        .pools()
        .pools()
        .iter()
        .map(|h| h.context().resource_id.clone())
        .collect();
    if pool.starts_with('/') {
        let id = ResourceId::parse(pool).map_err(|e| {
            ConsoleError::InvalidParameter(format!(
                "The query parameter 'pool' is not a resource id: {e}"
            ))
        })?;
        return running
            .into_iter()
            .find(|r| r.key() == id.key())
            .ok_or_else(|| {
                ConsoleError::PoolNotFound(format!("No session pool '{pool}' is running."))
            });
    }
    let mut named: Vec<ResourceId> = running
        .into_iter()
        .filter(|r| r.name().eq_ignore_ascii_case(pool))
        .collect();
    match named.len() {
        1 => Ok(named.remove(0)),
        0 => Err(ConsoleError::PoolNotFound(format!(
            "No session pool named '{pool}' is running."
        ))),
        _ => Err(ConsoleError::InvalidParameter(format!(
            "{} session pools are named '{pool}': pass the pool's ARM id ({}).",
            named.len(),
            named
                .iter()
                .map(ResourceId::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn line_json(l: &TailLine) -> Value {
    let time = OffsetDateTime::from_unix_timestamp_nanos(l.time as i128 * 100)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default();
    json!({
        "cursor": l.seq,
        "time": time,
        "identifier": l.identifier,
        "session": l.session,
        "container": l.container,
        "stream": l.stream,
        "log": l.log,
    })
}
