//! The command line: `sessions-emulator [serve] [flags]` (the default), `env`, `image ...`,
//! `doctor`, `logs` and `query` (clients of the running emulator, see [`client`]).
//!
//! `serve` prints exactly one JSON line to stdout when ready (also written to
//! `{data_dir}/ready.json`, removed on clean exit); human logs go to stderr (`RUST_LOG`).
//!
//! Flags become a [`Config`]; environment variables that stand for flags are read by clap
//! (`env = ...`), never through the process environment later.

pub mod client;
pub mod image;
pub mod logs;
pub mod query;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use clap::{Args, Parser, Subcommand};
use serde_json::{json, Value};
use sessions_runtime::clock::TimeScale;

use crate::config::{BackendKind, Config};
use crate::defaults;
use crate::state::AppState;

/// Environment variable standing for `--time-scale`.
pub const TIME_SCALE_ENV: &str = "SESSIONS_EMULATOR_TIME_SCALE";

/// File in the data dir holding the ready line of the running emulator.
pub const READY_FILE: &str = defaults::READY_FILE;

/// Local emulator of Azure Container Apps dynamic sessions (custom container session pools).
#[derive(Debug, Parser)]
#[command(
    name = "sessions-emulator",
    version,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Flags of the default `serve` command.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the emulator (the default).
    Serve(ServeArgs),
    /// Print `export ...` lines for the running emulator: `eval "$(sessions-emulator env)"`.
    Env(EnvArgs),
    /// Check this host: QEMU, guest kernel, KVM or TCG, data dir, disk, port, terraform.
    /// Takes `serve`'s flags; exits 0 only if sessions can run.
    Doctor(ServeArgs),
    /// Manage the image store (load, list, remove, pull, push).
    Image {
        /// Data directory (default: $XDG_DATA_HOME/sessions-emulator).
        #[arg(long, global = true, env = "SESSIONS_EMULATOR_DATA_DIR")]
        data_dir: Option<PathBuf>,
        /// The image command.
        #[command(subcommand)]
        command: image::ImageCommand,
    },
    /// Print a pool's console lines (stdout and stderr of its sessions) from the running
    /// emulator; --follow keeps printing new ones.
    Logs(logs::LogsArgs),
    /// Run a KQL query on a Log Analytics workspace of the running emulator and print a table.
    Query(query::QueryArgs),
}

/// Flags of `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (the ready line reports the real one).
    #[arg(long, env = "SESSIONS_EMULATOR_LISTEN", default_value = defaults::LISTEN)]
    pub listen: String,
    /// Data directory: SQLite database, CA, signing key, images
    /// (default: $XDG_DATA_HOME/sessions-emulator or ~/.local/share/sessions-emulator).
    #[arg(long, env = "SESSIONS_EMULATOR_DATA_DIR", conflicts_with = "in_memory")]
    pub data_dir: Option<PathBuf>,
    /// Keep everything in memory (nothing survives exit).
    #[arg(long)]
    pub in_memory: bool,
    /// Serve plain HTTP instead of HTTPS.
    #[arg(long)]
    pub http: bool,
    /// Session backend.
    #[arg(long, value_enum, default_value_t = BackendKind::Qemu)]
    pub backend: BackendKind,
    /// Multiply every session timer (cooldown, maxAlive, probe delays and periods) by this
    /// factor, 0 < F <= 1 (tests, demos).
    #[arg(long, env = TIME_SCALE_ENV, default_value = "1")]
    pub time_scale: TimeScale,
    /// Most client connections open at once over every listener; beyond it a connection is
    /// answered 503 and closed (default: 10,000, less when the open-file limit is lower).
    #[arg(long)]
    pub max_connections: Option<usize>,
}

/// Flags of `env`.
#[derive(Debug, Clone, Args)]
pub struct EnvArgs {
    /// Data directory of the running emulator.
    #[arg(long, env = "SESSIONS_EMULATOR_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// `$XDG_DATA_HOME/sessions-emulator`, else `~/.local/share/sessions-emulator`.
pub fn default_data_dir() -> anyhow::Result<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(x).join("sessions-emulator"));
    }
    let home = std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .context("cannot find the data directory: neither XDG_DATA_HOME nor HOME is set; pass --data-dir or --in-memory")?;
    Ok(PathBuf::from(home).join(".local/share/sessions-emulator"))
}

fn data_dir_or_default(d: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    match d {
        Some(d) => Ok(d),
        None => default_data_dir(),
    }
}

