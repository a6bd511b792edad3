//! Small servers of the tests' own on 127.0.0.1, for what goes through a proxy: [`serve`] runs
//! one, a [`recording_proxy`] refuses everything and remembers what reached it, and a
//! [`tunnelling_proxy`] answers `CONNECT` as a real proxy does and passes the bytes on, and a
//! [`tls_server`] completes TLS handshakes for names of the test's choosing.

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
    tunnelling_proxy_to(None)
}

/// As [`tunnelling_proxy`], but with `upstream` (`127.0.0.1:PORT`) every tunnel leads there,
/// whatever host it asks for: a remote endpoint's name, with nothing leaving loopback.
pub fn tunnelling_proxy_to(upstream: Option<String>) -> (String, Seen) {
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
            .map(|asked| upstream.clone().unwrap_or_else(|| asked.to_string()));
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

/// A TLS server configuration with a certificate for `names` (host names or addresses) from a
/// CA of its own, asking no client certificate; and the CA's PEM.
pub fn server_tls(names: &[&str]) -> (Arc<rustls::ServerConfig>, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    use rustls::pki_types::PrivateKeyDer;

    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "test-server-ca");
    let ca = ca.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let leaf = CertificateParams::new(names)
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    (Arc::new(config), ca.pem())
}

/// A server that completes a TLS handshake with a certificate for `names` ([`server_tls`]),
/// then closes; returns `127.0.0.1:PORT` and the CA's PEM.
pub fn tls_server(names: &[&str]) -> (String, String) {
    let (config, ca_pem) = server_tls(names);
    let addr = serve(move |mut stream| {
        let Ok(mut connection) = rustls::ServerConnection::new(Arc::clone(&config)) else {
            return;
        };
        while connection.is_handshaking() {
            if connection.complete_io(&mut stream).is_err() {
                return;
            }
        }
        connection.send_close_notify();
        let _ = connection.complete_io(&mut stream);
    });
    (addr, ca_pem)
}
