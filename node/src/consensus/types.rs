//! chainvm's values for Malachite's type parameters: heights, validator addresses and keys,
//! the validator set of a height, the consensus value (a block id), votes, proposals and
//! proposal parts. Each wraps a runtime type; none carries logic beyond the trait contract.

use std::fmt;

use bytes::Bytes;
use malachitebft_app_channel::app::types::core::{
    self as mc, NilOrVal, Round, SignedExtension, VoteType,
};

use super::context::ChainvmContext;
use super::rt::valset;
use chainvm_runtime::types::hex;
use chainvm_runtime::{Address, H256};

/// A block height; 0 is genesis, consensus starts at 1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Height(pub u64);

impl fmt::Display for Height {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl mc::Height for Height {
    const ZERO: Self = Height(0);
    const INITIAL: Self = Height(1);

    fn increment_by(&self, n: u64) -> Self {
        Height(self.0.saturating_add(n))
    }

    fn decrement_by(&self, n: u64) -> Option<Self> {
        self.0.checked_sub(n).map(Height)
    }

    fn as_u64(&self) -> u64 {
        self.0
    }
}

/// A validator's address: the runtime's (last 20 bytes of keccak of the ed25519 key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ValidatorAddress(pub Address);

impl fmt::Display for ValidatorAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(self.0.as_bytes()))
    }
}

impl mc::Address for ValidatorAddress {}

/// An ed25519 public key (32 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublicKey(pub [u8; 32]);

/// An ed25519 signature (64 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Signature(pub [u8; 64]);

/// The consensus value: the id (header hash) of a proposed block. The block itself travels as
/// proposal parts and lives in the application's store; consensus only orders ids, so signed
/// proposals and the WAL stay small.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlockId(pub H256);

impl fmt::Display for BlockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(self.0.as_bytes()))
    }
}

impl mc::Value for BlockId {
    type Id = BlockId;

    fn id(&self) -> BlockId {
        *self
    }
}

/// One member of a height's validator set, as Malachite sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validator {
    /// Its address.
    pub address: ValidatorAddress,
    /// Its consensus key.
    pub public_key: PublicKey,
    /// Its voting power (bonded stake).
    pub power: u64,
}

impl mc::Validator<ChainvmContext> for Validator {
    fn address(&self) -> &ValidatorAddress {
        &self.address
    }

    fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    fn voting_power(&self) -> mc::VotingPower {
        self.power
    }
}

/// Why a runtime validator set cannot be handed to consensus.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetError {
    /// No member: nobody could propose or vote.
    #[error("the validator set is empty")]
    Empty,
    /// A member with no power (the runtime never produces one).
    #[error("validator {0} has zero power")]
    ZeroPower(ValidatorAddress),
    /// Members out of address order or repeated (the runtime sorts them).
    #[error("validators are not sorted by address without repeats")]
    Unsorted,
    /// The total power does not fit in a u64.
    #[error("total voting power overflows")]
    Overflow,
}

/// The validator set certifying one height, together with the hash of the block it builds on:
/// the proposer of a round is the runtime's stake-weighted draw from that parent hash, so the
/// set must carry it for Malachite's `Context::select_proposer` (which sees only height and round).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatorSet {
    members: Vec<Validator>,
    total: u64,
    parent_hash: H256,
    runtime: valset::ValidatorSet,
}

impl ValidatorSet {
    /// Wraps the runtime's set for the height whose parent block is `parent_hash`.
    pub fn new(set: valset::ValidatorSet, parent_hash: H256) -> Result<ValidatorSet, SetError> {
        if set.members.is_empty() {
            return Err(SetError::Empty);
        }
        let mut total: u64 = 0;
        let mut members = Vec::with_capacity(set.members.len());
        for (i, m) in set.members.iter().enumerate() {
            let address = ValidatorAddress(m.address);
            if m.power == 0 {
                return Err(SetError::ZeroPower(address));
            }
            if i > 0 && set.members[i - 1].address >= m.address {
                return Err(SetError::Unsorted);
            }
            total = total.checked_add(m.power).ok_or(SetError::Overflow)?;
            members.push(Validator {
                address,
                public_key: PublicKey(m.public_key),
                power: m.power,
            });
        }
        Ok(ValidatorSet {
            members,
            total,
            parent_hash,
            runtime: set,
        })
    }

    /// The hash of the block this height builds on.
    pub fn parent_hash(&self) -> H256 {
        self.parent_hash
    }

    /// The runtime's set (for certificates).
    pub fn runtime(&self) -> &valset::ValidatorSet {
        &self.runtime
    }

