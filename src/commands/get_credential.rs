//! `get-credential`: what kubectl runs on every invocation.
//!
//! exec info → identity (no network) → key → load; on a hit, print and return. Inside the
//! refresh window with time to spare, print the cached certificate and start a detached
//! refresher (`refresh.rs`). On a miss: lock (re-reading the entry and the failure note while
//! another process fetches) → re-load → credentials → API → certificate → save → print. The hit
//! path builds no HTTP client, reads one small file and writes one line.

use std::time::Duration;

use super::refresh;
use super::request::{CredentialRequest, Wait};
use crate::cache::{Entry, Note};
use crate::config::GetCredentialConfig;
use crate::env::Env;
use crate::error::Error;
use crate::exec_credential;
use crate::log::verbose;
use crate::log::warn;

pub(crate) fn run(config: &GetCredentialConfig, env: &Env) -> Result<(), Error> {
    if config.refresh_in_background {
        return refresh::run(config, env);
    }
    let settings = &config.settings;
    let api_version =
        exec_credential::api_version(config.exec_info.as_deref(), config.api_version)?;
    let request = CredentialRequest::resolve(settings, env, config.force_refresh)?;

    let before = request.load();
    let now = crate::time::now();
    if let Some(entry) = &before
        && !config.force_refresh
        && entry.is_fresh(now)
    {
        verbose!("cache hit: {}", request.entry_path().display());
        return print(&api_version, entry, now);
    }

    // Due for refresh but good for a while yet: print it at once (kubectl must not wait on the
    // API) and leave the fetch to a detached refresher.
    if let Some(entry) = &before
        && !config.force_refresh
        && config.background_refresh
        && entry.can_wait_for_refresh(now)
    {
        verbose!(
            "cache hit, due for refresh: {}",
            request.entry_path().display()
        );
        print(&api_version, entry, now)?;
        refresh::start(&request, &request.route(settings, env));
        return Ok(());
    }
    let route = request.route(settings, env);

    // A fetch of this credential failed a moment ago: fail at once with its error (or serve the
    // cached certificate while it works) rather than spend another budget on an API that is
    // down. Not with --force-refresh, which always asks.
    let notes_for = (!config.force_refresh).then_some(route.as_str());
    if let Some(route) = notes_for
        && let Some(note) = request.note(route)
    {
        return noted(&api_version, before, note);
    }

    // A miss. Take the lock; while another process fetches, re-read what it stores. With
    // --force-refresh, only an entry that another process wrote meanwhile will do.
    let wanted = |entry: &Entry| {
        entry.is_fresh(crate::time::now())
            && (!config.force_refresh || Some(entry) != before.as_ref())
    };
    let miss = match request.wait(settings, wanted, notes_for) {
        Wait::Miss(miss) => miss,
        Wait::Found(entry) => {
            verbose!("fetched meanwhile by another process");
            return print(&api_version, &entry, crate::time::now());
        }
        Wait::Failed(note) => return noted(&api_version, before, note),
    };

    // Look again under the lock: the holder before us may have just finished.
    let cached = miss.reload();
    if let Some(entry) = cached.as_ref().filter(|entry| wanted(entry)) {
        verbose!("fetched meanwhile by another process");
        return print(&api_version, entry, crate::time::now());
    }
    if let Some(route) = notes_for
        && let Some(note) = miss.note(route)
    {
        return noted(&api_version, cached, note);
    }

    // A refresh while the cached certificate still works gets a short budget: during an outage
    // kubectl should not wait the full timeout on every call before being served.
    let now = crate::time::now();
    let fallback = cached.filter(|entry| !config.force_refresh && entry.is_usable(now));
    let budget = match fallback {
        Some(_) => settings.access.api_timeout.min(REFRESH_BUDGET),
        None => settings.access.api_timeout,
    };
    match miss.fetch(settings, budget) {
        Ok(fetched) => {
            miss.store(&fetched.entry);
            print(&api_version, &fetched.entry, crate::time::now())
        }
        Err(error) => {
            miss.record_failure(&error, route, fallback.as_ref(), false);
            let Some(entry) = fallback else {
                return Err(error);
            };
            serve_stale(&entry, &error.to_string());
            print(&api_version, &entry, crate::time::now())
        }
    }
}

/// A fetch failed a moment ago (another process's, or ours): serve the cached certificate
/// while it works (quietly: that fetch warned already); else fail with that fetch's error, as
/// it was shown.
fn noted(api_version: &str, cached: Option<Entry>, note: Note) -> Result<(), Error> {
    verbose!(
        "a fetch of this credential failed {} s ago; not asking again before {}",
        crate::time::now() - note.at,
        crate::time::rfc3339(note.until)
    );
    let now = crate::time::now();
    match cached.filter(|entry| entry.is_usable(now)) {
        Some(entry) => print(api_version, &entry, now),
        None => Err(Error::Noted {
            message: note.message,
            exit_code: note.exit_code,
        }),
    }
}

fn serve_stale(entry: &Entry, why: &str) {
    warn(&format!(
        "could not refresh the certificate, serving the cached one, valid until {}: {why}",
        crate::time::rfc3339(entry.not_after)
    ));
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
