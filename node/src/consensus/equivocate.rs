//! TEST ONLY: the equivocation switch (`ConsensusOptions::equivocate`). The node's signer is
//! wrapped so that its votes double-sign at the chosen heights:
//!
//! - next to each own vote at such a height, a conflicting one (another block) is gossiped;
//! - while the node votes at the height before one, it also gossips two made-up prevotes for
//!   round 0 of that height, for two different blocks. Peers still at the lower height keep
//!   them for later and replay them when they enter the height, so every peer holds the
//!   equivocation before it can decide there, however slow the offender is at that height.
//!
//! Never used on a real validator: it gets slashed.

use std::ops::RangeInclusive;

use async_trait::async_trait;
use malachitebft_app_channel::app::consensus::SignedConsensusMsg;
use malachitebft_app_channel::app::engine::network::Msg as NetworkActorMsg;
use malachitebft_app_channel::app::engine::network::NetworkRef;
use malachitebft_app_channel::app::types::core::{
    NilOrVal, Round, SignedMessage, ValidatorProof, VoteExtensionScope, VoteType,
};
use malachitebft_signing::{Error as SigningError, Signer};

use super::context::ChainvmContext;
use super::signing::{Ed25519Signer, conflicting};
use super::types::{BlockId, Height, Proposal, Vote};
use chainvm_runtime::types::keccak;

type Ctx = ChainvmContext;

/// A signer that double-signs the node's votes at `heights`.
pub struct EquivocatingSigner {
    inner: Ed25519Signer,
    network: NetworkRef<Ctx>,
    heights: RangeInclusive<u64>,
}

impl EquivocatingSigner {
    /// Wraps `inner`, publishing the conflicting votes through `network`.
    pub fn new(
        inner: Ed25519Signer,
        network: NetworkRef<Ctx>,
        heights: RangeInclusive<u64>,
    ) -> EquivocatingSigner {
        EquivocatingSigner {
            inner,
            network,
            heights,
        }
    }

    /// Signs `vote` and gossips it (a stopped network publishes nothing).
    fn publish(&self, vote: Vote) {
        if let Ok(signed) = self.inner.sign_vote_now(vote) {
            let msg = NetworkActorMsg::PublishConsensusMsg(SignedConsensusMsg::Vote(signed));
            let _ = self.network.cast(msg);
        }
    }

    /// Two prevotes of this node for round 0 of `height`, for two made-up blocks.
    fn made_up_pair(&self, height: u64) -> [Vote; 2] {
        [0u8, 1].map(|i| {
            let mut seed = b"chainvm-equivocation".to_vec();
            seed.extend_from_slice(&height.to_be_bytes());
            seed.push(i);
            Vote {
                kind: VoteType::Prevote,
                height: Height(height),
                round: Round::new(0),
                block: NilOrVal::Val(BlockId(keccak(&seed))),
                validator: self.inner.address(),
            }
        })
    }
}

#[async_trait]
impl Signer<Ctx> for EquivocatingSigner {
    async fn sign_vote(&self, vote: Vote) -> Result<SignedMessage<Ctx, Vote>, SigningError> {
        if vote.validator == self.inner.address() {
            let height = vote.height.0;
            if self.heights.contains(&height) {
                self.publish(conflicting(&vote));
            }
            if self.heights.contains(&height.saturating_add(1)) {
                for v in self.made_up_pair(height + 1) {
                    self.publish(v);
                }
            }
        }
        self.inner.sign_vote(vote).await
    }

    async fn sign_proposal(
        &self,
        proposal: Proposal,
    ) -> Result<SignedMessage<Ctx, Proposal>, SigningError> {
        self.inner.sign_proposal(proposal).await
    }

    async fn sign_vote_extension(
        &self,
        scope: VoteExtensionScope<Ctx>,
        extension: (),
    ) -> Result<SignedMessage<Ctx, ()>, SigningError> {
        self.inner.sign_vote_extension(scope, extension).await
    }

    async fn sign_validator_proof(
        &self,
        public_key: Vec<u8>,
        peer_id: Vec<u8>,
    ) -> Result<ValidatorProof<Ctx>, SigningError> {
        self.inner.sign_validator_proof(public_key, peer_id).await
    }
}
