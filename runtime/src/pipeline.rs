//! The three steps consensus drives: build a block on an uncommitted overlay
//! ([`Chain::propose_block`]), check a proposed block by re-executing it
//! ([`Chain::check_proposal`]), and commit a decided block with its certificate
//! ([`Chain::commit_block`]); [`Chain::import_block`] is the last two for a block that
//! arrives already decided (sync). The runtime knows nothing of rounds' votes: it checks
//! certificates against the validator set the state records for each height
//! ([`crate::valset`]). Single-validator production ([`Chain::produce_block`]) is these steps
//! with a certificate of the node's own precommit.

use crate::block::{CertifiedHeader, EncodedBody, Header, ProposedBlock, SignedHeader};
use crate::chain::Chain;
use crate::error::{ChainError, Record};
use crate::executor::AdmissionError;
use crate::finality::Certificate;
use crate::host::BlockContext;
use crate::params::ChainParams;
use crate::production::{BlockTimings, ExecutedBlock, execute_block, unix_time};
use crate::receipt::Receipt;
use crate::signatures::VerifiedSignatures;
use crate::tx::SignedTransaction;
use crate::types::{H256, keccak};
use crate::valset::{self, ValidatorSet};
use crate::verify::{BlockMismatch, VerifyError};
use chainvm_state::{BlockRecord, Snapshot, StagedState, Store};
use chainvm_vm::Vm;
use std::time::Instant;

/// Highest round whose proposer a block's proposer is checked against: a decision after more
/// rounds than this cannot be verified (a bound on the work a peer's claim can cause).
pub const MAX_ROUND: u32 = 4_096;

/// Most seconds a proposal's timestamp may be ahead of a voter's clock.
pub const MAX_CLOCK_DRIFT: u64 = 5;

/// Below this many transactions a block's body is built on the producing thread: a thread
/// costs more than the encoding.
const PARALLEL_BODY_FROM: usize = 16;

/// A block built or checked on top of the latest committed state, staged but not committed.
#[derive(Debug)]
pub struct PendingBlock {
    /// The block as consensus moves it.
    pub block: ProposedBlock,
    /// Its hash.
    pub hash: H256,
    /// The first round whose proposer is the block's proposer: a certificate must be of
    /// this round or a later one.
    pub proposer_round: u32,
    /// For a block built here: one entry per submitted transaction, its receipt or why it was
    /// left out. For a checked block: the receipts, all `Ok`.
    pub results: Vec<Result<Receipt, AdmissionError>>,
    /// Wall time of each stage (reporting only).
    pub timings: BlockTimings,
    staged: StagedState,
    record: BlockRecord,
}

impl PendingBlock {
    /// The block's height.
    pub fn height(&self) -> u64 {
        self.block.signed_header.header.height
    }

    /// The receipts of the included transactions, in order.
    pub fn receipts(&self) -> impl Iterator<Item = &Receipt> {
        self.results.iter().filter_map(|r| r.as_ref().ok())
    }
}

/// A block that is now final and stored.
#[derive(Debug, Clone)]
pub struct CommittedBlock {
    /// Its signed header.
    pub signed_header: SignedHeader,
    /// Its hash.
    pub hash: H256,
    /// The certificate stored with it.
    pub certificate: Certificate,
}

/// A block checked against its parent and re-executed on the parent's state.
pub(crate) struct CheckedBlock {
    /// The staged state after it; its root is the header's.
    pub staged: StagedState,
    /// The re-executed receipts.
    pub receipts: Vec<Receipt>,
    /// The transactions and receipts, encoded.
    pub body: EncodedBody,
    /// The transactions' hashes.
    pub tx_hashes: Vec<[u8; 32]>,
    /// The first round whose proposer is the header's.
    pub proposer_round: u32,
}

/// The validator set recorded in `snap` for block `height`.
pub(crate) fn set_at(snap: &Snapshot, height: u64) -> Result<ValidatorSet, ChainError> {
    valset::read(snap, height)?.ok_or_else(|| {
        ChainError::from(VerifyError {
            height,
            mismatch: BlockMismatch::NoValidatorSet,
        })
    })
}

/// The first round `0..=max_round` (at most [`MAX_ROUND`]) whose proposer is `header`'s
/// proposer, with its key.
fn proposer_round(
    set: &ValidatorSet,
    header: &Header,
    max_round: u32,
) -> Result<(u32, [u8; 32]), BlockMismatch> {
    let first = set.proposer(&header.parent_hash, 0).map(|m| m.address);
    for round in 0..=max_round.min(MAX_ROUND) {
        if let Some(m) = set.proposer(&header.parent_hash, round)
            && m.address == header.proposer
        {
            return Ok((round, m.public_key));
        }
    }
    Err(BlockMismatch::Proposer {
        chosen: first,
        found: header.proposer,
    })
}

