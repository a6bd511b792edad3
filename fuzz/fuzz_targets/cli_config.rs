//! The aliyun CLI's config.json: `credentials::cli_profile::parse`.
#![no_main]

mod common;

use std::path::Path;

use ack_credential_plugin::credentials::cli_profile;
use common::assert_clean;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = cli_profile::parse(data, Path::new("config.json")) {
        assert_clean(&e.to_string());
    }
});
