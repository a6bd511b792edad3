//! `meshes`: the ASM service meshes the caller can see (`DescribeServiceMeshes`), as a table or
//! as JSON.

use serde::Serialize;

use super::listing;
use crate::cli::OutputFormat;
use crate::config::MeshesConfig;
use crate::env::Env;
use crate::error::Error;

pub(crate) fn run(config: &MeshesConfig, env: &Env) -> Result<(), Error> {
    let meshes = listing::meshes(&config.access, env)?;
    match config.output {
        OutputFormat::Json => {
            let meshes: Vec<Mesh> = meshes
                .iter()
                .map(|m| Mesh {
                    id: &m.id,
                    name: &m.name,
                    region: &m.region,
                    state: &m.state,
                    version: &m.version,
                    edition: &m.edition,
                })
                .collect();
            super::print_json(&Listing { meshes })
        }
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

/// `-o json`: `{"meshes": [...]}`, fields in README's order.
#[derive(Serialize)]
struct Listing<'a> {
    meshes: Vec<Mesh<'a>>,
}

#[derive(Serialize)]
struct Mesh<'a> {
    id: &'a str,
    name: &'a str,
    region: &'a str,
    state: &'a str,
    version: &'a str,
    edition: &'a str,
}
