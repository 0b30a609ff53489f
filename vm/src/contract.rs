//! A loaded contract: validated, instrumented, compiled and linked, with its entry points
//! resolved once.

use crate::error::VmError;
use crate::imports::StoreData;
use crate::validate::ModuleInfo;
use sha3::{Digest, Keccak256};
use wasmtime::{ExternType, InstancePre, Module, ModuleExport};

/// keccak256 of contract code: the identity of code in state and in the cache.
pub fn code_hash(code: &[u8]) -> [u8; 32] {
    Keccak256::digest(code).into()
}

/// A contract ready to instantiate: validated, instrumented, compiled and linked.
pub struct Contract {
    pub(crate) code_hash: [u8; 32],
    pub(crate) code_len: usize,
    pub(crate) info: ModuleInfo,
    pub(crate) pre: InstancePre<StoreData>,
    /// Each entry point's export, resolved once at load (same order as `info.entry_points`),
    /// so a call looks its function up by index instead of by name. Every one is checked to
    /// be a `() -> ()` function of the compiled module, which `run` relies on.
    pub(crate) entries: Vec<ModuleExport>,
    /// The memory export, resolved once like `entries`.
    pub(crate) memory: Option<ModuleExport>,
    /// For a profiling build ([`crate::Vm::load_profiling`]): each entry point's function index in
    /// the original module (same order as `entries`). `None` for a consensus build.
    pub(crate) profiling: Option<Vec<Option<u32>>>,
}

impl Contract {
    /// keccak256 of the original code.
    pub fn code_hash(&self) -> [u8; 32] {
        self.code_hash
    }
    /// Size of the original code in bytes (what loading gas is charged on).
    pub fn code_len(&self) -> usize {
        self.code_len
    }
    /// What validation learnt about the module.
    pub fn info(&self) -> &ModuleInfo {
        &self.info
    }
    /// Whether the module exports this entry point.
    pub fn has_entry(&self, name: &str) -> bool {
        self.entry(name).is_some()
    }

    /// Whether this is a profiling build ([`crate::Vm::load_profiling`]), which only
    /// [`crate::Vm::execute_profiled`] runs.
    pub fn is_profiling(&self) -> bool {
        self.profiling.is_some()
    }

    pub(crate) fn entry_index(&self, name: &str) -> Option<usize> {
        self.info
            .entry_points
            .binary_search_by(|e| e.as_str().cmp(name))
            .ok()
    }

    /// The resolved export of entry point `name`, if the module has it.
    pub(crate) fn entry(&self, name: &str) -> Option<&ModuleExport> {
        self.entries.get(self.entry_index(name)?)
    }

    /// The original function index of entry point `name` in a profiling build.
    pub(crate) fn entry_func(&self, name: &str) -> Option<u32> {
        let i = self.entry_index(name)?;
        self.profiling.as_ref()?.get(i).copied().flatten()
    }
}

/// Resolves every entry point of `info` in the compiled `module`, checking that each is a
/// function without parameters or results (validation guarantees it for the original code;
/// this checks the compiled, instrumented module too, because `run` calls them unchecked).
pub(crate) fn resolve_entries(
    module: &Module,
    info: &ModuleInfo,
) -> Result<Vec<ModuleExport>, VmError> {
    info.entry_points
        .iter()
        .map(|name| {
            let unit = matches!(
                module.get_export(name),
                Some(ExternType::Func(f)) if f.params().len() == 0 && f.results().len() == 0
            );
            match module.get_export_index(name) {
                Some(export) if unit => Ok(export),
                _ => Err(VmError::engine(format!(
                    "entry point {name} is not a () -> () function of the compiled module"
                ))),
            }
        })
        .collect()
}

impl std::fmt::Debug for Contract {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contract")
            .field("code_hash", &self.code_hash)
            .field("code_len", &self.code_len)
            .field("entry_points", &self.info.entry_points)
            .finish()
    }
}
