//! [`ResourceId`]: the one Azure resource id type. Every module that reads an id (the store's
//! keys and parents, the pool registry, log rows, the ARM routes and validators) parses it here.
//!
//! Shape: `/subscriptions/{s}[/resourceGroups/{rg}][/providers/{Ns}/{type}/{name}[/{type}/{name}]...]`,
//! where a further `/providers/{Ns}/{type}/{name}` block addresses an extension resource of the
//! resource before it (`.../sessionPools/p/providers/Microsoft.Insights/diagnosticSettings/d`).
//! Keywords and names compare case-insensitively, as ARM does: two ids are equal when their
//! lower-cased forms are; the text keeps the casing it was created with.

use std::fmt;
use std::hash::{Hash, Hasher};

/// Why a string is not a resource id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// It does not start with `/subscriptions/{id}`.
    #[error(
        "'{0}' is not an Azure resource id: it must start with /subscriptions/{{subscriptionId}}"
    )]
    NoSubscription(String),
    /// A segment is empty (`//`).
    #[error("'{0}' is not an Azure resource id: it has an empty segment")]
    EmptySegment(String),
    /// The segments after the subscription are not `resourceGroups/{rg}` and
    /// `providers/{Ns}/{type}/{name}` blocks.
    #[error("'{0}' is not an Azure resource id: expected /resourceGroups/{{name}} or /providers/{{namespace}}/{{type}}/{{name}} after the subscription")]
    Shape(String),
}

/// An Azure resource id (see the module docs). Cheap to compare and hash (by its lower-cased
/// form); formats as the text it was built from.
#[derive(Clone)]
pub struct ResourceId {
    text: String,
    key: String,
}

/// `Microsoft.Resources/subscriptions`.
pub const SUBSCRIPTION_TYPE: &str = "Microsoft.Resources/subscriptions";
/// `Microsoft.Resources/resourceGroups`.
pub const RESOURCE_GROUP_TYPE: &str = "Microsoft.Resources/resourceGroups";

impl ResourceId {
    /// Parses `text` (surrounding whitespace and a trailing `/` are ignored).
    pub fn parse(text: &str) -> Result<Self, IdError> {
        let trimmed = text.trim().trim_end_matches('/');
        let body = trimmed
            .strip_prefix('/')
            .ok_or_else(|| IdError::NoSubscription(text.to_string()))?;
        let segs: Vec<&str> = body.split('/').collect();
        if segs.len() < 2 || !segs[0].eq_ignore_ascii_case("subscriptions") {
            return Err(IdError::NoSubscription(text.to_string()));
        }
        if segs.iter().any(|s| s.is_empty()) {
            return Err(IdError::EmptySegment(text.to_string()));
        }
        let mut i = 2;
        if segs
            .get(i)
            .is_some_and(|s| s.eq_ignore_ascii_case("resourceGroups"))
        {
            if segs.len() < i + 2 {
                return Err(IdError::Shape(text.to_string()));
            }
            i += 2;
        }
        while i < segs.len() {
            // `providers/{Ns}/{type}/{name}` then any `{type}/{name}` children.
            if !segs[i].eq_ignore_ascii_case("providers") || segs.len() < i + 4 {
                return Err(IdError::Shape(text.to_string()));
            }
            i += 4;
            while i < segs.len() && !segs[i].eq_ignore_ascii_case("providers") {
                if segs.len() < i + 2 {
                    return Err(IdError::Shape(text.to_string()));
                }
                i += 2;
            }
        }
        Ok(Self::from_normalized(format!("/{body}")))
    }

    fn from_normalized(text: String) -> Self {
        let key = text.to_ascii_lowercase();
        Self { text, key }
    }

    /// `/subscriptions/{subscription}`.
    pub fn subscription(subscription: &str) -> Self {
        Self::from_normalized(format!("/subscriptions/{subscription}"))
    }

    /// `/subscriptions/{subscription}/resourceGroups/{resource_group}`.
    pub fn resource_group(subscription: &str, resource_group: &str) -> Self {
        Self::from_normalized(format!(
            "/subscriptions/{subscription}/resourceGroups/{resource_group}"
        ))
    }

