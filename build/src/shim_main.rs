//! The rustc wrapper chainvm-build compiles and hands cargo as `RUSTC_WRAPPER`.
//!
//! cargo gives every crate a `-C metadata` hash of its package id, which for a path package
//! includes where it lives (relative to the workspace root, or absolute outside it). rustc
//! mixes that hash into every symbol name, and the order of functions in a contract follows
//! symbol names: the same contract built in another directory, or against the SDK at another
//! path, would get different bytes and gas. For wasm32 units this wrapper replaces the hash
//! with one of the package's name and version; everything else reaches rustc untouched.

use std::ffi::OsString;
use std::process::{Command, exit};

fn main() {
    let mut args = std::env::args_os().skip(1);
    let Some(rustc) = args.next() else {
        eprintln!("chainvm rustc wrapper: expected the rustc path as first argument");
        exit(2);
    };
    let args: Vec<OsString> = args.collect();
    let wasm = args.iter().any(|a| {
        a == "wasm32-unknown-unknown" || a == "--target=wasm32-unknown-unknown"
    });
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    let canonical = format!(
        "metadata=chainvm:{}:{}",
        var("CARGO_PKG_NAME"),
        var("CARGO_PKG_VERSION")
    );
    let mut out: Vec<OsString> = Vec::with_capacity(args.len());
    let mut after_c = false;
    for a in args {
        let s = a.to_str().unwrap_or("");
        if wasm && after_c && s.starts_with("metadata=") {
            out.push(canonical.clone().into());
        } else if wasm && s.starts_with("-Cmetadata=") {
            out.push(format!("-C{canonical}").into());
        } else {
            out.push(a.clone());
        }
        after_c = s == "-C";
    }
    match Command::new(&rustc).args(out).status() {
        Ok(s) => exit(s.code().unwrap_or(1)),
        Err(e) => {
            eprintln!("chainvm rustc wrapper: cannot run {}: {e}", rustc.to_string_lossy());
            exit(1);
        }
    }
}