/// Entry point of the binary.
pub fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // `doctor` prints its own findings; only warnings from the checks' internals go to stderr.
    init_tracing(
        if matches!(
            cli.command,
            Some(Command::Doctor(_) | Command::Logs(_) | Command::Query(_))
        ) {
            "warn"
        } else {
            "info"
        },
    );
    let result = match cli.command {
        None => serve(cli.serve),
        Some(Command::Serve(args)) => serve(args),
        Some(Command::Env(args)) => env(args),
        Some(Command::Doctor(args)) => doctor(args),
        Some(Command::Image { data_dir, command }) => runtime().and_then(|rt| {
            let dir = match data_dir {
                Some(d) => d,
                None => default_data_dir()?,
            };
            rt.block_on(image::run(command, &dir))
        }),
        Some(Command::Logs(args)) => runtime().and_then(|rt| {
            let dir = data_dir_or_default(args.data_dir.clone())?;
            rt.block_on(logs::run(args, &dir))
        }),
        Some(Command::Query(args)) => runtime().and_then(|rt| {
            let dir = data_dir_or_default(args.data_dir.clone())?;
            rt.block_on(query::run(args, &dir))
        }),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sessions-emulator: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// What `doctor` and `serve`'s preflight check for these flags.
fn doctor_target(args: &ServeArgs) -> anyhow::Result<crate::doctor::Target> {
    let data_dir = match (&args.data_dir, args.in_memory) {
        (_, true) => None,
        (Some(d), false) => Some(d.clone()),
        (None, false) => Some(default_data_dir()?),
    };
    Ok(crate::doctor::Target {
        listen: args.listen.clone(),
        vm_dir: crate::doctor::vm_dir_for(data_dir.as_deref()),
        data_dir,
        backend: args.backend,
    })
}

fn doctor(args: ServeArgs) -> anyhow::Result<()> {
    let target = doctor_target(&args)?;
    if !runtime()?.block_on(crate::doctor::print(&target)) {
        std::process::exit(1);
    }
    Ok(())
}

fn init_tracing(default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Removes a directory on drop (the CA of an `--in-memory` HTTPS run).
struct TempDirGuard(Option<PathBuf>);

impl Drop for TempDirGuard {
    fn drop(&mut self) {
        if let Some(d) = self.0.take() {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

fn endpoint_for(addr: SocketAddr, tls: bool) -> String {
    let scheme = if tls { "https" } else { "http" };
    let ip = addr.ip();
    let host = if ip.is_unspecified() {
        if ip.is_ipv4() {
            "127.0.0.1".to_string()
        } else {
            "[::1]".to_string()
        }
    } else if ip.is_ipv6() {
        format!("[{ip}]")
    } else {
        ip.to_string()
    };
    format!("{scheme}://{host}:{}", addr.port())
}

/// The ready line.
pub fn ready_line(endpoint: &str, ca_file: Option<&Path>) -> Value {
    json!({
        "event": "ready",
        "endpoint": endpoint,
        "caFile": ca_file.map(|p| p.display().to_string()),
        "tenantId": defaults::TENANT_ID,
        "clientId": defaults::CLIENT_ID,
        "clientSecret": defaults::CLIENT_SECRET,
        "subscriptionId": defaults::SUBSCRIPTION_ID,
        "resourceGroup": defaults::RESOURCE_GROUP,
        "environmentId": defaults::environment_id(),
        "workspaceId": defaults::workspace_id(),
        "workspaceCustomerId": defaults::WORKSPACE_CUSTOMER_ID,
    })
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    crate::doctor::preflight(&doctor_target(&args)?)?;
    crate::tls::install_crypto_provider();
    let data_dir = if args.in_memory {
        None
    } else {
        let dir = match args.data_dir.clone() {
            Some(d) => d,
            None => default_data_dir()?,
        };
        create_private_dir(&dir)?;
        Some(dir)
    };
    raise_open_file_limit();
    let rt = runtime()?;
    rt.block_on(serve_async(args, data_dir))
}

/// Raises the soft open-file limit to the hard one (each client connection, proxied request
/// and session holds descriptors; many systems default the soft limit to 1024). The edge's
/// connection cap is derived from the result.
fn raise_open_file_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            let wanted = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) != 0 {
                tracing::debug!("cannot raise the open-file limit");
            }
        }
    }
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))
}

