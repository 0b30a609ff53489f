//! The host functions linked into every contract, and the per-execution state they work on.
//!
//! Every host function is a named `do_*` function over a [`HostEnv`] (guest memory, the
//! [`CallState`], gas and the [`Host`]), one file per idea: [`context`] (the call's facts,
//! input, result and abort), [`storage`], [`funds`] (balance, transfer), [`events`],
//! [`crypto`] and [`calls`] (cross-contract calls). [`link`] registers them; the wasmtime
//! side is one adapter ([`with_env`]) that borrows the env out of the store for one call.
//!
//! Every function charges the base host-call cost first, then checks its arguments, then
//! charges per-byte costs, and only then touches guest memory or the [`Host`]. Running out of
//! gas is returned as an error that unwinds the contract, never by just zeroing fuel.

mod calls;
mod context;
mod crypto;
mod env;
mod events;
mod funds;
mod storage;
#[cfg(test)]
mod tests;

pub(crate) use env::HostEnv;

use crate::error::Panic;
use crate::gas::{GasBreakdown, HostFnGas};
use crate::host::{CallContext, Host, HostFault};
use crate::schedule::HostCosts;
use chainvm_abi::{self as abi, names};
use std::ptr::NonNull;
use thiserror::Error;
use wasmtime::{Caller, Linker, Memory, ResourceLimiter, WasmRet, WasmTy};

/// Why a host function stopped the contract.
#[derive(Debug, Error)]
pub(crate) enum HostTrap {
    /// Not enough gas for what the call costs.
    #[error("out of gas")]
    OutOfGas,
    /// The contract aborted (panicked) with a message and location.
    #[error("contract panicked: {0}")]
    Abort(Panic),
    /// The contract passed arguments the host ABI does not accept. The text is for
    /// debugging only: the outcome carries just [`crate::TrapKind::BadHostArgument`].
    #[error("invalid host call argument: {0}")]
    BadArgument(String),
    /// The host refused an event (event-byte allowance used up).
    #[error("event bytes exceeded")]
    EventRefused,
    /// The host itself failed.
    #[error(transparent)]
    Fault(HostFault),
}

/// Links every host function of [`chainvm_abi::HOST_FUNCTIONS`] into `linker`.
pub(crate) fn link(linker: &mut Linker<StoreData>) -> wasmtime::Result<()> {
    register(linker, names::INPUT, context::do_input)?;
    register(linker, names::SET_RETURN, context::do_set_return)?;
    register(linker, names::STORAGE_GET, storage::do_storage_get)?;
    register(linker, names::STORAGE_SET, storage::do_storage_set)?;
    register(linker, names::STORAGE_REMOVE, storage::do_storage_remove)?;
    register(linker, names::STORAGE_HAS, storage::do_storage_has)?;
    register(linker, names::CALLER, context::do_caller)?;
    register(linker, names::SELF_ADDRESS, context::do_self_address)?;
    register(linker, names::VALUE, context::do_value)?;
    register(linker, names::BALANCE, funds::do_balance)?;
    register(linker, names::BLOCK_HEIGHT, context::do_block_height)?;
    register(linker, names::BLOCK_TIMESTAMP, context::do_block_timestamp)?;
    register(linker, names::TRANSFER, funds::do_transfer)?;
    register(linker, names::EMIT_EVENT, events::do_emit_event)?;
    register(linker, names::KECCAK256, crypto::do_keccak256)?;
    register(linker, names::ABORT, context::do_abort)?;
    register(linker, names::CALL_CONTRACT, calls::do_call_contract)?;
    register(linker, names::RETURN_DATA, calls::do_return_data)?;
    Ok(())
}

/// Links one host function under `name`: see [`HostFunction`].
fn register<Params>(
    linker: &mut Linker<StoreData>,
    name: &'static str,
    function: impl HostFunction<Params>,
) -> wasmtime::Result<()> {
    function.link(linker, name)
}

