//! `Microsoft.Insights/diagnosticSettings` at api-version [`API_VERSION`].

use serde::{Deserialize, Serialize};

/// The api-version the provider speaks for diagnostic settings.
pub const API_VERSION: &str = "2021-05-01-preview";

/// A diagnostic setting.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DiagnosticSetting {
    /// ARM id (read-only).
    #[serde(default, skip_serializing)]
    pub id: Option<String>,
    /// Name (read-only in the body).
    #[serde(default, skip_serializing)]
    pub name: Option<String>,
    /// Properties.
    #[serde(default)]
    pub properties: DiagnosticSettingProperties,
}

/// `properties`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiagnosticSettingProperties {
    /// Log Analytics workspace ARM id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<String>,
    /// `Dedicated` or null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_analytics_destination_type: Option<String>,
    /// Log categories.
    #[serde(default)]
    pub logs: Vec<LogSettings>,
    /// Metric categories.
    #[serde(default)]
    pub metrics: Vec<MetricSettings>,
}

/// `logs[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogSettings {
    /// Category, e.g. `AppEnvSessionConsoleLogs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Category group, e.g. `allLogs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_group: Option<String>,
    /// Whether the category is exported.
    #[serde(default)]
    pub enabled: bool,
    /// Retention (legacy; always sent disabled).
    #[serde(default)]
    pub retention_policy: RetentionPolicy,
}

/// `metrics[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricSettings {
    /// Category, e.g. `AllMetrics`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Whether the category is exported.
    #[serde(default)]
    pub enabled: bool,
    /// Retention (legacy; always sent disabled).
    #[serde(default)]
    pub retention_policy: RetentionPolicy,
}

/// `retentionPolicy`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RetentionPolicy {
    /// Enabled.
    #[serde(default)]
    pub enabled: bool,
    /// Days (0 = forever).
    #[serde(default)]
    pub days: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let s = DiagnosticSetting {
            properties: DiagnosticSettingProperties {
                workspace_id: Some("/w".into()),
                logs: vec![LogSettings {
                    category: Some("AppEnvSessionConsoleLogs".into()),
                    enabled: true,
                    ..Default::default()
                }],
                ..Default::default()
            },
            ..Default::default()
        };
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["properties"]["logs"][0]["retentionPolicy"]["days"], 0);
        assert!(v["properties"]["logs"][0].get("categoryGroup").is_none());
        let back: DiagnosticSetting = serde_json::from_value(v).unwrap();
        assert_eq!(back, s);
    }
}
