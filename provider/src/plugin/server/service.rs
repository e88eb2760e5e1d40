//! The generated `tfplugin6.Provider` trait, delegating to the RPC handlers. Every RPC of
//! protocol 6.10 is answered: supported ones by the handlers, the rest with a "not supported"
//! diagnostic (or UNIMPLEMENTED for the streaming state-store and list RPCs).

use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status};

use super::misc::unsupported;
use super::GrpcProvider;
use crate::plugin::proto::tfplugin6 as pb;

type R<T> = Result<Response<T>, Status>;

fn ok<T>(v: T) -> R<T> {
    Ok(Response::new(v))
}

#[tonic::async_trait]
impl pb::provider_server::Provider for GrpcProvider {
    async fn get_metadata(
        &self,
        _: Request<pb::get_metadata::Request>,
    ) -> R<pb::get_metadata::Response> {
        ok(self.metadata())
    }

    async fn get_provider_schema(
        &self,
        _: Request<pb::get_provider_schema::Request>,
    ) -> R<pb::get_provider_schema::Response> {
        ok(self.provider_schema())
    }

    async fn validate_provider_config(
        &self,
        req: Request<pb::validate_provider_config::Request>,
    ) -> R<pb::validate_provider_config::Response> {
        ok(self.validate_provider(req.into_inner()).await)
    }

    async fn validate_resource_config(
        &self,
        req: Request<pb::validate_resource_config::Request>,
    ) -> R<pb::validate_resource_config::Response> {
        ok(self.validate_resource(req.into_inner()).await)
    }

    async fn validate_data_resource_config(
        &self,
        req: Request<pb::validate_data_resource_config::Request>,
    ) -> R<pb::validate_data_resource_config::Response> {
        ok(self.validate_data_source(req.into_inner()).await)
    }

    async fn upgrade_resource_state(
        &self,
        req: Request<pb::upgrade_resource_state::Request>,
    ) -> R<pb::upgrade_resource_state::Response> {
        ok(GrpcProvider::upgrade_resource_state(self, req.into_inner()).await)
    }

    async fn get_resource_identity_schemas(
        &self,
        _: Request<pb::get_resource_identity_schemas::Request>,
    ) -> R<pb::get_resource_identity_schemas::Response> {
        ok(self.identity_schemas())
    }

    async fn upgrade_resource_identity(
        &self,
        req: Request<pb::upgrade_resource_identity::Request>,
    ) -> R<pb::upgrade_resource_identity::Response> {
        ok(GrpcProvider::upgrade_resource_identity(
            self,
            req.into_inner(),
        ))
    }

    async fn configure_provider(
        &self,
        req: Request<pb::configure_provider::Request>,
    ) -> R<pb::configure_provider::Response> {
        ok(self.configure(req.into_inner()).await)
    }

    async fn read_resource(
        &self,
        req: Request<pb::read_resource::Request>,
    ) -> R<pb::read_resource::Response> {
        ok(GrpcProvider::read_resource(self, req.into_inner()).await)
    }

    async fn plan_resource_change(
        &self,
        req: Request<pb::plan_resource_change::Request>,
    ) -> R<pb::plan_resource_change::Response> {
        ok(GrpcProvider::plan_resource_change(self, req.into_inner()).await)
    }

    async fn apply_resource_change(
        &self,
        req: Request<pb::apply_resource_change::Request>,
    ) -> R<pb::apply_resource_change::Response> {
        ok(GrpcProvider::apply_resource_change(self, req.into_inner()).await)
    }

    async fn import_resource_state(
        &self,
        req: Request<pb::import_resource_state::Request>,
    ) -> R<pb::import_resource_state::Response> {
        ok(GrpcProvider::import_resource_state(self, req.into_inner()).await)
    }

    async fn move_resource_state(
        &self,
        req: Request<pb::move_resource_state::Request>,
    ) -> R<pb::move_resource_state::Response> {
        ok(pb::move_resource_state::Response {
            diagnostics: unsupported("resource move", &req.into_inner().target_type_name),
            ..Default::default()
        })
    }

    async fn read_data_source(
        &self,
        req: Request<pb::read_data_source::Request>,
    ) -> R<pb::read_data_source::Response> {
        ok(GrpcProvider::read_data_source(self, req.into_inner()).await)
    }

    async fn generate_resource_config(
        &self,
        req: Request<pb::generate_resource_config::Request>,
    ) -> R<pb::generate_resource_config::Response> {
        ok(pb::generate_resource_config::Response {
            config: None,
            diagnostics: unsupported("configuration generation", &req.into_inner().type_name),
        })
    }

