//! The control protocol between host and agent: one JSON object per line on the `control`
//! virtio-serial port, every message carrying `"v":1` and a `"type"`.
//!
//! Host -> agent: `hello`, `config`, `start`, `signal`, `poweroff`, `connect` (debug: try a TCP
//! connect from inside the guest), `token` (the answer to a `token_request`), `exec` (run a
//! command in the main container). Agent -> host: `ready` (boot done, waiting for config; also
//! the answer to every `hello`), `started`, `exited` (the main container), `container_exited`
//! (another container), `token_request` (code asked `IDENTITY_ENDPOINT`), `exec_result`,
//! `connected`, `error`.

use std::collections::BTreeMap;

use crate::config::SessionConfig;
use crate::json::{self, Value};

/// Protocol version spoken by this agent.
pub const VERSION: i64 = 1;

/// A message from the host.
#[derive(Debug, Clone, PartialEq)]
pub enum HostMsg {
    /// Ask the agent to (re)announce itself with `ready`.
    Hello,
    /// Per-session configuration (before `start`).
    Config(Box<SessionConfig>),
    /// Start the container process.
    Start,
    /// Send a signal to the container process.
    Signal(i32),
    /// Power the VM off now.
    Poweroff,
    /// The answer to a `token_request`: HTTP status and JSON body text.
    Token {
        /// The request id.
        id: u64,
        /// HTTP status for the caller.
        status: u16,
        /// JSON body for the caller.
        body: String,
    },
    /// Run a command in the main container and report its output.
    Exec {
        /// Request id, echoed in `exec_result`.
        id: u64,
        /// Program and arguments.
        argv: Vec<String>,
        /// Kill it after this many milliseconds.
        timeout_ms: u64,
    },
    /// Debug: try to open a TCP connection from the guest.
    Connect {
        /// IPv4 address.
        host: String,
        /// Port.
        port: u16,
        /// Give up after this many milliseconds.
        timeout_ms: u64,
    },
}

/// Parses one line from the host. Errors say which field was wrong.
pub fn parse_host(line: &str) -> Result<HostMsg, String> {
    let v = json::parse(line).map_err(|e| e.to_string())?;
    match v.get("v").and_then(Value::as_i64) {
        Some(VERSION) => {}
        Some(other) => {
            return Err(format!(
                "unsupported protocol version {other}, agent speaks {VERSION}"
            ))
        }
        None => return Err("field `v` (protocol version) is missing".into()),
    }
    let kind = v
        .get("type")
        .and_then(Value::as_str)
        .ok_or("field `type` is missing")?;
    match kind {
        "hello" => Ok(HostMsg::Hello),
        "config" => SessionConfig::from_json(&v).map(|c| HostMsg::Config(Box::new(c))),
        "start" => Ok(HostMsg::Start),
        "signal" => {
            let sig = v
                .get("signal")
                .and_then(Value::as_i64)
                .ok_or("field `signal` must be a number")?;
            i32::try_from(sig)
                .ok()
                .filter(|s| (1..=64).contains(s))
                .map(HostMsg::Signal)
                .ok_or_else(|| format!("field `signal` out of range: {sig}"))
        }
        "poweroff" => Ok(HostMsg::Poweroff),
        "token" => {
            let id = v
                .get("id")
                .and_then(Value::as_i64)
                .and_then(|n| u64::try_from(n).ok())
                .ok_or("field `id` must be a request id")?;
            let status = v
                .get("status")
                .and_then(Value::as_i64)
                .and_then(|n| u16::try_from(n).ok())
                .ok_or("field `status` must be an HTTP status")?;
            let body = v
                .get("body")
                .and_then(Value::as_str)
                .ok_or("field `body` must be a string")?
                .to_string();
            Ok(HostMsg::Token { id, status, body })
        }
        "exec" => {
            let id = v
                .get("id")
                .and_then(Value::as_i64)
                .and_then(|n| u64::try_from(n).ok())
                .ok_or("field `id` must be a request id")?;
            let argv: Vec<String> = v
                .get("argv")
                .and_then(Value::as_array)
                .ok_or("field `argv` must be an array of strings")?
                .iter()
                .map(|a| a.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or("field `argv` must hold only strings")?;
            if argv.is_empty() {
                return Err("field `argv` is empty".into());
            }
            let timeout_ms = v
                .get("timeout_ms")
                .and_then(Value::as_i64)
                .and_then(|t| u64::try_from(t).ok())
                .unwrap_or(60_000);
            Ok(HostMsg::Exec {
                id,
                argv,
                timeout_ms,
            })
        }
        "connect" => {
            let host = v
                .get("host")
                .and_then(Value::as_str)
                .ok_or("field `host` is missing")?
                .to_string();
            let port = v
                .get("port")
                .and_then(Value::as_i64)
                .and_then(|p| u16::try_from(p).ok())
                .ok_or("field `port` must be a port number")?;
            let timeout_ms = v
                .get("timeout_ms")
                .and_then(Value::as_i64)
                .and_then(|t| u64::try_from(t).ok())
                .unwrap_or(2000);
            Ok(HostMsg::Connect {
                host,
                port,
                timeout_ms,
            })
        }
        other => Err(format!("unknown message type {other:?}")),
    }
}

/// A message to the host.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentMsg {
    /// Booted, waiting for `config` (or already configured).
    Ready,
    /// The container process runs.
    Started {
        /// Its pid.
        pid: u32,
    },
    /// The container process exited with a code.
    ExitedCode(i32),
    /// The container process was killed by a signal.
    ExitedSignal(i32),
    /// Result of a debug `connect`.
    Connected {
        /// Whether the connection was established.
        ok: bool,
        /// The error when not.
        error: String,
    },
    /// Something failed.
    Error(String),
    /// Another container ended: its name and exit code, or the signal (negative).
    ContainerExited {
        /// Container name.
        name: String,
        /// Exit code when it exited.
        code: Option<i32>,
        /// Signal when it was killed.
        signal: Option<i32>,
    },
    /// Code in the session asked for a token.
    TokenRequest {
        /// Request id.
        id: u64,
        /// Query parameters (`resource`, `api_version`, `client_id`, `principal_id`,
        /// `mi_res_id`), as sent.
        fields: Vec<(String, String)>,
    },
    /// The output of an `exec`.
    ExecResult {
        /// Request id.
        id: u64,
        /// Exit code (-1 when killed).
        code: i32,
        /// Captured stdout.
        stdout: String,
        /// Captured stderr.
        stderr: String,
        /// Killed because it ran too long.
        timed_out: bool,
    },
}

