//! Supply chain: no OpenSSL or native-tls anywhere in the dependency tree.

use super::*;
use std::process::Command;

#[test]
fn no_openssl_or_native_tls_in_the_dependency_tree() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| {
        panic!("CARGO is not set: run this test through `cargo test`, which sets it")
    });
    let root = env!("CARGO_MANIFEST_DIR");
    for package in ["openssl-sys", "openssl", "native-tls"] {
        let output = Command::new(&cargo)
            .args(["tree", "-i", package, "--offline", "-e", "all"])
            .current_dir(root)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {cargo} tree: {e}"));
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let report = format!(
            "cargo tree -i {package} --offline -e all: {}\n---- stdout\n{stdout}\n---- stderr\n{stderr}",
            output.status
        );
        if output.status.success() {
            assert!(
                stdout.trim().is_empty(),
                "{package} is in the dependency tree\n{report}"
            );
        } else {
            assert!(
                stderr.contains("did not match any packages"),
                "cargo tree failed for another reason than an absent package\n{report}"
            );
        }
    }
    // Cargo.lock covers every target platform, which `cargo tree` (host only) does not.
    let lock = fs::read_to_string(Path::new(root).join("Cargo.lock")).expect("Cargo.lock");
    for package in ["openssl-sys", "openssl", "native-tls"] {
        assert!(
            !lock.contains(&format!("name = \"{package}\"\n")),
            "{package} is in Cargo.lock"
        );
    }
}
