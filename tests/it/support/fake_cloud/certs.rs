//! The fake's certificate authorities, the client certificates it issues, and the kubeconfig
//! the cs and ASM APIs answer with.

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use super::fault::Fault;
use super::log::Issued;
use super::state::Shared;

/// Organization (O) written into every issued client certificate.
pub const CERT_ORGANIZATION: &str = "system:users";

/// PEM-looking `client-certificate-data` that is not a certificate
/// ([`Fault::CertificateNotACertificate`]).
const NOT_A_CERTIFICATE_PEM: &str = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGUsIGp1c3QgdGV4dA==\n-----END CERTIFICATE-----\n";

/// A CA (self-signed) held by the fake.
pub(super) struct Authority {
    pub cert: rcgen::Certificate,
    pub key: rcgen::KeyPair,
    pub pem: String,
}

impl Authority {
    pub fn new(common_name: &str) -> Authority {
        let key = rcgen::KeyPair::generate().expect("fake cloud: CA key");
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, common_name);
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "fake-alibaba-cloud");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let now = Utc::now();
        set_validity(
            &mut params,
            now - TimeDelta::days(1),
            now + TimeDelta::days(3650),
        );
        let cert = params.self_signed(&key).expect("fake cloud: self-sign CA");
        let pem = cert.pem();
        Authority { cert, key, pem }
    }
}

/// Sets NotBefore/NotAfter (whole seconds) without naming rcgen's `time` types.
fn set_validity(
    params: &mut rcgen::CertificateParams,
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
) {
    let since_epoch =
        |at: DateTime<Utc>| Duration::from_secs(u64::try_from(at.timestamp()).unwrap_or(0));
    params.not_before = rcgen::date_time_ymd(1970, 1, 1) + since_epoch(not_before);
    params.not_after = rcgen::date_time_ymd(1970, 1, 1) + since_epoch(not_after);
}

/// The kubeconfig `user` of a certificate user `uid`: a fresh client certificate and key valid
/// from `not_before` to `not_after`, recorded in `issued` (and the key remembered as handed
/// out); with [`Fault::CertificateNotACertificate`], a real key beside PEM-looking garbage.
pub(super) fn client_user(
    shared: &Shared,
    uid: &str,
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
    fault: Option<&Fault>,
    issued: &mut Issued,
) -> Result<Value, String> {
    if fault == Some(&Fault::CertificateNotACertificate) {
        let key = rcgen::KeyPair::generate().map_err(|e| format!("key: {e}"))?;
        let key_pem = key.serialize_pem();
        shared.hand_out(&key_pem);
        return Ok(json!({
            "client-certificate-data": BASE64.encode(NOT_A_CERTIFICATE_PEM),
            "client-key-data": BASE64.encode(key_pem),
        }));
    }
    let serial = shared.serials.fetch_add(1, Ordering::SeqCst);
    let (cert_pem, key_pem) =
        issue_certificate(&shared.client_ca, uid, not_before, not_after, serial)?;
    shared.hand_out(&key_pem);
    issued.certificate_pem = Some(cert_pem.clone());
    issued.key_pem = Some(key_pem.clone());
    issued.serial = serial;
    Ok(json!({
        "client-certificate-data": BASE64.encode(&cert_pem),
        "client-key-data": BASE64.encode(&key_pem),
    }))
}

/// The kubeconfig YAML the APIs answer: one cluster (`server`, base64 CA), one context, one user
/// (`user`: base64 certificate and key, or a token) named after the uid.
pub(super) fn render_kubeconfig(
    server: &str,
    ca_pem: &str,
    uid: &str,
    context: &str,
    user: Value,
) -> Result<String, String> {
    let kubeconfig = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{
            "name": "kubernetes",
            "cluster": {
                "server": server,
                "certificate-authority-data": BASE64.encode(ca_pem),
            },
        }],
        "contexts": [{
            "name": context,
            "context": { "cluster": "kubernetes", "user": uid },
        }],
        "current-context": context,
        "preferences": {},
        "users": [{ "name": uid, "user": user }],
    });
    serde_yaml_ng::to_string(&kubeconfig).map_err(|e| format!("yaml: {e}"))
}

/// Issues a client certificate (fresh P-256 key) signed by `ca`; returns (cert PEM, key PEM).
fn issue_certificate(
    ca: &Authority,
    uid: &str,
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
    serial: u64,
) -> Result<(String, String), String> {
    let key = rcgen::KeyPair::generate().map_err(|e| format!("generate key: {e}"))?;
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, CERT_ORGANIZATION);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, uid);
    set_validity(&mut params, not_before, not_after);
    // Unique across fakes too: the serial mixes in the wall clock.
    let unique = (SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
        & 0x00ff_ffff_ffff_0000)
        | (serial & 0xffff);
    params.serial_number = Some(rcgen::SerialNumber::from(unique.max(1)));
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    let cert = params
        .signed_by(&key, &ca.cert, &ca.key)
        .map_err(|e| format!("sign certificate: {e}"))?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// NotBefore and NotAfter of a certificate issued `now` for `lifetime`: whole seconds, valid
/// from a minute ago (for clocks a little behind).
pub(super) fn validity(now: DateTime<Utc>, lifetime: Duration) -> (DateTime<Utc>, DateTime<Utc>) {
    let now_secs = DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
    let not_before = now_secs - TimeDelta::minutes(1);
    let not_after = now_secs + TimeDelta::from_std(lifetime).unwrap_or(TimeDelta::days(1));
    (not_before, not_after)
}
