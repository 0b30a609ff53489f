//! chainvm runtime: the Merkle-committed [`state`], accounts, signed [`tx`] transactions, the
//! host API over the state ([`host`]) and the [`executor`] that applies transactions and
//! produces [`receipt`]s (failures in [`failure`]: codes and typed fields only), on top of [`chainvm_vm`].
//!
//! Architecture and determinism rules: `docs/design.md` in the repository.

pub mod abi;
pub mod block;
pub mod chain;
pub mod crypto;
pub mod embed;
pub mod error;
pub mod executor;
pub mod failure;
pub mod finality;
pub mod genesis;
pub mod home;
pub mod host;
pub mod layout;
pub mod light;
pub mod params;
pub mod pipeline;
pub mod production;
pub mod reader;
pub mod receipt;
pub mod signatures;
pub mod staking;
pub mod tx;
pub mod types;
pub mod valset;
pub mod verify;

pub use block::ProposedBlock;
pub use chain::Chain;
/// The state layer (tree, proofs, store, overlays), re-exported so embedders name one crate.
pub use chainvm_state as state;
pub use chainvm_vm as vm;
pub use chainvm_vm::{GasProfile, profile::Frame as ProfileFrame};
pub use crypto::Keypair;
pub use embed::{Called, ChainBuilder, ChainCheckpoint, Deployed, EventFilter};
pub use error::ChainError;
pub use executor::{AdmissionError, ApplyError, Executor, ViewOutcome};
pub use finality::Certificate;
pub use genesis::Genesis;
pub use genesis::GenesisConfig;
pub use host::BlockContext;
pub use light::{LightClient, LightError};
pub use params::ChainParams;
pub use pipeline::{CommittedBlock, PendingBlock};
pub use reader::{ChainReader, StateProof, TxLocation};
pub use receipt::{ErrorCode, ErrorDetail, Event, ExecError, GasReport, Receipt, Status, TrapCode};
pub use tx::{Payload, SignedTransaction, Transaction};
pub use types::{Address, H256, U256};
pub use valset::{SetMember, ValidatorSet};
pub use verify::{BlockMismatch, Replay, VerifyError};
