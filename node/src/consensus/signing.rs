//! ed25519 signing for consensus: the signing scheme type, the bytes signed for each message
//! (votes use the runtime's `vote_signing_bytes`, so a commit certificate Malachite assembles is
//! one the runtime can verify), and the `Signer`/`Verifier` Malachite calls.

use async_trait::async_trait;
use borsh::BorshSerialize;
use malachitebft_app_channel::app::types::core::{
    NilOrVal, Round, SignedMessage, SigningScheme, ValidatorProof, VoteExtensionScope, VoteType,
};
use malachitebft_signing::{Error as SigningError, Signer, VerificationResult, Verifier};

use super::context::ChainvmContext;
use super::rt::finality::{VoteKind, vote_signing_bytes};
use super::types::{BlockId, Height, Proposal, PublicKey, Signature, ValidatorAddress, Vote};
use chainvm_runtime::Keypair;
use chainvm_runtime::crypto::verify;

/// Domain of a signed proposal.
const PROPOSAL_DOMAIN: &[u8] = b"chainvm-proposal-v1";
/// Domain of the proposer's signature over a streamed block.
const PARTS_DOMAIN: &[u8] = b"chainvm-parts-v1";
/// Domain of a vote extension (extensions are disabled; the trait still needs the bytes).
const EXTENSION_DOMAIN: &[u8] = b"chainvm-vote-ext-v1";
/// Domain of the proof binding a network peer id to a consensus key.
const PROOF_DOMAIN: &[u8] = b"chainvm-validator-proof-v1";

/// Why a key or signature does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyDecodeError {
    /// Not 64 bytes.
    #[error("a signature is 64 bytes, got {0}")]
    SignatureLength(usize),
    /// Not 32 bytes.
    #[error("a public key is 32 bytes, got {0}")]
    PublicKeyLength(usize),
}

/// Why a message cannot be signed or its signature checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignBytesError {
    /// Votes and proposals always have a defined round; Malachite never builds one without.
    #[error("a {0} needs a defined round")]
    NilRound(&'static str),
}

/// ed25519 as Malachite's signing scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ed25519Scheme;

impl SigningScheme for Ed25519Scheme {
    type DecodingError = KeyDecodeError;
    type Signature = Signature;
    type PublicKey = PublicKey;
    type PrivateKey = [u8; 32];

    fn decode_signature(bytes: &[u8]) -> Result<Signature, KeyDecodeError> {
        <[u8; 64]>::try_from(bytes)
            .map(Signature)
            .map_err(|_| KeyDecodeError::SignatureLength(bytes.len()))
    }

    fn encode_signature(signature: &Signature) -> Vec<u8> {
        signature.0.to_vec()
    }

    fn decode_public_key(bytes: &[u8]) -> Result<PublicKey, KeyDecodeError> {
        <[u8; 32]>::try_from(bytes)
            .map(PublicKey)
            .map_err(|_| KeyDecodeError::PublicKeyLength(bytes.len()))
    }

    fn encode_public_key(public_key: &PublicKey) -> Vec<u8> {
        public_key.0.to_vec()
    }
}

fn defined(round: Round, what: &'static str) -> Result<u32, SignBytesError> {
    round.as_u32().ok_or(SignBytesError::NilRound(what))
}

fn with_domain(domain: &[u8], body: impl BorshSerialize) -> Vec<u8> {
    let mut out = domain.to_vec();
    // Writing borsh into a Vec cannot fail.
    let _ = body.serialize(&mut out);
    out
}

/// The bytes a validator signs for a vote: the runtime's `vote_signing_bytes`, the same bytes a
/// stored commit certificate is checked against.
pub fn vote_bytes(vote: &Vote) -> Result<Vec<u8>, SignBytesError> {
    let kind = match vote.kind {
        VoteType::Prevote => VoteKind::Prevote,
        VoteType::Precommit => VoteKind::Precommit,
    };
    let block = match &vote.block {
        NilOrVal::Nil => None,
        NilOrVal::Val(id) => Some(&id.0),
    };
    let round = defined(vote.round, "vote")?;
    Ok(vote_signing_bytes(
        kind,
        vote.height.0,
        round,
        block,
        &vote.validator.0,
    ))
}

/// The bytes a proposer signs for a proposal.
pub fn proposal_bytes(p: &Proposal) -> Result<Vec<u8>, SignBytesError> {
    let round = defined(p.round, "proposal")?;
    Ok(with_domain(
        PROPOSAL_DOMAIN,
        (
            p.height.0,
            round,
            p.block.0.0,
            p.pol_round.as_i64(),
            p.proposer.0.0,
        ),
    ))
}

