//! Managed identities inside sessions: the token issuer behind each session's
//! `IDENTITY_ENDPOINT` (the agent relays requests over the VM's control channel; see
//! ARCHITECTURE.md, "Managed identity in sessions").
//!
//! A pool exposes the identities its `managedIdentitySettings` name with lifecycle `Main` or
//! `All` (`Init` and `None` expose nothing: sessions have no init containers). A request picks
//! one by `client_id`, `principal_id`/`object_id` or `mi_res_id` (the resource id of a
//! user-assigned identity, or the pool's id for the system-assigned one); without any, the
//! system-assigned identity, as Container Apps does. Tokens are signed by the emulator with
//! `oid`/`sub` = the identity's principal id, `appid`/`azp` = its client id, for the audiences
//! the emulator serves (ARM `https://management.azure.com/`, `https://dynamicsessions.io`,
//! `https://api.loganalytics.io`); another `resource` gets 400, as Entra ID answers
//! `AADSTS500011`.

use async_trait::async_trait;
use serde_json::json;

use sessions_runtime::id::ResourceId;
use sessions_runtime::pool::spec::SessionIdentity;
use sessions_runtime::vm::{IdentityAnswer, IdentityQuery, TokenSource};

use super::carry::derived_uuid;
use super::model::SessionPool;
use crate::auth::token_endpoint::audience_for;
use crate::auth::tokens::TOKEN_LIFETIME_SECS;
use crate::state::AppState;

/// One identity a session may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exposed {
    /// `system` for the system-assigned identity, else the user-assigned identity's id.
    pub resource_id: String,
    /// Principal (object) id.
    pub principal_id: String,
    /// Client (application) id.
    pub client_id: String,
}

/// The client id of a pool's system-assigned identity (derived from its principal id).
pub fn system_client_id(principal_id: &str) -> String {
    derived_uuid("system-client", principal_id)
}

/// The identities `pool` exposes to its sessions (empty: sessions get no identity endpoint).
pub fn exposed(pool_id: &ResourceId, pool: &SessionPool) -> Vec<Exposed> {
    let Some(identity) = &pool.identity else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for s in pool.properties.managed_identity_settings.iter().flatten() {
        if !s.lifecycle.is_some_and(|l| l.in_session()) {
            continue;
        }
        let Some(name) = s.identity.as_deref() else {
            continue;
        };
        if name.eq_ignore_ascii_case("system") {
            if let Some(principal) = identity
                .principal_id
                .as_deref()
                .filter(|_| identity.kind.has_system())
            {
                out.push(Exposed {
                    resource_id: pool_id.as_str().to_string(),
                    principal_id: principal.to_string(),
                    client_id: system_client_id(principal),
                });
            }
        } else if let Some(u) = identity
            .user_assigned
            .iter()
            .find(|u| u.id.eq_ignore_ascii_case(name))
        {
            out.push(Exposed {
                resource_id: u.id.clone(),
                principal_id: u.principal_id.clone(),
                client_id: u.client_id.clone(),
            });
        }
    }
    out
}

/// The session identity of a pool for its runtime spec, `None` when it exposes none.
pub fn session_identity(
    state: &AppState,
    pool_id: &ResourceId,
    pool: &SessionPool,
) -> Option<SessionIdentity> {
    let exposed = exposed(pool_id, pool);
    if exposed.is_empty() {
        return None;
    }
    let fingerprint = exposed
        .iter()
        .map(|e| format!("{}|{}|{}", e.resource_id, e.principal_id, e.client_id))
        .collect::<Vec<_>>()
        .join(";");
    let system = exposed
        .iter()
        .find(|e| e.resource_id.eq_ignore_ascii_case(pool_id.as_str()))
        .cloned();
    Some(SessionIdentity {
        fingerprint,
        source: std::sync::Arc::new(PoolTokens {
            state: state.clone(),
            exposed,
            system,
        }),
    })
}