    /// `/subscriptions/{s}/resourceGroups/{rg}/providers/{resource_type}/{name}`, where
    /// `resource_type` is `Namespace/type` (e.g. `Microsoft.App/sessionPools`).
    pub fn resource(
        subscription: &str,
        resource_group: &str,
        resource_type: &str,
        name: &str,
    ) -> Self {
        Self::resource_group(subscription, resource_group).provider(resource_type, name)
    }

    /// This id plus `/providers/{resource_type}/{name}`: a resource of `Namespace/type` below
    /// this scope, or an extension resource of this resource.
    pub fn provider(&self, resource_type: &str, name: &str) -> Self {
        Self::from_normalized(format!("{}/providers/{resource_type}/{name}", self.text))
    }

    /// This id plus `/{child_type}/{name}`: a child resource.
    pub fn child(&self, child_type: &str, name: &str) -> Self {
        Self::from_normalized(format!("{}/{child_type}/{name}", self.text))
    }

    /// The id as text, in the casing it was created with.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The lower-cased id: the key the store and the pool registry use.
    pub fn key(&self) -> &str {
        &self.key
    }

    fn segments(&self) -> Vec<&str> {
        self.text[1..].split('/').collect()
    }

    /// The subscription id.
    pub fn subscription_id(&self) -> &str {
        self.text[1..].split('/').nth(1).unwrap_or_default()
    }

    /// The resource group name, when the id is in one.
    pub fn resource_group_name(&self) -> Option<&str> {
        let mut it = self.text[1..].split('/').skip(2);
        match (it.next(), it.next()) {
            (Some(k), Some(rg)) if k.eq_ignore_ascii_case("resourceGroups") => Some(rg),
            _ => None,
        }
    }

    /// The last segment: the resource's name (the subscription id for a subscription).
    pub fn name(&self) -> &str {
        self.text.rsplit('/').next().unwrap_or_default()
    }

    /// True for `/subscriptions/{s}`.
    pub fn is_subscription(&self) -> bool {
        self.segments().len() == 2
    }

    /// True for `/subscriptions/{s}/resourceGroups/{rg}`.
    pub fn is_resource_group(&self) -> bool {
        self.segments().len() == 4 && self.resource_group_name().is_some()
    }

    /// The resource type: `Microsoft.Resources/subscriptions`,
    /// `Microsoft.Resources/resourceGroups`, or `Namespace/type[/childType...]` of the last
    /// `providers` block (an extension resource has the extension's type).
    pub fn resource_type(&self) -> String {
        let segs = self.segments();
        if self.is_subscription() {
            return SUBSCRIPTION_TYPE.to_string();
        }
        if self.is_resource_group() {
            return RESOURCE_GROUP_TYPE.to_string();
        }
        let Some(p) = segs
            .iter()
            .rposition(|s| s.eq_ignore_ascii_case("providers"))
        else {
            return String::new();
        };
        let mut parts = vec![segs[p + 1]];
        parts.extend(segs[p + 2..].iter().step_by(2));
        parts.join("/")
    }

    /// True when [`Self::resource_type`] is `resource_type` (case-insensitive).
    pub fn is_type(&self, resource_type: &str) -> bool {
        self.resource_type().eq_ignore_ascii_case(resource_type)
    }

    /// The parent: a child's resource, an extension's resource, a top-level resource's
    /// resource group (or subscription), a resource group's subscription; `None` for a
    /// subscription.
    pub fn parent(&self) -> Option<Self> {
        let segs = self.segments();
        if segs.len() <= 2 {
            return None;
        }
        let mut end = segs.len() - 2;
        if end >= 2 && segs[end - 2].eq_ignore_ascii_case("providers") {
            end -= 2;
        }
        Some(Self::from_normalized(format!("/{}", segs[..end].join("/"))))
    }
}

impl PartialEq for ResourceId {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for ResourceId {}

impl Hash for ResourceId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

impl PartialOrd for ResourceId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ResourceId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)
    }
}

