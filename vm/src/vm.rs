//! The VM: load (validate, instrument, compile, cache) and execute contracts under gas.

use crate::cache::{self, CacheStats, DiskCache, MemoryCache};
use crate::config::VmConfig;
use crate::contract::resolve_entries;
pub use crate::contract::{Contract, code_hash};
use crate::ending::{Ending, GasUsed, classify};
use crate::engine::build_engine;
use crate::error::{Outcome, VmError};
use crate::gas::GasBreakdown;
use crate::host::{CallContext, Host};
use crate::imports::{self, StoreData};
use crate::instrument::{self, INSTRUMENTATION_VERSION};
use crate::permits::{DEPTH, DepthGuard, Permits};
use crate::profile::GasProfile;
use crate::profiler::{self, PROFILING_VERSION, Recorder};
use crate::validate::{self, ModuleInfo, RESERVED_PREFIX, VALIDATION_VERSION};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex, OnceLock};
use wasmtime::{Engine, Linker, Module, Store, TypedFunc};

/// The result of one execution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Execution {
    /// How it ended.
    pub outcome: Outcome,
    /// Gas used, by the result rules of `docs/design.md` section 3.4.
    pub gas_used: u64,
    /// Where the gas went; its categories add up to `gas_used`.
    pub gas: GasBreakdown,
    /// Data set with `set_return`: the result on success, the encoded typed error (if the
    /// contract set one) on a panic, empty otherwise.
    pub return_data: Vec<u8>,
    /// Where the gas went by call stack: only from [`Vm::execute_profiled`] (its total is
    /// `gas_used`); `None` on every normal execution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<GasProfile>,
}

/// Fuel available to instantiation alone (see `Vm::run`): far more than copying the largest
/// allowed data segments takes, and never charged.
const INSTANTIATION_FUEL: u64 = 1 << 40;

/// Host-side headroom kept on the native stack beyond wasm's own limit.
const HOST_STACK_HEADROOM: usize = 2 << 20;

/// The gas-metered wasm VM. Cheap to share (`&Vm` from many threads).
pub struct Vm {
    config: VmConfig,
    engine: Engine,
    linker: Linker<StoreData>,
    salt: [u8; 32],
    memory: MemoryCache<Contract>,
    disk: Option<DiskCache>,
    permits: Permits,
    stats: Mutex<CacheStats>,
    /// Built on the first profiling load; never used by consensus execution.
    profiling: OnceLock<Result<Profiling, String>>,
}

/// What profiled runs use instead of the consensus engine and cache: an engine of their own
/// (`profiler::build_profiling_engine`) and a small memory-only cache of profiling builds,
/// under a salt of their own, so a profiling build can never be taken for a consensus one.
struct Profiling {
    engine: Engine,
    salt: [u8; 32],
    memory: MemoryCache<Contract>,
}

/// Profiling builds kept in memory.
const PROFILING_CACHE_ENTRIES: usize = 16;

impl Vm {
    /// Builds a VM: the engine, the linked host functions and the module cache.
    pub fn new(config: VmConfig) -> Result<Vm, VmError> {
        let engine = build_engine(&config)?;
        Vm::with_engine(config, engine)
    }

    /// Builds a VM on an engine built from `config` (tests vary single engine settings).
    fn with_engine(config: VmConfig, engine: Engine) -> Result<Vm, VmError> {
        let mut linker = Linker::new(&engine);
        imports::link(&mut linker).map_err(VmError::engine)?;
        let schedule_version = config.schedule.version.to_le_bytes();
        let fingerprint = config.schedule.fingerprint();
        let limits = serde_json::to_vec(&(&config.validation, &config.runtime)).unwrap_or_default();
        let salt = cache::engine_salt(
            &engine,
            &[
                &VALIDATION_VERSION.to_le_bytes(),
                &INSTRUMENTATION_VERSION.to_le_bytes(),
                &schedule_version,
                &fingerprint,
                &limits,
            ],
        );
        let disk = config
            .cache_dir
            .as_deref()
            .map(DiskCache::open)
            .transpose()?;
        Ok(Vm {
            memory: MemoryCache::new(config.memory_cache_entries),
            permits: Permits::new(config.max_concurrency.max(1)),
            config,
            engine,
            linker,
            salt,
            disk,
            stats: Mutex::new(CacheStats::default()),
            profiling: OnceLock::new(),
        })
    }

