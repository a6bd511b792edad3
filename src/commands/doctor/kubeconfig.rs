//! `kubeconfig`: a context among the user's kubeconfig files whose user runs this plugin
//! (`get-credential` for the same target), and that the program it names is there and runs.
//!
//! A kubeconfig written by `kubeconfig` runs the plugin by absolute path (GUI tools do not see
//! the shell's PATH). If the binary is moved, kubectl says only "no such file or directory":
//! client-go shows the exec entry's `installHint` only when a command given by name is not
//! found on PATH. So a missing path is a failure here, with the fix.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{Check, Findings, Status};
use crate::config::{DoctorConfig, Target};
use crate::env::Env;
use crate::kubeconfig::contexts::{self, ExecContext, Program};

/// The plugin's name, as a command and as a file.
const NAME: &str = "ack-credential-plugin";
/// How long `--version` may take.
const VERSION_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) fn check(
    config: &DoctorConfig,
    env: &Env,
    target: &Target,
    findings: &mut Findings,
) -> Check {
    let found = contexts::exec_contexts(&config.kubeconfig_files);
    let ours: Vec<&ExecContext> = found.contexts.iter().filter(|c| is_plugin(c)).collect();
    let matching: Vec<&ExecContext> = ours
        .iter()
        .copied()
        .filter(|c| runs_for(&c.args, target))
        .collect();
    let Some(context) = matching
        .iter()
        .find(|c| c.current)
        .or_else(|| matching.first())
        .copied()
    else {
        return none_found(&config.kubeconfig_files, &found, &ours, target);
    };
    findings.context = Some(context.clone());

    let mut detail = format!(
        "context `{}`{} in {} runs {} {}",
        context.name,
        if context.current {
            " (the current one)"
        } else {
            ""
        },
        context.file.display(),
        context.command,
        context.args.join(" ")
    );
    if matching.len() > 1 {
        let _ = write!(
            detail,
            "\n{} contexts run it for {}; this one is checked",
            matching.len(),
            super::target_name(target)
        );
    }
    let (status, hint) = runs(&context.program, env, target, &mut detail);
    Check {
        name: "kubeconfig",
        status,
        detail,
        hint,
    }
}

/// No context runs the plugin for `target`: say what there is instead.
fn none_found(
    files: &[PathBuf],
    found: &contexts::Found,
    ours: &[&ExecContext],
    target: &Target,
) -> Check {
    let shown = files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let mut detail = if found.missing.len() == files.len() {
        format!("no kubeconfig file: {shown} does not exist")
    } else {
        format!(
            "no context in {shown} runs {NAME} for {}",
            super::target_name(target)
        )
    };
    let others: Vec<String> = ours
        .iter()
        .map(|c| format!("`{}` ({})", c.name, c.args.join(" ")))
        .collect();
    if !others.is_empty() {
        let _ = write!(
            detail,
            "\ncontexts that run it for something else: {}",
            others.join(", ")
        );
    }
    for problem in &found.problems {
        let _ = write!(detail, "\ncould not read {problem}");
    }
    Check::new("kubeconfig", Status::Fail, detail).hint(format!(
        "write one: {} (with --set-current-context to make it current)",
        super::merge_command(target)
    ))
}

/// Whether `program` is there and runs as this plugin: the status and the hint, with what was
/// found added to `detail`.
fn runs(
    program: &Program,
    env: &Env,
    target: &Target,
    detail: &mut String,
) -> (Status, Option<String>) {
    let merge = super::merge_command(target);
    let path = match program {
        Program::Path(path) => path.clone(),
        Program::Name(name) => {
            let Some(path) = on_path(name, env) else {
                let _ = write!(detail, "\n`{name}` is not on PATH");
                return (
                    Status::Fail,
                    Some(format!(
                        "kubectl looks the name up on its own PATH (a GUI tool such as Lens may \
                         have another): install the plugin on PATH, or write its absolute path \
                         with {merge}"
                    )),
                );
            };
            path
        }
    };
    if let Err(problem) = runnable(&path) {
        let _ = write!(detail, "\n{}: {problem}", path.display());
        let hint = match problem {
            Problem::Missing => format!(
                "kubectl then says only \"no such file or directory\" (a command given by path \
                 shows no installHint): run {merge} with the plugin where it is now, to write \
                 its path, or put the plugin back at {}",
                path.display()
            ),
            Problem::NotExecutable => format!("chmod +x {}", path.display()),
            Problem::NotAFile => format!("point the context at the plugin itself: {merge}"),
        };
        return (Status::Fail, Some(hint));
    }
    match version(&path) {
        Ok(line) => {
            let _ = write!(detail, "\n{} --version: {line}", path.display());
            let ours = format!("{NAME} {}", env!("CARGO_PKG_VERSION"));
            if line == ours {
                (Status::Ok, None)
            } else {
                (
                    Status::Warn,
                    Some(format!(
                        "this is {ours}: to have kubectl run this one, run {merge}"
                    )),
                )
            }
        }
        Err(why) => {
            let _ = write!(detail, "\n{} --version: {why}", path.display());
            (
                Status::Fail,
                Some(format!(
                    "it is not a working {NAME}: reinstall it there, or run {merge}"
                )),
            )
        }
    }
}

