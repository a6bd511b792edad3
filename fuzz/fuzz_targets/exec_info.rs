//! `KUBERNETES_EXEC_INFO`: `exec_credential::api_version`. It holds no secret; the property is
//! no panic, and a version that is accepted is a client.authentication.k8s.io one.
#![no_main]

use ack_credential_plugin::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(version) = fuzzing::exec_info_api_version(&String::from_utf8_lossy(data)) {
        assert!(version.starts_with("client.authentication.k8s.io/"));
    }
});
