//! Type tables: every resource, data source and action with its schema and implied type,
//! looked up by full type name.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::plugin::diagnostics::{Diagnostic, Diagnostics};
use crate::plugin::function::{Function, FunctionError, Signature};
use crate::plugin::identity::IdentitySchema;
use crate::plugin::provider::{Action, DataSource, Provider, Resource};
use crate::plugin::schema::Schema;
use crate::plugin::types::Type;

/// One registered type with its cached schema.
pub struct Entry<T: ?Sized> {
    /// The implementation.
    pub imp: Arc<T>,
    /// Its schema (read once).
    pub schema: Schema,
    /// The schema's implied type (drives the codec).
    pub ty: Type,
    /// Identity schema and its implied type (managed resources with an identity).
    pub identity: Option<(IdentitySchema, Type)>,
}

impl<T: ?Sized> Entry<T> {
    fn new(imp: Arc<T>, schema: Schema) -> Self {
        let ty = schema.implied_type();
        Self {
            imp,
            schema,
            ty,
            identity: None,
        }
    }
}

/// A provider function with its cached signature.
pub struct FunctionEntry {
    /// The implementation.
    pub imp: Arc<dyn Function>,
    /// Its signature (read once).
    pub signature: Signature,
}

/// Every type a provider offers.
pub struct Registry {
    /// Provider configuration schema.
    pub provider_schema: Schema,
    /// Its implied type.
    pub provider_ty: Type,
    /// provider_meta schema and type.
    pub meta: Option<(Schema, Type)>,
    /// Managed resources by type name.
    pub resources: BTreeMap<String, Entry<dyn Resource>>,
    /// Data sources by type name.
    pub data_sources: BTreeMap<String, Entry<dyn DataSource>>,
    /// Actions by type name.
    pub actions: BTreeMap<String, Entry<dyn Action>>,
    /// Provider functions by name.
    pub functions: BTreeMap<String, FunctionEntry>,
}

impl Registry {
    /// Reads every schema of `provider`.
    pub fn new(provider: &dyn Provider) -> Self {
        let provider_schema = provider.schema();
        let provider_ty = provider_schema.implied_type();
        Self {
            provider_schema,
            provider_ty,
            meta: provider.meta_schema().map(|s| {
                let t = s.implied_type();
                (s, t)
            }),
            resources: provider
                .resources()
                .into_iter()
                .map(|r| {
                    let mut e = Entry::new(r.clone(), r.schema());
                    e.identity = r.identity_schema().map(|s| {
                        let t = s.implied_type();
                        (s, t)
                    });
                    (r.type_name().to_string(), e)
                })
                .collect(),
            data_sources: provider
                .data_sources()
                .into_iter()
                .map(|r| (r.type_name().to_string(), Entry::new(r.clone(), r.schema())))
                .collect(),
            actions: provider
                .actions()
                .into_iter()
                .map(|r| (r.type_name().to_string(), Entry::new(r.clone(), r.schema())))
                .collect(),
            functions: provider
                .functions()
                .into_iter()
                .map(|f| {
                    let signature = f.signature();
                    (f.name().to_string(), FunctionEntry { imp: f, signature })
                })
                .collect(),
        }
    }

    /// Checks every schema against Terraform's rules and the `<provider>_` name prefix;
    /// returns one message per problem (empty = all good). Run it in a test.
    pub fn problems(&self, provider_name: &str) -> Vec<String> {
        let mut out = Vec::new();
        let prefix = format!("{provider_name}_");
        let mut check = |kind: &str, name: &str, schema: &Schema| {
            if !name.starts_with(&prefix) {
                out.push(format!(
                    "{kind} {name}: type name must start with {prefix:?}"
                ));
            }
            if let Err(e) = schema.validate() {
                out.push(format!("{kind} {name}: {e}"));
            }
        };
        check("provider", &prefix, &self.provider_schema);
        for (n, e) in &self.resources {
            check("resource", n, &e.schema);
        }
        for (n, e) in &self.data_sources {
            check("data source", n, &e.schema);
        }
        for (n, e) in &self.actions {
            check("action", n, &e.schema);
        }
        out
    }

    /// A managed resource type, or an error diagnostic listing the known ones.
    pub fn resource(&self, name: &str) -> Result<&Entry<dyn Resource>, Diagnostics> {
        lookup(&self.resources, name, "managed resource")
    }

    /// A data source type.
    pub fn data_source(&self, name: &str) -> Result<&Entry<dyn DataSource>, Diagnostics> {
        lookup(&self.data_sources, name, "data source")
    }

    /// An action type.
    pub fn action(&self, name: &str) -> Result<&Entry<dyn Action>, Diagnostics> {
        lookup(&self.actions, name, "action")
    }

    /// A provider function.
    pub fn function(&self, name: &str) -> Result<&FunctionEntry, FunctionError> {
        self.functions.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.functions.keys().map(String::as_str).collect();
            FunctionError::new(format!(
                "This provider has no function {name:?}. Its functions: {}.",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ))
        })
    }
}

fn lookup<'a, T: ?Sized>(
    map: &'a BTreeMap<String, Entry<T>>,
    name: &str,
    kind: &str,
) -> Result<&'a Entry<T>, Diagnostics> {
    map.get(name).ok_or_else(|| {
        let known: Vec<&str> = map.keys().map(String::as_str).collect();
        Diagnostic::error(
            format!("Unknown {kind} type"),
            format!(
                "This provider has no {kind} type {name:?}. Known {kind} types: {}.",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ),
        )
        .into()
    })
}
