//! The validity period of a PEM client certificate: the authority on when it expires.

use x509_cert::Certificate;
use x509_cert::der::DecodePem;

/// NotBefore and NotAfter, in Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    pub not_before: i64,
    pub not_after: i64,
}

/// The validity of the first certificate in `pem` (a chain may follow it).
pub fn validity(pem: &str) -> Result<Validity, String> {
    let first = first_pem_block(pem).ok_or("the client certificate is not PEM")?;
    let cert = Certificate::from_pem(first.as_bytes())
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

    #[test]
    fn rejects_what_is_not_a_certificate() {
        assert!(validity("hello").is_err());
        assert!(
            validity("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").is_err()
        );
    }
}
