//! Compiles our own tfplugin6 and go-plugin proto definitions with protox (no `protoc`).
//!
//! protox parses `proto/*.proto` into a file descriptor set (it ships the Google well-known
//! types), and tonic-prost-build turns that into prost messages plus tonic server and client
//! code (the client is used by the in-process tests and the conformance harness).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = ["proto/tfplugin6.proto", "proto/go_plugin.proto"];
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    let fds = protox::compile(protos, ["proto"])?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .generate_default_stubs(true)
        .compile_fds(fds)?;
    Ok(())
}
