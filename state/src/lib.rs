//! The chain's state: one key-value map committed by a Merkle root.
//!
//! - [`tree`]: the binary sparse Merkle tree, nodes stored by version then path; [`update`]
//!   applies a batch to it.
//! - [`proof`]: inclusion and absence proofs and their verifier.
//! - [`store`]: the redb database holding versions, blocks, transactions and receipts, with
//!   archive or pruned [`Retention`]; [`snapshot`]: a read view of it; [`error`]: why it
//!   failed ([`StoreError`]).
//! - [`overlay`]: buffered writes with checkpoints, what transactions execute against.

pub mod error;
pub mod overlay;
pub mod proof;
pub mod retention;
pub mod snapshot;
pub mod store;
pub mod tree;
pub mod update;

pub use error::StoreError;
pub use overlay::{Checkpoint, Overlay};
pub use proof::{Proof, ProofError};
pub use store::{BlockRecord, CommitStats, Retention, Snapshot, StagedState, Store};
pub use tree::Hash;

use std::collections::BTreeMap;

/// State changes of a block: key -> new value, `None` to delete. Ordered, so applying them is
/// deterministic.
pub type StateWrites = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// Read access to a state.
pub trait StateReader {
    /// The value of `key`, if any.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
}

impl<T: StateReader + ?Sized> StateReader for &T {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).get(key)
    }
}

impl StateReader for BTreeMap<Vec<u8>, Vec<u8>> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(BTreeMap::get(self, key).cloned())
    }
}
