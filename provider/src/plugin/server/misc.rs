//! Provider-level RPCs (metadata, schema, validate/configure), data sources, actions, and the
//! "not supported" answers for features this provider does not offer.

use std::collections::HashMap;

use tokio::sync::mpsc;

use super::{decode, encode, finish, GrpcProvider};
use crate::plugin::codec;
use crate::plugin::diagnostics::{Diagnostic, Diagnostics};
use crate::plugin::function::FunctionError;
use crate::plugin::proto::tfplugin6 as pb;
use crate::plugin::provider::Progress;

impl GrpcProvider {
    pub(super) fn server_capabilities() -> pb::ServerCapabilities {
        pb::ServerCapabilities {
            // We plan destroys ourselves (null), so Terraform need not ask.
            plan_destroy: false,
            // Schemas never change within a binary: Terraform may cache them.
            get_provider_schema_optional: true,
            move_resource_state: false,
            generate_resource_config: false,
        }
    }

    pub(super) fn metadata(&self) -> pb::get_metadata::Response {
        let r = self.registry();
        pb::get_metadata::Response {
            server_capabilities: Some(Self::server_capabilities()),
            diagnostics: Vec::new(),
            data_sources: r
                .data_sources
                .keys()
                .map(|n| pb::get_metadata::DataSourceMetadata {
                    type_name: n.clone(),
                })
                .collect(),
            resources: r
                .resources
                .keys()
                .map(|n| pb::get_metadata::ResourceMetadata {
                    type_name: n.clone(),
                })
                .collect(),
            actions: r
                .actions
                .keys()
                .map(|n| pb::get_metadata::ActionMetadata {
                    type_name: n.clone(),
                })
                .collect(),
            functions: r
                .functions
                .keys()
                .map(|n| pb::get_metadata::FunctionMetadata { name: n.clone() })
                .collect(),
            ..Default::default()
        }
    }

    pub(super) fn functions(&self) -> HashMap<String, pb::Function> {
        self.registry()
            .functions
            .iter()
            .map(|(n, f)| (n.clone(), f.signature.to_proto()))
            .collect()
    }

