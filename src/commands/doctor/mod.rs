//! `doctor`: the questions behind a failed kubectl call, answered in one run. Which
//! credentials, and whose are they? Is the clock off? Can the endpoints be reached? What is in
//! the cache? Does the kubeconfig run this binary? Does the cluster accept the certificate?
//!
//! Seven checks, in that order, each `ok`, `warn`, `fail` or `skip` with a detail and a hint
//! (`report.rs` prints them as text or JSON); the exit code is 1 when one fails. A check whose
//! question cannot be asked because an earlier one failed is skipped and says which.
//!
//! `doctor` changes nothing: it reads the cache (never creates, tightens, locks or sweeps it),
//! reads the kubeconfig files, and when no certificate is cached fetches one in memory only, to
//! present to the API server. What it prints goes through [`Redactor`]: the secrets it handles
//! (AccessKey secrets, STS tokens, the certificate's key or token) are masked wherever they
//! might appear, on top of every message being free of them by construction.

mod apiserver;
mod cache;
mod kubeconfig;
mod network;
mod report;
mod source;

use std::time::Duration;

use super::request::{CredentialRequest, chain_context};
use crate::aliyun::{Client, Credentials};
use crate::cache::Entry;
use crate::config::{DoctorConfig, Settings, Target};
use crate::credentials::chain;
use crate::env::Env;
use crate::error::Error;
use crate::kubeconfig::contexts::ExecContext;
use crate::secret::Secret;

/// The most one check's API calls may take, retries included (less when `ACK_API_TIMEOUT`
/// says less): a diagnosis should not wait out a full fetch budget per question.
const CHECK_BUDGET: Duration = Duration::from_secs(10);

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Status {
    Ok,
    Skip,
    Warn,
    Fail,
}

impl Status {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
        }
    }
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Check {
    pub(crate) name: &'static str,
    pub(crate) status: Status,
    /// What was found; lines after the first continue it.
    pub(crate) detail: String,
    /// What to do about it.
    pub(crate) hint: Option<String>,
}

impl Check {
    fn new(name: &'static str, status: Status, detail: impl Into<String>) -> Check {
        Check {
            name,
            status,
            detail: detail.into(),
            hint: None,
        }
    }

    fn hint(mut self, hint: impl Into<String>) -> Check {
        self.hint = Some(hint.into());
        self
    }

    /// A failure from an error: its message as the detail, its `hint:` line as the hint.
    fn from_error(name: &'static str, status: Status, error: &Error) -> Check {
        let (detail, hint) = split_hint(&error.to_string());
        Check {
            name,
            status,
            detail,
            hint,
        }
    }
}

/// A message and the hint it ends with (`...\nhint: what to do`), apart.
fn split_hint(message: &str) -> (String, Option<String>) {
    match message.rsplit_once("\nhint: ") {
        Some((detail, hint)) => (detail.to_string(), Some(hint.to_string())),
        None => (message.to_string(), None),
    }
}

/// What the checks learn and hand on to the later ones.
struct Findings {
    /// The credential request for the target, once the source is found.
    request: Option<CredentialRequest>,
    /// The credentials the source gave for the identity check.
    credentials: Option<Credentials>,
    /// The API endpoint the target's credential comes from.
    api_endpoint: String,
    /// Whether the API endpoint could be reached (see `endpoints`).
    api_reachable: bool,
    /// The cached entry for the target.
    entry: Option<Entry>,
    /// The kubeconfig context that runs the plugin for the target.
    context: Option<ExecContext>,
}

pub(crate) fn run(config: &DoctorConfig, env: &Env) -> Result<(), Error> {
    let settings = &config.settings;
    let target = config.target.as_ref();
    let mut redactor = Redactor::from_env(env);
    let mut checks = Vec::new();

    let found = chain::discover_explained(
        // No session store: doctor neither reads nor writes kept STS sessions.
        &chain_context(&settings.access, env, None),
        settings.access.profile.as_deref(),
        settings.access.role_arn.as_deref(),
    );
    checks.push(source::credentials(&found));
    let provider = found.ok().map(|found| found.provider);

    let (check, credentials) = source::identity(provider.as_deref(), settings);
    checks.push(check);
    if let Some(credentials) = &credentials {
        redactor.add_credentials(credentials);
    }

    let source_endpoints = provider
        .as_deref()
        .map(crate::credentials::Provider::endpoints)
        .unwrap_or_default();
    let region = provider
        .as_deref()
        .and_then(crate::credentials::Provider::region);
    let api_endpoint = settings.api_endpoint(region);
    let mut findings = Findings {
        request: None,
        credentials,
        api_endpoint: api_endpoint
            .as_ref()
            .map_or_else(|_| String::new(), Clone::clone),
        api_reachable: false,
        entry: None,
        context: None,
    };
    if let (Some(_), Some(provider)) = (target, provider) {
        findings.request = CredentialRequest::with_provider(settings, provider).ok();
    }

    let apis = network::apis(settings, target, api_endpoint.as_ref().ok());
    checks.push(network::clock(settings, &apis));
    let (check, unreachable) = network::endpoints(settings, &apis, source_endpoints);
    checks.push(check);
    findings.api_reachable =
        !findings.api_endpoint.is_empty() && !unreachable.contains(&findings.api_endpoint);

    checks.push(cache::check(settings, env, target, &mut findings));
    if let Some(credential) = findings.entry.as_ref().and_then(|e| e.credential.decode()) {
        redactor.add_status(&credential);
    }

    if let Some(target) = target {
        checks.push(kubeconfig::check(config, env, target, &mut findings));
        checks.push(apiserver::check(settings, target, &findings, &mut redactor));
    } else {
        let flags: Vec<String> = Target::FLAGS.iter().map(|f| format!("{f} ID")).collect();
        let (last, rest) = flags.split_last().expect("target flags");
        let why = format!("needs {} or {last}", rest.join(", "));
        checks.push(Check::new("kubeconfig", Status::Skip, why.clone()));
        checks.push(Check::new("apiserver", Status::Skip, why));
    }

    let checks: Vec<Check> = checks.into_iter().map(|c| redactor.check(c)).collect();
    super::print(&report::render(&checks, config.output))?;
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| c.name)
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::ChecksFailed(failed.join(", ")))
    }
}

