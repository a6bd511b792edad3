//! Time budgets: an API that accepts the connection and never answers is given up on when the
//! budget runs out: the default 30 s, `ACK_API_TIMEOUT`, or the 8-s budget of a refresh that has a
//! still-valid certificate to fall back on.
//!
//! These tests wait by design (the first for 30 s). libtest starts tests in name order, and this
//! module's name sorts first, so the waits overlap the rest of the suite instead of ending it.

use std::time::Duration;

use crate::support::fake_cloud::Fault;
use crate::support::golden::assert_stderr;
use crate::support::{cloud, get_credential};

/// No `ACK_API_TIMEOUT`: the default budget (30 s) must bound a call to an API that accepts the
/// connection and never answers. Slow by design (see the module docs).
#[test]
fn api_that_never_answers_fails_within_the_default_timeout() {
    let (fake, _) = cloud();
    fake.fail_always(Fault::Hang);

    let run = get_credential(&fake)
        .kill_after(Duration::from_secs(90))
        .run();

    assert!(!run.killed, "still running after 90 s\n{run}");
    assert_eq!(run.code(), Some(1), "{run}");
    // The budget is 30 s; 45 s leaves room for a loaded machine, and a call that ignored the
    // budget would run until killed at 90 s.
    assert!(
        run.elapsed >= Duration::from_secs(29) && run.elapsed < Duration::from_secs(45),
        "took {:?}; the default budget is 30 s\n{run}",
        run.elapsed
    );
    assert_eq!(fake.count(), 3, "{run}");
    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: DescribeClusterUserKubeconfig failed: could not get an answer from http://[fake] (3 attempts): timed out: operation timed out
hint: check the network, the endpoint and any HTTPS_PROXY setting; run with -v to see each attempt",
    );
    println!(
        "hung API, default timeouts: exit 1 after {:?}, {} attempts",
        run.elapsed,
        fake.count()
    );
}

/// With the default timeouts, an API that never answers delays a call that has a still-valid
/// certificate to fall back on by the short refresh budget only, not the full 30 s.
#[test]
fn hung_api_during_a_refresh_serves_the_cached_certificate_quickly() {
    let (fake, _) = cloud();
    fake.set_cert_lifetime(Duration::from_secs(9 * 60));
    // The refresh in the call (background refresh has tests of its own).
    let plugin = get_credential(&fake).env("ACK_BACKGROUND_REFRESH", "0");
    let first = plugin.run_ok();
    fake.fail_always(Fault::Hang);

    let second = plugin.run();

    assert!(second.status.success(), "{second}");
    assert_eq!(
        second.credential().client_certificate_data,
        first.credential().client_certificate_data
    );
    // The refresh budget is 8 s; without it the call would wait the full 30 s. The bound is
    // between the two, far from both.
    assert!(
        second.elapsed >= Duration::from_secs(7) && second.elapsed < Duration::from_secs(20),
        "served after {:?}\n{second}",
        second.elapsed
    );
    assert_stderr(
        &second,
        r"
ack-credential-plugin: warning: could not refresh the certificate, serving the cached one, valid until [time]: DescribeClusterUserKubeconfig failed: could not get an answer from http://[fake] (1 attempt): timed out: operation timed out
hint: check the network, the endpoint and any HTTPS_PROXY setting; run with -v to see each attempt",
    );
    println!(
        "hung API during a refresh: cached certificate served after {:?}",
        second.elapsed
    );
}

#[test]
fn hung_api_times_out_with_a_clear_message() {
    let (fake, _) = cloud();
    fake.fail_always(Fault::Hang);

    let run = get_credential(&fake)
        .env("ACK_API_TIMEOUT", "3")
        .run_exit(1);

    // The budget is 3 s; only a call that ignored it (or hung) gets near the bound, however
    // loaded the machine.
    assert!(
        run.elapsed >= Duration::from_secs(3) && run.elapsed < Duration::from_secs(20),
        "took {:?}\n{run}",
        run.elapsed
    );
    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: DescribeClusterUserKubeconfig failed: could not get an answer from http://[fake] (1 attempt): timed out: operation timed out
hint: check the network, the endpoint and any HTTPS_PROXY setting; run with -v to see each attempt",
    );
    assert_eq!(fake.count(), 1, "{run}");
}
