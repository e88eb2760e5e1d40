//! gRPC helpers shared by every test that talks tfplugin6 to a served provider: a plaintext
//! channel over the reattach unix socket, DynamicValue encode/decode against a schema, and
//! error-diagnostic summaries.

use std::path::{Path, PathBuf};

use terraform_provider_azuresessions::plugin::proto::tfplugin6 as pb;
use terraform_provider_azuresessions::plugin::{codec, Schema, Value};
use tonic::transport::{Channel, Endpoint};

/// msgpack DynamicValue of `v` against `schema`.
pub fn dv(v: &Value, schema: &Schema) -> Option<pb::DynamicValue> {
    Some(codec::encode_dynamic(v, &schema.implied_type()).expect("test value matches schema"))
}

/// Decodes a DynamicValue against `schema`.
pub fn val(d: Option<&pb::DynamicValue>, schema: &Schema) -> Value {
    codec::decode_dynamic(d, &schema.implied_type()).expect("server sent a valid value")
}

/// A plaintext gRPC channel to a unix socket.
pub async fn unix_channel(path: &Path) -> Channel {
    let path: PathBuf = path.to_path_buf();
    Endpoint::try_from("http://localhost")
        .expect("static URI")
        .connect_with_connector(tower::service_fn(move |_| {
            let path = path.clone();
            async move {
                let s = tokio::net::UnixStream::connect(path).await?;
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(s))
            }
        }))
        .await
        .expect("connect to the plugin socket")
}

/// Summaries of error diagnostics.
pub fn errors(d: &[pb::Diagnostic]) -> Vec<String> {
    d.iter()
        .filter(|d| d.severity == pb::diagnostic::Severity::Error as i32)
        .map(|d| format!("{}: {}", d.summary, d.detail))
        .collect()
}
