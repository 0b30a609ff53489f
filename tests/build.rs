//! Builds the sample contracts in `contracts/` from source for wasm32-unknown-unknown, so
//! `cargo test` on a fresh clone needs nothing else, and tells the tests where the wasm is.

use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-unknown-unknown";

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let contracts = root.join("contracts");
    for p in [
        "Cargo.toml",
        "Cargo.lock",
        "abi",
        ".cargo",
        "sdk",
        "sdk-macros",
        "escrow",
        "voting",
        "token",
        "probe",
    ] {
        println!("cargo:rerun-if-changed={}", contracts.join(p).display());
    }

    ensure_target();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(&contracts)
        .args(["build", "--release", "--locked", "--target", TARGET])
        // The outer build's flags and target directory are not the contracts'.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        // Under `cargo clippy` this points at clippy-driver (and sets `--cfg clippy`): the
        // contracts must be compiled by plain rustc, or their bytes, and so gas, would change.
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!(
            "building the sample contracts failed ({s}); run `cargo build --release` in contracts/ to see why"
        ),
        Err(e) => panic!("could not run cargo to build the sample contracts: {e}"),
    }
    let out = contracts.join("target").join(TARGET).join("release");
    println!("cargo:rustc-env=CHAINVM_CONTRACTS_WASM={}", out.display());
}

/// Makes sure the wasm32 standard library is installed, installing it with rustup if not.
fn ensure_target() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let installed = |s: &Option<String>| {
        s.as_ref()
            .is_some_and(|s| Path::new(s).join("lib/rustlib").join(TARGET).exists())
    };
    if installed(&sysroot) {
        return;
    }
    let ok = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()
        .is_ok_and(|s| s.success());
    if !ok || !installed(&sysroot) {
        panic!("the {TARGET} target is missing: run `rustup target add {TARGET}`");
    }
}
