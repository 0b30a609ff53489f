//! `chainvm new NAME`: a contract crate that builds, deploys and tests from the first minute.
//!
//! The crate gets a small contract (storage, an event, a typed error), a test on an embedded
//! chain with an insta gas snapshot, the pinned toolchain and a `Cargo.lock` seeded from the
//! one this CLI was built with (the same dependency versions, so the same bytes and gas).
//! The snapshot is the contract's real gas: `new` builds it and runs the test's call once.

use crate::util::{CliError, Res, emit, fail};
use chainvm_testing::{TestChain, compile_project, json};
use serde_json::Value;
use std::path::{Path, PathBuf};

const CARGO_TOML: &str = include_str!("../templates/new/Cargo.toml.tmpl");
const TOOLCHAIN_TOML: &str = include_str!("../templates/new/rust-toolchain.toml.tmpl");
const GITIGNORE: &str = include_str!("../templates/new/gitignore.tmpl");
const LIB_RS: &str = include_str!("../templates/new/lib.rs.tmpl");
const TEST_RS: &str = include_str!("../templates/new/test.rs.tmpl");
/// The lock file of this repository's workspace: every crate the new project needs, at the
/// versions this CLI was built and tested with. cargo drops the entries it does not need.
const CARGO_LOCK: &str = include_str!("../../Cargo.lock");

/// Names cargo or Rust refuse as a package name, and the crates the project depends on.
const RESERVED: &[&str] = &[
    "as",
    "async",
    "await",
    "break",
    "const",
    "continue",
    "crate",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "fn",
    "for",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "match",
    "mod",
    "move",
    "mut",
    "pub",
    "ref",
    "return",
    "self",
    "Self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "type",
    "unsafe",
    "use",
    "where",
    "while",
    "abstract",
    "become",
    "box",
    "do",
    "final",
    "macro",
    "override",
    "priv",
    "typeof",
    "unsized",
    "virtual",
    "yield",
    "try",
    "gen",
    "std",
    "core",
    "alloc",
    "proc_macro",
    "proc-macro",
    "test",
    "build",
    "deps",
    "examples",
    "borsh",
    "insta",
    "chainvm-sdk",
    "chainvm_sdk",
    "chainvm-testing",
    "chainvm_testing",
    "chainvm-abi",
    "chainvm_abi",
    "chainvm-sdk-macros",
];

