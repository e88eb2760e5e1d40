//! The sample session container: a small HTTP/1.1 server (std only, builds static for musl)
//! that every example and test uses as the "custom container".
//!
//! Listens on `0.0.0.0:8080` (`PORT` overrides). One thread per connection, keep-alive,
//! `Content-Length` and chunked request bodies.
//!
//! Two variables make it misbehave on purpose, so that tests (the conformance image check) can
//! build broken images from it: `SAMPLE_EXIT_AT_START=N` prints a line to stderr and exits
//! with code N before listening; `SAMPLE_UNHEALTHY=1` starts with `/health` answering 503.
//!
//! | Route | Answer |
//! |---|---|
//! | `GET /health`, `GET /ready` | 200 `{"status":"healthy"}`, or 503 after `POST /unhealthy` |
//! | `POST /unhealthy`, `POST /healthy` | flips the health state |
//! | `POST /log?stream=stdout\|stderr&line=TEXT` | writes TEXT (percent-decoded) as one line to that stream |
//! | `POST /exit?code=N` | answers, then exits with code N |
//! | `GET /sleep?ms=N` | waits N ms, then answers |
//! | `POST /echo` | streams the request body back |
//! | `GET /connect?host=H&port=P[&mode=tcp\|raw][&timeout_ms=N]` | can the session open a TCP connection to H:P? `{"result": "open\|refused\|timeout\|error", ...}` (see `connect.rs`) |
//! | `GET /fetch?url=http://localhost:PORT/PATH` | GETs that URL (another container of the session over `localhost`) and answers `{"status", "body"}` |
//! | `GET /env?name=NAME` | `{"name", "value"}` (`value` null when unset) |
//! | `GET /file?path=PATH` | `{"path", "content"}` of a text file (at most 64 KiB), 404 when it cannot be read |
//! | `GET /identity/token?resource=R[&client_id=C]` | asks `IDENTITY_ENDPOINT` (with `IDENTITY_HEADER`) for a token and answers `{"status", "body"}` of that call; 404 without `IDENTITY_ENDPOINT` |
//! | anything else | JSON: method, path, query, headers, body_bytes, kernel, hostname, random |

mod client;
mod connect;
mod http;
mod json;

use std::io::{self, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http::{percent_decode, query_param, BodyReader, Request};
use json::Json;

/// Longest `/sleep` accepted, in milliseconds (10 minutes).
const MAX_SLEEP_MS: u64 = 600_000;

/// Most bytes `/file` returns.
const MAX_FILE_BYTES: u64 = 64 * 1024;

/// State shared by all connections.
struct App {
    healthy: AtomicBool,
    random: String,
    kernel: String,
    hostname: String,
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn random_hex() -> String {
    let mut b = [0u8; 16];
    match std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b)) {
        Ok(()) => b.iter().map(|x| format!("{x:02x}")).collect(),
        Err(_) => {
            // No /dev/urandom: fall back to time and pid, still distinct per process.
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            format!("{:032x}", t ^ ((std::process::id() as u128) << 64))
        }
    }
}

impl App {
    fn new() -> Self {
        App {
            healthy: AtomicBool::new(std::env::var("SAMPLE_UNHEALTHY").as_deref() != Ok("1")),
            random: random_hex(),
            kernel: read_trimmed("/proc/sys/kernel/osrelease").unwrap_or_else(|| "unknown".into()),
            hostname: read_trimmed("/proc/sys/kernel/hostname")
                .or_else(|| read_trimmed("/etc/hostname"))
                .unwrap_or_else(|| "unknown".into()),
        }
    }
}

fn main() {
    if let Some(code) = std::env::var("SAMPLE_EXIT_AT_START")
        .ok()
        .and_then(|c| c.parse::<i32>().ok())
    {
        eprintln!("sample-session: exiting at start with code {code} (SAMPLE_EXIT_AT_START)");
        std::process::exit(code);
    }
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or(8080);
    let listener = match TcpListener::bind(("0.0.0.0", port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("sample-session: cannot listen on 0.0.0.0:{port}: {e}");
            std::process::exit(1);
        }
    };
    println!("sample-session listening on 0.0.0.0:{port}");
    serve(listener, Arc::new(App::new()));
}

