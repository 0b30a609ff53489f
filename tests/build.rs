//! Builds the sample contracts in `contracts/` from source with the contract profile
//! (`chainvm-build`, the same build `chainvm build` runs), so `cargo test` on a fresh clone
//! needs nothing else, and tells the tests where the wasm is.

use std::path::PathBuf;

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
    let opts = chainvm_build::BuildOptions {
        locked: true,
        capture_output: false,
    };
    let built = match chainvm_build::build(&contracts, &opts) {
        Ok(b) => b,
        Err(e) => panic!("building the sample contracts failed: {e}"),
    };
    let dir = built
        .first()
        .and_then(|b| b.wasm.parent())
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("no sample contract was built"));
    println!("cargo:rustc-env=CHAINVM_CONTRACTS_WASM={}", dir.display());
}
