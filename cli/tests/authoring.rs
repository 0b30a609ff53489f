//! A contract author outside this repository: `chainvm new`, `chainvm build` with the
//! contract profile whatever the crate says, `chainvm deploy DIR`, memory warnings, and every
//! bad input of those commands (one clear line, nothing overwritten).

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The repository root.
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A scratch directory outside the repository's workspace (removed at drop).
fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("chainvm-authoring")
        .tempdir()
        .unwrap()
}

/// Where the contract builds of these tests go, shared between runs so they are incremental.
fn contract_target() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("authoring-target")
}

fn chainvm(home: &Path) -> Command {
    let mut c = Command::cargo_bin("chainvm").unwrap();
    c.arg("--home")
        .arg(home)
        .env("CARGO_TARGET_DIR", contract_target());
    c
}

/// Runs and expects success; returns (stdout, stderr).
fn ok(home: &Path, args: &[&str]) -> (String, String) {
    let out = chainvm(home).args(args).output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        out.status.success(),
        "chainvm {args:?} failed: {stderr}{stdout}"
    );
    (stdout, stderr)
}

/// Runs and expects failure; returns the whole stderr, whose last line is chainvm's.
fn fails(home: &Path, args: &[&str]) -> String {
    let out = chainvm(home).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert!(
        !out.status.success(),
        "chainvm {args:?} should fail: {stderr}"
    );
    let last = stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("error: "), "{stderr}");
    stderr
}

/// Runs, expects failure with exactly one line on stderr, and returns it.
fn one_line_error(home: &Path, args: &[&str]) -> String {
    let stderr = fails(home, args);
    assert_eq!(
        stderr.lines().count(),
        1,
        "one line expected, got: {stderr}"
    );
    stderr
}

/// A standalone copy of `contracts/token`. `hostile`: its own files ask for everything the
/// profile overrides (another opt-level, no LTO, unwinding, symbols, a 1 MiB stack);
/// otherwise it has the README's release profile and rustc's default stack, as an author
/// outside the repository would.
fn token_copy(dir: &Path, hostile: bool) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::create_dir_all(dir.join(".cargo")).unwrap();
    let token = repo().join("contracts/token/src/lib.rs");
    std::fs::copy(token, dir.join("src/lib.rs")).unwrap();
    std::fs::copy(repo().join("contracts/Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    let sdk = std::fs::canonicalize(repo().join("contracts/sdk")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            r#"[package]
name = "token"
version = "0.1.0"
edition = "2024"

[lib]
crate-type = ["cdylib"]

[dependencies]
chainvm-sdk = {{ path = "{}" }}
borsh = {{ version = "1.8", default-features = false, features = ["derive"] }}

{}"#,
            sdk.display(),
            if hostile {
                "[profile.release]\nopt-level = 3\nlto = false\npanic = \"unwind\"\nstrip = false\ncodegen-units = 16\n"
            } else {
                "[profile.release]\nopt-level = \"z\"\nlto = true\ncodegen-units = 1\npanic = \"abort\"\nstrip = true\n"
            }
        ),
    )
    .unwrap();
    if !hostile {
        return;
    }
    std::fs::write(
        dir.join(".cargo/config.toml"),
        "[target.wasm32-unknown-unknown]\nrustflags = [\"-C\", \"link-arg=-zstack-size=1048576\"]\n",
    )
    .unwrap();
}

