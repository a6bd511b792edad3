//! The cs and servicemesh answers that carry the user kubeconfig, each followed through
//! `Kubeconfig::parse`, `.credential()` and `cert::validity` as the plugin does.
#![no_main]

mod common;

use ack_credential_plugin::aliyun::{cs, servicemesh};
use common::{assert_clean, through_kubeconfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match cs::parse_answer("DescribeClusterUserKubeconfig", data, None) {
        Ok(issued) => {
            assert!(!issued.config.trim().is_empty());
            through_kubeconfig(&issued.config);
        }
        Err(e) => assert_clean(&e.to_string()),
    }
    match servicemesh::parse_answer(data, None) {
        Ok(issued) => {
            assert!(!issued.config.trim().is_empty());
            through_kubeconfig(&issued.config);
        }
        Err(e) => assert_clean(&e.to_string()),
    }
});
