//! `get-credential`'s arguments read without clap, for the common case.
//!
//! kubectl runs `get-credential` with a handful of `--flag value` pairs on every call, and
//! building clap's parser was the largest cost of a cache hit after starting the process. This
//! reads exactly those forms (`--flag value`, `--flag=value`, switches). Anything else — help,
//! an unknown, repeated or short flag, a value that looks like a flag or is empty, a conflict, a
//! missing target — gives `None`, and clap parses the arguments instead and reports any error.
//!
//! It is held to clap mechanically: every argument of clap's `get-credential` is in
//! [`SWITCHES`], [`VALUED`] or [`CLAP_ONLY`], with the same shape; whatever this parser answers,
//! clap answers the same; and whatever clap accepts, this parser accepts too unless a clap-only
//! form is in it. `kubeconfig`'s exec args round-trip through it (tested there).

use std::ffi::OsString;

use super::{ApiVersionArg, GetCredentialArgs};

/// The switches read here, by long name.
const SWITCHES: &[&str] = &[
    "private-ip",
    "verbose",
    "force-refresh",
    "no-background-refresh",
    "refresh-in-background",
];

/// The flags with a value read here, by long name.
const VALUED: &[&str] = &[
    "cluster-id",
    "uid",
    "mesh-id",
    "fleet-id",
    "expiration",
    "profile",
    "role-arn",
    "region",
    "cache-dir",
    "cs-endpoint",
    "asm-endpoint",
    "adcp-endpoint",
    "sts-endpoint",
    "api-version",
];

/// clap's arguments of `get-credential` left to clap: asking for help is never kubectl's call.
/// (Short forms such as `-v` are left to clap too.) Only the tests read it.
#[cfg(test)]
const CLAP_ONLY: &[&str] = &["help"];

pub(crate) fn parse_get_credential(args: &[OsString]) -> Option<GetCredentialArgs> {
    let mut parsed = GetCredentialArgs::default();
    // A list, not a set: a handful of names, and a `HashSet` seeds its hasher from the OS
    // (a `getrandom` call on every kubectl call).
    let mut seen: Vec<&str> = Vec::with_capacity(8);
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let arg = arg.to_str()?.strip_prefix("--")?;
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (arg, None),
        };
        if seen.contains(&name) {
            return None;
        }
        seen.push(name);
        if SWITCHES.contains(&name) {
            if inline.is_some() {
                return None;
            }
            *switch(&mut parsed, name)? = true;
        } else if VALUED.contains(&name) {
            let value = match inline {
                Some(value) => value,
                None => args.next()?.to_str()?,
            };
            if value.starts_with('-') || value.is_empty() {
                return None;
            }
            set_value(&mut parsed, name, value)?;
        } else {
            return None;
        }
    }
    let t = &parsed.target;
    let targets = [&t.cluster_id, &t.mesh_id, &t.fleet_id];
    let one_target = targets.iter().filter(|id| id.is_some()).count() == 1;
    // --uid and --expiration are the cluster's alone.
    let conflict = t.cluster_id.is_none() && (t.uid.is_some() || t.expiration.is_some());
    (one_target && !conflict).then_some(parsed)
}

fn switch<'a>(parsed: &'a mut GetCredentialArgs, name: &str) -> Option<&'a mut bool> {
    Some(match name {
        "private-ip" => &mut parsed.target.private_ip,
        "verbose" => &mut parsed.target.verbose,
        "force-refresh" => &mut parsed.force_refresh,
        "no-background-refresh" => &mut parsed.target.no_background_refresh,
        "refresh-in-background" => &mut parsed.refresh_in_background,
        _ => return None,
    })
}

