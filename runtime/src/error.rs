//! [`ChainError`]: why an operation on a [`crate::Chain`] failed.
//!
//! Node faults are typed variants ([`ChainError::Store`], [`ChainError::Vm`],
//! [`ChainError::Corrupt`]), never text; [`ChainError::Config`] is kept for the home
//! directory's and genesis' user-facing problems.

use crate::abi::AbiError;
use crate::executor::{AdmissionError, ApplyError};
use crate::receipt::{ErrorDetail, ExecError, Receipt};
use crate::types::Address;
use chainvm_state::StoreError;
use chainvm_vm::VmError;
use std::path::PathBuf;

/// Why a chain operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// The store failed (missing, locked or corrupt home, I/O).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The VM failed: a node fault (or a module cache it cannot use); nothing was committed.
    #[error("node fault: {0}")]
    Vm(#[from] VmError),
    /// A record of the chain's history that the store must hold is missing or does not
    /// decode: the node's data is damaged.
    #[error("node fault: stored {record} at height {height} {damage}")]
    Corrupt {
        /// Which record.
        record: Record,
        /// The height of its block.
        height: u64,
        /// What is wrong with it.
        #[source]
        damage: Damage,
    },
    /// The transaction was refused.
    #[error("transaction rejected: {0}")]
    Rejected(#[from] AdmissionError),
    /// This node does not hold the key of the validator chosen to propose.
    #[error(
        "this node's validator {ours:?} is not the proposer chosen for the next block ({chosen:?})"
    )]
    NotProposer {
        /// Our validator.
        ours: Address,
        /// The chosen one.
        chosen: Option<Address>,
    },
    /// A stored block does not match its re-execution ([`crate::Chain::verify`]).
    #[error(transparent)]
    Invalid(#[from] crate::verify::VerifyError),
    /// A contract's ABI is unusable, or JSON arguments or data do not fit it.
    #[error(transparent)]
    Abi(#[from] AbiError),
    /// No contract is deployed at the address.
    #[error("no contract at {0:?}")]
    NoContract(Address),
    /// A deploy was included in a block but failed (its receipt says why).
    #[error("deploy failed: {}", receipt.error.as_ref().map(|e| e.to_string()).unwrap_or_default())]
    DeployFailed {
        /// The failed deploy's receipt.
        receipt: Box<Receipt>,
    },
    /// A view ran and failed (panicked, trapped, ran out of gas...).
    #[error("view failed: {0}")]
    ViewFailed(ExecError),
    /// The home directory or genesis is unusable (what to do about it is in the message).
    #[error("{0}")]
    Config(String),
    /// A file of the home directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A home directory's JSON file (`genesis.json`) does not parse, or could not be written.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// A genesis validator cannot be bonded.
    #[error("genesis validator {address:?} cannot be bonded: {refusal}")]
    GenesisValidator {
        /// The validator.
        address: Address,
        /// Why staking refused it.
        refusal: ErrorDetail,
    },
    /// The operating system's random source failed (generating a validator key). Not a
    /// `source()`: getrandom's error implements `std::error::Error` only with its `std`
    /// feature.
    #[error("cannot generate a validator key: {0}")]
    KeyGeneration(getrandom::Error),
}

/// A record of a block that the store keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Record {
    /// The block as a whole (at height 0: the genesis).
    Block,
    /// Its signed header.
    Header,
    /// Its transaction at this position.
    Transaction(u32),
    /// The receipt of its transaction at this position.
    Receipt(u32),
}

impl std::fmt::Display for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Record::Block => f.write_str("block"),
            Record::Header => f.write_str("header"),
            Record::Transaction(i) => write!(f, "transaction {i}"),
            Record::Receipt(i) => write!(f, "receipt {i}"),
        }
    }
}

/// What is wrong with a stored [`Record`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Damage {
    /// The store lacks it though it must hold it.
    #[error("is missing")]
    Missing,
    /// Its bytes do not decode.
    #[error("does not decode: {0}")]
    Undecodable(#[source] std::io::Error),
}

impl ChainError {
    /// A stored `record` at `height` that is missing.
    pub(crate) fn missing(record: Record, height: u64) -> ChainError {
        ChainError::Corrupt {
            record,
            height,
            damage: Damage::Missing,
        }
    }

    /// A stored `record` at `height` whose bytes do not decode.
    pub(crate) fn undecodable(record: Record, height: u64, e: std::io::Error) -> ChainError {
        ChainError::Corrupt {
            record,
            height,
            damage: Damage::Undecodable(e),
        }
    }
}

impl From<ApplyError> for ChainError {
    fn from(e: ApplyError) -> Self {
        match e {
            ApplyError::Admission(a) => ChainError::Rejected(a),
            ApplyError::Store(e) => ChainError::Store(e),
            ApplyError::Vm(e) => ChainError::Vm(e),
        }
    }
}
