//! The Terraform model of `azuresessions_session_pool`: one struct per block. The schema, the
//! docs and every read of a configuration, plan or state value come from these structs
//! (`#[derive(Model)]`), so an attribute is named in exactly one place.
//!
//! Attribute names and meanings follow azurerm's `azurerm_container_app_session_pool` (see
//! the module docs of [`super`] and `docs/resources/session_pool.md` for where they differ on
//! purpose); probes, write-only secrets and `provisioning_state` are additions.

use std::collections::BTreeMap;

use crate::plugin::model::{Model, SetOf, Tf};
use crate::plugin::Number;
use crate::resources::timeouts::Timeouts;

/// A session pool of Azure Container Apps dynamic sessions (custom container or PythonLTS):
/// pre-warmed, isolated sandboxes bound one-to-one to an `identifier`.
#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct SessionPool {
    /// ARM id of the pool.
    #[tf(computed)]
    pub id: Tf<String>,
    /// Pool name: 3-63 lower-case letters and digits, starting with a letter.
    #[tf(required, force_new)]
    pub name: Tf<String>,
    /// Resource group of the pool.
    #[tf(required, force_new)]
    pub resource_group_name: Tf<String>,
    /// Azure region, e.g. `eastus`.
    #[tf(required, force_new)]
    pub location: Tf<String>,
    /// ARM id of the Container Apps managed environment. Required for `CustomContainer`.
    #[tf(optional, force_new)]
    pub container_app_environment_id: Tf<String>,
    /// `CustomContainer` or `PythonLTS`.
    #[tf(required, force_new)]
    pub container_type: Tf<String>,
    /// `Dynamic`, the only type the service creates.
    #[tf(default = "Dynamic", force_new)]
    pub pool_management_type: Tf<String>,
    /// Most sessions allocated at once, 1-600.
    #[tf(required)]
    pub max_concurrent_sessions: Tf<i64>,
    /// Pre-warmed sessions kept ready; less than `max_concurrent_sessions` (at least 1 for
    /// `CustomContainer`).
    #[tf(default = 1)]
    pub ready_session_instances: Tf<i64>,
    /// `Timed` (sessions end after `cooldown_period_in_seconds` idle) or `OnContainerExit`
    /// (sessions end when their container exits or at `max_alive_period_in_seconds`;
    /// CustomContainer only).
    #[tf(default = "Timed")]
    pub lifecycle_type: Tf<String>,
    /// Timed: idle seconds before a session ends, 300-3600. Defaults to `300` for Timed pools;
    /// not used by OnContainerExit pools.
    #[tf(optional, computed)]
    pub cooldown_period_in_seconds: Tf<i64>,
    /// OnContainerExit (required there): the longest a session lives, in seconds. Not used by
    /// Timed pools.
    #[tf(optional)]
    pub max_alive_period_in_seconds: Tf<i64>,
    /// Whether sessions may open outbound network connections.
    #[tf(default = false)]
    pub network_egress_enabled: Tf<bool>,
    /// Resource tags (at most 50).
    #[tf(optional)]
    pub tags: Tf<BTreeMap<String, Tf<String>>>,
    /// Data-plane root: requests to `{endpoint}/{path}?identifier=X` reach session X.
    #[tf(computed)]
    pub pool_management_endpoint: Tf<String>,
    /// Nodes (session VMs) in use.
    #[tf(computed)]
    pub node_count: Tf<i64>,
    /// `Succeeded` once the pool runs. `Failed` when the service could not provision it (for
    /// example, the image cannot be pulled): the next plan then re-applies the configuration
    /// until the pool is healthy.
    #[tf(computed)]
    pub provisioning_state: Tf<String>,
    /// The custom container every session runs. Required when `container_type` is
    /// `CustomContainer`.
    #[tf(block, max_items = 1)]
    pub custom_container_template: Tf<Vec<CustomContainerTemplate>>,
    /// A pool secret, referenced by `env.secret_name` and `registry.password_secret_name`. The
    /// service never returns values.
    #[tf(block)]
    pub secret: Tf<Vec<Secret>>,
    /// Managed identities of the pool (CustomContainer only).
    #[tf(block, max_items = 1)]
    pub identity: Tf<Vec<Identity>>,
    /// Makes an identity available to the pool. Changing this replaces the pool.
    #[tf(block, force_new)]
    pub managed_identity_setting: Tf<Vec<ManagedIdentitySetting>>,
    /// Per-operation time limits.
    #[tf(block(group))]
    pub timeouts: Tf<Timeouts>,
}

