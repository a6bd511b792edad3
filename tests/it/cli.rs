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
