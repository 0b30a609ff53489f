//! PLACEHOLDER for the runtime's consensus API (valset, finality, proposed blocks, the chain's
//! propose/check/commit steps) until it lands in `chainvm-runtime`. Every item mirrors the
//! planned runtime name, so the swap is a change of `use` in `consensus/mod.rs`.
//!
//! The [`MockChain`] here executes nothing: a block is its header and transactions, and the
//! "state root" chains the block hashes. It exists so the Malachite glue can be built and run.

use std::collections::BTreeMap;

use borsh::{BorshDeserialize, BorshSerialize};
use chainvm_runtime::types::keccak;
use chainvm_runtime::{Address, H256, Keypair, SignedTransaction};

/// Validator sets, as the runtime will define them.
pub mod valset {
    use super::*;

    /// One member of a height's validator set.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct SetMember {
        /// The validator's address (derived from `public_key`).
        pub address: Address,
        /// The ed25519 consensus key.
        pub public_key: [u8; 32],
        /// Voting power (bonded stake), always > 0.
        pub power: u64,
    }

    /// The set certifying one height: sorted by address, every power > 0.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct ValidatorSet {
        /// The members, sorted by address.
        pub members: Vec<SetMember>,
    }

    impl ValidatorSet {
        /// Sum of the members' powers.
        pub fn total_power(&self) -> u64 {
            self.members.iter().map(|m| m.power).sum()
        }

        /// The member with this address.
        pub fn get(&self, address: &Address) -> Option<&SetMember> {
            self.members.iter().find(|m| &m.address == address)
        }

        /// The proposer of `round` on top of `parent_hash`: a stake-weighted keccak draw.
        pub fn proposer(&self, parent_hash: &H256, round: u32) -> Option<&SetMember> {
            let total = self.total_power();
            if total == 0 {
                return None;
            }
            let mut seed = b"chainvm-proposer".to_vec();
            seed.extend_from_slice(parent_hash.as_bytes());
            seed.extend_from_slice(&round.to_be_bytes());
            let draw = keccak(&seed);
            let mut word = [0u8; 8];
            word.copy_from_slice(&draw.as_bytes()[..8]);
            let mut ticket = u64::from_be_bytes(word) % total;
            for member in &self.members {
                if ticket < member.power {
                    return Some(member);
                }
                ticket -= member.power;
            }
            None
        }

        /// Whether `power` is more than two thirds of the total.
        pub fn is_quorum(&self, power: u64) -> bool {
            3 * u128::from(power) > 2 * u128::from(self.total_power())
        }
    }
}

/// Votes and commit certificates, as the runtime will define them.
pub mod finality {
    use super::valset::ValidatorSet;
    use super::*;

    /// The two Tendermint vote kinds.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
    pub enum VoteKind {
        /// First-phase vote.
        Prevote,
        /// Second-phase vote; > 2/3 of them for a block commit it.
        Precommit,
    }

    /// The bytes a validator signs for a vote: domain `chainvm-vote-v1` then borsh.
    pub fn vote_signing_bytes(
        kind: VoteKind,
        height: u64,
        round: u32,
        block: Option<&H256>,
        validator: &Address,
    ) -> Vec<u8> {
        let mut out = b"chainvm-vote-v1".to_vec();
        let body = (kind, height, round, block.map(|h| h.0), validator.0);
        // Writing borsh into a Vec cannot fail.
        let _ = body.serialize(&mut out);
        out
    }

    /// One precommit signature in a certificate.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct CommitSignature {
        /// Who signed.
        pub validator: Address,
        /// ed25519 over `vote_signing_bytes(Precommit, ..)`.
        pub signature: [u8; 64],
    }

    /// Proof that > 2/3 of a height's power precommitted a block.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Certificate {
        /// The certified height.
        pub height: u64,
        /// The round that decided.
        pub round: u32,
        /// The decided block.
        pub block_hash: H256,
        /// The precommits.
        pub signatures: Vec<CommitSignature>,
    }

    impl Certificate {
        /// Checks every signature and the quorum against `set`.
        pub fn verify(&self, set: &ValidatorSet) -> bool {
            let mut power = 0u64;
            let mut seen = std::collections::BTreeSet::new();
            for sig in &self.signatures {
                let Some(member) = set.get(&sig.validator) else {
                    return false;
                };
                if !seen.insert(sig.validator) {
                    return false;
                }
                let msg = vote_signing_bytes(
                    VoteKind::Precommit,
                    self.height,
                    self.round,
                    Some(&self.block_hash),
                    &sig.validator,
                );
                if !chainvm_runtime::crypto::verify(&member.public_key, &msg, &sig.signature) {
                    return false;
                }
                power += member.power;
            }
            set.is_quorum(power)
        }
    }
}

