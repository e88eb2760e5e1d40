//! Managed-resource RPCs: ValidateResourceConfig, UpgradeResourceState, ReadResource,
//! PlanResourceChange, ApplyResourceChange, ImportResourceState.

use super::registry::Entry;
use super::{decode, encode, finish, GrpcProvider};
use crate::plugin::diagnostics::{Diagnostic, Diagnostics};
use crate::plugin::path::AttributePath;
use crate::plugin::plan::null_write_only;
use crate::plugin::proto::tfplugin6 as pb;
use crate::plugin::provider::{
    CreateRequest, DeleteRequest, PlanRequest, ReadRequest, UpdateRequest,
};
use crate::plugin::schema::Block;
use crate::plugin::value::Value;

impl GrpcProvider {
    pub(super) async fn validate_resource(
        &self,
        req: pb::validate_resource_config::Request,
    ) -> pb::validate_resource_config::Response {
        let ctx = self.ctx(req.client_capabilities.as_ref());
        let outcome = async {
            let entry = self.registry().resource(&req.type_name)?;
            let config = decode(req.config.as_ref(), &entry.ty, "resource configuration")?;
            if !ctx.capabilities().write_only_attributes_allowed {
                check_no_write_only(&entry.schema.block, &config, &AttributePath::root())?;
            }
            entry.imp.validate(&ctx, &config).await
        }
        .await;
        pb::validate_resource_config::Response {
            diagnostics: finish(&ctx, outcome.err()),
        }
    }

    pub(super) async fn upgrade_resource_state(
        &self,
        req: pb::upgrade_resource_state::Request,
    ) -> pb::upgrade_resource_state::Response {
        let ctx = self.ctx(None);
        let outcome = async {
            let entry = self.registry().resource(&req.type_name)?;
            let raw = req.raw_state.unwrap_or_default();
            let mut state = if !raw.json.is_empty() {
                let json: serde_json::Value = serde_json::from_slice(&raw.json).map_err(|e| {
                    Diagnostics::from(Diagnostic::error(
                        "Invalid stored state",
                        format!(
                            "The stored state of this {} is not valid JSON: {e}",
                            req.type_name
                        ),
                    ))
                })?;
                entry.imp.upgrade_state(&ctx, req.version, json).await?
            } else if !raw.flatmap.is_empty() {
                return Err(Diagnostic::error(
                    "Legacy state format not supported",
                    "The stored state uses the pre-0.12 flatmap format, which this provider \
                     never wrote. Remove the resource from state and import it again.",
                )
                .into());
            } else {
                Value::Null
            };
            null_write_only(&entry.schema.block, &mut state);
            encode(&state, &entry.ty, "upgraded state")
        }
        .await;
        let (upgraded_state, err) = split(outcome);
        pb::upgrade_resource_state::Response {
            upgraded_state,
            diagnostics: finish(&ctx, err),
        }
    }

    pub(super) async fn read_resource(
        &self,
        req: pb::read_resource::Request,
    ) -> pb::read_resource::Response {
        let ctx = self.ctx(req.client_capabilities.as_ref());
        let mut private = req.private.clone();
        let mut new_identity = None;
        let outcome = async {
            let entry = self.registry().resource(&req.type_name)?;
            let current = decode(req.current_state.as_ref(), &entry.ty, "current state")?;
            if current.is_null() {
                return encode(&Value::Null, &entry.ty, "state");
            }
            let meta = self.decode_meta(req.provider_meta.as_ref())?;
            let mut out = entry
                .imp
                .read(
                    &ctx,
                    ReadRequest {
                        current_state: current,
                        private: req.private.clone(),
                        provider_meta: meta,
                    },
                )
                .await?;
            null_write_only(&entry.schema.block, &mut out.new_state);
            private = out.private;
            new_identity = self.identity_of(&ctx, entry, &out.new_state).await?;
            encode(&out.new_state, &entry.ty, "refreshed state")
        }
        .await;
        let (new_state, err) = split(outcome);
        pb::read_resource::Response {
            new_state,
            diagnostics: finish(&ctx, err),
            private,
            new_identity,
            ..Default::default()
        }
    }

