//! `sessions-conformance image`: does this container image work in a session pool?
//!
//! Loads the image into an emulator (one it starts, or a running one with `--data-dir`),
//! creates a pool of one ready session for it and reports step by step, with timings:
//!
//! 1. **image loads**: format, size, layers, declared ports (`sessions-emulator image load` for
//!    a file, `image pull` for a registry reference);
//! 2. **container starts**: its first console line (or readiness) after the pool is created;
//! 3. **startup probe passes** (with `--probe startup:...`) or **target port accepts
//!    connections**: the pool's session became ready;
//! 4. **HTTP answers on the target port**: a request with a first identifier;
//! 5. **console logs arrive**: the container's lines through `/emulator/v1/consoleLogs`;
//! 6. **second identifier gets a different session**;
//! 7. **stopSession ends it cleanly**: the first session is gone, the second still bound;
//! 8. **time to ready**: pool creation to a ready session, and to the first answer.
//!
//! Exit 0 only if every step passes. A session that never becomes ready is explained
//! ([`diagnose`]): a crash shows the exit code and the last console lines, a failing probe its
//! last answer, a closed target port the ports the container says it listens on and the ports
//! the image declares.
//!
//! Layout: [`archive`] (what an image file holds), [`spec`] (flags -> pool body),
//! [`diagnose`] (failure -> message), [`report`] (the step lines), `watch` (image load,
//! logs, waiting for readiness), `sessions` (second session, stopSession, cleanup), [`run`] here.

pub mod archive;
pub mod diagnose;
pub mod report;
mod sessions;
pub mod spec;
mod watch;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use reqwest::Method;
use serde_json::Value;

use crate::emulator::{self, scope, Backend, Client, Emulator, Ready, StartOptions};
use report::Report;
use spec::{EnvVar, PoolSpec, Probe, ProbeKind, ProbeTiming, API_VERSION};

/// Data-plane api-version of `.management/*` calls.
const DATA_PLANE_API: &str = "2025-02-02-preview";

const S_IMAGE: &str = "image loads";
const S_START: &str = "container starts";
const S_HTTP: &str = "HTTP answers on the target port";
const S_LOGS: &str = "console logs arrive";
const S_SECOND: &str = "a second identifier gets a different session";
const S_STOP: &str = "stopSession ends the session cleanly";
const S_TIME: &str = "time to ready";

/// Flags of `sessions-conformance image`.
#[derive(Debug, Clone, clap::Args)]
pub struct ImageArgs {
    /// The image: a `docker save` tar or OCI archive tar (a file), or a registry reference.
    #[arg(long)]
    pub image: String,
    /// The port the container serves HTTP on (the pool's ingress targetPort).
    #[arg(long)]
    pub target_port: u16,
    /// A probe: startup|liveness, then :http:PATH or :tcp (repeatable), e.g.
    /// --probe startup:http:/health --probe liveness:tcp.
    #[arg(long = "probe")]
    pub probes: Vec<Probe>,
    /// An environment variable of the container, NAME=VALUE (repeatable).
    #[arg(long = "env")]
    pub env: Vec<EnvVar>,
    /// CPU cores of the container.
    #[arg(long, default_value = "0.5", value_parser = spec::parse_cpu)]
    pub cpu: f64,
    /// Memory of the container.
    #[arg(long, default_value = "1Gi", value_parser = spec::parse_memory)]
    pub memory: String,
    /// Probe period in seconds.
    #[arg(long, default_value_t = 2)]
    pub probe_period: u32,
    /// Probe failures in a row that fail the probe.
    #[arg(long, default_value_t = 10)]
    pub probe_failure_threshold: u32,
    /// Seconds the target port gets to accept connections after the container's first console
    /// line (without a Startup probe).
    #[arg(long, default_value_t = 60)]
    pub start_timeout: u64,
    /// Seconds the whole wait for a ready session may take.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
    /// Use the running emulator of this data dir (its ready.json) instead of starting one.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// The emulator binary (default: next to this program, target/release|debug, PATH).
    #[arg(long)]
    pub emulator_bin: Option<PathBuf>,
    /// Session backend of the emulator this check starts.
    #[arg(long, value_enum, default_value_t = Backend::Qemu)]
    pub backend: Backend,
    /// A silent container (no console line) passes the "console logs arrive" step.
    #[arg(long)]
    pub allow_silent: bool,
}