/// The mock header: what a real signed header commits to, minus execution.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedHeader {
    /// Parent block hash.
    #[borsh(
        serialize_with = "chainvm_runtime::types::codec::h256::serialize",
        deserialize_with = "chainvm_runtime::types::codec::h256::deserialize"
    )]
    pub parent_hash: H256,
    /// Height of this block.
    pub height: u64,
    /// Proposer's address.
    #[borsh(
        serialize_with = "chainvm_runtime::types::codec::h160::serialize",
        deserialize_with = "chainvm_runtime::types::codec::h160::deserialize"
    )]
    pub proposer: Address,
    /// Mock state root: keccak(parent root ‖ txs).
    #[borsh(
        serialize_with = "chainvm_runtime::types::codec::h256::serialize",
        deserialize_with = "chainvm_runtime::types::codec::h256::deserialize"
    )]
    pub state_root: H256,
}

impl SignedHeader {
    /// keccak of the borsh header.
    pub fn hash(&self) -> H256 {
        keccak(&borsh::to_vec(self).unwrap_or_default())
    }
}

/// The consensus value: a header and its transactions.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ProposedBlock {
    /// The header.
    pub signed_header: SignedHeader,
    /// The transactions, in block order.
    pub txs: Vec<SignedTransaction>,
}

impl ProposedBlock {
    /// borsh bytes.
    pub fn encode(&self) -> Vec<u8> {
        borsh::to_vec(self).unwrap_or_default()
    }

    /// From borsh bytes.
    pub fn decode(bytes: &[u8]) -> Result<ProposedBlock, ChainError> {
        borsh::from_slice(bytes).map_err(|_| ChainError::Malformed)
    }

    /// The block id: its header hash.
    pub fn hash(&self) -> H256 {
        self.signed_header.hash()
    }
}

/// A block executed on an overlay, not yet committed.
#[derive(Clone, Debug)]
pub struct PendingBlock {
    /// The block.
    pub block: ProposedBlock,
    /// Its hash.
    pub hash: H256,
}

/// The mock chain's errors, named like the runtime's.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The local key is not the proposer of this round.
    #[error("not the proposer")]
    NotProposer,
    /// A proposed block does not match re-execution.
    #[error("invalid block: {0}")]
    InvalidBlock(String),
    /// A certificate does not certify the block.
    #[error("bad certificate")]
    BadCertificate,
    /// Bytes that do not decode.
    #[error("malformed block")]
    Malformed,
}

/// An in-memory chain with the planned Chain pipeline.
pub struct MockChain {
    key: Keypair,
    set: valset::ValidatorSet,
    blocks: BTreeMap<u64, (ProposedBlock, finality::Certificate)>,
}

impl MockChain {
    /// A chain at genesis (height 0) certified by `set` forever.
    pub fn new(key: Keypair, set: valset::ValidatorSet) -> MockChain {
        MockChain {
            key,
            set,
            blocks: BTreeMap::new(),
        }
    }

    /// The last committed height (0 = genesis).
    pub fn latest_height(&self) -> u64 {
        self.blocks.keys().next_back().copied().unwrap_or(0)
    }

    /// The hash the next block builds on.
    pub fn latest_hash(&self) -> H256 {
        self.blocks
            .values()
            .next_back()
            .map(|(b, _)| b.hash())
            .unwrap_or_else(|| keccak(b"mock-genesis"))
    }

    fn latest_root(&self) -> H256 {
        self.blocks
            .values()
            .next_back()
            .map(|(b, _)| b.signed_header.state_root)
            .unwrap_or_default()
    }

