//! Where the gas of one execution went.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Gas and call count of one host function within an execution.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostFnGas {
    /// Times the contract called it.
    pub calls: u64,
    /// Gas it charged (for `call_contract`, including the callee's gas).
    pub gas: u64,
}

/// Per-category gas of one execution. The categories add up to the execution's gas used;
/// when a call runs out of gas (and so uses its whole limit) the unaccounted rest is counted
/// as wasm execution. Integers only, in a stable order, so it snapshots well.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GasBreakdown {
    /// Module loading (base + per byte of code), charged on every call.
    pub loading: u64,
    /// Linear memory pages, initial and grown.
    pub memory: u64,
    /// Wasm instructions, including the injected stack accounting.
    pub wasm: u64,
    /// Each host function called, by import name.
    pub host: BTreeMap<String, HostFnGas>,
}

impl GasBreakdown {
    /// Gas charged by host functions in total.
    pub fn host_total(&self) -> u64 {
        self.host.values().map(|h| h.gas).sum()
    }

    /// Host calls made in total.
    pub fn host_calls(&self) -> u64 {
        self.host.values().map(|h| h.calls).sum()
    }

    /// Sum of every category.
    pub fn total(&self) -> u64 {
        self.loading + self.memory + self.wasm + self.host_total()
    }
}
