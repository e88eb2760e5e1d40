//! Pool management endpoint answers (`.management/*`, api-version [`API_VERSION`]).

use serde::{Deserialize, Serialize};

/// The data-plane api-version the provider speaks.
pub const API_VERSION: &str = "2025-02-02-preview";

/// One session as `getSession` / `listSessions` describe it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    /// The session identifier.
    #[serde(default)]
    pub identifier: String,
    /// Entity tag.
    #[serde(default)]
    pub etag: Option<String>,
    /// When the session expires (RFC 3339). The TypeSpec spells it `expireAt`.
    #[serde(default, alias = "expireAt")]
    pub expires_at: Option<String>,
    /// When the session was created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// When the session was last used.
    #[serde(default)]
    pub last_accessed_at: Option<String>,
}

/// One page of `listSessions`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionPage {
    /// Sessions (documented shape).
    #[serde(default)]
    pub value: Option<Vec<SessionView>>,
    /// Sessions (TypeSpec shape).
    #[serde(default)]
    pub sessions: Option<Vec<SessionView>>,
    /// Next page, absolute URL, or null.
    #[serde(default)]
    pub next_link: Option<String>,
}

impl SessionPage {
    /// The sessions of this page, whichever field carried them.
    pub fn into_sessions(self) -> Vec<SessionView> {
        self.value.or(self.sessions).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_both_shapes() {
        let a: SessionPage = serde_json::from_str(
            r#"{"value":[{"identifier":"a","etag":"e","expiresAt":"2026-01-01T00:00:00Z"}],"count":1,"nextLink":null}"#,
        )
        .unwrap();
        assert_eq!(a.next_link, None);
        let s = a.into_sessions();
        assert_eq!(s[0].expires_at.as_deref(), Some("2026-01-01T00:00:00Z"));
        let b: SessionPage =
            serde_json::from_str(r#"{"sessions":[{"identifier":"b","expireAt":"x"}]}"#).unwrap();
        assert_eq!(b.into_sessions()[0].expires_at.as_deref(), Some("x"));
    }
}
