//! The borsh shapes of consensus messages on the wire and in the WAL, and their conversions
//! to and from Malachite's types. Decoding checks what borsh cannot: rounds in range, lengths
//! of keys and peer ids. Addresses, hashes, keys and signatures are raw fixed-size arrays.

use borsh::{BorshDeserialize, BorshSerialize};
use bytes::Bytes;
use malachitebft_app_channel::app::consensus::{LivenessMsg, ProposedValue, SignedConsensusMsg};
use malachitebft_app_channel::app::streaming::{StreamContent, StreamId, StreamMessage};
use malachitebft_app_channel::app::types::PeerId;
use malachitebft_app_channel::app::types::core::{
    ExtendedCommitCertificate, ExtendedCommitSignature, NilOrVal, PolkaCertificate, PolkaSignature,
    Round, RoundCertificate, RoundCertificateType, RoundSignature, SignedMessage, ValidatorProof,
    Validity, VoteType,
};
use malachitebft_app_channel::app::types::sync::{RawDecidedValue, Request, Response, Status};
use malachitebft_sync as msync;

use super::context::ChainvmContext;
use super::types::{
    BlockId, Height, PartInit, Proposal, ProposalPart, Signature, ValidatorAddress, Vote,
};
use chainvm_runtime::{Address, H256};

type Ctx = ChainvmContext;

/// What a decoded message breaks, beyond borsh's own checks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// A round outside `-1 ..= u32::MAX` (-1 is nil).
    #[error("round {0} out of range")]
    Round(i64),
    /// A nil round where a message needs a defined one.
    #[error("a {0} needs a defined round")]
    NilRound(&'static str),
    /// Bytes that are not a libp2p peer id.
    #[error("invalid peer id")]
    PeerId,
    /// A vote extension on a certificate: chainvm disables them.
    #[error("vote extensions are not accepted")]
    Extension,
}

fn round_from(r: i64) -> Result<Round, WireError> {
    match r {
        -1 => Ok(Round::Nil),
        0..=0xFFFF_FFFF => Ok(Round::new(r as u32)),
        _ => Err(WireError::Round(r)),
    }
}

fn defined_round(r: i64, what: &'static str) -> Result<Round, WireError> {
    match round_from(r)? {
        Round::Nil => Err(WireError::NilRound(what)),
        round => Ok(round),
    }
}

fn addr(a: [u8; 20]) -> ValidatorAddress {
    ValidatorAddress(Address::from(a))
}

fn block(h: [u8; 32]) -> BlockId {
    BlockId(H256::from(h))
}

fn nil_or(v: &NilOrVal<BlockId>) -> Option<[u8; 32]> {
    match v {
        NilOrVal::Nil => None,
        NilOrVal::Val(id) => Some(id.0.0),
    }
}

fn nil_or_from(v: Option<[u8; 32]>) -> NilOrVal<BlockId> {
    v.map_or(NilOrVal::Nil, |h| NilOrVal::Val(block(h)))
}

/// A vote with its signature.
#[derive(BorshSerialize, BorshDeserialize)]
pub struct WireVote {
    precommit: bool,
    height: u64,
    round: i64,
    block: Option<[u8; 32]>,
    validator: [u8; 20],
    signature: [u8; 64],
}

impl From<&SignedMessage<Ctx, Vote>> for WireVote {
    fn from(v: &SignedMessage<Ctx, Vote>) -> WireVote {
        WireVote {
            precommit: v.message.kind == VoteType::Precommit,
            height: v.message.height.0,
            round: v.message.round.as_i64(),
            block: nil_or(&v.message.block),
            validator: v.message.validator.0.0,
            signature: v.signature.0,
        }
    }
}

impl TryFrom<WireVote> for SignedMessage<Ctx, Vote> {
    type Error = WireError;
    fn try_from(w: WireVote) -> Result<Self, WireError> {
        let vote = Vote {
            kind: if w.precommit {
                VoteType::Precommit
            } else {
                VoteType::Prevote
            },
            height: Height(w.height),
            round: defined_round(w.round, "vote")?,
            block: nil_or_from(w.block),
            validator: addr(w.validator),
        };
        Ok(SignedMessage::new(vote, Signature(w.signature)))
    }
}

/// A signed proposal: the block id only (the block travels as proposal parts).
#[derive(BorshSerialize, BorshDeserialize)]
pub struct WireProposal {
    height: u64,
    round: i64,
    block: [u8; 32],
    pol_round: i64,
    proposer: [u8; 20],
    signature: [u8; 64],
}

/// A vote or a proposal, as consensus gossips them.
#[derive(BorshSerialize, BorshDeserialize)]
pub enum WireConsensusMsg {
    /// A signed vote.
    Vote(WireVote),
    /// A signed proposal.
    Proposal(WireProposal),
}