fn serve(listener: TcpListener, app: Arc<App>) {
    for conn in listener.incoming() {
        match conn {
            Ok(stream) => {
                let app = app.clone();
                std::thread::spawn(move || {
                    let _ = handle_connection(stream, &app);
                });
            }
            Err(e) => eprintln!("sample-session: accept failed: {e}"),
        }
    }
}

fn handle_connection(stream: TcpStream, app: &App) -> io::Result<()> {
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    loop {
        let req = match Request::read(&mut reader) {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(()),
            Err(e) => {
                let body = Json::object().str("error", &e.to_string()).finish();
                respond(&mut writer, 400, "application/json", body.as_bytes(), false)?;
                return Ok(());
            }
        };
        let keep = req.keep_alive();
        let exit_code = route(&req, &mut reader, &mut writer, app, keep)?;
        writer.flush()?;
        if let Some(code) = exit_code {
            let _ = io::stdout().flush();
            let _ = io::stderr().flush();
            std::process::exit(code);
        }
        if !keep {
            return Ok(());
        }
    }
}

/// Handles one request; returns an exit code when the process should exit afterwards.
fn route(
    req: &Request,
    reader: &mut BufReader<TcpStream>,
    w: &mut TcpStream,
    app: &App,
    keep: bool,
) -> io::Result<Option<i32>> {
    let mut body = BodyReader::new(reader, req)?;
    let method = req.method.as_str();
    let path = req.path.as_str();
    let ok = |msg: &str| Json::object().str("status", msg).finish();
    match (method, path) {
        ("GET", "/health") | ("GET", "/ready") | ("HEAD", "/health") | ("HEAD", "/ready") => {
            body.discard()?;
            if app.healthy.load(Ordering::SeqCst) {
                respond(w, 200, "application/json", ok("healthy").as_bytes(), keep)?;
            } else {
                respond(w, 503, "application/json", ok("unhealthy").as_bytes(), keep)?;
            }
        }
        ("POST", "/unhealthy") | ("POST", "/healthy") => {
            body.discard()?;
            let healthy = path == "/healthy";
            app.healthy.store(healthy, Ordering::SeqCst);
            respond(
                w,
                200,
                "application/json",
                ok(if healthy { "healthy" } else { "unhealthy" }).as_bytes(),
                keep,
            )?;
        }
        ("POST", "/log") => {
            body.discard()?;
            let stream = query_param(&req.query, "stream").unwrap_or_else(|| "stdout".into());
            let line = query_param(&req.query, "line").unwrap_or_default();
            let line = line.replace(['\n', '\r'], " ");
            let res = match stream.as_str() {
                "stdout" => {
                    writeln!(io::stdout().lock(), "{line}").and_then(|_| io::stdout().flush())
                }
                "stderr" => writeln!(io::stderr().lock(), "{line}"),
                other => {
                    let msg = Json::object()
                        .str(
                            "error",
                            &format!("stream must be stdout or stderr, not `{other}`"),
                        )
                        .finish();
                    respond(w, 400, "application/json", msg.as_bytes(), keep)?;
                    return Ok(None);
                }
            };
            match res {
                Ok(()) => respond(
                    w,
                    200,
                    "application/json",
                    Json::object()
                        .str("status", "logged")
                        .str("stream", &stream)
                        .finish()
                        .as_bytes(),
                    keep,
                )?,
                Err(e) => respond(
                    w,
                    500,
                    "application/json",
                    Json::object()
                        .str("error", &e.to_string())
                        .finish()
                        .as_bytes(),
                    keep,
                )?,
            }
        }
        ("POST", "/exit") => {
            body.discard()?;
            let code = query_param(&req.query, "code").unwrap_or_else(|| "0".into());
            match code.parse::<i32>() {
                Ok(c) => {
                    respond(
                        w,
                        200,
                        "application/json",
                        Json::object()
                            .str("status", "exiting")
                            .num("code", c as i64)
                            .finish()
                            .as_bytes(),
                        false,
                    )?;
                    return Ok(Some(c));
                }
                Err(_) => {
                    let msg = Json::object()
                        .str("error", &format!("code must be an integer, not `{code}`"))
                        .finish();
                    respond(w, 400, "application/json", msg.as_bytes(), keep)?;
                }
            }
        }
        ("GET", "/sleep") => {
            body.discard()?;
            let ms = query_param(&req.query, "ms").unwrap_or_else(|| "0".into());
            match ms.parse::<u64>() {
                Ok(n) if n <= MAX_SLEEP_MS => {
                    std::thread::sleep(Duration::from_millis(n));
                    respond(
                        w,
                        200,
                        "application/json",
                        Json::object()
                            .str("status", "slept")
                            .num("ms", n as i64)
                            .finish()
                            .as_bytes(),
                        keep,
                    )?;
                }
                _ => {
                    let msg = Json::object()
                        .str(
                            "error",
                            &format!("ms must be an integer from 0 to {MAX_SLEEP_MS}, not `{ms}`"),
                        )
                        .finish();
                    respond(w, 400, "application/json", msg.as_bytes(), keep)?;
                }
            }
        }
        ("GET", "/connect") => {
            body.discard()?;
            let (status, doc) = connect_route(&req.query);
            respond(w, status, "application/json", doc.as_bytes(), keep)?;
        }
        ("GET", "/fetch") => {
            body.discard()?;
            let url = query_param(&req.query, "url").unwrap_or_default();
            answer_call(w, client::get(&url, &[]), keep)?;
        }
        ("GET", "/env") => {
            body.discard()?;
            let name = query_param(&req.query, "name").unwrap_or_default();
            let doc = match std::env::var(&name) {
                Ok(v) => Json::object().str("name", &name).str("value", &v).finish(),
                Err(_) => Json::object()
                    .str("name", &name)
                    .raw("value", "null")
                    .finish(),
            };
            respond(w, 200, "application/json", doc.as_bytes(), keep)?;
        }
        ("GET", "/file") => {
            body.discard()?;
            let path = query_param(&req.query, "path").unwrap_or_default();
            let mut content = Vec::new();
            let read = std::fs::File::open(&path)
                .and_then(|f| f.take(MAX_FILE_BYTES).read_to_end(&mut content));
            match read {
                Ok(_) => {
                    let doc = Json::object()
                        .str("path", &path)
                        .str("content", &String::from_utf8_lossy(&content))
                        .finish();
                    respond(w, 200, "application/json", doc.as_bytes(), keep)?;
                }
                Err(e) => {
                    let msg = Json::object()
                        .str("error", &format!("path `{path}` cannot be read: {e}"))
                        .finish();
                    respond(w, 404, "application/json", msg.as_bytes(), keep)?;
                }
            }
        }
        ("GET", "/identity/token") => {
            body.discard()?;
            match (
                std::env::var("IDENTITY_ENDPOINT"),
                std::env::var("IDENTITY_HEADER"),
            ) {
                (Ok(endpoint), Ok(header)) => {
                    let mut url = format!("{endpoint}?api-version=2019-08-01");
                    for k in ["resource", "client_id", "principal_id", "mi_res_id"] {
                        if let Some(v) = query_param(&req.query, k) {
                            url.push_str(&format!("&{k}={}", percent_encode(&v)));
                        }
                    }
                    answer_call(
                        w,
                        client::get(&url, &[("X-IDENTITY-HEADER", &header)]),
                        keep,
                    )?;
                }
                _ => {
                    let msg = Json::object()
                        .str("error", "IDENTITY_ENDPOINT is not set: the pool exposes no managed identity to this session")
                        .finish();
                    respond(w, 404, "application/json", msg.as_bytes(), keep)?;
                }
            }
        }
        ("POST", "/echo") => {
            let ct = req
                .header("content-type")
                .unwrap_or("application/octet-stream")
                .to_string();
            match req.content_length() {
                Some(n) if !req.is_chunked() => {
                    write!(
                        w,
                        "HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nContent-Length: {n}\r\n{}\r\n",
                        conn_header(keep)
                    )?;
                    body.copy_to(w)?;
                }
                _ => {
                    write!(w, "HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nTransfer-Encoding: chunked\r\n{}\r\n", conn_header(keep))?;
                    let mut buf = [0u8; 16 * 1024];
                    loop {
                        let n = body.read(&mut buf)?;
                        if n == 0 {
                            break;
                        }
                        write!(w, "{n:x}\r\n")?;
                        w.write_all(&buf[..n])?;
                        w.write_all(b"\r\n")?;
                    }
                    w.write_all(b"0\r\n\r\n")?;
                }
            }
        }
        _ => {
            let n = body.discard()?;
            let mut headers = Json::object();
            for (k, v) in &req.headers {
                headers = headers.str(k, v);
            }
            let mut query = Json::object();
            for pair in req.query.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                query = query.str(&percent_decode(k), &percent_decode(v));
            }
            let doc = Json::object()
                .str("method", method)
                .str("path", path)
                .str("query_string", &req.query)
                .raw("query", &query.finish())
                .raw("headers", &headers.finish())
                .num("body_bytes", n as i64)
                .str("kernel", &app.kernel)
                .str("hostname", &app.hostname)
                .str("random", &app.random)
                .num("pid", std::process::id() as i64)
                .finish();
            if method == "HEAD" {
                write!(w, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}\r\n", doc.len(), conn_header(keep))?;
            } else {
                respond(w, 200, "application/json", doc.as_bytes(), keep)?;
            }
        }
    }
    Ok(None)
}