/// The identity of a session pool (Terraform 1.12+: import with
/// `import { to = ..., identity = { resource_group_name = ..., name = ... } }`).
#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct SessionPoolIdentity {
    /// Subscription of the pool; the provider's subscription when left out.
    #[tf(optional)]
    pub subscription_id: Tf<String>,
    /// Resource group of the pool.
    #[tf(required)]
    pub resource_group_name: Tf<String>,
    /// Pool name.
    #[tf(required)]
    pub name: Tf<String>,
}

/// The custom container every session runs.
#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct CustomContainerTemplate {
    /// Container port that receives the proxied requests, 1-65535.
    #[tf(required)]
    pub ingress_target_port: Tf<i64>,
    /// The session container.
    #[tf(block, min_items = 1)]
    pub container: Tf<Vec<Container>>,
    /// Credentials for a private registry.
    #[tf(block, max_items = 1)]
    pub registry: Tf<Vec<Registry>>,
}

/// The session container.
#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Container {
    /// Container name: 1-63 lower-case letters, digits and `-`, starting and ending with a
    /// letter or digit.
    #[tf(required)]
    pub name: Tf<String>,
    /// Image reference, e.g. `myregistry.azurecr.io/app:v1`. Use a new tag to roll out a new
    /// image.
    #[tf(required)]
    pub image: Tf<String>,
    /// Entrypoint override.
    #[tf(optional)]
    pub command: Tf<Vec<Tf<String>>>,
    /// Arguments.
    #[tf(optional)]
    pub args: Tf<Vec<Tf<String>>>,
    /// vCPUs per session, at least 0.1 (e.g. `0.25`) and at most 64.
    #[tf(default = 0.25)]
    pub cpu: Tf<Number>,
    /// Memory per session, e.g. `0.5Gi` or `2Gi`.
    #[tf(default = "0.5Gi")]
    pub memory: Tf<String>,
    /// An environment variable.
    #[tf(block)]
    pub env: Tf<Vec<Env>>,
    /// A health probe. Unhealthy sessions are removed and replaced.
    #[tf(block)]
    pub probe: Tf<Vec<Probe>>,
}

/// An environment variable.
#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Env {
    /// Variable name (unique within the container).
    #[tf(required)]
    pub name: Tf<String>,
    /// Literal value. Conflicts with `secret_name`.
    #[tf(optional)]
    pub value: Tf<String>,
    /// Name of a `secret` of this pool holding the value.
    #[tf(optional)]
    pub secret_name: Tf<String>,
}

/// A health probe. Unhealthy sessions are removed and replaced.
#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Probe {
    /// `Liveness` or `Startup`; one of each per container.
    #[tf(required)]
    pub r#type: Tf<String>,
    /// Seconds before the first check, 1-60.
    #[tf(optional, computed)]
    pub initial_delay_seconds: Tf<i64>,
    /// Seconds between checks, 1-240.
    #[tf(default = 10)]
    pub period_seconds: Tf<i64>,
    /// Failures before the session is unhealthy, 1-10.
    #[tf(default = 3)]
    pub failure_threshold: Tf<i64>,
    /// Successes before healthy again; must be 1.
    #[tf(default = 1)]
    pub success_threshold: Tf<i64>,
    /// Seconds before a check times out, 1-240.
    #[tf(default = 1)]
    pub timeout_seconds: Tf<i64>,
    /// Seconds a failing session gets to stop, at most 3600.
    #[tf(optional, computed)]
    pub termination_grace_period_seconds: Tf<i64>,
    /// Check with an HTTP GET; 200-399 is healthy.
    #[tf(block, max_items = 1)]
    pub http_get: Tf<Vec<HttpGet>>,
    /// Check by opening a TCP connection.
    #[tf(block, max_items = 1)]
    pub tcp_socket: Tf<Vec<TcpSocket>>,
}

