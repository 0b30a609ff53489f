//! Vote equivocations the engine observed, as plain records: Malachite 0.8.2 hands them to the
//! application in `AppMsg::Finalized { evidence }` (pairs of conflicting signed votes per
//! validator, at most 3 per validator and height); the node keeps them, and hands the new ones
//! to its [`super::TxSource`] so it can report them in a transaction
//! ([`VoteEquivocation::double_vote`], the runtime's `ReportDoubleVote` evidence).

use std::sync::{Arc, Mutex};

use malachitebft_app_channel::app::types::MisbehaviorEvidence;
use malachitebft_app_channel::app::types::core::{NilOrVal, SignedVote, VoteType};

use super::context::ChainvmContext;
use super::rt::finality::{DoubleVote, SignedVote as RuntimeVote, VoteKind};
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

impl VoteEquivocation {
    /// The runtime's evidence of it: both votes field for field (they were signed over the
    /// runtime's vote bytes, so the chain verifies them as they are).
    pub fn double_vote(&self) -> DoubleVote {
        let signed = |v: &EquivocatingVote| RuntimeVote {
            kind: self.kind,
            height: self.height,
            round: self.round,
            block: v.block,
            validator: self.validator,
            signature: v.signature,
        };
        DoubleVote {
            a: signed(&self.votes[0]),
            b: signed(&self.votes[1]),
        }
    }
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

/// Appends the vote equivocations of a finalized height to `log`; returns them.
pub fn record(
    log: &EvidenceLog,
    _height: Height,
    evidence: &MisbehaviorEvidence<ChainvmContext>,
) -> Vec<VoteEquivocation> {
    let mut found = Vec::new();
    for (address, pairs) in evidence.votes.iter() {
        for (a, b) in pairs {
            let Some(round) = a.message.round.as_u32() else {
                continue;
            };
            found.push(VoteEquivocation {
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
    if let Ok(mut log) = log.lock() {
        log.extend(found.iter().cloned());
    }
    found
}

#[cfg(test)]
mod tests {
    use super::super::signing::{Ed25519Signer, conflicting};
    use super::super::types::{BlockId, ValidatorAddress, Vote};
    use super::*;
    use chainvm_runtime::Keypair;
    use chainvm_runtime::failure::EvidenceFault;
    use chainvm_runtime::types::keccak;
    use malachitebft_app_channel::app::types::core::Round;

    #[test]
    fn a_pair_of_engine_votes_is_evidence_the_runtime_accepts() {
        let key = Keypair::derive("evidence", 0);
        let signer = Ed25519Signer::new(key.clone());
        let real = Vote {
            kind: VoteType::Precommit,
            height: Height(9),
            round: Round::new(2),
            block: NilOrVal::Val(BlockId(keccak(b"block"))),
            validator: ValidatorAddress(key.address()),
        };
        let nil = Vote {
            block: NilOrVal::Nil,
            ..real.clone()
        };
        let pair = |other: Vote| VoteEquivocation {
            validator: key.address(),
            height: 9,
            round: 2,
            kind: VoteKind::Precommit,
            votes: [
                vote(&signer.sign_vote_now(real.clone()).unwrap()),
                vote(&signer.sign_vote_now(other).unwrap()),
            ],
        };
        for other in [conflicting(&real), nil] {
            let evidence = pair(other).double_vote();
            assert_eq!(evidence.check(&key.public()), Ok(()));
            assert_eq!((evidence.offender(), evidence.height()), (key.address(), 9));
            assert_eq!(
                evidence.check(&Keypair::derive("evidence", 1).public()),
                Err(EvidenceFault::BadSignature)
            );
        }
        // The same vote twice is no evidence.
        assert_eq!(
            pair(real.clone()).double_vote().check(&key.public()),
            Err(EvidenceFault::SameHeader)
        );
    }
}
