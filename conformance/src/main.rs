//! `sessions-conformance` binary: see [`sessions_conformance::cli`].

#[tokio::main]
async fn main() {
    std::process::exit(sessions_conformance::cli::main().await);
}
