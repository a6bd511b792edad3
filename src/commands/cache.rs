//! `cache list` and `cache clear`: what is cached (certificates, and the STS sessions kept for
//! roles), and dropping it. Never shows a key or secret. An entry's kind (cluster, mesh,
//! fleet) is the API that issued it, which its key holds.

use std::path::PathBuf;

use super::listing::plural;
use crate::cache::{Cache, Entry, KeyFields};
use crate::credentials::{identity, session};
use crate::error::Error;

pub(crate) fn list(dir: PathBuf) -> Result<(), Error> {
    let cache = Cache::new(dir);
    let entries = cache.entries()?;
    let sessions = cache.session_names()?;
    if entries.is_empty() && sessions.is_empty() {
        eprintln!("no cached credentials in {}", cache.dir().display());
        return Ok(());
    }
    let now = crate::time::now();
    let rows: Vec<[String; 6]> = entries
        .iter()
        .map(|(name, entry)| row(name, entry.as_ref(), now))
        .chain(sessions.iter().map(|name| session_row(&cache, name, now)))
        .collect();
    let cells: Vec<[&str; 6]> = rows
        .iter()
        .map(|row| row.each_ref().map(String::as_str))
        .collect();
    let out = super::listing::table(
        ["KIND", "ID", "UID", "IDENTITY", "EXPIRES", "STATE"],
        &cells,
    );
    super::print(&out)
}

/// What a cached credential is for, by the API that issued it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Cluster,
    Mesh,
    Fleet,
}

impl Kind {
    fn of(fields: &KeyFields) -> Kind {
        match fields.api.as_str() {
            crate::aliyun::servicemesh::ACTION => Kind::Mesh,
            crate::aliyun::adcp::ACTION => Kind::Fleet,
            _ => Kind::Cluster,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Cluster => "cluster",
            Kind::Mesh => "mesh",
            Kind::Fleet => "fleet",
        }
    }
}

/// Delete entries: all, or `only` one cluster's, mesh's or fleet's. Only the plugin's own entry
/// files are looked at: anything else in the directory stays, whatever its name.
pub(crate) fn clear(dir: PathBuf, only: Option<(Kind, &str)>) -> Result<(), Error> {
    let cache = Cache::new(dir);
    let removed = cache.clear(|key| {
        let fields = key.and_then(KeyFields::parse);
        match (only, &fields) {
            (None, _) => true,
            (Some((kind, id)), Some(f)) => f.id == id && Kind::of(f) == kind,
            (Some(_), None) => false,
        }
    })?;
    let sessions = if removed.sessions == 0 {
        String::new()
    } else {
        format!(
            " and {} STS session{}",
            removed.sessions,
            plural(removed.sessions)
        )
    };
    eprintln!(
        "removed {} cached credential{}{sessions} from {}",
        removed.entries,
        plural(removed.entries),
        cache.dir().display()
    );
    Ok(())
}

/// The row of a file that cannot be read, by its name (the table shows the empty cells as `-`).
fn unreadable(name: &str) -> [String; 6] {
    [
        "?".into(),
        name.to_string(),
        String::new(),
        String::new(),
        String::new(),
        "unreadable (ignored; refetched when needed)".into(),
    ]
}

/// A kept STS session: who it is for and until when.
fn session_row(cache: &Cache, name: &str, now: i64) -> [String; 6] {
    let Some(stored) = cache
        .read_file(name)
        .and_then(|bytes| session::parse(&bytes))
    else {
        return unreadable(name);
    };
    let state = if stored.is_reusable(now) {
        "valid"
    } else {
        "expired"
    };
    [
        "session".into(),
        String::new(),
        String::new(),
        identity::render(&stored.identity),
        crate::time::rfc3339(stored.expiration),
        state.into(),
    ]
}

fn row(name: &str, entry: Option<&Entry>, now: i64) -> [String; 6] {
    let Some((entry, fields)) = entry.and_then(|e| Some((e, KeyFields::parse(&e.key)?))) else {
        return unreadable(name);
    };
    let mut state = if entry.is_fresh(now) {
        "valid"
    } else if entry.is_usable(now) {
        "refresh due"
    } else {
        "expired"
    }
    .to_string();
    if let Some(failed) = &entry.refresh_failed {
        state.push_str(", refresh failed at ");
        state.push_str(&crate::time::rfc3339(failed.at));
    }
    let mut kind = Kind::of(&fields).name().to_string();
    if fields.private_ip {
        kind.push_str(" (private)");
    }
    [
        kind,
        fields.id,
        fields.uid.unwrap_or_default(),
        identity::render(&fields.identity),
        crate::time::rfc3339(entry.not_after),
        state,
    ]
}
