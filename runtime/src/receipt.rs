//! Receipts: what a transaction did, what it cost and, on failure, why.

use crate::types::{Address, H256, codec};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use crate::failure::{
    CodeRejection, ErrorCode, ErrorDetail, EventScope, EvidenceFault, ExecError,
    RegistrationRefusal, SourceLocation, TrapCode,
};

/// Gas and call count of one host function.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    BorshSerialize,
    BorshDeserialize,
)]
pub struct HostCallGas {
    /// Times called.
    pub calls: u64,
    /// Gas charged.
    pub gas: u64,
}

/// Where a transaction's gas went. Integers only, fields in a fixed order and host functions
/// sorted by name, so it serialises identically every time (JSON, YAML, borsh).
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize,
)]
pub struct GasReport {
    /// Total gas used; the sum of the categories below (except the byte counters).
    pub total: u64,
    /// Charged before execution: base, per transaction byte, per deployed code byte.
    pub intrinsic: u64,
    /// Contract loading (base + per code byte), every execution.
    pub loading: u64,
    /// Linear-memory pages.
    pub memory: u64,
    /// Wasm instructions.
    pub wasm: u64,
    /// Host functions by name (for `call_contract`, including the callee's gas).
    pub host: BTreeMap<String, HostCallGas>,
    /// Contract storage bytes read (keys and values).
    pub storage_bytes_read: u64,
    /// Contract storage bytes written (keys and values).
    pub storage_bytes_written: u64,
    /// Code hash of the contract called or deployed (none for plain transfers and staking).
    #[borsh(
        serialize_with = "codec::opt_h256::serialize",
        deserialize_with = "codec::opt_h256::deserialize"
    )]
    pub code_hash: Option<H256>,
}

impl GasReport {
    /// Adds a VM execution's breakdown.
    pub fn add_execution(&mut self, gas: &chainvm_vm::GasBreakdown) {
        self.loading += gas.loading;
        self.memory += gas.memory;
        self.wasm += gas.wasm;
        for (name, h) in &gas.host {
            let e = self.host.entry(name.clone()).or_default();
            e.calls += h.calls;
            e.gas += h.gas;
        }
    }
}

/// How a transaction ended.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Everything it did is in the state.
    Success,
    /// It failed; only its fee and nonce increment remain.
    Failed,
}

/// An event emitted by a contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
pub struct Event {
    /// The emitting contract.
    #[borsh(
        serialize_with = "codec::h160::serialize",
        deserialize_with = "codec::h160::deserialize"
    )]
    pub contract: Address,
    /// Topic (usually the event name).
    pub topic: Vec<u8>,
    /// Encoded event data.
    pub data: Vec<u8>,
    /// Emitted by a call that was then reverted: it happened, but none of its effects remain.
    pub reverted: bool,
}

impl Event {
    /// Bytes counted against the event caps: topic plus data.
    pub fn size(&self) -> u64 {
        (self.topic.len() + self.data.len()) as u64
    }
}

/// The result of one transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
pub struct Receipt {
    /// Hash of the transaction.
    #[borsh(
        serialize_with = "codec::h256::serialize",
        deserialize_with = "codec::h256::deserialize"
    )]
    pub tx_hash: H256,
    /// Success or failure.
    pub status: Status,
    /// Gas used (what the fee is charged on).
    pub gas_used: u64,
    /// Where the gas went.
    pub gas: GasReport,
    /// Return data: a successful call's result, or the encoded typed error a failed call set.
    pub return_data: Vec<u8>,
    /// Events, in order, including those of reverted calls (marked).
    pub events: Vec<Event>,
    /// Address of the contract a deploy created.
    #[borsh(
        serialize_with = "codec::opt_h160::serialize",
        deserialize_with = "codec::opt_h160::deserialize"
    )]
    pub contract_address: Option<Address>,
    /// Why it failed: a code and typed fields, never host text (see [`crate::failure`]).
    pub error: Option<ExecError>,
}

impl Receipt {
    /// Canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        borsh::to_vec(self).unwrap_or_default()
    }

    /// Strict decoding.
    pub fn decode(bytes: &[u8]) -> Result<Receipt, std::io::Error> {
        borsh::from_slice(bytes)
    }

    /// Whether the transaction succeeded.
    pub fn is_success(&self) -> bool {
        self.status == Status::Success
    }
}
