//! Watching a check's pool: the image load, the environment's logs routed to the workspace
//! for the check's duration, pool events and console lines, waiting for a ready session, and
//! turning a session that never became ready into a failed step with its explanation.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;

use super::*;

impl Check {
    pub(super) fn ready_step(&self) -> String {
        match self
            .args
            .probes
            .iter()
            .find(|p| p.kind == ProbeKind::Startup)
        {
            Some(p) => format!("{p} passes"),
            None => format!("target port {} accepts connections", self.args.target_port),
        }
    }

    /// Loads a file or pulls a reference; returns (reference for the pool, declared ports,
    /// detail line).
    pub(super) async fn load_image(&mut self) -> anyhow::Result<(String, Vec<String>, String)> {
        let path = Path::new(&self.args.image);
        if path.exists() {
            let facts = archive::inspect(path)?;
            let tag = format!("localhost/conformance-check-{}:latest", self.run_id);
            let file = path.display().to_string();
            let (ok, out, err) = self.cli(&["image", "load", &file, "--tag", &tag]).await?;
            if !ok {
                bail!(
                    "sessions-emulator image load refused {file}:\n{}",
                    err.trim()
                );
            }
            self.loaded_tag = Some(tag.clone());
            let detail = format!(
                "{}, {}, {} layer(s){}{} -> {tag} ({})",
                facts.format,
                archive::human_bytes(facts.bytes),
                facts.layers,
                if facts.exposed_ports.is_empty() {
                    String::new()
                } else {
                    format!(", EXPOSE {}", facts.exposed_ports.join(" "))
                },
                if facts.command.is_empty() {
                    String::new()
                } else {
                    format!(", runs {}", facts.command.join(" "))
                },
                out.trim()
                    .rsplit_once("(rootfs ")
                    .map(|(_, r)| format!("rootfs {}", r.trim_end_matches(')')))
                    .unwrap_or_else(|| "loaded".into())
            );
            return Ok((tag, facts.exposed_ports, detail));
        }
        if !self.args.image.contains('/') && !self.args.image.contains(':') {
            bail!(
                "--image {}: no such file, and not an image reference (REGISTRY/NAME:TAG)",
                self.args.image
            );
        }
        let reference = self.args.image.clone();
        let (ok, out, err) = self.cli(&["image", "pull", &reference]).await?;
        if !ok {
            bail!(
                "cannot pull {reference}:\n{}\n  fix: check the reference and that the registry answers (for a private registry, `sessions-emulator image pull --username ...` first)",
                err.trim()
            );
        }
        let (_, ls, _) = self.cli(&["image", "ls", "--json"]).await?;
        let size = serde_json::from_str::<Value>(&ls)
            .ok()
            .and_then(|v| {
                v.as_array()?.iter().find(|i| {
                    i["reference"]
                        .as_str()
                        .is_some_and(|r| r.ends_with(reference.rsplit('/').next().unwrap_or("")))
                })?["size"]
                    .as_u64()
            })
            .map(archive::human_bytes)
            .unwrap_or_else(|| "size unknown".into());
        Ok((
            reference,
            Vec::new(),
            format!("pulled, {size}: {}", out.trim()),
        ))
    }

    /// Routes the environment's session logs (lifecycle, pool events) to the workspace, so that
    /// a failure can be explained by the pool's events (exits, probe answers).
    pub(super) async fn enable_logs(&mut self) {
        let url = self.ready().url(&format!(
            "{}/providers/Microsoft.Insights/diagnosticSettings/conformance{}?api-version=2021-05-01-preview",
            self.ready().environment_id,
            self.run_id
        ));
        let body = serde_json::json!({"properties": {
            "workspaceId": self.ready().workspace_id,
            "logs": [{"categoryGroup": "allLogs", "enabled": true}],
        }});
        if let Ok(a) = self.arm(Method::PUT, &url, Some(&body)).await {
            if (200..300).contains(&a.status) {
                self.setting_url = Some(url);
            }
        }
    }

