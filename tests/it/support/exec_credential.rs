//! Reading what `get-credential` prints: the ExecCredential, the certificate in it, and whether
//! a private key belongs to a certificate.

use chrono::{DateTime, Utc};
use serde_json::Value;
use x509_cert::der::{DecodePem, Encode};

/// The ExecCredential `apiVersion` kubectl 1.22+ asks for.
pub const V1: &str = "client.authentication.k8s.io/v1";
/// The ExecCredential `apiVersion` of older kubectl, and the plugin's default without
/// `KUBERNETES_EXEC_INFO`.
pub const V1BETA1: &str = "client.authentication.k8s.io/v1beta1";

/// A parsed `client.authentication.k8s.io` ExecCredential.
#[derive(Clone, Debug)]
pub struct ExecCredential {
    pub api_version: String,
    pub kind: String,
    pub client_certificate_data: Option<String>,
    pub client_key_data: Option<String>,
    pub token: Option<String>,
    /// The raw `expirationTimestamp` string.
    pub expiration_timestamp: Option<String>,
    pub json: Value,
}

impl ExecCredential {
    /// Parses stdout: exactly one JSON document, kind ExecCredential, a
    /// client.authentication.k8s.io apiVersion, a status with a token or a certificate and key,
    /// and (when present) an RFC 3339 `expirationTimestamp`.
    pub fn parse(stdout: &str) -> Result<ExecCredential, String> {
        let json: Value =
            serde_json::from_str(stdout).map_err(|e| format!("not one JSON document: {e}"))?;
        let text = |v: &Value| v.as_str().map(str::to_string);
        let api_version = text(&json["apiVersion"]).ok_or("no apiVersion")?;
        if !api_version.starts_with("client.authentication.k8s.io/") {
            return Err(format!("unexpected apiVersion {api_version}"));
        }
        let kind = text(&json["kind"]).ok_or("no kind")?;
        if kind != "ExecCredential" {
            return Err(format!("kind is {kind}"));
        }
        let status = &json["status"];
        if !status.is_object() {
            return Err("no status object".into());
        }
        let credential = ExecCredential {
            api_version,
            kind,
            client_certificate_data: text(&status["clientCertificateData"]),
            client_key_data: text(&status["clientKeyData"]),
            token: text(&status["token"]),
            expiration_timestamp: text(&status["expirationTimestamp"]),
            json: json.clone(),
        };
        match (
            &credential.client_certificate_data,
            &credential.client_key_data,
            &credential.token,
        ) {
            (Some(_), Some(_), None) | (None, None, Some(_)) => {}
            _ => {
                return Err(
                    "status needs a token, or clientCertificateData and clientKeyData".into(),
                );
            }
        }
        if let Some(ts) = &credential.expiration_timestamp {
            DateTime::parse_from_rfc3339(ts)
                .map_err(|e| format!("expirationTimestamp {ts:?} is not RFC 3339: {e}"))?;
        }
        Ok(credential)
    }

    /// `expirationTimestamp` as a time (panics if missing).
    pub fn expiration(&self) -> DateTime<Utc> {
        let ts = self
            .expiration_timestamp
            .as_deref()
            .expect("ExecCredential has no expirationTimestamp");
        DateTime::parse_from_rfc3339(ts)
            .expect("RFC 3339 expirationTimestamp")
            .with_timezone(&Utc)
    }

    /// The client certificate, parsed (panics if missing or unparsable).
    pub fn certificate(&self) -> CertInfo {
        let pem = self
            .client_certificate_data
            .as_deref()
            .expect("ExecCredential has no clientCertificateData");
        CertInfo::parse(pem).unwrap_or_else(|e| panic!("clientCertificateData: {e}\n{pem}"))
    }
}

/// The parts of an X.509 certificate the tests look at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    pub common_name: String,
    pub organizations: Vec<String>,
    pub issuer_common_name: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub serial: Vec<u8>,
    /// DER `SubjectPublicKeyInfo`, to match against the private key.
    pub public_key_der: Vec<u8>,
}

impl CertInfo {
    pub fn parse(pem: &str) -> Result<CertInfo, String> {
        let cert = x509_cert::Certificate::from_pem(pem.as_bytes())
            .map_err(|e| format!("not a PEM X.509 certificate: {e}"))?;
        let tbs = &cert.tbs_certificate;
        let attributes = |name: &x509_cert::name::Name, oid: &str| -> Vec<String> {
            name.0
                .iter()
                .flat_map(|rdn| rdn.0.iter())
                .filter(|atv| atv.oid.to_string() == oid)
                .map(|atv| String::from_utf8_lossy(atv.value.value()).to_string())
                .collect()
        };
        let time = |t: &x509_cert::time::Time| {
            let d = t.to_unix_duration();
            DateTime::from_timestamp(d.as_secs() as i64, 0).expect("certificate time in range")
        };
        Ok(CertInfo {
            common_name: attributes(&tbs.subject, "2.5.4.3")
                .into_iter()
                .next()
                .unwrap_or_default(),
            organizations: attributes(&tbs.subject, "2.5.4.10"),
            issuer_common_name: attributes(&tbs.issuer, "2.5.4.3")
                .into_iter()
                .next()
                .unwrap_or_default(),
            not_before: time(&tbs.validity.not_before),
            not_after: time(&tbs.validity.not_after),
            serial: tbs.serial_number.as_bytes().to_vec(),
            public_key_der: tbs
                .subject_public_key_info
                .to_der()
                .map_err(|e| format!("re-encode SPKI: {e}"))?,
        })
    }
}

/// Ok when the private key `key_pem` is the one whose public key the certificate carries:
/// the `SubjectPublicKeyInfo` derived from the key equals the certificate's.
pub fn key_matches_certificate(cert_pem: &str, key_pem: &str) -> Result<(), String> {
    let cert = CertInfo::parse(cert_pem)?;
    let key =
        rcgen::KeyPair::from_pem(key_pem).map_err(|e| format!("not a PEM private key: {e}"))?;
    if key.public_key_der() == cert.public_key_der {
        Ok(())
    } else {
        Err("the private key does not belong to the certificate".to_string())
    }
}
