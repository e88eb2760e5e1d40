//! ARM resource ids: parsing and building, with case-insensitive segment names.

/// A parsed `…/resourceGroups/{rg}/providers/Microsoft.App/sessionPools/{name}` id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionPoolId {
    /// Subscription id.
    pub subscription_id: String,
    /// Resource group name.
    pub resource_group: String,
    /// Pool name.
    pub name: String,
}

impl SessionPoolId {
    /// Builds an id from its parts.
    pub fn new(subscription_id: &str, resource_group: &str, name: &str) -> Self {
        SessionPoolId {
            subscription_id: subscription_id.to_string(),
            resource_group: resource_group.to_string(),
            name: name.to_string(),
        }
    }

    /// Parses a pool id; the error says what shape was expected.
    pub fn parse(id: &str) -> Result<Self, String> {
        let expected = "expected /subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.App/sessionPools/{name}";
        let segs: Vec<&str> = id.trim_matches('/').split('/').collect();
        let ok = segs.len() == 8
            && segs[0].eq_ignore_ascii_case("subscriptions")
            && segs[2].eq_ignore_ascii_case("resourceGroups")
            && segs[4].eq_ignore_ascii_case("providers")
            && segs[5].eq_ignore_ascii_case("Microsoft.App")
            && segs[6].eq_ignore_ascii_case("sessionPools")
            && segs.iter().all(|s| !s.is_empty())
            && id.starts_with('/');
        if !ok {
            return Err(format!("{id:?} is not a session pool id: {expected}"));
        }
        Ok(SessionPoolId::new(segs[1], segs[3], segs[7]))
    }

    /// The canonical id string (also the ARM path).
    pub fn path(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.App/sessionPools/{}",
            self.subscription_id, self.resource_group, self.name
        )
    }
}

impl std::fmt::Display for SessionPoolId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.path())
    }
}

/// A diagnostic setting id: `{target_resource_id}/providers/Microsoft.Insights/diagnosticSettings/{name}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiagnosticSettingId {
    /// The resource the setting is attached to.
    pub target_resource_id: String,
    /// Setting name.
    pub name: String,
}

impl DiagnosticSettingId {
    /// The ARM path of the setting.
    pub fn path(&self) -> String {
        format!(
            "{}/providers/Microsoft.Insights/diagnosticSettings/{}",
            self.target_resource_id.trim_end_matches('/'),
            self.name
        )
    }

    /// azurerm's Terraform id form: `{target_resource_id}|{name}`.
    pub fn terraform_id(&self) -> String {
        format!("{}|{}", self.target_resource_id, self.name)
    }

    /// Parses the Terraform id form `{target_resource_id}|{name}` (or the ARM path form).
    pub fn parse(id: &str) -> Result<Self, String> {
        if let Some((target, name)) = id.rsplit_once('|') {
            if target.starts_with('/') && !name.is_empty() && !name.contains('/') {
                return Ok(DiagnosticSettingId {
                    target_resource_id: target.to_string(),
                    name: name.to_string(),
                });
            }
        }
        let lower = id.to_ascii_lowercase();
        let marker = "/providers/microsoft.insights/diagnosticsettings/";
        if let Some(pos) = lower.rfind(marker) {
            let name = &id[pos + marker.len()..];
            if pos > 0 && !name.is_empty() && !name.contains('/') {
                return Ok(DiagnosticSettingId {
                    target_resource_id: id[..pos].to_string(),
                    name: name.to_string(),
                });
            }
        }
        Err(format!(
            "{id:?} is not a diagnostic setting id: expected {{target_resource_id}}|{{name}}, e.g. \
             /subscriptions/…/managedEnvironments/env|my-setting"
        ))
    }
}

/// Compares two ARM ids the way ARM does (case-insensitively, ignoring a trailing slash).
pub fn ids_equal(a: &str, b: &str) -> bool {
    a.trim_end_matches('/')
        .eq_ignore_ascii_case(b.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pool_id_round_trip_and_case() {
        let id = SessionPoolId::parse(
            "/subscriptions/s/resourcegroups/rg/providers/microsoft.app/sessionpools/pool1",
        )
        .unwrap();
        assert_eq!(id, SessionPoolId::new("s", "rg", "pool1"));
        assert_eq!(
            id.path(),
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/sessionPools/pool1"
        );
        assert!(SessionPoolId::parse("/subscriptions/s/resourceGroups/rg").is_err());
        assert!(SessionPoolId::parse("pool1")
            .unwrap_err()
            .contains("expected"));
    }

    #[test]
    fn diagnostic_id_forms() {
        let env =
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/managedEnvironments/e";
        let id = DiagnosticSettingId::parse(&format!("{env}|diag")).unwrap();
        assert_eq!(id.target_resource_id, env);
        assert_eq!(id.name, "diag");
        let again = DiagnosticSettingId::parse(&id.path()).unwrap();
        assert_eq!(again, id);
        assert!(DiagnosticSettingId::parse("diag").is_err());
        assert!(ids_equal(env, &env.to_ascii_lowercase()));
    }

    proptest! {
        #[test]
        fn pool_id_parse_of_built_id(s in "[a-z0-9-]{1,36}", rg in "[A-Za-z0-9_.-]{1,20}", n in "[a-z][a-z0-9]{2,20}") {
            let id = SessionPoolId::new(&s, &rg, &n);
            prop_assert_eq!(SessionPoolId::parse(&id.path()).unwrap(), id);
        }

        #[test]
        fn parsers_never_panic(s in "\\PC{0,120}") {
            let _ = SessionPoolId::parse(&s);
            let _ = DiagnosticSettingId::parse(&s);
        }
    }
}