    /// Calls a provider function: arguments decoded against the parameter types, the result
    /// encoded against the return type; every failure is a `FunctionError`.
    pub(super) fn call_function(
        &self,
        req: pb::call_function::Request,
    ) -> pb::call_function::Response {
        let outcome = (|| {
            let f = self.registry().function(&req.name)?;
            let params = &f.signature.parameters;
            if req.arguments.len() != params.len() {
                return Err(FunctionError::new(format!(
                    "{} takes {} arguments, got {}.",
                    req.name,
                    params.len(),
                    req.arguments.len()
                )));
            }
            let args = req
                .arguments
                .iter()
                .zip(params)
                .enumerate()
                .map(|(i, (dv, p))| {
                    codec::decode_dynamic(Some(dv), &p.ty).map_err(|e| {
                        FunctionError::argument(
                            i as i64,
                            format!("Argument {:?} is not a {}: {e}", p.name, p.ty.to_json()),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = f.imp.call(&args)?;
            codec::encode_dynamic(&out, &f.signature.returns).map_err(|e| {
                FunctionError::new(format!(
                    "{} produced a value that does not match its return type: {e}. This is a \
                     bug in the provider.",
                    req.name
                ))
            })
        })();
        match outcome {
            Ok(v) => pb::call_function::Response {
                result: Some(v),
                error: None,
            },
            Err(e) => pb::call_function::Response {
                result: None,
                error: Some(e.to_proto()),
            },
        }
    }

    pub(super) fn identity_schemas(&self) -> pb::get_resource_identity_schemas::Response {
        pb::get_resource_identity_schemas::Response {
            identity_schemas: self
                .registry()
                .resources
                .iter()
                .filter_map(|(n, e)| e.identity.as_ref().map(|(s, _)| (n.clone(), s.to_proto())))
                .collect(),
            diagnostics: Vec::new(),
        }
    }

    pub(super) fn provider_schema(&self) -> pb::get_provider_schema::Response {
        let r = self.registry();
        pb::get_provider_schema::Response {
            provider: Some(r.provider_schema.to_proto()),
            resource_schemas: r
                .resources
                .iter()
                .map(|(n, e)| (n.clone(), e.schema.to_proto()))
                .collect(),
            data_source_schemas: r
                .data_sources
                .iter()
                .map(|(n, e)| (n.clone(), e.schema.to_proto()))
                .collect(),
            action_schemas: r
                .actions
                .iter()
                .map(|(n, e)| {
                    (
                        n.clone(),
                        pb::ActionSchema {
                            schema: Some(e.schema.to_proto()),
                        },
                    )
                })
                .collect(),
            provider_meta: r.meta.as_ref().map(|(s, _)| s.to_proto()),
            server_capabilities: Some(Self::server_capabilities()),
            functions: self.functions(),
            ..Default::default()
        }
    }

    pub(super) async fn validate_provider(
        &self,
        req: pb::validate_provider_config::Request,
    ) -> pb::validate_provider_config::Response {
        let ctx = self.ctx(None);
        let outcome = async {
            let ty = &self.registry().provider_ty;
            let config = decode(req.config.as_ref(), ty, "provider configuration")?;
            self.provider().validate(&ctx, &config).await
        }
        .await;
        pb::validate_provider_config::Response {
            diagnostics: finish(&ctx, outcome.err()),
        }
    }

    pub(super) async fn configure(
        &self,
        req: pb::configure_provider::Request,
    ) -> pb::configure_provider::Response {
        self.state()
            .set_terraform_version(req.terraform_version.clone());
        let ctx = self.ctx(req.client_capabilities.as_ref());
        let outcome = async {
            let ty = &self.registry().provider_ty;
            let config = decode(req.config.as_ref(), ty, "provider configuration")?;
            let data = self.provider().configure(&ctx, &config).await?;
            self.state().set_data(data);
            Ok::<(), Diagnostics>(())
        }
        .await;
        pb::configure_provider::Response {
            diagnostics: finish(&ctx, outcome.err()),
        }
    }

    pub(super) async fn validate_data_source(
        &self,
        req: pb::validate_data_resource_config::Request,
    ) -> pb::validate_data_resource_config::Response {
        let ctx = self.ctx(None);
        let outcome = async {
            let entry = self.registry().data_source(&req.type_name)?;
            let config = decode(req.config.as_ref(), &entry.ty, "data source configuration")?;
            entry.imp.validate(&ctx, &config).await
        }
        .await;
        pb::validate_data_resource_config::Response {
            diagnostics: finish(&ctx, outcome.err()),
        }
    }

    pub(super) async fn read_data_source(
        &self,
        req: pb::read_data_source::Request,
    ) -> pb::read_data_source::Response {
        let ctx = self.ctx(req.client_capabilities.as_ref());
        let outcome = async {
            let entry = self.registry().data_source(&req.type_name)?;
            let config = decode(req.config.as_ref(), &entry.ty, "data source configuration")?;
            let state = entry.imp.read(&ctx, config).await?;
            encode(&state, &entry.ty, "data source result")
        }
        .await;
        let (state, err) = match outcome {
            Ok(s) => (Some(s), None),
            Err(e) => (None, Some(e)),
        };
        pb::read_data_source::Response {
            state,
            diagnostics: finish(&ctx, err),
            deferred: None,
        }
    }

    pub(super) async fn validate_action(
        &self,
        req: pb::validate_action_config::Request,
    ) -> pb::validate_action_config::Response {
        let ctx = self.ctx(None);
        let outcome = async {
            let entry = self.registry().action(&req.type_name)?;
            let config = decode(req.config.as_ref(), &entry.ty, "action configuration")?;
            entry.imp.validate(&ctx, &config).await
        }
        .await;
        pb::validate_action_config::Response {
            diagnostics: finish(&ctx, outcome.err()),
        }
    }

    pub(super) async fn plan_action(
        &self,
        req: pb::plan_action::Request,
    ) -> pb::plan_action::Response {
        let ctx = self.ctx(req.client_capabilities.as_ref());
        let outcome = async {
            let entry = self.registry().action(&req.action_type)?;
            let config = decode(req.config.as_ref(), &entry.ty, "action configuration")?;
            entry.imp.plan(&ctx, &config).await
        }
        .await;
        pb::plan_action::Response {
            diagnostics: finish(&ctx, outcome.err()),
            deferred: None,
        }
    }

    /// Runs an action; the returned channel yields Progress events and then exactly one
    /// Completed event, last. StopProvider ends the invocation with an error diagnostic.
    pub(super) fn invoke_action(
        &self,
        req: pb::invoke_action::Request,
    ) -> mpsc::Receiver<pb::invoke_action::Event> {
        use pb::invoke_action::event::{Completed, Progress as PbProgress, Type as Ev};
        let (tx, rx) = mpsc::channel(32);
        let this = self.clone();
        tokio::spawn(async move {
            let ctx = this.ctx(req.client_capabilities.as_ref());
            let (ptx, mut prx) = mpsc::channel::<String>(32);
            let events = tx.clone();
            let forward = async move {
                while let Some(message) = prx.recv().await {
                    let ev = pb::invoke_action::Event {
                        r#type: Some(Ev::Progress(PbProgress { message })),
                    };
                    if events.send(ev).await.is_err() {
                        break;
                    }
                }
            };
            let run = async {
                let progress = Progress::new(ptx);
                let entry = this.registry().action(&req.action_type)?;
                let config = decode(req.config.as_ref(), &entry.ty, "action configuration")?;
                let stop = ctx.stop_token().clone();
                tokio::select! {
                    r = entry.imp.invoke(&ctx, config, &progress) => r,
                    _ = stop.cancelled() => Err(Diagnostic::error(
                        "Action cancelled",
                        "Terraform asked the provider to stop (interrupt) before the action finished.",
                    ).into()),
                }
            };
            let (outcome, ()) = tokio::join!(run, forward);
            let done = pb::invoke_action::Event {
                r#type: Some(Ev::Completed(Completed {
                    diagnostics: finish(&ctx, outcome.err()),
                })),
            };
            let _ = tx.send(done).await;
        });
        rx
    }
}

/// A "not supported" diagnostic list for a feature kind this provider does not offer.
pub(super) fn unsupported(kind: &str, name: &str) -> Vec<pb::Diagnostic> {
    Diagnostics::from(Diagnostic::error(
        format!("{kind} not supported"),
        format!(
            "This provider has no {kind} {name:?}; it does not offer {kind}s. Check the provider \
             documentation for the available types."
        ),
    ))
    .to_proto()
}
