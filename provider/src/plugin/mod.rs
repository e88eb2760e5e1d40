//! tfplugin6 protocol layer: gRPC server, handshake, value codec, diagnostics.