/// Checks `block` as the child of `parent` on `snap` (the parent's state, in `store`):
/// height, parent link, a timestamp not before the parent's, a proposer of some round up to `max_round` and
/// its signature, transactions root; then re-executes it and checks that every transaction is
/// admitted (and, with `stored`, gives the stored receipt), the receipts root, gas used and
/// the state root. Nothing is committed.
#[allow(clippy::too_many_arguments)]
pub(crate) fn check_block(
    vm: &Vm,
    params: &ChainParams,
    store: &Store,
    snap: &Snapshot,
    parent: &SignedHeader,
    block: &ProposedBlock,
    max_round: u32,
    stored: Option<&[Receipt]>,
    known: Option<&VerifiedSignatures>,
    timings: &mut BlockTimings,
) -> Result<CheckedBlock, ChainError> {
    let header = &block.signed_header.header;
    let height = parent.header.height + 1;
    let fail = |mismatch| ChainError::from(VerifyError { height, mismatch });
    if header.height != height {
        return Err(fail(BlockMismatch::Height {
            expected: height,
            found: header.height,
        }));
    }
    let parent_hash = parent.header.hash();
    if header.parent_hash != parent_hash {
        return Err(fail(BlockMismatch::ParentHash {
            expected: parent_hash,
            found: header.parent_hash,
        }));
    }
    if header.timestamp < parent.header.timestamp {
        return Err(fail(BlockMismatch::Timestamp {
            parent: parent.header.timestamp,
            found: header.timestamp,
        }));
    }
    let set = set_at(snap, height)?;
    let (proposer_round, key) = proposer_round(&set, header, max_round).map_err(fail)?;
    if !block.signed_header.verify(&key) {
        return Err(fail(BlockMismatch::Signature));
    }
    let body = EncodedBody::of_txs(&block.txs);
    // A transaction's hash is keccak256 of its encoding: the root's leaves and the store's
    // index both use these.
    let tx_hashes: Vec<[u8; 32]> = body.txs.iter().map(|t| keccak(t).0).collect();
    let txs_root = crate::block::list_root_of_hashes(&tx_hashes);
    if header.txs_root != txs_root {
        return Err(fail(BlockMismatch::TxsRoot {
            expected: txs_root,
            found: header.txs_root,
        }));
    }
    let ctx = BlockContext {
        height,
        timestamp: header.timestamp,
        proposer: header.proposer,
    };
    let ExecutedBlock {
        writes, results, ..
    } = execute_block(vm, params, snap, &ctx, &block.txs, known, timings)?;
    let mut receipts = Vec::with_capacity(results.len());
    for (index, result) in results.into_iter().enumerate() {
        match result {
            Ok(r) => {
                if stored.is_some_and(|s| s.get(index) != Some(&r)) {
                    return Err(fail(BlockMismatch::Receipt { index }));
                }
                receipts.push(r);
            }
            Err(error) => return Err(fail(BlockMismatch::NotAdmissible { index, error })),
        }
    }
    let body = body.with_receipts(&receipts);
    let receipts_root = body.receipts_root();
    if header.receipts_root != receipts_root {
        return Err(fail(BlockMismatch::ReceiptsRoot {
            expected: receipts_root,
            found: header.receipts_root,
        }));
    }
    if header.gas_used != body.gas_used {
        return Err(fail(BlockMismatch::GasUsed {
            expected: body.gas_used,
            found: header.gas_used,
        }));
    }
    let started = Instant::now();
    let staged = store.stage(writes)?;
    timings.state_root = started.elapsed();
    if H256(staged.root) != header.state_root {
        return Err(fail(BlockMismatch::StateRoot {
            expected: H256(staged.root),
            found: header.state_root,
        }));
    }
    Ok(CheckedBlock {
        staged,
        receipts,
        body,
        tx_hashes,
        proposer_round,
    })
}

/// The store's record of a block (its header record is written at commit, with the
/// certificate).
fn record_of(height: u64, hash: H256, body: EncodedBody, tx_hashes: Vec<[u8; 32]>) -> BlockRecord {
    BlockRecord {
        height,
        hash: hash.0,
        header: Vec::new(),
        txs: tx_hashes.into_iter().zip(body.txs).collect(),
        receipts: body.receipts,
    }
}

impl Chain {
    /// The latest committed height and its signed header.
    fn parent(&self, snap: &Snapshot) -> Result<SignedHeader, ChainError> {
        let (height, _) = snap
            .version()
            .ok_or_else(|| ChainError::missing(Record::Block, 0))?;
        self.header(height)?
            .ok_or_else(|| ChainError::missing(Record::Header, height))
    }

