//! The fake's HTTP server, deliberately minimal: one thread per connection, one request per
//! connection, every answer `Connection: close`. Requests are parsed just enough for the
//! services (path, query, headers, a form body) and routed through [`super::ROUTES`].
//!
//! (Over 400 lines: the server loop, the faults it injects on the connection and the request
//! parser are the fake's one transport.)

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::fault::{Fault, gateway_fault};
use super::log::{Issued, Outcome, RequestRecord};
use super::state::Shared;
use super::{Exchange, route};

pub(super) struct HttpRequest {
    pub method: String,
    pub target: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    /// The raw query string (without `?`).
    pub raw_query: String,
    pub body: String,
    /// Form-body parameters, when the body is `application/x-www-form-urlencoded`.
    pub form: Vec<(String, String)>,
    /// The query (form-decoded) and the form body merged: what an RPC service reads.
    pub params: Vec<(String, String)>,
}

impl HttpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    pub fn query_param(&self, name: &str) -> Option<&str> {
        find_pair(&self.query, name)
    }

    /// An RPC parameter. A V3 request carries the action and version as `x-acs-action` and
    /// `x-acs-version` headers and the key id in `Authorization`: asked for `Action`,
    /// `Version` or `AccessKeyId`, those answer when the parameter is absent.
    pub fn param(&self, name: &str) -> Option<&str> {
        find_pair(&self.params, name).or_else(|| match name {
            "Action" => self.header("x-acs-action"),
            "Version" => self.header("x-acs-version"),
            "AccessKeyId" => self.access_key_id(),
            _ => None,
        })
    }

    /// The key id of an `Authorization` header, V2 (`acs ID:signature`) or V3
    /// (`ACS3-HMAC-SHA256 Credential=ID,...`).
    pub fn access_key_id(&self) -> Option<&str> {
        let authorization = self.header("authorization")?;
        if let Some(v2) = authorization.strip_prefix("acs ") {
            return v2.split_once(':').map(|(id, _)| id);
        }
        let credential = authorization.split("Credential=").nth(1)?;
        Some(credential.split(',').next().unwrap_or(credential))
    }

    pub fn is_form(&self) -> bool {
        self.header("content-type").is_some_and(|ct| {
            ct.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
    }
}

/// An answer, with what the log should record of it.
pub(super) struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub outcome: Outcome,
    pub issued: Option<Box<Issued>>,
    pub content_type: &'static str,
}

pub(super) const CONTENT_TYPE_JSON: &str = "application/json;charset=utf-8";
pub(super) const CONTENT_TYPE_TEXT: &str = "text/plain;charset=utf-8";

impl Reply {
    pub fn json(status: u16, body: Value, outcome: Outcome) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: body.to_string(),
            outcome,
            issued: None,
            content_type: CONTENT_TYPE_JSON,
        }
    }

    pub fn text(status: u16, body: &str, outcome: Outcome) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: body.to_string(),
            outcome,
            issued: None,
            content_type: CONTENT_TYPE_TEXT,
        }
    }
}

/// The value of the first pair named exactly `name` (a query or form parameter).
pub(super) fn find_pair<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

pub(super) fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

pub(super) fn accept_loop(shared: &Arc<Shared>, listener: TcpListener) {
    for stream in listener.incoming() {
        if shared.stopping() {
            break;
        }
        let Ok(stream) = stream else { continue };
        let number = shared.accepts.fetch_add(1, Ordering::SeqCst);
        if let Ok(peer) = stream.peer_addr() {
            let mut state = shared.lock();
            state.reading.insert(number, peer);
            state.accepted_from.insert(peer, number);
        }
        let shared = Arc::clone(shared);
        let _ = thread::Builder::new()
            .name("fake-cloud-conn".to_string())
            .spawn(move || {
                serve_connection(&shared, stream, number);
                // Read (and logged) or given up on: no longer one `settle` waits for.
                if shared.lock().reading.remove(&number).is_some() {
                    shared.wake.notify_all();
                }
            });
    }
}

