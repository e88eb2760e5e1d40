//! The host side of the agent's channels: JSON-lines control messages and the containers'
//! stdout/stderr lines. In a session of several containers every line is framed as
//! `\x1e{container}\x1f{text}` ([`split_frame`]); unframed lines are the main container's.

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedWriteHalf;
use tokio::sync::mpsc;

use crate::vm::backend::{LogLine, LogStream};
use crate::vm::error::{BackendError, Result};

/// Longest line forwarded as one log line; longer ones are split.
const MAX_LINE: usize = 64 * 1024;

/// A message from the agent.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentEvent {
    /// Booted / answering `hello`.
    Ready,
    /// Container process started.
    Started(u32),
    /// Exited with a code.
    ExitedCode(i32),
    /// Killed by a signal.
    ExitedSignal(i32),
    /// Debug connect result.
    Connected(std::result::Result<(), String>),
    /// The agent reported an error.
    Error(String),
    /// A container other than the main one ended (it is not restarted).
    ContainerExited {
        /// Its name.
        name: String,
        /// `exited with code N` / `killed by signal N`.
        how: String,
    },
    /// Code in the session asked `IDENTITY_ENDPOINT` for a token.
    TokenRequest {
        /// Request id, echoed in the answer.
        id: u64,
        /// The query.
        query: crate::vm::backend::IdentityQuery,
    },
    /// The result of an `exec`.
    ExecResult {
        /// Request id.
        id: u64,
        /// The output.
        output: crate::vm::backend::ExecOutput,
    },
}

/// Splits a framed log line (`\x1e{container}\x1f{text}`) into its container and text;
/// unframed lines belong to the main container (`None`).
pub fn split_frame(line: &str) -> (Option<String>, &str) {
    if let Some(rest) = line.strip_prefix('\u{1e}') {
        if let Some((name, text)) = rest.split_once('\u{1f}') {
            return (Some(name.to_string()), text);
        }
    }
    (None, line)
}

/// Parses one agent line.
pub fn parse_event(line: &str) -> Result<AgentEvent> {
    let v: Value = serde_json::from_str(line)
        .map_err(|e| BackendError::Protocol(format!("bad JSON {line:?}: {e}")))?;
    if v.get("v").and_then(Value::as_i64) != Some(1) {
        return Err(BackendError::Protocol(format!(
            "unsupported protocol version in {line:?}"
        )));
    }
    let int = |k: &str| {
        v.get(k)
            .and_then(Value::as_i64)
            .and_then(|n| i32::try_from(n).ok())
    };
    match v.get("type").and_then(Value::as_str) {
        Some("ready") => Ok(AgentEvent::Ready),
        Some("started") => Ok(AgentEvent::Started(int("pid").unwrap_or(0).unsigned_abs())),
        Some("exited") => match (int("code"), int("signal")) {
            (Some(code), _) => Ok(AgentEvent::ExitedCode(code)),
            (None, Some(sig)) => Ok(AgentEvent::ExitedSignal(sig)),
            _ => Err(BackendError::Protocol(format!(
                "`exited` without code or signal: {line}"
            ))),
        },
        Some("connected") => Ok(AgentEvent::Connected(
            if v.get("ok").and_then(Value::as_bool) == Some(true) {
                Ok(())
            } else {
                Err(v
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("failed")
                    .to_owned())
            },
        )),
        Some("error") => Ok(AgentEvent::Error(
            v.get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
        )),
        Some("container_exited") => {
            let name = v
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            let how = match (int("code"), int("signal")) {
                (Some(code), _) => format!("exited with code {code}"),
                (None, Some(sig)) => format!("killed by signal {sig}"),
                _ => "ended".into(),
            };
            Ok(AgentEvent::ContainerExited { name, how })
        }
        Some("token_request") => {
            let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
            Ok(AgentEvent::TokenRequest {
                id: v.get("id").and_then(Value::as_u64).unwrap_or(0),
                query: crate::vm::backend::IdentityQuery {
                    resource: s("resource").unwrap_or_default(),
                    api_version: s("api_version"),
                    client_id: s("client_id"),
                    principal_id: s("principal_id"),
                    mi_res_id: s("mi_res_id"),
                },
            })
        }
        Some("exec_result") => {
            let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
            Ok(AgentEvent::ExecResult {
                id: v.get("id").and_then(Value::as_u64).unwrap_or(0),
                output: crate::vm::backend::ExecOutput {
                    exit_code: int("code").unwrap_or(-1),
                    stdout: s("stdout"),
                    stderr: s("stderr"),
                    timed_out: v.get("timed_out").and_then(Value::as_bool) == Some(true),
                },
            })
        }
        other => Err(BackendError::Protocol(format!(
            "unknown message type {other:?}"
        ))),
    }
}