impl From<&SignedConsensusMsg<Ctx>> for WireConsensusMsg {
    fn from(m: &SignedConsensusMsg<Ctx>) -> Self {
        match m {
            SignedConsensusMsg::Vote(v) => WireConsensusMsg::Vote(v.into()),
            SignedConsensusMsg::Proposal(p) => WireConsensusMsg::Proposal(WireProposal {
                height: p.message.height.0,
                round: p.message.round.as_i64(),
                block: p.message.block.0.0,
                pol_round: p.message.pol_round.as_i64(),
                proposer: p.message.proposer.0.0,
                signature: p.signature.0,
            }),
        }
    }
}

impl TryFrom<WireConsensusMsg> for SignedConsensusMsg<Ctx> {
    type Error = WireError;
    fn try_from(w: WireConsensusMsg) -> Result<Self, WireError> {
        Ok(match w {
            WireConsensusMsg::Vote(v) => SignedConsensusMsg::Vote(v.try_into()?),
            WireConsensusMsg::Proposal(p) => {
                let proposal = Proposal {
                    height: Height(p.height),
                    round: defined_round(p.round, "proposal")?,
                    block: block(p.block),
                    pol_round: round_from(p.pol_round)?,
                    proposer: addr(p.proposer),
                };
                SignedConsensusMsg::Proposal(SignedMessage::new(proposal, Signature(p.signature)))
            }
        })
    }
}

/// One signature of a certificate: who, and over what (`block` nil only in skip certificates).
#[derive(BorshSerialize, BorshDeserialize)]
pub struct WireSig {
    precommit: bool,
    block: Option<[u8; 32]>,
    validator: [u8; 20],
    signature: [u8; 64],
}

/// A polka (prevote) certificate.
#[derive(BorshSerialize, BorshDeserialize)]
pub struct WirePolka {
    height: u64,
    round: i64,
    block: [u8; 32],
    signatures: Vec<([u8; 20], [u8; 64])>,
}

impl From<&PolkaCertificate<Ctx>> for WirePolka {
    fn from(c: &PolkaCertificate<Ctx>) -> Self {
        WirePolka {
            height: c.height.0,
            round: c.round.as_i64(),
            block: c.value_id.0.0,
            signatures: c
                .polka_signatures
                .iter()
                .map(|s| (s.address.0.0, s.signature.0))
                .collect(),
        }
    }
}

impl TryFrom<WirePolka> for PolkaCertificate<Ctx> {
    type Error = WireError;
    fn try_from(w: WirePolka) -> Result<Self, WireError> {
        Ok(PolkaCertificate {
            height: Height(w.height),
            round: defined_round(w.round, "polka certificate")?,
            value_id: block(w.block),
            polka_signatures: w
                .signatures
                .into_iter()
                .map(|(a, s)| PolkaSignature::new(addr(a), Signature(s)))
                .collect(),
        })
    }
}

/// A round certificate (skip or precommit).
#[derive(BorshSerialize, BorshDeserialize)]
pub struct WireRoundCert {
    height: u64,
    round: i64,
    skip: bool,
    signatures: Vec<WireSig>,
}

impl From<&RoundCertificate<Ctx>> for WireRoundCert {
    fn from(c: &RoundCertificate<Ctx>) -> Self {
        WireRoundCert {
            height: c.height.0,
            round: c.round.as_i64(),
            skip: c.cert_type == RoundCertificateType::Skip,
            signatures: c
                .round_signatures
                .iter()
                .map(|s| WireSig {
                    precommit: s.vote_type == VoteType::Precommit,
                    block: nil_or(&s.value_id),
                    validator: s.address.0.0,
                    signature: s.signature.0,
                })
                .collect(),
        }
    }
}

impl TryFrom<WireRoundCert> for RoundCertificate<Ctx> {
    type Error = WireError;
    fn try_from(w: WireRoundCert) -> Result<Self, WireError> {
        Ok(RoundCertificate {
            height: Height(w.height),
            round: defined_round(w.round, "round certificate")?,
            cert_type: if w.skip {
                RoundCertificateType::Skip
            } else {
                RoundCertificateType::Precommit
            },
            round_signatures: w
                .signatures
                .into_iter()
                .map(|s| {
                    RoundSignature::new(
                        if s.precommit {
                            VoteType::Precommit
                        } else {
                            VoteType::Prevote
                        },
                        nil_or_from(s.block),
                        addr(s.validator),
                        Signature(s.signature),
                    )
                })
                .collect(),
        })
    }
}

/// A liveness message: a re-broadcast vote or a certificate that helps peers catch up a round.
#[derive(BorshSerialize, BorshDeserialize)]
pub enum WireLiveness {
    /// A vote.
    Vote(WireVote),
    /// A polka certificate.
    Polka(WirePolka),
    /// A skip-round certificate.
    Skip(WireRoundCert),
}

