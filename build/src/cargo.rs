//! What `cargo metadata` says about the crate to build.

use crate::BuildError;
use crate::profile::LocalPackage;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The parts of `cargo metadata` the build needs.
#[derive(Debug)]
pub struct Metadata {
    /// The workspace root.
    pub workspace_root: PathBuf,
    /// cargo's target directory for this workspace.
    pub target_directory: PathBuf,
    /// Every path package of the build graph (members and path dependencies).
    pub local: Vec<LocalPackage>,
    /// Names of the packages `cargo build` selects here, with whether each is a cdylib.
    pub selected: Vec<(String, bool)>,
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Runs `cargo metadata` for the manifest in `dir`.
pub fn metadata(dir: &Path, locked: bool) -> Result<Metadata, BuildError> {
    let manifest = dir.join("Cargo.toml");
    let mut cmd = Command::new("cargo");
    cmd.env("RUSTUP_TOOLCHAIN", crate::TOOLCHAIN)
        .args(["metadata", "--format-version", "1", "--filter-platform"])
        .arg(crate::TARGET)
        .arg("--manifest-path")
        .arg(&manifest);
    if locked {
        cmd.arg("--locked");
    }
    let out = cmd.output().map_err(|e| BuildError::Tool {
        tool: "cargo".into(),
        detail: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(BuildError::Manifest {
            dir: dir.to_path_buf(),
            detail: last_error_line(&String::from_utf8_lossy(&out.stderr)),
        });
    }
    let v: Value = serde_json::from_slice(&out.stdout).map_err(|e| BuildError::Tool {
        tool: "cargo metadata".into(),
        detail: e.to_string(),
    })?;
    parse(&v, &manifest)
}

/// cargo's own explanation: its last `error:` line (with the next line when it ends in a
/// colon), else its last line.
fn last_error_line(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let Some(at) = lines
        .iter()
        .rposition(|l| l.starts_with("error"))
        .or(lines.len().checked_sub(1))
    else {
        return "cargo metadata failed".into();
    };
    let mut line = lines[at].trim_start_matches("error: ").to_string();
    if line.ends_with(':')
        && let Some(next) = lines.get(at + 1)
    {
        line = format!("{line} {next}");
    }
    line
}

fn parse(v: &Value, manifest: &Path) -> Result<Metadata, BuildError> {
    let bad = |what: &str| BuildError::Tool {
        tool: "cargo metadata".into(),
        detail: format!("no {what} in its output"),
    };
    let workspace_root =
        PathBuf::from(str_of(v, "workspace_root").ok_or_else(|| bad("workspace_root"))?);
    let target_directory =
        PathBuf::from(str_of(v, "target_directory").ok_or_else(|| bad("target_directory"))?);
    let packages = v
        .get("packages")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("packages"))?;
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let manifest = canon(manifest);
    let mut local = Vec::new();
    let mut by_id = Vec::new();
    let mut here = None;
    for p in packages {
        let name = str_of(p, "name").unwrap_or_default().to_string();
        let id = str_of(p, "id").unwrap_or_default().to_string();
        let manifest_path = PathBuf::from(str_of(p, "manifest_path").unwrap_or_default());
        let targets = p
            .get("targets")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let cdylib = targets.iter().any(|t| {
            t.get("crate_types")
                .and_then(Value::as_array)
                .is_some_and(|c| c.iter().any(|c| c == "cdylib"))
        });
        if p.get("source").is_none_or(Value::is_null) {
            let dir = manifest_path
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            let src_paths = targets
                .iter()
                .filter_map(|t| str_of(t, "src_path"))
                .map(PathBuf::from)
                .collect();
            local.push(LocalPackage {
                name: name.clone(),
                dir,
                src_paths,
            });
        }
        if canon(&manifest_path) == manifest {
            here = Some((name.clone(), cdylib));
        }
        by_id.push((id, name, cdylib));
    }
    let selected = match here {
        Some(p) => vec![p],
        None => v
            .get("workspace_default_members")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(|id| by_id.iter().find(|(i, _, _)| i == id))
            .map(|(_, n, c)| (n.clone(), *c))
            .collect(),
    };
    Ok(Metadata {
        workspace_root,
        target_directory,
        local,
        selected,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_package_manifest_selects_itself_and_finds_path_packages() {
        let v = json!({
            "workspace_root": "/p",
            "target_directory": "/p/target",
            "workspace_default_members": ["path+file:///p#counter@0.1.0"],
            "packages": [
                {"name": "counter", "id": "path+file:///p#counter@0.1.0", "source": null,
                 "manifest_path": "/p/Cargo.toml",
                 "targets": [{"crate_types": ["cdylib"], "src_path": "/p/src/lib.rs"}]},
                {"name": "borsh", "id": "registry+x#borsh@1.8.1",
                 "source": "registry+https://github.com/rust-lang/crates.io-index",
                 "manifest_path": "/c/borsh/Cargo.toml",
                 "targets": [{"crate_types": ["lib"], "src_path": "/c/borsh/src/lib.rs"}]}
            ]
        });
        let m = parse(&v, Path::new("/p/Cargo.toml")).unwrap();
        assert_eq!(m.selected, [("counter".to_string(), true)]);
        assert_eq!(m.local.len(), 1);
        assert_eq!(m.local[0].dir, Path::new("/p"));
        assert_eq!(m.target_directory, Path::new("/p/target"));
    }

    #[test]
    fn cargo_errors_keep_cargo_words() {
        let e = "    Updating index\nerror: failed to parse manifest at `/x/Cargo.toml`\n\nCaused by:\n  bad";
        assert_eq!(
            last_error_line(e),
            "failed to parse manifest at `/x/Cargo.toml`"
        );
    }
}
