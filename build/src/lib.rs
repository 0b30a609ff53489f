//! Builds chainvm contracts with the one contract profile, wherever the crate lives.
//!
//! [`build`] compiles a crate (or every cdylib of a workspace) for `wasm32-unknown-unknown`
//! with the settings of [`profile`], whatever the crate's own `Cargo.toml` profile,
//! `.cargo/config.toml` or the caller's `RUSTFLAGS` say, so the same source gives the same
//! bytes, and so the same gas, in this repository and out of it. Each contract comes out as
//! the deployable `<name>.wasm` and its twin `<name>.names.wasm`: the same code with the
//! function-name section that gas profiles read. [`memory`] checks the initial memory a wasm
//! asks for; with the `flamegraph` feature, [`flame`] turns a gas profile into folded stacks
//! and an SVG.

mod cargo;
pub mod memory;
pub mod profile;
mod shim;
pub mod strip;

#[cfg(feature = "flamegraph")]
pub mod flame;
#[cfg(feature = "flamegraph")]
pub mod names;

pub use memory::{MemoryFootprint, MemoryWarning};
pub use profile::{OUT_SUBDIR, STACK_BYTES, TARGET, TOOLCHAIN};

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use thiserror::Error;

/// Why a build failed. Each renders as one line for the user.
#[derive(Debug, Error)]
pub enum BuildError {
    /// The directory has no `Cargo.toml`.
    #[error("{} has no Cargo.toml (is it a contract crate?)", .0.display())]
    NoManifest(PathBuf),
    /// cargo could not read the manifest.
    #[error("cannot read the crate in {}: {detail}", dir.display())]
    Manifest {
        /// The crate directory.
        dir: PathBuf,
        /// cargo's words.
        detail: String,
    },
    /// None of the crates built there is a cdylib, so none produces a contract.
    #[error(
        "{} is not a contract: {packages} has no cdylib target (add `[lib] crate-type = [\"cdylib\"]` to its Cargo.toml)",
        dir.display()
    )]
    NotCdylib {
        /// The crate directory.
        dir: PathBuf,
        /// The packages found.
        packages: String,
    },
    /// The compiler refused the crate. `output` holds its diagnostics when they were
    /// captured (the testing crate); otherwise they went to stderr as it printed them.
    #[error("the contract in {} does not compile{}", dir.display(), if output.is_empty() { " (the compiler's errors are above)".to_string() } else { format!(":\n{output}") })]
    Compile {
        /// The crate directory.
        dir: PathBuf,
        /// Captured compiler output, or empty.
        output: String,
    },
    /// The build succeeded but produced no wasm.
    #[error("no wasm was produced in {}", .0.display())]
    NoWasm(PathBuf),
    /// A tool (cargo, rustc, rustup) could not be run or misbehaved.
    #[error("{tool}: {detail}")]
    Tool {
        /// Which tool.
        tool: String,
        /// What happened.
        detail: String,
    },
    /// The wasm32 standard library is missing and rustup could not add it.
    #[error(
        "the {TARGET} target is missing for Rust {TOOLCHAIN}: run `rustup target add {TARGET} --toolchain {TOOLCHAIN}`"
    )]
    TargetMissing,
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The compiler's output is not a wasm module chainvm can read.
    #[error("{}: not a readable wasm module: {detail}", path.display())]
    Wasm {
        /// The file.
        path: PathBuf,
        /// The parser's words.
        detail: String,
    },
}

