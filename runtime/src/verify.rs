//! Verification: a stored chain is re-executed from genesis and every block is checked against
//! the replay, header field by header field.
//!
//! [`Replay`] holds the re-executed chain so far; [`Replay::check`] takes the next stored block,
//! checks its commit certificate against the validator set the replayed state records for
//! its height, then its height, parent link, timestamp, proposer (the stake-weighted choice of
//! a round up to the certificate's), signature, transactions root, every receipt, receipts
//! root, gas used and state root against re-execution, and only then applies it. [`Chain::verify`] adds the checks of the local store
//! (stored roots, tree nodes) and feeds every block to a replay.

use crate::block::{CertifiedHeader, ProposedBlock, SignedHeader, StoredBlock};
use crate::chain::Chain;
use crate::crypto::Keypair;
use crate::error::ChainError;
use crate::executor::AdmissionError;
use crate::genesis::GenesisConfig;
use crate::pipeline::check_block;
use crate::production::BlockTimings;
use crate::receipt::Receipt;
use crate::types::{Address, H256};
use chainvm_state::{BlockRecord, Snapshot};
use serde::Serialize;

/// What [`Chain::verify`] checked.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    /// Blocks checked (including genesis).
    pub blocks: u64,
    /// Transactions re-executed.
    pub transactions: u64,
    /// The final state root, confirmed by re-execution.
    pub state_root: H256,
}

/// What a stored block got wrong, compared with its re-execution (or with the local store).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlockMismatch {
    /// The store has no block at this height.
    #[error("missing from the store")]
    Missing,
    /// The header's height is not the parent's plus one.
    #[error("header says height {found}, expected {expected}")]
    Height {
        /// The height the block is checked at.
        expected: u64,
        /// The header's height.
        found: u64,
    },
    /// The header's parent hash is not the previous block's hash.
    #[error("parent hash {found:?} does not link to the previous block {expected:?}")]
    ParentHash {
        /// Hash of the previous block.
        expected: H256,
        /// The header's parent hash.
        found: H256,
    },
    /// The timestamp is before the parent's.
    #[error("timestamp {found} is before the parent's {parent}")]
    Timestamp {
        /// The parent's timestamp.
        parent: u64,
        /// The header's timestamp.
        found: u64,
    },
    /// The proposer is not the validator the stake-weighted selection chose.
    #[error("proposer {found:?} is not the one stake-weighted selection chose ({chosen:?})")]
    Proposer {
        /// The chosen validator (none if no validator has stake).
        chosen: Option<Address>,
        /// The header's proposer.
        found: Address,
    },
    /// The signature is not the proposer's over this header.
    #[error("bad proposer signature")]
    Signature,
    /// The transactions root is not the root of the stored transactions.
    #[error("transactions root {found:?} is not the root of the stored transactions {expected:?}")]
    TxsRoot {
        /// Root of the stored transactions.
        expected: H256,
        /// The header's root.
        found: H256,
    },
    /// A stored transaction is refused on replay.
    #[error("transaction {index} is not admissible on replay: {error}")]
    NotAdmissible {
        /// Position in the block.
        index: usize,
        /// Why re-execution refused it.
        error: AdmissionError,
    },
    /// A stored receipt differs from the re-executed one.
    #[error("transaction {index} re-executes to a different receipt")]
    Receipt {
        /// Position in the block.
        index: usize,
    },
    /// The receipts root is not the root of the re-executed receipts.
    #[error("receipts root {found:?} is not the root of the re-executed receipts {expected:?}")]
    ReceiptsRoot {
        /// Root of the re-executed receipts.
        expected: H256,
        /// The header's root.
        found: H256,
    },
    /// The header's gas used is not the sum of the re-executed receipts' gas.
    #[error("header gas_used {found} differs from the re-executed receipts' total {expected}")]
    GasUsed {
        /// Sum of the re-executed receipts' `gas_used`.
        expected: u64,
        /// The header's `gas_used`.
        found: u64,
    },
    /// Re-execution ends in another state root than the header's.
    #[error("re-execution gives state root {expected:?}, the header says {found:?}")]
    StateRoot {
        /// The re-executed root.
        expected: H256,
        /// The header's root.
        found: H256,
    },
    /// The store's root for this height is not the header's.
    #[error("stored root differs from the header's state root")]
    StoredRoot,
    /// The stored tree nodes do not hash to the header's root.
    #[error("state root does not recompute from the stored nodes")]
    RootRecompute,
    /// The genesis state is not the one `genesis.json` gives.
    #[error("genesis state differs from genesis.json")]
    GenesisState,
    /// The genesis header (or body) is not the one `genesis.json` gives.
    #[error("genesis header differs from the one genesis.json gives")]
    GenesisHeader,
    /// A proposal's timestamp is too far ahead of this node's clock (a vote rule, not
    /// checked on replay).
    #[error(
        "timestamp {found} is more than {} s ahead of this node's clock ({now})",
        crate::pipeline::MAX_CLOCK_DRIFT
    )]
    FutureTimestamp {
        /// The header's timestamp.
        found: u64,
        /// This node's clock.
        now: u64,
    },
    /// The block has no commit certificate.
    #[error("no commit certificate")]
    NoCertificate,
    /// The commit certificate does not prove the block final for its height's validator set.
    #[error("commit certificate: {0}")]
    Certificate(#[from] crate::finality::CertificateError),
    /// The state holds no validator set for this height (the block is not the next one).
    #[error("no validator set recorded for this height")]
    NoValidatorSet,
}

/// A stored block that does not verify: its height and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("block {height}: {mismatch}")]
pub struct VerifyError {
    /// Height of the offending block.
    pub height: u64,
    /// What is wrong.
    pub mismatch: BlockMismatch,
}