/// Reads agent events until EOF into `events`.
pub fn spawn_event_reader(
    read: impl AsyncRead + Unpin + Send + 'static,
    events: mpsc::UnboundedSender<AgentEvent>,
) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(read).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            match parse_event(line.trim()) {
                Ok(ev) => {
                    if events.send(ev).is_err() {
                        return;
                    }
                }
                Err(e) => tracing::warn!("guest agent: {e}"),
            }
        }
    });
}

/// Forwards lines from a stdout/stderr port to `logs` (dropping when the receiver is full).
pub fn spawn_log_reader(
    read: impl AsyncRead + Unpin + Send + 'static,
    stream: LogStream,
    logs: mpsc::Sender<LogLine>,
) {
    tokio::spawn(async move {
        let mut reader = BufReader::new(read);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            let n = match (&mut reader)
                .take(MAX_LINE as u64)
                .read_until(b'\n', &mut buf)
                .await
            {
                Ok(n) => n,
                Err(_) => return,
            };
            if n == 0 {
                return;
            }
            while matches!(buf.last(), Some(b'\n' | b'\r')) {
                buf.pop();
            }
            let text = String::from_utf8_lossy(&buf);
            let (container, line) = split_frame(&text);
            let mut out = LogLine::now(stream, line);
            out.container = container;
            let _ = logs.try_send(out);
        }
    });
}

/// Writes host messages to the agent.
pub struct AgentWriter {
    write: OwnedWriteHalf,
}

impl AgentWriter {
    /// Wraps the write half of the control socket.
    pub fn new(write: OwnedWriteHalf) -> Self {
        Self { write }
    }

    /// Sends `{"v":1,"type":kind, ...fields}`.
    pub async fn send(&mut self, kind: &str, fields: Value) -> Result<()> {
        let mut msg = json!({ "v": 1, "type": kind });
        if let (Some(m), Value::Object(extra)) = (msg.as_object_mut(), fields) {
            m.extend(extra);
        }
        let mut line = msg.to_string();
        line.push('\n');
        self.write
            .write_all(line.as_bytes())
            .await
            .map_err(|e| BackendError::Protocol(format!("writing `{kind}` to the agent: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_agent_lines() {
        assert_eq!(
            parse_event(r#"{"v":1,"type":"ready","agent":"0.1.0"}"#).ok(),
            Some(AgentEvent::Ready)
        );
        assert_eq!(
            parse_event(r#"{"v":1,"type":"started","pid":81}"#).ok(),
            Some(AgentEvent::Started(81))
        );
        assert_eq!(
            parse_event(r#"{"code":7,"type":"exited","v":1}"#).ok(),
            Some(AgentEvent::ExitedCode(7))
        );
        assert_eq!(
            parse_event(r#"{"signal":15,"type":"exited","v":1}"#).ok(),
            Some(AgentEvent::ExitedSignal(15))
        );
        assert_eq!(
            parse_event(r#"{"v":1,"type":"connected","ok":false,"error":"refused"}"#).ok(),
            Some(AgentEvent::Connected(Err("refused".into())))
        );
        assert!(parse_event(r#"{"v":2,"type":"ready"}"#).is_err());
        assert!(parse_event("garbage").is_err());
        assert_eq!(
            parse_event(r#"{"v":1,"type":"container_exited","name":"side","code":3}"#).ok(),
            Some(AgentEvent::ContainerExited {
                name: "side".into(),
                how: "exited with code 3".into()
            })
        );
        let Ok(AgentEvent::TokenRequest { id, query }) = parse_event(
            r#"{"v":1,"type":"token_request","id":7,"resource":"https://management.azure.com/","client_id":"c"}"#,
        ) else {
            panic!("token_request");
        };
        assert_eq!(
            (id, query.resource.as_str(), query.client_id.as_deref()),
            (7, "https://management.azure.com/", Some("c"))
        );
        let Ok(AgentEvent::ExecResult { id, output }) = parse_event(
            r#"{"v":1,"type":"exec_result","id":2,"code":0,"stdout":"hi\n","stderr":"","timed_out":false}"#,
        ) else {
            panic!("exec_result");
        };
        assert_eq!(
            (id, output.exit_code, output.stdout.as_str()),
            (2, 0, "hi\n")
        );
    }

    #[test]
    fn framed_lines_name_their_container() {
        assert_eq!(split_frame("plain"), (None, "plain"));
        assert_eq!(
            split_frame("\u{1e}side\u{1f}hello"),
            (Some("side".to_string()), "hello")
        );
        assert_eq!(
            split_frame("\u{1e}no separator"),
            (None, "\u{1e}no separator")
        );
    }
}
