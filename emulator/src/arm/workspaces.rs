//! `Microsoft.OperationalInsights/workspaces` (minimal): read-only `customerId` GUID (the id
//! the Log Analytics query API takes), `provisioningState`, `createdDate`, `modifiedDate`;
//! `sku` and `retentionInDays` default to `PerGB2018` and 30.

use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use super::error::ArmError;
use super::resource::rfc3339;
use super::tracked::TrackedType;

/// api-versions accepted for workspaces.
pub const API_VERSIONS: &[&str] = &[
    "2015-11-01-preview",
    "2020-03-01-preview",
    "2020-08-01",
    "2020-10-01",
    "2021-06-01",
    "2021-12-01-preview",
    "2022-10-01",
    "2023-09-01",
    "2025-02-01",
    "2025-07-01",
];

/// Workspace names: 4-63 letters, digits and hyphens, starting and ending alphanumeric.
pub fn validate_name(name: &str) -> Result<(), ArmError> {
    let ok = (4..=63).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ArmError::validation(
            "InvalidWorkspaceName",
            "name",
            format!("The workspace name '{name}' is invalid. It must be 4-63 letters, digits or hyphens and start and end with a letter or digit."),
        ))
    }
}

fn compute(
    props: &mut Map<String, Value>,
    previous: Option<&Map<String, Value>>,
    _location: &str,
    now: OffsetDateTime,
) {
    let keep = |k: &str| previous.and_then(|p| p.get(k)).cloned();
    let customer = keep("customerId").unwrap_or_else(|| json!(uuid::Uuid::new_v4().to_string()));
    let created = keep("createdDate").unwrap_or_else(|| json!(rfc3339(now)));
    props.insert("customerId".into(), customer);
    props.insert("provisioningState".into(), json!("Succeeded"));
    props.insert("createdDate".into(), created);
    props.insert("modifiedDate".into(), json!(rfc3339(now)));
    props.entry("sku").or_insert(json!({"name": "PerGB2018"}));
    props.entry("retentionInDays").or_insert(json!(30));
    props
        .entry("publicNetworkAccessForIngestion")
        .or_insert(json!("Enabled"));
    props
        .entry("publicNetworkAccessForQuery")
        .or_insert(json!("Enabled"));
}

/// The workspace type.
pub static TYPE: TrackedType = TrackedType {
    namespace: "Microsoft.OperationalInsights",
    collection: "workspaces",
    api_versions: API_VERSIONS,
    lro: false,
    validate_name,
    read_only: &[
        "customerId",
        "provisioningState",
        "createdDate",
        "modifiedDate",
    ],
    compute,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_id_is_stable() {
        let mut first = Map::new();
        compute(&mut first, None, "eastus", OffsetDateTime::UNIX_EPOCH);
        let mut second = Map::new();
        compute(
            &mut second,
            Some(&first),
            "eastus",
            OffsetDateTime::UNIX_EPOCH,
        );
        assert_eq!(first["customerId"], second["customerId"]);
        assert!(validate_name("sessions-logs").is_ok());
        assert!(validate_name("abc").is_err());
    }
}
