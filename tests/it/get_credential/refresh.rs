//! Expiry and refresh: a certificate inside its refresh window is fetched again, a failed
//! refresh serves the still-valid one, `--force-refresh` always fetches.

use super::*;

#[test]
fn nearly_expired_certificate_is_fetched_again() {
    let (fake, _) = cloud();
    // An 8-minute certificate is inside the 10-minute refresh window as soon as it is issued.
    fake.set_cert_lifetime(Duration::from_secs(8 * 60));
    // The refresh in the call (background refresh has tests of its own).
    let plugin = get_credential(&fake).env("ACK_BACKGROUND_REFRESH", "0");

    let first = plugin.run_ok();
    let cert = first.credential().certificate();
    let expiration = first.credential().expiration();
    assert!(
        expiration > Utc::now(),
        "expiry must still be in the future\n{first}"
    );
    assert!(expiration <= cert.not_after, "{first}");

    let second = plugin.run_ok();
    assert_eq!(
        fake.count(),
        2,
        "a certificate inside the refresh window is fetched again\n{second}"
    );
    assert_ne!(
        second.credential().certificate().serial,
        cert.serial,
        "{second}"
    );
}

#[test]
fn failed_refresh_serves_the_cached_certificate_with_a_warning() {
    let (fake, _) = cloud();
    // A 9-minute certificate is due for refresh at once, but valid for 9 more minutes.
    fake.set_cert_lifetime(Duration::from_secs(9 * 60));
    let plugin = get_credential(&fake)
        .env("ACK_API_TIMEOUT", "2")
        .env("ACK_BACKGROUND_REFRESH", "0");
    let first = plugin.run_ok();
    fake.fail_always(Fault::ServiceUnavailable);

    let second = plugin.run();

    assert!(
        second.status.success(),
        "a still-valid cached certificate must be served\n{second}"
    );
    let cached = first.credential();
    let served = second.credential();
    assert_eq!(
        served.client_certificate_data, cached.client_certificate_data,
        "{second}"
    );
    assert_eq!(served.client_key_data, cached.client_key_data, "{second}");
    assert!(
        served.expiration() <= cached.certificate().not_after,
        "{second}"
    );
    assert!(
        served.expiration() > Utc::now(),
        "the expiry must be in the future\n{second}"
    );
    // Every refresh attempt the fake saw is counted in the message; the last one's RequestId.
    let attempts = fake.count() - 1;
    let counted = if attempts > 1 {
        format!(", {attempts} attempts")
    } else {
        String::new()
    };
    assert_stderr(
        &second,
        &format!(
            "ack-credential-plugin: warning: could not refresh the certificate, serving the \
             cached one, valid until [time]: DescribeClusterUserKubeconfig for cluster {CLUSTER} \
             failed: ServiceUnavailable: The request has failed due to a temporary failure of the \
             server. (HTTP 503, RequestId: [request-id #{attempts}]){counted}\n\
             hint: the service is having trouble; try again in a few minutes"
        ),
    );
    assert!(
        fake.count() >= 2,
        "the refresh must have been tried\n{second}"
    );
}

#[test]
fn force_refresh_fetches_even_when_cached() {
    let (fake, _) = cloud();
    let plugin = get_credential(&fake);
    let first = plugin.run_ok();

    let forced = plugin.clone().arg("--force-refresh").run_ok();

    assert_eq!(fake.count(), 2, "{forced}");
    assert_ne!(
        forced.credential().certificate().serial,
        first.credential().certificate().serial,
        "{forced}"
    );
    let after = plugin.run_ok();
    assert_eq!(
        fake.count(),
        2,
        "the refreshed credential is cached\n{after}"
    );
    assert_eq!(after.stdout, forced.stdout, "{after}");
}