impl std::str::FromStr for ResourceId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for ResourceId {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl serde::Serialize for ResourceId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const RG: &str = "/subscriptions/S1/resourceGroups/MyRG";

    fn id(s: &str) -> ResourceId {
        ResourceId::parse(s).expect("valid id")
    }

    #[test]
    fn parses_every_level() {
        let sub = id("/subscriptions/S1");
        assert!(sub.is_subscription());
        assert_eq!(sub.resource_type(), SUBSCRIPTION_TYPE);
        assert_eq!(sub.parent(), None);
        let rg = id(RG);
        assert!(rg.is_resource_group());
        assert_eq!(rg.resource_group_name(), Some("MyRG"));
        assert_eq!(rg.resource_type(), RESOURCE_GROUP_TYPE);
        assert_eq!(rg.parent(), Some(sub.clone()));
        let pool = id(&format!("{RG}/providers/Microsoft.App/sessionPools/p1"));
        assert_eq!(pool.subscription_id(), "S1");
        assert_eq!(pool.resource_group_name(), Some("MyRG"));
        assert_eq!(pool.name(), "p1");
        assert_eq!(pool.resource_type(), "Microsoft.App/sessionPools");
        assert_eq!(pool.parent(), Some(rg.clone()));
        let diag = pool.provider("Microsoft.Insights/diagnosticSettings", "d");
        assert_eq!(
            diag.resource_type(),
            "Microsoft.Insights/diagnosticSettings"
        );
        assert_eq!(diag.parent(), Some(pool.clone()));
        assert_eq!(id(diag.as_str()), diag);
        let child = pool.child("sessions", "s1");
        assert_eq!(child.resource_type(), "Microsoft.App/sessionPools/sessions");
        assert_eq!(child.parent(), Some(pool));
        let sub_ext = sub.provider("Microsoft.Insights/diagnosticSettings", "x");
        assert!(sub_ext.resource_group_name().is_none());
        assert_eq!(sub_ext.parent(), Some(sub));
    }

    #[test]
    fn compares_case_insensitively_and_keeps_casing() {
        let a = id("/subscriptions/S/resourcegroups/RG/providers/microsoft.app/SESSIONPOOLS/P");
        let b = ResourceId::resource("s", "rg", "Microsoft.App/sessionPools", "p");
        assert_eq!(a, b);
        assert_eq!(a.key(), b.key());
        assert_eq!(
            a.to_string(),
            "/subscriptions/S/resourcegroups/RG/providers/microsoft.app/SESSIONPOOLS/P"
        );
        assert!(a.is_type("Microsoft.App/sessionPools"));
        assert_eq!(
            id(" /subscriptions/s/resourceGroups/rg/ "),
            id("/subscriptions/s/resourceGroups/rg")
        );
    }

    #[test]
    fn refuses_other_shapes() {
        for bad in [
            "",
            "subscriptions/s",
            "/subscriptions",
            "/tenants/t",
            "/subscriptions/s/resourceGroups",
            "/subscriptions/s/resourceGroups//providers/a/b/c",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/sessionPools",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/sessionPools/p/sessions",
            "/subscriptions/s/resourceGroups/rg/foo/bar",
        ] {
            assert!(ResourceId::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn built_ids_parse_back(sub in "[A-Za-z0-9-]{1,12}", rg in "[A-Za-z0-9._-]{1,12}", name in "[a-z0-9]{1,12}") {
            let built = ResourceId::resource(&sub, &rg, "Microsoft.App/sessionPools", &name);
            let parsed = ResourceId::parse(built.as_str()).expect("parses");
            prop_assert_eq!(&parsed, &built);
            prop_assert_eq!(parsed.subscription_id(), sub.as_str());
            prop_assert_eq!(parsed.resource_group_name(), Some(rg.as_str()));
            prop_assert_eq!(parsed.name(), name.as_str());
            let upper = ResourceId::parse(&built.to_string().to_uppercase()).expect("parses");
            prop_assert_eq!(upper, built);
        }
    }
}