/// Check with an HTTP GET; 200-399 is healthy.
#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct HttpGet {
    /// Request path, e.g. `/health`.
    #[tf(optional)]
    pub path: Tf<String>,
    /// Container port, 1-65535.
    #[tf(required)]
    pub port: Tf<i64>,
    /// `HTTP` or `HTTPS`.
    #[tf(default = "HTTP")]
    pub scheme: Tf<String>,
    /// Host to connect to; defaults to the session.
    #[tf(optional)]
    pub host: Tf<String>,
    /// An extra request header.
    #[tf(block)]
    pub http_header: Tf<Vec<HttpHeader>>,
}

/// An extra request header.
#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct HttpHeader {
    /// Header name.
    #[tf(required)]
    pub name: Tf<String>,
    /// Header value.
    #[tf(required)]
    pub value: Tf<String>,
}

/// Check by opening a TCP connection.
#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct TcpSocket {
    /// Host to connect to; defaults to the session.
    #[tf(optional)]
    pub host: Tf<String>,
    /// Container port, 1-65535.
    #[tf(required)]
    pub port: Tf<i64>,
}

/// Credentials for a private registry.
#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Registry {
    /// Registry host, e.g. `myregistry.azurecr.io`.
    #[tf(required)]
    pub server: Tf<String>,
    /// User name; needs `password_secret_name`.
    #[tf(optional)]
    pub username: Tf<String>,
    /// Name of the `secret` holding the password.
    #[tf(optional)]
    pub password_secret_name: Tf<String>,
    /// User-assigned identity id (or `System`) used to pull instead of a password.
    #[tf(optional)]
    pub identity: Tf<String>,
}

/// A pool secret.
#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Secret {
    /// Secret name: lower-case letters, digits, `-` and `.`, starting and ending with a letter
    /// or digit.
    #[tf(required)]
    pub name: Tf<String>,
    /// Secret value (stored in state, sensitive). Conflicts with `value_wo`. May be left out
    /// for a secret the pool already has (after an import): the service keeps its value.
    #[tf(optional, sensitive)]
    pub value: Tf<String>,
    /// Write-only secret value, never stored (Terraform 1.11+). Change `value_wo_version` to
    /// send a new value.
    #[tf(optional, sensitive, write_only)]
    pub value_wo: Tf<String>,
    /// Bump to re-send `value_wo`.
    #[tf(optional)]
    pub value_wo_version: Tf<i64>,
}

/// Managed identities of the pool.
#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Identity {
    /// `SystemAssigned`, `UserAssigned` or `SystemAssigned, UserAssigned`.
    #[tf(required)]
    pub r#type: Tf<String>,
    /// User-assigned identity ids.
    #[tf(optional)]
    pub identity_ids: Tf<SetOf<String>>,
    /// Principal id of the system-assigned identity.
    #[tf(computed)]
    pub principal_id: Tf<String>,
    /// Tenant of the system-assigned identity.
    #[tf(computed)]
    pub tenant_id: Tf<String>,
}

