//! The contract profile: every setting that decides a contract's bytes, in one place.
//!
//! `chainvm build`, the testing crate and the repository's own build of the sample contracts
//! all compile through [`crate::build`], which passes these settings on cargo's command line
//! (`--config`, `CARGO_ENCODED_RUSTFLAGS`, `RUSTUP_TOOLCHAIN`). Those take precedence over a
//! crate's `Cargo.toml` profile, its `.cargo/config.toml` and the caller's `RUSTFLAGS`, so the
//! same source gives the same wasm, and so the same gas, whoever builds it and wherever.

use std::path::{Component, Path, PathBuf};

/// The toolchain contracts are compiled with (the repository's `rust-toolchain.toml`). A
/// different rustc gives different bytes, so the build pins it through rustup.
pub const TOOLCHAIN: &str = "1.95.0";

/// The wasm target.
pub const TARGET: &str = "wasm32-unknown-unknown";

/// Shadow-stack size in bytes. rustc's default is 1 MiB: 16 extra initial memory pages that
/// every call pays for. Contracts recurse little.
pub const STACK_BYTES: u32 = 65_536;

/// Subdirectory of the cargo target directory the profile builds into, apart from the
/// crate's own builds, so neither invalidates the other's artifacts.
pub const OUT_SUBDIR: &str = "chainvm";

/// `profile.release` settings, as `--config` values. Symbols are kept (`strip =
/// "debuginfo"`) so the build has a name section for gas profiles; [`crate::strip`] then
/// removes exactly what `strip = true` would, giving the same bytes rustc's strip gives.
const RELEASE: &[(&str, &str)] = &[
    ("opt-level", "\"z\""),
    ("lto", "true"),
    ("codegen-units", "1"),
    ("panic", "\"abort\""),
    ("strip", "\"debuginfo\""),
    ("debug", "false"),
    ("debug-assertions", "false"),
    ("overflow-checks", "false"),
    ("incremental", "false"),
];

/// The subset of [`RELEASE`] a `[profile.release.package."*"]` table may override.
const PER_PACKAGE: &[&str] = &[
    "opt-level",
    "codegen-units",
    "debug",
    "debug-assertions",
    "overflow-checks",
    "incremental",
];

/// The `--config` arguments that impose the release profile.
pub fn cargo_config_args() -> Vec<String> {
    let mut args = Vec::new();
    for (key, value) in RELEASE {
        args.push("--config".to_string());
        args.push(format!("profile.release.{key}={value}"));
    }
    for (key, value) in RELEASE.iter().filter(|(k, _)| PER_PACKAGE.contains(k)) {
        args.push("--config".to_string());
        args.push(format!("profile.release.package.\"*\".{key}={value}"));
    }
    args
}

/// A source-path rewrite, so no absolute path of the build machine reaches the wasm (panic
/// locations embed file names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remap {
    /// The path as rustc sees it (relative to the workspace root for members).
    pub from: PathBuf,
    /// What it becomes.
    pub to: String,
}

/// One local (path) package of the build, for [`remaps`].
#[derive(Debug, Clone)]
pub struct LocalPackage {
    /// Package name.
    pub name: String,
    /// Directory holding its `Cargo.toml`.
    pub dir: PathBuf,
    /// Source files of its targets (`src/lib.rs`, ...).
    pub src_paths: Vec<PathBuf>,
}

/// The rewrites that make every file name independent of where things live: each local
/// package's files become `<package name>/...` (cargo names a workspace member's files
/// relative to the workspace root, other path packages absolutely), and the cargo home
/// (crates.io sources) becomes `/cargo`. Later rewrites win in rustc, so the general one
/// comes first.
pub fn remaps(
    workspace_root: &Path,
    cargo_home: Option<&Path>,
    local: &[LocalPackage],
) -> Vec<Remap> {
    let mut out = Vec::new();
    if let Some(home) = cargo_home {
        out.push(Remap {
            from: home.to_path_buf(),
            to: "/cargo".into(),
        });
    }
    for p in local {
        match p.dir.strip_prefix(workspace_root) {
            Ok(rel) if rel.as_os_str().is_empty() => {
                // The root package: its files are `src/lib.rs`, with no directory to rename.
                let mut firsts: Vec<PathBuf> = p
                    .src_paths
                    .iter()
                    .filter_map(|s| s.strip_prefix(&p.dir).ok())
                    .filter_map(|r| match r.components().next() {
                        Some(Component::Normal(c)) => Some(PathBuf::from(c)),
                        _ => None,
                    })
                    .collect();
                firsts.sort();
                firsts.dedup();
                for first in firsts {
                    let to = format!("{}/{}", p.name, first.display());
                    out.push(Remap { from: first, to });
                }
            }
            Ok(rel) => out.push(Remap {
                from: rel.to_path_buf(),
                to: p.name.clone(),
            }),
            Err(_) => out.push(Remap {
                from: p.dir.clone(),
                to: p.name.clone(),
            }),
        }
    }
    out
}

/// The rustc flags of the profile (`CARGO_ENCODED_RUSTFLAGS`, `\x1f`-separated): the stack
/// size and the path rewrites. Nothing from the caller's environment is added.
pub fn encoded_rustflags(remaps: &[Remap]) -> String {
    let mut flags = vec![format!("-Clink-arg=-zstack-size={STACK_BYTES}")];
    for r in remaps {
        flags.push(format!("--remap-path-prefix={}={}", r.from.display(), r.to));
    }
    flags.join("\x1f")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toolchain_matches_the_repository_pin() {
        let pin = include_str!("../../rust-toolchain.toml");
        assert!(
            pin.contains(&format!("channel = \"{TOOLCHAIN}\"")),
            "rust-toolchain.toml and chainvm_build::TOOLCHAIN disagree"
        );
    }

    #[test]
    fn members_root_packages_and_outside_paths_all_become_package_names() {
        let ws = Path::new("/w");
        let pkgs = [
            LocalPackage {
                name: "counter".into(),
                dir: "/w".into(),
                src_paths: vec!["/w/src/lib.rs".into()],
            },
            LocalPackage {
                name: "token".into(),
                dir: "/w/contracts/token".into(),
                src_paths: vec!["/w/contracts/token/src/lib.rs".into()],
            },
            LocalPackage {
                name: "chainvm-sdk".into(),
                dir: "/elsewhere/sdk".into(),
                src_paths: vec!["/elsewhere/sdk/src/lib.rs".into()],
            },
        ];
        let r = remaps(ws, Some(Path::new("/home/u/.cargo")), &pkgs);
        let pairs: Vec<(String, String)> = r
            .iter()
            .map(|r| (r.from.display().to_string(), r.to.clone()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("/home/u/.cargo", "/cargo"),
                ("src", "counter/src"),
                ("contracts/token", "token"),
                ("/elsewhere/sdk", "chainvm-sdk"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        let flags = encoded_rustflags(&r);
        assert!(flags.starts_with("-Clink-arg=-zstack-size=65536\x1f"));
        assert!(flags.ends_with("--remap-path-prefix=/elsewhere/sdk=chainvm-sdk"));
    }
}