    /// The profiling engine and cache, built on first use.
    fn profiling(&self) -> Result<&Profiling, VmError> {
        let built = self.profiling.get_or_init(|| {
            let engine =
                profiler::build_profiling_engine(&self.config).map_err(|e| e.to_string())?;
            let limits = serde_json::to_vec(&(&self.config.validation, &self.config.runtime))
                .unwrap_or_default();
            let salt = cache::engine_salt(
                &engine,
                &[
                    b"profiling",
                    &PROFILING_VERSION.to_le_bytes(),
                    &VALIDATION_VERSION.to_le_bytes(),
                    &INSTRUMENTATION_VERSION.to_le_bytes(),
                    &self.config.schedule.version.to_le_bytes(),
                    &self.config.schedule.fingerprint(),
                    &limits,
                ],
            );
            Ok(Profiling {
                engine,
                salt,
                memory: MemoryCache::new(PROFILING_CACHE_ENTRIES),
            })
        });
        built.as_ref().map_err(|e| VmError::engine(e.clone()))
    }

    /// A profiling build of `code`: instrumented with profiling hooks
    /// ([`instrument::instrument_profiling`]) and compiled on the profiling engine, cached
    /// in memory only, apart from consensus builds. Run it with [`Vm::execute_profiled`]; its
    /// gas is exactly that of the consensus build. `code_hash` must be `code_hash(code)`.
    pub fn load_profiling(
        &self,
        code_hash: &[u8; 32],
        code: &[u8],
    ) -> Result<Arc<Contract>, VmError> {
        let p = self.profiling()?;
        let key = cache::cache_key(code_hash, &p.salt);
        if let Some(c) = p.memory.get(&key) {
            return Ok(c);
        }
        if self::code_hash(code) != *code_hash {
            return Err(VmError::CodeHashMismatch);
        }
        let info = self.validate(code)?;
        let instrumented =
            instrument::instrument_profiling(code, &info, self.config.runtime.max_stack_bytes)?;
        let module = Module::new(&p.engine, &instrumented).map_err(VmError::engine)?;
        let mut linker = Linker::new(&p.engine);
        imports::link(&mut linker).map_err(VmError::engine)?;
        profiler::link_hooks(&mut linker, &info).map_err(VmError::engine)?;
        let pre = linker.instantiate_pre(&module).map_err(VmError::engine)?;
        let entries = resolve_entries(&module, &info)?;
        let memory = module.get_export_index(chainvm_abi::MEMORY_EXPORT);
        let funcs = profiler::export_funcs(code);
        let entry_funcs = info
            .entry_points
            .iter()
            .map(|name| funcs.get(name).copied())
            .collect();
        let contract = Arc::new(Contract {
            code_hash: *code_hash,
            code_len: code.len(),
            info,
            pre,
            entries,
            memory,
            profiling: Some(entry_funcs),
        });
        p.memory.insert(key, contract.clone());
        Ok(contract)
    }

    /// The configuration this VM was built with.
    pub fn config(&self) -> &VmConfig {
        &self.config
    }

    /// The cache key of code with this hash (depends on schedule, limits and engine).
    pub fn cache_key(&self, code_hash: &[u8; 32]) -> [u8; 32] {
        cache::cache_key(code_hash, &self.salt)
    }

    /// Path of the disk artifact for this code hash, if a disk cache is configured.
    pub fn artifact_path(&self, code_hash: &[u8; 32]) -> Option<std::path::PathBuf> {
        self.disk
            .as_ref()
            .map(|d| d.path(&self.cache_key(code_hash)))
    }

