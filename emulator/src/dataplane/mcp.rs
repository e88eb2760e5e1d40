//! The pool's MCP server: `{poolManagementEndpoint}/mcp`, the `mcpServerEndpoint` of a pool
//! whose `mcpServerSettings.isMcpServerEnabled` is true.
//!
//! What Microsoft documents for the platform-managed MCP server of dynamic sessions, served
//! for custom container pools too (its tools exist "regardless of the session pool's
//! containerType"): JSON-RPC 2.0 over HTTP `POST` (MCP protocol `2025-03-26`, server name
//! `Microsoft Container Apps MCP Server`), methods `initialize`, `tools/list`, `tools/call`
//! (plus `ping` and notifications, answered 202), authenticated by the pool's API key in the
//! `x-ms-apikey` header (`fetchMcpServerCredentials`). A missing or wrong key is 401; with
//! `isMcpServerApiKeyDisabled` every request is refused (401), since the key is the only
//! credential the server accepts; a pool without MCP answers 404.
//!
//! Tools:
//! - `launchShell`: a new `environmentId`; the session is allocated at the first command
//!   (the environment id is the session identifier).
//! - `runShellCommandInRemoteEnvironment {environmentId, shellCommand | execCommandAndArgs}`:
//!   runs `/bin/sh -c shellCommand` (or the argv) in the session's main container.
//! - `runPythonCodeInRemoteEnvironment {environmentId, pythonCode}`: runs `python3 -c` there
//!   (the image needs `python3`).
//!
//! Each call answers `structuredContent` (`environmentId`, or `stdout`, `stderr`, `exitCode`)
//! and the same as JSON text in `content`; a command that could not run is a tool error
//! (`isError: true`), a bad request a JSON-RPC error (-32700 parse, -32600 invalid request,
//! -32601 unknown method, -32602 bad params).

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde_json::{json, Value};

use sessions_runtime::pool::actor::PoolHandle;

use super::identifier;
use crate::state::McpAccess;

/// MCP protocol version the server speaks.
pub const PROTOCOL_VERSION: &str = "2025-03-26";
/// Server name, as Microsoft's server reports it.
pub const SERVER_NAME: &str = "Microsoft Container Apps MCP Server";
/// Largest request body accepted.
const MAX_BODY: usize = 4 * 1024 * 1024;
/// How long one command may run.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn unauthorized(message: &str) -> Response {
    json_response(
        StatusCode::UNAUTHORIZED,
        &json!({"error": {"code": "Unauthorized", "message": message}}),
    )
}

fn rpc_error(id: Value, code: i64, message: impl Into<String>) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message.into()}})
}

fn rpc_result(id: Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

/// Constant-time comparison of two keys.
fn same_key(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The tools, as `tools/list` answers them.
pub fn tools() -> Value {
    json!([
        {
            "name": "launchShell",
            "description": "Creates a new environment (a session of the pool) and returns its environmentId. The session is allocated at the first command.",
            "inputSchema": {"type": "object", "properties": {}}
        },
        {
            "name": "runShellCommandInRemoteEnvironment",
            "description": "Executes a shell command in an existing environment.",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "environmentId": {"type": "string", "description": "The environment from launchShell."},
                    "shellCommand": {"type": "string", "description": "A command line run with /bin/sh -c."},
                    "execCommandAndArgs": {"type": "array", "items": {"type": "string"}, "description": "Program and arguments, without a shell."}
                },
                "required": ["environmentId"]
            }
        },
        {
            "name": "runPythonCodeInRemoteEnvironment",
            "description": "Executes Python code in an existing environment.",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "environmentId": {"type": "string", "description": "The environment from launchShell."},
                    "pythonCode": {"type": "string", "description": "The code, run with python3 -c."}
                },
                "required": ["environmentId", "pythonCode"]
            }
        }
    ])
}

