//! Listing what the caller can reach, the part `clusters`, `meshes` and `kubeconfig
//! --cluster-name`/`--all` share: find the credential source as `get-credential` does, get its
//! credentials once, and call the product's list API ([`cs::describe_clusters`],
//! [`servicemesh::describe_service_meshes`]).

use crate::aliyun::cs::{self, ClusterSummary};
use crate::aliyun::servicemesh::{self, MeshSummary};
use crate::aliyun::{Client, Credentials};
use crate::config::Access;
use crate::credentials::{chain, context};
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
        let context = context::Context {
            env,
            home: env.home(),
            sts: &access.sts,
            ecs_endpoint: access.ecs_endpoint.clone(),
            imds_v1_disabled: access.imds_v1_disabled,
            dmi_dir: context::DMI_DIR.into(),
            // The list commands name no cache directory: no STS session is kept for them.
            session: None,
        };
        let provider = chain::discover(
            &context,
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

/// Rows as an aligned text table under `header`, two spaces between columns. Cells are shown
/// as text a terminal cannot take for a command (control characters become `?`), and an empty
/// cell as `-`.
pub(crate) fn table<const N: usize>(header: [&str; N], rows: &[[&str; N]]) -> String {
    let shown: Vec<[String; N]> = rows
        .iter()
        .map(|row| {
            row.map(|cell| {
                if cell.is_empty() {
                    "-".to_string()
                } else {
                    cell.chars()
                        .map(|c| if c.is_control() { '?' } else { c })
                        .collect()
                }
            })
        })
        .collect();
    let header = header.map(str::to_string);
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &shown {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&shown) {
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
