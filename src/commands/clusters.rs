//! `clusters`: the ACK clusters the caller can see, every page of `DescribeClustersV1`, as a
//! table or as JSON.

use serde::Serialize;

use super::listing;
use crate::aliyun::cs::ClusterSummary;
use crate::cli::OutputFormat;
use crate::config::ClustersConfig;
use crate::env::Env;
use crate::error::Error;

pub(crate) fn run(config: &ClustersConfig, env: &Env) -> Result<(), Error> {
    let clusters = listing::clusters(&config.access, env, config.region.as_deref())?;
    match config.output {
        OutputFormat::Json => super::print_json(&Listing {
            clusters: &clusters,
        }),
        OutputFormat::Text if clusters.is_empty() => {
            eprintln!(
                "no clusters{} for this identity",
                config
                    .region
                    .as_deref()
                    .map_or(String::new(), |r| format!(" in {r}"))
            );
            Ok(())
        }
        OutputFormat::Text => {
            let rows: Vec<[&str; 6]> = clusters
                .iter()
                .map(|c| {
                    [
                        c.id.as_str(),
                        &c.name,
                        &c.region,
                        &c.cluster_type,
                        &c.state,
                        &c.version,
                    ]
                })
                .collect();
            super::print(&listing::table(
                ["ID", "NAME", "REGION", "TYPE", "STATE", "VERSION"],
                &rows,
            ))
        }
    }
}

/// `-o json`: `{"clusters": [...]}`, fields in README's order ([`ClusterSummary`]'s).
#[derive(Serialize)]
struct Listing<'a> {
    clusters: &'a [ClusterSummary],
}
