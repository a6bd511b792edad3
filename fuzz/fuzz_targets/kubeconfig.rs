//! The kubeconfig the API returns: `Kubeconfig::parse`, `.credential()`, then `cert::validity`
//! on the certificate found.
//!
//! The first byte picks a mode:
//! - `0x01`: the rest is a certificate's DER. The target wraps it in PEM and in an ACK-style
//!   kubeconfig whose key holds the planted secret, so the X.509 parser is fuzzed directly
//!   (not through two layers of base64).
//! - `0x02`: the rest is the key's PEM text; the target appends the planted secret, so the
//!   secret is always in the key and the key's checks must never quote it.
//! - anything else: the whole input is the kubeconfig text.
#![no_main]

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::{CERT, SECRET, key_pem, kubeconfig, through_kubeconfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match data.split_first() {
        Some((0x01, der)) => {
            // PEM as RFC 7468 has it (and the PEM reader insists on): 64 columns a line.
            let body = BASE64.encode(der);
            let mut cert_pem = String::from("-----BEGIN CERTIFICATE-----\n");
            for line in body.as_bytes().chunks(64) {
                cert_pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
                cert_pem.push('\n');
            }
            cert_pem.push_str("-----END CERTIFICATE-----\n");
            // The kubeconfig itself is well-formed: the certificate must come out unchanged.
            let found = through_kubeconfig(&kubeconfig(&cert_pem, &key_pem()));
            assert_eq!(found.as_deref(), Some(cert_pem.as_str()));
        }
        Some((0x02, key)) => {
            let key_pem = format!("{}\n{SECRET}\n", String::from_utf8_lossy(key));
            through_kubeconfig(&kubeconfig(CERT, &key_pem));
        }
        _ => {
            through_kubeconfig(&String::from_utf8_lossy(data));
        }
    }
});