/// Makes an identity available to the pool.
#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct ManagedIdentitySetting {
    /// `System` or a user-assigned identity id.
    #[tf(required)]
    pub identity: Tf<String>,
    /// `Main` exposes the identity to session code (as azurerm's default); `None` makes it
    /// available to the pool only.
    #[tf(default = "Main")]
    pub lifecycle: Tf<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::{AttributePath, Value};
    use proptest::prelude::*;

    fn arb_tf<T: std::fmt::Debug + Clone + 'static>(
        known: impl Strategy<Value = T> + 'static,
    ) -> impl Strategy<Value = Tf<T>> {
        prop_oneof![
            Just(Tf::Null),
            Just(Tf::unknown()),
            known.prop_map(Tf::Known),
        ]
    }

    fn s() -> impl Strategy<Value = Tf<String>> {
        arb_tf("[a-zA-Z0-9/._-]{0,12}")
    }

    fn n() -> impl Strategy<Value = Tf<i64>> {
        arb_tf(-5i64..5000)
    }

    fn probe() -> impl Strategy<Value = Probe> {
        (
            s(),
            (n(), n(), n(), n(), n(), n()),
            arb_tf(proptest::collection::vec(
                (s(), n(), s(), s()).prop_map(|(path, port, scheme, host)| HttpGet {
                    path,
                    port,
                    scheme,
                    host,
                    http_header: Tf::Known(vec![HttpHeader {
                        name: "x".into(),
                        value: Tf::unknown(),
                    }]),
                }),
                0..2,
            )),
        )
            .prop_map(|(t, (a, b, c, d, e, f), http_get)| Probe {
                r#type: t,
                initial_delay_seconds: a,
                period_seconds: b,
                failure_threshold: c,
                success_threshold: d,
                timeout_seconds: e,
                termination_grace_period_seconds: f,
                http_get,
                tcp_socket: Tf::Known(vec![]),
            })
    }

    fn container() -> impl Strategy<Value = Container> {
        (
            s(),
            s(),
            arb_tf(proptest::collection::vec(s(), 0..3)),
            arb_tf(prop_oneof![
                (-10i64..10).prop_map(Number::Int),
                Just(Number::Float(0.25)),
                Just(Number::Big("0.1".into())),
            ]),
            arb_tf(proptest::collection::vec(probe(), 0..2)),
        )
            .prop_map(|(name, image, args, cpu, probe)| Container {
                name,
                image,
                command: Tf::Null,
                args,
                cpu,
                memory: "0.5Gi".into(),
                env: Tf::Known(vec![Env {
                    name: "A".into(),
                    value: Tf::Null,
                    secret_name: "s".into(),
                }]),
                probe,
            })
    }

    fn pool() -> impl Strategy<Value = SessionPool> {
        (
            (s(), s(), s(), s(), n(), n()),
            arb_tf(proptest::collection::btree_map("[a-z]{1,4}", s(), 0..3)),
            arb_tf(proptest::collection::vec(container(), 0..2)),
            arb_tf(proptest::collection::vec(s(), 0..3).prop_map(SetOf)),
            arb_tf(any::<bool>()),
        )
            .prop_map(
                |((id, name, loc, lt, max, ready), tags, containers, ids, egress)| SessionPool {
                    id,
                    name,
                    location: loc,
                    lifecycle_type: lt,
                    max_concurrent_sessions: max,
                    ready_session_instances: ready,
                    tags,
                    network_egress_enabled: egress,
                    custom_container_template: Tf::Known(vec![CustomContainerTemplate {
                        ingress_target_port: 8080.into(),
                        container: containers,
                        registry: Tf::Known(vec![]),
                    }]),
                    identity: Tf::Known(vec![Identity {
                        r#type: "UserAssigned".into(),
                        identity_ids: ids,
                        ..Default::default()
                    }]),
                    timeouts: Timeouts::state_value(),
                    ..Default::default()
                },
            )
    }

    proptest! {
        #[test]
        fn decode_encode_round_trips(p in pool()) {
            let v = p.encode();
            prop_assert_eq!(SessionPool::from_value(&v).unwrap(), p);
        }

        #[test]
        fn encoded_values_match_the_schema_type(p in pool()) {
            let ty = SessionPool::block().implied_type();
            let bytes = crate::plugin::codec::encode_dynamic(&p.encode(), &ty);
            prop_assert!(bytes.is_ok(), "{:?}", bytes.err());
        }
    }

    #[test]
    fn wrong_kinds_are_diagnostics_with_paths() {
        let mut v = SessionPool::default().encode();
        v.set_attr(SessionPool::MAX_CONCURRENT_SESSIONS, Value::from("many"));
        v.set_attr(
            SessionPool::CUSTOM_CONTAINER_TEMPLATE,
            Value::List(vec![Value::object([(
                CustomContainerTemplate::INGRESS_TARGET_PORT,
                Value::from(0.5),
            )])]),
        );
        let d = SessionPool::from_value(&v).unwrap_err();
        let paths: Vec<String> = d
            .iter()
            .filter_map(|d| d.path.as_ref().map(ToString::to_string))
            .collect();
        assert!(
            paths.contains(&"max_concurrent_sessions".to_string()),
            "{paths:?}"
        );
        assert!(
            paths.contains(&"custom_container_template[0].ingress_target_port".to_string()),
            "{paths:?}"
        );
        let _ = AttributePath::root();
    }
}
