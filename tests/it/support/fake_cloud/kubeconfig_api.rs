//! What the three kubeconfig APIs (cs, ASM, adcp) share: the [`Target`] a kubeconfig points at
//! (a cluster, a mesh or a fleet's hub cluster) and who may fetch it, the `PrivateIpAddress`
//! parameter that picks its server, and [`kubeconfig_reply`], the RPC answer of ASM and adcp
//! (`{"RequestId", "Kubeconfig", ...}`) with the body faults applied.

use serde_json::Value;

use super::certs::{client_user, render_kubeconfig};
use super::fault::{Fault, NOT_JSON_BODY};
use super::http::{CONTENT_TYPE_JSON, Reply};
use super::log::{Issued, Outcome};
use super::state::Shared;

/// A kubeconfig that is not YAML ([`Fault::ConfigNotYaml`]).
pub(super) const BROKEN_YAML: &str =
    "apiVersion: v1\nclusters: [\n  {server: \"https://x\n\t- : :\n";

/// Where a registered cluster, mesh or fleet is reached, the CA its kubeconfig carries, and
/// who may fetch that kubeconfig.
pub(super) struct Target {
    pub public_server: String,
    /// The server answered with `PrivateIpAddress=true`.
    pub private_server: String,
    pub ca_pem: String,
    /// uids allowed to fetch the kubeconfig (None: any known key).
    pub allowed: Option<Vec<String>>,
}

impl Target {
    /// A target any known key may fetch the kubeconfig of.
    pub fn new(public_server: &str, private_server: &str, ca_pem: &str) -> Target {
        Target {
            public_server: public_server.to_string(),
            private_server: private_server.to_string(),
            ca_pem: ca_pem.to_string(),
            allowed: None,
        }
    }

    /// The server a kubeconfig asked for with this `PrivateIpAddress` names.
    pub fn server(&self, private_ip: bool) -> &str {
        if private_ip {
            &self.private_server
        } else {
            &self.public_server
        }
    }

    /// Whether `uid` may fetch the kubeconfig.
    pub fn permits(&self, uid: &str) -> bool {
        self.allowed
            .as_ref()
            .is_none_or(|allowed| allowed.iter().any(|a| a == uid))
    }

    /// Adds `uid` to those who may fetch the kubeconfig (the first call restricts it to them).
    pub fn allow(&mut self, uid: &str) {
        self.allowed
            .get_or_insert_with(Vec::new)
            .push(uid.to_string());
    }
}

/// The `PrivateIpAddress` parameter: absent or `false` asks for the public server, `true` for
/// the private one; anything else is refused with this message (a 400 `InvalidParameter`, in
/// each service's own error shape).
pub(super) fn private_ip_param(raw: Option<&str>) -> Result<bool, String> {
    match raw {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(format!(
            "PrivateIpAddress must be true or false, got {other:?}"
        )),
    }
}

/// The answer of ASM or adcp: a kubeconfig for `issued.uid` at `issued.server` with `ca_pem`
/// (context `<uid>-<cluster_id>`, a client certificate valid over `issued`'s validity) as the
/// `Kubeconfig` of the JSON object `body` (the other fields of the answer). With no `fault`,
/// 200 and `issued` is logged; with a body fault, 200 with the body the fault says (not JSON
/// as `text/html`, without the kubeconfig, a kubeconfig that is not YAML, a certificate that is
/// not one). An `Err` is the message of a 500 `InternalError`.
pub(super) fn kubeconfig_reply(
    shared: &Shared,
    mut issued: Issued,
    ca_pem: &str,
    fault: Option<&Fault>,
    body: &Value,
) -> Result<Reply, String> {
    let uid = issued.uid.clone();
    let server = issued.server.clone();
    let user = client_user(
        shared,
        &uid,
        issued.not_before,
        issued.not_after,
        fault,
        &mut issued,
    )?;
    let context = format!("{uid}-{}", issued.cluster_id);
    let yaml = render_kubeconfig(&server, ca_pem, &uid, &context, user)?;
    let with_kubeconfig = |kubeconfig: Option<&str>| {
        let mut json = body.clone();
        if let Some(kubeconfig) = kubeconfig {
            json["Kubeconfig"] = Value::String(kubeconfig.to_string());
        }
        json.to_string()
    };
    let Some(fault) = fault else {
        return Ok(Reply {
            status: 200,
            headers: Vec::new(),
            body: with_kubeconfig(Some(&yaml)),
            outcome: Outcome::Issued,
            issued: Some(Box::new(issued)),
            content_type: CONTENT_TYPE_JSON,
        });
    };
    let (text, content_type) = match fault {
        Fault::BodyNotJson => (NOT_JSON_BODY.to_string(), "text/html"),
        Fault::BodyWithoutConfig => (with_kubeconfig(None), CONTENT_TYPE_JSON),
        Fault::ConfigNotYaml => (with_kubeconfig(Some(BROKEN_YAML)), CONTENT_TYPE_JSON),
        _ => (with_kubeconfig(Some(&yaml)), CONTENT_TYPE_JSON),
    };
    Ok(Reply {
        status: 200,
        headers: Vec::new(),
        body: text,
        outcome: Outcome::Fault(fault.name()),
        issued: None,
        content_type,
    })
}