/// `GET /connect`: (status, JSON body).
fn connect_route(query: &str) -> (u16, String) {
    let bad = |m: String| (400, Json::object().str("error", &m).finish());
    let Some(host) = query_param(query, "host").filter(|h| !h.is_empty()) else {
        return bad("host is required".into());
    };
    let port = match query_param(query, "port").map(|p| p.parse::<u16>()) {
        Some(Ok(p)) if p > 0 => p,
        _ => return bad("port must be an integer from 1 to 65535".into()),
    };
    let timeout = match query_param(query, "timeout_ms").map(|t| t.parse::<u64>()) {
        None => Duration::from_millis(3000),
        Some(Ok(ms)) if (1..=60_000).contains(&ms) => Duration::from_millis(ms),
        _ => return bad("timeout_ms must be an integer from 1 to 60000".into()),
    };
    let mode = query_param(query, "mode").unwrap_or_else(|| "tcp".into());
    let outcome = match mode.as_str() {
        "tcp" => connect::tcp(&host, port, timeout),
        "raw" => match host.parse() {
            Ok(ip) => connect::raw(ip, port, timeout),
            Err(_) => {
                return bad(format!(
                    "mode=raw needs an IPv4 address as host, not `{host}`"
                ))
            }
        },
        other => return bad(format!("mode must be tcp or raw, not `{other}`")),
    };
    let doc = Json::object()
        .str("host", &host)
        .num("port", i64::from(port))
        .str("mode", &mode)
        .str("result", outcome.result)
        .str("detail", &outcome.detail)
        .finish();
    (200, doc)
}