    /// The validator set that certifies block `height`, as the latest state records it
    /// (`None` outside the heights it holds: the next `validator_set_delay` ones).
    pub fn validator_set(&self, height: u64) -> Result<Option<ValidatorSet>, ChainError> {
        Ok(valset::read(&self.store.snapshot()?, height)?)
    }

    /// The certificate stored with block `height` (`None` for genesis).
    pub fn certificate(&self, height: u64) -> Result<Option<Certificate>, ChainError> {
        self.reader.certificate(height)
    }

    /// Builds the next block from `txs` (refused ones are left out) as the proposer of
    /// `round`, on an overlay of the latest state: executed, rooted and signed by the local
    /// validator, not committed. [`ChainError::NotProposer`] if the local key is not that
    /// round's proposer. Its timestamp is the clock's, but never before the parent's (a
    /// network decides several blocks a second).
    pub fn propose_block(
        &self,
        txs: &[SignedTransaction],
        round: u32,
    ) -> Result<PendingBlock, ChainError> {
        self.propose_after(txs, round, 0)
    }

    /// [`Chain::propose_block`] with a timestamp at least `min_step` seconds after the
    /// parent's (a dev chain's blocks each move time on by a second at least).
    pub(crate) fn propose_after(
        &self,
        txs: &[SignedTransaction],
        round: u32,
        min_step: u64,
    ) -> Result<PendingBlock, ChainError> {
        let mut timings = BlockTimings::default();
        let snap = self.store.snapshot()?;
        let parent = self.parent(&snap)?;
        let height = parent.header.height + 1;
        let parent_hash = parent.header.hash();
        let set = set_at(&snap, height)?;
        let chosen = set.proposer(&parent_hash, round).map(|m| m.address);
        if chosen != Some(self.validator.address()) {
            return Err(ChainError::NotProposer {
                ours: self.validator.address(),
                chosen,
            });
        }
        let wanted = match self.clock {
            crate::production::Clock::System => unix_time(),
            crate::production::Clock::Manual(t) => t,
        };
        let ctx = BlockContext {
            height,
            timestamp: wanted.max(parent.header.timestamp + min_step),
            proposer: self.validator.address(),
        };
        let ExecutedBlock {
            writes,
            results,
            included,
        } = execute_block(
            &self.vm,
            &self.config.params,
            &snap,
            &ctx,
            txs,
            Some(self.reader.verified_signatures()),
            &mut timings,
        )?;
        drop(snap);
        let started = Instant::now();
        let receipts: Vec<&Receipt> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        // The state root and the body's encodings and roots need nothing from each other:
        // the body is built on another thread while the tree is updated.
        let build_body = || {
            let body = EncodedBody::of_txs(&included).with_receipts(&receipts);
            // A transaction's hash is keccak256 of its encoding (`SignedTransaction::hash`):
            // the transactions root's leaves and the store's index both use these.
            let tx_hashes: Vec<[u8; 32]> = body.txs.iter().map(|t| keccak(t).0).collect();
            let roots = (
                crate::block::list_root_of_hashes(&tx_hashes),
                body.receipts_root(),
            );
            (body, tx_hashes, roots)
        };
        let (staged, body) = if included.len() < PARALLEL_BODY_FROM {
            (self.store.stage(writes), build_body())
        } else {
            std::thread::scope(|s| {
                let body = s.spawn(build_body);
                let staged = self.store.stage(writes);
                match body.join() {
                    Ok(body) => (staged, body),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            })
        };
        let staged = staged?;
        let (body, tx_hashes, (txs_root, receipts_root)) = body;
        timings.state_root = started.elapsed();
        let started = Instant::now();
        let header = Header {
            parent_hash,
            height,
            timestamp: ctx.timestamp,
            state_root: H256(staged.root),
            txs_root,
            receipts_root,
            gas_used: body.gas_used,
            proposer: ctx.proposer,
        };
        let signed_header = SignedHeader::sign(header, &self.validator);
        let hash = signed_header.header.hash();
        timings.header = started.elapsed();
        Ok(PendingBlock {
            block: ProposedBlock {
                signed_header,
                txs: included,
            },
            hash,
            proposer_round: round,
            results,
            timings,
            staged,
            record: record_of(height, hash, body, tx_hashes),
        })
    }

    /// Checks a block proposed in round `round` for the next height: every header field
    /// against the latest state and its re-execution there (see [`Replay`](crate::Replay)'s
    /// checks), and, as a node-local vote rule, a timestamp at most [`MAX_CLOCK_DRIFT`]
    /// seconds ahead of this node's clock. The result can be committed once decided. A
    /// refusal is [`ChainError::Invalid`] naming what is wrong.
    pub fn check_proposal(
        &self,
        block: &ProposedBlock,
        round: u32,
    ) -> Result<PendingBlock, ChainError> {
        let ahead = block.signed_header.header.timestamp;
        let now = unix_time();
        if ahead > now + MAX_CLOCK_DRIFT {
            return Err(ChainError::from(VerifyError {
                height: block.signed_header.header.height,
                mismatch: BlockMismatch::FutureTimestamp { found: ahead, now },
            }));
        }
        self.check_decided(block, round)
    }

    /// [`Chain::check_proposal`] without the clock rule: for a block already decided
    /// (sync), whose time the validators accepted when they voted.
    fn check_decided(&self, block: &ProposedBlock, round: u32) -> Result<PendingBlock, ChainError> {
        let mut timings = BlockTimings::default();
        let snap = self.store.snapshot()?;
        let parent = self.parent(&snap)?;
        let checked = check_block(
            &self.vm,
            &self.config.params,
            &self.store,
            &snap,
            &parent,
            block,
            round,
            None,
            Some(self.reader.verified_signatures()),
            &mut timings,
        )?;
        let height = parent.header.height + 1;
        let hash = block.hash();
        Ok(PendingBlock {
            block: block.clone(),
            hash,
            proposer_round: checked.proposer_round,
            results: checked.receipts.into_iter().map(Ok).collect(),
            timings,
            staged: checked.staged,
            record: record_of(height, hash, checked.body, checked.tx_hashes),
        })
    }

    /// Commits a decided block with its certificate, durably, after checking that it is
    /// still the next block and that the certificate proves it final for the height's
    /// validator set (precommits of more than 2/3 of the power, in a round at or after the
    /// one its proposer proposed in).
    pub fn commit_block(
        &mut self,
        pending: PendingBlock,
        certificate: Certificate,
    ) -> Result<CommittedBlock, ChainError> {
        self.commit_with(pending, certificate, false)
    }

    /// [`Chain::commit_block`]; `verified`: the certificate was already checked against the
    /// set of this height in the latest state (by [`Chain::import_block`]), so its signatures
    /// are not checked again.
    fn commit_with(
        &mut self,
        pending: PendingBlock,
        certificate: Certificate,
        verified: bool,
    ) -> Result<CommittedBlock, ChainError> {
        let height = pending.height();
        let fail = |mismatch| ChainError::from(VerifyError { height, mismatch });
        let snap = self.store.snapshot()?;
        let parent = self.parent(&snap)?;
        let header = &pending.block.signed_header.header;
        if parent.header.height + 1 != height {
            return Err(fail(BlockMismatch::Height {
                expected: parent.header.height + 1,
                found: height,
            }));
        }
        if header.parent_hash != parent.header.hash() {
            return Err(fail(BlockMismatch::ParentHash {
                expected: parent.header.hash(),
                found: header.parent_hash,
            }));
        }
        let set = set_at(&snap, height)?;
        drop(snap);
        if !verified {
            certificate
                .verify(&set, height, &pending.hash)
                .map_err(|e| fail(BlockMismatch::Certificate(e)))?;
        }
        if certificate.round < pending.proposer_round {
            return Err(fail(BlockMismatch::Proposer {
                chosen: set
                    .proposer(&header.parent_hash, certificate.round)
                    .map(|m| m.address),
                found: header.proposer,
            }));
        }
        let PendingBlock {
            block,
            hash,
            results,
            staged,
            mut record,
            ..
        } = pending;
        record.header = CertifiedHeader {
            signed_header: block.signed_header.clone(),
            certificate: Some(certificate.clone()),
        }
        .encode();
        self.store.commit(staged, &record)?;
        if !self.subscribers.is_empty() {
            let note = crate::embed::BlockNotification {
                signed_header: block.signed_header.clone(),
                hash,
                receipts: results.into_iter().filter_map(Result::ok).collect(),
            };
            // Subscribers that hung up are dropped.
            self.subscribers.retain(|s| s.send(note.clone()).is_ok());
        }
        Ok(CommittedBlock {
            signed_header: block.signed_header,
            hash,
            certificate,
        })
    }

    /// Imports a block that arrives decided (sync): the certificate is checked first (cheap),
    /// then the block is re-executed and committed.
    pub fn import_block(
        &mut self,
        block: &ProposedBlock,
        certificate: Certificate,
    ) -> Result<CommittedBlock, ChainError> {
        let height = block.signed_header.header.height;
        let fail = |mismatch| ChainError::from(VerifyError { height, mismatch });
        // A height outside the latest state's window has no set here: the checks below
        // refuse it (height, parent link), and the commit checks the certificate.
        let set = valset::read(&self.store.snapshot()?, height)?;
        if let Some(set) = &set {
            certificate
                .verify(set, height, &block.hash())
                .map_err(|e| fail(BlockMismatch::Certificate(e)))?;
        }
        let pending = self.check_decided(block, certificate.round)?;
        // `&mut self`: no block committed since, so the set checked is the commit's.
        self.commit_with(pending, certificate, set.is_some())
    }
}
