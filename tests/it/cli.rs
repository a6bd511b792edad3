//! `completions` and `--version`.

use std::process::Command;

use crate::support::golden::assert_stderr;
use crate::support::{FakeCloud, Plugin};

#[test]
fn completions_print_a_script_for_every_shell() {
    let fake = FakeCloud::start();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let p = Plugin::new(&fake).args(["completions", shell]);
        let run = p.run_success();
        assert!(!run.stdout.trim().is_empty(), "{run}");
        // fish declares long options as `-l NAME`; the other shells spell `--NAME`.
        let flag = if shell == "fish" {
            "-l cluster-id"
        } else {
            "--cluster-id"
        };
        assert!(
            run.stdout.contains("get-credential") && run.stdout.contains(flag),
            "{shell}: no `get-credential` or `{flag}`\n{run}"
        );
        assert_eq!(run.stderr, "", "{run}");
        if shell == "bash" {
            let script = p.write_home_file("completion.bash", &run.stdout);
            let out = Command::new("bash")
                .arg("-n")
                .arg(&script)
                .output()
                .expect("run bash -n");
            assert!(
                out.status.success(),
                "bash -n rejects the script: {}\n{run}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    assert_eq!(fake.count(), 0);
}

#[test]
fn completions_for_an_unknown_shell_is_a_usage_error() {
    let fake = FakeCloud::start();
    let run = Plugin::new(&fake).args(["completions", "tcsh"]).run_exit(2);
    assert_stderr(
        &run,
        r"
error: invalid value 'tcsh' for '<SHELL>'
  [possible values: bash, elvish, fish, powershell, zsh]

  tip: a similar value exists: 'zsh'

For more information, try '--help'.",
    );
}

#[test]
fn version_prints_the_name_and_version() {
    let fake = FakeCloud::start();
    let run = Plugin::new(&fake).arg("--version").run_success();
    assert_eq!(
        run.stdout.trim(),
        format!("ack-credential-plugin {}", env!("CARGO_PKG_VERSION")),
        "{run}"
    );
}

/// Every shell's completions know the commands and flags of fleets and discovery.
#[test]
fn completions_cover_fleets_and_discovery() {
    let fake = FakeCloud::start();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let run = Plugin::new(&fake)
            .args(["completions", shell])
            .run_success();
        for word in ["clusters", "meshes"] {
            assert!(run.stdout.contains(word), "{shell}: no `{word}`\n{run}");
        }
        for flag in ["fleet-id", "adcp-endpoint", "cluster-name", "all", "output"] {
            let spelled = if shell == "fish" {
                format!("-l {flag}")
            } else {
                format!("--{flag}")
            };
            assert!(
                run.stdout.contains(&spelled),
                "{shell}: no `{spelled}`\n{run}"
            );
        }
    }
}

/// `--help` of each command names what it gained: the commands, the fleet flags and variable,
/// the discovery flags, and the output formats.
#[test]
fn help_covers_fleets_and_discovery() {
    let fake = FakeCloud::start();
    let help = |args: &[&str]| {
        let run = Plugin::new(&fake).args(args.iter().copied()).run_success();
        assert_eq!(run.stderr, "", "{run}");
        run.stdout
    };
    let top = help(&["--help"]);
    assert!(
        top.contains("\n  clusters ") && top.contains("\n  meshes "),
        "{top}"
    );
    // `help get-credential` is `get-credential --help` (a unit test holds them equal), without
    // a stdout that the leak check would take for an ExecCredential.
    for command in ["get-credential", "kubeconfig"] {
        let text = help(&["help", command]);
        for word in [
            "--fleet-id <ID>",
            "--adcp-endpoint <URL>",
            "ACK_ADCP_ENDPOINT",
        ] {
            assert!(text.contains(word), "{command}: no {word}\n{text}");
        }
    }
    let kubeconfig = help(&["kubeconfig", "--help"]);
    for word in [
        "--cluster-name <NAME>",
        "--all",
        "Running: running, updating, upgrading",
    ] {
        assert!(kubeconfig.contains(word), "no {word}\n{kubeconfig}");
    }
    let clusters = help(&["clusters", "--help"]);
    for word in [
        "--region <REGION>",
        "--cs-endpoint <URL>",
        "-o, --output <FORMAT>",
        "[possible values: text, json]",
        "\"type\"",
    ] {
        assert!(clusters.contains(word), "no {word}\n{clusters}");
    }
    let meshes = help(&["meshes", "--help"]);
    for word in [
        "--asm-endpoint <URL>",
        "-o, --output <FORMAT>",
        "\"edition\"",
    ] {
        assert!(meshes.contains(word), "no {word}\n{meshes}");
    }
    let clear = help(&["cache", "clear", "--help"]);
    assert!(clear.contains("--fleet-id <ID>"), "{clear}");
    assert_eq!(fake.count(), 0);
}