    pub(super) async fn plan_resource_change(
        &self,
        req: pb::plan_resource_change::Request,
    ) -> pb::plan_resource_change::Response {
        let ctx = self.ctx(req.client_capabilities.as_ref());
        let mut planned_private = req.prior_private.clone();
        let mut requires_replace = Vec::new();
        let mut planned_identity = None;
        let outcome = async {
            let entry = self.registry().resource(&req.type_name)?;
            let prior = decode(req.prior_state.as_ref(), &entry.ty, "prior state")?;
            let proposed = decode(req.proposed_new_state.as_ref(), &entry.ty, "proposed state")?;
            if proposed.is_null() {
                return encode(&Value::Null, &entry.ty, "planned state");
            }
            let config = decode(req.config.as_ref(), &entry.ty, "resource configuration")?;
            let meta = self.decode_meta(req.provider_meta.as_ref())?;
            let mut planned = entry
                .imp
                .plan(
                    &ctx,
                    PlanRequest {
                        prior_state: prior,
                        proposed_new_state: proposed,
                        config,
                        prior_private: req.prior_private.clone(),
                        provider_meta: meta,
                    },
                )
                .await?;
            null_write_only(&entry.schema.block, &mut planned.planned_state);
            planned_private = planned.planned_private;
            requires_replace = planned.requires_replace;
            planned_identity = self
                .identity_of(&ctx, entry, &planned.planned_state)
                .await?;
            encode(&planned.planned_state, &entry.ty, "planned state")
        }
        .await;
        let (planned_state, err) = split(outcome);
        pb::plan_resource_change::Response {
            planned_state,
            requires_replace: requires_replace
                .iter()
                .map(AttributePath::to_proto)
                .collect(),
            planned_private,
            diagnostics: finish(&ctx, err),
            planned_identity,
            ..Default::default()
        }
    }

    pub(super) async fn apply_resource_change(
        &self,
        req: pb::apply_resource_change::Request,
    ) -> pb::apply_resource_change::Response {
        let ctx = self.ctx(None);
        let mut private = Vec::new();
        let mut partial = Diagnostics::new();
        let mut new_identity = None;
        let outcome = async {
            let entry = self.registry().resource(&req.type_name)?;
            let prior = decode(req.prior_state.as_ref(), &entry.ty, "prior state")?;
            let planned = decode(req.planned_state.as_ref(), &entry.ty, "planned state")?;
            let config = decode(req.config.as_ref(), &entry.ty, "resource configuration")?;
            let planned_private = req.planned_private.clone();
            let mut new_state = if planned.is_null() {
                entry
                    .imp
                    .delete(
                        &ctx,
                        DeleteRequest {
                            prior_state: prior,
                            private: planned_private,
                        },
                    )
                    .await?;
                Value::Null
            } else {
                let applied = if prior.is_null() {
                    entry
                        .imp
                        .create(
                            &ctx,
                            CreateRequest {
                                planned_state: planned,
                                config,
                                planned_private,
                            },
                        )
                        .await?
                } else {
                    entry
                        .imp
                        .update(
                            &ctx,
                            UpdateRequest {
                                prior_state: prior,
                                planned_state: planned,
                                config,
                                planned_private,
                            },
                        )
                        .await?
                };
                private = applied.private;
                partial = applied.diagnostics;
                applied.new_state
            };
            null_write_only(&entry.schema.block, &mut new_state);
            new_identity = self.identity_of(&ctx, entry, &new_state).await?;
            encode(&new_state, &entry.ty, "new state")
        }
        .await;
        let (new_state, err) = split(outcome);
        // A partial failure: the new state travels with its errors.
        let err = match err {
            Some(mut e) => {
                e.extend(partial);
                Some(e)
            }
            None if !partial.is_empty() => Some(partial),
            None => None,
        };
        pb::apply_resource_change::Response {
            new_state,
            private,
            diagnostics: finish(&ctx, err),
            new_identity,
            ..Default::default()
        }
    }

    pub(super) async fn import_resource_state(
        &self,
        req: pb::import_resource_state::Request,
    ) -> pb::import_resource_state::Response {
        let ctx = self.ctx(req.client_capabilities.as_ref());
        let outcome = async {
            let entry = self.registry().resource(&req.type_name)?;
            let by_identity = req
                .identity
                .as_ref()
                .and_then(|i| i.identity_data.as_ref())
                .filter(|_| req.id.is_empty());
            let mut imported = match (by_identity, &entry.identity) {
                (Some(dv), Some((_, ty))) => {
                    let identity = decode(Some(dv), ty, "import identity")?;
                    entry.imp.import_by_identity(&ctx, &identity).await?
                }
                (Some(_), None) => {
                    return Err(Diagnostic::error(
                        "Import by identity not supported",
                        format!(
                            "The resource type {} has no identity; import it by id.",
                            req.type_name
                        ),
                    )
                    .into())
                }
                (None, _) => entry.imp.import(&ctx, &req.id).await?,
            };
            null_write_only(&entry.schema.block, &mut imported.state);
            let identity = self.identity_of(&ctx, entry, &imported.state).await?;
            Ok(pb::import_resource_state::ImportedResource {
                type_name: req.type_name.clone(),
                state: Some(encode(&imported.state, &entry.ty, "imported state")?),
                private: imported.private,
                identity,
            })
        }
        .await;
        let (imported, err) = split(outcome);
        pb::import_resource_state::Response {
            imported_resources: imported.into_iter().collect(),
            diagnostics: finish(&ctx, err),
            deferred: None,
        }
    }

