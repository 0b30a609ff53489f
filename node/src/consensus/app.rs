//! The application side of Malachite: the loop that answers every [`AppMsg`] by driving the
//! [`Ledger`] (propose, check, commit, serve and import synced blocks) and streams blocks as
//! proposal parts. One task per node; ledger calls run on a blocking thread.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use malachitebft_app_channel::app::engine::host::{HeightParams, Next};
use malachitebft_app_channel::app::types::core::{
    CommitCertificate, LinearTimeouts, Round, Validity,
};
use malachitebft_app_channel::app::types::{
    LocallyProposedValue, MisbehaviorEvidence, ProposedValue,
};
use malachitebft_app_channel::{AppMsg, Channels, NetworkMsg};
use tokio::sync::watch;
use tracing::{debug, error, info, warn};

use super::certificate::to_runtime;
use super::context::ChainvmContext;
use super::evidence::{EvidenceLog, record};
use super::ledger::{Ledger, TxSource};
use super::rt::{PendingBlock, ProposedBlock};
use super::signing::{Ed25519Signer, parts_signing_bytes, verify_bytes};
use super::store::ProposalStore;
use super::streaming::{BlockParts, PartStreams, stream_id};
use super::types::{BlockId, Height, ValidatorSet};
use chainvm_runtime::H256;

type Ctx = ChainvmContext;

/// How long a proposer with an empty mempool waits for a transaction before it proposes an
/// empty block (well inside the propose timeout, so the round is not lost).
const EMPTY_BLOCK_WAIT: std::time::Duration = std::time::Duration::from_millis(250);
/// Most decided values served in one sync response.
const MAX_SYNC_BATCH: u64 = 32;
/// Most complete streams kept for heights the node has not reached yet.
const MAX_FUTURE_STREAMS: usize = 16;
/// How far past the current height a stream is kept for later.
const MAX_FUTURE_HEIGHTS: u64 = 4;

/// Why the consensus loop stopped.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The chain failed where consensus cannot go on without it (start, next height's set).
    #[error("ledger: {0}")]
    Ledger(String),
    /// The chain's validator set cannot be used.
    #[error("validator set: {0}")]
    Set(#[from] super::types::SetError),
    /// The committed state records no validator set for the height to start.
    #[error("no validator set recorded for height {0}")]
    NoValidatorSet(u64),
    /// The engine's channel closed (the engine stopped).
    #[error("the consensus engine stopped")]
    EngineStopped,
}

/// An undecided block this node built or received.
struct Undecided {
    /// The proposer's signed parts (none for a block that came by sync).
    parts: Option<BlockParts>,
    pending: Option<PendingBlock>,
    value: ProposedValue<Ctx>,
}

/// The consensus loop's state.
pub struct App<L: Ledger> {
    ledger: Arc<Mutex<L>>,
    txs: Box<dyn TxSource>,
    signer: Ed25519Signer,
    store: ProposalStore,
    timeouts: LinearTimeouts,
    streams: PartStreams,
    height: Height,
    set: Option<ValidatorSet>,
    undecided: BTreeMap<(Height, BlockId), Undecided>,
    future: Vec<BlockParts>,
    /// The height whose decided block this node committed (`Ok`) or failed to (`Err`).
    committed: Option<(Height, Result<(), String>)>,
    nonce: u64,
    /// The height whose stored proposals were loaded (once per height entered).
    recovered: Option<Height>,
    tip: watch::Sender<u64>,
    evidence: EvidenceLog,
}

impl<L: Ledger> App<L> {
    /// A loop over `ledger`, signing with its local key.
    pub fn new(
        ledger: Arc<Mutex<L>>,
        key: chainvm_runtime::Keypair,
        txs: Box<dyn TxSource>,
        store: ProposalStore,
        timeouts: LinearTimeouts,
        tip: watch::Sender<u64>,
        evidence: EvidenceLog,
    ) -> App<L> {
        App {
            ledger,
            txs,
            signer: Ed25519Signer::new(key),
            store,
            timeouts,
            streams: PartStreams::default(),
            height: Height(0),
            set: None,
            undecided: BTreeMap::new(),
            future: Vec::new(),
            committed: None,
            nonce: 0,
            recovered: None,
            tip,
            evidence,
        }
    }

