//! `apiserver`: present the certificate to the cluster's API server, as kubectl would, and ask
//! whom it is taken for (`SelfSubjectReview`); or say what a 401 or 403 means and what to do.
//!
//! The certificate is the cached one while it works; else one fetched for this check and held
//! in memory only (never stored). The server and its CA are the kubeconfig context's (what
//! kubectl uses), or, with no such context, those of the kubeconfig the API returns: `server.rs`
//! finds it and says how it is reached (`tls-server-name`, `proxy-url`).

mod server;

use super::{CHECK_BUDGET, Check, Findings, Redactor, Status};
use crate::apiserver::{self, Presented, Review, Unreachable};
use crate::cert::Subject;
use crate::commands::request::Fetched;
use crate::config::{Settings, Target};
use crate::exec_credential::Status as Credential;
use server::{from_api, from_context, how_reached, wrong_name_hint};

const NAME: &str = "apiserver";

pub(super) fn check(
    settings: &Settings,
    target: &Target,
    findings: &Findings,
    redactor: &mut Redactor,
) -> Check {
    match review(settings, target, findings, redactor) {
        Ok(check) | Err(check) => check,
    }
}

/// Where the certificate came from, for the detail.
enum Origin {
    Cache,
    Fetched,
}

fn review(
    settings: &Settings,
    target: &Target,
    findings: &Findings,
    redactor: &mut Redactor,
) -> Result<Check, Check> {
    let cluster = findings.context.as_ref().and_then(|c| c.cluster.as_ref());
    // The kubeconfig's server first: what it says about reaching the server (a proxy doctor
    // does not speak, say) is told before a certificate is fetched for nothing.
    let from_kubeconfig = cluster.map(from_context).transpose()?;
    let mut notes: Vec<String> = match &from_kubeconfig {
        Some(server) => how_reached(server)?,
        None => Vec::new(),
    };
    let now = crate::time::now();
    let mut fetched: Option<Fetched> = None;
    let cached = findings
        .entry
        .as_ref()
        .filter(|e| e.is_usable(now))
        .and_then(|e| e.credential.decode());
    let (credential, origin) = if let Some(credential) = cached {
        (credential, Origin::Cache)
    } else {
        let new = fetch(settings, findings, redactor)?;
        let credential = new.entry.credential.decode().ok_or_else(|| {
            Check::new(NAME, Status::Fail, "the fetched credential cannot be read")
        })?;
        fetched = Some(new);
        (credential, Origin::Fetched)
    };
    let server = if let Some(server) = from_kubeconfig {
        server
    } else {
        notes.push(
            "no kubeconfig context names the server (see kubeconfig): asked the one the API's \
             kubeconfig names"
                .into(),
        );
        let fetched = match fetched {
            Some(fetched) => fetched,
            None => fetch(settings, findings, redactor)?,
        };
        from_api(&fetched)?
    };
    if server.url.is_empty() {
        return Err(Check::new(
            NAME,
            Status::Fail,
            "the kubeconfig names no server for this cluster",
        )
        .hint(format!("write it again: {}", super::merge_command(target))));
    }
    let presented = match (
        &credential.client_certificate_data,
        &credential.client_key_data,
        &credential.token,
    ) {
        (Some(certificate), Some(key), _) => Presented::Certificate { certificate, key },
        (_, _, Some(token)) => Presented::Token(token),
        _ => {
            return Err(Check::new(
                NAME,
                Status::Fail,
                "the credential holds neither a certificate and key nor a token",
            ));
        }
    };
    let answer = apiserver::review(
        &settings.access.client,
        &server.as_server(),
        &presented,
        CHECK_BUDGET,
    );
    let wrong_name = matches!(&answer, Err(Unreachable::UntrustedServer(detail))
        if detail.contains("not valid for name"));
    let subject = credential
        .client_certificate_data
        .as_deref()
        .and_then(|pem| crate::cert::subject(pem).ok());
    let shown = shown(&credential, subject.as_ref(), &origin);
    let mut check = judge(
        answer,
        &server.url,
        &shown,
        &origin,
        subject.as_ref(),
        target,
    );
    if let (true, Some(cluster)) = (wrong_name, cluster) {
        check = check.hint(wrong_name_hint(&server, cluster, target));
    }
    for note in notes {
        check.detail.push('\n');
        check.detail.push_str(&note);
    }
    Ok(check)
}

