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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arm::session_pools::model::{
        CustomContainerTemplate, Identity, IdentityLifecycle, IdentityType, ManagedIdentitySetting,
        Properties, RegistryCredentials, UserAssignedIdentity,
    };
    use crate::config::Config;

    const UA: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/w";

    fn pool_id() -> ResourceId {
        ResourceId::parse(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/sessionPools/p",
        )
        .expect("id")
    }

    fn pool(kind: IdentityType, settings: &[(&str, IdentityLifecycle)]) -> SessionPool {
        SessionPool {
            location: "eastus".into(),
            tags: None,
            identity: Some(Identity {
                kind,
                principal_id: kind.has_system().then(|| "p-sys".to_string()),
                tenant_id: None,
                user_assigned: vec![UserAssignedIdentity {
                    id: UA.into(),
                    principal_id: "p-ua".into(),
                    client_id: "c-ua".into(),
                }],
            }),
            properties: Properties {
                managed_identity_settings: Some(
                    settings
                        .iter()
                        .map(|(identity, lifecycle)| ManagedIdentitySetting {
                            identity: Some(identity.to_string()),
                            lifecycle: Some(*lifecycle),
                        })
                        .collect(),
                ),
                ..Default::default()
            },
        }
    }

    fn principals(pool: &SessionPool) -> Vec<String> {
        exposed(&pool_id(), pool)
            .into_iter()
            .map(|e| e.principal_id)
            .collect()
    }

    #[test]
    fn main_and_all_expose_none_and_init_do_not() {
        use IdentityLifecycle::*;
        let both = IdentityType::SystemAndUserAssigned;
        assert_eq!(
            principals(&pool(both, &[("system", Main), (UA, All)])),
            ["p-sys", "p-ua"]
        );
        assert!(principals(&pool(both, &[("system", None), (UA, Init)])).is_empty());
        // `system` needs a system-assigned identity; ids match case-insensitively.
        let user_only = IdentityType::UserAssigned;
        assert_eq!(
            principals(&pool(
                user_only,
                &[("System", Main), (&UA.to_uppercase(), Main)]
            )),
            ["p-ua"]
        );
        let mut no_identity = pool(both, &[("system", Main)]);
        no_identity.identity = Option::None;
        assert!(principals(&no_identity).is_empty());
    }

    fn state() -> AppState {
        AppState::with_clock(
            Config::in_memory("http://127.0.0.1:1"),
            std::sync::Arc::new(crate::clock::SystemClock),
        )
        .expect("state")
    }

    async fn ask(
        source: &SessionIdentity,
        resource: &str,
        client_id: Option<&str>,
    ) -> IdentityAnswer {
        source
            .source
            .token(IdentityQuery {
                resource: resource.into(),
                client_id: client_id.map(str::to_string),
                ..IdentityQuery::default()
            })
            .await
    }

    #[tokio::test]
    async fn session_tokens_pick_the_identity_and_refuse_unknown_audiences() {
        use IdentityLifecycle::*;
        let state = state();
        let p = pool(
            IdentityType::SystemAndUserAssigned,
            &[("system", Main), (UA, All)],
        );
        let source = session_identity(&state, &pool_id(), &p).expect("exposed");
        let sys = ask(&source, "https://management.azure.com/", Option::None).await;
        assert_eq!(sys.status, 200, "{}", sys.body);
        let claims = state
            .tokens()
            .validate(
                sys.body["access_token"].as_str().expect("token"),
                "https://management.azure.com/",
                state.now(),
            )
            .expect("valid");
        assert_eq!(claims.oid, "p-sys");
        let ua = ask(&source, "https://dynamicsessions.io/.default", Some("c-ua")).await;
        assert_eq!(
            (ua.status, ua.body["client_id"].as_str()),
            (200, Some("c-ua"))
        );
        let unknown = ask(&source, "https://management.azure.com/", Some("nope")).await;
        assert_eq!(unknown.status, 400);
        assert!(unknown.body["error_description"]
            .as_str()
            .unwrap_or("")
            .contains("nope"));
        let vault = ask(&source, "https://vault.azure.net", Option::None).await;
        assert_eq!(
            (vault.status, vault.body["error"].as_str()),
            (400, Some("invalid_resource"))
        );
        // Nothing exposed: no identity endpoint at all.
        let hidden = pool(IdentityType::SystemAndUserAssigned, &[("system", None)]);
        assert!(session_identity(&state, &pool_id(), &hidden).is_none());
    }

    #[tokio::test]
    async fn registry_identity_is_the_one_named_whatever_the_lifecycles() {
        let state = state();
        let mut p = pool(IdentityType::SystemAndUserAssigned, &[]);
        assert!(registry_identity(&state, &pool_id(), &p).is_none());
        p.properties.custom_container_template = Some(CustomContainerTemplate {
            registry_credentials: Some(RegistryCredentials {
                server: Some("r.example".into()),
                identity: Some(UA.into()),
                ..Default::default()
            }),
            ..Default::default()
        });
        let source = registry_identity(&state, &pool_id(), &p).expect("registry identity");
        let answer = ask(&source, "https://management.azure.com/", None).await;
        assert_eq!(
            answer.body["client_id"].as_str(),
            Some("c-ua"),
            "{}",
            answer.body
        );
        // An identity the pool does not have gives none.
        p.identity = Option::None;
        assert!(registry_identity(&state, &pool_id(), &p).is_none());
    }
}
