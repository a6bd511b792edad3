//! `get-credential`: what kubectl runs on every invocation.
//!
//! exec info → identity (no network) → key → load; on a hit, print and return. On a miss:
//! lock → re-load → credentials → API → certificate → save → print. The hit path builds no
//! HTTP client, reads one small file and writes one line.

use std::io::Write;

use super::credential;
use crate::cache::Entry;
use crate::config::{Env, GetCredentialConfig};
use crate::error::Error;
use crate::exec_credential;
use crate::log::warn;
use crate::verbose;

pub fn run(config: &GetCredentialConfig, env: &Env) -> Result<(), Error> {
    let settings = &config.settings;
    let api_version =
        exec_credential::api_version(config.exec_info.as_deref(), config.api_version)?;
    let prepared = credential::prepare(settings, env)?;

    let before = prepared.cache.load(&prepared.key);
    if let Some(entry) = &before
        && !config.force_refresh
        && entry.is_fresh(crate::time::now())
    {
        verbose!(
            "cache hit: {}",
            prepared.cache.entry_path(&prepared.key).display()
        );
        return print(&api_version, entry, crate::time::now());
    }

    // A miss. Take the lock, then look again: another process may have just fetched it.
    let _lock = prepared.lock(settings)?;
    let cached = prepared.cache.load(&prepared.key);
    if let Some(entry) = &cached {
        let now = crate::time::now();
        // With --force-refresh, only an entry that another process wrote while we waited will do.
        if entry.is_fresh(now) && (!config.force_refresh || cached != before) {
            verbose!("fetched meanwhile by another process");
            return print(&api_version, entry, now);
        }
    }

    match prepared.fetch(settings) {
        Ok(fetched) => {
            prepared.store(&fetched.entry);
            print(&api_version, &fetched.entry, crate::time::now())
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
