//! Which log categories, category groups and metric categories each resource type supports.

/// Categories a resource type supports.
#[derive(Debug, Clone, Copy)]
pub struct Supported {
    /// Log categories.
    pub logs: &'static [&'static str],
    /// Log category groups.
    pub groups: &'static [&'static str],
    /// Metric categories.
    pub metrics: &'static [&'static str],
}

const ENVIRONMENT: Supported = Supported {
    logs: &[
        "ContainerAppConsoleLogs",
        "ContainerAppSystemLogs",
        "ContainerAppHTTPLogs",
        "AppEnvSpringAppConsoleLogs",
        "AppEnvSessionConsoleLogs",
        "AppEnvSessionLifeCycleLogs",
        "AppEnvSessionPoolEventLogs",
    ],
    groups: &["allLogs", "audit"],
    metrics: &["AllMetrics"],
};

const SESSION_POOL: Supported = Supported {
    logs: &[],
    groups: &[],
    metrics: &["AllMetrics"],
};

const WORKSPACE: Supported = Supported {
    logs: &["Audit", "SummaryLogs"],
    groups: &["allLogs", "audit"],
    metrics: &["AllMetrics"],
};

/// The categories of `resource_type` (case-insensitive), `None` when the type has no
/// diagnostic settings.
pub fn for_type(resource_type: &str) -> Option<Supported> {
    match resource_type.to_ascii_lowercase().as_str() {
        "microsoft.app/managedenvironments" => Some(ENVIRONMENT),
        "microsoft.app/sessionpools" => Some(SESSION_POOL),
        "microsoft.operationalinsights/workspaces" => Some(WORKSPACE),
        _ => None,
    }
}

/// The canonical spelling of `name` in `list` (case-insensitive match).
pub fn canonical(list: &'static [&'static str], name: &str) -> Option<&'static str> {
    list.iter().copied().find(|c| c.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables() {
        let env = for_type("Microsoft.App/managedEnvironments").expect("env");
        assert_eq!(
            canonical(env.logs, "appenvsessionlifecyclelogs"),
            Some("AppEnvSessionLifeCycleLogs")
        );
        assert_eq!(
            canonical(env.logs, "containerapphttplogs"),
            Some("ContainerAppHTTPLogs")
        );
        let pool = for_type("microsoft.app/sessionpools").expect("pool");
        assert!(pool.logs.is_empty());
        assert!(for_type("Microsoft.Resources/resourceGroups").is_none());
    }
}
