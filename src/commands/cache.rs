//! `cache list` and `cache clear`: what is cached, and dropping it. Never shows a key or secret.

use std::path::PathBuf;

use crate::cache::{Cache, Entry, KeyFields};
use crate::error::Error;

pub(crate) fn list(dir: PathBuf) -> Result<(), Error> {
    let cache = Cache::new(dir);
    let entries = cache.entries()?;
    if entries.is_empty() {
        eprintln!("no cached credentials in {}", cache.dir().display());
        return Ok(());
    }
    let now = crate::time::now();
    let rows: Vec<[String; 6]> = entries
        .iter()
        .map(|(name, entry)| row(name, entry.as_ref(), now))
        .collect();
    let header = ["KIND", "ID", "UID", "IDENTITY", "EXPIRES", "STATE"].map(String::from);
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    super::print(&out)
}

/// Delete entries (all, or one cluster's or mesh's). Only the plugin's own entry files are
/// looked at: anything else in the directory stays, whatever its name.
pub(crate) fn clear(
    dir: PathBuf,
    cluster_id: Option<&str>,
    mesh_id: Option<&str>,
) -> Result<(), Error> {
    let cache = Cache::new(dir);
    let removed = cache.clear(|key| {
        let fields = key.and_then(KeyFields::parse);
        match (cluster_id, mesh_id, &fields) {
            (None, None, _) => true,
            (Some(id), _, Some(f)) => f.id == id && !is_mesh(f),
            (_, Some(id), Some(f)) => f.id == id && is_mesh(f),
            _ => false,
        }
    })?;
    eprintln!(
        "removed {removed} cached credential{} from {}",
        if removed == 1 { "" } else { "s" },
        cache.dir().display()
    );
    Ok(())
}

fn is_mesh(fields: &KeyFields) -> bool {
    fields.api == crate::aliyun::servicemesh::ACTION
}

fn row(name: &str, entry: Option<&Entry>, now: i64) -> [String; 6] {
    let Some((entry, fields)) = entry.and_then(|e| Some((e, KeyFields::parse(&e.key)?))) else {
        return [
            "?".into(),
            name.to_string(),
            "-".into(),
            "-".into(),
            "-".into(),
            "unreadable (ignored; refetched when needed)".into(),
        ];
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
    let mut kind = if is_mesh(&fields) { "mesh" } else { "cluster" }.to_string();
    if fields.private_ip {
        kind.push_str(" (private)");
    }
    [
        kind,
        fields.id,
        fields.uid.unwrap_or_else(|| "-".into()),
        fields.identity,
        crate::time::rfc3339(entry.not_after),
        state,
    ]
}
