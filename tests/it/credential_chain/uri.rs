//! Step 6 of the chain: `ALIBABA_CLOUD_CREDENTIALS_URI`.

use super::*;

#[test]
fn credentials_uri_from_the_environment() {
    let (fake, _) = cloud();
    let (uri, principal) = fake.add_credentials_uri("env");
    let plugin = plugin(&fake).env("ALIBABA_CLOUD_CREDENTIALS_URI", &uri);

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &principal, "the credentials URI's principal");
    let cs = only(&fake, ACTION_USER_CONFIG, &run);
    assert_eq!(
        cs.access_key_id.as_deref(),
        Some(fake.grants()[0].key.id.as_str())
    );
    assert_source(
        &run,
        "the credentials URI of credentials-uri:http://[fake]/credentials-uri/env #[hash] (the environment (ALIBABA_CLOUD_CREDENTIALS_URI))",
    );
    assert_cache_hit(&plugin, &fake, &run);
}

#[test]
fn credentials_uri_answering_without_success_is_a_clear_error() {
    let (fake, _) = cloud();
    let uri = fake.add_failing_credentials_uri("broken", "CredentialsServerUnavailable");
    let plugin = plugin(&fake).env("ALIBABA_CLOUD_CREDENTIALS_URI", &uri);

    let run = plugin.run_err();

    assert_eq!(run.code(), Some(1), "{run}");
    assert_stderr(
        &run,
        r#"
ack-credential-plugin: error: cannot get credentials from the credentials URI of credentials-uri:http://[fake]/credentials-uri/broken #[hash] (the environment (ALIBABA_CLOUD_CREDENTIALS_URI)): the answer's Code is "CredentialsServerUnavailable", not "Success""#,
    );
    assert_action_count(&fake, ACTION_USER_CONFIG, 0, &run);
}
