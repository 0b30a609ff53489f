//! A node of a validator network: the node's chain and mempool seen as consensus needs them.
//!
//! [`NodeLedger`] gives the consensus loop the chain's pipeline (propose, check, commit,
//! stored blocks for sync) under the node's chain lock, and after each commit tells the
//! mempool which transactions are in and the subscribers which height is new. [`NodeTxs`]
//! takes a proposal's transactions from the mempool without removing them: they leave it
//! only when a block holding them commits, whoever proposed it, so a transaction a proposal
//! took is never lost to a round that failed. The vote equivocations consensus reports reach
//! [`NodeTxs`] too: the node signs a `ReportDoubleVote` with its validator key for each
//! (offender, height) it has not reported yet, admits it to its mempool and forwards it.

use crate::consensus::{ConsensusOptions, Ledger, Multiaddr, TxSource, VoteEquivocation};
use crate::testnet::NetworkConfig;
use crate::{MAX_BLOCK_TXS, Node, NodeError, lock};
use chainvm_runtime::block::ProposedBlock;
use chainvm_runtime::finality::DoubleVote;
use chainvm_runtime::state::StateReader;
use chainvm_runtime::{
    Address, Certificate, ChainError, H256, Keypair, Payload, PendingBlock, SignedTransaction,
    Transaction, ValidatorSet, layout,
};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use tracing::{info, warn};

/// The node's chain as the consensus loop drives it.
pub struct NodeLedger {
    node: Arc<Node>,
}

impl NodeLedger {
    /// The ledger of `node`.
    pub(crate) fn new(node: Arc<Node>) -> NodeLedger {
        NodeLedger { node }
    }
}

impl Ledger for NodeLedger {
    type Error = ChainError;

    fn tip(&self) -> Result<(u64, H256), ChainError> {
        let height = self.node.reader.height()?;
        let hash = self
            .node
            .reader
            .header(height)?
            .map_or(H256::zero(), |h| h.header.hash());
        Ok((height, hash))
    }

    fn validator_set(&self, height: u64) -> Result<Option<ValidatorSet>, ChainError> {
        lock(&self.node.chain).validator_set(height)
    }

    fn local_key(&self) -> Keypair {
        lock(&self.node.chain).validator_key().clone()
    }

    fn propose_block(
        &self,
        txs: &[SignedTransaction],
        round: u32,
    ) -> Result<PendingBlock, ChainError> {
        lock(&self.node.chain).propose_block(txs, round)
    }

    fn check_proposal(
        &self,
        block: &ProposedBlock,
        round: u32,
    ) -> Result<PendingBlock, ChainError> {
        lock(&self.node.chain).check_proposal(block, round)
    }

    fn commit_block(
        &mut self,
        pending: PendingBlock,
        certificate: Certificate,
    ) -> Result<(), ChainError> {
        let txs = pending.block.txs.clone();
        let committed = lock(&self.node.chain).commit_block(pending, certificate)?;
        self.node
            .committed(&txs, committed.signed_header.header.height);
        Ok(())
    }

    fn decided(&self, height: u64) -> Result<Option<(ProposedBlock, Certificate)>, ChainError> {
        let Some(b) = self.node.reader.block(height)? else {
            return Ok(None);
        };
        let Some(certificate) = b.certificate else {
            return Ok(None);
        };
        let block = ProposedBlock {
            signed_header: b.signed_header,
            txs: b.txs.into_iter().map(|t| t.transaction).collect(),
        };
        Ok(Some((block, certificate)))
    }

    fn history_min_height(&self) -> Result<u64, ChainError> {
        // Blocks and certificates are kept in every retention mode.
        Ok(1)
    }
}

/// The node's mempool as a proposer's source of transactions, and the node's reporter of the
/// vote equivocations consensus saw.
pub struct NodeTxs {
    node: Arc<Node>,
    /// The validator key the node signs its evidence reports with.
    key: Keypair,
    /// (offender, height) pairs already reported by this node since it started.
    reported: BTreeSet<(Address, u64)>,
}

impl NodeTxs {
    /// The transaction source of `node`.
    pub(crate) fn new(node: Arc<Node>) -> NodeTxs {
        let key = lock(&node.chain).validator_key().clone();
        NodeTxs {
            node,
            key,
            reported: BTreeSet::new(),
        }
    }
}

impl TxSource for NodeTxs {
    fn next_batch(&mut self) -> Vec<SignedTransaction> {
        let Ok(snap) = self.node.reader.latest_state() else {
            return Vec::new();
        };
        let now = Instant::now();
        let mut pool = lock(&self.node.pool);
        pool.expire(now);
        // A look only: they stay in the pool until a block holding them commits.
        pool.peek(
            |a| {
                chainvm_runtime::layout::account(&snap, a)
                    .map(|x| x.nonce)
                    .unwrap_or(0)
            },
            MAX_BLOCK_TXS,
        )
    }