impl From<&LivenessMsg<Ctx>> for WireLiveness {
    fn from(m: &LivenessMsg<Ctx>) -> Self {
        match m {
            LivenessMsg::Vote(v) => WireLiveness::Vote(v.into()),
            LivenessMsg::PolkaCertificate(c) => WireLiveness::Polka(c.into()),
            LivenessMsg::SkipRoundCertificate(c) => WireLiveness::Skip(c.into()),
        }
    }
}

impl TryFrom<WireLiveness> for LivenessMsg<Ctx> {
    type Error = WireError;
    fn try_from(w: WireLiveness) -> Result<Self, WireError> {
        Ok(match w {
            WireLiveness::Vote(v) => LivenessMsg::Vote(v.try_into()?),
            WireLiveness::Polka(c) => LivenessMsg::PolkaCertificate(c.try_into()?),
            WireLiveness::Skip(c) => LivenessMsg::SkipRoundCertificate(c.try_into()?),
        })
    }
}

/// A proposal part.
#[derive(BorshSerialize, BorshDeserialize)]
pub enum WirePart {
    /// Init: height, round, pol round, proposer.
    Init(u64, i64, i64, [u8; 20]),
    /// A chunk of the encoded block.
    Data(Vec<u8>),
    /// The proposer's signature.
    Fin([u8; 64]),
}

impl From<&ProposalPart> for WirePart {
    fn from(p: &ProposalPart) -> Self {
        match p {
            ProposalPart::Init(i) => WirePart::Init(
                i.height.0,
                i.round.as_i64(),
                i.pol_round.as_i64(),
                i.proposer.0.0,
            ),
            ProposalPart::Data(d) => WirePart::Data(d.to_vec()),
            ProposalPart::Fin(s) => WirePart::Fin(s.0),
        }
    }
}

impl TryFrom<WirePart> for ProposalPart {
    type Error = WireError;
    fn try_from(w: WirePart) -> Result<Self, WireError> {
        Ok(match w {
            WirePart::Init(h, r, pol, p) => ProposalPart::Init(PartInit {
                height: Height(h),
                round: defined_round(r, "proposal stream")?,
                pol_round: round_from(pol)?,
                proposer: addr(p),
            }),
            WirePart::Data(d) => ProposalPart::Data(Bytes::from(d)),
            WirePart::Fin(s) => ProposalPart::Fin(Signature(s)),
        })
    }
}

/// A message of a proposal stream.
#[derive(BorshSerialize, BorshDeserialize)]
pub struct WireStreamMsg {
    stream_id: Vec<u8>,
    sequence: u64,
    /// `None` is the stream's end.
    part: Option<WirePart>,
}

impl From<&StreamMessage<ProposalPart>> for WireStreamMsg {
    fn from(m: &StreamMessage<ProposalPart>) -> Self {
        WireStreamMsg {
            stream_id: m.stream_id.to_bytes().to_vec(),
            sequence: m.sequence,
            part: m.content.as_data().map(WirePart::from),
        }
    }
}

impl TryFrom<WireStreamMsg> for StreamMessage<ProposalPart> {
    type Error = WireError;
    fn try_from(w: WireStreamMsg) -> Result<Self, WireError> {
        let content = match w.part {
            Some(p) => StreamContent::Data(p.try_into()?),
            None => StreamContent::Fin,
        };
        Ok(StreamMessage::new(
            StreamId::new(Bytes::from(w.stream_id)),
            w.sequence,
            content,
        ))
    }
}

/// A validator proof (peer id bound to consensus key).
#[derive(BorshSerialize, BorshDeserialize)]
pub struct WireProof {
    public_key: Vec<u8>,
    peer_id: Vec<u8>,
    signature: [u8; 64],
}

impl From<&ValidatorProof<Ctx>> for WireProof {
    fn from(p: &ValidatorProof<Ctx>) -> Self {
        WireProof {
            public_key: p.public_key.clone(),
            peer_id: p.peer_id.clone(),
            signature: p.signature.0,
        }
    }
}

impl From<WireProof> for ValidatorProof<Ctx> {
    fn from(w: WireProof) -> Self {
        ValidatorProof::new(w.public_key, w.peer_id, Signature(w.signature))
    }
}

/// A sync status: a peer's tip and the lowest height it serves.
#[derive(BorshSerialize, BorshDeserialize)]
pub struct WireStatus {
    peer_id: Vec<u8>,
    tip_height: u64,
    history_min_height: u64,
}

impl From<&Status<Ctx>> for WireStatus {
    fn from(s: &Status<Ctx>) -> Self {
        WireStatus {
            peer_id: s.peer_id.to_bytes(),
            tip_height: s.tip_height.0,
            history_min_height: s.history_min_height.0,
        }
    }
}

