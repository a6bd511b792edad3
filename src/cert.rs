//! The client certificate the API issued: its validity period (the authority on when it
//! expires), and that it belongs to the private key that came with it.
//!
//! (Over 400 lines with its tests, one per key type and validity case the checks meet: they
//! belong beside the code.)

use x509_cert::Certificate;
use x509_cert::der::asn1::{AnyRef, BitStringRef, ObjectIdentifier, OctetStringRef, UintRef};
use x509_cert::der::{Decode, Reader, SliceReader, Tag, TagNumber, Tagged, pem};
use x509_cert::spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfoOwned};

/// NotBefore and NotAfter, in Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Validity {
    pub(crate) not_before: i64,
    pub(crate) not_after: i64,
}

/// `rsaEncryption`
const RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// `id-ecPublicKey`
const EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");

/// The validity of the first certificate in `pem` (a chain may follow it).
pub(crate) fn validity(pem: &str) -> Result<Validity, String> {
    parse(pem).map(|cert| validity_of(&cert))
}

/// The validity of the first certificate in `cert_pem`, once it is checked to belong to the
/// private key `key_pem`: the certificate's `SubjectPublicKeyInfo` must be the public half of
/// the key (PKCS#1 `RSA PRIVATE KEY`, SEC1 `EC PRIVATE KEY`, or PKCS#8 `PRIVATE KEY` holding
/// either). A pair that does not match would only fail later, at the API server, as a TLS
/// error far from its cause. Errors never quote key material.
pub(crate) fn check_pair(cert_pem: &str, key_pem: &str) -> Result<Validity, String> {
    let cert = parse(cert_pem)?;
    let public = public_key(key_pem)?;
    if !public.matches(&cert.tbs_certificate.subject_public_key_info) {
        return Err(
            "the client certificate was not issued for the private key that came with it \
             (their public keys differ)"
                .to_string(),
        );
    }
    Ok(validity_of(&cert))
}

fn parse(pem: &str) -> Result<Certificate, String> {
    let first = first_block(pem, "CERTIFICATE").ok_or("the client certificate is not PEM")?;
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
    Certificate::from_der(&der)
        .map_err(|e| format!("the client certificate cannot be parsed ({e})"))
}

/// Whom a certificate names, and its serial: what the API server sees of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Subject {
    /// The subject's CN: Kubernetes takes it for the user name.
    pub(crate) common_name: Option<String>,
    /// The subject's O values: Kubernetes takes them for the groups.
    pub(crate) organizations: Vec<String>,
    /// The serial number, in hex (what a revocation names).
    pub(crate) serial: String,
}

/// The subject and serial of the first certificate in `pem`.
pub(crate) fn subject(pem: &str) -> Result<Subject, String> {
    /// `id-at-commonName`, `id-at-organizationName`.
    const CN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
    const O: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
    let cert = parse(pem)?;
    let tbs = &cert.tbs_certificate;
    let values = |oid: ObjectIdentifier| -> Vec<String> {
        tbs.subject
            .0
            .iter()
            .flat_map(|rdn| rdn.0.iter())
            .filter(|atv| atv.oid == oid)
            .map(|atv| String::from_utf8_lossy(atv.value.value()).into_owned())
            .collect()
    };
    Ok(Subject {
        common_name: values(CN).into_iter().next(),
        organizations: values(O),
        serial: crate::digest::hex(tbs.serial_number.as_bytes()),
    })
}

fn validity_of(cert: &Certificate) -> Validity {
    let validity = &cert.tbs_certificate.validity;
    let seconds = |t: x509_cert::time::Time| {
        i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
    };
    Validity {
        not_before: seconds(validity.not_before),
        not_after: seconds(validity.not_after),
    }
}

/// The first PEM block whose label ends with `label` (`CERTIFICATE`, `PRIVATE KEY`): an EC key
/// file may open with an `EC PARAMETERS` block.
fn first_block<'a>(text: &'a str, label: &str) -> Option<&'a str> {
    let mut rest = text;
    loop {
        let start = rest.find("-----BEGIN ")?;
        let after = &rest[start + "-----BEGIN ".len()..];
        let found = &after[..after.find("-----")?];
        let end_marker = format!("-----END {found}-----");
        let end = rest[start..].find(&end_marker)? + start + end_marker.len();
        if found.ends_with(label) {
            return Some(&rest[start..end]);
        }
        rest = &rest[end..];
    }
}

/// The public half of a private key, as far as it is needed to compare it with a certificate.
enum PublicKey {
    Rsa {
        modulus: Vec<u8>,
        exponent: Vec<u8>,
    },
    Ec {
        /// The named curve (the DER of the `ECParameters`), when the key says.
        curve: Option<(Tag, Vec<u8>)>,
        point: Vec<u8>,
    },
    /// Another algorithm, whose PKCS#8 v2 form carries the public key.
    Other {
        algorithm: ObjectIdentifier,
        key: Vec<u8>,
    },
}

