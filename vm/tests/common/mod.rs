//! Helpers shared by the VM integration tests.
#![allow(dead_code)]

use chainvm_vm::testing::MockHost;
use chainvm_vm::{CallContext, Contract, Execution, GasSchedule, Vm, VmConfig, code_hash};
use std::sync::Arc;

/// A VM with the default configuration.
pub fn vm() -> Vm {
    Vm::new(VmConfig::default()).expect("engine builds")
}

/// Assembles WAT text into wasm bytes.
pub fn wasm(wat: &str) -> Vec<u8> {
    wat::parse_str(wat).expect("fixture WAT parses")
}

/// Reads a fixture from `tests/fixtures`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    wat::parse_file(&path).expect("fixture parses")
}

/// Loads code into the VM.
pub fn load(vm: &Vm, code: &[u8]) -> Arc<Contract> {
    vm.load(&code_hash(code), code).expect("fixture loads")
}

/// Runs `entry` with `input` under `gas` against a fresh mock host.
pub fn run(vm: &Vm, c: &Contract, entry: &str, input: &[u8], gas: u64) -> Execution {
    let mut host = MockHost::default();
    run_with(vm, c, entry, input, gas, &mut host)
}

/// Runs `entry` against the given host.
pub fn run_with(
    vm: &Vm,
    c: &Contract,
    entry: &str,
    input: &[u8],
    gas: u64,
    host: &mut MockHost,
) -> Execution {
    vm.execute(c, entry, input, &CallContext::default(), gas, host)
        .expect("no node fault")
}

/// Gas charged before any instruction runs: loading plus the initial memory pages.
pub fn fixed_gas(s: &GasSchedule, code_len: usize, pages: u64) -> u64 {
    s.load.base + s.load.per_byte * code_len as u64 + pages * s.memory.per_page
}

/// A large gas limit for calls that should not run out.
pub const PLENTY: u64 = 10_000_000_000;