    /// How the cache has served loads so far.
    pub fn cache_stats(&self) -> CacheStats {
        *self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drops every compiled module held in memory (the disk cache stays).
    pub fn clear_memory_cache(&self) {
        self.memory.clear();
    }

    fn bump(&self, f: impl FnOnce(&mut CacheStats)) {
        f(&mut self.stats.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// Checks code against every deploy-time rule without compiling it.
    pub fn validate(&self, code: &[u8]) -> Result<ModuleInfo, VmError> {
        Ok(validate::validate(code, &self.config.validation)?)
    }

    /// The compiled contract for `code_hash` if it is in the memory cache; lets callers skip
    /// reading the code.
    pub fn cached(&self, code_hash: &[u8; 32]) -> Option<Arc<Contract>> {
        let c = self.memory.get(&self.cache_key(code_hash))?;
        self.bump(|s| s.memory_hits += 1);
        Some(c)
    }

    /// Returns the compiled contract for `code`, from memory, from disk or by compiling.
    /// `code_hash` must be `code_hash(code)`; it is checked whenever the code is compiled.
    pub fn load(&self, code_hash: &[u8; 32], code: &[u8]) -> Result<Arc<Contract>, VmError> {
        let key = self.cache_key(code_hash);
        if let Some(c) = self.memory.get(&key) {
            self.bump(|s| s.memory_hits += 1);
            return Ok(c);
        }
        if self::code_hash(code) != *code_hash {
            return Err(VmError::CodeHashMismatch);
        }
        let info = self.validate(code)?;
        let module = match self.load_artifact(&key) {
            Some(m) => m,
            None => {
                let instrumented =
                    instrument::instrument(code, &info, self.config.runtime.max_stack_bytes)?;
                let module = Module::new(&self.engine, &instrumented).map_err(VmError::engine)?;
                self.bump(|s| s.compiles += 1);
                if let Some(disk) = &self.disk {
                    // A failed write only means a recompile later.
                    if let Ok(bytes) = module.serialize() {
                        let _ = disk.write(&key, &bytes);
                    }
                }
                module
            }
        };
        let pre = self
            .linker
            .instantiate_pre(&module)
            .map_err(VmError::engine)?;
        let entries = resolve_entries(&module, &info)?;
        let memory = module.get_export_index(chainvm_abi::MEMORY_EXPORT);
        let contract = Arc::new(Contract {
            code_hash: *code_hash,
            code_len: code.len(),
            info,
            pre,
            entries,
            memory,
            profiling: None,
        });
        self.memory.insert(key, contract.clone());
        Ok(contract)
    }

    fn load_artifact(&self, key: &[u8; 32]) -> Option<Module> {
        let disk = self.disk.as_ref()?;
        match disk.read(key) {
            Ok(None) => None,
            Ok(Some(bytes)) => {
                // SAFETY: the bytes are an artifact this VM's own engine serialised into its own
                // cache directory, verified against the checksum written with them; wasmtime
                // additionally rejects artifacts from another version or configuration.
                match unsafe { Module::deserialize(&self.engine, &bytes) } {
                    Ok(m) => {
                        self.bump(|s| s.disk_hits += 1);
                        Some(m)
                    }
                    Err(_) => {
                        self.bump(|s| s.rejected_artifacts += 1);
                        None
                    }
                }
            }
            Err(()) => {
                self.bump(|s| s.rejected_artifacts += 1);
                None
            }
        }
    }

    /// Gas charged for loading a contract, on every call.
    pub fn load_gas(&self, contract: &Contract) -> u64 {
        let l = &self.config.schedule.load;
        l.base
            .saturating_add(l.per_byte.saturating_mul(contract.code_len as u64))
    }

    /// Runs entry point `entry` of `contract` with `input` under `gas_limit`.
    ///
    /// Contract failures (out of gas, panics, traps) are an [`Outcome`] in `Ok`; `Err` is a
    /// node fault that must not become a consensus result. Nested calls (from a host's
    /// `call_contract`) may call this again on the same thread, up to `max_call_depth`.
    pub fn execute(
        &self,
        contract: &Contract,
        entry: &str,
        input: &[u8],
        ctx: &CallContext,
        gas_limit: u64,
        host: &mut dyn Host,
    ) -> Result<Execution, VmError> {
        if contract.profiling.is_some() {
            return Err(VmError::engine(
                "a profiling build was passed to Vm::execute (use execute_profiled)",
            ));
        }
        self.enter(contract, entry, input, ctx, gas_limit, host, &self.engine)
    }

    /// Like [`Vm::execute`], on a profiling build from [`Vm::load_profiling`]: the same
    /// outcome, gas used, breakdown and return data as the consensus build on the same input,
    /// plus [`Execution::profile`], whose total is `gas_used`. Only this execution is
    /// profiled: a nested `call_contract` runs unprofiled (through the host, on the consensus
    /// build), its gas under the caller's `Host("call_contract")` frame.
    pub fn execute_profiled(
        &self,
        contract: &Contract,
        entry: &str,
        input: &[u8],
        ctx: &CallContext,
        gas_limit: u64,
        host: &mut dyn Host,
    ) -> Result<Execution, VmError> {
        if contract.profiling.is_none() {
            return Err(VmError::engine(
                "Vm::execute_profiled needs a profiling build (Vm::load_profiling)",
            ));
        }
        let engine = &self.profiling()?.engine;
        self.enter(contract, entry, input, ctx, gas_limit, host, engine)
    }

    /// Call depth, permits and native stack around [`Vm::run`].
    #[allow(clippy::too_many_arguments)]
    fn enter(
        &self,
        contract: &Contract,
        entry: &str,
        input: &[u8],
        ctx: &CallContext,
        gas_limit: u64,
        host: &mut dyn Host,
        engine: &Engine,
    ) -> Result<Execution, VmError> {
        let depth = DEPTH.with(|d| d.get());
        if depth > self.config.runtime.max_call_depth {
            return Err(VmError::CallDepth(self.config.runtime.max_call_depth));
        }
        let _permit = (depth == 0).then(|| self.permits.acquire());
        DEPTH.with(|d| d.set(depth + 1));
        let _guard = DepthGuard;
        let need = self.config.native_stack_bytes + HOST_STACK_HEADROOM;
        stacker::maybe_grow(need, need + HOST_STACK_HEADROOM, || {
            self.run(contract, entry, input, ctx, gas_limit, host, engine)
        })
    }

    /// One execution on `engine` (the consensus engine, or the profiling engine for a
    /// profiling build, which then records a profile).
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        contract: &Contract,
        entry: &str,
        input: &[u8],
        ctx: &CallContext,
        gas_limit: u64,
        host: &mut dyn Host,
        engine: &Engine,
    ) -> Result<Execution, VmError> {
        let load = self.load_gas(contract);
        let profiling = contract.profiling.is_some();
        let mut gas = GasBreakdown {
            loading: load.min(gas_limit),
            ..GasBreakdown::default()
        };
        let out_of_gas = |mut gas: GasBreakdown, profile: Option<GasProfile>| {
            gas.wasm = gas_limit.saturating_sub(gas.total());
            Ok(Execution {
                outcome: Outcome::OutOfGas,
                gas_used: gas_limit,
                gas,
                return_data: Vec::new(),
                profile,
            })
        };
        if load > gas_limit {
            let profile = profiling.then(|| {
                let mut p = GasProfile::default();
                p.add(vec![crate::profile::Frame::Loading], gas_limit);
                p
            });
            return out_of_gas(gas, profile);
        }
        let s = &self.config.schedule;
        // SAFETY: `store` (and the data inside it) is dropped before this function returns,
        // while `host` stays borrowed for the whole function.
        let data = unsafe {
            StoreData::new(
                host,
                ctx.clone(),
                input.to_vec(),
                s.host.clone(),
                s.memory.per_page,
                self.config.runtime.max_memory_pages as usize * 65_536,
            )
        };
        let mut store = Store::new(engine, data);
        store.limiter(|d| &mut d.limiter);
        // Instantiation itself never spends gas: data segments are paid for by the load's
        // per-byte cost. Without a copy-on-write memory image (`memory_init_cow` off, or a host
        // without memfd) wasmtime copies them in with fuel-metered code, so the fuel is set
        // only afterwards; otherwise gas would depend on the host's memory-image support.
        store
            .set_fuel(INSTANTIATION_FUEL)
            .map_err(VmError::engine)?;
        let instance = contract
            .pre
            .instantiate(&mut store)
            .map_err(VmError::engine)?;
        store.set_fuel(gas_limit - load).map_err(VmError::engine)?;
        if profiling {
            let recorder = Recorder::new(gas_limit - load, contract.entry_func(entry));
            store.data_mut().profile = Some(Box::new(recorder));
        }
        // Initial memory pages were charged by the limiter during instantiation.
        if imports::settle(&mut store, 0).is_err() {
            store.data().fill_breakdown(&mut gas);
            let profile = take_profile(&mut store, gas.loading, gas_limit);
            return out_of_gas(gas, profile);
        }
        let memory = contract
            .memory
            .as_ref()
            .and_then(|m| instance.get_module_export(&mut store, m))
            .and_then(wasmtime::Extern::into_memory);
        store.data_mut().memory = memory;

        let func = if entry.starts_with(RESERVED_PREFIX) {
            None
        } else {
            contract
                .entry(entry)
                .and_then(|e| instance.get_module_export(&mut store, e))
                .and_then(wasmtime::Extern::into_func)
                // SAFETY: `resolve_entries` checked at load that every entry export is a
                // `() -> ()` function of this module.
                .map(|f| unsafe { TypedFunc::<(), ()>::new_unchecked(&store, f) })
        };
        let Some(func) = func else {
            let fuel = store.get_fuel().map_err(VmError::engine)?;
            store.data().fill_breakdown(&mut gas);
            let gas_used = gas_limit - fuel;
            gas.wasm = gas_used.saturating_sub(gas.total());
            let profile = take_profile(&mut store, gas.loading, gas_used);
            return Ok(Execution {
                outcome: Outcome::NoSuchEntry(entry.to_string()),
                gas_used,
                gas,
                return_data: Vec::new(),
                profile,
            });
        };

        let result = func.call(&mut store, ());
        let Ending { outcome, gas_used } = match result {
            Ok(()) => {
                let settled = imports::settle(&mut store, 0).is_ok();
                let fuel = store.get_fuel().map_err(VmError::engine)?;
                // Fuel is only checked at function entry and loop headers, so a call can
                // finish overdrawn; wasmtime then reads 0. That is out of gas.
                if settled && fuel > 0 {
                    Ending::measured(Outcome::Success)
                } else {
                    Ending::whole_limit(Outcome::OutOfGas)
                }
            }
            Err(e) => classify(
                &mut store,
                &instance,
                e,
                self.config.runtime.max_stack_bytes,
            )?,
        };
        store.data().fill_breakdown(&mut gas);
        let gas_used = match gas_used {
            GasUsed::Measured => gas_limit - store.get_fuel().map_err(VmError::engine)?,
            GasUsed::WholeLimit => gas_limit,
        };
        gas.wasm = gas_used.saturating_sub(gas.total());
        let profile = if profiling {
            take_profile(&mut store, gas.loading, gas_used)
        } else {
            None
        };
        // Kept on success and on panics (where it carries a typed error); dropped otherwise.
        let return_data = if matches!(
            outcome,
            Outcome::Success | Outcome::Panic(_) | Outcome::Unreachable
        ) {
            std::mem::take(&mut store.data_mut().call.return_data)
        } else {
            Vec::new()
        };
        Ok(Execution {
            outcome,
            gas_used,
            gas,
            return_data,
            profile,
        })
    }
}

/// The profile of a profiled run that has ended, `loading` and `gas_used` in all: one last
/// observation of the fuel and counters, then [`Recorder::finish`]. `None` when not profiling.
fn take_profile(store: &mut Store<StoreData>, loading: u64, gas_used: u64) -> Option<GasProfile> {
    let mut recorder = store.data_mut().profile.take()?;
    // After a trap the fuel may be unreadable; the whole limit is charged then anyway.
    let fuel = store.get_fuel().unwrap_or(0);
    let data = store.data();
    recorder.observe(fuel, &data.call.host_gas, &data.limiter.gas);
    Some(recorder.finish(loading, gas_used))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Gas must not depend on whether wasmtime maps the data segments copy-on-write (Linux
    /// with memfd) or copies them in with fuel-metered code (no memory image).
    #[test]
    fn gas_does_not_depend_on_copy_on_write_memory_images() {
        let code = wat::parse_str(
            r#"(module
                 (import "env" "set_return" (func $ret (param i32 i32)))
                 (memory (export "memory") 2)
                 (data (i32.const 65536) "a data segment that costs fuel to copy in")
                 (func (export "run") (call $ret (i32.const 65536) (i32.const 6))))"#,
        )
        .unwrap();
        let run = |cow: bool| {
            let config = VmConfig::default();
            let mut c = crate::engine::engine_config(&config);
            c.memory_init_cow(cow);
            let vm = Vm::with_engine(config, Engine::new(&c).unwrap()).unwrap();
            let contract = vm.load(&code_hash(&code), &code).unwrap();
            let mut host = crate::testing::MockHost::default();
            let ctx = CallContext::default();
            vm.execute(&contract, "run", &[], &ctx, 10_000_000, &mut host)
                .unwrap()
        };
        let (with, without) = (run(true), run(false));
        assert!(with.outcome.is_success(), "{:?}", with.outcome);
        assert_eq!(with.return_data, b"a data");
        assert_eq!(with, without);
    }

    #[test]
    fn vm_is_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Vm>();
        assert_send_sync::<Contract>();
    }
}
