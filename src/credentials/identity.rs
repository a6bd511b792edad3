//! Who the caller is, as the cache keys see it: a structured value, not a sentence.
//!
//! The identity used to be a string such as `role:ARN session s1 external-id e from
//! access-key:LTAI...`, and two different sources could print the same one: a session named
//! `s1 external-id e` without an external id, and a session `s1` with external id `e`. Now each
//! source is a JSON object whose fields cannot run into each other, and the cache keys embed it
//! whole. It is computed from configuration alone (no network) and holds no secret: a session
//! policy, a URI and a command line appear only as [`crate::digest::short_hash`]es (the URI and
//! the program also in a shortened, readable form).
//!
//! [`render`] turns one back into a line for people (`cache list`).

use serde_json::{Map, Value, json};

use crate::aliyun::sts::RoleRequest;
use crate::digest::short_hash;

/// The identity of a credential source. Equal identities share cache entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity(Value);

impl Identity {
    /// An AccessKey pair (with or without an STS token): the AccessKey ID names the caller.
    pub(crate) fn access_key(access_key_id: &str) -> Identity {
        Identity(json!({"type": "access-key", "id": access_key_id}))
    }

    /// A RAM role assumed with `source`'s credentials: the same role reached from two
    /// identities may be granted differently (a policy, an external id), so both are part of it.
    pub(crate) fn role(role: &RoleRequest, source: &Identity) -> Identity {
        Identity(json!({"type": "role", "role": role_fields(role), "source": source.0}))
    }

    /// A RAM role assumed with an OIDC token from `provider_arn`.
    pub(crate) fn oidc(role: &RoleRequest, provider_arn: &str) -> Identity {
        Identity(json!({"type": "oidc", "role": role_fields(role), "provider": provider_arn}))
    }

    /// The ECS instance's RAM role (`None`: the attached one, discovered), on `host`.
    pub(crate) fn ecs_role(role: Option<&str>, host: &str) -> Identity {
        Identity(json!({"type": "ecs-ram-role", "role": role, "host": host}))
    }

    /// A credentials URI: `shown` is the URI without query or user info, `uri` all of it
    /// (hashed: a query may carry a token).
    pub(crate) fn credentials_uri(shown: &str, uri: &str) -> Identity {
        Identity(json!({"type": "credentials-uri", "uri": shown, "hash": short_hash(uri)}))
    }

    /// An External profile's command: its program, and the whole command line hashed (an
    /// argument may be a secret).
    pub(crate) fn external(program: &str, command: &str) -> Identity {
        Identity(json!({"type": "external", "program": program, "hash": short_hash(command)}))
    }

    /// A CloudSSO profile: the portal, account and access configuration decide the role; the
    /// profile (in its file) stands for the person who signed in, whom only the portal knows.
    pub(crate) fn cloud_sso(
        config: &str,
        profile: &str,
        portal: &str,
        account: &str,
        access_config: &str,
    ) -> Identity {
        Identity(json!({
            "type": "cloudsso",
            "config": config,
            "profile": profile,
            "portal": portal,
            "account": account,
            "access_config": access_config,
        }))
    }

    /// An OAuth profile: the site, and the profile (in its file) that holds the tokens of the
    /// person who signed in.
    pub(crate) fn oauth(config: &str, profile: &str, site: &str) -> Identity {
        Identity(json!({"type": "oauth", "config": config, "profile": profile, "site": site}))
    }

    /// The value the cache keys embed.
    pub(crate) fn value(&self) -> &Value {
        &self.0
    }

    /// The canonical text: the same identity always gives the same bytes.
    pub(crate) fn canonical(&self) -> String {
        self.0.to_string()
    }
}

/// What of a role request decides the session's rights: the role, the session name, the
/// external id and (hashed: it can be long) the session policy. The duration does not.
fn role_fields(role: &RoleRequest) -> Value {
    let mut fields = Map::new();
    fields.insert("arn".into(), role.role_arn.clone().into());
    fields.insert("session".into(), role.session_name.clone().into());
    if let Some(id) = &role.external_id {
        fields.insert("external_id".into(), id.clone().into());
    }
    if let Some(policy) = &role.policy {
        fields.insert("policy".into(), short_hash(policy).into());
    }
    Value::Object(fields)
}

/// One line for people: `access-key:LTAI...`, `role:ARN (session s) from access-key:LTAI...`,
/// and so on; compact JSON for a shape this version does not know.
pub(crate) fn render(identity: &Value) -> String {
    let text = |name: &str| identity.get(name).and_then(Value::as_str).unwrap_or("?");
    match identity.get("type").and_then(Value::as_str) {
        Some("access-key") => format!("access-key:{}", text("id")),
        Some("role") => format!(
            "role:{} from {}",
            render_role(identity.get("role")),
            identity
                .get("source")
                .map_or_else(|| "?".to_string(), render)
        ),
        Some("oidc") => format!(
            "oidc:{} via {}",
            render_role(identity.get("role")),
            text("provider")
        ),
        Some("ecs-ram-role") => format!(
            "ecs-ram-role:{} on {}",
            identity
                .get("role")
                .and_then(Value::as_str)
                .unwrap_or("(attached)"),
            text("host")
        ),
        Some("credentials-uri") => format!("credentials-uri:{} #{}", text("uri"), text("hash")),
        Some("external") => format!("external:{} #{}", text("program"), text("hash")),
        Some("cloudsso") => format!(
            "cloudsso:{}/{} at {} (profile {})",
            text("account"),
            text("access_config"),
            text("portal"),
            text("profile")
        ),
        Some("oauth") => format!("oauth:{} (profile {})", text("site"), text("profile")),
        _ => identity.to_string(),
    }
}

