//! The HTTP side of an API call: one blocking client with the plugin's timeouts, each attempt
//! signed afresh ([`super::request`]), retried by [`super::retry`], and its answer turned into
//! a body or an `ApiError` with a hint ([`super::answer`]).
//!
//! Only a cache miss gets here. The underlying HTTP client is built on the first request of
//! each kind: a plain-http (loopback) request loads no root certificates, an https one loads
//! one set ([`super::roots`]). Proxies are chosen as Go chooses them ([`super::proxy`]).

use std::cell::OnceCell;
use std::time::{Duration, Instant, SystemTime};

use chrono::Utc;

use super::access_key::Credentials;
pub(crate) use super::answer::read_capped;
use super::answer::{Answer, Call, MAX_BODY, describe_transport_error};
use super::endpoint;
use super::proxy::Proxies;
use super::request::{RoaRequest, RpcRequest, Scheme, Signed, Stamp};
use super::retry;
use super::roots::Roots;
use crate::env::Env;
use crate::error::Error;
use crate::log::verbose;

/// How long one attempt may take to connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one attempt may take in all, when the overall budget leaves that much.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// `ack-credential-plugin/<version> (<os>; <arch>)`.
pub(crate) fn user_agent() -> String {
    format!(
        "ack-credential-plugin/{} ({}; {})",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// How requests go out, as the environment says: proxies, the roots https is verified against,
/// the signature scheme. Read once with the settings; nothing is loaded until a request needs
/// it.
#[derive(Debug, Clone, Default)]
pub(crate) struct ClientOptions {
    pub(crate) proxies: Proxies,
    pub(crate) roots: Roots,
    pub(crate) signature: Scheme,
}

impl ClientOptions {
    /// `ACK_SIGNATURE_VERSION` is `v3` (the default) or `v2`.
    pub(crate) fn from_env(env: &Env) -> Result<Self, Error> {
        let signature = match env.get("ACK_SIGNATURE_VERSION") {
            None => Scheme::default(),
            Some(v) if v.eq_ignore_ascii_case("v3") => Scheme::V3,
            Some(v) if v.eq_ignore_ascii_case("v2") => Scheme::V2,
            Some(other) => {
                return Err(Error::Usage(format!(
                    "ACK_SIGNATURE_VERSION={other:?} is not a signature version: use v3 \
                     (ACS3-HMAC-SHA256) or v2 (HMAC-SHA1)"
                )));
            }
        };
        Ok(ClientOptions {
            proxies: Proxies::from_env(env),
            roots: Roots::from_env(env),
            signature,
        })
    }
}

/// The `host[:port]` of an endpoint, as the `Host` header carries it (a default port left
/// out): V3 signs it.
fn authority(endpoint: &str) -> Result<String, Error> {
    let url = reqwest::Url::parse(endpoint)
        .map_err(|e| Error::Usage(format!("endpoint {endpoint:?} is not a URL ({e})")))?;
    endpoint::authority(&url)
        .ok_or_else(|| Error::Usage(format!("endpoint {endpoint:?} has no host")))
}

/// A blocking HTTP client with the plugin's timeouts and retry policy.
pub(crate) struct Client {
    options: ClientOptions,
    /// For `http://` URLs (loopback only): no TLS roots.
    plain: OnceCell<reqwest::blocking::Client>,
    /// For `https://` URLs.
    tls: OnceCell<reqwest::blocking::Client>,
    /// When everything fetched with this client must be done: one fetch (an STS call and the
    /// cs call, say) shares one budget, so that a process waiting on the lock knows how long
    /// the holder can take.
    deadline: Instant,
}

impl Client {
    /// A client whose calls, all attempts and waits included, end within `budget` from now.
    pub(crate) fn new(budget: Duration, options: &ClientOptions) -> Self {
        Client {
            options: options.clone(),
            plain: OnceCell::new(),
            tls: OnceCell::new(),
            deadline: Instant::now() + budget,
        }
    }

    /// The HTTP client for `url`'s scheme, built on first use.
    fn http(&self, url: &str) -> Result<&reqwest::blocking::Client, Error> {
        let https = url.starts_with("https:");
        let cell = if https { &self.tls } else { &self.plain };
        if let Some(http) = cell.get() {
            return Ok(http);
        }
        let proxies = self.options.proxies.clone();
        let mut builder = reqwest::blocking::Client::builder()
            .user_agent(user_agent())
            .connect_timeout(CONNECT_TIMEOUT)
            // Signed requests are never worth following elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .tls_built_in_root_certs(false);
        if proxies.any() {
            builder = builder.proxy(reqwest::Proxy::custom(move |url| proxies.for_url(url)));
        }
        if https {
            let roots = self.options.roots.load().map_err(Error::Setup)?;
            verbose!("loaded {} trusted root certificates", roots.len());
            for root in roots {
                builder = builder.add_root_certificate(root);
            }
        }
        let http = builder
            .build()
            .map_err(|e| Error::Setup(format!("cannot set up the HTTP client: {e}")))?;
        Ok(cell.get_or_init(|| http))
    }

    /// Call a ROA API (cs), signed with `credentials`.
    pub(crate) fn roa(
        &self,
        endpoint: &str,
        credentials: &Credentials,
        request: &RoaRequest,
    ) -> Result<Answer, Error> {
        self.call(
            request.action,
            &request.target,
            endpoint,
            Some(credentials),
            |scheme, host, stamp| request.sign(scheme, host, credentials, stamp),
        )
    }

    /// Call an RPC API (servicemesh, STS) with `POST` and every parameter in the form body;
    /// signed with `credentials`, or unsigned without (as `AssumeRoleWithOIDC` must be).
    pub(crate) fn rpc(
        &self,
        endpoint: &str,
        credentials: Option<&Credentials>,
        request: &RpcRequest,
    ) -> Result<Answer, Error> {
        self.call(
            request.action,
            &request.target,
            endpoint,
            credentials,
            |scheme, host, stamp| request.sign(scheme, host, credentials, stamp),
        )
    }

    /// Send the request `sign` makes until it is answered for good: a fresh one per attempt,
    /// signed by the configured scheme for the endpoint's authority, with the time and a nonce
    /// of that attempt.
    fn call(
        &self,
        action: &'static str,
        target: &str,
        endpoint: &str,
        credentials: Option<&Credentials>,
        sign: impl Fn(Scheme, &str, &Stamp) -> Signed,
    ) -> Result<Answer, Error> {
        let host = authority(endpoint)?;
        let scheme = self.options.signature;
        let http = self.http(endpoint)?;
        retry::with_retries(
            self.deadline,
            action,
            endpoint,
            ATTEMPT_TIMEOUT,
            |timeout| {
                let nonce = nonce();
                let stamp = Stamp {
                    now: Utc::now(),
                    nonce: &nonce,
                };
                let signed = sign(scheme, &host, &stamp);
                let url = format!("{endpoint}{}", signed.path_and_query);
                let mut builder = match signed.method {
                    "GET" => http.get(&url),
                    _ => http.post(&url),
                }
                .timeout(timeout);
                for (name, value) in &signed.headers {
                    builder = builder.header(*name, value);
                }
                if let Some(body) = signed.body {
                    builder = builder.body(body);
                }
                // The RPC body holds the signature and token, so only the action is logged.
                verbose!(
                    "{} {url}{}{}",
                    signed.method,
                    if signed.method == "POST" {
                        format!(" Action={action}")
                    } else {
                        String::new()
                    },
                    credentials.map_or(String::new(), |c| format!(
                        " (as AccessKey {})",
                        c.access_key_id
                    ))
                );
                let sent = Instant::now();
                let call = Call {
                    action,
                    target,
                    string_to_sign: &signed.string_to_sign,
                    credentials,
                };
                call.classify(builder.send(), sent)
            },
        )
    }

    /// A plain `GET` of a JSON document that is not an Alibaba Cloud API (a credentials URI),
    /// one attempt within the budget. Returns the status and body.
    pub(crate) fn get(&self, url: &str, max_body: usize) -> Result<(u16, Vec<u8>), String> {
        let mut response = self
            .http(url)
            .map_err(|e| e.to_string())?
            .get(url)
            .timeout(self.remaining().min(ATTEMPT_TIMEOUT))
            .header("Accept", "application/json")
            .send()
            .map_err(|e| describe_transport_error(&e))?;
        let body = read_capped(&mut response, max_body)?;
        Ok((response.status().as_u16(), body))
    }

    /// A plain `POST` to a service that is not an Alibaba Cloud OpenAPI (the CloudSSO portal,
    /// the OAuth site), one attempt within the budget: a token refresh must not be repeated,
    /// since the first may have rotated the token. Returns the status and body.
    pub(crate) fn post(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<(u16, Vec<u8>), String> {
        let mut request = self
            .http(url)
            .map_err(|e| e.to_string())?
            .post(url)
            .timeout(self.remaining().min(ATTEMPT_TIMEOUT))
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut response = request.send().map_err(|e| describe_transport_error(&e))?;
        let body = read_capped(&mut response, MAX_BODY)?;
        Ok((response.status().as_u16(), body))
    }

    /// The server's clock: the `Date` header of the answer to a plain, unsigned `GET` of `url`
    /// (an error answer, which is what a bare API endpoint gives, dates itself as well as any),
    /// with when the request left and the answer came. One attempt, within the budget.
    pub(crate) fn server_date(&self, url: &str) -> Result<ServerDate, String> {
        let http = self.http(url).map_err(|e| e.to_string())?;
        let sent = SystemTime::now();
        let mut response = http
            .get(url)
            .timeout(self.remaining().min(ATTEMPT_TIMEOUT))
            .send()
            .map_err(|e| describe_transport_error(&e))?;
        let received = SystemTime::now();
        let date =
            retry::header(response.headers(), "date").ok_or("the answer has no Date header")?;
        let date = crate::time::parse_http_date(&date)
            .ok_or_else(|| format!("the answer's Date header {date:?} is not an HTTP date"))?;
        // The body is not wanted; read a little of it so the connection ends cleanly.
        let _ = read_capped(&mut response, 64 << 10);
        Ok(ServerDate {
            date,
            sent,
            received,
        })
    }

    /// What is left of the budget.
    pub(crate) fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }
}

/// A server's `Date`, and when the request that got it left and its answer came.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServerDate {
    /// Unix seconds, as the server wrote it (whole seconds, rounded down).
    pub(crate) date: i64,
    pub(crate) sent: SystemTime,
    pub(crate) received: SystemTime,
}

impl ServerDate {
    /// How far the server's clock is ahead of this machine's, in whole seconds (negative: this
    /// machine is ahead). The server wrote its time somewhere between sending and receiving,
    /// rounded down to the second: it is compared with the middle of that interval, half a
    /// second on.
    pub(crate) fn skew(&self) -> i64 {
        let unix = |t: SystemTime| {
            t.duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64())
        };
        let middle = f64::midpoint(unix(self.sent), unix(self.received));
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_precision_loss,
            reason = "Unix seconds fit an f64 exactly, and a skew fits an i64"
        )]
        let skew = (self.date as f64 + 0.5 - middle).round() as i64;
        skew
    }
}

/// A fresh signature nonce: 16 random bytes in hex.
fn nonce() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    crate::digest::hex(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_is_whole_seconds_from_the_middle_of_the_exchange() {
        let at = |secs: f64| SystemTime::UNIX_EPOCH + Duration::from_secs_f64(secs);
        let dated = |date: i64, sent: f64, received: f64| ServerDate {
            date,
            sent: at(sent),
            received: at(received),
        };
        // The server, 742 s ahead, wrote 1742 (its 1742.3) while we went from 1000.1 to 1000.5.
        assert_eq!(dated(1742, 1000.1, 1000.5).skew(), 742);
        assert_eq!(dated(1000, 1000.2, 1000.4).skew(), 0);
        assert_eq!(dated(258, 1000.1, 1000.3).skew(), -742);
    }

    #[test]
    fn nonces_differ() {
        assert_ne!(nonce(), nonce());
        assert_eq!(nonce().len(), 32);
    }

    #[test]
    fn user_agent_names_version_os_and_arch() {
        let agent = user_agent();
        assert!(agent.starts_with("ack-credential-plugin/0."), "{agent}");
        assert!(agent.ends_with(&format!(
            "({}; {})",
            std::env::consts::OS,
            std::env::consts::ARCH
        )));
    }
}