/// A certificate for this check, held in memory only; a skip when the checks before say it
/// cannot be had, a failure when the fetch fails.
fn fetch(
    settings: &Settings,
    findings: &Findings,
    redactor: &mut Redactor,
) -> Result<Fetched, Check> {
    let skip = |why: String| Check::new(NAME, Status::Skip, why);
    let Some(request) = &findings.request else {
        return Err(skip("no credentials (see credentials)".to_string()));
    };
    let Some(credentials) = &findings.credentials else {
        return Err(skip(
            "no certificate is cached, and the credentials do not work to fetch one (see \
             identity)"
                .to_string(),
        ));
    };
    if !findings.api_reachable {
        return Err(skip(format!(
            "no certificate is cached, and {} cannot be reached to fetch one (see endpoints)",
            findings.api_endpoint
        )));
    }
    let client = super::client(settings);
    let fetched = request
        .fetch_with(settings, &client, credentials)
        .map_err(|error| Check::from_error(NAME, Status::Fail, &error))?;
    if let Some(credential) = fetched.entry.credential.decode() {
        redactor.add_status(&credential);
    }
    Ok(fetched)
}

/// `the cached certificate (CN 123, serial 0a1b)`; `subject` is the certificate's, when it
/// can be read.
fn shown(credential: &Credential, subject: Option<&Subject>, origin: &Origin) -> String {
    let what = match (origin, &credential.client_certificate_data) {
        (Origin::Cache, Some(_)) => "the cached certificate",
        (Origin::Fetched, Some(_)) => {
            "a certificate fetched for this check (none is cached; it is not stored)"
        }
        (Origin::Cache, None) => "the cached token",
        (Origin::Fetched, None) => "a token fetched for this check (none is cached; not stored)",
    };
    match subject {
        Some(subject) => format!(
            "{what} (CN {}, serial {})",
            subject.common_name.as_deref().unwrap_or("-"),
            subject.serial
        ),
        None => what.to_string(),
    }
}

fn judge(
    answer: Result<Review, Unreachable>,
    url: &str,
    shown: &str,
    origin: &Origin,
    subject: Option<&Subject>,
    target: &Target,
) -> Check {
    let user = subject
        .and_then(|s| s.common_name.clone())
        .unwrap_or_default();
    let clear = super::clear_command(target);
    match answer {
        Ok(Review::User {
            username,
            groups,
            version,
        }) => Check::new(
            NAME,
            Status::Ok,
            format!(
                "{url} takes {shown} for user \"{username}\" in groups {} (SelfSubjectReview \
                 {version})",
                groups.join(", ")
            ),
        ),
        Ok(Review::NotServed) => {
            let groups = subject
                .map(|s| s.organizations.join(", "))
                .unwrap_or_default();
            Check::new(
                NAME,
                Status::Ok,
                format!(
                    "{url} accepts {shown}; it serves no SelfSubjectReview (Kubernetes before \
                     1.27), and the certificate names user \"{user}\" in groups {groups}"
                ),
            )
        }
        Ok(Review::Refused {
            status: 401,
            message,
        }) => {
            let check = Check::new(
                NAME,
                Status::Fail,
                format!("{url} refuses {shown}: HTTP 401: {message}"),
            );
            match origin {
                Origin::Cache => check.hint(format!(
                    "the certificate was revoked, or the cluster's CA was rotated: run `{clear}`, \
                     then retry (the next call fetches a new certificate)"
                )),
                Origin::Fetched => check.hint(format!(
                    "even a certificate fetched just now is refused: the cluster's CA may have \
                     been rotated; check the cluster in the ACK console, then run {}",
                    super::merge_command(target)
                )),
            }
        }
        Ok(Review::Refused {
            status: 403,
            message,
        }) => Check::new(
            NAME,
            Status::Warn,
            format!(
                "{url} authenticates {shown} as user \"{user}\", but does not let it ask who it \
                 is: HTTP 403: {message}"
            ),
        )
        .hint(format!(
            "the certificate works; what it may do is up to the cluster's RBAC: grant user \
             \"{user}\" a role (ACK console: Authorizations; or a ClusterRoleBinding naming the \
             user)"
        )),
        Ok(Review::Refused { status, message }) => Check::new(
            NAME,
            Status::Fail,
            format!("{url} answered HTTP {status} to {shown}: {message}"),
        ),
        Err(unreachable) => {
            let detail = format!("cannot ask {url}: {}", unreachable.detail());
            let check = Check::new(NAME, Status::Fail, detail);
            match unreachable {
                Unreachable::Refused(_) | Unreachable::TimedOut(_) => check.hint(
                    "check the network path to the cluster: a VPN, or from inside the VPC its \
                     private address (--private-ip); and that the API server's public endpoint \
                     is enabled when you come from outside",
                ),
                Unreachable::UntrustedServer(_) => check.hint(format!(
                    "the kubeconfig's CA for this cluster does not match the server's \
                     certificate: run {} to write the current one",
                    super::merge_command(target)
                )),
                Unreachable::CertificateRejected(_) => check.hint(format!(
                    "the server does not accept the certificate's issuer (the cluster's CA was \
                     rotated?): run `{clear}`, then retry"
                )),
                Unreachable::Other(_) => check,
            }
        }
    }
}