fn tool_result(structured: Value, is_error: bool) -> Value {
    json!({
        "content": [{"type": "text", "text": structured.to_string()}],
        "structuredContent": structured,
        "isError": is_error,
    })
}

/// Serves one request to a pool's `/mcp`. `resolve` allocates (or finds) the session of an
/// identifier.
pub async fn handle<F, Fut>(
    pool: &PoolHandle,
    access: Option<McpAccess>,
    req: Request,
    resolve: F,
) -> Response
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let Some(access) = access.filter(|a| a.enabled) else {
        return json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": {"code": "McpServerNotEnabled", "message": "the MCP server of this session pool is not enabled; set properties.mcpServerSettings.isMcpServerEnabled to true (api-version 2025-10-02-preview or 2026-03-02-preview)"}}),
        );
    };
    if access.api_key_disabled {
        return unauthorized("API key authentication is disabled for this MCP server (mcpServerSettings.isMcpServerApiKeyDisabled) and it accepts no other credential");
    }
    let key = req
        .headers()
        .get("x-ms-apikey")
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    match key {
        None => {
            return unauthorized("send the session pool's MCP API key (fetchMcpServerCredentials) in the x-ms-apikey header")
        }
        Some(k) if !same_key(k, &access.api_key) => {
            return unauthorized("the x-ms-apikey header does not hold the session pool's current MCP API key")
        }
        Some(_) => {}
    }
    if req.method() != Method::POST {
        let mut r = json_response(
            StatusCode::METHOD_NOT_ALLOWED,
            &json!({"error": {"code": "MethodNotAllowed", "message": "the MCP endpoint takes JSON-RPC requests by POST"}}),
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return r;
    }
    let body = match Body::new(req.into_body()).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                &rpc_error(
                    Value::Null,
                    -32700,
                    format!("reading the request failed: {e}"),
                ),
            )
        }
    };
    if body.len() > MAX_BODY {
        return json_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            &rpc_error(Value::Null, -32600, "the request is larger than 4 MiB"),
        );
    }
    let msg: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                &rpc_error(Value::Null, -32700, format!("parse error: {e}")),
            )
        }
    };
    match msg {
        Value::Array(batch) => {
            let mut out = Vec::new();
            for m in batch {
                if let Some(r) = one(pool, m, &resolve).await {
                    out.push(r);
                }
            }
            if out.is_empty() {
                StatusCode::ACCEPTED.into_response()
            } else {
                json_response(StatusCode::OK, &Value::Array(out))
            }
        }
        m => match one(pool, m, &resolve).await {
            Some(r) => json_response(StatusCode::OK, &r),
            None => StatusCode::ACCEPTED.into_response(),
        },
    }
}

/// Answers one JSON-RPC message; `None` for a notification.
async fn one<F, Fut>(pool: &PoolHandle, m: Value, resolve: &F) -> Option<Value>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let Value::Object(o) = m else {
        return Some(rpc_error(
            Value::Null,
            -32600,
            "a JSON-RPC request is an object",
        ));
    };
    let id = o.get("id").cloned();
    let method = o.get("method").and_then(Value::as_str).map(str::to_owned);
    let Some(id) = id.filter(|i| i.is_string() || i.is_number()) else {
        // Notifications (no id) get no answer; a bad id is an invalid request.
        return o
            .get("id")
            .map(|_| rpc_error(Value::Null, -32600, "the id must be a string or a number"));
    };
    if o.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Some(rpc_error(id, -32600, "jsonrpc must be \"2.0\""));
    }
    let Some(method) = method else {
        return Some(rpc_error(id, -32600, "the method is missing"));
    };
    let params = o.get("params").cloned().unwrap_or(json!({}));
    Some(match method.as_str() {
        "initialize" => rpc_result(
            id,
            json!({
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {"tools": {"call": true, "list": true}},
                "serverInfo": {"name": SERVER_NAME, "version": env!("CARGO_PKG_VERSION")},
            }),
        ),
        "ping" => rpc_result(id, json!({})),
        "tools/list" => rpc_result(id, json!({"tools": tools()})),
        "tools/call" => call(pool, id, &params, resolve).await,
        other => rpc_error(
            id,
            -32601,
            format!("method not found: {other}; use initialize, tools/list or tools/call"),
        ),
    })
}

