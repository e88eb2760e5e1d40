//! `terraform-provider-azuresessions` binary: go-plugin handshake and serve.
//!
//! Terraform starts it with the magic cookie; `--debug` serves for `TF_REATTACH_PROVIDERS`.
//! Logs go to stderr (Terraform forwards them to its log).

use std::process::ExitCode;

use terraform_provider_azuresessions::plugin::serve::{self, ServeError};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{}", serve::not_a_command_message());
        return ExitCode::SUCCESS;
    }
    if args.iter().any(|a| a == "--version" || a == "-v") {
        println!(
            "terraform-provider-azuresessions {}",
            env!("CARGO_PKG_VERSION")
        );
        return ExitCode::SUCCESS;
    }
    let debug = args.iter().any(|a| a == "--debug" || a == "-debug");
    if let Some(bad) = args
        .iter()
        .find(|a| !matches!(a.as_str(), "--debug" | "-debug"))
    {
        eprintln!("Unknown argument {bad:?}. Usage: terraform-provider-azuresessions [--debug | --help | --version]");
        return ExitCode::from(2);
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TF_LOG_PROVIDER_AZURESESSIONS")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let provider = terraform_provider_azuresessions::provider();
    let result = rt.block_on(async move {
        if debug {
            serve::serve_debug(provider).await
        } else {
            serve::serve_plugin(provider).await
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(ServeError::MissingCookie) => {
            eprintln!("{}", serve::not_a_command_message());
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("terraform-provider-azuresessions: {e}");
            ExitCode::FAILURE
        }
    }
}
