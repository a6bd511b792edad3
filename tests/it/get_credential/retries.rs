//! Retries: what is retried (with a fresh nonce and signature), what is waited out, and
//! what fails cleanly: a hung API, answers that cannot be used.

use super::*;

#[test]
fn one_service_unavailable_is_retried() {
    let (fake, _) = cloud();
    fake.fail_next(1, Fault::ServiceUnavailable);

    let run = get_credential(&fake).run_ok();

    assert_fresh_attempts(&fake, &run);
    assert_eq!(fake.successes(), 1, "{run}");
    assert_eq!(
        run.stderr, "",
        "a successful retry is silent without -v\n{run}"
    );
}

/// One answer with `fault` (a throttling whose `TimeLeft` is 300 ms) is waited out: the retry,
/// fresh, comes at least 250 ms after it, and succeeds.
#[track_caller]
fn assert_waited_out(fault: Fault) {
    let (fake, _) = cloud();
    fake.fail_next(1, fault);

    let run = get_credential(&fake).run_ok();

    assert_fresh_attempts(&fake, &run);
    let log = fake.requests();
    let waited = log[1].received - log[0].received;
    assert!(
        waited >= Duration::from_millis(250),
        "retried after {waited:?}, TimeLeft was 300ms\n{run}"
    );
}

#[test]
fn user_throttling_is_waited_out() {
    assert_waited_out(Fault::Throttling { time_left_ms: 300 });
}

#[test]
fn too_many_requests_is_waited_out() {
    assert_waited_out(Fault::TooManyRequests { time_left_ms: 300 });
}

#[test]
fn dropped_connection_is_retried() {
    let (fake, _) = cloud();
    fake.fail_next(1, Fault::DropConnection);

    let run = get_credential(&fake).run_ok();

    assert_fresh_attempts(&fake, &run);
}

/// An answer that says yes but cannot be used: exit 1 with the RequestId (the whole messages of
/// the first two are goldens), nothing cached, and the next good answer is fetched.
#[test]
fn malformed_success_bodies_fail_cleanly_and_cache_nothing() {
    let unusable = |detail: &str| {
        format!(
            "ack-credential-plugin: error: DescribeClusterUserKubeconfig returned an answer that \
             cannot be used: {detail} (RequestId: [request-id #0])\n\
             hint: try again; if it persists, report it with the RequestId"
        )
    };
    for (fault, detail) in [
        (Fault::BodyNotJson, "the body is not JSON"),
        (
            Fault::BodyWithoutConfig,
            "the body has no `config` (the kubeconfig)",
        ),
        (
            Fault::ConfigNotYaml,
            "the kubeconfig is not valid YAML (line 5, column 1)",
        ),
        (
            Fault::CertificateNotACertificate,
            "the client certificate cannot be parsed (unexpected ASN.1 DER tag: expected \
             SEQUENCE, got APPLICATION [14] (constructed))",
        ),
    ] {
        let (fake, _) = cloud();
        let plugin = get_credential(&fake);
        fake.fail_always(fault.clone());

        let run = plugin.run_exit(1);

        assert_stderr(&run, &unusable(detail));
        assert_eq!(
            json_files_under(plugin.cache_path()),
            Vec::<PathBuf>::new(),
            "{fault:?}: cached\n{run}"
        );

        fake.clear_faults();
        let before = fake.count();
        let good = plugin.run_ok();
        assert_eq!(
            fake.count(),
            before + 1,
            "{fault:?}: nothing may have been cached\n{good}"
        );
    }
}