/// A chain re-executed from genesis, block by block: the reference each stored block is
/// checked against before it is applied.
pub struct Replay {
    /// An in-memory chain holding the replayed state (it never proposes).
    chain: Chain,
    /// The last block checked; `None` before genesis.
    parent: Option<SignedHeader>,
    report: VerifyReport,
}

impl Replay {
    /// A replay of the chain `config` describes, before its genesis block: the first block to
    /// [`check`](Replay::check) is genesis.
    pub fn new(config: &GenesisConfig) -> Result<Replay, ChainError> {
        // The replay only re-executes; it never signs, so its local key is irrelevant.
        let chain = Chain::in_memory(config.clone(), &Keypair::from_seed(&[0; 32]))?;
        Ok(Replay {
            chain,
            parent: None,
            report: VerifyReport::default(),
        })
    }

    /// The header of the last block checked (`None` before genesis).
    pub fn parent(&self) -> Option<&SignedHeader> {
        self.parent.as_ref()
    }

    /// What has been checked so far.
    pub fn report(&self) -> &VerifyReport {
        &self.report
    }

    /// Checks `block` as the next block against re-execution and, if every field matches,
    /// applies it. A refused block changes nothing: the replay stays at its parent.
    pub fn check(&mut self, block: &StoredBlock) -> Result<(), ChainError> {
        let height = self.parent.as_ref().map_or(0, |p| p.header.height + 1);
        let fail = |mismatch| ChainError::from(VerifyError { height, mismatch });
        match self.parent.clone() {
            None => self.check_genesis(block).map_err(fail)?,
            Some(parent) => self.check_next(&parent, block, height)?,
        }
        self.report.blocks += 1;
        self.report.transactions += block.txs.len() as u64;
        self.report.state_root = block.signed_header.header.state_root;
        self.parent = Some(block.signed_header.clone());
        Ok(())
    }

    fn check_genesis(&self, block: &StoredBlock) -> Result<(), BlockMismatch> {
        let header = &block.signed_header.header;
        if header.height != 0 {
            return Err(BlockMismatch::Height {
                expected: 0,
                found: header.height,
            });
        }
        if self.chain.state_root().ok() != Some(header.state_root) {
            return Err(BlockMismatch::GenesisState);
        }
        let expected = self.chain.header(0).ok().flatten();
        if expected.as_ref() != Some(&block.signed_header)
            || !block.txs.is_empty()
            || block.certificate.is_some()
        {
            return Err(BlockMismatch::GenesisHeader);
        }
        Ok(())
    }

    fn check_next(
        &self,
        parent: &SignedHeader,
        block: &StoredBlock,
        height: u64,
    ) -> Result<(), ChainError> {
        let fail = |mismatch| ChainError::from(VerifyError { height, mismatch });
        let store = self.chain.store();
        let snap = store.snapshot()?;
        let hash = block.signed_header.header.hash();
        // The certificate first: the height's set as the replayed state records it.
        let certificate = block
            .certificate
            .clone()
            .ok_or_else(|| fail(BlockMismatch::NoCertificate))?;
        if block.signed_header.header.height == height {
            let set = crate::pipeline::set_at(&snap, height)?;
            certificate
                .verify(&set, height, &hash)
                .map_err(|e| fail(BlockMismatch::Certificate(e)))?;
        }
        let proposed = ProposedBlock {
            signed_header: block.signed_header.clone(),
            txs: block.txs.iter().map(|t| t.transaction.clone()).collect(),
        };
        let stored: Vec<Receipt> = block.txs.iter().map(|t| t.receipt.clone()).collect();
        let checked = check_block(
            self.chain.vm(),
            self.chain.params(),
            store,
            &snap,
            parent,
            &proposed,
            certificate.round,
            Some(&stored),
            None,
            &mut BlockTimings::default(),
        )?;
        drop(snap);
        store.commit(
            checked.staged,
            &BlockRecord {
                height,
                hash: hash.0,
                header: CertifiedHeader {
                    signed_header: block.signed_header.clone(),
                    certificate: Some(certificate),
                }
                .encode(),
                txs: vec![],
                receipts: vec![],
            },
        )?;
        Ok(())
    }
}

/// Checks the local store's copy of block `height`: the root it stores for that height is the
/// header's, and the stored tree nodes hash to it.
fn check_stored_root(snap: &Snapshot, height: u64, block: &StoredBlock) -> Result<(), ChainError> {
    let fail = |mismatch| ChainError::from(VerifyError { height, mismatch });
    let root = block.signed_header.header.state_root;
    if H256(snap.root_at(height)?) != root {
        return Err(fail(BlockMismatch::StoredRoot));
    }
    if snap.recompute_root(height)?.0 != root.0 {
        return Err(fail(BlockMismatch::RootRecompute));
    }
    Ok(())
}

impl Chain {
    /// Re-checks every stored block (stored state roots recomputed from the tree nodes) and
    /// re-executes the whole chain from genesis in memory, checking every certificate, every
    /// header field (height, parent hash, timestamp, proposer, signature, roots, gas used) and
    /// every receipt against the replay (see [`Replay::check`]).
    pub fn verify(&self) -> Result<VerifyReport, ChainError> {
        let latest = self.height()?;
        let mut replay = Replay::new(self.genesis_config())?;
        let snap = self.store().snapshot()?;
        for height in 0..=latest {
            let block = self.block(height)?.ok_or(VerifyError {
                height,
                mismatch: BlockMismatch::Missing,
            })?;
            check_stored_root(&snap, height, &block)?;
            replay.check(&block)?;
        }
        Ok(replay.report)
    }
}
