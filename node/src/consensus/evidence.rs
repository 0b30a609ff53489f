//! Vote equivocations the engine observed, as plain records: Malachite 0.8.2 hands them to the
//! application in `AppMsg::Finalized { evidence }` (pairs of conflicting signed votes per
//! validator, at most 3 per validator and height); the node keeps them for slashing reports.

use std::sync::{Arc, Mutex};

use malachitebft_app_channel::app::types::MisbehaviorEvidence;
use malachitebft_app_channel::app::types::core::{NilOrVal, SignedVote, VoteType};

use super::context::ChainvmContext;
use super::rt::finality::VoteKind;
use super::types::Height;
use chainvm_runtime::{Address, H256};

/// One signed vote of an equivocation: what it was for and its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EquivocatingVote {
    /// The block voted for (`None` = nil).
    pub block: Option<H256>,
    /// The signature over the runtime's `vote_signing_bytes`.
    pub signature: [u8; 64],
}

/// Two conflicting votes by one validator for the same height, round and kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoteEquivocation {
    /// The validator that signed both.
    pub validator: Address,
    /// The height of both votes.
    pub height: u64,
    /// Their round.
    pub round: u32,
    /// Prevote or precommit.
    pub kind: VoteKind,
    /// The two votes.
    pub votes: [EquivocatingVote; 2],
}

/// The equivocations a node has seen, in the order heights finalized.
pub type EvidenceLog = Arc<Mutex<Vec<VoteEquivocation>>>;

fn vote(v: &SignedVote<ChainvmContext>) -> EquivocatingVote {
    EquivocatingVote {
        block: match &v.message.block {
            NilOrVal::Nil => None,
            NilOrVal::Val(id) => Some(id.0),
        },
        signature: v.signature.0,
    }
}

/// Appends the vote equivocations of a finalized height.
pub fn record(log: &EvidenceLog, _height: Height, evidence: &MisbehaviorEvidence<ChainvmContext>) {
    let Ok(mut log) = log.lock() else {
        return;
    };
    for (address, pairs) in evidence.votes.iter() {
        for (a, b) in pairs {
            let Some(round) = a.message.round.as_u32() else {
                continue;
            };
            log.push(VoteEquivocation {
                validator: address.0,
                height: a.message.height.0,
                round,
                kind: match a.message.kind {
                    VoteType::Prevote => VoteKind::Prevote,
                    VoteType::Precommit => VoteKind::Precommit,
                },
                votes: [vote(a), vote(b)],
            });
        }
    }
}
