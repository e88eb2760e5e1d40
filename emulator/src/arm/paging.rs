//! `{value, nextLink}` list pages over the store. `nextLink` is an absolute URL with the same
//! path, the caller's `api-version`, `$skiptoken` (opaque: base64url of the last key) and `$top`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use super::error::ArmError;
use super::request::ArmQuery;
use crate::state::AppState;
use sessions_runtime::store::{ListFilter, ResourceRecord};

/// Default (and maximum) page size.
pub const PAGE_SIZE: usize = 100;

/// One page of `filter`, rendered with `render`, starting at the query's `$skiptoken`.
/// `path` is the canonical request path (for `nextLink`).
pub async fn list_page(
    state: &AppState,
    filter: ListFilter,
    query: &ArmQuery,
    api_version: &str,
    path: &str,
    render: impl Fn(&ResourceRecord) -> Value,
) -> Result<Value, ArmError> {
    let top = match query.get("$top") {
        None => PAGE_SIZE,
        Some(t) => match t.parse::<usize>() {
            Ok(n) if n >= 1 => n.min(PAGE_SIZE),
            _ => {
                return Err(ArmError::invalid_parameter(
                    "$top",
                    format!("The query parameter '$top' must be a positive integer, got '{t}'."),
                ))
            }
        },
    };
    let after = match query.get("$skiptoken") {
        None => None,
        Some(t) => Some(
            URL_SAFE_NO_PAD
                .decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    ArmError::invalid_parameter(
                        "$skiptoken",
                        "The query parameter '$skiptoken' is invalid; use the nextLink from the previous page unchanged.",
                    )
                })?,
        ),
    };
    let mut records = state
        .store()
        .list_resources(filter, after, Some(top + 1))
        .await?;
    let more = records.len() > top;
    records.truncate(top);
    let value: Vec<Value> = records.iter().map(&render).collect();
    let mut page = json!({ "value": value });
    if more {
        if let Some(last) = records.last() {
            let token = URL_SAFE_NO_PAD.encode(last.key());
            let mut url = format!(
                "{}{path}?api-version={api_version}&$skiptoken={token}",
                state.endpoint()
            );
            if query.get("$top").is_some() {
                url.push_str(&format!("&$top={top}"));
            }
            page["nextLink"] = json!(url);
        }
    }
    Ok(page)
}
