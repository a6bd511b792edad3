//! Small servers of the tests' own on 127.0.0.1, for what goes through a proxy: [`serve`] runs
//! one, a [`recording_proxy`] refuses everything and remembers what reached it, and a
//! [`tunnelling_proxy`] answers `CONNECT` as a real proxy does and passes the bytes on.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

/// What reached a server, one request head per connection.
#[derive(Clone, Default)]
pub struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    pub fn connections(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    fn record(&self, head: String) {
        self.0.lock().unwrap().push(head);
    }
}

/// Starts a server on 127.0.0.1 that hands each connection to `serve` on a thread of its own;
/// returns `127.0.0.1:PORT`.
pub fn serve(serve: impl Fn(TcpStream) + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let serve = Arc::new(serve);
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let serve = Arc::clone(&serve);
            thread::spawn(move || serve(stream));
        }
    });
    format!("127.0.0.1:{}", addr.port())
}

/// The request head (up to the blank line), as text.
pub fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// A proxy that records each connection's request head and answers 502 to all of them; returns
/// its `http://` URL.
pub fn recording_proxy() -> (String, Seen) {
    let seen = Seen::default();
    let record = seen.clone();
    let addr = serve(move |mut stream| {
        record.record(read_head(&mut stream));
        let _ = stream.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
    });
    (format!("http://{addr}"), seen)
}

/// A proxy that records each request head and opens the tunnel a `CONNECT host:port` asks for
/// (anything else gets 405); returns its `http://` URL.
pub fn tunnelling_proxy() -> (String, Seen) {
    let seen = Seen::default();
    let record = seen.clone();
    let addr = serve(move |mut client| {
        let head = read_head(&mut client);
        record.record(head.clone());
        let target = head
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("CONNECT "))
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_string);
        let Some(upstream) = target.and_then(|t| TcpStream::connect(t).ok()) else {
            let _ =
                client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
            return;
        };
        if client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .is_err()
        {
            return;
        }
        let (mut client_in, mut upstream_out) =
            (client.try_clone().unwrap(), upstream.try_clone().unwrap());
        let (mut upstream_in, mut client_out) = (upstream, client);
        let forth = thread::spawn(move || {
            let _ = std::io::copy(&mut client_in, &mut upstream_out);
            let _ = upstream_out.shutdown(Shutdown::Write);
        });
        let _ = std::io::copy(&mut upstream_in, &mut client_out);
        let _ = client_out.shutdown(Shutdown::Write);
        let _ = forth.join();
    });
    (format!("http://{addr}"), seen)
}
