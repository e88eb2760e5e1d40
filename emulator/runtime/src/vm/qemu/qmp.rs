//! A minimal QMP client: greeting, `qmp_capabilities`, then one command at a time. Events are
//! skipped.

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;

use crate::vm::error::{BackendError, Result};

/// A QMP connection in command mode.
pub struct Qmp {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

fn qmp_err(command: &str, message: impl Into<String>) -> BackendError {
    BackendError::Qmp {
        command: command.into(),
        message: message.into(),
    }
}

impl Qmp {
    /// Reads the greeting and enters command mode.
    pub async fn handshake(stream: UnixStream) -> Result<Self> {
        let (r, w) = stream.into_split();
        let mut qmp = Self {
            reader: BufReader::new(r),
            writer: w,
        };
        let greeting = qmp.read_message("greeting").await?;
        if greeting.get("QMP").is_none() {
            return Err(qmp_err(
                "greeting",
                format!("unexpected greeting {greeting}"),
            ));
        }
        qmp.execute("qmp_capabilities", json!({})).await?;
        Ok(qmp)
    }

    async fn read_message(&mut self, command: &str) -> Result<Value> {
        let mut line = String::new();
        let n = self
            .reader
            .read_line(&mut line)
            .await
            .map_err(|e| qmp_err(command, format!("read: {e}")))?;
        if n == 0 {
            return Err(qmp_err(command, "QEMU closed the QMP socket"));
        }
        serde_json::from_str(&line)
            .map_err(|e| qmp_err(command, format!("bad JSON from QEMU: {e}")))
    }

    /// Runs one command and returns its `return` value.
    pub async fn execute(&mut self, command: &str, arguments: Value) -> Result<Value> {
        let mut msg = json!({ "execute": command });
        if arguments.as_object().is_some_and(|o| !o.is_empty()) {
            msg["arguments"] = arguments;
        }
        let mut text = msg.to_string();
        text.push('\n');
        self.writer
            .write_all(text.as_bytes())
            .await
            .map_err(|e| qmp_err(command, format!("write: {e}")))?;
        loop {
            let reply = self.read_message(command).await?;
            if reply.get("event").is_some() {
                continue;
            }
            if let Some(ret) = reply.get("return") {
                return Ok(ret.clone());
            }
            if let Some(err) = reply.get("error") {
                let desc = err
                    .get("desc")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown error");
                return Err(qmp_err(command, desc));
            }
        }
    }

    /// `query-status` -> the `status` string (`running`, `paused`, `inmigrate`, ...).
    pub async fn status(&mut self) -> Result<String> {
        let ret = self.execute("query-status", json!({})).await?;
        Ok(ret
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_owned())
    }

    /// `query-migrate` -> the `status` string (`active`, `completed`, `failed`, ...).
    pub async fn migrate_status(&mut self) -> Result<(String, Option<String>)> {
        let ret = self.execute("query-migrate", json!({})).await?;
        let status = ret
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("none")
            .to_owned();
        let error = ret
            .get("error-desc")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok((status, error))
    }
}
