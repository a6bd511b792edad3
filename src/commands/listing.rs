//! Listing what the caller can reach, the part `clusters`, `meshes` and `kubeconfig
//! --cluster-name`/`--all` share: find the credential source as `get-credential` does, get its
//! credentials once, and call the product's list API ([`cs::describe_clusters`],
//! [`servicemesh::describe_service_meshes`]). Also how what they list is shown, in a table or a
//! message ([`table`], [`shown`], [`plural`]).

use super::request::chain_context;
use crate::aliyun::cs::{self, ClusterSummary};
use crate::aliyun::servicemesh::{self, MeshSummary};
use crate::aliyun::{Client, Credentials};
use crate::config::Access;
use crate::credentials::chain;
use crate::env::Env;
use crate::error::Error;
use crate::log::verbose;

/// A caller ready to call: its credentials, fetched once, and a client within the API budget.
struct Caller {
    client: Client,
    credentials: Credentials,
    /// The credential source's own region (an aliyun CLI profile's `region_id`).
    source_region: Option<String>,
}

impl Caller {
    fn new(access: &Access, env: &Env) -> Result<Caller, Error> {
        // The list commands name no cache directory: no STS session is kept for them.
        let provider = chain::discover(
            &chain_context(access, env, None),
            access.profile.as_deref(),
            access.role_arn.as_deref(),
        )?;
        verbose!("credentials: {}", provider.describe());
        let client = Client::new(access.api_timeout, &access.client);
        let credentials = provider
            .credentials(&client)
            .map_err(|e| e.with_source(provider.describe()))?;
        Ok(Caller {
            client,
            credentials,
            source_region: provider.region().map(str::to_string),
        })
    }
}

/// Every cluster the caller can see, in every region or in `region` only.
pub(crate) fn clusters(
    access: &Access,
    env: &Env,
    region: Option<&str>,
) -> Result<Vec<ClusterSummary>, Error> {
    let caller = Caller::new(access, env)?;
    let endpoint = access.cs_endpoint(caller.source_region.as_deref())?;
    let clusters = cs::describe_clusters(&caller.client, &endpoint, &caller.credentials, region)?;
    verbose!("{} cluster(s) listed", clusters.len());
    Ok(clusters)
}

/// Every mesh the caller can see.
pub(crate) fn meshes(access: &Access, env: &Env) -> Result<Vec<MeshSummary>, Error> {
    let caller = Caller::new(access, env)?;
    let meshes = servicemesh::describe_service_meshes(
        &caller.client,
        &access.asm_endpoint(),
        &caller.credentials,
    )?;
    verbose!("{} mesh(es) listed", meshes.len());
    Ok(meshes)
}

/// A value from the API as a table or a message shows it: `-` for an empty one, control
/// characters as `?` (a terminal must not take a cluster's name for a command).
pub(crate) fn shown(text: &str) -> String {
    if text.is_empty() {
        return "-".to_string();
    }
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// The ending of a noun counted `n` times: `1 cluster`, `2 clusters`, `0 clusters`.
pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Rows as an aligned text table under `header`, two spaces between columns, every cell
/// [`shown`].
pub(crate) fn table<const N: usize>(header: [&str; N], rows: &[[&str; N]]) -> String {
    let cells: Vec<[String; N]> = rows.iter().map(|row| row.map(shown)).collect();
    let header = header.map(str::to_string);
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&cells) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_and_show_no_control_characters() {
        let text = table(
            ["ID", "NAME"],
            &[["c1", "prod\u{1b}[2J"], ["c22", ""], ["c3", "名前"]],
        );
        assert_eq!(text, "ID   NAME\nc1   prod?[2J\nc22  -\nc3   名前\n");
    }
}
