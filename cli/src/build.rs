//! `chainvm build`: cargo build of a contract for wasm32 with a size report.

use crate::util::{CliError, Res, emit, fail};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const TARGET: &str = "wasm32-unknown-unknown";

/// A built contract: crate name, wasm path, size in bytes.
pub struct Built {
    pub name: String,
    pub path: PathBuf,
    pub size: u64,
}

fn target_installed(dir: &Path) -> bool {
    Command::new("rustc")
        .current_dir(dir)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .is_some_and(|s| Path::new(&s).join("lib/rustlib").join(TARGET).exists())
}

/// Builds the crate or workspace in `dir` for wasm32 (release) and returns the wasm files.
pub fn build(dir: &Path) -> Res<Vec<Built>> {
    if !dir.join("Cargo.toml").is_file() {
        return fail(format!("{} has no Cargo.toml", dir.display()));
    }
    if !target_installed(dir) {
        let ok = Command::new("rustup")
            .current_dir(dir)
            .args(["target", "add", TARGET])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok || !target_installed(dir) {
            return fail(format!(
                "the {TARGET} target is missing: run `rustup target add {TARGET}`"
            ));
        }
    }
    let out = Command::new("cargo")
        .current_dir(dir)
        .args([
            "build",
            "--release",
            "--target",
            TARGET,
            "--message-format=json-render-diagnostics",
        ])
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        // Under `cargo clippy` this points at clippy-driver (and sets `--cfg clippy`): the
        // contracts must be compiled by plain rustc, or their bytes, and so gas, would change.
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| CliError(format!("cannot run cargo: {e}")))?;
    if !out.status.success() {
        return fail(format!(
            "cargo build failed in {} (see the compiler output above)",
            dir.display()
        ));
    }
    let mut built = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        for f in msg["filenames"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str())
        {
            if f.ends_with(".wasm") {
                let path = PathBuf::from(f);
                let size = std::fs::metadata(&path)?.len();
                let name = msg["target"]["name"].as_str().unwrap_or("").to_string();
                built.push(Built { name, path, size });
            }
        }
    }
    if built.is_empty() {
        return fail(format!(
            "no wasm was produced in {} (is it a cdylib crate?)",
            dir.display()
        ));
    }
    built.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(built)
}

/// The `build` command.
pub fn build_cmd(dir: &Path, j: bool) -> Res<()> {
    let built = build(dir)?;
    let mut human = String::new();
    let mut rows = Vec::new();
    for b in &built {
        human += &format!("{:<12} {:>8} bytes  {}\n", b.name, b.size, b.path.display());
        rows.push(json!({"name": b.name, "path": b.path.display().to_string(), "size": b.size}));
    }
    emit(j, human.trim_end(), &Value::Array(rows));
    Ok(())
}