/// `ARN (session s, external id e, policy #hash)`.
fn render_role(role: Option<&Value>) -> String {
    let Some(role) = role else {
        return "?".to_string();
    };
    let text = |name: &str| role.get(name).and_then(Value::as_str);
    let mut details = vec![format!("session {}", text("session").unwrap_or("?"))];
    if let Some(id) = text("external_id") {
        details.push(format!("external id {id}"));
    }
    if let Some(hash) = text("policy") {
        details.push(format!("policy #{hash}"));
    }
    format!("{} ({})", text("arn").unwrap_or("?"), details.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(arn: &str, session: &str, external_id: Option<&str>) -> RoleRequest {
        let mut role = RoleRequest::new(arn).with(Some(session), None);
        role.external_id = external_id.map(str::to_string);
        role
    }

    #[test]
    fn every_right_deciding_field_of_a_role_is_in_the_identity() {
        let key = Identity::access_key("LTAI1");
        let base = RoleRequest::new("acs:ram::1:role/r");
        let mut seen = vec![Identity::role(&base, &key)];
        let variants = [
            RoleRequest {
                session_name: "other".into(),
                ..base.clone()
            },
            RoleRequest {
                external_id: Some("e".into()),
                ..base.clone()
            },
            RoleRequest {
                policy: Some("{\"Statement\":[]}".into()),
                ..base.clone()
            },
            RoleRequest {
                role_arn: "acs:ram::1:role/s".into(),
                ..base.clone()
            },
        ];
        for variant in variants {
            let id = Identity::role(&variant, &key);
            assert!(!seen.contains(&id), "{id:?}");
            seen.push(id);
        }
        // The duration does not decide rights.
        let longer = RoleRequest {
            duration_seconds: 7200,
            ..base.clone()
        };
        assert_eq!(Identity::role(&longer, &key), seen[0]);
    }

    #[test]
    fn sources_whose_old_strings_collided_are_different_identities() {
        // Each pair printed the same string in the old `role:... session ... from ...` format.
        let key = Identity::access_key("LTAI1");
        let pairs = [
            (
                Identity::role(
                    &role("acs:ram::1:role/r", "s1 external-id ext1", None),
                    &key,
                ),
                Identity::role(&role("acs:ram::1:role/r", "s1", Some("ext1")), &key),
            ),
            (
                Identity::oidc(&role("acs:ram::1:role/r", "s via p1", None), "p2"),
                Identity::oidc(&role("acs:ram::1:role/r", "s", None), "p1 via p2"),
            ),
            (
                Identity::role(
                    &role("acs:ram::1:role/a", "s", None),
                    &Identity::role(&role("acs:ram::1:role/b", "t", None), &key),
                ),
                Identity::role(
                    &role(
                        "acs:ram::1:role/a",
                        "s from role:acs:ram::1:role/b session t",
                        None,
                    ),
                    &key,
                ),
            ),
        ];
        for (a, b) in pairs {
            assert_ne!(a, b);
            assert_ne!(a.canonical(), b.canonical());
        }
    }

    #[test]
    fn secrets_and_long_parts_are_hashed() {
        let mut with_policy = RoleRequest::new("acs:ram::1:role/r");
        with_policy.policy = Some("{\"Statement\":[{\"Effect\":\"Deny\"}]}".into());
        let text = Identity::role(&with_policy, &Identity::access_key("LTAI1")).canonical();
        assert!(!text.contains("Statement"), "{text}");
        let uri = Identity::credentials_uri("https://h/p", "https://h/p?token=TOPSECRET");
        assert!(!uri.canonical().contains("TOPSECRET"));
        let command = Identity::external("/bin/get-creds", "/bin/get-creds --secret TOPSECRET");
        assert!(!command.canonical().contains("TOPSECRET"));
    }

    #[test]
    fn renders_for_people() {
        let key = Identity::access_key("LTAI1");
        assert_eq!(render(key.value()), "access-key:LTAI1");
        let mut chained = role("acs:ram::1:role/r", "s1", Some("ext1"));
        chained.policy = Some("{}".into());
        assert_eq!(
            render(Identity::role(&chained, &key).value()),
            format!(
                "role:acs:ram::1:role/r (session s1, external id ext1, policy #{}) from access-key:LTAI1",
                short_hash("{}")
            )
        );
        assert_eq!(
            render(Identity::ecs_role(None, "node-1").value()),
            "ecs-ram-role:(attached) on node-1"
        );
        assert_eq!(
            render(
                Identity::cloud_sso(
                    "/h/.aliyun/config.json",
                    "sso",
                    "https://signin-cn.alibabacloudsso.com",
                    "123",
                    "ac-1"
                )
                .value()
            ),
            "cloudsso:123/ac-1 at https://signin-cn.alibabacloudsso.com (profile sso)"
        );
        assert_eq!(render(&json!({"type": "future"})), r#"{"type":"future"}"#);
    }
}
