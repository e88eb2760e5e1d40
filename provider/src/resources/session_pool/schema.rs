//! Schema of `azuresessions_session_pool`: api-version 2026-07-01 with azurerm's attribute
//! names (`azurerm_container_app_session_pool`) plus probes, write-only secrets and timeouts.

use crate::plugin::schema::{Attribute, Block, NestedBlock, Schema};
use crate::plugin::Type;
use crate::resources::timeouts;

/// Schema version of the stored state.
pub const VERSION: i64 = 0;

fn probe_block() -> NestedBlock {
    let header = NestedBlock::list(
        "http_header",
        Block::new()
            .description("An extra request header.")
            .attribute(
                Attribute::string("name")
                    .required()
                    .description("Header name."),
            )
            .attribute(
                Attribute::string("value")
                    .required()
                    .description("Header value."),
            ),
    );
    let http_get = NestedBlock::list(
        "http_get",
        Block::new()
            .description("Check with an HTTP GET; 200-399 is healthy.")
            .attribute(
                Attribute::string("path")
                    .optional()
                    .description("Request path, e.g. `/health`."),
            )
            .attribute(
                Attribute::number("port")
                    .required()
                    .description("Container port, 1-65535."),
            )
            .attribute(
                Attribute::string("scheme")
                    .optional()
                    .description("`HTTP` (default) or `HTTPS`."),
            )
            .attribute(
                Attribute::string("host")
                    .optional()
                    .description("Host to connect to; defaults to the session."),
            )
            .block(header),
    )
    .max_items(1);
    let tcp = NestedBlock::list(
        "tcp_socket",
        Block::new()
            .description("Check by opening a TCP connection.")
            .attribute(
                Attribute::string("host")
                    .optional()
                    .description("Host to connect to; defaults to the session."),
            )
            .attribute(
                Attribute::number("port")
                    .required()
                    .description("Container port, 1-65535."),
            ),
    )
    .max_items(1);
    NestedBlock::list(
        "probe",
        Block::new()
            .description("A health probe. Unhealthy sessions are removed and replaced.")
            .attribute(
                Attribute::string("type")
                    .required()
                    .description("`Liveness` or `Startup`; one of each per container."),
            )
            .attribute(
                Attribute::number("initial_delay_seconds")
                    .optional()
                    .description("Seconds before the first check, 1-60."),
            )
            .attribute(
                Attribute::number("period_seconds")
                    .optional()
                    .description("Seconds between checks, 1-240 (service default 10)."),
            )
            .attribute(
                Attribute::number("failure_threshold")
                    .optional()
                    .description(
                        "Failures before the session is unhealthy, 1-10 (service default 3).",
                    ),
            )
            .attribute(
                Attribute::number("success_threshold")
                    .optional()
                    .description("Successes before healthy again; must be 1."),
            )
            .attribute(
                Attribute::number("timeout_seconds")
                    .optional()
                    .description("Seconds before a check times out, 1-240 (service default 1)."),
            )
            .attribute(
                Attribute::number("termination_grace_period_seconds")
                    .optional()
                    .description("Seconds a failing session gets to stop, at most 3600."),
            )
            .block(http_get)
            .block(tcp),
    )
}

fn container_block() -> NestedBlock {
    let env = NestedBlock::list(
        "env",
        Block::new()
            .description("An environment variable.")
            .attribute(
                Attribute::string("name")
                    .required()
                    .description("Variable name."),
            )
            .attribute(
                Attribute::string("value")
                    .optional()
                    .description("Literal value. Conflicts with `secret_name`."),
            )
            .attribute(
                Attribute::string("secret_name")
                    .optional()
                    .description("Name of a `secret` of this pool holding the value."),
            ),
    );
    NestedBlock::list(
        "container",
        Block::new()
            .description("The session container.")
            .attribute(Attribute::string("name").required().description("Container name."))
            .attribute(Attribute::string("image").required().description("Image reference, e.g. `myregistry.azurecr.io/app:v1`. Use a new tag to roll out a new image."))
            .attribute(Attribute::list("command", Type::String).optional().description("Entrypoint override."))
            .attribute(Attribute::list("args", Type::String).optional().description("Arguments."))
            .attribute(Attribute::number("cpu").required().description("vCPUs per session, at least 0.1 (e.g. `0.25`)."))
            .attribute(Attribute::string("memory").required().description("Memory per session, e.g. `0.5Gi`."))
            .block(env)
            .block(probe_block()),
    )
    .min_items(1)
}

fn template_block() -> NestedBlock {
    let registry = NestedBlock::list(
        "registry",
        Block::new()
            .description("Credentials for a private registry.")
            .attribute(
                Attribute::string("server")
                    .required()
                    .description("Registry host, e.g. `myregistry.azurecr.io`."),
            )
            .attribute(
                Attribute::string("username")
                    .optional()
                    .description("User name; needs `password_secret_name`."),
            )
            .attribute(
                Attribute::string("password_secret_name")
                    .optional()
                    .description("Name of the `secret` holding the password."),
            )
            .attribute(Attribute::string("identity").optional().description(
                "User-assigned identity id (or `System`) used to pull instead of a password.",
            )),
    )
    .max_items(1);
    NestedBlock::list(
        "custom_container_template",
        Block::new()
            .description("The custom container every session runs. Required when `container_type` is `CustomContainer`.")
            .attribute(Attribute::number("ingress_target_port").required().description("Container port that receives the proxied requests, 1-65535."))
            .block(container_block())
            .block(registry),
    )
    .max_items(1)
}