/// A host function, `fn(&mut HostEnv, wasm params...) -> Result<_, HostTrap>`, that can be
/// linked as a wasm import of the same parameters (one impl per arity, like wasmtime's own
/// `IntoFunc`), so no function is written twice.
trait HostFunction<Params> {
    /// Links `self` as import `name` of [`chainvm_abi::IMPORT_MODULE`].
    fn link(self, linker: &mut Linker<StoreData>, name: &'static str) -> wasmtime::Result<()>;
}

macro_rules! host_function_arity {
    ($($arg:ident: $ty:ident),*) => {
        impl<F, R, $($ty),*> HostFunction<($($ty,)*)> for F
        where
            F: Fn(&mut HostEnv<'_>, $($ty),*) -> Result<R, HostTrap> + Send + Sync + 'static,
            R: WasmRet,
            $($ty: WasmTy,)*
        {
            fn link(
                self,
                linker: &mut Linker<StoreData>,
                name: &'static str,
            ) -> wasmtime::Result<()> {
                let slot = index(name);
                linker.func_wrap(
                    abi::IMPORT_MODULE,
                    name,
                    move |mut caller: Caller<'_, StoreData>, $($arg: $ty),*| {
                        with_env(&mut caller, slot, |env| self(env, $($arg),*))
                    },
                )?;
                Ok(())
            }
        }
    };
}

host_function_arity!();
host_function_arity!(a: P1);
host_function_arity!(a: P1, b: P2);
host_function_arity!(a: P1, b: P2, c: P3);
host_function_arity!(a: P1, b: P2, c: P3, d: P4);
host_function_arity!(a: P1, b: P2, c: P3, d: P4, e: P5, f: P6);
host_function_arity!(a: P1, b: P2, c: P3, d: P4, e: P5, f: P6, g: P7);

/// Runs one host function against the env borrowed out of `caller`'s store: the fuel is read
/// before and written back after (nothing else spends fuel during a host call: a nested
/// `call_contract` runs in a store of its own), guest memory is borrowed next to the store
/// data. `slot` is the function's index in [`chainvm_abi::HOST_FUNCTIONS`].
fn with_env<R>(
    caller: &mut Caller<'_, StoreData>,
    slot: usize,
    function: impl FnOnce(&mut HostEnv<'_>) -> Result<R, HostTrap>,
) -> wasmtime::Result<R> {
    let fuel = caller.get_fuel().map_err(fault_trap)?;
    let (memory, data) = match caller.data().memory {
        Some(memory) => {
            let (bytes, data) = memory.data_and_store_mut(&mut *caller);
            (Some(bytes), data)
        }
        None => (None, caller.data_mut()),
    };
    // SAFETY: see `StoreData::new`; the borrow of `data` makes this the only live reference.
    let host = unsafe { data.host.as_mut() };
    let mut env = HostEnv::new(
        memory,
        &mut data.call,
        &mut data.limiter.gas,
        host,
        fuel,
        slot,
    );
    let result = function(&mut env);
    let fuel = env.fuel();
    match result {
        // Out of gas has set the fuel to 0; like every settle, ignore a failure to write it.
        Err(HostTrap::OutOfGas) => {
            let _ = caller.set_fuel(fuel);
            Err(wasmtime::Error::new(HostTrap::OutOfGas))
        }
        result => {
            caller.set_fuel(fuel).map_err(fault_trap)?;
            result.map_err(wasmtime::Error::new)
        }
    }
}

/// A wasmtime failure while metering, as the node fault it is.
fn fault_trap(e: wasmtime::Error) -> wasmtime::Error {
    wasmtime::Error::new(HostTrap::Fault(HostFault::new(e)))
}

/// The slot of host function `name` in [`chainvm_abi::HOST_FUNCTIONS`] (and in
/// [`CallState::host_gas`]).
fn index(name: &str) -> usize {
    abi::HOST_FUNCTIONS
        .iter()
        .position(|f| f.name == name)
        .unwrap_or_else(|| unreachable!("{name} is not in the host ABI"))
}

/// Per-execution state reachable from host functions.
pub(crate) struct StoreData {
    /// The chain's host for this execution; see [`StoreData::new`].
    host: NonNull<dyn Host>,
    /// What the host functions keep for this execution.
    pub call: CallState,
    /// Caps memory and counts its gas.
    pub limiter: Limiter,
    /// The contract's exported memory, once instantiated.
    pub memory: Option<Memory>,
    /// The recorder of a profiled run (`None` on every consensus execution; only the hooks of
    /// a profiling build read it).
    pub profile: Option<Box<crate::profiler::Recorder>>,
}

impl StoreData {
    /// Builds the state for one execution.
    ///
    /// # Safety
    /// `host` must outlive the `Store` this data is moved into. `Vm::execute` guarantees it:
    /// the store is created and dropped inside the call that borrows the host.
    pub unsafe fn new(
        host: &mut dyn Host,
        ctx: CallContext,
        input: Vec<u8>,
        costs: HostCosts,
        page_cost: u64,
        max_memory_bytes: usize,
    ) -> Self {
        let ptr: NonNull<dyn Host + '_> = NonNull::from(host);
        // SAFETY: only the lifetime is erased; the caller keeps the borrow alive for as long
        // as this value exists (see above).
        let host = unsafe { std::mem::transmute::<NonNull<dyn Host + '_>, NonNull<dyn Host>>(ptr) };
        StoreData {
            host,
            call: CallState::new(ctx, input, costs),
            limiter: Limiter {
                gas: MemoryGas::default(),
                page_cost,
                max_memory_bytes,
            },
            memory: None,
            profile: None,
        }
    }

    /// Fills the host and memory parts of a breakdown from the counters.
    pub fn fill_breakdown(&self, b: &mut GasBreakdown) {
        for (f, gas) in abi::HOST_FUNCTIONS.iter().zip(&self.call.host_gas) {
            if gas.calls > 0 {
                b.host.insert(f.name.to_string(), *gas);
            }
        }
        b.memory = self.limiter.gas.settled;
    }
}

/// What the host functions keep for one execution besides guest memory, gas and the host.
#[derive(Debug, Clone)]
pub(crate) struct CallState {
    /// Facts about the call.
    pub ctx: CallContext,
    /// The call's input, read with `input`.
    pub input: Vec<u8>,
    /// What the contract set with `set_return`.
    pub return_data: Vec<u8>,
    /// Return data of the last `call_contract`, read with `return_data`.
    pub last_call_data: Vec<u8>,
    /// The host-function part of the gas schedule.
    pub costs: HostCosts,
    /// Calls and gas of each host function, by index in [`chainvm_abi::HOST_FUNCTIONS`].
    pub host_gas: Vec<HostFnGas>,
}

impl CallState {
    /// Fresh state for a call: no return data yet, no host function called.
    pub fn new(ctx: CallContext, input: Vec<u8>, costs: HostCosts) -> Self {
        CallState {
            ctx,
            input,
            return_data: Vec::new(),
            last_call_data: Vec::new(),
            costs,
            host_gas: vec![HostFnGas::default(); abi::HOST_FUNCTIONS.len()],
        }
    }
}

/// Gas for linear memory: charged by the [`Limiter`] as pages are added, taken from fuel at
/// the next settle (a host call, or the end of instantiation or of the call).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct MemoryGas {
    /// Charged and not yet taken from fuel.
    pub pending: u64,
    /// Taken from fuel: the breakdown's memory gas.
    pub settled: u64,
}

impl MemoryGas {
    /// Takes `gas` plus the pending memory gas from `fuel`. Out of gas if it does not fit:
    /// `fuel` is then 0 and the pending gas is dropped (the whole limit is used anyway).
    pub fn settle(&mut self, fuel: &mut u64, gas: u64) -> Result<(), HostTrap> {
        let pending = std::mem::take(&mut self.pending);
        let total = gas.saturating_add(pending);
        if total > *fuel {
            *fuel = 0;
            return Err(HostTrap::OutOfGas);
        }
        *fuel -= total;
        self.settled += pending;
        Ok(())
    }
}

/// Caps linear memory and charges gas for every page that is actually added.
pub(crate) struct Limiter {
    /// Memory-growth gas, pending and settled (see [`settle`]).
    pub gas: MemoryGas,
    page_cost: u64,
    max_memory_bytes: usize,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory_bytes {
            // A deterministic -1 from memory.grow; nothing charged for what did not happen.
            return Ok(false);
        }
        let pages = (desired.saturating_sub(current) / 65_536) as u64;
        self.gas.pending = self
            .gas
            .pending
            .saturating_add(pages.saturating_mul(self.page_cost));
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Table instructions are rejected at validation; this only bounds the initial table.
        Ok(desired <= 10_000)
    }

    fn instances(&self) -> usize {
        1
    }
    fn tables(&self) -> usize {
        1
    }
    fn memories(&self) -> usize {
        1
    }
}

/// Takes `gas` plus any pending memory-growth gas from the store's fuel; out of gas if it
/// does not fit (see [`MemoryGas::settle`]).
pub(crate) fn settle(
    store: &mut impl wasmtime::AsContextMut<Data = StoreData>,
    gas: u64,
) -> Result<(), HostTrap> {
    let mut ctx = store.as_context_mut();
    let mut fuel = ctx
        .get_fuel()
        .map_err(|e| HostTrap::Fault(HostFault::new(e)))?;
    if let Err(e) = ctx.data_mut().limiter.gas.settle(&mut fuel, gas) {
        let _ = ctx.set_fuel(0);
        return Err(e);
    }
    ctx.set_fuel(fuel)
        .map_err(|e| HostTrap::Fault(HostFault::new(e)))
}
