//! [`ChainvmContext`]: Malachite's `Context`, naming chainvm's types for every consensus
//! parameter and building votes and proposals from them.

use malachitebft_app_channel::app::types::core::{
    Context, LinearTimeouts, NilOrVal, Round, VoteType,
};

use super::signing::Ed25519Scheme;
use super::types::{
    BlockId, Height, Proposal, ProposalPart, Validator, ValidatorAddress, ValidatorSet, Vote,
};

/// The consensus context of a chainvm network. Stateless: everything height-specific (the set,
/// the parent hash that seeds the proposer draw) travels in [`ValidatorSet`].
#[derive(Clone, Copy, Debug, Default)]
pub struct ChainvmContext;

impl Context for ChainvmContext {
    type Address = ValidatorAddress;
    type Height = Height;
    type ProposalPart = ProposalPart;
    type Proposal = Proposal;
    type Validator = Validator;
    type ValidatorSet = ValidatorSet;
    type Timeouts = LinearTimeouts;
    type Value = BlockId;
    type Vote = Vote;
    type Extension = ();
    type SigningScheme = Ed25519Scheme;

    fn select_proposer<'a>(
        &self,
        validator_set: &'a ValidatorSet,
        _height: Height,
        round: Round,
    ) -> &'a Validator {
        validator_set.proposer(round)
    }

    fn new_proposal(
        &self,
        height: Height,
        round: Round,
        value: BlockId,
        pol_round: Round,
        address: ValidatorAddress,
    ) -> Proposal {
        Proposal {
            height,
            round,
            block: value,
            pol_round,
            proposer: address,
        }
    }

    fn new_prevote(
        &self,
        height: Height,
        round: Round,
        value_id: NilOrVal<BlockId>,
        address: ValidatorAddress,
    ) -> Vote {
        Vote {
            kind: VoteType::Prevote,
            height,
            round,
            block: value_id,
            validator: address,
        }
    }

    fn new_precommit(
        &self,
        height: Height,
        round: Round,
        value_id: NilOrVal<BlockId>,
        address: ValidatorAddress,
    ) -> Vote {
        Vote {
            kind: VoteType::Precommit,
            height,
            round,
            block: value_id,
            validator: address,
        }
    }
}
