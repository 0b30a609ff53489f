//! Block production: how the next block is built from a list of transactions and committed.
//!
//! A block is produced in four steps that [`crate::Chain::verify`] replays identically:
//! begin-block (release due unbonding, mint the block reward: commission to the proposer, the
//! rest into its pool), the transactions in order (each pays its fee to the proposer),
//! end-block (the fees less commission move into the proposer's pool, the validator set
//! `delay` heights ahead is fixed) — the rules are in [`crate::executor::BlockExecution`] —
//! then the header with the state, transaction and receipt roots, signed by the proposer. The
//! proposer of each round is drawn by voting power from the height's validator set in the
//! state, seeded by the parent hash ([`crate::valset::ValidatorSet::proposer`]); a node builds
//! a block only when it holds the chosen validator's key (always, on a one-validator dev
//! chain). The steps consensus drives are in [`crate::pipeline`].

use crate::block::SignedHeader;
use crate::chain::Chain;
use crate::error::{ChainError, Record};
use crate::executor::{AdmissionError, ApplyError, BlockExecution, Executor};
use crate::finality::Certificate;
use crate::host::BlockContext;
use crate::params::ChainParams;
use crate::receipt::Receipt;
use crate::signatures::{VerifiedSignatures, with_signatures_ahead};
use crate::tx::SignedTransaction;
use crate::types::H256;
use chainvm_state::{Overlay, Snapshot, StateWrites};
use chainvm_vm::{GasProfile, Vm};
use std::time::Instant;

/// A produced block.
#[derive(Debug, Clone)]
pub struct ProducedBlock {
    /// Its signed header.
    pub signed_header: SignedHeader,
    /// Its hash.
    pub hash: H256,
    /// One entry per submitted transaction: its receipt, or why it was left out.
    pub results: Vec<Result<Receipt, AdmissionError>>,
    /// Wall time of each stage of producing it (for benchmarks; never part of the block).
    pub timings: BlockTimings,
}

/// Wall time spent in each stage of [`Chain::produce_block`]. Measured with the monotonic
/// clock for reporting only; nothing here reaches state, gas or hashes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BlockTimings {
    /// Signature checks the executing thread did itself or waited for: the part not hidden
    /// behind execution (the other cores check ahead while it executes).
    pub signatures: std::time::Duration,
    /// Executing the transactions on the state overlay (signature time excluded).
    pub execution: std::time::Duration,
    /// Hashing the changed keys into the new state root (shared paths hashed once), while
    /// another thread encodes the block's transactions and receipts and builds their roots.
    pub state_root: std::time::Duration,
    /// Building the header from the roots and signing it.
    pub header: std::time::Duration,
    /// The store's durable write transaction (block, state rows and tree nodes; fsync).
    pub durable_write: std::time::Duration,
}

/// Where the next block's timestamp comes from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Clock {
    /// The system clock (read only to stamp a new header, never during execution).
    System,
    /// A fixed time, advanced explicitly (tests, embedders).
    Manual(u64),
}

