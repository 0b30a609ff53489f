//! Unit tests of the host functions, one file per host-function file, run on a [`Fixture`]:
//! a plain byte vector as guest memory, a [`MockHost`] and fuel, no wasmtime store and no
//! contract. This file holds the fixture, the shared gas and bounds assertions, and the
//! tests of [`HostEnv`] itself and of [`link`].

mod calls;
mod context;
mod crypto;
mod events;
mod funds;
mod storage;

use super::env::check_len;
use super::{CallState, HostEnv, HostTrap, MemoryGas, StoreData, index, link};
use crate::gas::HostFnGas;
use crate::host::CallContext;
use crate::schedule::HostCosts;
use crate::testing::{MockHost, amount};
use chainvm_abi::{self as abi, names};
use std::fmt::Debug;

/// Guest memory of every fixture: 32 pages, room for the largest argument (1 MiB).
pub(super) const MEMORY_LEN: usize = 32 * 65_536;

/// Fuel that no test runs out of.
pub(super) const PLENTY: u64 = 1 << 40;

/// Host costs with a distinct value each, so a charge taken from the wrong field shows.
pub(super) fn costs() -> HostCosts {
    HostCosts {
        base: 101,
        read_per_byte: 3,
        write_per_byte: 5,
        storage_read: 1_009,
        storage_read_per_byte: 7,
        storage_write: 2_003,
        storage_write_per_byte: 11,
        storage_remove: 307,
        storage_has: 401,
        event: 503,
        event_per_byte: 13,
        keccak: 601,
        keccak_per_byte: 17,
        transfer: 701,
        call_contract: 809,
    }
}

/// The call context of every fixture, with a distinct value per field.
pub(super) fn context() -> CallContext {
    CallContext {
        caller: [0xCA; 20],
        self_address: [0x5E; 20],
        value: amount(77),
        block_height: 1_234,
        block_timestamp: 1_700_000_000,
    }
}

/// Everything a host function touches, owned, so a test can set it up and inspect it.
#[derive(Clone)]
pub(super) struct Fixture {
    /// Guest memory; `None` for a contract without exported memory.
    pub memory: Option<Vec<u8>>,
    pub state: CallState,
    pub memory_gas: MemoryGas,
    pub host: MockHost,
    pub fuel: u64,
}

impl Fixture {
    /// Zeroed memory, the [`context`], input `b"input"`, the [`costs`], plenty of fuel.
    pub fn new() -> Self {
        Fixture {
            memory: Some(vec![0; MEMORY_LEN]),
            state: CallState::new(context(), b"input".to_vec(), costs()),
            memory_gas: MemoryGas::default(),
            host: MockHost::default(),
            fuel: PLENTY,
        }
    }

    /// Runs `function` as host function `name` (charging its slot) on this fixture.
    pub fn call<R>(
        &mut self,
        name: &str,
        function: impl FnOnce(&mut HostEnv<'_>) -> Result<R, HostTrap>,
    ) -> Result<R, HostTrap> {
        let mut env = HostEnv::new(
            self.memory.as_deref_mut(),
            &mut self.state,
            &mut self.memory_gas,
            &mut self.host,
            self.fuel,
            index(name),
        );
        let result = function(&mut env);
        self.fuel = env.fuel();
        result
    }

    /// Calls and gas recorded for host function `name`.
    pub fn gas(&self, name: &str) -> HostFnGas {
        self.state.host_gas[index(name)]
    }

    /// Puts `bytes` into guest memory at `ptr`.
    pub fn put(&mut self, ptr: usize, bytes: &[u8]) -> &mut Self {
        self.memory_mut()[ptr..ptr + bytes.len()].copy_from_slice(bytes);
        self
    }

    /// `len` bytes of guest memory at `ptr`.
    pub fn mem(&self, ptr: usize, len: usize) -> &[u8] {
        let memory = self.memory.as_deref().unwrap_or_default();
        &memory[ptr..ptr + len]
    }

    fn memory_mut(&mut self) -> &mut [u8] {
        self.memory.as_deref_mut().unwrap_or_default()
    }
}

/// Guest memory and host as they were, to show a call left them alone.
struct Untouched {
    memory: Option<Vec<u8>>,
    host: MockHost,
}

impl Untouched {
    fn of(fx: &Fixture) -> Self {
        Untouched {
            memory: fx.memory.clone(),
            host: fx.host.clone(),
        }
    }

