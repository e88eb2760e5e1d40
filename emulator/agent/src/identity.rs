//! `IDENTITY_ENDPOINT` inside the session: a tiny HTTP/1.1 server on `127.0.0.1:42356`
//! (`http://localhost:42356/msi/token`, where Container Apps serves it) that every container
//! of the session reaches over `localhost`. It checks the `X-IDENTITY-HEADER` secret, then
//! relays the query to the host over the control channel (`token_request`) and answers with
//! what the host sends back (`token`). Nothing here touches the network outside the VM: the
//! control channel is the only way out.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::protocol::AgentMsg;

/// Port of the identity endpoint.
pub const PORT: u16 = 42356;
/// The `IDENTITY_ENDPOINT` value.
pub const ENDPOINT: &str = "http://localhost:42356/msi/token";
/// How long a caller waits for the host's answer.
const ANSWER_WAIT: Duration = Duration::from_secs(30);
/// Longest request head accepted.
const MAX_HEAD: usize = 16 * 1024;

/// Where one caller waits for its answer (HTTP status, JSON body).
type Waiter = mpsc::Sender<(u16, String)>;

/// Answers waiting for the host, by request id.
#[derive(Clone, Default)]
pub struct Pending {
    next: Arc<AtomicU64>,
    waiting: Arc<Mutex<HashMap<u64, Waiter>>>,
}

impl Pending {
    /// Hands the host's answer to the caller waiting for it.
    pub fn answer(&self, id: u64, status: u16, body: String) {
        if let Some(tx) = self.waiting.lock().ok().and_then(|mut w| w.remove(&id)) {
            let _ = tx.send((status, body));
        }
    }
}

/// Starts the endpoint; `send` writes a message to the host.
pub fn serve(
    header: String,
    pending: Pending,
    send: impl Fn(&AgentMsg) + Send + Sync + 'static,
) -> std::io::Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", PORT))?;
    let send = Arc::new(send);
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let (header, pending, send) = (header.clone(), pending.clone(), send.clone());
            std::thread::spawn(move || {
                let _ = handle(conn, &header, &pending, &*send);
            });
        }
    });
    Ok(())
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |j: usize| (bytes[j] as char).to_digit(16);
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(i + 1), hex(i + 2)) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The query parameters of a request target, decoded.
pub fn query_pairs(target: &str) -> Vec<(String, String)> {
    let Some((_, q)) = target.split_once('?') else {
        return Vec::new();
    };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn respond(stream: &mut TcpStream, status: u16, body: &str) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Error",
    };
    write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

fn error(code: &str, description: &str) -> String {
    let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    format!(
        r#"{{"error":"{}","error_description":"{}"}}"#,
        esc(code),
        esc(description)
    )
}

fn handle(
    mut stream: TcpStream,
    header: &str,
    pending: &Pending,
    send: &(dyn Fn(&AgentMsg) + Send + Sync),
) -> std::io::Result<()> {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut secret = None;
    let mut total = request_line.len();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        total += line.len();
        if total > MAX_HEAD {
            return respond(
                &mut stream,
                400,
                &error("invalid_request", "request head too large"),
            );
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.trim().eq_ignore_ascii_case("x-identity-header") {
                secret = Some(v.trim().to_string());
            }
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    if path != "/msi/token" {
        return respond(
            &mut stream,
            404,
            &error("not_found", "the identity endpoint is /msi/token"),
        );
    }
    if method != "GET" {
        return respond(&mut stream, 405, &error("invalid_request", "use GET"));
    }
    if secret.as_deref() != Some(header) {
        return respond(
            &mut stream,
            401,
            &error(
                "unauthorized",
                "the X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER",
            ),
        );
    }
    let mut fields = Vec::new();
    for (k, v) in query_pairs(target) {
        let key = match k.as_str() {
            "resource" => "resource",
            "api-version" => "api_version",
            "client_id" => "client_id",
            "principal_id" | "object_id" => "principal_id",
            "mi_res_id" | "msi_res_id" => "mi_res_id",
            _ => continue,
        };
        fields.push((key.to_string(), v));
    }
    if !fields.iter().any(|(k, v)| k == "resource" && !v.is_empty()) {
        return respond(
            &mut stream,
            400,
            &error(
                "invalid_request",
                "the 'resource' query parameter is required",
            ),
        );
    }
    let id = pending.next.fetch_add(1, Ordering::SeqCst) + 1;
    let (tx, rx) = mpsc::channel();
    if let Ok(mut w) = pending.waiting.lock() {
        w.insert(id, tx);
    }
    send(&AgentMsg::TokenRequest { id, fields });
    match rx.recv_timeout(ANSWER_WAIT) {
        Ok((status, body)) => respond(&mut stream, status, &body),
        Err(_) => {
            if let Ok(mut w) = pending.waiting.lock() {
                w.remove(&id);
            }
            respond(
                &mut stream,
                500,
                &error("timeout", "the token service did not answer"),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_decode() {
        assert_eq!(
            query_pairs("/msi/token?resource=https%3A%2F%2Fmanagement.azure.com%2F&api-version=2019-08-01&client_id=a+b"),
            vec![
                ("resource".to_string(), "https://management.azure.com/".to_string()),
                ("api-version".to_string(), "2019-08-01".to_string()),
                ("client_id".to_string(), "a b".to_string()),
            ]
        );
        assert_eq!(query_pairs("/msi/token"), Vec::<(String, String)>::new());
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
