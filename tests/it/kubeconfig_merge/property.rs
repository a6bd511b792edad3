//! Property: any kubeconfig kubectl accepts.

use super::*;

mod random {
    //! Random kubeconfigs, written as text so that plain and quoted scalars both occur, with
    //! names and values drawn from YAML 1.1 words, numbers as strings, unicode and syntax.

    use std::fmt::Write as _;

    use proptest::prelude::*;

    const WORDS: &[&str] = &[
        "prod",
        "no",
        "on",
        "yes",
        "y",
        "N",
        "Off",
        "true",
        "1_000",
        "0x1f",
        "1e3",
        "~",
        "null",
        "2001-12-14",
        "1:20",
        ".inf",
        "12345",
        "10.0.0.1",
        "名前",
        "with space",
        "a: b",
        "#hash",
        "-dash",
        "é",
        "🚀",
        "x'y",
        "q\"z",
        "tab\there",
        "",
    ];

    /// A string in one of YAML's styles.
    fn styled(text: &str, style: u8) -> String {
        let plain_ok = !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_alphanumeric() || "._-".contains(c))
            && !text.starts_with(['-', '.']);
        match style {
            0 if plain_ok => text.to_string(),
            1 if !text.contains(['\t']) => format!("'{}'", text.replace('\'', "''")),
            _ => serde_json::to_string(text).unwrap(),
        }
    }

    fn word() -> impl Strategy<Value = String> {
        (prop::sample::select(WORDS), 0u8..3).prop_map(|(w, style)| styled(w, style))
    }

    /// The JSON key kubectl makes of a mapping key written `key` (in [`styled`]'s forms): a
    /// plain `yes`, `on` and `true` are all the boolean true to its YAML 1.1 reader, and so all
    /// `"true"` in `kubectl config view -o json`. Two keys of one mapping that come out the same
    /// are one key to kubectl, and which value it shows depends on Go's map order (random), so
    /// a generated mapping never holds two keys this maps to one JSON key.
    fn json_key(key: &str) -> String {
        if key.starts_with(['\'', '"']) {
            return key[1..key.len() - 1].to_string();
        }
        match key {
            "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
                "true"
            }
            "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False"
            | "FALSE" => "false",
            "~" | "null" | "Null" | "NULL" | "" => "null",
            "1_000" | "1e3" => "1000",
            "0x1f" => "31",
            other => other,
        }
        .to_string()
    }

    /// An extension value: scalars of every type and style, nested a little.
    fn value() -> impl Strategy<Value = String> {
        let scalar = prop_oneof![
            word(),
            prop::sample::select(vec![
                "42", "-7", "3.14", "true", "false", "~", "yes", "on", "0o17"
            ])
            .prop_map(String::from),
        ];
        scalar.prop_recursive(2, 12, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(", "))),
                prop::collection::vec((word(), inner), 0..4).prop_map(|v| {
                    let mut seen = std::collections::HashSet::new();
                    let entries: Vec<String> = v
                        .into_iter()
                        .filter(|(k, _)| seen.insert(json_key(k)))
                        .map(|(k, v)| format!("{k}: {v}"))
                        .collect();
                    format!("{{{}}}", entries.join(", "))
                }),
            ]
        })
    }

    fn extensions() -> impl Strategy<Value = Option<String>> {
        prop::option::of(value().prop_map(|v| format!("[{{name: ext, extension: {v}}}]")))
    }

    /// A kubeconfig: up to three clusters, users and contexts, some with extensions and
    /// namespaces, maybe preferences and a current context.
    pub fn kubeconfig() -> impl Strategy<Value = String> {
        let names = prop::collection::btree_set(prop::sample::select(WORDS), 0..4);
        (
            names.clone(),
            names.clone(),
            names,
            prop::collection::vec((extensions(), prop::option::of(word()), 0u8..3), 3),
            prop::option::of((any::<bool>(), extensions())),
            prop::option::of((any::<prop::sample::Index>(), 0u8..3)),
        )
            .prop_map(
                |(clusters, users, contexts, extras, preferences, current)| {
                    let mut text = String::from("apiVersion: v1\nkind: Config\n");
                    text.push_str("clusters:\n");
                    for (i, name) in clusters.iter().enumerate() {
                        let _ = write!(
                            text,
                            "- name: {}\n  cluster:\n    server: https://127.0.0.{}:1\n",
                            styled(name, (i % 3) as u8),
                            i + 2
                        );
                        if let Some(ext) = &extras[i % 3].0 {
                            let _ = writeln!(text, "    extensions: {ext}");
                        }
                    }
                    text.push_str("users:\n");
                    for (i, name) in users.iter().enumerate() {
                        let _ = write!(
                            text,
                            "- name: {}\n  user:\n    token: {}\n",
                            styled(name, extras[i % 3].2),
                            styled(name, 2)
                        );
                    }
                    text.push_str("contexts:\n");
                    for (i, name) in contexts.iter().enumerate() {
                        let (ext, namespace, style) = &extras[i % 3];
                        let _ = write!(
                            text,
                            "- name: {}\n  context:\n    cluster: {}\n    user: {}\n",
                            styled(name, *style),
                            styled(clusters.iter().next().copied().unwrap_or("none"), 2),
                            styled(users.iter().next().copied().unwrap_or("none"), 2),
                        );
                        if let Some(namespace) = namespace {
                            let _ = writeln!(text, "    namespace: {namespace}");
                        }
                        if let Some(ext) = ext {
                            let _ = writeln!(text, "    extensions: {ext}");
                        }
                    }
                    if let Some((colors, ext)) = preferences {
                        let _ = writeln!(text, "preferences:\n  colors: {colors}");
                        if let Some(ext) = ext {
                            let _ = writeln!(text, "  extensions: {ext}");
                        }
                    }
                    if let Some((at, style)) = current
                        && !contexts.is_empty()
                    {
                        let name = contexts.iter().nth(at.index(contexts.len())).unwrap();
                        let _ = writeln!(text, "current-context: {}", styled(name, style));
                    }
                    text
                },
            )
    }
}

