//! The cs, servicemesh and adcp answers that carry the user kubeconfig, each followed through
//! `Kubeconfig::parse`, `.credential()` and `cert::validity` as the plugin does.
#![no_main]

mod common;

use ack_credential_plugin::fuzzing;
use common::{assert_clean, through_kubeconfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for answer in [
        fuzzing::cs_answer(data),
        fuzzing::servicemesh_answer(data),
        fuzzing::adcp_answer(data),
    ] {
        match answer {
            Ok(config) => {
                assert!(!config.trim().is_empty());
                through_kubeconfig(&config);
            }
            Err(e) => assert_clean(&e),
        }
    }
});
