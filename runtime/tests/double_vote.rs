//! Vote evidence: two conflicting signed votes of a validator at one height slash it like a
//! header double sign, once per height whichever form reports it; evidence with a forged
//! signature, two heights, rounds or kinds, one block, or a non-validator is refused and
//! slashes nothing. The new payload is appended, so older payloads keep their encodings.

use chainvm_runtime::block::{DoubleSign, SignedHeader};
use chainvm_runtime::failure::EvidenceFault;
use chainvm_runtime::finality::{DoubleVote, SignedVote, VoteKind};
use chainvm_runtime::genesis::{DEV_COMMISSION_BPS, dev_keys};
use chainvm_runtime::staking;
use chainvm_runtime::types::keccak;
use chainvm_runtime::{
    Chain, ErrorCode, ErrorDetail, H256, Keypair, Payload, Receipt, SignedTransaction, U256,
};

mod common;

/// Reports `payload` from dev account 4 (gas price 2) in a block of its own.
fn report(chain: &mut Chain, payload: Payload) -> Receipt {
    let reporter = &dev_keys()[4];
    let tx = chain
        .next_transaction(&reporter.address(), payload)
        .unwrap()
        .with_gas_limit(1_000_000_000)
        .with_gas_price(2)
        .sign(reporter);
    chain.submit(&tx).unwrap()
}

fn votes(ev: DoubleVote) -> Payload {
    Payload::ReportDoubleVote {
        evidence: Box::new(ev),
    }
}

/// `key`'s prevotes at `height`, round 0, for two different blocks.
fn double_vote(key: &Keypair, height: u64) -> DoubleVote {
    let vote = |b: &[u8]| SignedVote::sign(VoteKind::Prevote, height, 0, Some(keccak(b)), key);
    DoubleVote {
        a: vote(b"one"),
        b: vote(b"two"),
    }
}

fn stake(chain: &Chain) -> U256 {
    let snap = chain.latest_state().unwrap();
    staking::validator(&snap, &common::dev_validator().address())
        .unwrap()
        .unwrap()
        .stake
}

fn slashed(chain: &Chain) -> U256 {
    staking::supply(&chain.latest_state().unwrap())
        .unwrap()
        .slashed
}

fn refusal(r: &Receipt) -> EvidenceFault {
    let e = r.error.as_ref().expect("refused");
    assert_eq!(e.code, ErrorCode::InvalidEvidence);
    match e.detail {
        ErrorDetail::InvalidEvidence(why) => why,
        ref other => panic!("not an evidence refusal: {other:?}"),
    }
}

#[test]
fn a_double_vote_slashes_the_pool_once_per_height_whichever_evidence_reports_it() {
    let mut chain = common::dev_chain();
    let validator = common::dev_validator();
    let params = chain.params().clone();
    let before = stake(&chain);
    let r = report(&mut chain, votes(double_vote(&validator, 1)));
    assert!(r.is_success(), "{:?}", r.error);
    // The report's block compounds its reward (less commission) into the pool first; the
    // slash takes its fraction of that pool.
    let after_commission = |x: U256| x - x * U256::from(DEV_COMMISSION_BPS) / U256::from(10_000);
    let pool = before + after_commission(U256::from(params.block_reward));
    let cut = pool * U256::from(params.slash_bps) / U256::from(10_000);
    assert_eq!(slashed(&chain), cut);
    assert_eq!(cut, pool / 20, "5 %");
    let fees = U256::from(r.gas_used) * U256::from(2u8);
    assert_eq!(stake(&chain), pool - cut + after_commission(fees));

    // The same evidence again, the same votes the other way round, and other votes of height
    // 1 (precommits, another round): the height was slashed.
    assert_eq!(
        refusal(&report(&mut chain, votes(double_vote(&validator, 1)))),
        EvidenceFault::AlreadySlashed
    );
    let ev = double_vote(&validator, 1);
    let swapped = DoubleVote { a: ev.b, b: ev.a };
    assert_eq!(
        refusal(&report(&mut chain, votes(swapped))),
        EvidenceFault::AlreadySlashed
    );
    let pre = |b: &[u8]| SignedVote::sign(VoteKind::Precommit, 1, 3, Some(keccak(b)), &validator);
    let nil = SignedVote::sign(VoteKind::Precommit, 1, 3, None, &validator);
    let other_round = DoubleVote {
        a: pre(b"x"),
        b: nil,
    };
    assert_eq!(
        refusal(&report(&mut chain, votes(other_round))),
        EvidenceFault::AlreadySlashed
    );
    // A header double sign at that height shares the marker: refused too.
    let mut h = chain.header(1).unwrap().unwrap().header;
    let a = SignedHeader::sign(h.clone(), &validator);
    h.timestamp += 1;
    let b = SignedHeader::sign(h, &validator);
    let r = report(
        &mut chain,
        Payload::ReportDoubleSign {
            evidence: Box::new(DoubleSign { a, b }),
        },
    );
    assert_eq!(refusal(&r), EvidenceFault::AlreadySlashed);
    assert_eq!(slashed(&chain), cut, "nothing more slashed");

    // Another height is another offence.
    let r = report(&mut chain, votes(double_vote(&validator, 2)));
    assert!(r.is_success(), "{:?}", r.error);
    assert!(slashed(&chain) > cut);
    let snap = chain.latest_state().unwrap();
    let s = staking::supply(&snap).unwrap();
    assert_eq!(
        staking::total_value(&snap).unwrap(),
        s.genesis + s.minted - s.slashed
    );
    drop(snap);
    chain.verify().unwrap();
}

