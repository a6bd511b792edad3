//! The cloud misbehaves: throttling is waited out, outages and dropped connections fail
//! clearly within the budget (or serve a still-valid cached certificate), an API that never
//! answers is bounded by the timeout, and errors a retry cannot fix are not retried.

use super::*;

const TIME_LEFT: Duration = Duration::from_millis(700);

/// One throttled answer carrying `TimeLeft: 700`: the call waits it out and succeeds.
fn assert_throttling_is_waited_out(fault: Fault) {
    let (fake, _) = cloud();
    fake.fail_next(1, fault.clone());

    let run = get_credential(&fake).run_ok();

    let log = fake.requests();
    assert_eq!(
        log.len(),
        2,
        "{fault:?}: one throttled attempt and one retry\n{run}"
    );
    assert_eq!(log[1].outcome, Outcome::Issued, "{fault:?}\n{run}");
    let gap = log[1].received - log[0].received;
    assert!(
        gap >= TIME_LEFT,
        "{fault:?}: retried after {gap:?}, before TimeLeft ({TIME_LEFT:?}) was up\n{run}"
    );
    // TimeLeft plus a backoff of at most 200 ms; the bound leaves room for a loaded machine,
    // and only a wait that misread TimeLeft (seconds for milliseconds: 700 s) reaches it.
    assert!(
        gap < TIME_LEFT + Duration::from_secs(10),
        "{fault:?}: waited {gap:?}, far beyond TimeLeft\n{run}"
    );
    assert!(run.elapsed >= TIME_LEFT, "{fault:?}\n{run}");
    assert_eq!(run.stderr, "", "a successful retry is silent\n{run}");
    println!(
        "{fault:?}: 2 requests, retry {gap:?} after the first, run took {:?}",
        run.elapsed
    );
}

#[test]
fn throttling_user_400_with_time_left_is_waited_out() {
    assert_throttling_is_waited_out(Fault::Throttling {
        time_left_ms: TIME_LEFT.as_millis() as u64,
    });
}

#[test]
fn too_many_requests_429_with_time_left_is_waited_out() {
    assert_throttling_is_waited_out(Fault::TooManyRequests {
        time_left_ms: TIME_LEFT.as_millis() as u64,
    });
}

#[test]
fn persistent_outage_serves_a_still_valid_cached_certificate_with_a_warning() {
    for fault in [Fault::ServiceUnavailable, Fault::DropConnection] {
        let (fake, _) = cloud();
        // 9 minutes: inside the 10-minute refresh window as soon as it is issued.
        fake.set_cert_lifetime(Duration::from_secs(9 * 60));
        // The refresh in the call (background refresh has tests of its own).
        let plugin = get_credential(&fake)
            .env("ACK_API_TIMEOUT", "3")
            .env("ACK_BACKGROUND_REFRESH", "0");
        let first = plugin.run_ok();
        assert_eq!(fake.count(), 1, "{first}");
        fake.fail_always(fault.clone());

        let second = plugin.run();

        assert!(
            second.status.success(),
            "{fault:?}: the cached certificate is still valid and must be served\n{second}"
        );
        let cached = first.credential();
        let served = second.credential();
        assert_eq!(
            served.client_certificate_data, cached.client_certificate_data,
            "{fault:?}\n{second}"
        );
        assert_eq!(
            served.client_key_data, cached.client_key_data,
            "{fault:?}\n{second}"
        );
        assert!(
            served.expiration() <= cached.certificate().not_after
                && served.expiration() > chrono::Utc::now(),
            "{fault:?}: expiry\n{second}"
        );
        assert!(
            fake.count() >= 2,
            "{fault:?}: the refresh must be tried\n{second}"
        );
        // The message counts every refresh attempt the fake saw.
        let attempts = fake.count() - 1;
        let why = match fault {
            Fault::ServiceUnavailable => format!(
                "DescribeClusterUserKubeconfig for cluster {CLUSTER} failed: ServiceUnavailable: \
                 The request has failed due to a temporary failure of the server. (HTTP 503, \
                 RequestId: [request-id #{attempts}]), {attempts} attempts\n\
                 hint: the service is having trouble; try again in a few minutes"
            ),
            _ => format!(
                "DescribeClusterUserKubeconfig failed: could not get an answer from http://[fake] \
                 ({attempts} attempts): the connection failed: client error (SendRequest): \
                 connection closed before message completed\n\
                 hint: check the network, the endpoint and any HTTPS_PROXY setting; run with -v \
                 to see each attempt"
            ),
        };
        assert_stderr(
            &second,
            &format!(
                "ack-credential-plugin: warning: could not refresh the certificate, serving the \
                 cached one, valid until [time]: {why}"
            ),
        );
        println!(
            "outage ({fault:?}) with a cached 9-min certificate: exit 0 after {} refresh attempts in {:?}",
            fake.count() - 1,
            second.elapsed
        );

        // The failed refresh is not tried again on every call: while its failure note stands
        // (seconds) the cached certificate is served with no request and nothing on stderr.
        let attempts = fake.count();
        let third = plugin.run_ok();
        assert_eq!(
            fake.count(),
            attempts,
            "{fault:?}: retried at once\n{third}"
        );
        assert!(third.stderr.is_empty(), "{fault:?}\n{third}");
        assert_eq!(
            third.credential().client_certificate_data,
            cached.client_certificate_data
        );
        assert!(third.credential().expiration() <= cached.certificate().not_after);
    }
}
