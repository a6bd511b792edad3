//! Goldens: the API cannot be reached, or keeps failing.

use super::*;
use crate::support::apiserver::ApiServer;
use crate::support::cache_files::entry_files;
use crate::support::wait::wait_until;
use std::time::Duration;

#[test]
fn unreachable_endpoint_fails_after_five_attempts() {
    let (fake, _) = cloud();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let run = get_credential(&fake)
        .env("ACK_CS_ENDPOINT", endpoint)
        .run_exit(1);
    assert_eq!(fake.count(), 0, "{run}");
    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: DescribeClusterUserKubeconfig failed: could not get an answer from http://127.0.0.1:[port] (5 attempts): could not connect: client error (Connect): tcp connect error: Connection refused (os error 111)
hint: check the network, the endpoint and any HTTPS_PROXY setting; run with -v to see each attempt",
    );
}

/// A server whose certificate no trusted CA signed: one handshake, refused, whatever variable
/// would turn verification off elsewhere.
#[test]
fn untrusted_tls_certificate_fails_at_once_and_cannot_be_allowed() {
    let (fake, _) = cloud();
    let server = ApiServer::start(&fake.client_ca_pem());
    let mut plugin = get_credential(&fake).env("ACK_CS_ENDPOINT", server.url());
    for (knob, value) in [
        ("NODE_TLS_REJECT_UNAUTHORIZED", "0"),
        ("ALIBABA_CLOUD_IGNORE_SSL", "true"),
        ("INSECURE_SKIP_TLS_VERIFY", "true"),
        ("ACK_INSECURE", "1"),
        ("KUBERNETES_INSECURE_SKIP_TLS_VERIFY", "true"),
        ("ALIBABA_CLOUD_INSECURE", "true"),
    ] {
        plugin = plugin.env(knob, value);
    }
    // SSL_CERT_FILE / SSL_CERT_DIR stay unset: the environment is cleared.

    let run = plugin.run_exit(1);

    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: DescribeClusterUserKubeconfig failed: the server's TLS certificate is not trusted: could not connect: client error (Connect): invalid peer certificate: UnknownIssuer
hint: check the endpoint; behind a TLS-inspecting proxy, add its CA to the system's trust store (or point SSL_CERT_FILE at a bundle that has it)",
    );
    assert_eq!(
        server.requests(),
        Vec::new(),
        "the self-signed server must have served no HTTP request\n{run}"
    );
    // The server records a failed handshake in the connection's thread, which may finish
    // after the plugin exits: wait until every connection it accepted is accounted for.
    wait_until(
        "the server recorded every failed handshake",
        Duration::from_secs(20),
        || {
            let accepted = server.connections_accepted();
            accepted >= 1 && server.handshake_failures().len() == accepted
        },
    );
    assert_eq!(
        server.handshake_failures().len(),
        1,
        "an untrusted certificate is not retried\n{run}"
    );
    assert_eq!(fake.count(), 0, "{run}");
}

#[test]
fn throttling_longer_than_the_budget_gives_up_at_once() {
    let (fake, _) = cloud();
    fake.fail_always(Fault::Throttling {
        time_left_ms: 10_000,
    });
    let run = get_credential(&fake)
        .env("ACK_API_TIMEOUT", "5")
        .run_exit(1);
    // TimeLeft (10 s) is past the budget (5 s): no point waiting, no second attempt.
    let record = only_request(&fake, &run);
    assert_eq!(
        record.outcome,
        Outcome::Fault("Throttling(10000ms)".into()),
        "{run}"
    );
    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: DescribeClusterUserKubeconfig for cluster c7d5e3f1a9b8c6d4e2f0a1b3c5d7e9f1a failed: Throttling.User: Request was denied due to user flow control. (HTTP 400, RequestId: [request-id #0])
hint: the API is throttling requests from this account; wait a little and try again",
    );
}

/// A persistent 503 is retried: five attempts, each signed afresh, well within a 6-s budget
/// (the backoff adds up to 3 s at most), then the last RequestId; nothing is cached.
#[test]
fn persistent_5xx_gives_up_after_five_attempts() {
    let (fake, _) = cloud();
    fake.fail_always(Fault::ServiceUnavailable);
    let plugin = get_credential(&fake).env("ACK_API_TIMEOUT", "6");

    let run = plugin.run_exit(1);

    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: DescribeClusterUserKubeconfig for cluster c7d5e3f1a9b8c6d4e2f0a1b3c5d7e9f1a failed: ServiceUnavailable: The request has failed due to a temporary failure of the server. (HTTP 503, RequestId: [request-id #4]), 5 attempts
hint: the service is having trouble; try again in a few minutes",
    );
    let log = fake.requests();
    assert_eq!(log.len(), 5, "{run}");
    assert!(
        log.iter()
            .all(|r| r.outcome == Outcome::Fault("ServiceUnavailable".into())),
        "{run}"
    );
    let mut nonces: Vec<_> = log.iter().filter_map(|r| r.nonce()).collect();
    nonces.dedup();
    assert_eq!(nonces.len(), 5, "every attempt is signed afresh\n{run}");
    // Bounded by the budget; the margin above it is for a loaded machine, and only a call
    // that ignored the budget (or hung) could exceed it.
    assert!(
        run.elapsed < Duration::from_secs(6 + 10),
        "took {:?} with ACK_API_TIMEOUT=6\n{run}",
        run.elapsed
    );
    assert!(entry_files(plugin.cache_path()).is_empty(), "{run}");
}

/// A server that accepts the connection and closes it unanswered: the same five attempts, then
/// what was tried and where.
#[test]
fn dropped_connections_give_up_after_five_attempts() {
    let (fake, _) = cloud();
    fake.fail_always(Fault::DropConnection);

    let run = get_credential(&fake)
        .env("ACK_API_TIMEOUT", "6")
        .run_exit(1);

    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: DescribeClusterUserKubeconfig failed: could not get an answer from http://[fake] (5 attempts): the connection failed: client error (SendRequest): connection closed before message completed
hint: check the network, the endpoint and any HTTPS_PROXY setting; run with -v to see each attempt",
    );
    assert_eq!(fake.count(), 5, "{run}");
    assert!(run.elapsed < Duration::from_secs(6 + 10), "{run}");
}