/// A client for one check's calls.
fn client(settings: &Settings) -> Client {
    Client::new(
        settings.access.api_timeout.min(CHECK_BUDGET),
        &settings.access.client,
    )
}

/// The flags that name `target`, as a command line takes them.
fn target_flags(target: &Target) -> String {
    let flag = target.flag();
    match target.uid() {
        Some(uid) => format!("{flag} {} --uid {uid}", target.id()),
        None => format!("{flag} {}", target.id()),
    }
}

/// What `target` is, in words: `cluster c1`, `cluster c1 (uid 7)`, `mesh m1`.
fn target_name(target: &Target) -> String {
    let noun = target.noun();
    match target.uid() {
        Some(uid) => format!("{noun} {} (uid {uid})", target.id()),
        None => format!("{noun} {}", target.id()),
    }
}

/// `cache clear` for `target` (every entry of it: `cache clear` takes no uid).
fn clear_command(target: &Target) -> String {
    format!(
        "ack-credential-plugin cache clear {} {}",
        target.flag(),
        target.id()
    )
}

/// `kubeconfig ... --merge` for `target`, in backticks.
fn merge_command(target: &Target) -> String {
    format!(
        "`ack-credential-plugin kubeconfig {} --merge`",
        target_flags(target)
    )
}

/// Masks the secrets `doctor` handled in everything it prints: a second line of defence behind
/// messages that never carry one.
struct Redactor {
    secrets: Vec<String>,
}

/// Shorter strings are not masked: they would match by chance (and no secret is this short).
const MIN_SECRET: usize = 8;

impl Redactor {
    /// The secrets of the environment's credential variables.
    fn from_env(env: &Env) -> Redactor {
        let mut redactor = Redactor {
            secrets: Vec::new(),
        };
        for name in [
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
            "ALIBABA_CLOUD_SECURITY_TOKEN",
            "ALICLOUD_SECRET_KEY",
            "ALICLOUD_SECURITY_TOKEN",
        ] {
            if let Some(value) = env.get(name) {
                redactor.add(value);
            }
        }
        redactor
    }

    fn add(&mut self, secret: &str) {
        let secret = secret.trim();
        if secret.len() >= MIN_SECRET && !self.secrets.iter().any(|s| s == secret) {
            self.secrets.push(secret.to_string());
        }
    }

    fn add_secret(&mut self, secret: &Secret) {
        self.add(secret.expose());
    }

    fn add_credentials(&mut self, credentials: &Credentials) {
        self.add_secret(&credentials.access_key_secret);
        if let Some(token) = &credentials.security_token {
            self.add_secret(token);
        }
    }

    /// The key or token of a credential (the certificate is not secret).
    fn add_status(&mut self, status: &crate::exec_credential::Status) {
        for value in [&status.client_key_data, &status.token]
            .into_iter()
            .flatten()
        {
            self.add(value);
            for line in value.lines().filter(|l| !l.starts_with("-----")) {
                self.add(line);
            }
        }
    }

    fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.secrets {
            out = out.replace(secret.as_str(), "***");
        }
        if out.contains("PRIVATE KEY") {
            out = out
                .lines()
                .map(|line| {
                    if line.contains("PRIVATE KEY") {
                        "***"
                    } else {
                        line
                    }
                })
                .collect::<Vec<_>>()
                .join("\n");
        }
        out
    }

    fn check(&self, check: Check) -> Check {
        Check {
            detail: self.text(&check.detail),
            hint: check.hint.map(|hint| self.text(&hint)),
            ..check
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hint_is_split_from_its_message() {
        assert_eq!(
            split_hint("it failed\nbecause\nhint: do this"),
            (
                "it failed\nbecause".to_string(),
                Some("do this".to_string())
            )
        );
        assert_eq!(split_hint("it failed"), ("it failed".to_string(), None));
    }

    #[test]
    fn the_redactor_masks_every_secret_it_was_given() {
        let env = Env::from_pairs([("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "envSecretValue123")]);
        let mut redactor = Redactor::from_env(&env);
        redactor.add_credentials(&Credentials {
            access_key_id: "LTAIid".into(),
            access_key_secret: Secret::new("stsSecretValue456"),
            security_token: Some(Secret::new("stsTokenValue789")),
            expiration: None,
        });
        redactor.add("short");
        let check = Check::new(
            "identity",
            Status::Fail,
            "envSecretValue123 stsSecretValue456 LTAIid short",
        )
        .hint("-----BEGIN RSA PRIVATE KEY-----\nstsTokenValue789");
        let masked = redactor.check(check);
        assert_eq!(masked.detail, "*** *** LTAIid short");
        assert_eq!(masked.hint.as_deref(), Some("***\n***"));
    }
}