/// The identity `registryCredentials.identity` names, as a token source for image pulls
/// (whatever the `managedIdentitySettings`: pulls are the platform's, not the session's).
/// `None` without one, or when the pool does not have that identity.
pub fn registry_identity(
    state: &AppState,
    pool_id: &ResourceId,
    pool: &SessionPool,
) -> Option<SessionIdentity> {
    let name = pool
        .properties
        .custom_container_template
        .as_ref()?
        .registry_credentials
        .as_ref()?
        .identity
        .as_deref()?;
    let identity = pool.identity.as_ref()?;
    let one = if name.eq_ignore_ascii_case("system") {
        let principal = identity
            .principal_id
            .as_deref()
            .filter(|_| identity.kind.has_system())?;
        Exposed {
            resource_id: pool_id.as_str().to_string(),
            principal_id: principal.to_string(),
            client_id: system_client_id(principal),
        }
    } else {
        let u = identity
            .user_assigned
            .iter()
            .find(|u| u.id.eq_ignore_ascii_case(name))?;
        Exposed {
            resource_id: u.id.clone(),
            principal_id: u.principal_id.clone(),
            client_id: u.client_id.clone(),
        }
    };
    Some(SessionIdentity {
        fingerprint: format!(
            "registry|{}|{}|{}",
            one.resource_id, one.principal_id, one.client_id
        ),
        source: std::sync::Arc::new(PoolTokens {
            state: state.clone(),
            exposed: vec![one.clone()],
            system: Some(one),
        }),
    })
}

/// Issues tokens for the identities one pool exposes.
#[derive(Debug)]
pub struct PoolTokens {
    state: AppState,
    exposed: Vec<Exposed>,
    system: Option<Exposed>,
}

fn bad(error: &str, description: String) -> IdentityAnswer {
    IdentityAnswer {
        status: 400,
        body: json!({"error": error, "error_description": description}),
    }
}

impl PoolTokens {
    /// The identity `q` asks for.
    fn pick(&self, q: &IdentityQuery) -> Result<&Exposed, IdentityAnswer> {
        let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b.trim());
        let by = [
            ("client_id", q.client_id.as_deref()),
            ("principal_id", q.principal_id.as_deref()),
            ("mi_res_id", q.mi_res_id.as_deref()),
        ]
        .into_iter()
        .find_map(|(param, v)| v.map(|v| (param, v)));
        match by {
            Some((param, value)) => self
                .exposed
                .iter()
                .find(|e| match param {
                    "client_id" => eq(&e.client_id, value),
                    "principal_id" => eq(&e.principal_id, value),
                    _ => eq(&e.resource_id, value),
                })
                .ok_or_else(|| {
                    bad(
                        "invalid_request",
                        format!("no managed identity of this session pool matches {param} '{value}'; the pool's managedIdentitySettings must name it with lifecycle Main or All"),
                    )
                }),
            None => self.system.as_ref().ok_or_else(|| {
                bad(
                    "invalid_request",
                    "the session pool exposes no system-assigned identity to its sessions; pass client_id, principal_id or mi_res_id of a user-assigned one".into(),
                )
            }),
        }
    }
}

#[async_trait]
impl TokenSource for PoolTokens {
    async fn token(&self, q: IdentityQuery) -> IdentityAnswer {
        let resource = q.resource.trim().trim_end_matches("/.default").to_string();
        let Some(audience) = audience_for(&resource) else {
            return bad(
                "invalid_resource",
                format!("AADSTS500011: The resource principal named {resource} was not found. The emulator issues tokens for https://management.azure.com/, https://dynamicsessions.io and https://api.loganalytics.io."),
            );
        };
        let id = match self.pick(&q) {
            Ok(id) => id,
            Err(answer) => return answer,
        };
        let now = self.state.now();
        let token = self.state.tokens().issue_managed_identity(
            &id.principal_id,
            &id.client_id,
            &id.resource_id,
            audience,
            now,
        );
        let expires_on = now.unix_timestamp() + TOKEN_LIFETIME_SECS;
        IdentityAnswer {
            status: 200,
            body: json!({
                "access_token": token,
                "expires_on": expires_on.to_string(),
                "expires_in": TOKEN_LIFETIME_SECS.to_string(),
                "resource": q.resource,
                "token_type": "Bearer",
                "client_id": id.client_id,
            }),
        }
    }
}