impl BuildError {
    fn io(path: &Path, source: std::io::Error) -> BuildError {
        BuildError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// How to run a build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Pass `--locked`: refuse to change `Cargo.lock`.
    pub locked: bool,
    /// Capture cargo's and the compiler's output (returned in [`BuildError::Compile`])
    /// instead of letting it through to stderr.
    pub capture_output: bool,
}

/// One contract built.
#[derive(Debug, Clone)]
pub struct Built {
    /// The crate's library name (`escrow`).
    pub name: String,
    /// The deployable wasm, `<target>/chainvm/<name>.wasm`.
    pub wasm: PathBuf,
    /// The same code with its function names, `<target>/chainvm/<name>.names.wasm`.
    pub names: PathBuf,
    /// Size of the deployable wasm in bytes.
    pub size: u64,
    /// Its initial memory against the profile's.
    pub memory: Option<MemoryFootprint>,
}

/// Where the builds of the crate in `dir` go: `<cargo target dir>/chainvm`.
pub fn out_dir(target_directory: &Path) -> PathBuf {
    target_directory.join(OUT_SUBDIR)
}

/// Builds the crate or workspace in `dir` with the contract profile and returns its
/// contracts, sorted by name.
pub fn build(dir: &Path, opts: &BuildOptions) -> Result<Vec<Built>, BuildError> {
    if !dir.join("Cargo.toml").is_file() {
        return Err(BuildError::NoManifest(dir.to_path_buf()));
    }
    ensure_target()?;
    let meta = cargo::metadata(dir, opts.locked)?;
    if !meta.selected.iter().any(|(_, cdylib)| *cdylib) {
        let names: Vec<&str> = meta.selected.iter().map(|(n, _)| n.as_str()).collect();
        return Err(BuildError::NotCdylib {
            dir: dir.to_path_buf(),
            packages: if names.is_empty() {
                "the workspace".into()
            } else {
                names.join(", ")
            },
        });
    }
    let out = out_dir(&meta.target_directory);
    let wrapper = shim::ensure(&out)?;
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let remaps = profile::remaps(&meta.workspace_root, cargo_home.as_deref(), &meta.local);

    let mut cmd = Command::new("cargo");
    cmd.args(["build", "--release", "--target", TARGET])
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .arg("--message-format=json-render-diagnostics")
        .args(profile::cargo_config_args());
    if opts.locked {
        cmd.arg("--locked");
    }
    // Nothing of the caller's build environment may reach the contract.
    for var in [
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS",
        "RUSTC",
        "CARGO_BUILD_RUSTC",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_TARGET_DIR",
        "CARGO_BUILD_RUSTC_WRAPPER",
        "CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("RUSTUP_TOOLCHAIN", TOOLCHAIN)
        .env("CARGO_TARGET_DIR", &out)
        .env(
            "CARGO_ENCODED_RUSTFLAGS",
            profile::encoded_rustflags(&remaps),
        )
        .env("RUSTC_WRAPPER", &wrapper)
        // Empty disables a workspace wrapper (clippy-driver under `cargo clippy`, sccache).
        .env("RUSTC_WORKSPACE_WRAPPER", "")
        .stdout(Stdio::piped())
        .stderr(if opts.capture_output {
            Stdio::piped()
        } else {
            Stdio::inherit()
        });
    let output = cmd.output().map_err(|e| BuildError::Tool {
        tool: "cargo".into(),
        detail: e.to_string(),
    })?;
    if !output.status.success() {
        return Err(BuildError::Compile {
            dir: dir.to_path_buf(),
            output: String::from_utf8_lossy(&output.stderr)
                .trim_end()
                .to_string(),
        });
    }
    let mut built = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        for f in msg["filenames"].as_array().into_iter().flatten() {
            let Some(f) = f.as_str().map(Path::new) else {
                continue;
            };
            if f.extension().is_some_and(|e| e == "wasm")
                && let Some(name) = f.file_stem().and_then(|s| s.to_str())
            {
                built.push(finish(name, f, &out)?);
            }
        }
    }
    if built.is_empty() {
        return Err(BuildError::NoWasm(dir.to_path_buf()));
    }
    built.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(built)
}

/// Writes the deployable and the named twin of cargo's output `artifact` into `out`.
fn finish(name: &str, artifact: &Path, out: &Path) -> Result<Built, BuildError> {
    let named = std::fs::read(artifact).map_err(|e| BuildError::io(artifact, e))?;
    let deployable = strip::strip(&named).map_err(|e| BuildError::Wasm {
        path: artifact.to_path_buf(),
        detail: e.to_string(),
    })?;
    let wasm = out.join(format!("{name}.wasm"));
    let names = out.join(format!("{name}.names.wasm"));
    write_atomic(&wasm, &deployable)?;
    write_atomic(&names, &named)?;
    Ok(Built {
        name: name.to_string(),
        size: deployable.len() as u64,
        memory: MemoryFootprint::of(&deployable),
        wasm,
        names,
    })
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a reader never sees
/// half a contract and a hard link to cargo's artifact is never written through.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), BuildError> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| BuildError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| BuildError::io(path, e))
}

/// Makes sure the pinned toolchain has the wasm32 standard library, adding it with rustup
/// if not.
fn ensure_target() -> Result<(), BuildError> {
    let installed = || {
        Command::new("rustc")
            .env("RUSTUP_TOOLCHAIN", TOOLCHAIN)
            .args(["--print", "sysroot"])
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .is_some_and(|s| Path::new(&s).join("lib/rustlib").join(TARGET).exists())
    };
    if installed() {
        return Ok(());
    }
    let added = Command::new("rustup")
        .args(["target", "add", TARGET, "--toolchain", TOOLCHAIN])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if added && installed() {
        Ok(())
    } else {
        Err(BuildError::TargetMissing)
    }
}