#[test]
fn a_header_double_sign_first_leaves_no_second_slash_for_votes() {
    let mut chain = common::dev_chain();
    let validator = common::dev_validator();
    chain.produce_block(&[]).unwrap();
    let mut h = chain.header(1).unwrap().unwrap().header;
    let a = SignedHeader::sign(h.clone(), &validator);
    h.gas_used += 1;
    let b = SignedHeader::sign(h, &validator);
    let r = report(
        &mut chain,
        Payload::ReportDoubleSign {
            evidence: Box::new(DoubleSign { a, b }),
        },
    );
    assert!(r.is_success(), "{:?}", r.error);
    let cut = slashed(&chain);
    assert!(!cut.is_zero());
    let r = report(&mut chain, votes(double_vote(&validator, 1)));
    assert_eq!(refusal(&r), EvidenceFault::AlreadySlashed);
    assert_eq!(slashed(&chain), cut);
}

#[test]
fn bad_vote_evidence_is_refused_and_slashes_nothing() {
    let mut chain = common::dev_chain();
    let validator = common::dev_validator();
    let stranger = Keypair::derive("not a validator", 0);
    let block = |b: &[u8]| Some(keccak(b));
    let vote =
        |kind, height, round, b: Option<H256>| SignedVote::sign(kind, height, round, b, &validator);
    let pv = VoteKind::Prevote;
    let cases: Vec<(DoubleVote, EvidenceFault)> = vec![
        // The second vote signed by another key in the validator's name.
        (
            {
                let mut ev = double_vote(&validator, 3);
                ev.b = SignedVote {
                    validator: validator.address(),
                    ..SignedVote::sign(pv, 3, 0, block(b"two"), &stranger)
                };
                ev
            },
            EvidenceFault::BadSignature,
        ),
        // A signature over other bytes (the height edited after signing).
        (
            {
                let mut ev = double_vote(&validator, 3);
                ev.a.height = 4;
                ev.b.height = 4;
                ev
            },
            EvidenceFault::BadSignature,
        ),
        (
            DoubleVote {
                a: vote(pv, 3, 0, block(b"one")),
                b: vote(pv, 4, 0, block(b"two")),
            },
            EvidenceFault::HeightsDiffer,
        ),
        (
            DoubleVote {
                a: vote(pv, 3, 0, block(b"one")),
                b: vote(pv, 3, 1, block(b"two")),
            },
            EvidenceFault::RoundsDiffer,
        ),
        (
            DoubleVote {
                a: vote(pv, 3, 0, block(b"one")),
                b: vote(VoteKind::Precommit, 3, 0, block(b"two")),
            },
            EvidenceFault::KindsDiffer,
        ),
        (
            DoubleVote {
                a: vote(pv, 3, 0, block(b"one")),
                b: vote(pv, 3, 0, block(b"one")),
            },
            EvidenceFault::SameHeader,
        ),
        (
            DoubleVote {
                a: vote(pv, 3, 0, None),
                b: vote(pv, 3, 0, None),
            },
            EvidenceFault::SameHeader,
        ),
        (
            DoubleVote {
                a: vote(pv, 3, 0, block(b"one")),
                b: SignedVote::sign(pv, 3, 0, block(b"two"), &stranger),
            },
            EvidenceFault::ProposersDiffer,
        ),
        // Well-formed, but by a key that is not a validator.
        (double_vote(&stranger, 3), EvidenceFault::NotAValidator),
    ];
    for (ev, why) in cases {
        let r = report(&mut chain, votes(ev.clone()));
        assert_eq!(refusal(&r), why, "{ev:?}");
    }
    assert!(slashed(&chain).is_zero());
    // The honest form of the same offence still slashes: nothing above set the marker.
    let r = report(&mut chain, votes(double_vote(&validator, 3)));
    assert!(r.is_success(), "{:?}", r.error);
    assert!(!slashed(&chain).is_zero());
    chain.verify().unwrap();
}

#[test]
fn the_vote_report_is_appended_so_older_payloads_keep_their_codes() {
    let key = Keypair::derive("codes", 0);
    let payload = votes(double_vote(&key, 9));
    let encoded = borsh::to_vec(&payload).unwrap();
    // Transfer, Deploy, Call, Stake, Unstake, ReportDoubleSign, RegisterValidator: 0..=6.
    assert_eq!(encoded[0], 7);
    let register = Payload::RegisterValidator {
        public_key: key.public(),
        commission_bps: 1,
        amount: U256::one(),
    };
    assert_eq!(borsh::to_vec(&register).unwrap()[0], 6);
    let tx: SignedTransaction = chainvm_runtime::Transaction::new(7, 0, payload).sign(&key);
    assert_eq!(SignedTransaction::decode(&tx.encode()).unwrap(), tx);
    assert_eq!(tx.body.value(), U256::zero());
    assert_eq!(tx.body.gas_limit, chainvm_runtime::tx::default_gas::STAKING);
}
