//! Gas profiles of calls (`chainvm call --gas-profile FILE.svg`).
//!
//! The deployed code has no function names, so the profile is taken by function index and
//! named from the twin `chainvm build` writes beside the wasm (`<name>.names.wasm`): the
//! same code with a name section. `chainvm deploy` remembers the twin in the home under the
//! code's hash, after checking that the twin stripped is exactly the deployed code.

use crate::util::Res;
use chainvm_runtime::types::hex;
use std::path::{Path, PathBuf};

/// Subdirectory of the home holding remembered twins, `<code hash>.wasm`.
const NAMES_DIR: &str = "names";

fn remembered(home: &Path, code_hash: &[u8; 32]) -> PathBuf {
    home.join(NAMES_DIR)
        .join(format!("{}.wasm", hex(code_hash)))
}

/// Whether `twin` is `code` with names: stripping it gives exactly `code`.
fn is_twin_of(twin: &[u8], code: &[u8]) -> bool {
    chainvm_build::strip::strip(twin).is_ok_and(|s| s == code)
}

/// Remembers the named twin at `names` for the deployed `code`, if it is one. Best effort:
/// a profile can still be drawn with `--names`, so a failure is only a warning.
pub fn remember_names(home: &Path, code: &[u8], names: &Path) {
    let Ok(twin) = std::fs::read(names) else {
        return;
    };
    if !is_twin_of(&twin, code) {
        return;
    }
    let path = remembered(home, &chainvm_vm::code_hash(code));
    let saved = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|_| std::fs::write(&path, &twin));
    if let Err(e) = saved {
        eprintln!(
            "warning: cannot keep the contract's function names for gas profiles: {}: {e}",
            path.display()
        );
    }
}

/// The named twin of the code with hash `code_hash`: `explicit` (`--names`), else the one
/// remembered at deploy.
pub fn twin_for(home: &Path, code: &[u8], explicit: Option<&Path>) -> Res<Option<Vec<u8>>> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => remembered(home, &chainvm_vm::code_hash(code)),
    };
    let Ok(twin) = std::fs::read(&path) else {
        return match explicit {
            Some(p) => crate::util::fail(format!("{}: cannot read it", p.display())),
            None => Ok(None),
        };
    };
    if !is_twin_of(&twin, code) {
        return crate::util::fail(format!(
            "{} is not a build of the deployed code (its code differs): rebuild with `chainvm build` and redeploy, or pass the matching .names.wasm",
            path.display()
        ));
    }
    Ok(Some(twin))
}
