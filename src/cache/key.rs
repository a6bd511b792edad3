//! The cache key: everything that decides which certificate is the right one, and nothing secret.
//!
//! The canonical form is a JSON array in a fixed order with every field always present, so the
//! same request always gives the same bytes (kubelogin once hashed an encoding in which an empty
//! and a missing field differed, and missed its cache at random). The file name carries the
//! cluster id for people and a hash of the canonical form for uniqueness; the entry stores the
//! canonical form itself and is only used when it matches in full.

/// The version of the key's layout; bump it when a field is added or changes form. v2: the
/// identity is a structured JSON value, no longer a string that two sources could share. Keys
/// of another layout are simply misses.
const LAYOUT: &str = "ack-credential-plugin/cache-key/v2";

/// What decides the certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyInput<'a> {
    /// The API that issues it, e.g. `DescribeClusterUserKubeconfig`.
    pub(crate) api: &'a str,
    /// The cluster or mesh id.
    pub(crate) id: &'a str,
    pub(crate) uid: Option<&'a str>,
    pub(crate) private_ip: bool,
    pub(crate) minutes: u32,
    /// The API endpoint: a test or private cloud issues different certificates.
    pub(crate) endpoint: &'a str,
    /// Who is asking: the credential source's structured identity, embedded whole.
    pub(crate) identity: &'a serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CacheKey {
    /// The canonical form, stored in the entry and compared in full on every load.
    pub(crate) canonical: String,
    /// The file name without extension: `<cluster or mesh id>-<hash>`.
    pub(crate) stem: String,
}

impl CacheKey {
    pub(crate) fn new(input: &KeyInput) -> CacheKey {
        // A tuple serializes as the array it stands for, without building a value of it first
        // (this runs on every call, cache hits included).
        let canonical = serde_json::to_string(&(
            LAYOUT,
            input.api,
            input.id,
            input.uid,
            input.private_ip,
            input.minutes,
            input.endpoint,
            input.identity,
        ))
        .expect("strings, numbers and a JSON value always serialize");
        let hash = crate::digest::name_hash(&canonical);
        CacheKey {
            stem: format!("{}-{hash}", input.id),
            canonical,
        }
    }
}

/// The fields of a canonical key, read back for `cache list` and `cache clear`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyFields {
    pub(crate) api: String,
    pub(crate) id: String,
    pub(crate) uid: Option<String>,
    pub(crate) private_ip: bool,
    pub(crate) minutes: u32,
    pub(crate) endpoint: String,
    pub(crate) identity: serde_json::Value,
}

impl KeyFields {
    /// `None` for a key of another layout.
    pub(crate) fn parse(canonical: &str) -> Option<KeyFields> {
        let value: serde_json::Value = serde_json::from_str(canonical).ok()?;
        let [
            layout,
            api,
            id,
            uid,
            private_ip,
            minutes,
            endpoint,
            identity,
        ] = value.as_array()?.as_slice()
        else {
            return None;
        };
        if layout.as_str()? != LAYOUT {
            return None;
        }
        Some(KeyFields {
            api: api.as_str()?.to_string(),
            id: id.as_str()?.to_string(),
            uid: uid.as_str().map(str::to_string),
            private_ip: private_ip.as_bool()?,
            minutes: u32::try_from(minutes.as_u64()?).ok()?,
            endpoint: endpoint.as_str()?.to_string(),
            identity: identity.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_id(id: &str) -> &'static serde_json::Value {
        Box::leak(Box::new(
            serde_json::json!({"type": "access-key", "id": id}),
        ))
    }

    fn base() -> KeyInput<'static> {
        KeyInput {
            api: "DescribeClusterUserKubeconfig",
            id: "c1",
            uid: None,
            private_ip: false,
            minutes: 180,
            endpoint: "https://cs.aliyuncs.com",
            identity: key_id("LTAI1"),
        }
    }

    #[test]
    fn the_canonical_form_is_pinned() {
        assert_eq!(
            CacheKey::new(&base()).canonical,
            r#"["ack-credential-plugin/cache-key/v2","DescribeClusterUserKubeconfig","c1",null,false,180,"https://cs.aliyuncs.com",{"id":"LTAI1","type":"access-key"}]"#
        );
    }

    #[test]
    fn same_input_same_key() {
        assert_eq!(CacheKey::new(&base()), CacheKey::new(&base()));
        assert!(CacheKey::new(&base()).stem.starts_with("c1-"));
        assert_eq!(CacheKey::new(&base()).stem.len(), "c1-".len() + 32);
    }

    #[test]
    fn every_field_changes_the_key() {
        let variants = [
            KeyInput {
                api: "DescribeSubaccountK8sClusterUserConfig",
                ..base()
            },
            KeyInput { id: "c2", ..base() },
            KeyInput {
                uid: Some("123"),
                ..base()
            },
            KeyInput {
                uid: Some(""),
                ..base()
            },
            KeyInput {
                private_ip: true,
                ..base()
            },
            KeyInput {
                minutes: 90,
                ..base()
            },
            KeyInput {
                endpoint: "http://127.0.0.1:1",
                ..base()
            },
            KeyInput {
                identity: key_id("LTAI2"),
                ..base()
            },
        ];
        let mut stems = vec![CacheKey::new(&base()).stem];
        for variant in &variants {
            let key = CacheKey::new(variant);
            assert!(!stems.contains(&key.stem), "{variant:?} collides");
            stems.push(key.stem);
        }
    }

    #[test]
    fn canonical_form_reads_back() {
        let input = KeyInput {
            uid: Some("42"),
            ..base()
        };
        let fields = KeyFields::parse(&CacheKey::new(&input).canonical).unwrap();
        assert_eq!(fields.api, input.api);
        assert_eq!(fields.id, "c1");
        assert_eq!(fields.uid.as_deref(), Some("42"));
        assert_eq!(&fields.identity, input.identity);
        assert_eq!(fields.minutes, 180);
        assert!(KeyFields::parse("[\"other-layout\"]").is_none());
        let v1 = r#"["ack-credential-plugin/cache-key/v1","DescribeClusterUserKubeconfig","c1",null,false,180,"https://cs.aliyuncs.com","access-key:LTAI1"]"#;
        assert!(
            KeyFields::parse(v1).is_none(),
            "an old layout is another key"
        );
        assert!(KeyFields::parse("nonsense").is_none());
    }

    #[test]
    fn fields_cannot_run_into_each_other() {
        let a = KeyInput {
            id: "c1",
            identity: key_id("x\",\"y"),
            ..base()
        };
        let b = KeyInput {
            id: "c1",
            identity: key_id("x"),
            ..base()
        };
        assert_ne!(CacheKey::new(&a).canonical, CacheKey::new(&b).canonical);
    }
}
