//! Minimal HTTP/1.1 request parsing: request line, headers, query strings, and request
//! bodies framed by `Content-Length` or chunked transfer encoding.

use std::io::{self, BufRead, Read, Write};

/// Longest request line or header line accepted.
const MAX_LINE: usize = 16 * 1024;
/// Most header lines accepted.
const MAX_HEADERS: usize = 200;

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Method, e.g. `GET`.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Raw query string (no `?`).
    pub query: String,
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    /// Headers with lower-cased names, in order; duplicates joined with `, `.
    pub headers: Vec<(String, String)>,
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

fn read_line(r: &mut impl BufRead) -> io::Result<Option<String>> {
    let mut buf = Vec::new();
    let n = r
        .by_ref()
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', &mut buf)?;
    if n == 0 {
        return Ok(None);
    }
    if buf.len() > MAX_LINE {
        return Err(bad("request line or header longer than 16 KiB"));
    }
    while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        buf.pop();
    }
    String::from_utf8(buf)
        .map(Some)
        .map_err(|_| bad("request head is not UTF-8"))
}

impl Request {
    /// Reads a request head; `None` on a clean end of stream before any byte.
    pub fn read(r: &mut impl BufRead) -> io::Result<Option<Request>> {
        let mut line = match read_line(r)? {
            Some(l) => l,
            None => return Ok(None),
        };
        // Tolerate blank lines between keep-alive requests.
        while line.is_empty() {
            line = match read_line(r)? {
                Some(l) => l,
                None => return Ok(None),
            };
        }
        let mut parts = line.split(' ');
        let (method, target, version) =
            match (parts.next(), parts.next(), parts.next(), parts.next()) {
                (Some(m), Some(t), Some(v), None)
                    if !m.is_empty() && t.starts_with('/') && v.starts_with("HTTP/1.") =>
                {
                    (m, t, v)
                }
                _ => {
                    return Err(bad(format!(
                        "malformed request line `{}`",
                        line.chars().take(80).collect::<String>()
                    )))
                }
            };
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let mut headers: Vec<(String, String)> = Vec::new();
        loop {
            let h =
                read_line(r)?.ok_or_else(|| bad("connection closed inside the request head"))?;
            if h.is_empty() {
                break;
            }
            if headers.len() >= MAX_HEADERS {
                return Err(bad("more than 200 header lines"));
            }
            let (k, v) = h.split_once(':').ok_or_else(|| {
                bad(format!(
                    "header line without `:`: `{}`",
                    h.chars().take(80).collect::<String>()
                ))
            })?;
            let k = k.trim().to_ascii_lowercase();
            let v = v.trim().to_string();
            match headers.iter_mut().find(|(n, _)| *n == k) {
                Some((_, existing)) => {
                    existing.push_str(", ");
                    existing.push_str(&v);
                }
                None => headers.push((k, v)),
            }
        }
        Ok(Some(Request {
            method: method.to_string(),
            path: path.to_string(),
            query: query.to_string(),
            version: version.to_string(),
            headers,
        }))
    }

    /// The value of header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the body is chunked.
    pub fn is_chunked(&self) -> bool {
        self.header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    }

    /// `Content-Length`, when present and valid.
    pub fn content_length(&self) -> Option<u64> {
        self.header("content-length")
            .and_then(|v| v.trim().parse().ok())
    }

    /// Whether the connection stays open after this request.
    pub fn keep_alive(&self) -> bool {
        let conn = self.header("connection").map(|v| v.to_ascii_lowercase());
        if self.version == "HTTP/1.0" {
            conn.is_some_and(|c| c.contains("keep-alive"))
        } else {
            !conn.is_some_and(|c| c.contains("close"))
        }
    }
}

/// The request body as a stream; must be consumed (or discarded) before the next request.
pub struct BodyReader<'a, R: BufRead> {
    inner: &'a mut R,
    mode: Mode,
}

enum Mode {
    Sized(u64),
    Chunked { left: u64, done: bool },
}

impl<'a, R: BufRead> BodyReader<'a, R> {
    /// A reader for `req`'s body.
    pub fn new(inner: &'a mut R, req: &Request) -> io::Result<Self> {
        let mode = if req.is_chunked() {
            Mode::Chunked {
                left: 0,
                done: false,
            }
        } else {
            match req.header("content-length") {
                Some(v) => Mode::Sized(
                    v.trim()
                        .parse()
                        .map_err(|_| bad(format!("invalid Content-Length `{v}`")))?,
                ),
                None => Mode::Sized(0),
            }
        };
        Ok(BodyReader { inner, mode })
    }