async fn serve_async(args: ServeArgs, data_dir: Option<PathBuf>) -> anyhow::Result<()> {
    let listen: SocketAddr = match args.listen.parse() {
        Ok(a) => a,
        Err(_) => tokio::net::lookup_host(&args.listen)
            .await
            .ok()
            .and_then(|mut it| it.next())
            .with_context(|| {
                format!(
                    "--listen must be HOST:PORT (e.g. 127.0.0.1:7443), got '{}'",
                    args.listen
                )
            })?,
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}; is another emulator running? Use --listen 127.0.0.1:0 for a free port"))?;
    let addr = listener.local_addr()?;
    let tls_on = !args.http;
    let endpoint = endpoint_for(addr, tls_on);

    let mut temp_ca = TempDirGuard(None);
    let tls = if tls_on {
        let dir = match &data_dir {
            Some(d) => d.clone(),
            None => {
                let d = std::env::temp_dir()
                    .join(format!("sessions-emulator-ca-{}", std::process::id()));
                create_private_dir(&d)?;
                temp_ca.0 = Some(d.clone());
                d
            }
        };
        Some(crate::tls::setup(&dir, Some(addr.ip()))?)
    } else {
        None
    };

    let mut limits = crate::config::EdgeLimits::default();
    if let Some(n) = args.max_connections {
        limits.max_connections = n.max(1);
    }
    let config = Config {
        endpoint: endpoint.clone(),
        data_dir: data_dir.clone(),
        backend: args.backend,
        tls: tls_on,
        time_scale: args.time_scale,
        limits,
    };
    let state = tokio::task::spawn_blocking(move || AppState::new(config))
        .await
        .context("start-up task failed")??;

    let ready = ready_line(&endpoint, tls.as_ref().map(|t| t.ca_file.as_path()));
    let ready_path = data_dir.as_ref().map(|d| d.join(READY_FILE));
    if let Some(p) = &ready_path {
        crate::fsutil::write_atomic(p, format!("{ready}\n").as_bytes(), 0o600)
            .with_context(|| format!("cannot write {}", p.display()))?;
    }
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{ready}")?;
        out.flush()?;
    }
    tracing::info!(%endpoint, data_dir = ?data_dir, backend = ?args.backend, "sessions-emulator ready");

    let result = crate::server::run(
        listener,
        state,
        tls.map(|t| t.server_config),
        shutdown_signal(),
    )
    .await;
    if let Some(p) = &ready_path {
        let _ = std::fs::remove_file(p);
    }
    drop(temp_ca);
    tracing::info!("sessions-emulator stopped");
    Ok(result?)
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch SIGTERM");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: shutting down"),
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
    }
}

/// Single-quotes `s` for POSIX shells.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The `export` lines for a ready line.
pub fn env_lines(ready: &Value) -> anyhow::Result<String> {
    let field = |k: &str| -> anyhow::Result<String> {
        ready[k]
            .as_str()
            .map(str::to_string)
            .with_context(|| format!("the ready file has no '{k}'; restart the emulator"))
    };
    let endpoint = field("endpoint")?;
    let mut vars: Vec<(&str, String)> = vec![
        ("ARM_ENDPOINT", endpoint.clone()),
        ("ARM_AUTHORITY_HOST", endpoint.clone()),
    ];
    let ca = ready["caFile"].as_str().map(str::to_string);
    if let Some(ca) = &ca {
        vars.push(("ARM_CA_CERTIFICATE_FILE", ca.clone()));
    }
    vars.extend([
        ("ARM_TENANT_ID", field("tenantId")?),
        ("ARM_CLIENT_ID", field("clientId")?),
        ("ARM_CLIENT_SECRET", field("clientSecret")?),
        ("ARM_SUBSCRIPTION_ID", field("subscriptionId")?),
        ("AZURE_AUTHORITY_HOST", endpoint),
        ("AZURE_TENANT_ID", field("tenantId")?),
        ("AZURE_CLIENT_ID", field("clientId")?),
        ("AZURE_CLIENT_SECRET", field("clientSecret")?),
        ("AZURE_SUBSCRIPTION_ID", field("subscriptionId")?),
    ]);
    if let Some(ca) = ca {
        vars.push(("REQUESTS_CA_BUNDLE", ca.clone()));
        vars.push(("SSL_CERT_FILE", ca));
    }
    Ok(vars
        .into_iter()
        .map(|(k, v)| format!("export {k}={}\n", shell_quote(&v)))
        .collect())
}