impl AgentMsg {
    /// The JSON line (without the newline).
    pub fn to_line(&self) -> String {
        let mut m = BTreeMap::new();
        m.insert("v".to_string(), Value::Number(VERSION as f64));
        let kind = match self {
            AgentMsg::Ready => {
                m.insert(
                    "agent".into(),
                    Value::String(env!("CARGO_PKG_VERSION").into()),
                );
                "ready"
            }
            AgentMsg::Started { pid } => {
                m.insert("pid".into(), Value::Number(f64::from(*pid)));
                "started"
            }
            AgentMsg::ExitedCode(code) => {
                m.insert("code".into(), Value::Number(f64::from(*code)));
                "exited"
            }
            AgentMsg::ExitedSignal(sig) => {
                m.insert("signal".into(), Value::Number(f64::from(*sig)));
                "exited"
            }
            AgentMsg::Connected { ok, error } => {
                m.insert("ok".into(), Value::Bool(*ok));
                m.insert("error".into(), Value::String(error.clone()));
                "connected"
            }
            AgentMsg::Error(message) => {
                m.insert("message".into(), Value::String(message.clone()));
                "error"
            }
            AgentMsg::ContainerExited { name, code, signal } => {
                m.insert("name".into(), Value::String(name.clone()));
                if let Some(c) = code {
                    m.insert("code".into(), Value::Number(f64::from(*c)));
                }
                if let Some(s) = signal {
                    m.insert("signal".into(), Value::Number(f64::from(*s)));
                }
                "container_exited"
            }
            AgentMsg::TokenRequest { id, fields } => {
                m.insert("id".into(), Value::Number(*id as f64));
                for (k, v) in fields {
                    m.insert(k.clone(), Value::String(v.clone()));
                }
                "token_request"
            }
            AgentMsg::ExecResult {
                id,
                code,
                stdout,
                stderr,
                timed_out,
            } => {
                m.insert("id".into(), Value::Number(*id as f64));
                m.insert("code".into(), Value::Number(f64::from(*code)));
                m.insert("stdout".into(), Value::String(stdout.clone()));
                m.insert("stderr".into(), Value::String(stderr.clone()));
                m.insert("timed_out".into(), Value::Bool(*timed_out));
                "exec_result"
            }
        };
        m.insert("type".into(), Value::String(kind.into()));
        Value::Object(m).to_json()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_host_messages() {
        assert_eq!(parse_host(r#"{"v":1,"type":"hello"}"#), Ok(HostMsg::Hello));
        assert_eq!(
            parse_host(r#"{"v":1,"type":"signal","signal":15}"#),
            Ok(HostMsg::Signal(15))
        );
        assert_eq!(
            parse_host(r#"{"v":1,"type":"connect","host":"10.0.2.2","port":80}"#),
            Ok(HostMsg::Connect {
                host: "10.0.2.2".into(),
                port: 80,
                timeout_ms: 2000
            })
        );
    }

    #[test]
    fn errors_name_the_field() {
        assert!(parse_host(r#"{"type":"hello"}"#)
            .unwrap_err()
            .contains("`v`"));
        assert!(parse_host(r#"{"v":2,"type":"hello"}"#)
            .unwrap_err()
            .contains("version 2"));
        assert!(parse_host(r#"{"v":1,"type":"signal"}"#)
            .unwrap_err()
            .contains("`signal`"));
        assert!(parse_host(r#"{"v":1,"type":"dance"}"#)
            .unwrap_err()
            .contains("dance"));
        assert!(parse_host("not json").is_err());
    }

    #[test]
    fn token_and_exec_messages() {
        assert_eq!(
            parse_host(r#"{"v":1,"type":"token","id":3,"status":200,"body":"{}"}"#),
            Ok(HostMsg::Token {
                id: 3,
                status: 200,
                body: "{}".into()
            })
        );
        assert_eq!(
            parse_host(r#"{"v":1,"type":"exec","id":4,"argv":["sh","-c","echo"],"timeout_ms":5}"#),
            Ok(HostMsg::Exec {
                id: 4,
                argv: vec!["sh".into(), "-c".into(), "echo".into()],
                timeout_ms: 5
            })
        );
        assert!(parse_host(r#"{"v":1,"type":"exec","id":4,"argv":[]}"#).is_err());
        assert_eq!(
            AgentMsg::ContainerExited {
                name: "side".into(),
                code: Some(2),
                signal: None
            }
            .to_line(),
            r#"{"code":2,"name":"side","type":"container_exited","v":1}"#
        );
    }

    #[test]
    fn agent_lines() {
        assert_eq!(
            AgentMsg::ExitedCode(7).to_line(),
            r#"{"code":7,"type":"exited","v":1}"#
        );
        assert_eq!(
            AgentMsg::Started { pid: 42 }.to_line(),
            r#"{"pid":42,"type":"started","v":1}"#
        );
    }
}