    /// Reads and drops the rest of the body; returns how many bytes it had.
    pub fn discard(&mut self) -> io::Result<u64> {
        io::copy(self, &mut io::sink())
    }

    /// Copies the rest of the body to `w`.
    pub fn copy_to(&mut self, w: &mut impl Write) -> io::Result<u64> {
        io::copy(self, w)
    }
}

impl<R: BufRead> Read for BodyReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        match &mut self.mode {
            Mode::Sized(left) => {
                if *left == 0 {
                    return Ok(0);
                }
                let want = (*left).min(buf.len() as u64) as usize;
                let n = self.inner.read(&mut buf[..want])?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "body shorter than Content-Length",
                    ));
                }
                *left -= n as u64;
                Ok(n)
            }
            Mode::Chunked { left, done } => {
                if *done {
                    return Ok(0);
                }
                if *left == 0 {
                    let line = read_line(self.inner)?
                        .ok_or_else(|| bad("connection closed inside a chunked body"))?;
                    let size = line.split(';').next().unwrap_or("").trim();
                    let n = u64::from_str_radix(size, 16)
                        .map_err(|_| bad(format!("invalid chunk size `{size}`")))?;
                    if n == 0 {
                        // Trailers, then the blank line.
                        loop {
                            let t = read_line(self.inner)?.unwrap_or_default();
                            if t.is_empty() {
                                break;
                            }
                        }
                        *done = true;
                        return Ok(0);
                    }
                    *left = n;
                }
                let want = (*left).min(buf.len() as u64) as usize;
                let n = self.inner.read(&mut buf[..want])?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "connection closed inside a chunk",
                    ));
                }
                *left -= n as u64;
                if *left == 0 {
                    let mut crlf = String::new();
                    let _ = read_line(self.inner)?.map(|l| crlf = l);
                    if !crlf.is_empty() {
                        return Err(bad("chunk not followed by CRLF"));
                    }
                }
                Ok(n)
            }
        }
    }
}

/// Decodes `%XX` escapes and `+` (as space); invalid escapes are kept as written.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The percent-decoded value of query parameter `name`.
pub fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|p| {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        (percent_decode(k) == name).then(|| percent_decode(v))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_head_and_joins_duplicate_headers() {
        let mut r =
            io::Cursor::new(b"GET /a?b=1 HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nx-a: 2\r\n\r\n".to_vec());
        let req = Request::read(&mut r).unwrap().unwrap();
        assert_eq!(
            (req.method.as_str(), req.path.as_str(), req.query.as_str()),
            ("GET", "/a", "b=1")
        );
        assert_eq!(req.header("x-a"), Some("1, 2"));
        assert!(req.keep_alive());
    }

    #[test]
    fn http10_closes_by_default() {
        let mut r = io::Cursor::new(b"GET / HTTP/1.0\r\n\r\n".to_vec());
        assert!(!Request::read(&mut r).unwrap().unwrap().keep_alive());
    }

    #[test]
    fn rejects_malformed_lines() {
        let mut r = io::Cursor::new(b"GET\r\n\r\n".to_vec());
        assert!(Request::read(&mut r).is_err());
        let mut r = io::Cursor::new(b"GET / HTTP/1.1\r\nnocolon\r\n\r\n".to_vec());
        assert!(Request::read(&mut r).is_err());
    }

    #[test]
    fn decodes_chunked_bodies() {
        let head = Request::read(&mut io::Cursor::new(
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec(),
        ))
        .unwrap()
        .unwrap();
        let mut body = io::Cursor::new(b"5\r\nhello\r\n1\r\n!\r\n0\r\nX-T: 1\r\n\r\nNEXT".to_vec());
        let mut out = Vec::new();
        BodyReader::new(&mut body, &head)
            .unwrap()
            .copy_to(&mut out)
            .unwrap();
        assert_eq!(out, b"hello!");
        let mut rest = String::new();
        body.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "NEXT");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b+c%2"), "a b c%2");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(
            query_param("stream=stderr&line=hi%21", "line").as_deref(),
            Some("hi!")
        );
        assert_eq!(query_param("a=1", "b"), None);
    }
}