/// Why `name` cannot be a crate name, if it cannot.
fn invalid_name(name: &str) -> Option<String> {
    let Some(first) = name.chars().next() else {
        return Some("it is empty".into());
    };
    if !(first.is_ascii_alphabetic() || first == '_') {
        return Some("it must start with a letter or `_`".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Some(format!(
            "`{c}` is not allowed (letters, digits, `-` and `_` only)"
        ));
    }
    if RESERVED.contains(&name) {
        return Some("it is a Rust keyword or a name the project's own dependencies use".into());
    }
    if name.len() > 64 {
        return Some("it is longer than 64 characters".into());
    }
    None
}

/// Where the SDK and the testing crate are: under `--sdk PATH` (a chainvm checkout or its
/// `contracts/sdk`), else in the source tree this CLI was built from.
fn sources(sdk: Option<&Path>) -> Res<(PathBuf, PathBuf)> {
    let root = match sdk {
        Some(p) if p.join("contracts/sdk/Cargo.toml").is_file() => p.to_path_buf(),
        Some(p) if p.join("Cargo.toml").is_file() && p.join("../../testing").is_dir() => {
            p.join("../..")
        }
        Some(p) => {
            return fail(format!(
                "--sdk {}: not a chainvm checkout or its contracts/sdk directory",
                p.display()
            ));
        }
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/..")),
    };
    let root = std::fs::canonicalize(&root)
        .map_err(|e| CliError(format!("the chainvm sources at {}: {e}", root.display())))?;
    let (sdk, testing) = (root.join("contracts/sdk"), root.join("testing"));
    if !sdk.join("Cargo.toml").is_file() || !testing.join("Cargo.toml").is_file() {
        return fail(format!(
            "the chainvm SDK is not at {} (pass --sdk PATH to a chainvm checkout)",
            sdk.display()
        ));
    }
    Ok((sdk, testing))
}

/// The `new` command.
pub fn new_cmd(name: &str, dir: Option<&Path>, sdk: Option<&Path>, j: bool) -> Res<()> {
    if let Some(why) = invalid_name(name) {
        return fail(format!("`{name}` is not a valid crate name: {why}"));
    }
    let dir = dir.map_or_else(|| PathBuf::from(name), Path::to_path_buf);
    if dir.exists() {
        let empty = std::fs::read_dir(&dir)
            .map_err(|e| CliError(format!("{}: {e}", dir.display())))?
            .next()
            .is_none();
        if !dir.is_dir() || !empty {
            return fail(format!(
                "{} already exists and is not an empty directory: nothing was written",
                dir.display()
            ));
        }
    }
    let (sdk, testing) = sources(sdk)?;
    let fill = |t: &str| {
        t.replace("{{name}}", name)
            .replace("{{sdk}}", &sdk.display().to_string())
            .replace("{{testing}}", &testing.display().to_string())
            .replace("{{toolchain}}", chainvm_build::TOOLCHAIN)
    };
    let files = [
        ("Cargo.toml", fill(CARGO_TOML)),
        ("rust-toolchain.toml", fill(TOOLCHAIN_TOML)),
        (".gitignore", GITIGNORE.to_string()),
        ("Cargo.lock", CARGO_LOCK.to_string()),
        ("src/lib.rs", fill(LIB_RS)),
        ("tests/contract.rs", fill(TEST_RS)),
    ];
    for (path, text) in &files {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| CliError(format!("{}: {e}", parent.display())))?;
        }
        std::fs::write(&path, text).map_err(|e| CliError(format!("{}: {e}", path.display())))?;
    }
    if !j {
        eprintln!(
            "created {} ({name}); building it to record its gas snapshot...",
            dir.display()
        );
    }
    let snapshot = record_snapshot(&dir)?;
    let out = json!({
        "name": name,
        "dir": dir.display().to_string(),
        "wasm": snapshot.0.display().to_string(),
        "bump_gas": snapshot.1,
    });
    emit(
        j,
        &format!(
            "{}: contract `{name}` ({}); next: cd {} && chainvm build && cargo test",
            dir.display(),
            snapshot.0.display(),
            dir.display()
        ),
        &out,
    );
    Ok(())
}

/// Builds the new contract and runs the test's call, writing the insta snapshot the test
/// compares against: the exact gas of this contract, compiled with this profile.
fn record_snapshot(dir: &Path) -> Res<(PathBuf, Value)> {
    let wasm = compile_project(dir).map_err(|e| CliError(e.to_string()))?;
    // The same steps as the test in `test.rs.tmpl`, up to its snapshot.
    let run = || -> Result<chainvm_testing::GasReport, chainvm_testing::TestingError> {
        let mut t = TestChain::new();
        let counter = t.deploy(0, &wasm, json!({"start": 99}))?.address;
        let bumped = t.call(1, counter, "bump", json!([]))?;
        Ok(bumped.receipt.gas)
    };
    let gas = run().map_err(|e| CliError(format!("running the new contract: {e}")))?;
    // insta's own serializer, so the file holds exactly what the assertion compares.
    let yaml = insta::_macro_support::serialize_value(
        &gas,
        insta::_macro_support::SerializationFormat::Yaml,
    );
    let snap = dir.join("tests/snapshots/contract__bump_gas.snap");
    let text = format!(
        "---\nsource: tests/contract.rs\nexpression: bumped.receipt.gas\n---\n{}\n",
        yaml.trim_end()
    );
    if let Some(parent) = snap.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| CliError(format!("{}: {e}", parent.display())))?;
    }
    std::fs::write(&snap, text).map_err(|e| CliError(format!("{}: {e}", snap.display())))?;
    Ok((wasm.path.clone(), serde_json::to_value(&gas)?))
}

#[cfg(test)]
mod tests {
    use super::invalid_name;

    #[test]
    fn crate_names_follow_cargo() {
        for ok in ["counter", "my-token", "_x", "A1_b-2"] {
            assert_eq!(invalid_name(ok), None, "{ok}");
        }
        for bad in [
            "1abc",
            "-x",
            "has space",
            "a.b",
            "fn",
            "test",
            "std",
            "chainvm-sdk",
            "é",
        ] {
            assert!(invalid_name(bad).is_some(), "{bad}");
        }
        assert_eq!(invalid_name("").as_deref(), Some("it is empty"));
    }
}
