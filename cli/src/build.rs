//! `chainvm build`: a contract crate compiled with the contract profile (`chainvm-build`),
//! with a size report and a warning for a contract that starts with more memory than the
//! profile would give it.

use crate::util::{CliError, Res, emit};
pub use chainvm_build::Built;
use chainvm_build::{BuildOptions, MemoryFootprint};
use serde_json::{Value, json};
use std::path::Path;

/// Builds the crate or workspace in `dir` and returns its contracts. The compiler's output
/// goes to stderr as it printed it; a failure is then one line.
pub fn build(dir: &Path) -> Res<Vec<Built>> {
    let built =
        chainvm_build::build(dir, &BuildOptions::default()).map_err(|e| CliError(e.to_string()))?;
    for b in &built {
        if let Some(w) = b.memory.as_ref().and_then(|m| m.warning(page_gas())) {
            eprintln!("warning: {}: {w}", b.name);
        }
    }
    Ok(built)
}

/// Gas per memory page in the schedule this CLI runs.
fn page_gas() -> u64 {
    chainvm_vm::GasSchedule::default().memory.per_page
}

/// The deploy-time memory warning for `code`, if it asks for more memory than it needs.
pub fn memory_warning(code: &[u8]) -> Option<String> {
    MemoryFootprint::of(code)
        .and_then(|m| m.warning(page_gas()))
        .map(|w| w.to_string())
}

/// The `build` command.
pub fn build_cmd(dir: &Path, j: bool) -> Res<()> {
    let built = build(dir)?;
    let mut human = String::new();
    let mut rows = Vec::new();
    for b in &built {
        human += &format!("{:<12} {:>8} bytes  {}\n", b.name, b.size, b.wasm.display());
        rows.push(json!({
            "name": b.name,
            "path": b.wasm.display().to_string(),
            "names": b.names.display().to_string(),
            "size": b.size,
            "initial_memory_pages": b.memory.as_ref().map(|m| m.initial_pages),
        }));
    }
    emit(j, human.trim_end(), &Value::Array(rows));
    Ok(())
}