    async fn validate_ephemeral_resource_config(
        &self,
        req: Request<pb::validate_ephemeral_resource_config::Request>,
    ) -> R<pb::validate_ephemeral_resource_config::Response> {
        ok(pb::validate_ephemeral_resource_config::Response {
            diagnostics: unsupported("ephemeral resource", &req.into_inner().type_name),
        })
    }

    async fn open_ephemeral_resource(
        &self,
        req: Request<pb::open_ephemeral_resource::Request>,
    ) -> R<pb::open_ephemeral_resource::Response> {
        ok(pb::open_ephemeral_resource::Response {
            diagnostics: unsupported("ephemeral resource", &req.into_inner().type_name),
            ..Default::default()
        })
    }

    async fn renew_ephemeral_resource(
        &self,
        req: Request<pb::renew_ephemeral_resource::Request>,
    ) -> R<pb::renew_ephemeral_resource::Response> {
        ok(pb::renew_ephemeral_resource::Response {
            diagnostics: unsupported("ephemeral resource", &req.into_inner().type_name),
            ..Default::default()
        })
    }

    async fn close_ephemeral_resource(
        &self,
        req: Request<pb::close_ephemeral_resource::Request>,
    ) -> R<pb::close_ephemeral_resource::Response> {
        ok(pb::close_ephemeral_resource::Response {
            diagnostics: unsupported("ephemeral resource", &req.into_inner().type_name),
        })
    }

    async fn validate_list_resource_config(
        &self,
        req: Request<pb::validate_list_resource_config::Request>,
    ) -> R<pb::validate_list_resource_config::Response> {
        ok(pb::validate_list_resource_config::Response {
            diagnostics: unsupported("list resource", &req.into_inner().type_name),
        })
    }

    async fn get_functions(
        &self,
        _: Request<pb::get_functions::Request>,
    ) -> R<pb::get_functions::Response> {
        ok(pb::get_functions::Response {
            functions: self.functions(),
            diagnostics: Vec::new(),
        })
    }

    async fn call_function(
        &self,
        req: Request<pb::call_function::Request>,
    ) -> R<pb::call_function::Response> {
        ok(GrpcProvider::call_function(self, req.into_inner()))
    }

    async fn validate_state_store_config(
        &self,
        req: Request<pb::validate_state_store::Request>,
    ) -> R<pb::validate_state_store::Response> {
        ok(pb::validate_state_store::Response {
            diagnostics: unsupported("state store", &req.into_inner().type_name),
        })
    }

    async fn configure_state_store(
        &self,
        req: Request<pb::configure_state_store::Request>,
    ) -> R<pb::configure_state_store::Response> {
        ok(pb::configure_state_store::Response {
            diagnostics: unsupported("state store", &req.into_inner().type_name),
        })
    }

    async fn get_states(
        &self,
        req: Request<pb::get_states::Request>,
    ) -> R<pb::get_states::Response> {
        ok(pb::get_states::Response {
            state_id: Vec::new(),
            diagnostics: unsupported("state store", &req.into_inner().type_name),
        })
    }

    async fn delete_state(
        &self,
        req: Request<pb::delete_state::Request>,
    ) -> R<pb::delete_state::Response> {
        ok(pb::delete_state::Response {
            diagnostics: unsupported("state store", &req.into_inner().type_name),
        })
    }

    async fn plan_action(
        &self,
        req: Request<pb::plan_action::Request>,
    ) -> R<pb::plan_action::Response> {
        ok(GrpcProvider::plan_action(self, req.into_inner()).await)
    }

    async fn invoke_action(
        &self,
        req: Request<pb::invoke_action::Request>,
    ) -> R<tonic::codegen::BoxStream<pb::invoke_action::Event>> {
        let rx = GrpcProvider::invoke_action(self, req.into_inner());
        let stream = ReceiverStream::new(rx).map(Ok);
        Ok(Response::new(Box::pin(stream)))
    }

    async fn validate_action_config(
        &self,
        req: Request<pb::validate_action_config::Request>,
    ) -> R<pb::validate_action_config::Response> {
        ok(self.validate_action(req.into_inner()).await)
    }

    async fn stop_provider(
        &self,
        _: Request<pb::stop_provider::Request>,
    ) -> R<pb::stop_provider::Response> {
        tracing::info!("StopProvider: cancelling in-flight operations");
        self.state().stop();
        ok(pb::stop_provider::Response {
            error: String::new(),
        })
    }
}