    /// The members, sorted by address.
    pub fn members(&self) -> &[Validator] {
        &self.members
    }

    /// The proposer of `round`: the runtime's draw. Never fails: the set is not empty, and a
    /// round Malachite leaves undefined (never the case for a proposal) counts as round 0.
    pub fn proposer(&self, round: Round) -> &Validator {
        let round = round.as_u32().unwrap_or(0);
        let chosen = self
            .runtime
            .proposer(&self.parent_hash, round)
            .and_then(|m| self.get(&ValidatorAddress(m.address)));
        // `members` is not empty (checked in `new`), so the fallback exists.
        chosen.unwrap_or(&self.members[0])
    }

    /// The member with this address.
    pub fn get(&self, address: &ValidatorAddress) -> Option<&Validator> {
        self.members
            .binary_search_by(|m| m.address.cmp(address))
            .ok()
            .map(|i| &self.members[i])
    }
}

impl mc::ValidatorSet<ChainvmContext> for ValidatorSet {
    fn count(&self) -> usize {
        self.members.len()
    }

    fn total_voting_power(&self) -> mc::VotingPower {
        self.total
    }

    fn get_by_address(&self, address: &ValidatorAddress) -> Option<&Validator> {
        self.get(address)
    }

    fn get_by_index(&self, index: usize) -> Option<&Validator> {
        self.members.get(index)
    }
}

/// A prevote or precommit. Vote extensions are not used by chainvm: none is ever attached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vote {
    /// Prevote or precommit.
    pub kind: VoteType,
    /// The height voted on.
    pub height: Height,
    /// The round voted in.
    pub round: Round,
    /// The block voted for, or nil.
    pub block: NilOrVal<BlockId>,
    /// The voter.
    pub validator: ValidatorAddress,
}

impl mc::Vote<ChainvmContext> for Vote {
    fn height(&self) -> Height {
        self.height
    }

    fn round(&self) -> Round {
        self.round
    }

    fn value(&self) -> &NilOrVal<BlockId> {
        &self.block
    }

    fn take_value(self) -> NilOrVal<BlockId> {
        self.block
    }

    fn vote_type(&self) -> VoteType {
        self.kind
    }

    fn validator_address(&self) -> &ValidatorAddress {
        &self.validator
    }

    fn extension(&self) -> Option<&SignedExtension<ChainvmContext>> {
        None
    }

    fn take_extension(&mut self) -> Option<SignedExtension<ChainvmContext>> {
        None
    }

    fn extend(self, _extension: SignedExtension<ChainvmContext>) -> Self {
        // Extensions are disabled (VoteExtensionPolicy::Disabled): nothing to attach.
        self
    }
}

/// A signed proposal's content: which block the proposer proposes at (height, round).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    /// The height.
    pub height: Height,
    /// The round.
    pub round: Round,
    /// The proposed block's id.
    pub block: BlockId,
    /// The round of the polka this re-proposal relies on, or nil for a new block.
    pub pol_round: Round,
    /// The proposer.
    pub proposer: ValidatorAddress,
}

impl mc::Proposal<ChainvmContext> for Proposal {
    fn height(&self) -> Height {
        self.height
    }

    fn round(&self) -> Round {
        self.round
    }

    fn value(&self) -> &BlockId {
        &self.block
    }

    fn take_value(self) -> BlockId {
        self.block
    }

    fn pol_round(&self) -> Round {
        self.pol_round
    }

    fn validator_address(&self) -> &ValidatorAddress {
        &self.proposer
    }
}

/// The first part of a streamed block: who streams which block at (height, round).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartInit {
    /// The height.
    pub height: Height,
    /// The round the block was proposed in.
    pub round: Round,
    /// The polka round of a re-proposal, or nil.
    pub pol_round: Round,
    /// The proposer.
    pub proposer: ValidatorAddress,
}

/// One piece of a streamed block: a proposer's `Init`, data chunks of the borsh block, and a
/// `Fin` with the proposer's signature over all of it ([`super::signing::parts_signing_bytes`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProposalPart {
    /// Who proposes what, where.
    Init(PartInit),
    /// A chunk of the encoded block.
    Data(Bytes),
    /// The proposer's signature over Init and every chunk.
    Fin(Signature),
}

impl mc::ProposalPart<ChainvmContext> for ProposalPart {
    fn is_first(&self) -> bool {
        matches!(self, ProposalPart::Init(_))
    }

    fn is_last(&self) -> bool {
        matches!(self, ProposalPart::Fin(_))
    }
}