/// Store a flag's value; `None` for an unknown flag or a value clap would refuse.
fn set_value(parsed: &mut GetCredentialArgs, name: &str, value: &str) -> Option<()> {
    let t = &mut parsed.target;
    let slot = match name {
        "cluster-id" => &mut t.cluster_id,
        "uid" => &mut t.uid,
        "mesh-id" => &mut t.mesh_id,
        "fleet-id" => &mut t.fleet_id,
        "expiration" => &mut t.expiration,
        "profile" => &mut t.profile,
        "role-arn" => &mut t.role_arn,
        "region" => &mut t.region,
        "cs-endpoint" => &mut t.cs_endpoint,
        "asm-endpoint" => &mut t.asm_endpoint,
        "adcp-endpoint" => &mut t.adcp_endpoint,
        "sts-endpoint" => &mut t.sts_endpoint,
        "cache-dir" => {
            t.cache_dir = Some(value.into());
            return Some(());
        }
        "api-version" => {
            parsed.api_version = Some(match value {
                "v1" => ApiVersionArg::V1,
                "v1beta1" => ApiVersionArg::V1beta1,
                _ => return None,
            });
            return Some(());
        }
        _ => return None,
    };
    *slot = Some(value.to_string());
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::get_credential_command;
    use clap::FromArgMatches;

    fn os(argv: &[&str]) -> Vec<OsString> {
        argv.iter().map(Into::into).collect()
    }

    fn by_clap(argv: &[&str]) -> Option<GetCredentialArgs> {
        get_credential_command()
            .try_get_matches_from(std::iter::once("get-credential").chain(argv.iter().copied()))
            .ok()
            .map(|m| GetCredentialArgs::from_arg_matches(&m).unwrap())
    }

    /// Every clap argument is handled here or listed as clap-only, with the same shape, and
    /// nothing is handled here that clap does not have.
    #[test]
    fn every_clap_argument_is_read_here_or_left_to_clap() {
        let mut command = get_credential_command();
        command.build();
        let mut clap_names = Vec::new();
        for arg in command.get_arguments() {
            let name = arg
                .get_long()
                .expect("every get-credential argument has a long name");
            clap_names.push(name.to_string());
            let takes_value = arg.get_action().takes_values();
            if SWITCHES.contains(&name) {
                assert!(
                    !takes_value,
                    "--{name} is a switch here but takes a value in clap"
                );
            } else if VALUED.contains(&name) {
                assert!(
                    takes_value,
                    "--{name} takes a value here but is a switch in clap"
                );
            } else {
                assert!(
                    CLAP_ONLY.contains(&name),
                    "clap's --{name} is neither read by the fast parser nor listed as clap-only"
                );
            }
        }
        for name in SWITCHES.iter().chain(VALUED).chain(CLAP_ONLY) {
            assert!(
                clap_names.iter().any(|n| n == name),
                "--{name} is not an argument of clap's get-credential"
            );
        }
    }

    /// Each flag read here, given alone with a target, gives what clap gives.
    #[test]
    fn each_flag_read_here_agrees_with_clap() {
        let value = |name: &str| match name {
            "api-version" => "v1",
            "mesh-id" | "cluster-id" | "fleet-id" => "x1",
            _ => "some-value",
        };
        for name in SWITCHES.iter().chain(VALUED) {
            let flag = format!("--{name}");
            let mut argv = vec![flag.as_str()];
            if VALUED.contains(name) {
                argv.push(value(name));
            }
            if !matches!(*name, "cluster-id" | "mesh-id" | "fleet-id") {
                argv.extend(["--cluster-id", "c1"]);
            }
            let fast = parse_get_credential(&os(&argv));
            assert!(fast.is_some(), "{argv:?}");
            assert_eq!(fast, by_clap(&argv), "{argv:?}");
        }
    }

    /// Both directions, over random command lines: whenever the fast path answers, clap gives
    /// the same arguments; whenever clap accepts, the fast path answers too, unless a form it
    /// leaves to clap is in the line.
    #[test]
    fn fast_get_credential_parsing_agrees_with_clap() {
        use proptest::prelude::*;
        // Every flag the fast path reads (so a flag added to it is fuzzed at once), and odd forms.
        let flags = SWITCHES
            .iter()
            .chain(VALUED)
            .map(|name| format!("--{name}"));
        let odd = [
            "-v",
            "--help",
            "--cluster-id=c2",
            "--fleet-id=f2",
            "--private-ip=true",
            "--api-version=v1",
            "--nope",
            "--",
            "-",
            "c1",
            "m1",
            "123",
            "3h",
            "v1",
            "v1beta1",
            "v2",
            "http://127.0.0.1:1",
            "/tmp/c",
            "",
            "-x",
            "--uid=",
            "x=y",
        ];
        let tokens = prop::sample::select(
            flags
                .chain(odd.iter().map(|token| (*token).to_string()))
                .collect::<Vec<String>>(),
        );
        // What the fast path deliberately leaves to clap: short flags, `--`, help, empty values.
        let clap_only_form = |token: &str| {
            (token.starts_with('-') && !token.starts_with("--"))
                || token == "--"
                || token.is_empty()
                || token.ends_with('=')
                || CLAP_ONLY.contains(&token.trim_start_matches('-'))
        };
        let config = proptest::test_runner::Config::with_cases(4096);
        proptest!(config, |(argv in prop::collection::vec(tokens, 0..8))| {
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            let fast = parse_get_credential(&os(&argv));
            let clap = by_clap(&argv);
            if let Some(fast) = &fast {
                prop_assert_eq!(Some(fast), clap.as_ref(), "{:?}", argv);
            } else if clap.is_some() {
                prop_assert!(
                    argv.iter().any(|t| clap_only_form(t)),
                    "clap accepts {:?} but the fast path does not", argv
                );
            }
        });
    }
}