impl PublicKey {
    fn matches(&self, spki: &SubjectPublicKeyInfoOwned) -> bool {
        let algorithm = &spki.algorithm;
        let bits = spki.subject_public_key.raw_bytes();
        match self {
            PublicKey::Rsa { modulus, exponent } => {
                algorithm.oid == RSA
                    && rsa_public(bits).is_ok_and(|(n, e)| n == *modulus && e == *exponent)
            }
            PublicKey::Ec { curve, point } => {
                let same_curve = match (curve, &algorithm.parameters) {
                    (Some((tag, value)), Some(params)) => {
                        params.tag() == *tag && params.value() == value.as_slice()
                    }
                    _ => true,
                };
                algorithm.oid == EC && same_curve && bits == point.as_slice()
            }
            PublicKey::Other {
                algorithm: oid,
                key,
            } => algorithm.oid == *oid && bits == key.as_slice(),
        }
    }
}

/// The public key of the private key in `pem`.
fn public_key(pem: &str) -> Result<PublicKey, String> {
    let block = first_block(pem, "PRIVATE KEY").ok_or("the client key is not a PEM private key")?;
    let (label, der) = pem::decode_vec(block.as_bytes())
        .map_err(|e| format!("the client key is not valid PEM ({e})"))?;
    let unreadable =
        |e: x509_cert::der::Error| format!("the client key ({label}) cannot be parsed ({e})");
    match label {
        "RSA PRIVATE KEY" => rsa_private(&der).map_err(unreadable),
        "EC PRIVATE KEY" => ec_private(&der)
            .map_err(unreadable)?
            .ok_or_else(no_public_point),
        "PRIVATE KEY" => pkcs8(&der).map_err(unreadable)?,
        "ENCRYPTED PRIVATE KEY" => Err("the client key is encrypted".to_string()),
        other => Err(format!(
            "the client key is a PEM {other}, which is not supported"
        )),
    }
}

fn no_public_point() -> String {
    "the client key is an EC key without its public key, so it cannot be checked against the \
     certificate"
        .to_string()
}

/// `RSAPrivateKey ::= SEQUENCE { version, modulus, publicExponent, privateExponent, ... }`
/// (PKCS#1): the first two numbers after the version are the public key.
fn rsa_private(der: &[u8]) -> x509_cert::der::Result<PublicKey> {
    let mut reader = SliceReader::new(der)?;
    let key = reader.sequence(|r| {
        let _version = UintRef::decode(r)?;
        let modulus = UintRef::decode(r)?;
        let exponent = UintRef::decode(r)?;
        let rest = r.remaining_len();
        r.read_slice(rest)?;
        Ok(PublicKey::Rsa {
            modulus: modulus.as_bytes().to_vec(),
            exponent: exponent.as_bytes().to_vec(),
        })
    })?;
    reader.finish(key)
}

/// `RSAPublicKey ::= SEQUENCE { modulus, publicExponent }`, the key bits of an RSA certificate.
fn rsa_public(der: &[u8]) -> x509_cert::der::Result<(Vec<u8>, Vec<u8>)> {
    let mut reader = SliceReader::new(der)?;
    let key = reader.sequence(|r| {
        let modulus = UintRef::decode(r)?;
        let exponent = UintRef::decode(r)?;
        Ok((modulus.as_bytes().to_vec(), exponent.as_bytes().to_vec()))
    })?;
    reader.finish(key)
}

/// `ECPrivateKey ::= SEQUENCE { version, privateKey OCTET STRING, [0] ECParameters OPTIONAL,
/// [1] BIT STRING OPTIONAL }` (SEC1): the public point, when the key carries it (OpenSSL and
/// ring write it; the format leaves it out at will).
fn ec_private(der: &[u8]) -> x509_cert::der::Result<Option<PublicKey>> {
    let mut reader = SliceReader::new(der)?;
    let key = reader.sequence(|r| {
        let _version = UintRef::decode(r)?;
        let _private = OctetStringRef::decode(r)?;
        let mut curve = None;
        let mut point = None;
        while !r.is_finished() {
            let field = AnyRef::decode(r)?;
            match field.tag() {
                Tag::ContextSpecific { number, .. } if number == TagNumber::N0 => {
                    let params = AnyRef::from_der(field.value())?;
                    curve = Some((params.tag(), params.value().to_vec()));
                }
                Tag::ContextSpecific { number, .. } if number == TagNumber::N1 => {
                    let bits = BitStringRef::from_der(field.value())?;
                    point = Some(bits.raw_bytes().to_vec());
                }
                _ => {}
            }
        }
        Ok(point.map(|point| PublicKey::Ec { curve, point }))
    })?;
    reader.finish(key)
}