    /// UpgradeResourceIdentity: stored identity JSON (same version) -> the current identity.
    pub(super) fn upgrade_resource_identity(
        &self,
        req: pb::upgrade_resource_identity::Request,
    ) -> pb::upgrade_resource_identity::Response {
        let ctx = self.ctx(None);
        let outcome = (|| {
            let entry = self.registry().resource(&req.type_name)?;
            let Some((schema, ty)) = &entry.identity else {
                return Err(Diagnostic::error(
                    "Resource identity not supported",
                    format!("The resource type {} has no identity.", req.type_name),
                )
                .into());
            };
            if req.version != schema.version {
                return Err(Diagnostic::error(
                    "Cannot upgrade the resource identity",
                    format!(
                        "The stored identity of this {} has version {}; this provider knows \
                         version {}.",
                        req.type_name, req.version, schema.version
                    ),
                )
                .into());
            }
            let raw = req.raw_identity.unwrap_or_default();
            let json: serde_json::Value = serde_json::from_slice(&raw.json).map_err(|e| {
                Diagnostics::from(Diagnostic::error(
                    "Invalid stored identity",
                    format!("The stored identity is not valid JSON: {e}"),
                ))
            })?;
            let v = crate::plugin::codec::from_json_value_lenient(&json, ty).map_err(|e| {
                Diagnostics::from(Diagnostic::error(
                    "Stored identity does not match the schema",
                    e.to_string(),
                ))
            })?;
            Ok(pb::ResourceIdentityData {
                identity_data: Some(encode(&v, ty, "upgraded identity")?),
            })
        })();
        let (upgraded_identity, err) = split(outcome);
        pb::upgrade_resource_identity::Response {
            upgraded_identity,
            diagnostics: finish(&ctx, err),
        }
    }

    /// The identity of `state`, encoded, when the type has one and it is wholly known.
    async fn identity_of(
        &self,
        ctx: &crate::plugin::context::Ctx,
        entry: &Entry<dyn crate::plugin::provider::Resource>,
        state: &Value,
    ) -> Result<Option<pb::ResourceIdentityData>, Diagnostics> {
        let Some((_, ty)) = &entry.identity else {
            return Ok(None);
        };
        if state.is_null() {
            return Ok(None);
        }
        let Some(v) = entry.imp.identity(ctx, state).await? else {
            return Ok(None);
        };
        if !v.is_wholly_known() {
            return Ok(None);
        }
        Ok(Some(pb::ResourceIdentityData {
            identity_data: Some(encode(&v, ty, "identity")?),
        }))
    }

    pub(super) fn decode_meta(&self, dv: Option<&pb::DynamicValue>) -> Result<Value, Diagnostics> {
        match &self.registry().meta {
            Some((_, ty)) => decode(dv, ty, "provider_meta"),
            None => Ok(Value::Null),
        }
    }
}

fn split<T>(r: Result<T, Diagnostics>) -> (Option<T>, Option<Diagnostics>) {
    match r {
        Ok(v) => (Some(v), None),
        Err(e) => (None, Some(e)),
    }
}

/// Errors for write-only attributes set in config when Terraform cannot handle them.
fn check_no_write_only(
    block: &Block,
    config: &Value,
    base: &AttributePath,
) -> Result<(), Diagnostics> {
    let mut diags = Diagnostics::new();
    for a in &block.attributes {
        if a.write_only && !config.get(&a.name).is_null() {
            diags.error_at(
                base.clone().then_attr(&a.name),
                "Write-only attribute not supported",
                format!(
                    "`{}` is write-only, which needs Terraform 1.11 or later. Upgrade Terraform \
                     or remove the attribute.",
                    a.name
                ),
            );
        }
    }
    for b in &block.blocks {
        let v = config.get(&b.type_name);
        let items: Vec<(AttributePath, &Value)> = match v {
            Value::Object(_) => vec![(base.clone().then_attr(&b.type_name), v)],
            Value::List(items) | Value::Tuple(items) => items
                .iter()
                .enumerate()
                .map(|(i, it)| (base.clone().then_attr(&b.type_name).index(i as i64), it))
                .collect(),
            Value::Map(m) => m
                .iter()
                .map(|(k, it)| (base.clone().then_attr(&b.type_name).key(k), it))
                .collect(),
            _ => Vec::new(),
        };
        for (p, it) in items {
            if let Err(e) = check_no_write_only(&b.block, it, &p) {
                diags.extend(e);
            }
        }
    }
    diags.into_result()
}
