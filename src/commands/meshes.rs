//! `meshes`: the ASM service meshes the caller can see (`DescribeServiceMeshes`), as a table or
//! as JSON.

use serde::Serialize;

use super::listing;
use crate::aliyun::servicemesh::MeshSummary;
use crate::cli::OutputFormat;
use crate::config::MeshesConfig;
use crate::env::Env;
use crate::error::Error;

pub(crate) fn run(config: &MeshesConfig, env: &Env) -> Result<(), Error> {
    let meshes = listing::meshes(&config.access, env)?;
    match config.output {
        OutputFormat::Json => super::print_json(&Listing { meshes: &meshes }),
        OutputFormat::Text if meshes.is_empty() => {
            eprintln!("no meshes for this identity");
            Ok(())
        }
        OutputFormat::Text => {
            let rows: Vec<[&str; 6]> = meshes
                .iter()
                .map(|m| {
                    [
                        m.id.as_str(),
                        &m.name,
                        &m.region,
                        &m.state,
                        &m.version,
                        &m.edition,
                    ]
                })
                .collect();
            super::print(&listing::table(
                ["ID", "NAME", "REGION", "STATE", "VERSION", "EDITION"],
                &rows,
            ))
        }
    }
}

/// `-o json`: `{"meshes": [...]}`, fields in README's order ([`MeshSummary`]'s).
#[derive(Serialize)]
struct Listing<'a> {
    meshes: &'a [MeshSummary],
}
