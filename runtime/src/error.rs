//! [`ChainError`]: why an operation on a [`crate::Chain`] failed.

use crate::executor::{AdmissionError, ApplyError};
use crate::state::StoreError;
use crate::types::Address;

/// Why a chain operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The store failed (missing, locked or corrupt home, I/O).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The transaction was refused.
    #[error("transaction rejected: {0}")]
    Rejected(#[from] AdmissionError),
    /// The home directory or genesis is unusable.
    #[error("{0}")]
    Config(String),
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
    /// The VM failed through no contract's doing (a host fault, missing code): the block was
    /// not committed.
    #[error("node fault: {0}")]
    Vm(#[from] chainvm_vm::VmError),
    /// A node fault (a state inconsistency): the block was not committed.
    #[error("node fault: {0}")]
    Fault(String),
    /// A stored block does not match its re-execution ([`Chain::verify`]).
    #[error(transparent)]
    Invalid(#[from] crate::verify::VerifyError),
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
