//! A cache entry file: `cache::parse_entry`, then what the plugin does with a parsed entry.
#![no_main]

mod common;

use ack_credential_plugin::cache::{self, KeyFields};
use common::assert_clean;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match cache::parse_entry(data) {
        Ok(entry) => {
            let _ = entry.expiration_to_print(0);
            let _ = entry.is_fresh(0);
            let _ = entry.is_usable(0);
            let _ = KeyFields::parse(&entry.key);
        }
        Err(e) => assert_clean(&e.to_string()),
    }
});
