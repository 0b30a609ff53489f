//! VM configuration: static limits checked at deploy, runtime limits, and resources.

use crate::schedule::GasSchedule;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Static caps checked when code is validated. Every one of them is consensus: changing one
/// changes which code deploys.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ValidationLimits {
    /// Largest wasm module, in bytes.
    pub max_code_size: usize,
    /// Most imported functions.
    pub max_imports: u32,
    /// Most functions (imported + defined).
    pub max_functions: u32,
    /// Most parameters of one function type.
    pub max_params: u32,
    /// Most parameters over all defined functions (signature-bomb guard).
    pub max_total_params: u32,
    /// Most results of one function type.
    pub max_results: u32,
    /// Most locals of one function (params excluded).
    pub max_locals: u32,
    /// Most locals over all defined functions.
    pub max_total_locals: u32,
    /// Largest function body, in bytes.
    pub max_body_size: u32,
    /// Most `block`/`loop`/`if` in one function.
    pub max_blocks: u32,
    /// Most targets of one `br_table`.
    pub max_br_table: u32,
    /// Most globals.
    pub max_globals: u32,
    /// Most data segments.
    pub max_data_segments: u32,
    /// Most element segments.
    pub max_element_segments: u32,
    /// Largest table (initial elements).
    pub max_table_elements: u32,
    /// Largest initial memory, in 64 KiB pages.
    pub max_initial_pages: u32,
    /// Most exports.
    pub max_exports: u32,
}

impl Default for ValidationLimits {
    fn default() -> Self {
        ValidationLimits {
            max_code_size: 1024 * 1024,
            max_imports: 100,
            max_functions: 10_000,
            max_params: 64,
            max_total_params: 50_000,
            max_results: 8,
            max_locals: 512,
            max_total_locals: 50_000,
            max_body_size: 192 * 1024,
            max_blocks: 5_000,
            max_br_table: 1_024,
            max_globals: 1_024,
            max_data_segments: 1_024,
            max_element_segments: 16,
            max_table_elements: 10_000,
            max_initial_pages: 64,
            max_exports: 1_024,
        }
    }
}

/// Limits enforced while code runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RuntimeLimits {
    /// Largest linear memory, in 64 KiB pages; `memory.grow` past it returns -1.
    pub max_memory_pages: u32,
    /// Budget of the injected, deterministic stack counter, in model bytes (a frame costs
    /// 64 + its params, locals and maximum operand stack, 4 or 8 bytes each).
    pub max_stack_bytes: u32,
    /// Most nested executions (contract-to-contract calls) on one thread.
    pub max_call_depth: u32,
}

impl Default for RuntimeLimits {
    fn default() -> Self {
        RuntimeLimits {
            max_memory_pages: 512,
            max_stack_bytes: 256 * 1024,
            max_call_depth: 8,
        }
    }
}

/// Everything a [`crate::Vm`] is built from.
#[derive(Debug, Clone)]
pub struct VmConfig {
    /// Gas costs.
    pub schedule: GasSchedule,
    /// Deploy-time caps.
    pub validation: ValidationLimits,
    /// Run-time limits.
    pub runtime: RuntimeLimits,
    /// Native stack limit handed to wasmtime. Far above what `max_stack_bytes` lets any frame
    /// shape reach, so a native overflow cannot happen before the deterministic one.
    pub native_stack_bytes: usize,
    /// Most top-level executions at once; each may nest `max_call_depth` deep, and the
    /// instance pool is sized for all of them so pool exhaustion can never fail a call.
    pub max_concurrency: u32,
    /// Compiled modules kept in memory.
    pub memory_cache_entries: usize,
    /// Directory for serialised compiled artifacts; `None` keeps the cache in memory only.
    pub cache_dir: Option<PathBuf>,
}

impl Default for VmConfig {
    fn default() -> Self {
        VmConfig {
            schedule: GasSchedule::default(),
            validation: ValidationLimits::default(),
            runtime: RuntimeLimits::default(),
            native_stack_bytes: 32 * 1024 * 1024,
            max_concurrency: 8,
            memory_cache_entries: 256,
            cache_dir: None,
        }
    }
}