    fn check(&self, fx: &Fixture, what: &str) {
        assert!(self.memory == fx.memory, "{what}: guest memory was written");
        assert_eq!(self.host, fx.host, "{what}: the host was touched");
    }
}

/// Asserts that `call` (as host function `name`, on fixtures from `setup`) charges exactly
/// `charges`, in that order: one unit short of any prefix it runs out of gas having recorded
/// just the charges before, with no fuel left and memory and host untouched; with exactly
/// the sum it gets past every charge and leaves no fuel. Returns that last run.
pub(super) fn assert_charges<R: Debug>(
    name: &str,
    charges: &[u64],
    setup: impl Fn() -> Fixture,
    call: impl Fn(&mut HostEnv<'_>) -> Result<R, HostTrap>,
) -> (Fixture, Result<R, HostTrap>) {
    let mut before = 0;
    for (i, &charge) in charges.iter().enumerate() {
        if charge == 0 {
            continue;
        }
        let mut fx = setup();
        fx.fuel = before + charge - 1;
        let untouched = Untouched::of(&fx);
        let result = fx.call(name, &call);
        let what = format!("{name}, short of charge {i} ({charge})");
        assert!(
            matches!(result, Err(HostTrap::OutOfGas)),
            "{what}: {result:?}"
        );
        assert_eq!(fx.fuel, 0, "{what}");
        assert_eq!(
            fx.gas(name),
            HostFnGas {
                calls: 1,
                gas: before
            },
            "{what}"
        );
        untouched.check(&fx, &what);
        before += charge;
    }
    let mut fx = setup();
    fx.fuel = before;
    let result = fx.call(name, &call);
    assert!(
        !matches!(result, Err(HostTrap::OutOfGas)),
        "{name} with exactly {before}: {result:?}"
    );
    assert_eq!(fx.fuel, 0, "{name}: fuel left");
    assert_eq!(
        fx.gas(name),
        HostFnGas {
            calls: 1,
            gas: before
        }
    );
    (fx, result)
}

/// Asserts that `call` (as host function `name` on `fx`, with plenty of fuel) is refused as
/// a bad argument after charging exactly `charged`, leaving memory and host untouched.
pub(super) fn assert_bad_argument<R: Debug>(
    name: &str,
    charged: u64,
    mut fx: Fixture,
    call: impl FnOnce(&mut HostEnv<'_>) -> Result<R, HostTrap>,
) -> Fixture {
    let untouched = Untouched::of(&fx);
    let fuel = fx.fuel;
    let result = fx.call(name, call);
    assert!(
        matches!(result, Err(HostTrap::BadArgument(_))),
        "{name}: {result:?}"
    );
    assert_eq!(fuel - fx.fuel, charged, "{name}: gas charged");
    assert_eq!(
        fx.gas(name),
        HostFnGas {
            calls: 1,
            gas: charged
        }
    );
    untouched.check(&fx, name);
    fx
}

#[test]
fn begin_settles_pending_memory_gas_before_the_base_cost_and_apart_from_it() {
    let c = costs();
    let mut fx = Fixture::new();
    fx.memory_gas.pending = 50;
    fx.fuel = c.base + 50;
    assert!(fx.call(names::BLOCK_HEIGHT, |env| env.begin(0)).is_ok());
    assert_eq!(fx.fuel, 0);
    assert_eq!(
        fx.memory_gas,
        MemoryGas {
            pending: 0,
            settled: 50
        }
    );
    // Memory gas is memory's, not the host function's.
    assert_eq!(
        fx.gas(names::BLOCK_HEIGHT),
        HostFnGas {
            calls: 1,
            gas: c.base
        }
    );

    let mut fx = Fixture::new();
    fx.memory_gas.pending = 50;
    fx.fuel = c.base + 49;
    let result = fx.call(names::BLOCK_HEIGHT, |env| env.begin(0));
    assert!(matches!(result, Err(HostTrap::OutOfGas)));
    assert_eq!(fx.fuel, 0);
    // Out of gas uses the whole limit: the pending gas is dropped, never settled.
    assert_eq!(fx.memory_gas, MemoryGas::default());
    assert_eq!(fx.gas(names::BLOCK_HEIGHT), HostFnGas { calls: 1, gas: 0 });
}

#[test]
fn memory_gas_settles_from_fuel_only_when_it_fits() {
    let mut gas = MemoryGas {
        pending: 30,
        settled: 5,
    };
    let mut fuel = 100;
    gas.settle(&mut fuel, 70).unwrap();
    assert_eq!((fuel, gas.pending, gas.settled), (0, 0, 35));
    gas.pending = 1;
    let mut fuel = 10;
    assert!(matches!(gas.settle(&mut fuel, 10), Err(HostTrap::OutOfGas)));
    assert_eq!((fuel, gas.pending, gas.settled), (0, 0, 35));
    // Saturating: a charge past u64::MAX is out of gas, not an overflow.
    let mut fuel = u64::MAX - 1;
    gas.pending = 1;
    assert!(matches!(
        gas.settle(&mut fuel, u64::MAX - 1),
        Err(HostTrap::OutOfGas)
    ));
}

#[test]
fn guest_memory_is_read_and_written_only_inside_its_bounds() {
    let mut fx = Fixture::new();
    fx.put(MEMORY_LEN - 3, b"end");
    let name = names::INPUT;
    assert_eq!(
        fx.call(name, |env| env.read((MEMORY_LEN - 3) as i32, 3))
            .unwrap(),
        b"end"
    );
    // Zero bytes at the very end are in bounds; one past it, or any byte more, is not.
    assert!(fx.call(name, |env| env.read(MEMORY_LEN as i32, 0)).is_ok());
    for (ptr, len) in [
        (MEMORY_LEN - 3, 4),
        (MEMORY_LEN + 1, 0),
        (MEMORY_LEN, 1),
        (usize::MAX, 1),
    ] {
        let result = fx.call(name, |env| env.read(ptr as i32, len));
        assert!(
            matches!(result, Err(HostTrap::BadArgument(_))),
            "{ptr} {len}"
        );
        let result = fx.call(name, |env| env.write(ptr as i32, &vec![1; len]));
        assert!(
            matches!(result, Err(HostTrap::BadArgument(_))),
            "{ptr} {len}"
        );
    }
    assert_eq!(fx.mem(MEMORY_LEN - 3, 3), b"end");
    fx.call(name, |env| env.write((MEMORY_LEN - 2) as i32, b"ND"))
        .unwrap();
    assert_eq!(fx.mem(MEMORY_LEN - 3, 3), b"eND");
    // None of this is charged: only `charged_*` and `begin` charge.
    assert_eq!(fx.fuel, PLENTY);
}

#[test]
fn a_contract_without_memory_gets_bad_argument_for_any_access() {
    let mut fx = Fixture::new();
    fx.memory = None;
    let name = names::INPUT;
    assert!(matches!(
        fx.call(name, |env| env.read(0, 0)),
        Err(HostTrap::BadArgument(_))
    ));
    assert!(matches!(
        fx.call(name, |env| env.write(0, b"")),
        Err(HostTrap::BadArgument(_))
    ));
}

#[test]
fn lengths_are_checked_as_unsigned_against_their_limit() {
    assert_eq!(check_len(256, 256, "key").unwrap(), 256);
    assert!(matches!(
        check_len(257, 256, "key"),
        Err(HostTrap::BadArgument(_))
    ));
    // -1 is 4 GiB - 1, not a small length.
    assert!(matches!(
        check_len(-1, u32::MAX - 1, "key"),
        Err(HostTrap::BadArgument(_))
    ));
    assert_eq!(check_len(-1, u32::MAX, "key").unwrap(), u32::MAX as usize);
}

/// A module importing every host function with `signature(f)`.
fn importing_every_host_function(signature: impl Fn(&abi::HostFn) -> String) -> Vec<u8> {
    let imports: String = abi::HOST_FUNCTIONS
        .iter()
        .map(|f| format!(r#"(import "env" "{}" (func {}))"#, f.name, signature(f)))
        .collect();
    wat::parse_str(format!(
        r#"(module {imports} (memory (export "memory") 1))"#
    ))
    .unwrap_or_else(|e| panic!("test WAT: {e}"))
}

fn wat_types(types: &[abi::ValType]) -> String {
    types
        .iter()
        .map(|t| match t {
            abi::ValType::I32 => " i32",
            abi::ValType::I64 => " i64",
        })
        .collect()
}

#[test]
fn link_provides_every_host_function_with_its_abi_signature_and_no_other() {
    let engine = wasmtime::Engine::default();
    let mut linker = wasmtime::Linker::<StoreData>::new(&engine);
    link(&mut linker).unwrap();
    let abi_signature = |f: &abi::HostFn| {
        format!(
            "(param{}) (result{})",
            wat_types(f.params),
            wat_types(f.results)
        )
    };
    let module = importing_every_host_function(abi_signature);
    let module = wasmtime::Module::new(&engine, module).unwrap();
    assert!(linker.instantiate_pre(&module).is_ok());

    // Any one function with another signature does not link.
    for wrong in abi::HOST_FUNCTIONS {
        let code = importing_every_host_function(|f| {
            if f.name == wrong.name {
                format!("(param{} i32)", wat_types(f.params))
            } else {
                abi_signature(f)
            }
        });
        let module = wasmtime::Module::new(&engine, code).unwrap();
        assert!(linker.instantiate_pre(&module).is_err(), "{}", wrong.name);
    }

    // And nothing else is linked.
    let mut host = MockHost::default();
    // SAFETY: the store is dropped at the end of this test, before `host`.
    let data = unsafe { StoreData::new(&mut host, context(), Vec::new(), costs(), 0, 0) };
    let mut store = wasmtime::Store::new(&engine, data);
    assert_eq!(linker.iter(&mut store).count(), abi::HOST_FUNCTIONS.len());
}
