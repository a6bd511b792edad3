//! Just enough HTTP/1.1 for kubectl: reading a request head (a body is skipped) and the reason
//! phrases of the statuses the server answers.

use std::io::{BufRead, BufReader, Read};

use super::MAX_HEAD_BYTES;

pub(super) struct HttpRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    headers: Vec<(String, String)>,
}

impl HttpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one HTTP/1.1 request (head, and a `Content-Length` body which is discarded).
/// `None` at end of stream or on any error.
pub(super) fn read_request<R: Read>(reader: &mut BufReader<R>) -> Option<HttpRequest> {
    let mut total = 0usize;
    let mut read_line = |reader: &mut BufReader<R>| -> Option<String> {
        let mut line = String::new();
        let n = reader.read_line(&mut line).ok()?;
        total += n;
        if n == 0 || total > MAX_HEAD_BYTES {
            return None;
        }
        Some(line.trim_end_matches(['\r', '\n']).to_owned())
    };
    let mut request_line = read_line(reader)?;
    while request_line.is_empty() {
        request_line = read_line(reader)?;
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader)?;
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (target, None),
    };
    let req = HttpRequest {
        method,
        path,
        query,
        headers,
    };
    if let Some(len) = req.header("content-length") {
        let len: u64 = len.parse().ok()?;
        std::io::copy(&mut reader.by_ref().take(len), &mut std::io::sink()).ok()?;
    }
    if req
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        return None; // Nothing kubectl sends here; not supported.
    }
    Some(req)
}

pub(super) fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Unknown",
    }
}
