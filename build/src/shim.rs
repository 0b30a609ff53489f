//! Compiles the rustc wrapper ([`shim_main.rs`](../shim_main.rs)) once per target directory.

use crate::BuildError;
use std::path::{Path, PathBuf};
use std::process::Command;

const SOURCE: &str = include_str!("shim_main.rs");

/// FNV-1a of the wrapper's source: names the binary, so a changed wrapper is rebuilt.
fn source_hash() -> u64 {
    SOURCE.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Path of the compiled wrapper in `dir`, compiling it first if it is not there. The binary
/// is written under a temporary name and renamed, so concurrent builds never run half a file.
pub fn ensure(dir: &Path) -> Result<PathBuf, BuildError> {
    let exe = dir.join(format!(
        "rustc-wrapper-{:016x}{}",
        source_hash(),
        std::env::consts::EXE_SUFFIX
    ));
    if exe.is_file() {
        return Ok(exe);
    }
    std::fs::create_dir_all(dir).map_err(|e| BuildError::io(dir, e))?;
    let src = dir.join(format!("rustc-wrapper-{:016x}.rs", source_hash()));
    std::fs::write(&src, SOURCE).map_err(|e| BuildError::io(&src, e))?;
    let tmp = dir.join(format!(
        "rustc-wrapper-{}.tmp{}",
        std::process::id(),
        std::env::consts::EXE_SUFFIX
    ));
    let out = Command::new("rustc")
        .env("RUSTUP_TOOLCHAIN", crate::TOOLCHAIN)
        .args([
            "--edition",
            "2021",
            "-O",
            "--crate-name",
            "chainvm_rustc_wrapper",
        ])
        .arg("-o")
        .arg(&tmp)
        .arg(&src)
        .output()
        .map_err(|e| BuildError::Tool {
            tool: "rustc".into(),
            detail: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(BuildError::Tool {
            tool: "rustc".into(),
            detail: format!(
                "compiling the build wrapper failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    std::fs::rename(&tmp, &exe).map_err(|e| BuildError::io(&exe, e))?;
    Ok(exe)
}