    fn committed(&mut self, _block: &ProposedBlock) {
        // The ledger's commit already told the pool (see `Node::committed`).
    }

    fn evidence(&mut self, found: &[VoteEquivocation]) {
        for e in found {
            // One report per offence: the chain slashes a height once, whichever form or
            // vote pair reports it. A node does not report itself.
            if e.validator == self.key.address() || !self.reported.insert((e.validator, e.height)) {
                continue;
            }
            match report_double_vote(&self.node, &self.key, e.double_vote()) {
                Ok(Some(hash)) => {
                    info!(offender = ?e.validator, height = e.height, tx = ?hash, "reported a double vote")
                }
                Ok(None) => {}
                Err(why) => {
                    warn!(offender = ?e.validator, height = e.height, %why, "could not report a double vote")
                }
            }
        }
    }
}

/// Signs `evidence` into a `ReportDoubleVote` from `key`'s account at its next free nonce
/// (the account's nonce in the latest state, past what the pool holds of it), admits it to
/// the node's pool and forwards it to the peers. `None` when the chain already slashed that
/// height of the offender (a peer's report came first).
fn report_double_vote(
    node: &Node,
    key: &Keypair,
    evidence: DoubleVote,
) -> Result<Option<H256>, String> {
    let exec = node.reader.executor();
    let chain_id = node.reader.params().chain_id;
    let sender = key.address();
    let (hash, raw) = {
        // Under the pool lock, like a client's admission: no other admission takes the nonce.
        let mut pool = lock(&node.pool);
        let snap = node.reader.latest_state().map_err(|e| e.to_string())?;
        let marker = layout::slashed_key(&evidence.offender(), evidence.height());
        if snap.get(&marker).map_err(|e| e.to_string())?.is_some() {
            return Ok(None);
        }
        let height = snap.version().map_or(0, |(h, _)| h);
        let account = layout::account(&snap, &sender).map_err(|e| e.to_string())?;
        let account = pool.account_for_admission(&sender, account, height);
        let nonce = pool.next_nonce(&sender, account.nonce);
        let payload = Payload::ReportDoubleVote {
            evidence: Box::new(evidence),
        };
        let tx = Transaction::new(chain_id, nonce, payload).sign(key);
        let raw = tx.encode();
        exec.check_stateless(&tx, raw.len(), false)
            .map_err(|e| e.to_string())?;
        // Checked once and remembered, as for a client's transaction.
        if !node.reader.check_signature(&tx) {
            return Err("own signature does not verify".into());
        }
        let admitted = pool.insert(tx, &account, Instant::now())?;
        (admitted.hash, raw)
    };
    if let Some(f) = &node.forward {
        f.forward(chainvm_runtime::types::hex(&raw));
    }
    Ok(Some(hash))
}

/// A P2P address as libp2p takes it: `host:port` becomes `/ip4/host/tcp/port`; a multiaddr
/// is taken as it is.
pub fn multiaddr(addr: &str) -> Result<Multiaddr, NodeError> {
    let text = if addr.starts_with('/') {
        addr.to_string()
    } else {
        let sock: std::net::SocketAddr = addr
            .parse()
            .map_err(|_| NodeError::Config(format!("`{addr}` is not a host:port P2P address")))?;
        let ip = match sock.ip() {
            std::net::IpAddr::V4(ip) => format!("/ip4/{ip}"),
            std::net::IpAddr::V6(ip) => format!("/ip6/{ip}"),
        };
        format!("{ip}/tcp/{}", sock.port())
    };
    text.parse()
        .map_err(|e| NodeError::Config(format!("`{addr}` is not a P2P address: {e}")))
}

/// Consensus options for a node of `home` in the network `cfg` describes: loopback timeouts
/// when every address is on loopback (a testnet), production ones otherwise.
pub(crate) fn options(home: &Path, cfg: &NetworkConfig) -> Result<ConsensusOptions, NodeError> {
    let listen = multiaddr(&cfg.p2p)?;
    let peers = cfg
        .peers
        .iter()
        .map(|p| multiaddr(&p.p2p))
        .collect::<Result<Vec<_>, _>>()?;
    let local = std::iter::once(&cfg.p2p)
        .chain(cfg.peers.iter().map(|p| &p.p2p))
        .all(|a| a.starts_with("127.") || a.starts_with("/ip4/127.") || a.starts_with("localhost"));
    let mut options = if local {
        ConsensusOptions::loopback(home.to_path_buf(), listen, peers)
    } else {
        ConsensusOptions::new(home.to_path_buf(), listen, peers)
    };
    options.moniker = cfg.p2p.clone();
    options.full_node = !cfg.validator;
    options.equivocate = cfg.equivocate.clone();
    Ok(options)
}