/// The resource schema.
pub fn schema() -> Schema {
    let secret = NestedBlock::list(
        "secret",
        Block::new()
            .description("A pool secret, referenced by `env.secret_name` and `registry.password_secret_name`. The service never returns values.")
            .attribute(Attribute::string("name").required().description("Secret name."))
            .attribute(Attribute::string("value").optional().sensitive().description("Secret value (stored in state, sensitive). Conflicts with `value_wo`."))
            .attribute(Attribute::string("value_wo").optional().sensitive().write_only().description("Write-only secret value, never stored (Terraform 1.11+). Change `value_wo_version` to send a new value."))
            .attribute(Attribute::number("value_wo_version").optional().description("Bump to re-send `value_wo`.")),
    );
    let identity =
        NestedBlock::list(
            "identity",
            Block::new()
                .description("Managed identities of the pool (CustomContainer only).")
                .attribute(Attribute::string("type").required().description(
                    "`SystemAssigned`, `UserAssigned` or `SystemAssigned, UserAssigned`.",
                ))
                .attribute(
                    Attribute::set("identity_ids", Type::String)
                        .optional()
                        .description("User-assigned identity ids."),
                )
                .attribute(
                    Attribute::string("principal_id")
                        .computed()
                        .description("Principal id of the system-assigned identity."),
                )
                .attribute(
                    Attribute::string("tenant_id")
                        .computed()
                        .description("Tenant of the system-assigned identity."),
                ),
        )
        .max_items(1);
    let mis = NestedBlock::list(
        "managed_identity_setting",
        Block::new()
            .description(
                "Makes an identity available to the pool. Changing this replaces the pool.",
            )
            .attribute(
                Attribute::string("identity")
                    .required()
                    .description("`System` or a user-assigned identity id."),
            )
            .attribute(
                Attribute::string("lifecycle")
                    .optional()
                    .description("`Main` exposes it to session code; `None` (default) does not."),
            ),
    );
    Schema::new(
        VERSION,
        Block::new()
            .description(
                "A session pool of Azure Container Apps dynamic sessions (custom container or \
                 PythonLTS): pre-warmed, isolated sandboxes bound one-to-one to an `identifier`.",
            )
            .attribute(Attribute::string("id").computed().description("ARM id of the pool."))
            .attribute(Attribute::string("name").required().force_new().description("Pool name: 3-63 lower-case letters and digits, starting with a letter."))
            .attribute(Attribute::string("resource_group_name").required().force_new().description("Resource group of the pool."))
            .attribute(Attribute::string("location").required().force_new().description("Azure region, e.g. `eastus`."))
            .attribute(Attribute::string("container_app_environment_id").optional().force_new().description("ARM id of the Container Apps managed environment. Required for `CustomContainer`."))
            .attribute(Attribute::string("container_type").required().force_new().description("`CustomContainer` or `PythonLTS`."))
            .attribute(Attribute::string("pool_management_type").optional().computed().force_new().description("`Dynamic` (the default and the only type the service creates)."))
            .attribute(Attribute::number("max_concurrent_sessions").required().description("Most sessions allocated at once, at least 1."))
            .attribute(Attribute::number("ready_session_instances").optional().computed().description("Pre-warmed sessions kept ready; at least 1 and less than `max_concurrent_sessions`."))
            .attribute(Attribute::string("lifecycle_type").optional().computed().description("`Timed` (default: sessions end after `cooldown_period_in_seconds` idle) or `OnContainerExit` (CustomContainer only)."))
            .attribute(Attribute::number("cooldown_period_in_seconds").optional().computed().description("Timed: idle seconds before a session ends, 300-3600."))
            .attribute(Attribute::number("max_alive_period_in_seconds").optional().description("OnContainerExit: maximum session age in seconds."))
            .attribute(Attribute::bool("network_egress_enabled").optional().computed().description("Whether sessions may open outbound connections. Default `false`."))
            .attribute(Attribute::map("tags", Type::String).optional().description("Resource tags."))
            .attribute(Attribute::string("pool_management_endpoint").computed().description("Data-plane root: requests to `{endpoint}/{path}?identifier=X` reach session X."))
            .attribute(Attribute::number("node_count").computed().description("Nodes in use."))
            .attribute(Attribute::string("provisioning_state").computed().description("`Succeeded` once the pool runs. `Failed` when the service could not provision it (for example, the image cannot be pulled): the next plan then re-applies the configuration until the pool is healthy."))
            .block(template_block())
            .block(secret)
            .block(identity)
            .block(mis)
            .block(timeouts::block(&timeouts::POOL_DEFAULTS)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_valid() {
        schema().validate().unwrap();
    }
}
