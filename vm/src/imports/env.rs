//! [`HostEnv`]: what one host call works on, and the charging and guest-memory helpers every
//! host function shares. Plain Rust over a byte slice, so host functions are testable
//! without wasmtime.

use super::{CallState, HostTrap, MemoryGas};
use crate::host::{Host, HostFault};
use crate::schedule::HostCosts;

/// One host call's view of the execution: guest memory, the call state, gas and the host.
pub(crate) struct HostEnv<'a> {
    /// The contract's linear memory; `None` if it exports none.
    memory: Option<&'a mut [u8]>,
    /// The execution's call state (context, data buffers, costs, per-function gas).
    pub(super) state: &'a mut CallState,
    /// Memory-growth gas not yet taken from fuel, and what was.
    memory_gas: &'a mut MemoryGas,
    /// The chain's host.
    pub(super) host: &'a mut dyn Host,
    /// Fuel left.
    fuel: u64,
    /// The running function's index in [`chainvm_abi::HOST_FUNCTIONS`].
    slot: usize,
}

impl<'a> HostEnv<'a> {
    /// An env for a call to host function `slot` (its index in
    /// [`chainvm_abi::HOST_FUNCTIONS`]) with `fuel` left.
    pub fn new(
        memory: Option<&'a mut [u8]>,
        state: &'a mut CallState,
        memory_gas: &'a mut MemoryGas,
        host: &'a mut dyn Host,
        fuel: u64,
        slot: usize,
    ) -> Self {
        HostEnv {
            memory,
            state,
            memory_gas,
            host,
            fuel,
            slot,
        }
    }

    /// Fuel left.
    pub fn fuel(&self) -> u64 {
        self.fuel
    }

    /// The host-function costs of the schedule.
    pub(super) fn costs(&self) -> &HostCosts {
        &self.state.costs
    }

    /// Counts a call to the running function and charges the base cost plus `flat`.
    pub(super) fn begin(&mut self, flat: u64) -> Result<(), HostTrap> {
        self.state.host_gas[self.slot].calls += 1;
        let base = self.state.costs.base;
        self.charge(base.saturating_add(flat))
    }

    /// Charges `gas` (and any pending memory gas) to the running function.
    pub(super) fn charge(&mut self, gas: u64) -> Result<(), HostTrap> {
        self.memory_gas.settle(&mut self.fuel, gas)?;
        self.state.host_gas[self.slot].gas += gas;
        Ok(())
    }

    /// Copies `len` bytes of guest memory at `ptr`.
    pub(super) fn read(&self, ptr: i32, len: usize) -> Result<Vec<u8>, HostTrap> {
        let memory = self.memory()?;
        let start = ptr as u32 as usize;
        let Some(end) = start.checked_add(len) else {
            return bad("pointer + length overflows");
        };
        match memory.get(start..end) {
            Some(s) => Ok(s.to_vec()),
            None => bad(format!("read of {len} bytes at {start} is out of bounds")),
        }
    }

    /// Writes `bytes` to guest memory at `ptr`.
    pub(super) fn write(&mut self, ptr: i32, bytes: &[u8]) -> Result<(), HostTrap> {
        let Some(memory) = self.memory.as_deref_mut() else {
            return no_memory();
        };
        let start = ptr as u32 as usize;
        let Some(end) = start.checked_add(bytes.len()) else {
            return bad("pointer + length overflows");
        };
        match memory.get_mut(start..end) {
            Some(s) => {
                s.copy_from_slice(bytes);
                Ok(())
            }
            None => bad(format!(
                "write of {} bytes at {start} is out of bounds",
                bytes.len()
            )),
        }
    }

    /// Charges the per-byte write cost, then writes `bytes` to guest memory at `ptr`.
    pub(super) fn charged_write(&mut self, ptr: i32, bytes: &[u8]) -> Result<(), HostTrap> {
        let per = self.state.costs.write_per_byte;
        self.charge(per.saturating_mul(bytes.len() as u64))?;
        self.write(ptr, bytes)
    }

    /// Charges `per_byte` plus the guest-read cost for `len` bytes, then reads them at `ptr`.
    pub(super) fn charged_read(
        &mut self,
        ptr: i32,
        len: usize,
        per_byte: u64,
    ) -> Result<Vec<u8>, HostTrap> {
        let per = self.state.costs.read_per_byte.saturating_add(per_byte);
        self.charge(per.saturating_mul(len as u64))?;
        self.read(ptr, len)
    }

    fn memory(&self) -> Result<&[u8], HostTrap> {
        match self.memory.as_deref() {
            Some(m) => Ok(m),
            None => no_memory(),
        }
    }
}

fn no_memory<T>() -> Result<T, HostTrap> {
    bad("the contract has no exported memory")
}

/// A [`HostTrap::BadArgument`].
pub(super) fn bad<T>(msg: impl Into<String>) -> Result<T, HostTrap> {
    Err(HostTrap::BadArgument(msg.into()))
}

/// A host failure as the trap that ends the execution.
pub(super) fn host_result<T>(r: Result<T, HostFault>) -> Result<T, HostTrap> {
    r.map_err(HostTrap::Fault)
}

/// A length argument as `usize`, or [`HostTrap::BadArgument`] if it exceeds `max`.
pub(super) fn check_len(len: i32, max: u32, what: &str) -> Result<usize, HostTrap> {
    let len = len as u32;
    if len > max {
        return bad(format!("{what} of {len} bytes exceeds the limit of {max}"));
    }
    Ok(len as usize)
}
