//! `Microsoft.App/managedEnvironments` (minimal): `location`, `tags`, free-form properties
//! echoed back, read-only `defaultDomain`, `staticIp`, `provisioningState`.

use rand::Rng;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use super::error::ArmError;
use super::tracked::TrackedType;

/// api-versions accepted for managed environments (the session-pool set plus older ones).
pub const API_VERSIONS: &[&str] = &[
    "2022-03-01",
    "2022-06-01-preview",
    "2022-10-01",
    "2022-11-01-preview",
    "2023-04-01-preview",
    "2023-05-01",
    "2023-05-02-preview",
    "2023-08-01-preview",
    "2023-11-02-preview",
    "2024-02-02-preview",
    "2024-03-01",
    "2024-08-02-preview",
    "2024-10-02-preview",
    "2025-01-01",
    "2025-02-02-preview",
    "2025-07-01",
    "2025-10-02-preview",
    "2026-01-01",
    "2026-07-01",
];

/// Environment names: 2-60 lower-case letters, digits and hyphens, starting with a letter,
/// not ending with a hyphen.
pub fn validate_name(name: &str) -> Result<(), ArmError> {
    let ok = (2..=60).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ArmError::validation(
            "ManagedEnvironmentInvalidName",
            "name",
            format!("Invalid ManagedEnvironment name '{name}'. A name must be 2-60 lower case letters, digits or '-', start with a letter and not end with '-'."),
        ))
    }
}

const WORDS: &[&str] = &[
    "agreeableriver",
    "bluesky",
    "calmforest",
    "gentlehill",
    "happystone",
    "kindmeadow",
    "proudsea",
    "wittyfield",
];

fn compute(
    props: &mut Map<String, Value>,
    previous: Option<&Map<String, Value>>,
    location: &str,
    _now: OffsetDateTime,
) {
    let mut rng = rand::rng();
    let keep = |k: &str| previous.and_then(|p| p.get(k)).cloned();
    let domain = keep("defaultDomain").unwrap_or_else(|| {
        let word = WORDS[rng.random_range(0..WORDS.len())];
        json!(format!(
            "{word}-{:08x}.{location}.azurecontainerapps.io",
            rng.random::<u32>()
        ))
    });
    let ip = keep("staticIp").unwrap_or_else(|| {
        json!(format!(
            "20.{}.{}.{}",
            rng.random_range(1..=254u8),
            rng.random_range(1..=254u8),
            rng.random_range(1..=254u8)
        ))
    });
    props.insert("provisioningState".into(), json!("Succeeded"));
    props.insert("defaultDomain".into(), domain);
    props.insert("staticIp".into(), ip);
    props.entry("zoneRedundant").or_insert(json!(false));
}

/// The managed environment type.
pub static TYPE: TrackedType = TrackedType {
    namespace: "Microsoft.App",
    collection: "managedEnvironments",
    api_versions: API_VERSIONS,
    lro: true,
    validate_name,
    read_only: &[
        "provisioningState",
        "defaultDomain",
        "staticIp",
        "deploymentErrors",
        "eventStreamEndpoint",
    ],
    compute,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(validate_name("sessions-env").is_ok());
        assert!(validate_name("Env").is_err());
        assert!(validate_name("e-").is_err());
        assert!(validate_name("1e").is_err());
    }

    #[test]
    fn domain_is_kept_on_update() {
        let mut first = Map::new();
        compute(&mut first, None, "eastus", OffsetDateTime::UNIX_EPOCH);
        let mut second = Map::new();
        compute(
            &mut second,
            Some(&first),
            "eastus",
            OffsetDateTime::UNIX_EPOCH,
        );
        assert_eq!(first["defaultDomain"], second["defaultDomain"]);
        assert!(first["defaultDomain"]
            .as_str()
            .is_some_and(|d| d.ends_with(".eastus.azurecontainerapps.io")));
    }
}