async fn call<F, Fut>(pool: &PoolHandle, id: Value, params: &Value, resolve: &F) -> Value
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let name = params.get("name").and_then(Value::as_str).unwrap_or("");
    let args = params.get("arguments").cloned().unwrap_or(json!({}));
    let env_id = || -> Result<String, Value> {
        let e = args
            .get("environmentId")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                rpc_error(
                    id.clone(),
                    -32602,
                    "arguments.environmentId is required: call launchShell first",
                )
            })?;
        identifier::validate(e).map(str::to_string).map_err(|err| {
            rpc_error(
                id.clone(),
                -32602,
                format!("arguments.environmentId: {err}"),
            )
        })
    };
    let argv: Result<Vec<String>, Value> = match name {
        "launchShell" => {
            let environment = uuid::Uuid::new_v4().to_string();
            return rpc_result(
                id,
                tool_result(json!({"environmentId": environment}), false),
            );
        }
        "runShellCommandInRemoteEnvironment" => {
            match (args.get("shellCommand").and_then(Value::as_str), args.get("execCommandAndArgs")) {
                (Some(cmd), _) => Ok(vec!["/bin/sh".into(), "-c".into(), cmd.to_string()]),
                (None, Some(Value::Array(items))) if !items.is_empty() => items
                    .iter()
                    .map(|i| i.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| rpc_error(id.clone(), -32602, "arguments.execCommandAndArgs must hold only strings")),
                _ => Err(rpc_error(id.clone(), -32602, "arguments.shellCommand (a string) or arguments.execCommandAndArgs (an array of strings) is required")),
            }
        }
        "runPythonCodeInRemoteEnvironment" => {
            match args.get("pythonCode").and_then(Value::as_str) {
                Some(code) => Ok(vec!["python3".into(), "-c".into(), code.to_string()]),
                None => Err(rpc_error(
                    id.clone(),
                    -32602,
                    "arguments.pythonCode is required",
                )),
            }
        }
        other => {
            return rpc_error(
                id,
                -32602,
                format!("unknown tool '{other}'; tools/list names the tools"),
            )
        }
    };
    let argv = match argv {
        Ok(a) => a,
        Err(e) => return e,
    };
    let environment = match env_id() {
        Ok(e) => e,
        Err(e) => return e,
    };
    if let Err(e) = resolve(environment.clone()).await {
        return rpc_result(
            id,
            tool_result(json!({"environmentId": environment, "error": e}), true),
        );
    }
    match pool.exec(&environment, argv, COMMAND_TIMEOUT).await {
        Ok(out) => {
            let mut structured = json!({
                "environmentId": environment,
                "stdout": out.stdout,
                "stderr": out.stderr,
                "exitCode": out.exit_code,
            });
            if out.timed_out {
                structured["timedOut"] = json!(true);
            }
            rpc_result(id, tool_result(structured, false))
        }
        Err(e) => rpc_result(
            id,
            tool_result(
                json!({"environmentId": environment, "error": e.to_string()}),
                true,
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_compare_exactly() {
        assert!(same_key("abc", "abc"));
        assert!(!same_key("abc", "abd"));
        assert!(!same_key("abc", "abcd"));
    }

    #[test]
    fn tools_have_schemas() {
        let t = tools();
        let names: Vec<&str> = t
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "launchShell",
                "runShellCommandInRemoteEnvironment",
                "runPythonCodeInRemoteEnvironment"
            ]
        );
        assert!(t
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["inputSchema"]["type"] == "object"));
    }
}