/// The bytes a proposer signs in a stream's `Fin`: the `Init` fields and the keccak of the
/// concatenated data chunks (the encoded block).
pub fn parts_signing_bytes(
    height: Height,
    round: Round,
    pol_round: Round,
    proposer: &ValidatorAddress,
    data_hash: &chainvm_runtime::H256,
) -> Result<Vec<u8>, SignBytesError> {
    let round = defined(round, "proposal stream")?;
    Ok(with_domain(
        PARTS_DOMAIN,
        (
            height.0,
            round,
            pol_round.as_i64(),
            proposer.0.0,
            data_hash.0,
        ),
    ))
}

fn extension_bytes(scope: &VoteExtensionScope<ChainvmContext>) -> Vec<u8> {
    with_domain(
        EXTENSION_DOMAIN,
        (
            scope.height.0,
            scope.round.as_i64(),
            scope.value_id.0.0,
            scope.validator_address.0.0,
        ),
    )
}

fn proof_bytes(public_key: &[u8], peer_id: &[u8]) -> Vec<u8> {
    let mut out = PROOF_DOMAIN.to_vec();
    out.extend_from_slice(&ValidatorProof::<ChainvmContext>::signing_bytes(
        public_key, peer_id,
    ));
    out
}

/// Signs consensus messages with the node's validator key.
#[derive(Clone)]
pub struct Ed25519Signer {
    key: Keypair,
}

impl Ed25519Signer {
    /// A signer over this key.
    pub fn new(key: Keypair) -> Ed25519Signer {
        Ed25519Signer { key }
    }

    /// The signer's validator address.
    pub fn address(&self) -> ValidatorAddress {
        ValidatorAddress(self.key.address())
    }

    /// The signer's public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.key.public())
    }

    /// Signs raw bytes (proposal streams).
    pub fn sign_bytes(&self, bytes: &[u8]) -> Signature {
        Signature(self.key.sign(bytes))
    }

    /// Signs a vote now (also used by the equivocation test switch).
    pub fn sign_vote_now(
        &self,
        vote: Vote,
    ) -> Result<SignedMessage<ChainvmContext, Vote>, SignBytesError> {
        let bytes = vote_bytes(&vote)?;
        Ok(SignedMessage::new(vote, self.sign_bytes(&bytes)))
    }
}

#[async_trait]
impl Signer<ChainvmContext> for Ed25519Signer {
    async fn sign_vote(
        &self,
        vote: Vote,
    ) -> Result<SignedMessage<ChainvmContext, Vote>, SigningError> {
        self.sign_vote_now(vote).map_err(SigningError::from_source)
    }

    async fn sign_proposal(
        &self,
        proposal: Proposal,
    ) -> Result<SignedMessage<ChainvmContext, Proposal>, SigningError> {
        let bytes = proposal_bytes(&proposal).map_err(SigningError::from_source)?;
        Ok(SignedMessage::new(proposal, self.sign_bytes(&bytes)))
    }

    async fn sign_vote_extension(
        &self,
        scope: VoteExtensionScope<ChainvmContext>,
        extension: (),
    ) -> Result<SignedMessage<ChainvmContext, ()>, SigningError> {
        Ok(SignedMessage::new(
            extension,
            self.sign_bytes(&extension_bytes(&scope)),
        ))
    }

    async fn sign_validator_proof(
        &self,
        public_key: Vec<u8>,
        peer_id: Vec<u8>,
    ) -> Result<ValidatorProof<ChainvmContext>, SigningError> {
        let signature = self.sign_bytes(&proof_bytes(&public_key, &peer_id));
        Ok(ValidatorProof::new(public_key, peer_id, signature))
    }
}

/// Checks consensus signatures (strict ed25519, as everywhere in chainvm).
#[derive(Clone, Copy, Debug, Default)]
pub struct Ed25519Verifier;

fn result(valid: bool) -> Result<VerificationResult, SigningError> {
    Ok(VerificationResult::from_bool(valid))
}

#[async_trait]
impl Verifier<ChainvmContext> for Ed25519Verifier {
    async fn verify_signed_vote(
        &self,
        vote: &Vote,
        signature: &Signature,
        public_key: &PublicKey,
    ) -> Result<VerificationResult, SigningError> {
        match vote_bytes(vote) {
            Ok(bytes) => result(verify(&public_key.0, &bytes, &signature.0)),
            Err(_) => result(false),
        }
    }