#[test]
fn an_out_of_tree_token_is_byte_identical_to_the_in_repo_build_whatever_its_files_say() {
    let tmp = scratch();
    let crate_dir = tmp.path().join("elsewhere/token");
    token_copy(&crate_dir, true);
    let home = tmp.path().join("home");
    let out = chainvm(&home)
        .args(["--json", "build"])
        .arg(&crate_dir)
        // The caller's flags must not reach the contract either.
        .env("RUSTFLAGS", "-C opt-level=1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let built: Value = serde_json::from_slice(&out.stdout).unwrap();
    let path = built[0]["path"].as_str().unwrap();
    let outside = std::fs::read(path).unwrap();
    let inside = std::fs::read(chainvm_tests::contracts_dir().join("token.wasm")).unwrap();
    assert_eq!(outside.len(), inside.len());
    assert!(
        outside == inside,
        "the out-of-tree build differs from the in-repo one"
    );
    assert_eq!(built[0]["initial_memory_pages"], 2);
    // The named twin is the same code plus names.
    let names = std::fs::read(built[0]["names"].as_str().unwrap()).unwrap();
    assert_eq!(chainvm_build::strip::strip(&names).unwrap(), inside);
    assert!(names.len() > inside.len());
}

#[test]
fn a_contract_built_without_the_profile_is_warned_about_at_deploy_with_its_cost() {
    let tmp = scratch();
    let crate_dir = tmp.path().join("token");
    token_copy(&crate_dir, false);
    // What an author gets with plain cargo: rustc's 1 MiB stack.
    let status = std::process::Command::new("cargo")
        .current_dir(&crate_dir)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
            "--quiet",
        ])
        .env("CARGO_TARGET_DIR", tmp.path().join("plain-target"))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .status()
        .unwrap();
    assert!(status.success());
    let plain = tmp
        .path()
        .join("plain-target/wasm32-unknown-unknown/release/token.wasm");
    let home = tmp.path().join("home");
    ok(&home, &["init"]);
    let (_, stderr) = ok(
        &home,
        &[
            "deploy",
            plain.to_str().unwrap(),
            "--args",
            r#"{"name": "T", "symbol": "T", "supply": "100"}"#,
        ],
    );
    assert!(stderr.contains("warning:"), "{stderr}");
    assert!(stderr.contains("starts with 17 memory pages"), "{stderr}");
    assert!(stderr.contains("2,228,224 gas"), "{stderr}");
    assert!(stderr.contains("chainvm build"), "{stderr}");
}

#[test]
fn a_link_argument_from_a_build_script_that_grows_memory_is_warned_about_at_build() {
    let tmp = scratch();
    let crate_dir = tmp.path().join("token");
    token_copy(&crate_dir, true);
    std::fs::write(
        crate_dir.join("build.rs"),
        "fn main() { println!(\"cargo:rustc-link-arg=--initial-memory=1179648\"); }\n",
    )
    .unwrap();
    let (_, stderr) = ok(tmp.path(), &["build", crate_dir.to_str().unwrap()]);
    assert!(
        stderr.contains("warning: token: it starts with 18 memory pages"),
        "{stderr}"
    );
}

#[test]
fn new_project_builds_deploys_and_its_cargo_test_passes() {
    let tmp = scratch();
    let dir = tmp.path().join("counter");
    let home = tmp.path().join("home");
    let (stdout, _) = ok(&home, &["new", "counter", "--dir", dir.to_str().unwrap()]);
    assert!(stdout.contains("chainvm build && cargo test"), "{stdout}");
    for f in [
        "Cargo.toml",
        "Cargo.lock",
        "rust-toolchain.toml",
        "src/lib.rs",
        "tests/contract.rs",
        "tests/snapshots/contract__bump_gas.snap",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("crate-type = [\"cdylib\", \"rlib\"]"));
    let sdk = std::fs::canonicalize(repo().join("contracts/sdk")).unwrap();
    assert!(manifest.contains(&format!("chainvm-sdk = {{ path = \"{}\" }}", sdk.display())));

    let (stdout, _) = ok(&home, &["build", dir.to_str().unwrap()]);
    assert!(stdout.starts_with("counter "), "{stdout}");

    // `cargo test` inside the project, as its author runs it; the repository's target dir
    // holds the compiled chain already, so only the project's own crates build.
    let out = std::process::Command::new("cargo")
        .current_dir(&dir)
        .args(["test", "--quiet"])
        .env("CARGO_TARGET_DIR", repo().join("target"))
        .env("CI", "true")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "cargo test in the new project failed:\n{text}"
    );
    assert!(text.contains("1 passed"), "{text}");

    // Deploy the crate directory itself, then call it.
    ok(&home, &["init"]);
    let (deployed, _) = ok(
        &home,
        &[
            "--json",
            "deploy",
            dir.to_str().unwrap(),
            "--args",
            r#"{"start": 1}"#,
            "--alias",
            "c",
        ],
    );
    let deployed: Value = serde_json::from_str(&deployed).unwrap();
    assert_eq!(deployed["status"], "success", "{deployed}");
    let (called, _) = ok(&home, &["--json", "call", "c", "bump"]);
    let called: Value = serde_json::from_str(&called).unwrap();
    assert_eq!(called["return"], 2, "{called}");

    // --sdk names the sources explicitly; a wrong one is one line.
    let other = tmp.path().join("other");
    ok(
        &home,
        &[
            "new",
            "other",
            "--dir",
            other.to_str().unwrap(),
            "--sdk",
            repo().to_str().unwrap(),
        ],
    );
    let e = one_line_error(
        &home,
        &[
            "new",
            "third",
            "--dir",
            tmp.path().join("third").to_str().unwrap(),
            "--sdk",
            "/nonexistent",
        ],
    );
    assert!(e.contains("--sdk /nonexistent"), "{e}");
    assert!(!tmp.path().join("third").exists());
}

