//! JSON merge patch (RFC 7396) for PATCH, restricted to what `SessionPoolUpdatableProperties`
//! allows: `tags`, `identity` (versions that have it) and
//! `properties.{scaleConfiguration, secrets, dynamicPoolConfiguration, customContainerTemplate,
//! sessionNetworkConfiguration}`. Other keys in the patch are ignored, like unknown properties.
//! Keys match case-insensitively: a patch key replaces the target key of any casing.

use serde_json::{Map, Value};

use super::version::ApiVersion;

/// Properties a PATCH may change.
pub const PATCHABLE_PROPERTIES: [&str; 5] = [
    "scaleConfiguration",
    "secrets",
    "dynamicPoolConfiguration",
    "customContainerTemplate",
    "sessionNetworkConfiguration",
];

/// RFC 7396 merge of `patch` into `target`, with case-insensitive keys.
pub fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(t) = target {
        for (k, v) in p {
            let existing = t.keys().find(|tk| tk.eq_ignore_ascii_case(k)).cloned();
            if v.is_null() {
                if let Some(e) = existing {
                    t.remove(&e);
                }
                continue;
            }
            let key = existing.unwrap_or_else(|| k.clone());
            let slot = t.entry(key).or_insert(Value::Null);
            merge(slot, v);
        }
    }
}

fn pick<'a>(m: &'a Map<String, Value>, name: &str) -> Option<(&'a String, &'a Value)> {
    m.iter().find(|(k, _)| k.eq_ignore_ascii_case(name))
}

/// Applies the patchable part of `patch` (a JSON object) to `doc` (the stored pool rendered in
/// version `v`, secrets included).
pub fn apply_patch(doc: &mut Value, patch: &Map<String, Value>, v: ApiVersion) {
    let mut allowed = Map::new();
    if let Some((k, val)) = pick(patch, "tags") {
        allowed.insert(k.clone(), val.clone());
    }
    if v.has_identity() {
        if let Some((k, val)) = pick(patch, "identity") {
            allowed.insert(k.clone(), val.clone());
        }
    }
    if let Some((k, props)) = pick(patch, "properties") {
        match props {
            Value::Object(pm) => {
                let kept: Map<String, Value> = PATCHABLE_PROPERTIES
                    .iter()
                    .filter_map(|name| pick(pm, name).map(|(k, v)| (k.clone(), v.clone())))
                    .collect();
                allowed.insert(k.clone(), Value::Object(kept));
            }
            // A non-object `properties` is passed through so parsing reports the type error.
            other => {
                allowed.insert(k.clone(), other.clone());
            }
        }
    }
    merge(doc, &Value::Object(allowed));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc7396_basics_with_case_insensitive_keys() {
        let mut t = json!({"a": {"b": 1, "c": 2}, "arr": [1, 2]});
        merge(&mut t, &json!({"A": {"C": null, "d": 3}, "arr": [3]}));
        assert_eq!(t, json!({"a": {"b": 1, "d": 3}, "arr": [3]}));
    }

    #[test]
    fn only_patchable_fields_apply() {
        let mut doc = json!({"location": "eastus", "tags": {"a": "1"},
            "properties": {"environmentId": "/e", "scaleConfiguration": {"maxConcurrentSessions": 5, "readySessionInstances": 1}}});
        let patch = json!({"location": "westus", "tags": {"b": "2"}, "identity": {"type": "SystemAssigned"},
            "properties": {"environmentId": "/other", "scaleconfiguration": {"maxConcurrentSessions": 9}}});
        apply_patch(
            &mut doc,
            patch.as_object().unwrap(),
            ApiVersion::V2024_08_02Preview,
        );
        assert_eq!(
            doc,
            json!({"location": "eastus", "tags": {"a": "1", "b": "2"},
            "properties": {"environmentId": "/e", "scaleConfiguration": {"maxConcurrentSessions": 9, "readySessionInstances": 1}}})
        );
        apply_patch(&mut doc, patch.as_object().unwrap(), ApiVersion::CANONICAL);
        assert_eq!(doc["identity"], json!({"type": "SystemAssigned"}));
    }
}
