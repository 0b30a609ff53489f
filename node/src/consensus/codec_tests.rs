use super::*;
use crate::consensus::signing::Ed25519Signer;
use crate::consensus::streaming::{BlockParts, stream_id};
use crate::consensus::types::{BlockId, Height, Proposal, ValidatorAddress, Vote};
use chainvm_runtime::Keypair;
use chainvm_runtime::types::keccak;
use malachitebft_app_channel::app::types::core::{
    ExtendedCommitCertificate, ExtendedCommitSignature, NilOrVal, PolkaSignature, Round,
    SignedMessage, Validity, VoteType,
};
use malachitebft_app_channel::app::types::sync::RawDecidedValue;
use malachitebft_sync as msync;

fn signer() -> Ed25519Signer {
    Ed25519Signer::new(Keypair::derive("codec", 0))
}

fn vote(round: Round) -> SignedMessage<Ctx, Vote> {
    signer()
        .sign_vote_now(Vote {
            kind: VoteType::Prevote,
            height: Height(7),
            round,
            block: NilOrVal::Val(BlockId(keccak(b"b"))),
            validator: signer().address(),
        })
        .unwrap_or_else(|_| {
            SignedMessage::new(
                Vote {
                    kind: VoteType::Prevote,
                    height: Height(7),
                    round,
                    block: NilOrVal::Nil,
                    validator: signer().address(),
                },
                crate::consensus::types::Signature([0; 64]),
            )
        })
}

fn round_trip<T>(msg: T) -> T
where
    WireCodec: Codec<T>,
    T: PartialEq + std::fmt::Debug,
{
    let bytes = WireCodec.encode(&msg).unwrap();
    let back: T = WireCodec.decode(bytes).unwrap();
    assert_eq!(back, msg);
    back
}

#[test]
fn every_message_kind_round_trips() {
    round_trip(SignedConsensusMsg::Vote(vote(Round::new(2))));
    let proposal = Proposal {
        height: Height(7),
        round: Round::new(1),
        block: BlockId(keccak(b"b")),
        pol_round: Round::Nil,
        proposer: signer().address(),
    };
    round_trip(SignedConsensusMsg::<Ctx>::Proposal(SignedMessage::new(
        proposal,
        crate::consensus::types::Signature([5; 64]),
    )));
    let polka = PolkaCertificate {
        height: Height(7),
        round: Round::new(0),
        value_id: BlockId(keccak(b"b")),
        polka_signatures: vec![PolkaSignature::new(
            signer().address(),
            crate::consensus::types::Signature([1; 64]),
        )],
    };
    round_trip(polka.clone());
    round_trip(LivenessMsg::PolkaCertificate(polka));
    round_trip(LivenessMsg::Vote(vote(Round::new(0))));
    let parts = BlockParts::sign(&signer(), Height(7), Round::new(0), Round::Nil, b"blk").unwrap();
    let id = stream_id(Height(7), Round::new(0), b"me", 1);
    for m in parts.stream(&id) {
        round_trip(m);
    }
    for p in parts.parts() {
        round_trip(p);
    }
    round_trip(Status::<Ctx> {
        peer_id: crate::consensus::streaming::test_peer(2),
        tip_height: Height(9),
        history_min_height: Height(1),
    });
    round_trip(Request::<Ctx>::ValueRequest(msync::ValueRequest::new(
        Height(3)..=Height(5),
    )));
    let cert = ExtendedCommitCertificate {
        height: Height(3),
        round: Round::new(0),
        value_id: BlockId(keccak(b"x")),
        commit_signatures: vec![ExtendedCommitSignature::new(
            signer().address(),
            crate::consensus::types::Signature([2; 64]),
            None,
        )],
    };
    let resp = Response::<Ctx>::ValueResponse(msync::ValueResponse::new(
        Height(3),
        vec![RawDecidedValue::new(
            bytes::Bytes::from_static(b"block"),
            cert,
        )],
    ));
    let len = WireCodec.encoded_len(&resp).unwrap();
    assert_eq!(len, WireCodec.encode(&resp).unwrap().len());
    round_trip(resp);
    round_trip(ProposedValue::<Ctx> {
        height: Height(3),
        round: Round::new(1),
        valid_round: Round::Nil,
        proposer: ValidatorAddress(signer().address().0),
        value: BlockId(keccak(b"x")),
        validity: Validity::Invalid,
    });
}

#[test]
fn oversize_input_is_refused_before_parsing() {
    let big = bytes::Bytes::from(vec![0u8; MAX_SMALL_MSG + 1]);
    let r: Result<SignedConsensusMsg<Ctx>, _> = WireCodec.decode(big);
    assert!(matches!(
        r,
        Err(CodecError::TooLarge {
            max: MAX_SMALL_MSG,
            ..
        })
    ));
    let big = bytes::Bytes::from(vec![0u8; MAX_PART_MSG + 1]);
    let r: Result<StreamMessage<ProposalPart>, _> = WireCodec.decode(big);
    assert!(matches!(r, Err(CodecError::TooLarge { .. })));
}

#[test]
fn malformed_and_invalid_inputs_are_typed_errors() {
    let bytes = WireCodec
        .encode(&SignedConsensusMsg::Vote(vote(Round::new(2))))
        .unwrap();
    // Truncated.
    let r: Result<SignedConsensusMsg<Ctx>, _> = WireCodec.decode(bytes.slice(..bytes.len() - 1));
    assert!(matches!(r, Err(CodecError::Malformed { .. })));
    // Trailing byte.
    let mut longer = bytes.to_vec();
    longer.push(0);
    let r: Result<SignedConsensusMsg<Ctx>, _> = WireCodec.decode(longer.into());
    assert!(matches!(r, Err(CodecError::Malformed { .. })));
    // A vote with a nil round (-1) is well-formed borsh but invalid.
    let mut nil = bytes.to_vec();
    // Layout: tag(1) precommit(1) height(8) round(8)...
    nil[10..18].copy_from_slice(&(-1i64).to_le_bytes());
    let r: Result<SignedConsensusMsg<Ctx>, _> = WireCodec.decode(nil.into());
    assert!(matches!(r, Err(CodecError::Invalid { .. })), "{r:?}");
    // A round past u32.
    let mut far = bytes.to_vec();
    far[10..18].copy_from_slice(&(1i64 << 40).to_le_bytes());
    let r: Result<SignedConsensusMsg<Ctx>, _> = WireCodec.decode(far.into());
    assert!(matches!(r, Err(CodecError::Invalid { .. })));
    // A status with a peer id that is not one.
    let status = WireCodec
        .encode(&Status::<Ctx> {
            peer_id: crate::consensus::streaming::test_peer(2),
            tip_height: Height(1),
            history_min_height: Height(1),
        })
        .unwrap();
    let mut bad = status.to_vec();
    bad[4] ^= 0xff;
    let r: Result<Status<Ctx>, _> = WireCodec.decode(bad.into());
    assert!(matches!(r, Err(CodecError::Invalid { .. })), "{r:?}");
}