fn env(args: EnvArgs) -> anyhow::Result<()> {
    let dir = match args.data_dir {
        Some(d) => d,
        None => default_data_dir()?,
    };
    let path = dir.join(READY_FILE);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!("no running emulator found ({} is missing); start one with `sessions-emulator serve --data-dir {}`", path.display(), dir.display())
    })?;
    let ready: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON; restart the emulator", path.display()))?;
    let endpoint = ready["endpoint"].as_str().unwrap_or_default().to_string();
    let ca = ready["caFile"].as_str().map(PathBuf::from);
    let rt = runtime()?;
    rt.block_on(check_health(&endpoint, ca.as_deref()))?;
    print!("{}", env_lines(&ready)?);
    Ok(())
}

async fn check_health(endpoint: &str, ca: Option<&Path>) -> anyhow::Result<()> {
    crate::tls::install_crypto_provider();
    let mut builder = reqwest::Client::builder().timeout(std::time::Duration::from_secs(5));
    if let Some(ca) = ca {
        let pem = std::fs::read(ca).with_context(|| format!("cannot read {}", ca.display()))?;
        let cert = reqwest::Certificate::from_pem(&pem)
            .with_context(|| format!("{} is not a PEM certificate", ca.display()))?;
        builder = builder.add_root_certificate(cert);
    }
    let client = builder.build().context("cannot build an HTTP client")?;
    let resp = client
        .get(format!("{endpoint}/health"))
        .send()
        .await
        .with_context(|| {
            format!(
                "the emulator at {endpoint} does not answer (stale ready.json?); start it again"
            )
        })?;
    if !resp.status().is_success() {
        bail!(
            "the emulator at {endpoint} answered /health with {}",
            resp.status()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }

    #[test]
    fn endpoints() {
        assert_eq!(
            endpoint_for("0.0.0.0:80".parse().expect("addr"), true),
            "https://127.0.0.1:80"
        );
        assert_eq!(
            endpoint_for("[::1]:8".parse().expect("addr"), false),
            "http://[::1]:8"
        );
    }

    #[test]
    fn env_lines_have_sdk_and_terraform_names() {
        let ready = ready_line("https://127.0.0.1:1", Some(Path::new("/d/ca.pem")));
        let lines = env_lines(&ready).expect("lines");
        for k in [
            "ARM_ENDPOINT",
            "ARM_AUTHORITY_HOST",
            "ARM_CA_CERTIFICATE_FILE",
            "ARM_TENANT_ID",
            "ARM_CLIENT_ID",
            "ARM_CLIENT_SECRET",
            "ARM_SUBSCRIPTION_ID",
            "AZURE_AUTHORITY_HOST",
            "AZURE_TENANT_ID",
            "AZURE_CLIENT_ID",
            "AZURE_CLIENT_SECRET",
            "AZURE_SUBSCRIPTION_ID",
            "REQUESTS_CA_BUNDLE",
            "SSL_CERT_FILE",
        ] {
            assert!(lines.contains(&format!("export {k}='")), "{k} missing");
        }
        let plain = env_lines(&ready_line("http://127.0.0.1:1", None)).expect("lines");
        assert!(!plain.contains("SSL_CERT_FILE"));
    }

    #[test]
    fn time_scale_is_a_checked_flag() {
        let cli =
            Cli::try_parse_from(["sessions-emulator", "--time-scale", "0.01"]).expect("parse");
        assert_eq!(cli.serve.time_scale.factor(), 0.01);
        let cli = Cli::try_parse_from(["sessions-emulator"]).expect("parse");
        assert_eq!(cli.serve.time_scale, TimeScale::default());
        for bad in ["0", "2", "abc"] {
            let err = Cli::try_parse_from(["sessions-emulator", "--time-scale", bad])
                .expect_err("refused");
            assert!(err.to_string().contains("--time-scale"), "{err}");
        }
    }

    #[test]
    fn serve_is_the_default_command() {
        let cli = Cli::try_parse_from([
            "sessions-emulator",
            "--listen",
            "127.0.0.1:0",
            "--in-memory",
            "--http",
            "--backend",
            "fake",
        ])
        .expect("parse");
        assert!(cli.command.is_none());
        assert!(cli.serve.in_memory);
        assert_eq!(cli.serve.backend, BackendKind::Fake);
        let cli = Cli::try_parse_from(["sessions-emulator", "serve", "--http"]).expect("parse");
        assert!(matches!(cli.command, Some(Command::Serve(ref a)) if a.http));
        assert!(
            Cli::try_parse_from(["sessions-emulator", "--in-memory", "--data-dir", "/x"]).is_err()
        );
    }
}