fn serve_connection(shared: &Shared, mut stream: TcpStream, number: u64) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
    let Ok(Some(request)) = read_request(&mut stream) else {
        return;
    };

    if shared.stopping() {
        return;
    }
    let request_id = new_request_id(shared);
    let route = route(&request);
    let service = route.service;
    let (seq, fault) = {
        let mut state = shared.lock();
        let position = state
            .queued
            .iter()
            .position(|(only, _)| only.is_none_or(|s| s == service));
        let fault = position
            .and_then(|i| state.queued.remove(i))
            .map(|(_, fault)| fault)
            .or_else(|| state.persistent.clone());
        let seq = state.log.len();
        let (action, access_key_id) = (route.identify)(&request);
        state.log.push(RequestRecord {
            seq,
            received_at: Utc::now(),
            received: Instant::now(),
            method: request.method.clone(),
            target: request.target.clone(),
            path: request.path.clone(),
            query: request.query.clone(),
            service,
            form: request.form.clone(),
            params: request.params.clone(),
            headers: request.headers.clone(),
            action,
            access_key_id,
            outcome: Outcome::Pending,
            answered: None,
            status: None,
            request_id: request_id.clone(),
            issued: None,
        });
        // Logged: `settle` need not wait for this connection any more (a held one never ends).
        state.reading.remove(&number);
        shared.wake.notify_all();
        (seq, fault)
    };

    let exchange = Exchange {
        seq,
        request: &request,
        request_id: &request_id,
    };
    let reply = match fault {
        Some(Fault::DropConnection) => {
            shared.update(seq, |r| r.outcome = Outcome::Fault("DropConnection".into()));
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
        Some(Fault::Hang) => {
            shared.update(seq, |r| r.outcome = Outcome::Fault("Hang".into()));
            shared.pause(None);
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
        Some(Fault::Delay(delay)) => {
            if !shared.pause(Some(delay)) {
                return;
            }
            (route.answer)(shared, &exchange, None)
        }
        Some(fault) if fault.replaces_success() => (route.answer)(shared, &exchange, Some(&fault)),
        Some(fault) => gateway_fault(shared, &fault, &request_id),
        None => (route.answer)(shared, &exchange, None),
    };

    if reply.outcome == Outcome::Issued {
        let latency = shared.lock().latency;
        if !latency.is_zero() && !shared.pause(Some(latency)) {
            return;
        }
    }

    let now = shared.now();
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nDate: {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\nx-acs-request-id: {}\r\n",
        reply.status,
        reason(reply.status),
        http_date(now),
        reply.content_type,
        reply.body.len(),
        request_id,
    );
    for (name, value) in &reply.headers {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    head.push_str("\r\n");
    // Log before answering, so the log is complete once the client has its answer.
    shared.update(seq, |r| {
        r.answered = Some(Instant::now());
        r.status = Some(reply.status);
        r.outcome = reply.outcome.clone();
        r.issued = reply.issued.as_deref().cloned();
    });
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(reply.body.as_bytes());
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Write);
}

fn new_request_id(shared: &Shared) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let elapsed = shared.started.elapsed().as_micros() as u64;
    format!(
        "{:08X}-{:04X}-{:04X}-{:04X}-{:012X}",
        (nanos >> 16) as u32,
        (nanos & 0xffff) as u16,
        (elapsed & 0xffff) as u16,
        std::process::id() as u16,
        n & 0xffff_ffff_ffff,
    )
}

/// RFC 1123 date, as in HTTP `Date` headers.
pub fn http_date(at: DateTime<Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn read_request(stream: &mut TcpStream) -> io::Result<Option<HttpRequest>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > 256 * 1024 {
            return Ok(None);
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    // Read a body if one was announced (the cs calls are GETs without one; STS posts a form).
    let content_length: usize = find_header(&headers, "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < content_length && body.len() <= 1024 * 1024 {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(content_length);
    let body = String::from_utf8_lossy(&body).to_string();

    let (raw_path, raw_query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target.as_str(), None),
    };
    let query = raw_query
        .map(|q| {
            q.split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| match pair.split_once('=') {
                    Some((k, v)) => (percent_decode(k), percent_decode(v)),
                    None => (percent_decode(pair), String::new()),
                })
                .collect()
        })
        .unwrap_or_default();
    let is_form = find_header(&headers, "content-type").is_some_and(|ct| {
        ct.to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    });
    let form = if is_form {
        parse_form(&body)
    } else {
        Vec::new()
    };
    let mut params = parse_form(raw_query.unwrap_or(""));
    params.extend(form.iter().cloned());
    Ok(Some(HttpRequest {
        method,
        path: percent_decode(raw_path),
        target: target.clone(),
        query,
        headers,
        raw_query: raw_query.unwrap_or("").to_string(),
        body,
        form,
        params,
    }))
}

/// Decodes `application/x-www-form-urlencoded` pairs (`+` is a space, then `%XY` escapes).
fn parse_form(raw: &str) -> Vec<(String, String)> {
    let decode = |s: &str| percent_decode(&s.replace('+', " "));
    raw.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(pair), String::new()),
        })
        .collect()
}

/// Decodes `%XY` escapes (a `+` stays a `+`: Alibaba encodes spaces as `%20`).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(v) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).to_string()
}
