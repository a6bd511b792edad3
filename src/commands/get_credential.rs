//! `get-credential`: what kubectl runs on every invocation.
//!
//! exec info → identity (no network) → key → load; on a hit, print and return. On a miss:
//! lock → re-load → credentials → API → certificate → save → print. The hit path builds no
//! HTTP client, reads one small file and writes one line.

use std::io::Write;

use crate::aliyun::Client;
use crate::aliyun::cs::{self, UserKubeconfigRequest};
use crate::cache::{Cache, CacheKey, Entry, KeyInput};
use crate::config::{Env, GetCredentialConfig};
use crate::credentials::{Provider, chain};
use crate::error::Error;
use crate::exec_credential;
use crate::kubeconfig::Kubeconfig;
use crate::log::warn;
use crate::{cert, verbose};

pub fn run(config: &GetCredentialConfig, env: &Env) -> Result<(), Error> {
    let api_version =
        exec_credential::api_version(config.exec_info.as_deref(), config.api_version)?;
    let home = env
        .get("HOME")
        .map(std::path::PathBuf::from)
        .or_else(dirs::home_dir);
    let context = chain::Context {
        env,
        home,
        sts: &config.sts,
        ecs_endpoint: config.ecs_endpoint.clone(),
        imds_v1_disabled: config.imds_v1_disabled,
    };
    let provider = chain::discover(
        &context,
        config.profile.as_deref(),
        config.role_arn.as_deref(),
    )?;
    let cs_endpoint = config.cs_endpoint(provider.region())?;
    let request = UserKubeconfigRequest {
        cluster_id: &config.cluster_id,
        uid: config.uid.as_deref(),
        private_ip: config.private_ip,
        minutes: config.minutes,
    };
    let identity = provider.identity();
    let key = CacheKey::new(&KeyInput {
        api: request.action(),
        cluster_id: &config.cluster_id,
        uid: config.uid.as_deref(),
        private_ip: config.private_ip,
        minutes: config.minutes,
        endpoint: &cs_endpoint,
        identity: &identity,
    });
    let cache = Cache::new(config.cache_dir.clone());

    let before = cache.load(&key);
    if let Some(entry) = &before
        && !config.force_refresh
        && entry.is_fresh(crate::time::now())
    {
        verbose!("cache hit: {}", cache.entry_path(&key).display());
        return print(&api_version, entry, crate::time::now());
    }

    // A miss. Take the lock, then look again: another process may have just fetched it.
    let _lock = match cache.lock(&key, config.lock_timeout)? {
        Some(lock) => Some(lock),
        None => {
            warn(&format!(
                "gave up waiting {} s for another process fetching the same credential; fetching it here",
                config.lock_timeout.as_secs()
            ));
            None
        }
    };
    let cached = cache.load(&key);
    if let Some(entry) = &cached {
        let now = crate::time::now();
        // With --force-refresh, only an entry that another process wrote while we waited will do.
        if entry.is_fresh(now) && (!config.force_refresh || cached != before) {
            verbose!("fetched meanwhile by another process");
            return print(&api_version, entry, now);
        }
    }

    verbose!("credentials: {}", provider.describe());
    match fetch(config, provider.as_ref(), &cs_endpoint, &request, &key) {
        Ok(entry) => {
            if let Err(e) = cache.store(&key, &entry) {
                warn(&format!(
                    "could not cache the certificate in {}: {e}",
                    config.cache_dir.display()
                ));
            }
            print(&api_version, &entry, crate::time::now())
        }
        Err(error) => {
            let now = crate::time::now();
            match cached {
                Some(entry) if !config.force_refresh && entry.is_usable(now) => {
                    warn(&format!(
                        "could not refresh the certificate, serving the cached one, valid until {}: {error}",
                        crate::time::rfc3339(entry.not_after)
                    ));
                    print(&api_version, &entry, now)
                }
                _ => Err(error),
            }
        }
    }
}

/// Ask the API for a kubeconfig and turn its user into a cache entry.
fn fetch(
    config: &GetCredentialConfig,
    provider: &dyn Provider,
    cs_endpoint: &str,
    request: &UserKubeconfigRequest,
    key: &CacheKey,
) -> Result<Entry, Error> {
    let client = Client::new(config.api_timeout)?;
    let credentials = provider
        .credentials(&client)
        .map_err(|e| e.from_source(provider.describe()))?;
    let answer = cs::describe_user_kubeconfig(&client, cs_endpoint, &credentials, request)?;
    let bad = |detail: String| Error::BadResponse {
        action: request.action(),
        request_id: answer.request_id.clone(),
        detail,
    };
    let credential = Kubeconfig::parse(&answer.config)
        .and_then(|kubeconfig| kubeconfig.credential())
        .map_err(bad)?;
    let validity = match &credential.client_certificate_data {
        Some(pem) => Some(cert::validity(pem).map_err(bad)?),
        None => None,
    };
    if let Some(validity) = validity {
        verbose!(
            "certificate valid from {} to {}",
            crate::time::rfc3339(validity.not_before),
            crate::time::rfc3339(validity.not_after)
        );
    }
    Entry::new(
        key.canonical.clone(),
        credential,
        crate::time::now(),
        validity,
        answer.expiration,
        i64::from(config.minutes) * 60,
    )
    .map_err(bad)
}

/// Write the ExecCredential to stdout in one piece.
fn print(api_version: &str, entry: &Entry, now: i64) -> Result<(), Error> {
    let document = exec_credential::render(
        api_version,
        &entry.credential,
        entry.expiration_to_print(now),
    );
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(document.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(Error::Output)
}
