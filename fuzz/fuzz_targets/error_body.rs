//! API error bodies: `aliyun::error::ErrorBody::parse`.
//!
//! Each input is read twice: as the body itself, and as the text of a `SignatureDoesNotMatch`
//! message that the target builds, with the server's string to sign after it holding the
//! planted secret (as the security token): the message kept for display must never hold it.
#![no_main]

mod common;

use ack_credential_plugin::fuzzing;
use common::SECRET;
use libfuzzer_sys::fuzz_target;

const MARKER: &str = "server string to sign is:";

fuzz_target!(|data: &[u8]| {
    let body = fuzzing::error_body(data);
    if let Some(message) = &body.message {
        assert!(
            !message.contains(MARKER),
            "the string to sign was not cut off"
        );
    }
    if body.server_string_to_sign.is_some() {
        assert!(body.message.is_some());
    }

    let text = String::from_utf8_lossy(data);
    let built = serde_json::json!({
        "RequestId": "R",
        "Code": "SignatureDoesNotMatch",
        "Message": format!("{text} {MARKER}GET\n\nx-acs-security-token:{SECRET}\n{text}"),
    })
    .to_string();
    let body = fuzzing::error_body(built.as_bytes());
    assert_eq!(body.code.as_deref(), Some("SignatureDoesNotMatch"));
    assert_eq!(body.request_id.as_deref(), Some("R"));
    let message = body.message.expect("the message");
    let signed = body.server_string_to_sign.expect("the string to sign");
    assert!(signed.contains(SECRET));
    if !text.contains(SECRET) {
        assert!(
            !message.contains(SECRET),
            "the message shown holds the token"
        );
    }
});
