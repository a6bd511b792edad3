//! `get-credential`: what kubectl runs on every invocation.
//!
//! exec info → identity (no network) → key → load; on a hit, print and return. On a miss:
//! lock → re-load → credentials → API → certificate → save → print. The hit path builds no
//! HTTP client, reads one small file and writes one line.

use std::time::Duration;

use super::request::CredentialRequest;
use crate::cache::Entry;
use crate::config::GetCredentialConfig;
use crate::env::Env;
use crate::error::Error;
use crate::exec_credential;
use crate::log::verbose;
use crate::log::warn;

pub(crate) fn run(config: &GetCredentialConfig, env: &Env) -> Result<(), Error> {
    let settings = &config.settings;
    let api_version =
        exec_credential::api_version(config.exec_info.as_deref(), config.api_version)?;
    let request = CredentialRequest::resolve(settings, env)?;

    let before = request.load();
    if let Some(entry) = &before
        && !config.force_refresh
        && entry.is_fresh(crate::time::now())
    {
        verbose!("cache hit: {}", request.entry_path().display());
        return print(&api_version, entry, crate::time::now());
    }

    // A miss. Take the lock, then look again: another process may have just fetched it.
    let miss = request.lock(settings);
    let cached = miss.reload();
    let now = crate::time::now();
    if let Some(entry) = &cached
        // With --force-refresh, only an entry that another process wrote while we waited will do.
        && entry.is_fresh(now)
        && (!config.force_refresh || cached != before)
    {
        verbose!("fetched meanwhile by another process");
        return print(&api_version, entry, now);
    }

    // A refresh while the cached certificate still works gets a short budget: during an outage
    // kubectl should not wait the full timeout on every call before being served.
    let fallback = cached.filter(|entry| !config.force_refresh && entry.is_usable(now));
    let budget = match fallback {
        Some(_) => settings.api_timeout.min(REFRESH_BUDGET),
        None => settings.api_timeout,
    };
    match miss.fetch(settings, budget) {
        Ok(fetched) => {
            miss.store(&fetched.entry);
            print(&api_version, &fetched.entry, crate::time::now())
        }
        Err(error) => {
            let Some(mut entry) = fallback else {
                return Err(error);
            };
            let now = crate::time::now();
            warn(&format!(
                "could not refresh the certificate, serving the cached one, valid until {}: {error}",
                crate::time::rfc3339(entry.not_after)
            ));
            // Try again in a minute, not on every call until the certificate lapses.
            if entry.postpone_refresh(now) {
                miss.store(&entry);
            }
            print(&api_version, &entry, now)
        }
    }
}

/// The most a refresh may take while a still-valid certificate waits to be served.
const REFRESH_BUDGET: Duration = Duration::from_secs(8);

/// Write the ExecCredential to stdout in one piece.
fn print(api_version: &str, entry: &Entry, now: i64) -> Result<(), Error> {
    super::print(&exec_credential::render(
        api_version,
        &entry.credential,
        entry.expiration_to_print(now),
    ))
}