    /// The set certifying `height`.
    pub fn validator_set(&self, _height: u64) -> Result<valset::ValidatorSet, ChainError> {
        Ok(self.set.clone())
    }

    /// The node's validator key.
    pub fn local_key(&self) -> &Keypair {
        &self.key
    }

    fn build(&self, txs: &[SignedTransaction], proposer: Address) -> ProposedBlock {
        let mut seed = self.latest_root().0.to_vec();
        seed.extend_from_slice(&borsh::to_vec(&txs.to_vec()).unwrap_or_default());
        ProposedBlock {
            signed_header: SignedHeader {
                parent_hash: self.latest_hash(),
                height: self.latest_height() + 1,
                proposer,
                state_root: keccak(&seed),
            },
            txs: txs.to_vec(),
        }
    }

    /// Builds the next block if the local key is the proposer of `round`.
    pub fn propose_block(
        &self,
        txs: &[SignedTransaction],
        round: u32,
    ) -> Result<PendingBlock, ChainError> {
        let proposer = self
            .set
            .proposer(&self.latest_hash(), round)
            .ok_or(ChainError::NotProposer)?;
        if proposer.address != self.key.address() {
            return Err(ChainError::NotProposer);
        }
        let block = self.build(txs, proposer.address);
        let hash = block.hash();
        Ok(PendingBlock { block, hash })
    }

    /// Re-builds `block` and compares every header field.
    pub fn check_proposal(&self, block: &ProposedBlock) -> Result<PendingBlock, ChainError> {
        let expected = self.build(&block.txs, block.signed_header.proposer);
        if expected != *block {
            return Err(ChainError::InvalidBlock("header mismatch".into()));
        }
        if self.set.get(&block.signed_header.proposer).is_none() {
            return Err(ChainError::InvalidBlock("proposer not in set".into()));
        }
        Ok(PendingBlock {
            hash: block.hash(),
            block: block.clone(),
        })
    }

    /// Commits a pending block under its certificate.
    pub fn commit_block(
        &mut self,
        pending: PendingBlock,
        certificate: finality::Certificate,
    ) -> Result<(), ChainError> {
        let height = pending.block.signed_header.height;
        if height != self.latest_height() + 1
            || certificate.block_hash != pending.hash
            || certificate.height != height
            || !certificate.verify(&self.set)
        {
            return Err(ChainError::BadCertificate);
        }
        self.blocks.insert(height, (pending.block, certificate));
        Ok(())
    }

    /// The certificate stored with `height`.
    pub fn certificate(&self, height: u64) -> Result<Option<finality::Certificate>, ChainError> {
        Ok(self.blocks.get(&height).map(|(_, c)| c.clone()))
    }

    /// The committed block at `height`.
    pub fn block(&self, height: u64) -> Result<Option<ProposedBlock>, ChainError> {
        Ok(self.blocks.get(&height).map(|(b, _)| b.clone()))
    }
}

impl super::ledger::Ledger for MockChain {
    type Error = ChainError;

    fn tip(&self) -> Result<(u64, H256), ChainError> {
        Ok((self.latest_height(), self.latest_hash()))
    }

    fn validator_set(&self, height: u64) -> Result<valset::ValidatorSet, ChainError> {
        MockChain::validator_set(self, height)
    }

    fn local_key(&self) -> Keypair {
        self.key.clone()
    }

    fn propose_block(
        &self,
        txs: &[SignedTransaction],
        round: u32,
    ) -> Result<PendingBlock, ChainError> {
        MockChain::propose_block(self, txs, round)
    }

    fn check_proposal(&self, block: &ProposedBlock) -> Result<PendingBlock, ChainError> {
        MockChain::check_proposal(self, block)
    }

    fn commit_block(
        &mut self,
        pending: PendingBlock,
        certificate: finality::Certificate,
    ) -> Result<(), ChainError> {
        MockChain::commit_block(self, pending, certificate)
    }

    fn decided(
        &self,
        height: u64,
    ) -> Result<Option<(ProposedBlock, finality::Certificate)>, ChainError> {
        Ok(self.blocks.get(&height).cloned())
    }

    fn history_min_height(&self) -> Result<u64, ChainError> {
        Ok(self.blocks.keys().next().copied().unwrap_or(0))
    }
}