    /// The pool's lifecycle and pool-event rows (`OperationName: Log`), oldest first, through
    /// the Log Analytics query API; empty when they cannot be read.
    pub(super) async fn events(&self, pool_name: &str) -> Vec<String> {
        let customer = self
            .ready()
            .workspace_customer_id
            .clone()
            .unwrap_or_else(|| "00000000-0000-4000-8000-0000000000d1".into());
        let url = self
            .ready()
            .url(&format!("/v1/workspaces/{customer}/query"));
        let query = format!(
            "union AppEnvSessionLifecycleLogs, AppEnvSessionPoolEventLogs | where SessionPoolName == '{pool_name}' | order by TimeGenerated asc | project OperationName, Log"
        );
        let Ok(token) = self.client.token(scope::LOG_ANALYTICS).await else {
            return Vec::new();
        };
        let body = serde_json::json!({ "query": query });
        let Ok(a) = self.send(Method::POST, &url, &token, Some(&body)).await else {
            return Vec::new();
        };
        a.body["tables"][0]["rows"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|r| {
                        format!(
                            "{}: {}",
                            r[0].as_str().unwrap_or_default(),
                            r[1].as_str().unwrap_or_default()
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(super) async fn console(&self, pool_id: &str) -> anyhow::Result<Vec<String>> {
        let url = self.ready().url(&format!(
            "/emulator/v1/consoleLogs?pool={pool_id}&limit=200"
        ));
        let a = self.arm(Method::GET, &url, None).await?;
        if a.status != 200 {
            bail!("GET {url}: {} {}", a.status, a.text);
        }
        Ok(a.body["lines"]
            .as_array()
            .map(|l| {
                l.iter()
                    .filter_map(|x| x["log"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    pub(super) async fn wait_ready(
        &self,
        pool_url: &str,
        op_url: Option<&str>,
        pool_id: &str,
        created: Instant,
    ) -> anyhow::Result<Waited> {
        let deadline = created + Duration::from_secs(self.args.timeout);
        let has_startup = self
            .args
            .probes
            .iter()
            .any(|p| p.kind == ProbeKind::Startup);
        let mut first_line: Option<Duration> = None;
        let mut last_console = Instant::now() - Duration::from_secs(10);
        let mut lines: Vec<String> = Vec::new();
        loop {
            let failure = match op_url {
                Some(op) => {
                    let a = self.arm(Method::GET, op, None).await?;
                    match a.body["status"].as_str() {
                        Some("Succeeded") => None,
                        Some("Failed") | Some("Canceled") => Some(
                            a.body["error"]["message"]
                                .as_str()
                                .unwrap_or("the pool could not be provisioned")
                                .to_string(),
                        ),
                        _ => {
                            tokio::time::sleep(Duration::from_millis(400)).await;
                            Some(String::new())
                        }
                    }
                }
                None => None,
            };
            if last_console.elapsed() >= Duration::from_secs(1) {
                last_console = Instant::now();
                if let Ok(l) = self.console(pool_id).await {
                    if !l.is_empty() && first_line.is_none() {
                        first_line = Some(created.elapsed());
                    }
                    lines = l;
                }
            }
            match failure {
                None => {
                    let p = self.arm(Method::GET, pool_url, None).await?;
                    let state = p.body["properties"]["provisioningState"].as_str();
                    if state == Some("Succeeded") {
                        let endpoint = p.body["properties"]["poolManagementEndpoint"]
                            .as_str()
                            .context("the pool has no poolManagementEndpoint")?
                            .trim_end_matches('/')
                            .to_string();
                        return Ok(Waited::Ready {
                            endpoint,
                            first_line,
                            after: created.elapsed(),
                        });
                    }
                    if state == Some("Failed") {
                        let events = self.events(pool_name(pool_id)).await;
                        return Ok(self.failed(
                            "the pool's provisioning failed",
                            first_line,
                            created,
                            &lines,
                            &events,
                        ));
                    }
                    tokio::time::sleep(Duration::from_millis(400)).await;
                }
                Some(m) if !m.is_empty() => {
                    // Console lines of the failed starts, fresh.
                    let lines = self.console(pool_id).await.unwrap_or(lines);
                    let events = self.events(pool_name(pool_id)).await;
                    return Ok(self.failed(&m, first_line, created, &lines, &events));
                }
                Some(_) => {}
            }
            let now = created.elapsed();
            if let Some(fl) = first_line {
                if !has_startup && now > fl + Duration::from_secs(self.args.start_timeout) {
                    return Ok(Waited::Failed {
                        step: "ready",
                        after: now,
                        message: format!(
                            "{}\n  (waited {} s after the container's first console line; --start-timeout changes it)",
                            diagnose::wrong_port(self.args.target_port, &self.exposed(), &lines),
                            self.args.start_timeout
                        ),
                    });
                }
            }
            if Instant::now() >= deadline {
                let message = if first_line.is_some() {
                    diagnose::wrong_port(self.args.target_port, &self.exposed(), &lines)
                } else {
                    format!(
                        "no session became ready within {} s and the container printed nothing (--timeout changes the wait)\n  fix: check that the image starts at all (docker run), and the emulator's log",
                        self.args.timeout
                    )
                };
                return Ok(Waited::Failed {
                    step: if first_line.is_some() {
                        "ready"
                    } else {
                        S_START
                    },
                    after: now,
                    message,
                });
            }
        }
    }

    pub(super) fn exposed(&self) -> Vec<String> {
        let p = Path::new(&self.args.image);
        if p.exists() {
            archive::inspect(p)
                .map(|f| f.exposed_ports)
                .unwrap_or_default()
        } else {
            Vec::new()
        }
    }

    pub(super) fn failed(
        &self,
        message: &str,
        first_line: Option<Duration>,
        created: Instant,
        lines: &[String],
        events: &[String],
    ) -> Waited {
        let after = created.elapsed();
        let startup = self
            .args
            .probes
            .iter()
            .find(|p| p.kind == ProbeKind::Startup)
            .map(|p| p.to_string())
            .unwrap_or_else(|| "Startup probe".into());
        match diagnose::classify(message) {
            diagnose::Cause::Crashed(code) => Waited::Failed {
                step: S_START,
                after,
                message: diagnose::crashed(code, message, lines),
            },
            diagnose::Cause::ProbeFailed(last) => {
                // The probe's last answers, from the pool's events when they are readable.
                let answers: Vec<&str> = events
                    .iter()
                    .filter(|e| e.starts_with("ProbeFailed:"))
                    .map(|e| e.rsplit_once("probe failed: ").map(|(_, a)| a).unwrap_or(e))
                    .collect();
                let last = if answers.is_empty() {
                    last
                } else {
                    answers[answers.len().saturating_sub(3)..].join(" | ")
                };
                Waited::Failed {
                    step: if first_line.is_some() {
                        "ready"
                    } else {
                        S_START
                    },
                    after,
                    message: diagnose::probe_failed(&startup, &last, lines),
                }
            }
            diagnose::Cause::PortClosed => Waited::Failed {
                step: "ready",
                after,
                message: diagnose::wrong_port(self.args.target_port, &self.exposed(), lines),
            },
            diagnose::Cause::Image(m) => Waited::Failed {
                step: S_START,
                after,
                message: format!("the emulator could not use the image: {m}"),
            },
            diagnose::Cause::Other(m) => Waited::Failed {
                step: S_START,
                after,
                message: format!(
                    "the session never became ready: {m}\n  last console lines:\n{}",
                    diagnose::tail(lines, 10)
                ),
            },
        }
    }
}
