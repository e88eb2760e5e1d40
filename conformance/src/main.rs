//! `sessions-conformance` binary: see [`sessions_conformance::cli`].

#[tokio::main]
async fn main() -> std::process::ExitCode {
    sessions_conformance::cli::main().await
}
