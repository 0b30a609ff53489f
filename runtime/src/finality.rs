//! Finality: votes' signing bytes and commit certificates.
//!
//! A block is final when validators holding more than two thirds of its height's voting power
//! ([`crate::valset`]) have signed a precommit for its hash. The [`Certificate`] of those
//! signatures is stored with the block; verification and light clients check it against the
//! set the state records for that height. The bytes a vote signs are defined here, once, so
//! the consensus engine's signer (in the node) and every verifier agree. A single-validator
//! chain certifies its own blocks with its one precommit: one block format for one validator
//! and many. Two conflicting votes by one validator in one round are [`DoubleVote`] evidence,
//! which slashes it like a header double sign.

use crate::crypto::{self, Keypair};
use crate::failure::EvidenceFault;
use crate::types::{Address, H256, codec};
use crate::valset::ValidatorSet;
use borsh::{BorshDeserialize, BorshSerialize};
use serde::Serialize;

const VOTE_DOMAIN: &[u8] = b"chainvm-vote-v1";

/// The two votes of a Tendermint round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub enum VoteKind {
    /// First-stage vote.
    Prevote,
    /// Second-stage vote; more than 2/3 of them for one block make it final.
    Precommit,
}

/// What a validator signs to vote `kind` for `block` (`None`: nil) at `height` and `round`.
pub fn vote_signing_bytes(
    kind: VoteKind,
    height: u64,
    round: u32,
    block: Option<&H256>,
    validator: &Address,
) -> Vec<u8> {
    let mut m = VOTE_DOMAIN.to_vec();
    let body = (kind, height, round, block.map(|h| h.0), validator.0);
    m.extend_from_slice(&borsh::to_vec(&body).unwrap_or_default());
    m
}

/// A validator's vote with its signature, as vote evidence carries it.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedVote {
    /// Prevote or precommit.
    pub kind: VoteKind,
    /// The height voted on.
    pub height: u64,
    /// The round voted in.
    pub round: u32,
    /// The block voted for (`None`: nil).
    #[borsh(
        serialize_with = "codec::opt_h256::serialize",
        deserialize_with = "codec::opt_h256::deserialize"
    )]
    pub block: Option<H256>,
    /// The voter.
    #[borsh(
        serialize_with = "codec::h160::serialize",
        deserialize_with = "codec::h160::deserialize"
    )]
    pub validator: Address,
    /// Its ed25519 signature over [`vote_signing_bytes`].
    pub signature: [u8; 64],
}

impl SignedVote {
    /// `key`'s vote `kind` for `block` at `height` and `round`.
    pub fn sign(
        kind: VoteKind,
        height: u64,
        round: u32,
        block: Option<H256>,
        key: &Keypair,
    ) -> SignedVote {
        let validator = key.address();
        let signature = key.sign(&vote_signing_bytes(
            kind,
            height,
            round,
            block.as_ref(),
            &validator,
        ));
        SignedVote {
            kind,
            height,
            round,
            block,
            validator,
            signature,
        }
    }

    /// Whether the signature is valid (strictly) for `public_key`.
    pub fn verify(&self, public_key: &[u8; 32]) -> bool {
        let message = vote_signing_bytes(
            self.kind,
            self.height,
            self.round,
            self.block.as_ref(),
            &self.validator,
        );
        crypto::verify(public_key, &message, &self.signature)
    }
}

/// Two votes by one validator of the same kind, height and round for different blocks (nil
/// counts as a block): the vote form of a double sign.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct DoubleVote {
    /// One vote.
    pub a: SignedVote,
    /// The conflicting one.
    pub b: SignedVote,
}

impl DoubleVote {
    /// The validator accused.
    pub fn offender(&self) -> Address {
        self.a.validator
    }

    /// The height of the offence (the slashing marker's height).
    pub fn height(&self) -> u64 {
        self.a.height
    }

    /// Checks the evidence against the offender's key: same validator, height, round and
    /// kind, different blocks, both signatures valid.
    pub fn check(&self, public_key: &[u8; 32]) -> Result<(), EvidenceFault> {
        let (a, b) = (&self.a, &self.b);
        if a.validator != b.validator {
            return Err(EvidenceFault::ProposersDiffer);
        }
        if a.height != b.height {
            return Err(EvidenceFault::HeightsDiffer);
        }
        if a.round != b.round {
            return Err(EvidenceFault::RoundsDiffer);
        }
        if a.kind != b.kind {
            return Err(EvidenceFault::KindsDiffer);
        }
        if a.block == b.block {
            return Err(EvidenceFault::SameHeader);
        }
        if !a.verify(public_key) || !b.verify(public_key) {
            return Err(EvidenceFault::BadSignature);
        }
        Ok(())
    }
}

/// One validator's precommit signature in a certificate.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct CommitSignature {
    /// The validator.
    #[borsh(
        serialize_with = "codec::h160::serialize",
        deserialize_with = "codec::h160::deserialize"
    )]
    pub validator: Address,
    /// Its ed25519 signature over the precommit's [`vote_signing_bytes`].
    #[serde(with = "serde_sig")]
    pub signature: [u8; 64],
}

mod serde_sig {
    pub fn serialize<S: serde::Serializer>(sig: &[u8; 64], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::types::hex(sig))
    }
}

/// Precommits for one block from validators holding more than 2/3 of its height's power.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Certificate {
    /// The block's height.
    pub height: u64,
    /// The round the block was decided in.
    pub round: u32,
    /// The block's hash.
    #[borsh(
        serialize_with = "codec::h256::serialize",
        deserialize_with = "codec::h256::deserialize"
    )]
    pub block_hash: H256,
    /// The precommit signatures, one per validator.
    pub signatures: Vec<CommitSignature>,
}

