//! Shared pieces of ARM resource bodies: timestamps and `systemData`.

use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::auth::Claims;

/// RFC 3339 UTC timestamp as ARM prints them.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// Who made a request, for `systemData` (`createdBy`, `createdByType`).
pub fn actor(claims: Option<&Claims>) -> (String, &'static str) {
    match claims {
        Some(c) if !c.appid.is_empty() => (c.appid.clone(), "Application"),
        Some(c) => (c.oid.clone(), "Application"),
        None => (crate::defaults::CLIENT_ID.to_string(), "Application"),
    }
}

/// `systemData` for a resource written now by `claims`, keeping `created*` of `previous`.
pub fn system_data(
    previous: Option<&Value>,
    claims: Option<&Claims>,
    now: OffsetDateTime,
) -> Value {
    let (who, kind) = actor(claims);
    let now = rfc3339(now);
    let mut sd = json!({
        "createdBy": who,
        "createdByType": kind,
        "createdAt": now,
        "lastModifiedBy": who,
        "lastModifiedByType": kind,
        "lastModifiedAt": now,
    });
    if let Some(prev) = previous.and_then(|p| p.as_object()) {
        for k in ["createdBy", "createdByType", "createdAt"] {
            if let Some(v) = prev.get(k) {
                sd[k] = v.clone();
            }
        }
    }
    sd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_data_keeps_creation() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let first = system_data(None, None, t0);
        let second = system_data(Some(&first), None, t0 + time::Duration::hours(1));
        assert_eq!(second["createdAt"], first["createdAt"]);
        assert_ne!(second["lastModifiedAt"], first["lastModifiedAt"]);
    }
}
