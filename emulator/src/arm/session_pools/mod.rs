//! `Microsoft.App/sessionPools`: the ARM resource for custom container session pools.
//!
//! Supported api-versions: 2024-02-02-preview, 2024-08-02-preview, 2024-10-02-preview,
//! 2025-01-01, 2025-02-02-preview, 2025-07-01, 2025-10-02-preview, 2026-01-01,
//! 2026-03-02-preview and 2026-07-01 (canonical); what each one has is tabled in [`version`].
//! Each is parsed into one internal model and rendered back in the caller's version; property
//! names match case-insensitively, unknown properties (including fields a version does not
//! have, e.g. `probes` with 2025-07-01) are ignored, and fields the caller's version cannot
//! express are kept from the stored pool on update (see [`carry`]).
//!
//! Error codes (all 400 with `target` naming the field unless noted): `InvalidRequestContent`
//! (not JSON, wrong JSON type), `InvalidParameter` (a service rule, an unknown enum value, a
//! missing required field, an environment that does not exist), `LocationRequired`,
//! `InvalidResourceName`, `SessionPoolInvalidReadySessionInstances`, `PropertyChangeNotAllowed`
//! (create-only field changed), `InvalidApiVersionParameter` / `MissingApiVersionParameter`;
//! 404 `ResourceNotFound` / `ResourceGroupNotFound` / `SubscriptionNotFound`.
//!
//! # Layout
//!
//! - [`version`]: the supported api-versions and which fields each has.
//! - [`model`]: the one internal model every version maps to.
//! - [`json`]: lenient, case-insensitive, path-tracking reading of request JSON.
//! - [`parse`]: request JSON of a version -> model.
//! - [`render`]: model -> response JSON of a version (secrets never rendered).
//! - [`validate`]: the service's rules, errors naming the field.
//! - [`carry`]: what an update keeps from the stored pool; generated identity ids.
//! - [`merge`]: JSON merge patch restricted to the PATCHable properties.
//! - [`stored`]: the stored row body ([`stored::StoredPool`]).
//! - [`provision`]: completes provisioning after a PUT/PATCH answered.
//! - [`delete`]: ARM-shaped deletes of pools, and of resource groups and environments whose
//!   delete takes pools along (`Deleting` while sessions stop, then 404).
//! - [`identity`]: the token issuer behind each session's `IDENTITY_ENDPOINT`.
//! - [`mcp`]: the MCP credential actions (`fetchMcpServerCredentials`,
//!   `rotateMcpServerCredentials`) and the pool's MCP API key.
//! - [`runtime`]: the ARM <-> runtime bridge (provision, deprovision, restore, live
//!   `nodeCount`, runtime failures -> ARM codes); [`pool_spec`]: the ARM model -> the runtime's
//!   pool spec.
//! - [`routes`]: the HTTP routes.
//! - [`error`]: [`error::PoolError`] with Azure code, message and `target` field path.

pub mod carry;
pub mod delete;
pub mod error;
pub mod identity;
pub mod json;
pub mod mcp;
pub mod merge;
pub mod model;
pub mod parse;
pub mod pool_spec;
pub mod provision;
pub mod render;
pub mod routes;
pub mod runtime;
pub mod stored;
pub mod validate;
pub mod version;

pub use routes::routes;