/// Why a certificate does not prove a block final.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// It certifies another block.
    #[error("certifies block {found:?} at height {found_height}, not {expected:?} at {height}")]
    WrongBlock {
        /// The block checked.
        expected: H256,
        /// Its height.
        height: u64,
        /// The certificate's block.
        found: H256,
        /// The certificate's height.
        found_height: u64,
    },
    /// A signer is not in the height's validator set.
    #[error("signer {0:?} is not in the validator set of this height")]
    UnknownValidator(Address),
    /// A validator signed twice.
    #[error("validator {0:?} appears twice")]
    Duplicate(Address),
    /// A signature does not verify.
    #[error("bad precommit signature from {0:?}")]
    BadSignature(Address),
    /// The signers hold two thirds of the power or less.
    #[error("signers hold {signed} of {total} voting power, not more than 2/3")]
    NoQuorum {
        /// Power of the valid signers.
        signed: u64,
        /// The set's total power.
        total: u64,
    },
    /// The stored certificate does not decode.
    #[error("undecodable certificate")]
    Undecodable,
}

impl Certificate {
    /// A certificate of `block_hash` at `height` and `round` signed by `signers` (a
    /// single-validator chain certifies its own blocks with this).
    pub fn sign(height: u64, round: u32, block_hash: H256, signers: &[&Keypair]) -> Certificate {
        let signatures = signers
            .iter()
            .map(|k| CommitSignature {
                validator: k.address(),
                signature: k.sign(&vote_signing_bytes(
                    VoteKind::Precommit,
                    height,
                    round,
                    Some(&block_hash),
                    &k.address(),
                )),
            })
            .collect();
        Certificate {
            height,
            round,
            block_hash,
            signatures,
        }
    }

    /// Checks that this certifies `block_hash` at `height` for `set`: every signer is a member
    /// and signed once, every signature verifies (strictly), and the signers hold more than
    /// 2/3 of the power. Returns the signers' power.
    pub fn verify(
        &self,
        set: &ValidatorSet,
        height: u64,
        block_hash: &H256,
    ) -> Result<u64, CertificateError> {
        if self.height != height || self.block_hash != *block_hash {
            return Err(CertificateError::WrongBlock {
                expected: *block_hash,
                height,
                found: self.block_hash,
                found_height: self.height,
            });
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut signed: u64 = 0;
        for s in &self.signatures {
            let member = set
                .get(&s.validator)
                .ok_or(CertificateError::UnknownValidator(s.validator))?;
            if !seen.insert(s.validator) {
                return Err(CertificateError::Duplicate(s.validator));
            }
            let message = vote_signing_bytes(
                VoteKind::Precommit,
                self.height,
                self.round,
                Some(&self.block_hash),
                &s.validator,
            );
            if !crypto::verify(&member.public_key, &message, &s.signature) {
                return Err(CertificateError::BadSignature(s.validator));
            }
            signed += member.power;
        }
        if !set.is_quorum(signed) {
            return Err(CertificateError::NoQuorum {
                signed,
                total: set.total_power(),
            });
        }
        Ok(signed)
    }

    /// Canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        borsh::to_vec(self).unwrap_or_default()
    }

    /// Strict decoding.
    pub fn decode(bytes: &[u8]) -> Result<Certificate, CertificateError> {
        borsh::from_slice(bytes).map_err(|_| CertificateError::Undecodable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::valset::SetMember;

    fn set_of(keys: &[Keypair], powers: &[u64]) -> ValidatorSet {
        ValidatorSet::new(keys.iter().zip(powers).map(|(k, p)| SetMember {
            address: k.address(),
            public_key: k.public(),
            power: *p,
        }))
    }

    #[test]
    fn certificates_need_more_than_two_thirds_of_valid_signatures() {
        let keys: Vec<Keypair> = (0..4).map(|i| Keypair::derive("cert", i)).collect();
        let set = set_of(&keys, &[40, 30, 20, 10]);
        let hash = crate::types::keccak(b"block");
        let ok = Certificate::sign(5, 1, hash, &[&keys[0], &keys[1]]);
        assert_eq!(ok.verify(&set, 5, &hash), Ok(70));
        let also = Certificate::sign(5, 1, hash, &[&keys[0], &keys[2], &keys[3]]);
        assert_eq!(also.verify(&set, 5, &hash), Ok(70));
        assert!(matches!(
            Certificate::sign(5, 1, hash, &[&keys[1], &keys[2], &keys[3]]).verify(&set, 5, &hash),
            Err(CertificateError::NoQuorum {
                signed: 60,
                total: 100
            })
        ));
        // Another block, another height, a stranger, a duplicate, a forged signature.
        let other = crate::types::keccak(b"other");
        assert!(matches!(
            ok.verify(&set, 5, &other),
            Err(CertificateError::WrongBlock { .. })
        ));
        assert!(matches!(
            ok.verify(&set, 6, &hash),
            Err(CertificateError::WrongBlock { .. })
        ));
        let stranger = Keypair::derive("stranger", 0);
        assert!(matches!(
            Certificate::sign(5, 1, hash, &[&keys[0], &keys[1], &stranger]).verify(&set, 5, &hash),
            Err(CertificateError::UnknownValidator(_))
        ));
        let mut dup = ok.clone();
        dup.signatures.push(dup.signatures[0].clone());
        assert!(matches!(
            dup.verify(&set, 5, &hash),
            Err(CertificateError::Duplicate(_))
        ));
        let mut forged = ok.clone();
        forged.round = 2;
        assert!(matches!(
            forged.verify(&set, 5, &hash),
            Err(CertificateError::BadSignature(_))
        ));
        assert_eq!(Certificate::decode(&ok.encode()), Ok(ok));
    }
}
