//! The fake API server's TLS: its own server CA and certificate (for `127.0.0.1` and
//! `localhost`, unless a test names others), client certificates verified against the CA the
//! test gives, and the subject CN of a client certificate.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

/// Makes the server CA and a certificate for `names` (host names or addresses), and the rustls
/// config. Returns (server CA PEM, config).
pub(super) fn tls_config(client_ca_pem: &str, names: &[&str]) -> (String, Arc<ServerConfig>) {
    use rcgen::{
        BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };

    let ca_key = KeyPair::generate().expect("generate server CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name = DistinguishedName::new();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "fake-apiserver-ca");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).expect("self-sign server CA");

    let key = KeyPair::generate().expect("generate server key");
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let mut params = CertificateParams::new(names).expect("server cert params");
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, "fake-apiserver");
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params
        .signed_by(&key, &ca_cert, &ca_key)
        .expect("sign server cert");

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for der in CertificateDer::pem_slice_iter(client_ca_pem.as_bytes()) {
        roots
            .add(der.expect("client CA PEM"))
            .expect("add client CA to the root store");
    }
    assert!(
        !roots.is_empty(),
        "ApiServer::start: no certificate in client_ca_pem"
    );
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .expect("client certificate verifier");
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![cert.der().clone(), ca_cert.der().clone()],
            PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .expect("server certificate");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    (ca_cert.pem(), Arc::new(config))
}

/// What the server reads from a verified client certificate: Kubernetes takes the subject's CN
/// for the user name and its O values for the groups; a revocation names the serial.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct ClientIdentity {
    pub cn: Option<String>,
    pub organizations: Vec<String>,
    /// The serial number's bytes, as DER has them.
    pub serial: Vec<u8>,
}

/// The identity of a DER client certificate.
pub(super) fn client_identity(der: &[u8]) -> ClientIdentity {
    use x509_cert::der::Decode;
    use x509_cert::der::asn1::ObjectIdentifier;
    const CN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
    const O: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
    let Ok(cert) = x509_cert::Certificate::from_der(der) else {
        return ClientIdentity::default();
    };
    let tbs = &cert.tbs_certificate;
    let values = |oid| -> Vec<String> {
        tbs.subject
            .0
            .iter()
            .flat_map(|rdn| rdn.0.iter())
            .filter(|atv| atv.oid == oid)
            .map(|atv| String::from_utf8_lossy(atv.value.value()).into_owned())
            .collect()
    };
    ClientIdentity {
        cn: values(CN).into_iter().next(),
        organizations: values(O),
        serial: tbs.serial_number.as_bytes().to_vec(),
    }
}

/// The serial number's bytes of the first certificate in `pem`.
pub(super) fn serial_of(pem: &str) -> Vec<u8> {
    let der = CertificateDer::from_pem_slice(pem.as_bytes()).expect("a PEM certificate");
    client_identity(der.as_ref()).serial
}
