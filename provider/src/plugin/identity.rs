//! Resource identity (tfplugin6 6.9+, Terraform 1.12+): a small, stable object that names the
//! remote object (for a session pool: subscription, resource group, name). Terraform stores
//! it beside the state, checks that it does not change for an existing object, and can import
//! by identity (`import { to = ..., identity = { ... } }`) instead of by id string.
//!
//! A resource declares its identity schema from a model block ([`IdentitySchema::from_block`]):
//! required attributes are required for import, optional ones optional for import.

use super::proto::tfplugin6 as pb;
use super::schema::{AttributeType, Block};
use super::types::Type;

/// One identity attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentityAttribute {
    /// Name.
    pub name: String,
    /// Type.
    pub ty: Type,
    /// Must be given to import by identity.
    pub required_for_import: bool,
    /// May be given to import by identity.
    pub optional_for_import: bool,
    /// Markdown description.
    pub description: String,
}

/// The identity schema of a resource type.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentitySchema {
    /// Identity version (separate from the state version).
    pub version: i64,
    /// The attributes.
    pub attributes: Vec<IdentityAttribute>,
}

impl IdentitySchema {
    /// The identity schema of a model block's (plain) attributes.
    pub fn from_block(version: i64, block: &Block) -> Self {
        IdentitySchema {
            version,
            attributes: block
                .attributes
                .iter()
                .filter_map(|a| match &a.ty {
                    AttributeType::Plain(t) => Some(IdentityAttribute {
                        name: a.name.clone(),
                        ty: t.clone(),
                        required_for_import: a.required,
                        optional_for_import: !a.required,
                        description: a.description.clone(),
                    }),
                    AttributeType::Nested(_) => None,
                })
                .collect(),
        }
    }

    /// The object type of an identity value.
    pub fn implied_type(&self) -> Type {
        Type::Object(
            self.attributes
                .iter()
                .map(|a| (a.name.clone(), a.ty.clone()))
                .collect(),
        )
    }

    /// The wire form.
    pub fn to_proto(&self) -> pb::ResourceIdentitySchema {
        pb::ResourceIdentitySchema {
            version: self.version,
            identity_attributes: self
                .attributes
                .iter()
                .map(|a| pb::resource_identity_schema::IdentityAttribute {
                    name: a.name.clone(),
                    r#type: a.ty.to_json_bytes(),
                    required_for_import: a.required_for_import,
                    optional_for_import: a.optional_for_import,
                    description: a.description.clone(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::schema::Attribute;

    #[test]
    fn flags_follow_the_block() {
        let b = Block::new()
            .attribute(Attribute::string("subscription_id").optional())
            .attribute(Attribute::string("name").required());
        let s = IdentitySchema::from_block(0, &b);
        assert!(s.attributes[0].optional_for_import && !s.attributes[0].required_for_import);
        assert!(s.attributes[1].required_for_import);
        assert_eq!(
            s.implied_type().to_json().to_string(),
            r#"["object",{"name":"string","subscription_id":"string"}]"#
        );
    }
}
