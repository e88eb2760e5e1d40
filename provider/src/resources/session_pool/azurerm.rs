//! What `azuresessions_session_pool` shares with azurerm's `azurerm_container_app_session_pool`:
//! one row per attribute the two providers share, saying whether the same value (or its
//! absence) means the same thing, and where we differ on purpose. The table is checked by
//! tests (every row names a real attribute of ours; every azurerm attribute has a row; the
//! acceptance test applies azurerm-style HCL and checks what reaches the service) and rendered
//! into the resource's documentation.

/// How an attribute compares with azurerm's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meaning {
    /// Same name, same values, same meaning when absent.
    Same,
    /// Same name and values; where azurerm requires it, we have a documented default.
    DefaultWhereRequired,
    /// Shared, with a documented difference (`note`).
    Differs,
}

/// One shared attribute.
#[derive(Debug, Clone, Copy)]
pub struct Pair {
    /// The attribute path in azurerm (`block.attribute`).
    pub azurerm: &'static str,
    /// Our attribute path (same name, unless it says otherwise).
    pub ours: &'static str,
    /// How they compare.
    pub meaning: Meaning,
    /// What differs, for the docs (empty for [`Meaning::Same`]).
    pub note: &'static str,
}

const fn same(path: &'static str) -> Pair {
    Pair {
        azurerm: path,
        ours: path,
        meaning: Meaning::Same,
        note: "",
    }
}

/// Every attribute of `azurerm_container_app_session_pool` (2025-07-01 schema).
pub const PAIRS: &[Pair] = &[
    same("name"),
    same("resource_group_name"),
    same("location"),
    same("container_type"),
    Pair {
        azurerm: "max_concurrent_sessions",
        ours: "max_concurrent_sessions",
        meaning: Meaning::Differs,
        note: "Values above 600, which the service refuses, are refused at plan.",
    },
    same("container_app_environment_id"),
    Pair {
        azurerm: "pool_management_type",
        ours: "pool_management_type",
        meaning: Meaning::DefaultWhereRequired,
        note: "Required in azurerm; defaults to `Dynamic` (the only value either accepts).",
    },
    Pair {
        azurerm: "lifecycle_type",
        ours: "lifecycle_type",
        meaning: Meaning::DefaultWhereRequired,
        note: "azurerm requires it for Dynamic pools; defaults to `Timed`.",
    },
    Pair {
        azurerm: "cooldown_period_in_seconds",
        ours: "cooldown_period_in_seconds",
        meaning: Meaning::DefaultWhereRequired,
        note: "azurerm requires it for Timed pools; defaults to `300` for Timed pools.",
    },
    same("max_alive_period_in_seconds"),
    same("network_egress_enabled"),
    Pair {
        azurerm: "ready_session_instances",
        ours: "ready_session_instances",
        meaning: Meaning::DefaultWhereRequired,
        note: "azurerm sends nothing when it is left out, which the service refuses for \
               custom container pools; defaults to `1`.",
    },
    Pair {
        azurerm: "secret.name",
        ours: "secret.name",
        meaning: Meaning::Differs,
        note: "`secret` is a list block (a set in azurerm): same content, order kept.",
    },
    Pair {
        azurerm: "secret.value",
        ours: "secret.value",
        meaning: Meaning::Differs,
        note: "Optional: a secret the pool already has may leave it out (the service keeps \
               the value, as after an import); `value_wo` + `value_wo_version` keep it out of \
               state.",
    },
    same("identity.type"),
    same("identity.identity_ids"),
    same("identity.principal_id"),
    same("identity.tenant_id"),
    same("managed_identity_setting.identity"),
    Pair {
        azurerm: "managed_identity_setting.lifecycle",
        ours: "managed_identity_setting.lifecycle",
        meaning: Meaning::Differs,
        note: "Defaults to `Main` in both; `None` is also accepted here (azurerm expresses it \
               by leaving the block out).",
    },
    same("custom_container_template.ingress_target_port"),
    same("custom_container_template.container.name"),
    same("custom_container_template.container.image"),
    same("custom_container_template.container.args"),
    same("custom_container_template.container.command"),
    Pair {
        azurerm: "custom_container_template.container.cpu",
        ours: "custom_container_template.container.cpu",
        meaning: Meaning::Same,
        note: "Left out, azurerm sends nothing and the service uses 0.25; we send 0.25.",
    },
    Pair {
        azurerm: "custom_container_template.container.memory",
        ours: "custom_container_template.container.memory",
        meaning: Meaning::Same,
        note: "Left out, azurerm sends nothing and the service uses `0.5Gi`; we send `0.5Gi`.",
    },
    same("custom_container_template.container.env.name"),
    same("custom_container_template.container.env.value"),
    same("custom_container_template.container.env.secret_name"),
    same("custom_container_template.registry.server"),
    same("custom_container_template.registry.identity"),
    same("custom_container_template.registry.username"),
    same("custom_container_template.registry.password_secret_name"),
    same("tags"),
    same("node_count"),
    same("pool_management_endpoint"),
];

