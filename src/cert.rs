//! The validity period of a PEM client certificate: the authority on when it expires.

use x509_cert::Certificate;
use x509_cert::der::{Decode, pem};

/// NotBefore and NotAfter, in Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Validity {
    pub(crate) not_before: i64,
    pub(crate) not_after: i64,
}

/// The validity of the first certificate in `pem` (a chain may follow it).
pub(crate) fn validity(pem: &str) -> Result<Validity, String> {
    let first = first_pem_block(pem).ok_or("the client certificate is not PEM")?;
    // PEM to DER in one step, then a parse that checks every read. (`Certificate::from_pem`
    // streams through der 0.7's PEM reader, which spins for ever on DER that ends inside the
    // outer header: a fuzzer found it with the two bytes `01 01`.)
    let (label, der) = pem::decode_vec(first.as_bytes())
        .map_err(|e| format!("the client certificate is not valid PEM ({e})"))?;
    if label != "CERTIFICATE" {
        return Err(format!(
            "the client certificate is a PEM {label}, not a CERTIFICATE"
        ));
    }
    let cert = Certificate::from_der(&der)
        .map_err(|e| format!("the client certificate cannot be parsed ({e})"))?;
    let validity = &cert.tbs_certificate.validity;
    let seconds = |t: x509_cert::time::Time| {
        i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
    };
    Ok(Validity {
        not_before: seconds(validity.not_before),
        not_after: seconds(validity.not_after),
    })
}

fn first_pem_block(pem: &str) -> Option<&str> {
    let start = pem.find("-----BEGIN CERTIFICATE-----")?;
    let end_marker = "-----END CERTIFICATE-----";
    let end = pem[start..].find(end_marker)? + start + end_marker.len();
    Some(&pem[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate valid from 2024-01-01T00:00:00Z to 2024-01-01T03:00:00Z
    /// (made once with Python's cryptography package; the key was thrown away).
    const CERT: &str = include_str!("testdata/three-hours.pem");

    #[test]
    fn reads_not_before_and_not_after() {
        let validity = validity(CERT).unwrap();
        assert_eq!(validity.not_before, 1_704_067_200);
        assert_eq!(validity.not_after, 1_704_067_200 + 3 * 3600);
        let chain = format!("{CERT}{CERT}");
        assert_eq!(super::validity(&chain).unwrap(), validity);
    }

    /// DER that ends inside the outer header once made the parser spin for ever.
    #[test]
    fn truncated_der_is_an_error_not_a_hang() {
        for body in ["AQ==", "MA==", "MIIB", "MIIBJg=="] {
            let pem = format!("-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n");
            let (done, wait) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let _ = done.send(validity(&pem).is_err());
            });
            let failed = wait.recv_timeout(std::time::Duration::from_secs(5));
            assert_eq!(failed, Ok(true), "{body}: must fail at once");
        }
    }

    #[test]
    fn rejects_what_is_not_a_certificate() {
        assert!(validity("hello").is_err());
        assert!(
            validity("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").is_err()
        );
    }
}
