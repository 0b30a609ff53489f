//! [`Ledger`]: the steps consensus asks of the chain (the runtime's propose / check / commit
//! pipeline, the validator set of a height, stored blocks and certificates for sync), and
//! [`TxSource`], where a proposer takes its transactions from (and where the vote equivocations
//! consensus saw go, to be reported on chain). The consensus loop runs each
//! call on a blocking thread, one at a time, so implementations need `Send` only.

use super::evidence::VoteEquivocation;
use super::rt::finality::Certificate;
use super::rt::valset::ValidatorSet;
use super::rt::{PendingBlock, ProposedBlock};
use chainvm_runtime::{H256, Keypair, SignedTransaction};

/// The chain as consensus drives it.
pub trait Ledger: Send + 'static {
    /// The chain's error (a refusal or a node fault).
    type Error: std::error::Error + Send + Sync + 'static;

    /// The last committed height (0 = genesis) and its block hash.
    fn tip(&self) -> Result<(u64, H256), Self::Error>;

    /// The set certifying `height`, if the committed state records it yet (it does up to the
    /// chain's delay past the tip).
    fn validator_set(&self, height: u64) -> Result<Option<ValidatorSet>, Self::Error>;

    /// The node's validator key.
    fn local_key(&self) -> Keypair;

    /// Executes `txs` on top of the tip as the proposer of `round`, without committing.
    fn propose_block(
        &self,
        txs: &[SignedTransaction],
        round: u32,
    ) -> Result<PendingBlock, Self::Error>;

    /// Re-executes a peer's block on top of the tip and compares every header field; its
    /// proposer must be the proposer of a round up to `round` (the round it was proposed in).
    fn check_proposal(
        &self,
        block: &ProposedBlock,
        round: u32,
    ) -> Result<PendingBlock, Self::Error>;

    /// Durably commits a checked block under its certificate.
    fn commit_block(
        &mut self,
        pending: PendingBlock,
        certificate: Certificate,
    ) -> Result<(), Self::Error>;

    /// The committed block at `height` and its certificate (for peers that sync).
    fn decided(&self, height: u64) -> Result<Option<(ProposedBlock, Certificate)>, Self::Error>;

    /// The lowest height whose block and certificate this node still serves.
    fn history_min_height(&self) -> Result<u64, Self::Error>;
}

/// Where a proposer takes transactions from (the mempool), and whom it tells what committed.
pub trait TxSource: Send + Sync + 'static {
    /// Transactions to try in the next block, in order.
    fn next_batch(&mut self) -> Vec<SignedTransaction>;

    /// A block committed: drop its transactions from the pool.
    fn committed(&mut self, block: &ProposedBlock);

    /// Vote equivocations the engine reported when a height finalized (each once): a node
    /// turns them into evidence transactions (`ReportDoubleVote`). Default: ignored.
    fn evidence(&mut self, found: &[VoteEquivocation]) {
        let _ = found;
    }
}

/// No transactions: empty blocks (consensus tests, a node with no mempool yet).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoTxs;

impl TxSource for NoTxs {
    fn next_batch(&mut self) -> Vec<SignedTransaction> {
        Vec::new()
    }

    fn committed(&mut self, _block: &ProposedBlock) {}
}