/// Seconds since the Unix epoch by the system clock. Node-local: read to stamp a new header,
/// date a genesis or a dry run, never during execution.
pub fn unix_time() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Chain {
    /// The context the next block would run in (the proposer of round 0), for simulations.
    fn next_context(&self, snap: &Snapshot) -> Result<BlockContext, ChainError> {
        let (height, _) = snap
            .version()
            .ok_or_else(|| ChainError::missing(Record::Block, 0))?;
        let parent = self
            .header(height)?
            .ok_or_else(|| ChainError::missing(Record::Header, height))?;
        let set = crate::pipeline::set_at(snap, height + 1)?;
        let proposer = set
            .proposer(&parent.header.hash(), 0)
            .map_or(self.validator.address(), |m| m.address);
        let wanted = match self.clock {
            Clock::System => unix_time(),
            Clock::Manual(t) => t,
        };
        Ok(BlockContext {
            height: height + 1,
            timestamp: wanted.max(parent.header.timestamp + 1),
            proposer,
        })
    }

    /// Produces the next block from `txs` (refused ones are left out) and commits it: a
    /// single-validator chain's step, [`Chain::propose_block`] in round 0 then
    /// [`Chain::commit_block`] with the local validator's own precommit as certificate (which
    /// is final only if that validator holds more than 2/3 of the height's power).
    pub fn produce_block(
        &mut self,
        txs: &[SignedTransaction],
    ) -> Result<ProducedBlock, ChainError> {
        let pending = self.propose_after(txs, 0, 1)?;
        let certificate = Certificate::sign(pending.height(), 0, pending.hash, &[&self.validator]);
        let mut timings = pending.timings;
        let results = pending.results.clone();
        let started = Instant::now();
        let committed = self.commit_block(pending, certificate)?;
        timings.durable_write = started.elapsed();
        Ok(ProducedBlock {
            signed_header: committed.signed_header,
            hash: committed.hash,
            results,
            timings,
        })
    }

    /// Submits one transaction in a block of its own (automine) and returns its receipt.
    pub fn submit(&mut self, tx: &SignedTransaction) -> Result<Receipt, ChainError> {
        // Check admission first so a refused transaction produces no block.
        let snap = self.store.snapshot()?;
        let exec = Executor::new(&self.vm, &self.config.params);
        exec.check_stateless(tx, tx.encode().len(), true)?;
        exec.check_stateful(&snap, tx)?;
        drop(snap);
        let mut block = self.produce_block(std::slice::from_ref(tx))?;
        Ok(block.results.remove(0)?)
    }

    /// Executes `tx` as if it were in the next block and returns its receipt, committing
    /// nothing (gas estimation, dry runs).
    pub fn simulate(&self, tx: &SignedTransaction) -> Result<Receipt, ChainError> {
        self.dry_run(|exec, overlay, ctx| exec.apply(overlay, ctx, tx))
    }

    /// Like [`Chain::simulate`], with the gas profile of a contract call or deploy (its total
    /// is the receipt's `gas.total`; see [`Executor::apply_profiled`]). `None` for payloads
    /// that run no contract.
    pub fn simulate_profiled(
        &self,
        tx: &SignedTransaction,
    ) -> Result<(Receipt, Option<GasProfile>), ChainError> {
        self.dry_run(|exec, overlay, ctx| exec.apply_profiled(overlay, ctx, tx))
    }

    /// Runs `run` on an overlay of the latest state in the next block's context, and drops
    /// the overlay: what every dry run shares.
    fn dry_run<T>(
        &self,
        run: impl FnOnce(&Executor<'_>, &mut Overlay<&Snapshot>, &BlockContext) -> Result<T, ApplyError>,
    ) -> Result<T, ChainError> {
        let snap = self.store.snapshot()?;
        let ctx = self.next_context(&snap)?;
        let mut overlay = Overlay::new(&snap);
        Ok(run(
            &Executor::new(&self.vm, &self.config.params),
            &mut overlay,
            &ctx,
        )?)
    }
}

/// A block executed on a snapshot, not yet committed.
pub(crate) struct ExecutedBlock {
    /// The state writes of the whole block (begin-block, transactions, end-block).
    pub writes: StateWrites,
    /// One entry per submitted transaction: its receipt, or why it was left out.
    pub results: Vec<Result<Receipt, AdmissionError>>,
    /// The transactions included, in order (one per `Ok` in `results`).
    pub included: Vec<SignedTransaction>,
}

/// Executes a block on `snap`: begin-block, the transactions in order within the block's gas,
/// end-block (the rules are in [`BlockExecution`]). Refused transactions are left out of the
/// block; on replay every stored transaction must be admitted.
///
/// Signatures are checked ahead of execution on the other cores
/// ([`crate::signatures::with_signatures_ahead`]); a transaction whose signature fails is
/// re-checked in order by the executor, so it is refused with exactly the error (and in the
/// position) that sequential checking gives. Production passes the signatures its node has
/// already checked (`known`); replay passes none and checks every one.
pub(crate) fn execute_block(
    vm: &Vm,
    params: &ChainParams,
    snap: &Snapshot,
    ctx: &BlockContext,
    txs: &[SignedTransaction],
    known: Option<&VerifiedSignatures>,
    timings: &mut BlockTimings,
) -> Result<ExecutedBlock, ChainError> {
    let started = Instant::now();
    let mut overlay = Overlay::new(snap);
    let (executed, waited) = with_signatures_ahead(txs, known, |verdicts| {
        let mut block = BlockExecution::begin_block(vm, params, &mut overlay, ctx)?;
        let mut results = Vec::with_capacity(txs.len());
        let mut included = Vec::new();
        for (i, tx) in txs.iter().enumerate() {
            match block.apply(&mut overlay, tx, !verdicts.get(i)) {
                Ok(r) => {
                    included.push(tx.clone());
                    results.push(Ok(r));
                }
                Err(ApplyError::Admission(e)) => results.push(Err(e)),
                Err(fault) => return Err(ChainError::from(fault)),
            }
        }
        block.end_block(&mut overlay)?;
        Ok((results, included))
    });
    let (results, included) = executed?;
    let writes = overlay.into_writes();
    timings.signatures = waited;
    timings.execution = started.elapsed().saturating_sub(waited);
    Ok(ExecutedBlock {
        writes,
        results,
        included,
    })
}