    async fn verify_signed_proposal(
        &self,
        proposal: &Proposal,
        signature: &Signature,
        public_key: &PublicKey,
    ) -> Result<VerificationResult, SigningError> {
        match proposal_bytes(proposal) {
            Ok(bytes) => result(verify(&public_key.0, &bytes, &signature.0)),
            Err(_) => result(false),
        }
    }

    async fn verify_signed_vote_extension(
        &self,
        scope: &VoteExtensionScope<ChainvmContext>,
        _extension: &(),
        signature: &Signature,
        public_key: &PublicKey,
    ) -> Result<VerificationResult, SigningError> {
        result(verify(&public_key.0, &extension_bytes(scope), &signature.0))
    }

    async fn verify_validator_proof(
        &self,
        proof: &ValidatorProof<ChainvmContext>,
    ) -> Result<VerificationResult, SigningError> {
        let Ok(key) = <[u8; 32]>::try_from(proof.public_key.as_slice()) else {
            return result(false);
        };
        let bytes = proof_bytes(&proof.public_key, &proof.peer_id);
        result(verify(&key, &bytes, &proof.signature.0))
    }
}

/// Checks a proposer's stream signature.
pub fn verify_bytes(public_key: &PublicKey, bytes: &[u8], signature: &Signature) -> bool {
    verify(&public_key.0, bytes, &signature.0)
}

/// The conflicting vote an equivocating node signs next to `vote`: for another block if `vote`
/// is for one, for a made-up block if it is nil. Test-only behaviour (see `equivocate.rs`).
pub fn conflicting(vote: &Vote) -> Vote {
    let block = match &vote.block {
        NilOrVal::Val(id) => NilOrVal::Val(BlockId(chainvm_runtime::types::keccak(&id.0.0))),
        NilOrVal::Nil => NilOrVal::Val(BlockId(chainvm_runtime::types::keccak(b"equivocation"))),
    };
    Vote {
        block,
        ..vote.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use malachitebft_app_channel::app::types::core::Round;

    fn vote(block: NilOrVal<BlockId>) -> Vote {
        Vote {
            kind: VoteType::Precommit,
            height: Height(3),
            round: Round::new(1),
            block,
            validator: ValidatorAddress(Keypair::derive("t", 0).address()),
        }
    }

    #[tokio::test]
    async fn vote_signature_round_trips_and_binds_every_field() {
        let key = Keypair::derive("t", 0);
        let signer = Ed25519Signer::new(key.clone());
        let v = vote(NilOrVal::Val(BlockId(chainvm_runtime::types::keccak(b"b"))));
        let signed = signer.sign_vote(v.clone()).await.unwrap();
        let pk = PublicKey(key.public());
        let ok = Ed25519Verifier
            .verify_signed_vote(&v, &signed.signature, &pk)
            .await
            .unwrap();
        assert!(ok.is_valid());
        for other in [
            Vote {
                round: Round::new(2),
                ..v.clone()
            },
            Vote {
                height: Height(4),
                ..v.clone()
            },
            Vote {
                kind: VoteType::Prevote,
                ..v.clone()
            },
            Vote {
                block: NilOrVal::Nil,
                ..v.clone()
            },
            conflicting(&v),
        ] {
            let r = Ed25519Verifier
                .verify_signed_vote(&other, &signed.signature, &pk)
                .await
                .unwrap();
            assert!(r.is_invalid(), "{other:?}");
        }
        let nil_round = Vote {
            round: Round::Nil,
            ..v
        };
        assert!(signer.sign_vote(nil_round).await.is_err());
    }

    #[tokio::test]
    async fn validator_proof_binds_the_peer_id() {
        let key = Keypair::derive("t", 1);
        let signer = Ed25519Signer::new(key.clone());
        let proof = signer
            .sign_validator_proof(key.public().to_vec(), b"peer-a".to_vec())
            .await
            .unwrap();
        assert!(
            Ed25519Verifier
                .verify_validator_proof(&proof)
                .await
                .unwrap()
                .is_valid()
        );
        let forged = ValidatorProof::new(
            proof.public_key.clone(),
            b"peer-b".to_vec(),
            proof.signature,
        );
        assert!(
            Ed25519Verifier
                .verify_validator_proof(&forged)
                .await
                .unwrap()
                .is_invalid()
        );
    }
}