/// Whether the context's command is this plugin: named as it is, or this very file.
fn is_plugin(context: &ExecContext) -> bool {
    let named = Path::new(&context.command)
        .file_name()
        .is_some_and(|name| name == NAME);
    named
        || match &context.program {
            Program::Path(path) => std::env::current_exe()
                .ok()
                .and_then(|exe| Some(exe.canonicalize().ok()? == path.canonicalize().ok()?))
                .unwrap_or(false),
            Program::Name(_) => false,
        }
}

/// Whether exec `args` ask `get-credential` for `target`: the same id, and for a cluster the
/// same uid.
fn runs_for(args: &[String], target: &Target) -> bool {
    if !args.iter().any(|a| a == crate::cli::GET_CREDENTIAL) {
        return false;
    }
    let flag = |name: &str| -> Option<&str> {
        let long = format!("--{name}");
        let inline = format!("--{name}=");
        args.iter().enumerate().find_map(|(i, arg)| {
            if *arg == long {
                args.get(i + 1).map(String::as_str)
            } else {
                arg.strip_prefix(&inline)
            }
        })
    };
    let target_flag = target.flag();
    let mut others = Target::FLAGS.iter().filter(|f| **f != target_flag);
    flag(&target_flag[2..]) == Some(target.id())
        && flag("uid") == target.uid()
        && others.all(|f| flag(&f[2..]).is_none())
}

/// `name` on `PATH`, as a shell finds it: the first directory that has it, executable.
fn on_path(name: &str, env: &Env) -> Option<PathBuf> {
    std::env::split_paths(env.get("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| runnable(path).is_ok())
}

enum Problem {
    Missing,
    NotAFile,
    NotExecutable,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Problem::Missing => "does not exist",
            Problem::NotAFile => "is not a file",
            Problem::NotExecutable => "is not executable",
        })
    }
}

fn runnable(path: &Path) -> Result<(), Problem> {
    use std::os::unix::fs::PermissionsExt;
    let metadata = std::fs::metadata(path).map_err(|_| Problem::Missing)?;
    if !metadata.is_file() {
        return Err(Problem::NotAFile);
    }
    if metadata.permissions().mode() & 0o111 == 0 {
        return Err(Problem::NotExecutable);
    }
    Ok(())
}

/// The first line `path --version` prints, within [`VERSION_TIMEOUT`].
fn version(path: &Path) -> Result<String, String> {
    let mut child = Command::new(path)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run it: {e}"))?;
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < VERSION_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("no answer within {} s", VERSION_TIMEOUT.as_secs()));
            }
            Err(e) => return Err(format!("cannot wait for it: {e}")),
        }
    };
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        use std::io::Read;
        let _ = stdout.by_ref().take(4096).read_to_string(&mut out);
    }
    let line = out.lines().next().unwrap_or("").trim().to_string();
    if !status.success() {
        return Err(format!("it exited with {status}"));
    }
    if !line.starts_with(&format!("{NAME} ")) {
        return Err(format!("it printed {line:?}, not {NAME}'s version"));
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn the_target_is_read_from_the_exec_args() {
        let cluster = Target::Cluster {
            id: "c1".into(),
            uid: None,
        };
        assert!(runs_for(&args("get-credential --cluster-id c1"), &cluster));
        assert!(runs_for(
            &args("get-credential --private-ip --cluster-id=c1 --profile p"),
            &cluster
        ));
        assert!(!runs_for(&args("get-credential --cluster-id c2"), &cluster));
        assert!(!runs_for(
            &args("get-credential --cluster-id c1 --uid 7"),
            &cluster
        ));
        assert!(!runs_for(&args("kubeconfig --cluster-id c1"), &cluster));
        let user = Target::Cluster {
            id: "c1".into(),
            uid: Some("7".into()),
        };
        assert!(runs_for(
            &args("get-credential --cluster-id c1 --uid 7"),
            &user
        ));
        let mesh = Target::Mesh { id: "m1".into() };
        assert!(runs_for(&args("get-credential --mesh-id m1"), &mesh));
        assert!(!runs_for(&args("get-credential --cluster-id m1"), &mesh));
    }
}