/// Ours only: attributes azurerm does not have.
pub const OURS_ONLY: &[(&str, &str)] = &[
    (
        "custom_container_template.container.probe",
        "Startup and Liveness probes (api-version 2026-07-01).",
    ),
    (
        "secret.value_wo",
        "Write-only secret value (Terraform 1.11+), with `value_wo_version`.",
    ),
    (
        "provisioning_state",
        "A `Failed` pool plans a re-apply until it is healthy.",
    ),
    (
        "timeouts",
        "azurerm has the same four timeouts (30m/5m/30m/30m); here they are write-only.",
    ),
];

/// The table as Markdown, for the resource's documentation page.
pub fn markdown() -> String {
    let mut s = String::from(
        "## Compatibility with azurerm\n\n\
         The same HCL means the same thing as with `azurerm_container_app_session_pool` for \
         every attribute both providers have. Where they differ on purpose:\n\n\
         | Attribute | Difference |\n|---|---|\n",
    );
    for p in PAIRS.iter().filter(|p| !p.note.is_empty()) {
        s.push_str(&format!("| `{}` | {} |\n", p.ours, p.note));
    }
    for (a, note) in OURS_ONLY {
        s.push_str(&format!("| `{a}` (not in azurerm) | {note} |\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::model::Model;
    use crate::plugin::schema::Block;
    use crate::resources::session_pool::model::SessionPool;

    /// True if the dotted `path` names an attribute or block of `block`.
    fn exists(block: &Block, path: &str) -> bool {
        let mut cur = block;
        let parts: Vec<&str> = path.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            let last = i == parts.len() - 1;
            if let Some(b) = cur.nested(part) {
                cur = &b.block;
                if last {
                    return true;
                }
            } else {
                return last && cur.attr(part).is_some();
            }
        }
        false
    }

    #[test]
    fn every_row_names_our_attributes() {
        let block = SessionPool::block();
        for p in PAIRS {
            assert!(
                exists(&block, p.ours),
                "{} is not an attribute of ours",
                p.ours
            );
            assert_eq!(p.azurerm, p.ours, "shared attributes keep azurerm's names");
            if p.meaning != Meaning::Same {
                assert!(!p.note.is_empty(), "{}: a difference needs a note", p.ours);
            }
        }
        for (a, _) in OURS_ONLY {
            assert!(exists(&block, a), "{a}");
        }
    }

    #[test]
    fn defaults_where_azurerm_requires_are_schema_defaults_or_documented() {
        let block = SessionPool::block();
        for p in PAIRS
            .iter()
            .filter(|p| p.meaning == Meaning::DefaultWhereRequired)
        {
            let a = block.attr(p.ours).expect("top-level attribute");
            assert!(a.optional && a.computed, "{} must be optional", p.ours);
            assert!(
                a.default.is_some() || a.description.contains("Defaults to"),
                "{} needs a documented default",
                p.ours
            );
        }
    }

    #[test]
    fn markdown_lists_the_differences() {
        let md = markdown();
        assert!(md.contains("| `managed_identity_setting.lifecycle` |"));
        assert!(md.contains("not in azurerm"));
    }
}
