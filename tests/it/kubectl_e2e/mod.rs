//! Real kubectl against the fake TLS API server, for every kubectl on this machine: the one on
//! PATH and every `kubectl.1.*` beside its real binary (`support::kubectl::for_every_kubectl`).
//!
//! `plugin.rs` runs the real plugin from a kubeconfig against the fake cloud (which issues the
//! certificates) and the TLS API server (which demands them). `harness.rs` tests the harness
//! itself, without the plugin: static client certificates, a missing or foreign client
//! certificate, the server's identity check, and the exec-plugin kubeconfig with a stand-in
//! plugin (a shell script that prints a static ExecCredential).

mod cli_profiles;
mod harness;
mod plugin;

use std::path::{Path, PathBuf};

use crate::support::apiserver::{ApiServer, RecordedRequest, SERVER_GIT_VERSION};
use crate::support::fake_cloud::FakeCloud;
use crate::support::kubectl::{
    self, KubectlOutput, NOT_A_CLIENT_CERT_TOKEN, check_pods, exec_kubeconfig, for_every_kubectl,
    kubectls, pods_listed, quiet_success, static_kubeconfig,
};
use crate::support::plugin::BIN;
use crate::support::test_ca::TestCa;

/// The CN of the client certificate the tests present.
const CLIENT_CN: &str = "12345";

/// A temp dir that is kubectl's HOME, holding its kubeconfigs and cache.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).expect("write file");
        path
    }

    /// Runs `bin` with a HOME (and so a discovery cache) of its own inside the sandbox.
    fn kubectl(&self, bin: &Path, kubeconfig: &Path, args: &[&str]) -> KubectlOutput {
        let name = bin
            .file_name()
            .expect("kubectl file name")
            .to_string_lossy();
        let home = self.dir.path().join(format!("home-{name}"));
        std::fs::create_dir_all(&home).expect("kubectl home");
        kubectl::run(bin, &home, kubeconfig, args)
    }
}

fn expect_success(out: &KubectlOutput) -> Result<(), String> {
    if out.success() {
        Ok(())
    } else {
        Err(format!("expected success:\n{out}"))
    }
}

/// A failure (not a timeout) whose stderr has exactly this line: kubectl's own words, the same in
/// every version tested.
fn expect_failure_line(out: &KubectlOutput, line: &str) -> Result<(), String> {
    if out.success() {
        return Err(format!("expected a failure:\n{out}"));
    }
    if out.timed_out {
        return Err(format!("timed out instead of failing:\n{out}"));
    }
    if !out.stderr.lines().any(|l| l == line) {
        return Err(format!("expected stderr to have the line {line:?}:\n{out}"));
    }
    Ok(())
}
