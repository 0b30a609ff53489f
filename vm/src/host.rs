//! The narrow boundary the chain implements: storage, balances, transfers, events and
//! cross-contract calls.
//!
//! The VM owns everything that needs no chain knowledge (gas charging, argument checks, guest
//! memory access, input, return data, abort, keccak256); a [`Host`] only does chain work. Gas
//! for each host function is charged by the VM from the [`crate::GasSchedule`] *before* the
//! host method runs, so a host implementation never meters.

use thiserror::Error;

/// A 20-byte account or contract address.
pub type Address = [u8; 20];
/// A 32-byte big-endian unsigned amount.
pub type Amount = [u8; 32];

/// Facts about the call being executed, fixed for its whole duration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallContext {
    /// The immediate caller (an account, or the calling contract).
    pub caller: Address,
    /// The executing contract.
    pub self_address: Address,
    /// Value attached to this call, already credited to `self_address`.
    pub value: Amount,
    /// Height of the block being built.
    pub block_height: u64,
    /// Timestamp of the block being built, in seconds (from the header, never a clock).
    pub block_timestamp: u64,
}

/// A contract's request to call another contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRequest {
    /// The contract to call.
    pub to: Address,
    /// Entry point name.
    pub method: String,
    /// Encoded arguments.
    pub args: Vec<u8>,
    /// Value to move from the caller to the callee.
    pub value: Amount,
    /// Most gas the callee may use.
    pub gas_limit: u64,
}

/// What a cross-contract call came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallResult {
    /// [`chainvm_abi::error_code`] status: `OK` or why it failed.
    pub code: i32,
    /// Gas the callee used (at most the request's `gas_limit`); charged to the caller.
    pub gas_used: u64,
    /// The callee's return data: its result on success; on failure what it set before
    /// failing (the encoded typed error of an SDK `Err`), or nothing. Never host text.
    pub data: Vec<u8>,
}

/// Why a transfer was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransferError {
    /// The contract's balance is below the amount.
    InsufficientFunds,
}

/// Why an event was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventError {
    /// The transaction's (or block's) event-byte allowance would be exceeded. The execution
    /// ends with [`crate::Outcome::EventBytesExceeded`].
    LimitReached,
}

/// A failure of the host itself (a database error, a broken invariant). It aborts the
/// execution as a node fault: it is never a contract's fault and must not become a consensus
/// result.
///
/// It keeps the host's own error as its [`std::error::Error::source`] (a store error, say),
/// so the fault can be told apart and reported without being flattened into text.
#[derive(Debug, Error)]
#[error("host failure: {0}")]
pub struct HostFault(#[source] pub Box<dyn std::error::Error + Send + Sync + 'static>);

impl HostFault {
    /// A fault caused by `error` (any error type, or a message for a broken invariant).
    pub fn new(error: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        HostFault(error.into())
    }
}

/// The chain side of the host ABI. Storage is scoped to the executing contract by the
/// implementation; keys and values arrive already bounded by [`chainvm_abi::limits`].
pub trait Host {
    /// Reads a value of the executing contract's storage.
    fn storage_get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, HostFault>;
    /// Writes a value of the executing contract's storage.
    fn storage_set(&mut self, key: &[u8], value: &[u8]) -> Result<(), HostFault>;
    /// Removes a key; returns whether it existed.
    fn storage_remove(&mut self, key: &[u8]) -> Result<bool, HostFault>;
    /// Whether the key has a value.
    fn storage_has(&mut self, key: &[u8]) -> Result<bool, HostFault>;
    /// The executing contract's current balance.
    fn balance(&mut self) -> Result<Amount, HostFault>;
    /// Moves `amount` from the executing contract to `to`.
    fn transfer(
        &mut self,
        to: &Address,
        amount: &Amount,
    ) -> Result<Result<(), TransferError>, HostFault>;
    /// Records an event emitted by the executing contract, or refuses it when the event-byte
    /// allowance is used up (the execution then fails).
    fn emit_event(
        &mut self,
        topic: &[u8],
        data: &[u8],
    ) -> Result<Result<(), EventError>, HostFault>;
    /// Runs another contract. The implementation enforces depth and reentrancy rules, moves
    /// the value, and reverts the callee's writes if it fails.
    fn call_contract(&mut self, request: CallRequest) -> Result<CallResult, HostFault>;
}