#[test]
fn bad_input_gets_one_clear_line_and_nothing_is_overwritten() {
    let tmp = scratch();
    let home = tmp.path().join("home");

    // `new` into a non-empty directory leaves it as it was.
    let taken = tmp.path().join("taken");
    std::fs::create_dir_all(&taken).unwrap();
    std::fs::write(taken.join("Cargo.toml"), "mine").unwrap();
    let e = one_line_error(&home, &["new", "counter", "--dir", taken.to_str().unwrap()]);
    assert!(
        e.contains("already exists and is not an empty directory"),
        "{e}"
    );
    assert_eq!(
        std::fs::read_to_string(taken.join("Cargo.toml")).unwrap(),
        "mine"
    );
    assert_eq!(std::fs::read_dir(&taken).unwrap().count(), 1);

    // Names cargo would refuse; nothing is created.
    for bad in ["1st", "my contract", "fn", "test", "a/b"] {
        let dir = tmp.path().join("bad-name");
        let e = one_line_error(&home, &["new", bad, "--dir", dir.to_str().unwrap()]);
        assert!(e.contains("is not a valid crate name"), "{e}");
        assert!(!dir.exists());
    }

    // `build` of a crate that is not a cdylib.
    let lib = tmp.path().join("plainlib");
    std::fs::create_dir_all(lib.join("src")).unwrap();
    std::fs::write(
        lib.join("Cargo.toml"),
        "[package]\nname = \"plainlib\"\nversion = \"0.1.0\"\nedition = \"2024\"\n",
    )
    .unwrap();
    std::fs::write(lib.join("src/lib.rs"), "#![no_std]\n").unwrap();
    let e = one_line_error(&home, &["build", lib.to_str().unwrap()]);
    assert!(
        e.contains("is not a contract: plainlib has no cdylib target"),
        "{e}"
    );

    // `build` and `deploy DIR` of a crate that does not compile: the compiler's own words,
    // then one line from chainvm.
    let broken = tmp.path().join("broken");
    ok(&home, &["new", "broken", "--dir", broken.to_str().unwrap()]);
    std::fs::write(
        broken.join("src/lib.rs"),
        "#![no_std]\npub fn f() -> u32 { \"not a number\" }\n",
    )
    .unwrap();
    for args in [vec!["build"], vec!["deploy"]] {
        let mut a = args.clone();
        a.push(broken.to_str().unwrap());
        if args[0] == "deploy" {
            ok(&home, &["init", "--force"]);
        }
        let stderr = fails(&home, &a);
        assert!(
            stderr.contains("error[E0308]: mismatched types"),
            "{stderr}"
        );
        assert!(stderr.contains("src/lib.rs:2"), "{stderr}");
        let last = stderr.lines().last().unwrap();
        assert!(last.starts_with("error: the contract in"), "{last}");
        assert!(last.contains("does not compile"), "{last}");
    }

    // `deploy` of a directory without a Cargo.toml, and `build` of one.
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    for cmd in ["deploy", "build"] {
        let e = one_line_error(&home, &[cmd, empty.to_str().unwrap()]);
        assert!(e.contains("has no Cargo.toml"), "{e}");
    }
}