/// For any kubeconfig kubectl accepts, a merge leaves what kubectl shows exactly as it was plus
/// the new context (named from YAML 1.1 words too). 24 cases by default (kubectl costs about
/// 50 ms a run); `PROPTEST_CASES=500 cargo test --test it any_kubeconfig` runs longer.
#[test]
fn any_kubeconfig_kubectl_accepts_merges_as_kubectl_reads_it() {
    use proptest::test_runner::{Config, TestCaseError, TestRunner};
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(24);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let fake = cloud();
    let bin = one_kubectl();
    let names = proptest::sample::select(vec!["ack-new", "on", "no", "1_000", "名前 x", "prod"]);
    let accepted = std::cell::Cell::new(0usize);
    runner
        .run(&(random::kubeconfig(), names), |(text, name)| {
            let p = plugin(&fake);
            let config = p.write_home_file(".kube/config", &text);
            let list = config.to_string_lossy().into_owned();
            let home = p.home().join("kubectl-home");
            fs::create_dir_all(&home).unwrap();
            let Ok(before) = config_view(bin, &home, &list) else {
                return Err(TestCaseError::reject("kubectl refuses it"));
            };
            accepted.set(accepted.get() + 1);
            let run = merge(&p, &list, &["--context", name]);
            if !run.status.success() {
                return Err(TestCaseError::fail(format!("{text}\n{run}")));
            }
            let after = config_view(bin, &home, &list)
                .map_err(|e| TestCaseError::fail(format!("{text}\n{e}\n{run}")))?;
            let args = ["get-credential", "--cluster-id", CLUSTER];
            check_merged(&before, &after, name, SERVER, &args, V1).map_err(|e| {
                TestCaseError::fail(format!(
                    "{text}\n---- written:\n{}\n{e}",
                    fs::read_to_string(&config).unwrap()
                ))
            })
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let accepted = accepted.get();
    assert!(
        accepted >= cases as usize / 2,
        "only {accepted} inputs were accepted by kubectl"
    );
}
