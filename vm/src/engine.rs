//! The wasmtime engine configuration: every setting that could change a result is pinned here.

use crate::config::VmConfig;
use crate::error::VmError;
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig,
    Strategy, WasmBacktraceDetails, WasmFeatures,
};

/// Bytes of a freed linear memory kept resident and reset in place: a contract's usual 2-3
/// pages with room to spare (without PAGEMAP_SCAN this much is rewritten on every reset).
const KEEP_RESIDENT_MEMORY: usize = 256 << 10;
/// Bytes of a freed table kept resident and reset in place.
const KEEP_RESIDENT_TABLE: usize = 64 << 10;

/// Builds the engine: Cranelift (never Winch, which ignores per-byte fuel costs in 48.x), fuel
/// with the schedule's operator table, NaN canonicalisation, only the features rustc's wasm32
/// output needs, no epochs, a native stack limit far above the instrumented one, and a pooling
/// allocator sized so it can never run out under the configured concurrency.
pub fn build_engine(cfg: &VmConfig) -> Result<Engine, VmError> {
    Engine::new(&engine_config(cfg)).map_err(VmError::engine)
}

/// The wasmtime configuration [`build_engine`] uses.
pub(crate) fn engine_config(cfg: &VmConfig) -> Config {
    let mut c = Config::new();
    c.strategy(Strategy::Cranelift);
    c.cranelift_opt_level(OptLevel::Speed);
    c.consume_fuel(true);
    c.operator_cost(cfg.schedule.operator_cost());
    c.epoch_interruption(false);
    c.cranelift_nan_canonicalization(true);

    // Features: relaxed SIMD must go before SIMD.
    c.wasm_relaxed_simd(false);
    c.wasm_simd(false);
    c.wasm_multi_memory(false);
    c.wasm_tail_call(false);
    c.wasm_extended_const(false);
    c.wasm_wide_arithmetic(false);
    c.wasm_custom_page_sizes(false);
    c.wasm_stack_switching(false);
    for off in [
        WasmFeatures::MEMORY64,
        WasmFeatures::THREADS,
        WasmFeatures::SHARED_EVERYTHING_THREADS,
        WasmFeatures::EXCEPTIONS,
        WasmFeatures::LEGACY_EXCEPTIONS,
        WasmFeatures::GC,
        WasmFeatures::FUNCTION_REFERENCES,
        WasmFeatures::COMPONENT_MODEL,
    ] {
        c.wasm_features(off, false);
    }
    c.wasm_bulk_memory(true);
    c.wasm_multi_value(true);
    c.wasm_features(WasmFeatures::REFERENCE_TYPES, true);

    // The instrumented counter is the real stack limit; the native one must never fire first.
    c.max_wasm_stack(cfg.native_stack_bytes);
    c.async_stack_size(cfg.native_stack_bytes + (1 << 20));

    let max_memory = cfg.runtime.max_memory_pages as usize * 65_536;
    let slots = cfg
        .max_concurrency
        .saturating_mul(cfg.runtime.max_call_depth + 1);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_core_instances(slots)
        .total_memories(slots)
        .total_tables(slots)
        .total_component_instances(0)
        .max_memories_per_module(1)
        .max_tables_per_module(1)
        .max_memory_size(max_memory)
        .table_elements(cfg.validation.max_table_elements as usize);
    // Keep a freed memory's pages mapped and reset them by hand (only the dirty ones where
    // the kernel has PAGEMAP_SCAN, Linux 6.7+) instead of `madvise`, which cost every call a
    // TLB shootdown and fresh page faults on the next call. Contents after the reset are the
    // initial image either way; this only changes speed.
    pool.linear_memory_keep_resident(KEEP_RESIDENT_MEMORY)
        .table_keep_resident(KEEP_RESIDENT_TABLE)
        .pagemap_scan(Enabled::Auto);
    c.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    c.memory_init_cow(true);
    c.native_unwind_info(false);
    c.generate_address_map(false);
    c.wasm_backtrace_details(WasmBacktraceDetails::Disable);
    c
}