/// Runs the check, prints the report and its summary; exit 0 only if every step passed.
pub async fn run(args: ImageArgs) -> anyhow::Result<ExitCode> {
    let report = check(args).await?;
    println!("{}", report.summary());
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Runs the check and returns its steps (each printed as it ends). `Err` only when the check
/// itself could not run (no emulator, emulator unreachable).
pub async fn check(args: ImageArgs) -> anyhow::Result<Report> {
    let bin = emulator::find_binary(args.emulator_bin.as_deref())?;
    let (own, ready, data_dir) = match &args.data_dir {
        Some(d) => (None, Ready::from_data_dir(d)?, d.clone()),
        None => {
            let backend = match args.backend {
                Backend::Qemu => "qemu",
                Backend::Fake => "fake",
            };
            println!("starting sessions-emulator ({backend} backend) ...");
            let emu = Emulator::start(StartOptions {
                bin: Some(bin.clone()),
                backend: args.backend,
                ..Default::default()
            })
            .await?;
            let (r, d) = (emu.ready().clone(), emu.data_dir().to_path_buf());
            (Some(emu), r, d)
        }
    };
    println!("emulator: {}", ready.endpoint);
    let mut check = Check {
        client: Client::new(&ready)?,
        bin,
        data_dir,
        args,
        report: Report::default(),
        run_id: run_id(),
        pool_id: None,
        loaded_tag: None,
        setting_url: None,
    };
    let result = check.run().await;
    check.cleanup().await;
    if let Some(emu) = own {
        if result.is_err() || !check.report.passed() {
            eprintln!("emulator log (end):\n{}", emu.log_tail(20));
        }
        emu.stop().await;
    }
    result?;
    Ok(check.report)
}

fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{:08x}", nanos ^ std::process::id().rotate_left(16))
}

struct Check {
    client: Client,
    bin: PathBuf,
    data_dir: PathBuf,
    args: ImageArgs,
    report: Report,
    run_id: String,
    pool_id: Option<String>,
    loaded_tag: Option<String>,
    /// The diagnostic setting routing the environment's logs to the workspace (deleted at the end).
    setting_url: Option<String>,
}

/// A JSON answer.
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
    text: String,
}

impl Check {
    fn ready(&self) -> &Ready {
        &self.client.ready
    }

    async fn arm(&self, method: Method, url: &str, body: Option<&Value>) -> anyhow::Result<Answer> {
        let token = self.client.token(scope::ARM).await?;
        self.send(method, url, &token, body).await
    }

