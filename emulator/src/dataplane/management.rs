//! `POST {poolManagementEndpoint}/.management/{stopSession|getSession|listSessions}`.
//!
//! - `stopSession?identifier=&api-version=`: 200 `text/plain`
//!   `Session {identifier} in session pool {pool} stopped.`; 404 `SessionNotFound` when nothing
//!   is bound to the identifier.
//! - `getSession?identifier=&api-version=`: 200
//!   `{identifier, etag, expiresAt, createdAt, lastAccessedAt}` (`createdAt` is when the
//!   identifier was bound; `etag` is the session id, which changes when a new session is bound).
//! - `listSessions?api-version=[&skip=N]`: 200 `{value:[...], count, nextLink, sessions}` with
//!   the allocated sessions oldest first, pages of at most 300, `count` = the number of sessions
//!   in this page (as the service answers; the total is the sum over the pages),
//!   `nextLink` absolute (or `null`), `sessions` = alias of `value` for clients of the
//!   code-interpreter shape.
//!
//! Any other operation, or a method other than POST: 400 `SessionRequestNotSupported`.

use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;

use super::error::DataPlaneError;
use super::headers::query_param;
use super::identifier;
use super::paging::{check_api_version, next_link, page, parse_skip};
use sessions_runtime::pool::actor::PoolHandle;
use sessions_runtime::pool::session::{Session, SessionState};

/// Handles one management call. `op` is the path after `.management/`.
pub async fn handle(
    pool: &PoolHandle,
    endpoint: &str,
    method: &Method,
    op: &str,
    query: Option<&str>,
) -> Result<Response, DataPlaneError> {
    let known = ["stopSession", "getSession", "listSessions"];
    let Some(op) = known
        .iter()
        .find(|k| k.eq_ignore_ascii_case(op.trim_end_matches('/')))
    else {
        return Err(DataPlaneError::NotSupported(format!(
            "'.management/{op}' is not a management operation; use .management/stopSession, .management/getSession or .management/listSessions"
        )));
    };
    if method != Method::POST {
        return Err(DataPlaneError::NotSupported(format!(
            ".management/{op} must be called with POST, not {method}"
        )));
    }
    let api_version = check_api_version(query_param(query, "api-version").as_deref())?.to_string();
    let pool_name = pool.context().name().to_string();
    match *op {
        "stopSession" => {
            let id = required_identifier(query)?;
            match pool.stop(&id).await {
                Some(_) => {
                    let mut resp = (
                        StatusCode::OK,
                        format!("Session {id} in session pool {pool_name} stopped."),
                    )
                        .into_response();
                    resp.headers_mut().insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("text/plain; charset=utf-8"),
                    );
                    Ok(resp)
                }
                None => Err(DataPlaneError::SessionNotFound {
                    pool: pool_name,
                    identifier: id,
                }),
            }
        }
        "getSession" => {
            let id = required_identifier(query)?;
            let snap = pool.fresh_snapshot().await;
            let s = snap
                .sessions
                .iter()
                .find(|s| {
                    s.state == SessionState::Allocated && s.identifier.as_deref() == Some(&id)
                })
                .ok_or(DataPlaneError::SessionNotFound {
                    pool: pool_name,
                    identifier: id,
                })?;
            Ok(axum::Json(view(s)).into_response())
        }
        _ => {
            let skip = parse_skip(query_param(query, "skip").as_deref())?;
            let snap = pool.fresh_snapshot().await;
            let mut allocated: Vec<&Session> = snap
                .sessions
                .iter()
                .filter(|s| s.state == SessionState::Allocated)
                .collect();
            allocated.sort_by(|a, b| a.allocated_at.cmp(&b.allocated_at).then(a.id.cmp(&b.id)));
            let (items, next) = page(&allocated, skip);
            let value: Vec<Value> = items.iter().map(|s| view(s)).collect();
            Ok(axum::Json(json!({
                "value": value,
                "count": value.len(),
                "nextLink": next.map(|n| next_link(endpoint, &api_version, n)),
                "sessions": value,
            }))
            .into_response())
        }
    }
}

fn required_identifier(query: Option<&str>) -> Result<String, DataPlaneError> {
    let raw = query_param(query, "identifier").ok_or_else(|| {
        DataPlaneError::validation(
            "identifier",
            identifier::IdentifierError::Missing.to_string(),
        )
    })?;
    identifier::validate(&raw)
        .map(str::to_string)
        .map_err(|e| DataPlaneError::validation("identifier", e.to_string()))
}

fn ts(t: Option<time::OffsetDateTime>) -> Value {
    t.and_then(|t| t.format(&Rfc3339).ok())
        .map(Value::String)
        .unwrap_or(Value::Null)
}

/// The public view of an allocated session.
pub fn view(s: &Session) -> Value {
    json!({
        "identifier": s.identifier,
        "etag": s.id,
        "expiresAt": ts(s.expires_at),
        "createdAt": ts(s.allocated_at),
        "lastAccessedAt": ts(s.last_accessed_at),
    })
}
