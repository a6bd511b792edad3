//! `cache`: the directory (whether the plugin can use it as it is), and with a target its
//! entry (expiry, refresh point, a background refresh that failed) and a standing failure note.
//! Read only: nothing is created, tightened, locked or swept.

use std::fmt::Write as _;

use super::{Check, Findings, Status};
use crate::cache::{Cache, Counts, Entry, Health, KeyFields};
use crate::commands::listing::plural;
use crate::commands::request::CredentialRequest;
use crate::config::{Settings, Target};
use crate::credentials::identity;
use crate::env::Env;
use crate::time::rfc3339;

pub(super) fn check(
    settings: &Settings,
    env: &Env,
    target: Option<&Target>,
    findings: &mut Findings,
) -> Check {
    let cache = Cache::new(settings.cache_dir.clone());
    let mut check = directory(&cache);
    if let (Some(target), Some(request)) = (target, &findings.request) {
        findings.entry = entry(&mut check, settings, env, target, request);
    }
    check
}

/// Whether the plugin can use the directory as it is.
fn directory(cache: &Cache) -> Check {
    let dir = cache.dir().display().to_string();
    match cache.health() {
        Health::Missing => Check::new(
            "cache",
            Status::Ok,
            format!("{dir} does not exist yet: the first fetch makes it (mode 700)"),
        ),
        Health::Private(counts) => Check::new(
            "cache",
            Status::Ok,
            format!("{dir}: private to you; {}", holds(counts)),
        ),
        Health::Loose {
            mode,
            writable: true,
            counts,
        } => Check::new(
            "cache",
            Status::Warn,
            format!(
                "{dir}: others can write to it (mode {mode:o}); {}: nothing in it is used, \
                 and the next fetch makes it private and empties it",
                holds(counts)
            ),
        )
        .hint(format!("chmod 700 {dir}")),
        Health::Loose {
            mode,
            writable: false,
            counts,
        } => Check::new(
            "cache",
            Status::Warn,
            format!(
                "{dir}: others can read it (mode {mode:o}); {}: the next fetch makes it \
                 private",
                holds(counts)
            ),
        )
        .hint(format!("chmod 700 {dir}")),
        Health::Refused(why) => Check::new(
            "cache",
            Status::Fail,
            format!(
                "{dir} cannot be used: {why}\nuntil it can, every kubectl call fetches a new \
                 certificate, and none is kept"
            ),
        )
        .hint(format!(
            "make it yours and private, holding only the plugin's files (chmod 700 {dir}), or \
             cache elsewhere with --cache-dir or ACK_CACHE_DIR"
        )),
    }
}

/// The target's entry and failure note, added to `check`; the entry, for the API server check.
fn entry(
    check: &mut Check,
    settings: &Settings,
    env: &Env,
    target: &Target,
    request: &CredentialRequest,
) -> Option<Entry> {
    let now = crate::time::now();
    let what = super::target_name(target);
    let entry = request.load();
    let line = match &entry {
        None => format!("no certificate cached for {what}: the next call fetches one"),
        Some(entry) => {
            let identity = KeyFields::parse(&entry.key)
                .map(|fields| format!(" (as {})", identity::render(&fields.identity)))
                .unwrap_or_default();
            let valid = rfc3339(entry.not_after);
            let due = rfc3339(entry.refresh_at);
            if entry.is_fresh(now) {
                format!("{what}{identity}: cached, valid until {valid}, refresh due at {due}")
            } else if entry.is_usable(now) {
                format!(
                    "{what}{identity}: cached, valid until {valid}, due for refresh since {due}: \
                     the next call refreshes it"
                )
            } else {
                format!(
                    "{what}{identity}: the cached certificate expired at {valid}: the next call \
                     fetches a new one"
                )
            }
        }
    };
    let _ = write!(check.detail, "\n{line}");
    let verbose = format!(
        "ack-credential-plugin get-credential {} -v",
        super::target_flags(target)
    );
    if let Some(failed) = entry.as_ref().and_then(|e| e.refresh_failed.as_ref()) {
        let _ = write!(
            check.detail,
            "\nthe last refresh failed at {}: {}",
            rfc3339(failed.at),
            failed.message
        );
        check.status = check.status.max(Status::Warn);
        check.hint = Some(format!(
            "the next call tries again; to see it happen: {verbose}"
        ));
    }
    if let Some(note) = request.note(&request.route(settings, env)) {
        let _ = write!(
            check.detail,
            "\na fetch failed at {}; until {} calls fail at once with: {}",
            rfc3339(note.at),
            rfc3339(note.until),
            note.message
        );
        check.status = check.status.max(Status::Warn);
        check.hint = Some(format!("wait a few seconds, then: {verbose}"));
    }
    entry
}

/// `2 entries`, `no entries, and files the plugin did not make (left alone)`.
fn holds(counts: Counts) -> String {
    let mut text = match counts.entries {
        0 => "no cached certificates".to_string(),
        1 => "1 cached certificate".to_string(),
        n => format!("{n} cached certificates"),
    };
    if counts.sessions > 0 {
        let _ = write!(
            text,
            ", {} STS session{}",
            counts.sessions,
            plural(counts.sessions)
        );
    }
    if counts.foreign {
        text.push_str(", and files the plugin did not make (left alone)");
    }
    text
}