impl TryFrom<WireStatus> for Status<Ctx> {
    type Error = WireError;
    fn try_from(w: WireStatus) -> Result<Self, WireError> {
        Ok(Status {
            peer_id: PeerId::from_bytes(&w.peer_id).map_err(|_| WireError::PeerId)?,
            tip_height: Height(w.tip_height),
            history_min_height: Height(w.history_min_height),
        })
    }
}

/// A sync request for decided values in `start ..= end`.
#[derive(BorshSerialize, BorshDeserialize)]
pub struct WireRequest {
    start: u64,
    end: u64,
}

impl From<&Request<Ctx>> for WireRequest {
    fn from(r: &Request<Ctx>) -> Self {
        let Request::ValueRequest(v) = r;
        WireRequest {
            start: v.range.start().0,
            end: v.range.end().0,
        }
    }
}

impl From<WireRequest> for Request<Ctx> {
    fn from(w: WireRequest) -> Self {
        Request::ValueRequest(msync::ValueRequest::new(Height(w.start)..=Height(w.end)))
    }
}

/// A commit certificate (no extensions: chainvm disables them).
#[derive(BorshSerialize, BorshDeserialize)]
pub struct WireCommit {
    height: u64,
    round: i64,
    block: [u8; 32],
    signatures: Vec<([u8; 20], [u8; 64])>,
}

impl TryFrom<&ExtendedCommitCertificate<Ctx>> for WireCommit {
    type Error = WireError;
    fn try_from(c: &ExtendedCommitCertificate<Ctx>) -> Result<Self, WireError> {
        let mut signatures = Vec::with_capacity(c.commit_signatures.len());
        for s in &c.commit_signatures {
            if s.extension.is_some() {
                return Err(WireError::Extension);
            }
            signatures.push((s.address.0.0, s.signature.0));
        }
        Ok(WireCommit {
            height: c.height.0,
            round: c.round.as_i64(),
            block: c.value_id.0.0,
            signatures,
        })
    }
}

impl TryFrom<WireCommit> for ExtendedCommitCertificate<Ctx> {
    type Error = WireError;
    fn try_from(w: WireCommit) -> Result<Self, WireError> {
        Ok(ExtendedCommitCertificate {
            height: Height(w.height),
            round: defined_round(w.round, "commit certificate")?,
            value_id: block(w.block),
            commit_signatures: w
                .signatures
                .into_iter()
                .map(|(a, s)| ExtendedCommitSignature::new(addr(a), Signature(s), None))
                .collect(),
        })
    }
}

/// A sync response: decided values (application bytes) with their certificates.
#[derive(BorshSerialize, BorshDeserialize)]
pub struct WireResponse {
    start_height: u64,
    values: Vec<(Vec<u8>, WireCommit)>,
}

impl TryFrom<&Response<Ctx>> for WireResponse {
    type Error = WireError;
    fn try_from(r: &Response<Ctx>) -> Result<Self, WireError> {
        let Response::ValueResponse(v) = r;
        let mut values = Vec::with_capacity(v.values.len());
        for d in &v.values {
            values.push((d.value_bytes.to_vec(), (&d.certificate).try_into()?));
        }
        Ok(WireResponse {
            start_height: v.start_height.0,
            values,
        })
    }
}

impl TryFrom<WireResponse> for Response<Ctx> {
    type Error = WireError;
    fn try_from(w: WireResponse) -> Result<Self, WireError> {
        let mut values = Vec::with_capacity(w.values.len());
        for (bytes, cert) in w.values {
            values.push(RawDecidedValue::new(Bytes::from(bytes), cert.try_into()?));
        }
        Ok(Response::ValueResponse(msync::ValueResponse::new(
            Height(w.start_height),
            values,
        )))
    }
}

/// A proposed value as the WAL keeps it (the block id and its verdict).
#[derive(BorshSerialize, BorshDeserialize)]
pub struct WireProposedValue {
    height: u64,
    round: i64,
    valid_round: i64,
    proposer: [u8; 20],
    block: [u8; 32],
    valid: bool,
}

impl From<&ProposedValue<Ctx>> for WireProposedValue {
    fn from(v: &ProposedValue<Ctx>) -> Self {
        WireProposedValue {
            height: v.height.0,
            round: v.round.as_i64(),
            valid_round: v.valid_round.as_i64(),
            proposer: v.proposer.0.0,
            block: v.value.0.0,
            valid: v.validity.is_valid(),
        }
    }
}

impl TryFrom<WireProposedValue> for ProposedValue<Ctx> {
    type Error = WireError;
    fn try_from(w: WireProposedValue) -> Result<Self, WireError> {
        Ok(ProposedValue {
            height: Height(w.height),
            round: round_from(w.round)?,
            valid_round: round_from(w.valid_round)?,
            proposer: addr(w.proposer),
            value: block(w.block),
            validity: Validity::from_bool(w.valid),
        })
    }
}
