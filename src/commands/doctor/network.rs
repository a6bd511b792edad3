//! `clock` (this machine's clock against the API's `Date`) and `endpoints` (each endpoint the
//! plugin uses, its name lookup, connect and TLS handshake timed apart).

use std::fmt::Write as _;
use std::time::Duration;

use super::{Check, Status};
use crate::aliyun::probe::{FailureKind, Probe, Prober};
use crate::aliyun::sts::ProfileSts;
use crate::config::{Settings, Target};

/// A skew beyond this is a warning...
const CLOCK_WARN: i64 = 60;
/// ...and beyond this a failure (the API itself refuses a signature 15 minutes off).
const CLOCK_FAIL: i64 = 600;

/// The APIs the plugin calls for `target`, by name: its credential API (without a target, both
/// cs and servicemesh), then STS (which `identity` asks, and roles are assumed at).
pub(super) fn apis(
    settings: &Settings,
    target: Option<&Target>,
    api_endpoint: Option<&String>,
) -> Vec<(&'static str, String)> {
    let mut apis = Vec::new();
    match target {
        Some(Target::Cluster { .. }) | None => {
            if let Some(endpoint) = api_endpoint {
                apis.push(("cs", endpoint.clone()));
            }
        }
        Some(Target::Mesh { .. }) => {
            if let Some(endpoint) = api_endpoint {
                apis.push(("servicemesh", endpoint.clone()));
            }
        }
        Some(Target::Fleet { .. }) => {
            if let Some(endpoint) = api_endpoint {
                apis.push(("adcp", endpoint.clone()));
            }
        }
    }
    if target.is_none() {
        apis.push(("servicemesh", settings.access.asm_endpoint()));
    }
    if let Ok(sts) = settings.access.sts.resolve(ProfileSts::default()) {
        apis.push(("sts", sts));
    }
    apis
}

