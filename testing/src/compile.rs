//! The crate under test, built once per test process.

use crate::TestingError;
use chainvm_build::{BuildOptions, Built};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// A contract built with the contract profile.
#[derive(Debug, Clone)]
pub struct Wasm {
    /// Its library name.
    pub name: String,
    /// The deployable code.
    pub code: Vec<u8>,
    /// Where the deployable code is.
    pub path: PathBuf,
    /// The same code with function names, for gas profiles.
    pub names: PathBuf,
}

type Cache = Mutex<BTreeMap<PathBuf, Arc<OnceLock<Result<Arc<Wasm>, String>>>>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// Builds the contract crate in `dir` (usually `env!("CARGO_MANIFEST_DIR")`) for wasm32 with
/// the contract profile, once per test process however many tests ask (later calls get the
/// same result), and returns its wasm. On failure the error holds the compiler's output.
///
/// A crate whose wasm starts with more memory than the profile gives gets a warning on
/// stderr with the gas it costs per call.
pub fn compile_project(dir: impl AsRef<Path>) -> Result<Arc<Wasm>, TestingError> {
    let dir = dir.as_ref();
    let key = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let slot = {
        let mut map = cache().lock().unwrap_or_else(|p| p.into_inner());
        map.entry(key).or_default().clone()
    };
    let result = slot.get_or_init(|| build_one(dir).map(Arc::new));
    match result {
        Ok(w) => Ok(w.clone()),
        Err(e) => Err(TestingError::Build(e.clone())),
    }
}

/// One build; the error is the message to repeat to every caller.
fn build_one(dir: &Path) -> Result<Wasm, String> {
    let opts = BuildOptions {
        locked: false,
        capture_output: true,
    };
    let mut built: Vec<Built> = chainvm_build::build(dir, &opts).map_err(|e| e.to_string())?;
    if built.len() != 1 {
        let names: Vec<&str> = built.iter().map(|b| b.name.as_str()).collect();
        return Err(format!(
            "{} builds {} contracts ({}); point compile_project at one crate",
            dir.display(),
            built.len(),
            names.join(", ")
        ));
    }
    let b = built.remove(0);
    if let Some(w) = b
        .memory
        .as_ref()
        .and_then(|m| m.warning(chainvm_runtime::vm::GasSchedule::default().memory.per_page))
    {
        eprintln!("warning: {}: {w}", b.name);
    }
    let code = std::fs::read(&b.wasm).map_err(|e| format!("{}: {e}", b.wasm.display()))?;
    Ok(Wasm {
        name: b.name,
        code,
        path: b.wasm,
        names: b.names,
    })
}