    /// Runs `f` on the ledger on a blocking thread (execution can take a while).
    async fn with_ledger<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut L) -> Result<R, L::Error> + Send + 'static,
    ) -> Result<R, String> {
        let ledger = self.ledger.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let mut guard = ledger
                .lock()
                .map_err(|_| "ledger lock poisoned".to_string())?;
            f(&mut guard).map_err(|e| e.to_string())
        })
        .await;
        joined.map_err(|e| format!("ledger task: {e}"))?
    }

    async fn params(&self, height: u64, parent: H256) -> Result<HeightParams<Ctx>, AppError> {
        let set = self
            .with_ledger(move |l| l.validator_set(height))
            .await
            .map_err(AppError::Ledger)?
            .ok_or(AppError::NoValidatorSet(height))?;
        let set = ValidatorSet::new(set, parent)?;
        Ok(HeightParams::new(set, self.timeouts, None))
    }

    fn enter_height(&mut self, height: Height, params: &HeightParams<Ctx>) {
        self.height = height;
        self.recovered = None;
        self.set = Some(params.validator_set.clone());
        self.undecided.retain(|(h, _), _| *h >= height);
        self.future.retain(|p| p.init.height >= height);
        if let Err(e) = self.store.prune_below(height.0) {
            warn!(%e, "could not prune the proposal store");
        }
    }

    /// Answers consensus until the engine stops.
    pub async fn run(mut self, channels: &mut Channels<Ctx>) -> Result<(), AppError> {
        while let Some(msg) = channels.consensus.recv().await {
            self.handle(msg, channels).await?;
        }
        Err(AppError::EngineStopped)
    }

    async fn handle(
        &mut self,
        msg: AppMsg<Ctx>,
        channels: &mut Channels<Ctx>,
    ) -> Result<(), AppError> {
        match msg {
            AppMsg::ConsensusReady { reply } => {
                let (tip, hash) = self
                    .with_ledger(|l| l.tip())
                    .await
                    .map_err(AppError::Ledger)?;
                let start = Height(tip + 1);
                let params = self.params(start.0, hash).await?;
                self.enter_height(start, &params);
                let _ = self.tip.send(tip);
                info!(%start, "consensus ready");
                if reply.send((start, params)).is_err() {
                    error!("ConsensusReady reply dropped");
                }
            }
            AppMsg::StartedRound {
                height,
                round,
                proposer,
                role,
                reply_value,
            } => {
                debug!(%height, %round, %proposer, ?role, "started round");
                self.recover(height).await;
                let values: Vec<ProposedValue<Ctx>> = self
                    .undecided
                    .iter()
                    .filter(|((h, _), u)| *h == height && u.value.round == round)
                    .map(|(_, u)| u.value.clone())
                    .collect();
                if reply_value.send(values).is_err() {
                    error!("StartedRound reply dropped");
                }
            }
            AppMsg::GetValue {
                height,
                round,
                timeout,
                reply,
            } => {
                let built = tokio::time::timeout(timeout, self.build(height, round)).await;
                match built {
                    Ok(Some((value, parts))) => {
                        if reply.send(value).is_err() {
                            error!("GetValue reply dropped");
                        }
                        self.publish(&parts, channels).await?;
                    }
                    Ok(None) => {}
                    Err(_) => warn!(%height, %round, "block not built within the propose timeout"),
                }
            }
            AppMsg::ReceivedProposalPart {
                from,
                published_by,
                part,
                reply,
            } => {
                let publisher = published_by.unwrap_or(from);
                let value = match self.streams.insert(publisher, part) {
                    Some(parts) => self.received(parts).await,
                    None => None,
                };
                if reply.send(value).is_err() {
                    error!("ReceivedProposalPart reply dropped");
                }
            }
            AppMsg::Decided {
                certificate,
                extensions: _,
                reply,
            } => {
                let outcome = self.commit(&certificate).await;
                if let Err(e) = &outcome {
                    error!(height = %certificate.height, %e, "decided block not committed");
                }
                self.committed = Some((certificate.height, outcome));
                if reply.send(()).is_err() {
                    error!("Decided reply dropped");
                }
            }
            AppMsg::Finalized {
                certificate,
                extensions: _,
                evidence,
                reply,
            } => {
                self.note_evidence(certificate.height, &evidence);
                let next = self.next(&certificate).await?;
                if reply.send(next).is_err() {
                    error!("Finalized reply dropped");
                }
            }
            AppMsg::GetHistoryMinHeight { reply } => {
                let min = self.with_ledger(|l| l.history_min_height()).await;
                let min = min.unwrap_or_else(|e| {
                    warn!(%e, "history min height unavailable");
                    0
                });
                if reply.send(Height(min.max(1))).is_err() {
                    error!("GetHistoryMinHeight reply dropped");
                }
            }
            AppMsg::GetDecidedValues { range, reply } => {
                let values = self.decided_values(range.start().0, range.end().0).await;
                if reply.send(values).is_err() {
                    error!("GetDecidedValues reply dropped");
                }
            }
            AppMsg::ProcessSyncedValue {
                height,
                round,
                proposer,
                value_bytes,
                reply,
            } => {
                let outcome = self.synced(height, round, proposer, &value_bytes).await;
                if reply.send(outcome).is_err() {
                    error!("ProcessSyncedValue reply dropped");
                }
            }
            AppMsg::RestreamProposal {
                height, value_id, ..
            } => {
                if let Some(parts) = self
                    .undecided
                    .get(&(height, value_id))
                    .and_then(|u| u.parts.clone())
                {
                    self.publish(&parts, channels).await?;
                } else {
                    debug!(%height, %value_id, "nothing to restream");
                }
            }
            AppMsg::ExtendVote { reply, .. } => {
                if reply.send(None).is_err() {
                    error!("ExtendVote reply dropped");
                }
            }
            AppMsg::VerifyVoteExtensions {
                extensions, reply, ..
            } => {
                // Extensions are disabled; the engine rejects any before asking. Accept the rest.
                let verdicts = extensions.into_iter().map(|(a, _)| (a, Ok(()))).collect();
                if reply.send(verdicts).is_err() {
                    error!("VerifyVoteExtensions reply dropped");
                }
            }
        }
        Ok(())
    }

    /// Loads what the proposal store kept for `height` (after a restart) and the streams that
    /// arrived before the node reached it, checking each.
    async fn recover(&mut self, height: Height) {
        let mut waiting: Vec<BlockParts> = Vec::new();
        self.future.retain(|p| {
            if p.init.height == height {
                waiting.push(p.clone());
                false
            } else {
                true
            }
        });
        if self.recovered != Some(height) {
            self.recovered = Some(height);
            match self.store.load(height.0) {
                Ok(stored) => waiting.extend(stored),
                Err(e) => warn!(%e, "proposal store unreadable"),
            }
        }
        for parts in waiting {
            let _ = self.received(parts).await;
        }
    }

    /// Builds (or returns the already built) block of this node for (height, round).
    async fn build(
        &mut self,
        height: Height,
        round: Round,
    ) -> Option<(LocallyProposedValue<Ctx>, BlockParts)> {
        let me = self.signer.address();
        let mine = self
            .undecided
            .values()
            .find(|u| u.value.height == height && u.value.round == round && u.value.proposer == me);
        if let Some((u, parts)) = mine.and_then(|u| u.parts.as_ref().map(|p| (u, p))) {
            return Some((
                LocallyProposedValue::new(height, round, u.value.value),
                parts.clone(),
            ));
        }
        let r = round.as_u32()?;
        // An idle network makes an empty block only every EMPTY_BLOCK_WAIT; a transaction
        // arriving meanwhile is proposed at once.
        let mut txs = self.txs.next_batch();
        let idle_until = std::time::Instant::now() + EMPTY_BLOCK_WAIT;
        while txs.is_empty() && std::time::Instant::now() < idle_until {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            txs = self.txs.next_batch();
        }
        let pending = match self.with_ledger(move |l| l.propose_block(&txs, r)).await {
            Ok(p) => p,
            Err(e) => {
                warn!(%height, %round, %e, "could not build a block");
                return None;
            }
        };
        let id = BlockId(pending.hash);
        let parts = match BlockParts::sign(
            &self.signer,
            height,
            round,
            Round::Nil,
            &pending.block.encode(),
        ) {
            Ok(p) => p,
            Err(e) => {
                warn!(%e, "could not sign the block's parts");
                return None;
            }
        };
        if let Err(e) = self.store.put(&id, &parts) {
            warn!(%e, "could not store the proposal");
        }
        let value = ProposedValue {
            height,
            round,
            valid_round: Round::Nil,
            proposer: me,
            value: id,
            validity: Validity::Valid,
        };
        self.undecided.insert(
            (height, id),
            Undecided {
                parts: Some(parts.clone()),
                pending: Some(pending),
                value,
            },
        );
        info!(%height, %round, block = %id, "proposing");
        Some((LocallyProposedValue::new(height, round, id), parts))
    }

    async fn publish(
        &mut self,
        parts: &BlockParts,
        channels: &mut Channels<Ctx>,
    ) -> Result<(), AppError> {
        self.nonce += 1;
        let id = stream_id(
            parts.init.height,
            parts.init.round,
            self.signer.address().0.as_bytes(),
            self.nonce,
        );
        for msg in parts.stream(&id) {
            channels
                .network
                .send(NetworkMsg::PublishProposalPart(msg))
                .await
                .map_err(|_| AppError::EngineStopped)?;
        }
        Ok(())
    }

    /// A complete stream: checks who streamed it, then the block itself.
    async fn received(&mut self, parts: BlockParts) -> Option<ProposedValue<Ctx>> {
        let height = parts.init.height;
        if height < self.height {
            return None;
        }
        if height > self.height {
            if height.0 <= self.height.0 + MAX_FUTURE_HEIGHTS
                && self.future.len() < MAX_FUTURE_STREAMS
            {
                self.future.push(parts);
            }
            return None;
        }
        let set = self.set.as_ref()?;
        let expected = set.proposer(parts.init.round);
        if expected.address != parts.init.proposer {
            warn!(%height, round = %parts.init.round, from = %parts.init.proposer, "stream from a validator that is not the round's proposer");
            return None;
        }
        let bytes = parts.block_bytes();
        let signed = parts_signing_bytes(
            height,
            parts.init.round,
            parts.init.pol_round,
            &parts.init.proposer,
            &chainvm_runtime::types::keccak(&bytes),
        )
        .ok()?;
        if !verify_bytes(&expected.public_key, &signed, &parts.fin) {
            warn!(%height, "stream with a bad proposer signature");
            return None;
        }
        let block = match ProposedBlock::decode(&bytes) {
            Ok(b) => b,
            Err(e) => {
                warn!(%height, %e, "the proposer streamed bytes that are not a block");
                return None;
            }
        };
        let id = BlockId(block.hash());
        if let Some(u) = self.undecided.get(&(height, id)) {
            return Some(u.value.clone());
        }
        let round = parts.init.round.as_u32()?;
        let checked = self
            .with_ledger(move |l| l.check_proposal(&block, round))
            .await;
        let (validity, pending) = match checked {
            Ok(p) => (Validity::Valid, Some(p)),
            Err(e) => {
                warn!(%height, block = %id, %e, "invalid proposal");
                (Validity::Invalid, None)
            }
        };
        if validity.is_valid()
            && let Err(e) = self.store.put(&id, &parts)
        {
            warn!(%e, "could not store the proposal");
        }
        let value = ProposedValue {
            height,
            round: parts.init.round,
            valid_round: parts.init.pol_round,
            proposer: parts.init.proposer,
            value: id,
            validity,
        };
        self.undecided.insert(
            (height, id),
            Undecided {
                parts: Some(parts),
                pending,
                value: value.clone(),
            },
        );
        Some(value)
    }

    async fn commit(&mut self, certificate: &CommitCertificate<Ctx>) -> Result<(), String> {
        let key = (certificate.height, certificate.value_id);
        // A pending block holds staged state: it is taken, not copied. If the commit fails the
        // entry goes, and the block is checked again when it comes back (store or peers).
        let pending = self
            .undecided
            .remove(&key)
            .and_then(|u| u.pending)
            .ok_or_else(|| format!("no checked block {} at {}", key.1, key.0))?;
        let cert = to_runtime(certificate).map_err(|e| e.to_string())?;
        let block = pending.block.clone();
        self.with_ledger(move |l| l.commit_block(pending, cert))
            .await?;
        self.txs.committed(&block);
        let _ = self.tip.send(certificate.height.0);
        info!(height = %certificate.height, block = %certificate.value_id, round = %certificate.round, "committed");
        Ok(())
    }

    async fn next(&mut self, certificate: &CommitCertificate<Ctx>) -> Result<Next<Ctx>, AppError> {
        let height = certificate.height;
        let committed = matches!(&self.committed, Some((h, Ok(()))) if *h == height);
        if committed {
            let next = height.0 + 1;
            let params = self.params(next, certificate.value_id.0).await?;
            self.enter_height(Height(next), &params);
            Ok(Next::Start(Height(next), params))
        } else {
            let (tip, hash) = self
                .with_ledger(|l| l.tip())
                .await
                .map_err(AppError::Ledger)?;
            let restart = Height(tip + 1);
            warn!(%height, %restart, "restarting the height");
            let params = self.params(restart.0, hash).await?;
            self.enter_height(restart, &params);
            Ok(Next::Restart(restart, params))
        }
    }

    /// Keeps a finalized height's vote equivocations and hands them to the transaction
    /// source (which reports them on chain). Proposal equivocations are only logged: their
    /// signatures are over the proposal bytes, which no evidence form on chain carries yet.
    fn note_evidence(&mut self, height: Height, evidence: &MisbehaviorEvidence<Ctx>) {
        if !evidence.is_empty() {
            warn!(
                %height,
                voters = evidence.votes.len(),
                proposers = evidence.proposals.len(),
                "equivocation observed"
            );
        }
        let found = record(&self.evidence, height, evidence);
        if !found.is_empty() {
            self.txs.evidence(&found);
        }
    }
}

#[path = "app_sync.rs"]
mod sync;

#[cfg(test)]
#[path = "app_tests.rs"]
mod tests;