/// The skew against the first API that answers: any answer carries the server's `Date`.
pub(super) fn clock(settings: &Settings, apis: &[(&'static str, String)]) -> Check {
    let client = super::client(settings);
    for (_, url) in unique(apis.iter().cloned()) {
        if let Ok(date) = client.server_date(&format!("{url}/")) {
            return skew_check(date.skew(), &url);
        }
    }
    Check::new(
        "clock",
        Status::Skip,
        "no API answered to tell its time (see endpoints)",
    )
}

fn skew_check(skew: i64, url: &str) -> Check {
    let seconds = skew.abs();
    let detail = if seconds <= 1 {
        // The `Date` header counts whole seconds: no finer skew can be seen.
        format!("this machine's clock agrees with the API's, to the second (Date of {url})")
    } else if skew > 0 {
        format!("this machine is {seconds} s behind the API (Date of {url})")
    } else {
        format!("this machine is {seconds} s ahead of the API (Date of {url})")
    };
    if seconds > CLOCK_FAIL {
        Check::new("clock", Status::Fail, detail).hint(
            "the API refuses requests signed more than 15 minutes off, and certificates can \
             look not yet valid or already expired: set the clock right and keep it \
             synchronised (NTP: `timedatectl set-ntp true`, or chrony)",
        )
    } else if seconds > CLOCK_WARN {
        Check::new("clock", Status::Warn, detail).hint(
            "the API refuses requests signed more than 15 minutes off: keep the clock \
             synchronised (NTP: `timedatectl set-ntp true`, or chrony)",
        )
    } else {
        Check::new("clock", Status::Ok, detail)
    }
}

/// Probe every endpoint once (the APIs and the credential source's own), in order. Also the
/// base URLs that could not be reached.
pub(super) fn endpoints(
    settings: &Settings,
    apis: &[(&'static str, String)],
    source: Vec<(&'static str, String)>,
) -> (Check, Vec<String>) {
    let prober = Prober::new(&settings.access.client);
    let mut lines = Vec::new();
    // The failures by kind, each with the names of the endpoints that failed so.
    let mut failed: Vec<(FailureKind, Vec<&'static str>, Option<String>)> = Vec::new();
    let mut unreachable = Vec::new();
    for (labels, url) in unique(apis.iter().cloned().chain(source)) {
        let probe = prober.probe(&url);
        lines.push(describe(&labels, &url, &probe));
        if let Some(failure) = &probe.failure {
            unreachable.push(url.clone());
            match failed.iter_mut().find(|(kind, _, _)| *kind == failure.kind) {
                Some((_, names, _)) => names.extend(labels),
                None => failed.push((failure.kind, labels, probe.proxy.clone())),
            }
        }
    }
    let status = if unreachable.is_empty() {
        Status::Ok
    } else {
        Status::Fail
    };
    let mut check = Check::new("endpoints", status, lines.join("\n"));
    if !failed.is_empty() {
        let hints: Vec<String> = failed
            .iter()
            .map(|(kind, labels, proxy)| hint(*kind, labels, proxy.as_deref()))
            .collect();
        check = check.hint(hints.join("\n"));
    }
    (check, unreachable)
}

/// The endpoints with their names, each URL once (the names of one URL joined).
fn unique(
    endpoints: impl Iterator<Item = (&'static str, String)>,
) -> Vec<(Vec<&'static str>, String)> {
    let mut out: Vec<(Vec<&'static str>, String)> = Vec::new();
    for (label, url) in endpoints {
        match out.iter_mut().find(|(_, u)| *u == url) {
            Some((labels, _)) => {
                if !labels.contains(&label) {
                    labels.push(label);
                }
            }
            None => out.push((vec![label], url)),
        }
    }
    out
}

/// `cs, sts http://127.0.0.1:8080: DNS 0.1 ms, connect 0.2 ms, no TLS (http)`.
fn describe(labels: &[&str], url: &str, probe: &Probe) -> String {
    let mut line = format!("{} {url}", labels.join(", "));
    if let Some(proxy) = &probe.proxy {
        line.push_str(" through proxy ");
        line.push_str(proxy);
    }
    line.push_str(": ");
    let steps: Vec<String> = probe
        .steps
        .iter()
        .map(|(step, took)| format!("{step} {}", millis(*took)))
        .collect();
    line.push_str(&steps.join(", "));
    match &probe.failure {
        Some(failure) => {
            if !steps.is_empty() {
                line.push_str(", ");
            }
            let _ = write!(line, "{} failed: {}", failure.step, failure.detail);
        }
        None if url.starts_with("http:") => line.push_str(", no TLS (http)"),
        None => {}
    }
    line
}

/// Milliseconds, to a tenth.
fn millis(took: Duration) -> String {
    format!("{:.1} ms", took.as_secs_f64() * 1000.0)
}

/// What to do about an endpoint that cannot be reached.
fn hint(kind: FailureKind, labels: &[&str], proxy: Option<&str>) -> String {
    let settings = labels
        .iter()
        .map(|label| match *label {
            "cs" => "--cs-endpoint, ACK_CS_ENDPOINT or --region",
            "servicemesh" => "--asm-endpoint or ACK_ASM_ENDPOINT",
            "adcp" => "--adcp-endpoint, ACK_ADCP_ENDPOINT or --region",
            "sts" => "--sts-endpoint, ACK_STS_ENDPOINT or ALIBABA_CLOUD_STS_REGION",
            "ECS metadata" => {
                "ACK_ECS_METADATA_ENDPOINT (the metadata service answers only on an ECS instance)"
            }
            "credentials URI" => "ALIBABA_CLOUD_CREDENTIALS_URI",
            _ => "the endpoint setting",
        })
        .collect::<Vec<_>>()
        .join("; ");
    match kind {
        FailureKind::Name => format!(
            "the name does not resolve: check {settings}, and the DNS settings (a VPC endpoint \
             resolves only inside its VPC)"
        ),
        FailureKind::Refused => format!(
            "nothing accepts connections there: check {settings}, and that no firewall blocks \
             the port"
        ),
        FailureKind::TimedOut => format!(
            "no answer: a firewall drops the packets, a proxy is needed (HTTPS_PROXY), or the \
             endpoint is reachable only from a VPC; check {settings}"
        ),
        FailureKind::Untrusted => "the server's certificate is not trusted: behind a \
             TLS-inspecting proxy, add its CA to the system's trust store (or point \
             SSL_CERT_FILE at a bundle that has it)"
            .to_string(),
        FailureKind::Proxy => format!(
            "the proxy {} did not open a tunnel: check HTTPS_PROXY, and NO_PROXY for endpoints \
             that must not use it",
            proxy.unwrap_or("")
        ),
        FailureKind::Other => format!("check {settings}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_is_told_with_its_sign_and_judged() {
        let check = skew_check(742, "https://cs.aliyuncs.com");
        assert_eq!(check.status, Status::Fail);
        assert_eq!(
            check.detail,
            "this machine is 742 s behind the API (Date of https://cs.aliyuncs.com)"
        );
        let check = skew_check(-90, "u");
        assert_eq!(check.status, Status::Warn);
        assert_eq!(
            check.detail,
            "this machine is 90 s ahead of the API (Date of u)"
        );
        assert_eq!(skew_check(60, "u").status, Status::Ok);
        assert_eq!(skew_check(601, "u").status, Status::Fail);
        assert_eq!(skew_check(600, "u").status, Status::Warn);
        assert_eq!(
            skew_check(-1, "u").detail,
            "this machine's clock agrees with the API's, to the second (Date of u)"
        );
    }

    #[test]
    fn one_url_is_probed_once_under_all_its_names() {
        let endpoints = [
            ("cs", "http://a".to_string()),
            ("sts", "http://a".to_string()),
            ("sts", "http://b".to_string()),
        ];
        assert_eq!(
            unique(endpoints.into_iter()),
            [
                (vec!["cs", "sts"], "http://a".to_string()),
                (vec!["sts"], "http://b".to_string())
            ]
        );
    }
}
