//! The aliyun CLI's config.json: `credentials::cli_profile::parse`.
#![no_main]

mod common;

use ack_credential_plugin::fuzzing;
use common::assert_clean;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = fuzzing::cli_config(data) {
        assert_clean(&e);
    }
});