/// Percent-encodes a query value.
fn percent_encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Answers `{"status", "body"}` of an outgoing call, or 502 with its error.
fn answer_call(w: &mut TcpStream, r: io::Result<client::Answer>, keep: bool) -> io::Result<()> {
    match r {
        Ok(a) => {
            let doc = Json::object()
                .num("status", i64::from(a.status))
                .str("body", &a.body)
                .finish();
            respond(w, 200, "application/json", doc.as_bytes(), keep)
        }
        Err(e) => {
            let doc = Json::object().str("error", &e.to_string()).finish();
            respond(w, 502, "application/json", doc.as_bytes(), keep)
        }
    }
}

fn conn_header(keep: bool) -> &'static str {
    if keep {
        "Connection: keep-alive\r\n"
    } else {
        "Connection: close\r\n"
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "",
    }
}

fn respond(
    w: &mut impl Write,
    status: u16,
    content_type: &str,
    body: &[u8],
    keep: bool,
) -> io::Result<()> {
    write!(
        w,
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{}\r\n",
        reason(status),
        body.len(),
        conn_header(keep)
    )?;
    w.write_all(body)?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;

    fn start() -> u16 {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || serve(l, Arc::new(App::new())));
        port
    }

    /// Sends raw requests on one connection and reads `n` responses (status, body).
    fn exchange(port: u16, raw: &str, n: usize) -> Vec<(u16, String)> {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        (&s).write_all(raw.as_bytes()).unwrap();
        let mut r = BufReader::new(s);
        let mut out = Vec::new();
        for _ in 0..n {
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            let status: u16 = line.split(' ').nth(1).unwrap().parse().unwrap();
            let mut len = None;
            let mut chunked = false;
            loop {
                let mut h = String::new();
                r.read_line(&mut h).unwrap();
                let h = h.trim_end();
                if h.is_empty() {
                    break;
                }
                let lower = h.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length: ") {
                    len = Some(v.parse::<usize>().unwrap());
                }
                if lower == "transfer-encoding: chunked" {
                    chunked = true;
                }
            }
            let mut body = Vec::new();
            if chunked {
                loop {
                    let mut sz = String::new();
                    r.read_line(&mut sz).unwrap();
                    let n = usize::from_str_radix(sz.trim(), 16).unwrap();
                    let mut chunk = vec![0u8; n + 2];
                    r.read_exact(&mut chunk).unwrap();
                    if n == 0 {
                        break;
                    }
                    body.extend_from_slice(&chunk[..n]);
                }
            } else {
                body = vec![0u8; len.unwrap_or(0)];
                r.read_exact(&mut body).unwrap();
            }
            out.push((status, String::from_utf8(body).unwrap()));
        }
        out
    }

    #[test]
    fn info_reports_request_and_body_bytes() {
        let port = start();
        let r = exchange(port, "POST /x/y?a=1&b=h%20i HTTP/1.1\r\nHost: t\r\nX-Test: v\r\nContent-Length: 5\r\n\r\nhello", 1);
        assert_eq!(r[0].0, 200);
        let b = &r[0].1;
        assert!(b.contains(r#""method":"POST""#), "{b}");
        assert!(b.contains(r#""path":"/x/y""#), "{b}");
        assert!(b.contains(r#""b":"h i""#), "{b}");
        assert!(b.contains(r#""x-test":"v""#), "{b}");
        assert!(b.contains(r#""body_bytes":5"#), "{b}");
        assert!(b.contains(r#""random":""#), "{b}");
    }

    #[test]
    fn health_flips_with_keep_alive() {
        let port = start();
        let r = exchange(
            port,
            "GET /health HTTP/1.1\r\nHost: t\r\n\r\nPOST /unhealthy HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\nGET /ready HTTP/1.1\r\nHost: t\r\n\r\nPOST /healthy HTTP/1.1\r\nHost: t\r\n\r\nGET /health HTTP/1.1\r\nHost: t\r\n\r\n",
            5,
        );
        let codes: Vec<u16> = r.iter().map(|x| x.0).collect();
        assert_eq!(codes, vec![200, 200, 503, 200, 200]);
    }

    #[test]
    fn echo_streams_chunked_and_sized_bodies() {
        let port = start();
        let r = exchange(
            port,
            "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\n\r\nPOST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nxy",
            2,
        );
        assert_eq!(r[0], (200, "abcdefg".to_string()));
        assert_eq!(r[1], (200, "xy".to_string()));
    }

    #[test]
    fn bad_inputs_get_400_naming_the_field() {
        let port = start();
        let r = exchange(
            port,
            "POST /log?stream=nope&line=x HTTP/1.1\r\nHost: t\r\n\r\nGET /sleep?ms=abc HTTP/1.1\r\nHost: t\r\n\r\nPOST /exit?code=zz HTTP/1.1\r\nHost: t\r\n\r\nGET /sleep?ms=1 HTTP/1.1\r\nHost: t\r\n\r\n",
            4,
        );
        assert_eq!(r[0].0, 400);
        assert!(r[0].1.contains("stream"));
        assert_eq!(r[1].0, 400);
        assert!(r[1].1.contains("ms must be"));
        assert_eq!(r[2].0, 400);
        assert!(r[2].1.contains("code must be"));
        assert_eq!(r[3].0, 200);
    }

    #[test]
    fn file_reads_a_file_or_answers_404() {
        let path = std::env::temp_dir().join(format!("sample-file-{}", std::process::id()));
        std::fs::write(&path, "limit 42\n").unwrap();
        let port = start();
        let raw = format!(
            "GET /file?path={} HTTP/1.1\r\nHost: t\r\n\r\nGET /file?path=/no/such HTTP/1.1\r\nHost: t\r\n\r\n",
            path.display()
        );
        let r = exchange(port, &raw, 2);
        let _ = std::fs::remove_file(&path);
        assert_eq!(r[0].0, 200);
        assert!(r[0].1.contains(r#""content":"limit 42\n""#), "{}", r[0].1);
        assert_eq!(r[1].0, 404);
        assert!(r[1].1.contains("/no/such"), "{}", r[1].1);
    }

    #[test]
    fn malformed_request_gets_400() {
        let port = start();
        let r = exchange(port, "garbage\r\n\r\n", 1);
        assert_eq!(r[0].0, 400);
    }
}