/// `PrivateKeyInfo ::= SEQUENCE { version, AlgorithmIdentifier, privateKey OCTET STRING,
/// [0] attributes OPTIONAL, [1] publicKey BIT STRING OPTIONAL }` (PKCS#8, v1 or v2).
fn pkcs8(der: &[u8]) -> x509_cert::der::Result<Result<PublicKey, String>> {
    let mut reader = SliceReader::new(der)?;
    let key = reader.sequence(|r| {
        let _version = UintRef::decode(r)?;
        let algorithm = AlgorithmIdentifierRef::decode(r)?;
        let private = OctetStringRef::decode(r)?;
        let mut public = None;
        while !r.is_finished() {
            let field = AnyRef::decode(r)?;
            if let Tag::ContextSpecific { number, .. } = field.tag()
                && number == TagNumber::N1
            {
                // [1] IMPLICIT BIT STRING: the unused-bits octet, then the key.
                public = field.value().split_first().map(|(_, key)| key.to_vec());
            }
        }
        Ok(if algorithm.oid == RSA {
            Ok(rsa_private(private.as_bytes())?)
        } else if algorithm.oid == EC {
            let curve = algorithm.parameters.map(|p| (p.tag(), p.value().to_vec()));
            match ec_private(private.as_bytes())? {
                Some(PublicKey::Ec { curve: own, point }) => Ok(PublicKey::Ec {
                    curve: curve.or(own),
                    point,
                }),
                _ => public
                    .map(|point| PublicKey::Ec { curve, point })
                    .ok_or_else(no_public_point),
            }
        } else {
            public
                .map(|key| PublicKey::Other {
                    algorithm: algorithm.oid,
                    key,
                })
                .ok_or_else(|| {
                    format!(
                        "the client key's algorithm ({}) is not supported",
                        algorithm.oid
                    )
                })
        })
    })?;
    reader.finish(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate valid from 2024-01-01T00:00:00Z to 2024-01-01T03:00:00Z
    /// (made once with Python's cryptography package; the key was thrown away).
    const CERT: &str = include_str!("testdata/three-hours.pem");

    #[test]
    fn reads_the_subject_as_kubernetes_does() {
        let subject = subject(include_str!("testdata/keys/rsa.crt")).unwrap();
        assert_eq!(subject.common_name.as_deref(), Some("272345678901234567"));
        assert_eq!(subject.organizations, ["system:users"]);
        assert_eq!(subject.serial, "6373914b72ae7d8deef4eb44bc22b47d3b12dae2");
    }

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

    fn key(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/src/testdata/keys/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn a_certificate_matches_its_own_key_in_every_form() {
        for (cert, keys) in [
            ("rsa.crt", &["rsa-pkcs1.key", "rsa-pkcs8.key"][..]),
            ("ec.crt", &["ec-sec1.key", "ec-pkcs8.key"][..]),
        ] {
            for name in keys {
                let validity = check_pair(&key(cert), &key(name));
                assert!(validity.is_ok(), "{cert} with {name}: {validity:?}");
                assert_eq!(validity.unwrap(), super::validity(&key(cert)).unwrap());
            }
        }
        // An EC PARAMETERS block before the key, as `openssl ecparam -genkey` writes it.
        let with_params = format!(
            "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n{}",
            key("ec-sec1.key")
        );
        assert!(check_pair(&key("ec.crt"), &with_params).is_ok());
    }

    #[test]
    fn a_certificate_with_another_key_is_refused_without_quoting_it() {
        let mismatch = "the client certificate was not issued for the private key that came \
                        with it (their public keys differ)";
        for (cert, other) in [
            ("rsa.crt", "rsa-other.key"),
            ("rsa.crt", "ec-sec1.key"),
            ("rsa.crt", "ec-pkcs8.key"),
            ("ec.crt", "ec384-sec1.key"),
            ("ec.crt", "rsa-pkcs1.key"),
            ("ec.crt", "rsa-pkcs8.key"),
        ] {
            assert_eq!(
                check_pair(&key(cert), &key(other)).unwrap_err(),
                mismatch,
                "{cert} with {other}"
            );
        }
        assert_eq!(
            check_pair(&key("ec.crt"), &key("ec-sec1-nopub.key")).unwrap_err(),
            "the client key is an EC key without its public key, so it cannot be checked \
             against the certificate"
        );
        let secret = key("rsa-pkcs1.key");
        let body: Vec<&str> = secret.lines().filter(|l| !l.starts_with("-----")).collect();
        let damaged = secret.replace(body[3], &"A".repeat(body[3].len()));
        for bad in [
            damaged,
            secret.replace(body[1], ""),
            "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n".to_string(),
            secret.replace("RSA PRIVATE KEY", "DSA PRIVATE KEY"),
            "no pem here".to_string(),
        ] {
            let error = check_pair(&key("rsa.crt"), &bad).unwrap_err();
            for line in &body {
                assert!(!error.contains(&line[..16]), "{error}");
            }
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