    async fn send(
        &self,
        method: Method,
        url: &str,
        token: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Answer> {
        let mut req = self
            .client
            .http
            .request(method.clone(), url)
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("{method} {url}"))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Answer {
            status,
            headers,
            body,
            text,
        })
    }

    /// Runs the emulator CLI on the data dir.
    async fn cli(&self, args: &[&str]) -> anyhow::Result<(bool, String, String)> {
        let out = tokio::process::Command::new(&self.bin)
            .args(args)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .output()
            .await
            .with_context(|| format!("running {}", self.bin.display()))?;
        Ok((
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    }

    async fn run(&mut self) -> anyhow::Result<()> {
        let all = [S_IMAGE, S_START, S_HTTP, S_LOGS, S_SECOND, S_STOP, S_TIME];
        let ready_step = self.ready_step();
        let mut rest: Vec<&str> = all.to_vec();
        rest.insert(2, ready_step.as_str());

        // 1. image loads
        let t = Instant::now();
        let (image_ref, exposed) = match self.load_image().await {
            Ok(v) => {
                self.report.pass(S_IMAGE, t.elapsed(), v.2);
                (v.0, v.1)
            }
            Err(e) => {
                self.report.fail(S_IMAGE, t.elapsed(), format!("{e:#}"));
                self.report
                    .skip_rest(&rest, "not run: the image did not load");
                return Ok(());
            }
        };

        // 2-3. the pool and its ready session
        let name = format!("conformance{}", self.run_id);
        let pool_id = format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.App/sessionPools/{name}",
            self.ready().subscription_id,
            self.ready().resource_group
        );
        let body = spec::pool_body(&PoolSpec {
            environment_id: self.ready().environment_id.clone(),
            image: image_ref,
            target_port: self.args.target_port,
            probes: self.args.probes.clone(),
            timing: ProbeTiming {
                period: self.args.probe_period.max(1),
                failure_threshold: self.args.probe_failure_threshold.max(1),
            },
            env: self.args.env.clone(),
            cpu: self.args.cpu,
            memory: self.args.memory.clone(),
        });
        let url = self
            .ready()
            .url(&format!("{pool_id}?api-version={API_VERSION}"));
        self.enable_logs().await;
        let created = Instant::now();
        let put = self.arm(Method::PUT, &url, Some(&body)).await?;
        if !(200..300).contains(&put.status) {
            self.report.fail(
                S_START,
                created.elapsed(),
                format!(
                    "the emulator refused the pool (HTTP {}): {}\n  request: PUT {url}\n  {body}",
                    put.status, put.text
                ),
            );
            self.report
                .skip_rest(&rest, "not run: the pool was not created");
            return Ok(());
        }
        self.pool_id = Some(pool_id.clone());
        let op_url = put
            .headers
            .get("azure-asyncoperation")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);

        let waited = self
            .wait_ready(&url, op_url.as_deref(), &pool_id, created)
            .await?;
        let (endpoint, ready_after) = match waited {
            Waited::Ready {
                endpoint,
                first_line,
                after,
            } => {
                self.report.pass(
                    S_START,
                    first_line.unwrap_or(after),
                    match first_line {
                        Some(_) => "first console line after pool creation".to_string(),
                        None => "no console line yet; the session became ready".to_string(),
                    },
                );
                self.report
                    .pass(&ready_step, after, "the pool's session is ready");
                (endpoint, after)
            }
            Waited::Failed {
                step,
                after,
                message,
            } => {
                if step == S_START {
                    self.report.fail(S_START, after, message);
                } else {
                    self.report.pass(S_START, after, "its console printed");
                    self.report.fail(&ready_step, after, message);
                }
                let _ = exposed;
                self.report
                    .skip_rest(&rest, "not run: no session became ready");
                return Ok(());
            }
        };
        let _ = exposed;

        // 4. HTTP answers
        let dp = self.client.token(scope::DATA_PLANE).await?;
        let first = format!("conformance-{}-a", self.run_id);
        let second = format!("conformance-{}-b", self.run_id);
        let t = Instant::now();
        let a = self
            .send(
                Method::GET,
                &format!("{endpoint}/?identifier={first}"),
                &dp,
                None,
            )
            .await;
        let first_answer = t.elapsed();
        let http_failure = match a {
            Ok(a) if a.status < 500 => {
                self.report.pass(
                    S_HTTP,
                    first_answer,
                    format!("GET / answered {} ({} bytes)", a.status, a.text.len()),
                );
                None
            }
            Ok(a) => Some(format!(
                "GET {endpoint}/?identifier={first} answered {}: {}",
                a.status,
                a.text.chars().take(500).collect::<String>()
            )),
            Err(e) => Some(format!("{e:#}")),
        };
        if let Some(what) = http_failure {
            // The session may have died after it was declared ready: the pool's events say how.
            tokio::time::sleep(Duration::from_secs(2)).await;
            let lines = self.console(&pool_id).await.unwrap_or_default();
            let events = self.events(&name).await;
            let message = match events.iter().rev().find_map(|e| match diagnose::classify(e) {
                diagnose::Cause::Crashed(code) => Some((code, e.clone())),
                _ => None,
            }) {
                Some((code, e)) => diagnose::crashed(code, &e, &lines),
                None => format!(
                    "{what}\n  pool events:\n{}\n  last console lines:\n{}\n  fix: the app must answer HTTP on port {} for any path the pool forwards",
                    diagnose::tail(&events, 5),
                    diagnose::tail(&lines, 10),
                    self.args.target_port
                ),
            };
            self.report.fail(S_HTTP, first_answer, message);
            self.report
                .skip_rest(&rest, "not run: the first request was not answered");
            return Ok(());
        }

        // 5. console logs
        let t = Instant::now();
        let mut lines = Vec::new();
        while t.elapsed() < Duration::from_secs(10) {
            lines = self.console(&pool_id).await.unwrap_or_default();
            if !lines.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        if !lines.is_empty() {
            self.report.pass(
                S_LOGS,
                t.elapsed(),
                format!(
                    "{} line(s), last: {}",
                    lines.len(),
                    lines.last().cloned().unwrap_or_default()
                ),
            );
        } else if self.args.allow_silent {
            self.report
                .pass(S_LOGS, t.elapsed(), "none (allowed by --allow-silent)");
        } else {
            self.report.fail(
                S_LOGS,
                t.elapsed(),
                "the container wrote nothing to stdout or stderr within 10 s, so AppEnvSessionConsoleLogs will be empty\n  fix: log to stdout/stderr (not to files), or pass --allow-silent if that is intended",
            );
        }

        // 6. second identifier
        let t = Instant::now();
        let second_result = self.second_session(&endpoint, &dp, &first, &second).await;
        match second_result {
            Ok(d) => self.report.pass(S_SECOND, t.elapsed(), d),
            Err(e) => self.report.fail(S_SECOND, t.elapsed(), format!("{e:#}")),
        }

        // 7. stopSession
        let t = Instant::now();
        match self.stop_session(&endpoint, &dp, &first, &second).await {
            Ok(d) => self.report.pass(S_STOP, t.elapsed(), d),
            Err(e) => self.report.fail(S_STOP, t.elapsed(), format!("{e:#}")),
        }

        // 8. time to ready
        self.report.pass(
            S_TIME,
            ready_after + first_answer,
            format!(
                "pool created -> session ready {:.1} s, first request answered {:.0} ms later",
                ready_after.as_secs_f64(),
                first_answer.as_secs_f64() * 1000.0
            ),
        );
        Ok(())
    }
}

/// The last segment of a pool id.
fn pool_name(pool_id: &str) -> &str {
    pool_id.rsplit('/').next().unwrap_or(pool_id)
}

enum Waited {
    Ready {
        endpoint: String,
        first_line: Option<Duration>,
        after: Duration,
    },
    Failed {
        /// `S_START` or "ready" (the readiness step).
        step: &'static str,
        after: Duration,
        message: String,
    },
}
