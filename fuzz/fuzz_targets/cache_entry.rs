//! A cache entry file: `cache::parse_entry`, then what the plugin does with a parsed entry.
#![no_main]

mod common;

use ack_credential_plugin::fuzzing;
use common::assert_clean;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = fuzzing::cache_entry(data) {
        assert_clean(&e);
    }
});