#[test]
fn the_sdk_crates_are_ready_to_publish() {
    // `cargo package` of the three crates together, verified: each tarball builds on its
    // own, with its dependencies taken as published versions, not paths.
    let out = std::process::Command::new("cargo")
        .current_dir(repo().join("contracts"))
        .args(["package", "--allow-dirty", "--quiet"])
        .args([
            "-p",
            "chainvm-abi",
            "-p",
            "chainvm-sdk-macros",
            "-p",
            "chainvm-sdk",
        ])
        .env("CARGO_TARGET_DIR", contract_target().join("package"))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo package failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for c in ["chainvm-abi", "chainvm-sdk-macros", "chainvm-sdk"] {
        let crate_file = contract_target().join(format!("package/package/{c}-0.1.0.crate"));
        assert!(crate_file.is_file(), "{} missing", crate_file.display());
    }
}

/// A contract with a deliberately hot function: `work` calls `spin` (a loop) and `cheap`.
const HOT_CONTRACT: &str = r#"#![no_std]
use chainvm_sdk::prelude::*;

const TOTAL: Item<u64> = Item::new(b"t");

#[inline(never)]
fn spin(rounds: u64) -> u64 {
    let mut x = 1u64;
    for i in 0..rounds {
        x = core::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
    }
    x
}

#[inline(never)]
fn cheap(x: u64) -> u64 {
    core::hint::black_box(x ^ 1)
}

#[derive(Default)]
pub struct Hot;

#[contract]
impl Hot {
    pub fn work(&mut self, rounds: u64) -> u64 {
        let v = cheap(spin(rounds));
        TOTAL.set(&v);
        v
    }
}
"#;

#[test]
fn a_gas_profile_adds_up_to_the_receipt_and_puts_the_hot_function_on_top() {
    let tmp = scratch();
    let dir = tmp.path().join("hot");
    let home = tmp.path().join("home");
    ok(&home, &["new", "hot", "--dir", dir.to_str().unwrap()]);
    std::fs::write(dir.join("src/lib.rs"), HOT_CONTRACT).unwrap();
    std::fs::remove_dir_all(dir.join("tests")).unwrap();
    ok(&home, &["init"]);
    ok(&home, &["deploy", dir.to_str().unwrap(), "--alias", "hot"]);
    let svg = tmp.path().join("work.svg");
    let (out, stderr) = ok(
        &home,
        &[
            "--json",
            "call",
            "hot",
            "work",
            "[20000]",
            "--gas-profile",
            svg.to_str().unwrap(),
        ],
    );
    assert!(!stderr.contains("warning"), "{stderr}");
    let receipt: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(receipt["status"], "success", "{receipt}");
    let drawn = std::fs::read_to_string(&svg).unwrap();
    assert!(
        drawn.starts_with("<?xml") && drawn.contains("hot::spin"),
        "no spin in the SVG"
    );
    let folded = std::fs::read_to_string(svg.with_extension("folded")).unwrap();
    let total: u64 = folded
        .lines()
        .map(|l| l.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, receipt["gas"]["total"].as_u64().unwrap());
    let heaviest = folded.lines().next().unwrap();
    assert!(heaviest.starts_with("hot.work;work;"), "{heaviest}");
    assert!(heaviest.contains(";hot::spin "), "{heaviest}");
    // The host calls sit under the function that made them, and the root holds the fixed
    // costs.
    assert!(folded.contains(";host::storage_set "), "{folded}");
    assert!(
        folded.lines().any(|l| l.starts_with("hot.work;intrinsic ")),
        "{folded}"
    );
    assert!(
        folded.lines().any(|l| l.starts_with("hot.work;loading ")),
        "{folded}"
    );

    // Without the remembered names the functions are shown by index, with a warning.
    std::fs::remove_dir_all(home.join("names")).unwrap();
    let (_, stderr) = ok(
        &home,
        &[
            "call",
            "hot",
            "work",
            "[10]",
            "--gas-profile",
            svg.to_str().unwrap(),
        ],
    );
    assert!(stderr.contains("no function names"), "{stderr}");
    // A names file of other code is refused.
    let other = repo().join("contracts/target/chainvm/token.names.wasm");
    let e = fails(
        &home,
        &[
            "call",
            "hot",
            "work",
            "[10]",
            "--gas-profile",
            svg.to_str().unwrap(),
            "--names",
            other.to_str().unwrap(),
        ],
    );
    assert!(e.contains("is not a build of the deployed code"), "{e}");
}
