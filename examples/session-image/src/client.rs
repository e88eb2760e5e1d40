//! A minimal HTTP/1.1 client (std only) for the routes that call other things from inside the
//! session: another container of the same session over `localhost` (`/fetch`) and the
//! managed-identity endpoint (`/identity/token`). Plain `http://` only; `Connection: close`;
//! the answer is read to the end (or its `Content-Length`).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Longest answer body kept.
const MAX_BODY: usize = 1024 * 1024;

/// An HTTP answer: status and body text.
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Body (lossy UTF-8).
    pub body: String,
}

/// `GET url` with extra `headers`. `url` must be `http://host[:port]/path[?query]`.
pub fn get(url: &str, headers: &[(&str, &str)]) -> io::Result<Answer> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "only http:// URLs are supported",
        )
    })?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let mut stream = TcpStream::connect(&addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line)?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad status line"))?;
    let mut length: Option<usize> = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.trim().eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().ok();
            }
        }
    }
    let mut body = Vec::new();
    match length {
        Some(n) => {
            body.resize(n.min(MAX_BODY), 0);
            reader.read_exact(&mut body)?;
        }
        None => {
            reader.take(MAX_BODY as u64).read_to_end(&mut body)?;
        }
    }
    Ok(Answer {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}
