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

/// A named twin of code about to be deployed, to remember once the deploy succeeds.
pub struct Twin {
    code_hash: [u8; 32],
    bytes: Vec<u8>,
}

/// The named twin at `names`, if it is one of `code` (stripping it gives exactly `code`).
pub fn twin_of(code: &[u8], names: &Path) -> Option<Twin> {
    let bytes = std::fs::read(names).ok()?;
    is_twin_of(&bytes, code).then(|| Twin {
        code_hash: chainvm_vm::code_hash(code),
        bytes,
    })
}

impl Twin {
    /// Keeps the twin in the home under its code's hash. Best effort: a profile can still be
    /// drawn with `--names`, so a failure is only a warning.
    pub fn remember(&self, home: &Path) {
        let path = remembered(home, &self.code_hash);
        let saved = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|_| std::fs::write(&path, &self.bytes));
        if let Err(e) = saved {
            eprintln!(
                "warning: cannot keep the contract's function names for gas profiles: {}: {e}",
                path.display()
            );
        }
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

/// Names `profile` from the contract's twin (`explicit`, or the one remembered for `code`),
/// writes it as a flamegraph SVG at `svg` and as folded stacks beside it, and returns the line
/// to tell the user where.
pub fn write(
    home: &Path,
    code: &[u8],
    explicit: Option<&Path>,
    profile: &chainvm_runtime::GasProfile,
    root: &str,
    svg: &Path,
) -> Res<String> {
    let names = match twin_for(home, code, explicit)? {
        Some(twin) => chainvm_build::names::function_names(&twin)
            .map_err(|e| crate::util::CliError(format!("reading function names: {e}")))?,
        None => {
            eprintln!(
                "warning: no function names for this contract's code (deploy the output of `chainvm build`, or pass --names): functions are shown by index"
            );
            Default::default()
        }
    };
    let lines = chainvm_build::flame::folded(profile, &names, root);
    let title = format!("{root}: {} gas", profile.total());
    let drawn = chainvm_build::flame::svg(&lines, &title)
        .map_err(|e| crate::util::CliError(format!("drawing the flamegraph: {e}")))?;
    let folded = svg.with_extension("folded");
    let io = |p: &Path, e: std::io::Error| crate::util::CliError(format!("{}: {e}", p.display()));
    std::fs::write(svg, drawn).map_err(|e| io(svg, e))?;
    std::fs::write(&folded, lines.join("\n") + "\n").map_err(|e| io(&folded, e))?;
    Ok(format!(
        "gas profile: {} and {} ({} gas; heaviest stack: {})",
        svg.display(),
        folded.display(),
        profile.total(),
        lines.first().map(String::as_str).unwrap_or("none")
    ))
}
