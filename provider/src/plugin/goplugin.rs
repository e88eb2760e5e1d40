//! go-plugin's own services, served beside `tfplugin6.Provider`:
//! - `plugin.GRPCController/Shutdown`: Terraform is done; we stop serving gracefully.
//! - `plugin.GRPCStdio/StreamStdio`: we log to stderr directly, so the stream sends nothing
//!   and ends when the server shuts down.
//! - `plugin.GRPCBroker/StartStream`: sub-plugins are not used; left UNIMPLEMENTED (the
//!   generated default), which go-plugin ignores.

use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use super::proto::go_plugin as pb;

/// Implements the three go-plugin services around one shutdown token.
#[derive(Clone, Debug)]
pub struct GoPluginServices {
    shutdown: CancellationToken,
}

impl GoPluginServices {
    /// Services that cancel (and watch) `shutdown`.
    pub fn new(shutdown: CancellationToken) -> Self {
        Self { shutdown }
    }
}

#[tonic::async_trait]
impl pb::grpc_controller_server::GrpcController for GoPluginServices {
    async fn shutdown(&self, _: Request<pb::Empty>) -> Result<Response<pb::Empty>, Status> {
        tracing::info!("GRPCController.Shutdown: stopping the plugin server");
        self.shutdown.cancel();
        Ok(Response::new(pb::Empty {}))
    }
}

#[tonic::async_trait]
impl pb::grpc_stdio_server::GrpcStdio for GoPluginServices {
    async fn stream_stdio(
        &self,
        _: Request<()>,
    ) -> Result<Response<tonic::codegen::BoxStream<pb::StdioData>>, Status> {
        let token = self.shutdown.clone();
        let stream = futures::stream::once(async move {
            token.cancelled().await;
        })
        .filter_map(|()| async { None::<Result<pb::StdioData, Status>> });
        Ok(Response::new(Box::pin(stream)))
    }
}

#[tonic::async_trait]
impl pb::grpc_broker_server::GrpcBroker for GoPluginServices {}

use futures::StreamExt as _;
